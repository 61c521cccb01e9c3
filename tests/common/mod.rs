//! Shared test harness: a real identity provider on 127.0.0.1 (discovery +
//! JWKS over HTTP, with fault switches and hit counters), keys generated at
//! test time, token minting, and the service's own rocket on a local client.
//!
//! Tokens are signed here with aws-lc-rs directly rather than through
//! jsonwebtoken, so that tests control every byte of the header and payload
//! (duplicate members, `crit`, odd `alg`s, non-canonical base64url).

#![allow(dead_code)]

pub mod process;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use auth0_rocket_api::config::AppDefaults;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, KeyPair};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use figment::providers::Serialized;
use figment::{Figment, Profile};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const AUDIENCE: &str = "https://api.example.test";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A signing key made at test time.
pub enum TestKey {
    Rsa {
        kid: String,
        pair: sig::RsaKeyPair,
    },
    Ec {
        kid: String,
        pair: sig::EcdsaKeyPair,
        crv: &'static str,
    },
    Ed {
        kid: String,
        pair: sig::Ed25519KeyPair,
    },
    /// A shared secret (for forged `HS*` tokens).
    Hmac {
        kid: String,
        secret: Vec<u8>,
    },
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        let pair = sig::RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        TestKey::Rsa { kid: kid.into(), pair }
    }

    pub fn es256(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "P-256" }
    }

    pub fn es384(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "P-384" }
    }

    pub fn ed25519(kid: &str) -> Self {
        TestKey::Ed { kid: kid.into(), pair: sig::Ed25519KeyPair::generate().unwrap() }
    }

    pub fn hmac(kid: &str, secret: &[u8]) -> Self {
        TestKey::Hmac { kid: kid.into(), secret: secret.to_vec() }
    }

    pub fn kid(&self) -> &str {
        match self {
            TestKey::Rsa { kid, .. }
            | TestKey::Ec { kid, .. }
            | TestKey::Ed { kid, .. }
            | TestKey::Hmac { kid, .. } => kid,
        }
    }

    /// The algorithm this key signs with by default.
    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Rsa { .. } => "RS256",
            TestKey::Ec { crv: "P-256", .. } => "ES256",
            TestKey::Ec { .. } => "ES384",
            TestKey::Ed { .. } => "EdDSA",
            TestKey::Hmac { .. } => "HS256",
        }
    }

    /// The public JWK, with `kid` and `use: sig`.
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Rsa { kid, pair } => {
                let public = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(public.n), "e": b64(public.e)})
            }
            TestKey::Ec { kid, pair, crv } => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                json!({"kty": "EC", "kid": kid, "use": "sig", "crv": crv,
                       "x": b64(&point[1..1 + half]), "y": b64(&point[1 + half..])})
            }
            TestKey::Ed { kid, pair } => {
                json!({"kty": "OKP", "kid": kid, "use": "sig", "crv": "Ed25519",
                       "x": b64(pair.public_key().as_ref())})
            }
            TestKey::Hmac { kid, secret } => json!({"kty": "oct", "kid": kid, "k": b64(secret)}),
        }
    }

    /// The raw signature of `input` with `alg`.
    pub fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa { pair, .. } => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    "RS384" => &sig::RSA_PKCS1_SHA384,
                    "RS512" => &sig::RSA_PKCS1_SHA512,
                    "PS256" => &sig::RSA_PSS_SHA256,
                    "PS384" => &sig::RSA_PSS_SHA384,
                    "PS512" => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, input, &mut out).unwrap();
                out
            }
            TestKey::Ec { pair, .. } => pair.sign(&rng, input).unwrap().as_ref().to_vec(),
            TestKey::Ed { pair, .. } => pair.sign(input).as_ref().to_vec(),
            TestKey::Hmac { secret, .. } => {
                let algorithm = match alg {
                    "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
                    "HS512" => aws_lc_rs::hmac::HMAC_SHA512,
                    _ => aws_lc_rs::hmac::HMAC_SHA256,
                };
                let key = aws_lc_rs::hmac::Key::new(algorithm, secret);
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            }
        }
    }

    /// A token with exactly this header and payload text, signed with `alg`.
    pub fn sign_raw(&self, alg: &str, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = self.sign(alg, input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    /// A token with the key's default `alg` and `kid`, and `claims`.
    pub fn token(&self, claims: &Value) -> String {
        self.token_with(json!({}), claims)
    }

    /// Like [`token`](Self::token), with `header` members merged over the
    /// default `{"alg", "typ", "kid"}` (`null` removes one).
    pub fn token_with(&self, header: Value, claims: &Value) -> String {
        let mut full = json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid()});
        merge(&mut full, header);
        let alg = full["alg"].as_str().unwrap_or("RS256").to_owned();
        self.sign_raw(&alg, &full.to_string(), &claims.to_string())
    }
}

/// Merges `changes` over `target`; a `null` member removes the key.
pub fn merge(target: &mut Value, changes: Value) {
    let target = target.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

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
