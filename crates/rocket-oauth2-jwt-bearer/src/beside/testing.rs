//! Test helpers (feature `testing`): a real issuer on 127.0.0.1 that your
//! app's tests point the fairing at, so they exercise discovery, the key-set
//! fetch and the signature check exactly as production does — no mocked key
//! lookup.
//!
//! ```rust
//! use rocket::local::asynchronous::Client;
//! use rocket::{get, routes};
//! use rocket_oauth2_jwt_bearer::testing::TestIssuer;
//! use rocket_oauth2_jwt_bearer::{scope, HasScope, JwtAuth};
//!
//! scope!(ReadMessages = "read:messages");
//!
//! #[get("/messages")]
//! fn messages(_token: HasScope<ReadMessages>) -> &'static str {
//!     "hello"
//! }
//!
//! # rocket::async_test(async {
//! let issuer = TestIssuer::start().await;
//! let rocket = rocket::build()
//!     .attach(JwtAuth::with_config(issuer.config("https://api.example.com")))
//!     .mount("/", routes![messages])
//!     .register("/", rocket_oauth2_jwt_bearer::catchers());
//! let client = Client::tracked(rocket).await.unwrap();
//!
//! let mut claims = issuer.claims("https://api.example.com");
//! claims["scope"] = "read:messages".into();
//! let token = issuer.token(&claims);
//! let response = client
//!     .get("/messages")
//!     .header(rocket::http::Header::new("Authorization", format!("Bearer {token}")))
//!     .dispatch()
//!     .await;
//! assert_eq!(response.status(), rocket::http::Status::Ok);
//!
//! let anonymous = client.get("/messages").dispatch().await;
//! assert_eq!(anonymous.status(), rocket::http::Status::Unauthorized);
//! # });
//! ```
//!
//! Its key set can fail the way identity providers do ([`Fault`]: an error
//! status, garbage, a hang, a slow answer, a dropped connection), and its
//! key can rotate ([`TestIssuer::rotate_key`]), so an app's tests can see
//! what its users get during an outage or a rotation.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::keys::signing_key::SigningKey;
use crate::settings::config::Config;

/// How the issuer's key set endpoint misbehaves (discovery keeps
/// answering, as a CDN-fronted discovery document does while the key
/// service is down).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Fault {
    /// No fault: the key set is served.
    #[default]
    None,
    /// This status, with a JSON error body.
    Status(u16),
    /// 200 with a body that isn't JSON.
    Garbage,
    /// The connection is accepted and never answered.
    Hang,
    /// The key set, after this long.
    Slow(Duration),
    /// The connection is closed at once.
    Down,
}

/// An OpenID Connect issuer on a free loopback port: discovery at
/// `/.well-known/openid-configuration`, its key set at
/// `/.well-known/jwks.json`, and tokens signed with its RS256 key.
/// It stops when dropped.
pub struct TestIssuer {
    address: SocketAddr,
    documents: Arc<Documents>,
    server: JoinHandle<()>,
}

impl std::fmt::Debug for TestIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIssuer").field("url", &self.url()).finish_non_exhaustive()
    }
}

