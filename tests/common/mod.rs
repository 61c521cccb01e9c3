//! Shared test harness: a real identity provider on 127.0.0.1 (discovery +
//! JWKS over HTTP, with fault switches and hit counters), keys and tokens
//! ([`keys`]), and the service's own rocket on a local client.

#![allow(dead_code)]

pub mod keys;
pub mod process;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth0_rocket_api::config::AppDefaults;
use figment::providers::Serialized;
use figment::{Figment, Profile};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub use keys::*;

/// What the identity provider's JWKS endpoint does.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Serves the key set.
    Up,
    /// Answers this status with a JSON error body.
    Status(u16),
    /// Answers 200 with a body that isn't JSON.
    Garbage,
    /// Answers 200 with `{"keys": []}`.
    Empty,
    /// Accepts the connection and never answers.
    Hang,
    /// Answers 200 and streams this many bytes of JSON-looking filler.
    Huge(usize),
    /// Closes the connection at once.
    Down,
    /// Answers 302 to this location.
    Redirect(String),
}

struct IdpState {
    jwks: Value,
    mode: Mode,
    discovery: Option<Value>,
}

/// An identity provider on 127.0.0.1: OIDC discovery and a JWKS.
#[derive(Clone)]
pub struct Idp {
    addr: SocketAddr,
    state: Arc<Mutex<IdpState>>,
    jwks_hits: Arc<AtomicUsize>,
    discovery_hits: Arc<AtomicUsize>,
}

impl Idp {
    /// Starts serving `keys` on a free loopback port.
    pub async fn start(keys: &[&TestKey]) -> Idp {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let idp = Idp {
            addr: listener.local_addr().unwrap(),
            state: Arc::new(Mutex::new(IdpState {
                jwks: jwks(keys),
                mode: Mode::Up,
                discovery: None,
            })),
            jwks_hits: Arc::default(),
            discovery_hits: Arc::default(),
        };

        let server = idp.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(server.clone().serve(stream));
            }
        });

        idp
    }

    /// `http://127.0.0.1:<port>/`: the issuer and discovery base.
    pub fn base_url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    pub fn jwks_url(&self) -> String {
        format!("{}.well-known/jwks.json", self.base_url())
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        self.set_jwks(jwks(keys));
    }

    pub fn set_jwks(&self, jwks: Value) {
        self.state.lock().unwrap().jwks = jwks;
    }

    pub fn set_mode(&self, mode: Mode) {
        self.state.lock().unwrap().mode = mode;
    }

    /// Serves this discovery document instead of the consistent one.
    pub fn set_discovery(&self, document: Value) {
        self.state.lock().unwrap().discovery = Some(document);
    }

    pub fn jwks_hits(&self) -> usize {
        self.jwks_hits.load(Ordering::SeqCst)
    }

    pub fn discovery_hits(&self) -> usize {
        self.discovery_hits.load(Ordering::SeqCst)
    }

    async fn serve(self, mut stream: TcpStream) {
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
            if head.len() > 64 * 1024 {
                return;
            }
        }

        let head = String::from_utf8_lossy(&head);
        let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let (mode, jwks, discovery) = {
            let state = self.state.lock().unwrap();
            (state.mode.clone(), state.jwks.clone(), state.discovery.clone())
        };

        if path.ends_with("/openid-configuration") {
            self.discovery_hits.fetch_add(1, Ordering::SeqCst);
            let document = discovery
                .unwrap_or_else(|| json!({"issuer": self.base_url(), "jwks_uri": self.jwks_url()}));
            return respond(&mut stream, 200, document.to_string().as_bytes()).await;
        }
        if path != "/.well-known/jwks.json" {
            return respond(&mut stream, 404, br#"{"error":"not found"}"#).await;
        }

        self.jwks_hits.fetch_add(1, Ordering::SeqCst);
        match mode {
            Mode::Up => respond(&mut stream, 200, jwks.to_string().as_bytes()).await,
            Mode::Status(code) => respond(&mut stream, code, br#"{"error":"boom"}"#).await,
            Mode::Garbage => respond(&mut stream, 200, b"<html>definitely not json").await,
            Mode::Empty => respond(&mut stream, 200, br#"{"keys":[]}"#).await,
            Mode::Down => {}
            Mode::Redirect(location) => {
                let head = format!(
                    "HTTP/1.1 302 Found\r\nLocation: {location}\r\nContent-Length: 0\r\n\
                     Connection: close\r\n\r\n"
                );
                let _ = stream.write_all(head.as_bytes()).await;
            }
            Mode::Hang => tokio::time::sleep(Duration::from_secs(3600)).await,
            Mode::Huge(size) => {
                let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n";
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(br#"{"keys":[""#).await;
                let chunk = vec![b'A'; 64 * 1024];
                let mut sent = 0;
                while sent < size {
                    if stream.write_all(&chunk).await.is_err() {
                        return;
                    }
                    sent += chunk.len();
                }
            }
        }
    }
}

async fn respond(stream: &mut TcpStream, status: u16, body: &[u8]) {
    let head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body).await;
    let _ = stream.shutdown().await;
}

pub fn jwks(keys: &[&TestKey]) -> Value {
    json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() })
}

