//! A real identity provider on 127.0.0.1: OIDC discovery and a JWKS over
//! HTTP/1.1, with switches for faults and counters of what was fetched.
//! Shared by the integration tests and `examples/loopback_idp.rs`.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::keys::TestKey;

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
    /// Answers 200 with a `Content-Length` of this many bytes, then hangs.
    Declared(usize),
    /// Closes the connection at once.
    Down,
    /// Answers 302 to this location.
    Redirect(String),
    /// Serves the key set after this long.
    Slow(Duration),
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
        Self::start_on(0, keys).await
    }

    /// Starts serving `keys` on 127.0.0.1:`port` (0: any free port).
    pub async fn start_on(port: u16, keys: &[&TestKey]) -> Idp {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
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
            Mode::Slow(delay) => {
                tokio::time::sleep(delay).await;
                respond(&mut stream, 200, jwks.to_string().as_bytes()).await
            }
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
            Mode::Declared(size) => {
                let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
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