impl TestIssuer {
    /// Generates a key and starts serving; call it inside a Tokio runtime
    /// (`#[rocket::async_test]`, `#[tokio::test]`).
    ///
    /// # Panics
    ///
    /// If no loopback port can be bound or no key generated: the test
    /// can't run then.
    pub async fn start() -> TestIssuer {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.expect("a loopback port");
        let address = listener.local_addr().expect("a bound address");
        let key = Arc::new(SigningKey::generate("test").expect("a test key"));
        let documents = Arc::new(Documents {
            discovery: json!({
                "issuer": format!("http://{address}/"),
                "jwks_uri": format!("http://{address}/.well-known/jwks.json"),
            })
            .to_string(),
            keys: Mutex::new(Keys { jwks: key.jwks().to_string(), signing: key }),
            fault: Mutex::new(Fault::None),
            key_set_fetches: AtomicUsize::new(0),
        });
        let served = documents.clone();
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(served.clone().serve(stream));
            }
        });
        TestIssuer { address, documents, server }
    }

    /// The issuer, `http://127.0.0.1:<port>/`: its tokens' `iss`, and the
    /// `issuer_base_url` to configure.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    /// A [`Config`] for this issuer and `audience`, to change as a test
    /// needs and hand to [`JwtAuth::with_config`](crate::JwtAuth::with_config).
    pub fn config(&self, audience: &str) -> Config {
        Config {
            issuer_base_url: Some(self.url()),
            audience: vec![audience.to_owned()],
            ..Config::default()
        }
    }

    /// Claims that pass every check for `audience`: `iss`, `aud`, `sub`,
    /// `iat`, and `exp` an hour from now. Change or add members as a test
    /// needs.
    pub fn claims(&self, audience: &str) -> Value {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        json!({
            "iss": self.url(),
            "aud": audience,
            "sub": "test|user",
            "iat": now,
            "exp": now + 3600,
        })
    }

    /// `claims` as a token signed by this issuer's current key (RS256, with
    /// its `kid`).
    ///
    /// # Panics
    ///
    /// If `claims` can't be serialized as JSON.
    pub fn token(&self, claims: &Value) -> String {
        self.documents.keys().signing.sign("JWT", claims).expect("claims serialize")
    }

    /// Makes the key set endpoint misbehave from now on (`Fault::None` to
    /// recover).
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::testing::{Fault, TestIssuer};
    ///
    /// # rocket::async_test(async {
    /// let issuer = TestIssuer::start().await;
    /// issuer.set_fault(Fault::Status(503));
    /// let launched = rocket::local::asynchronous::Client::tracked(
    ///     rocket::build().attach(rocket_oauth2_jwt_bearer::JwtAuth::with_config(
    ///         issuer.config("https://api.example.com"),
    ///     )),
    /// )
    /// .await;
    /// match launched {
    ///     Ok(_) => panic!("launched without keys"),
    ///     Err(error) => assert!(matches!(
    ///         error.kind(),
    ///         rocket::error::ErrorKind::FailedFairings(_)
    ///     )),
    /// }
    /// # });
    /// ```
    pub fn set_fault(&self, fault: Fault) {
        *self.documents.fault.lock().unwrap_or_else(PoisonError::into_inner) = fault;
    }

    /// Replaces the signing key with a new one (a new `kid`); the key set
    /// then holds both, the new one first, when `keep_old`, else the new
    /// one only (the old key withdrawn).
    ///
    /// # Panics
    ///
    /// If no key can be generated.
    pub fn rotate_key(&self, keep_old: bool) {
        let new = Arc::new(SigningKey::generate("test").expect("a test key"));
        let mut keys = self.documents.keys();
        let mut set = new.jwks();
        if keep_old {
            let old: Value = serde_json::from_str(&keys.jwks).unwrap_or_default();
            if let (Some(all), Some(old)) = (set["keys"].as_array_mut(), old["keys"].as_array()) {
                all.extend(old.iter().cloned());
            }
        }
        *keys = Keys { jwks: set.to_string(), signing: new };
    }

    /// How many times its key set was fetched.
    pub fn key_set_fetches(&self) -> usize {
        self.documents.key_set_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The current key and the key set that publishes it.
struct Keys {
    jwks: String,
    signing: Arc<SigningKey>,
}

struct Documents {
    discovery: String,
    keys: Mutex<Keys>,
    fault: Mutex<Fault>,
    key_set_fetches: AtomicUsize,
}

impl Documents {
    fn keys(&self) -> std::sync::MutexGuard<'_, Keys> {
        self.keys.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Answers one HTTP/1.1 request and closes the connection.
    async fn serve(self: Arc<Self>, mut stream: TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/");
        let (status, body) = match path {
            "/.well-known/openid-configuration" => ("200 OK".to_owned(), self.discovery.clone()),
            "/.well-known/jwks.json" => {
                self.key_set_fetches.fetch_add(1, Ordering::SeqCst);
                let fault = self.fault.lock().unwrap_or_else(PoisonError::into_inner).clone();
                match fault {
                    Fault::None => ("200 OK".to_owned(), self.keys().jwks.clone()),
                    Fault::Status(code) => (format!("{code} Fault"), r#"{"error":"fault"}"#.into()),
                    Fault::Garbage => ("200 OK".to_owned(), "<html>not a key set".into()),
                    Fault::Hang => {
                        std::future::pending::<()>().await;
                        return;
                    }
                    Fault::Slow(delay) => {
                        tokio::time::sleep(delay).await;
                        ("200 OK".to_owned(), self.keys().jwks.clone())
                    }
                    Fault::Down => return,
                }
            }
            _ => ("404 Not Found".to_owned(), r#"{"error":"not found"}"#.into()),
        };
        let response = format!(
            "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = stream.write_all(response.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}