/// Claims that pass every check against `idp`.
pub fn good_claims(idp: &Idp) -> Value {
    let now = now();
    json!({
        "iss": idp.base_url(),
        "sub": "user|123",
        "aud": [AUDIENCE, "https://tenant.example.test/userinfo"],
        "iat": now,
        "exp": now + 3600,
        "scope": "openid read:messages",
    })
}

/// `good_claims` with `changes` merged over it (`null` removes a claim).
pub fn claims_with(idp: &Idp, changes: Value) -> Value {
    let mut claims = good_claims(idp);
    merge(&mut claims, changes);
    claims
}

/// The service's configuration for tests: debug profile, quiet logs, and an
/// `auth` table pointing at `idp` with `extra` settings merged over it.
pub fn figment(idp: &Idp, extra: Value) -> Figment {
    let mut auth = json!({
        "issuer_base_url": idp.base_url(),
        "audience": AUDIENCE,
        "jwks_cooldown": 0.2,
        "jwks_timeout": 1,
        "jwks_launch_retry": 0,
    });
    merge(&mut auth, extra);
    Figment::from(rocket::Config::debug_default())
        .merge(AppDefaults::for_profile(&Profile::const_new("debug")))
        .merge(Serialized::default("log_level", "off"))
        .merge(Serialized::default("auth", auth))
}

/// A local client for the service configured by `figment`.
pub async fn client_for(figment: Figment) -> Client {
    Client::tracked(auth0_rocket_api::rocket_from(figment)).await.expect("rocket launches")
}

/// A local client for the service against `idp`.
pub async fn client(idp: &Idp) -> Client {
    client_for(figment(idp, json!({}))).await
}

/// Why the auth fairing refuses to start with `figment`: the line it logs.
pub async fn connect_error(figment: Figment) -> String {
    match auth0_rocket_api::auth::fairing::connect(&figment, None).await {
        Ok(_) => panic!("connect should have failed"),
        Err(reason) => reason,
    }
}

/// Why launch fails for `figment`.
pub async fn launch_error(figment: Figment) -> String {
    match Client::tracked(auth0_rocket_api::rocket_from(figment)).await {
        Ok(_) => panic!("launch should have failed"),
        // Inspecting the kind marks the error handled: its drop won't panic.
        Err(error) => error.kind().to_string(),
    }
}

/// GETs `path` with an `Authorization` header, if any.
pub async fn get<'c>(
    client: &'c Client,
    path: &str,
    authorization: Option<&str>,
) -> LocalResponse<'c> {
    let mut request = client.get(path.to_owned());
    if let Some(value) = authorization {
        request = request.header(rocket::http::Header::new("Authorization", value.to_owned()));
    }
    request.dispatch().await
}

/// GETs `path` with `Authorization: Bearer <token>`.
pub async fn get_with_token<'c>(client: &'c Client, path: &str, token: &str) -> LocalResponse<'c> {
    get(client, path, Some(&format!("Bearer {token}"))).await
}

/// The status, `WWW-Authenticate` and JSON `message` of a response.
pub async fn outcome(response: LocalResponse<'_>) -> (u16, Option<String>, String) {
    let status = response.status().code;
    let challenge = response.headers().get_one("WWW-Authenticate").map(String::from);
    let body: Value = response.into_json().await.expect("JSON body");
    let message = body["message"].as_str().expect("message").to_owned();
    (status, challenge, message)
}

/// The challenge for an `invalid_token` failure described by `description`.
pub fn invalid_token(description: &str) -> String {
    format!("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\"")
}

/// Asserts that `token` is refused on `/api/private` with 401
/// `invalid_token` and `description`, both in the header and the body.
pub async fn assert_invalid_token(client: &Client, token: &str, description: &str) {
    let (status, challenge, message) =
        outcome(get_with_token(client, "/api/private", token).await).await;
    assert_eq!(status, 401, "{description}");
    assert_eq!(challenge.as_deref(), Some(invalid_token(description).as_str()));
    assert_eq!(message, description);
}

/// Asserts that `token` is accepted on `/api/private`.
pub async fn assert_accepted(client: &Client, token: &str) {
    let (status, challenge, message) =
        outcome(get_with_token(client, "/api/private", token).await).await;
    assert_eq!((status, challenge), (200, None), "{message}");
}
