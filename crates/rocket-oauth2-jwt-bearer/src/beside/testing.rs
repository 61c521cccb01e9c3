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
//! let settings = issuer.settings("https://api.example.com").build().unwrap();
//! let rocket = rocket::build()
//!     .attach(JwtAuth::with_settings(settings))
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

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

use crate::keys::signing_key::SigningKey;
use crate::settings::checked::Settings;
use crate::settings::checked::SettingsBuilder;
use crate::settings::config::Config;

/// An OpenID Connect issuer on a free loopback port: discovery at
/// `/.well-known/openid-configuration`, its key set at
/// `/.well-known/jwks.json`, and tokens signed with its RS256 key.
/// It stops when dropped.
pub struct TestIssuer {
    address: SocketAddr,
    key: Arc<SigningKey>,
    key_set_fetches: Arc<AtomicUsize>,
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
        let key_set_fetches = Arc::new(AtomicUsize::new(0));
        let documents = Documents {
            discovery: json!({
                "issuer": format!("http://{address}/"),
                "jwks_uri": format!("http://{address}/.well-known/jwks.json"),
            })
            .to_string(),
            jwks: key.jwks().to_string(),
            key_set_fetches: key_set_fetches.clone(),
        };
        let documents = Arc::new(documents);
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(documents.clone().serve(stream));
            }
        });
        TestIssuer { address, key, key_set_fetches, server }
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

    /// Settings for this issuer and `audience`, to add more to.
    pub fn settings(&self, audience: &str) -> SettingsBuilder {
        Settings::builder().issuer_base_url(&self.url()).audience(audience)
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

    /// `claims` as a token signed by this issuer (RS256, with its `kid`).
    ///
    /// # Panics
    ///
    /// If `claims` can't be serialized as JSON.
    pub fn token(&self, claims: &Value) -> String {
        self.key.sign("JWT", claims).expect("claims serialize")
    }

    /// How many times its key set was fetched.
    pub fn key_set_fetches(&self) -> usize {
        self.key_set_fetches.load(Ordering::SeqCst)
    }
}

impl Drop for TestIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

struct Documents {
    discovery: String,
    jwks: String,
    key_set_fetches: Arc<AtomicUsize>,
}

impl Documents {
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
            "/.well-known/openid-configuration" => ("200 OK", self.discovery.as_str()),
            "/.well-known/jwks.json" => {
                self.key_set_fetches.fetch_add(1, Ordering::SeqCst);
                ("200 OK", self.jwks.as_str())
            }
            _ => ("404 Not Found", r#"{"error":"not found"}"#),
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
