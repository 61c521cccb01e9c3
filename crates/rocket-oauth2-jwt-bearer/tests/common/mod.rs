//! The test harness of the crate's behaviour tests (the app's tests share
//! it): a real identity provider on 127.0.0.1 (discovery + JWKS over HTTP,
//! with fault switches and hit counters), keys and tokens signed by
//! another implementation ([`keys`], [`dpop`]), a real `redis-server`
//! ([`redis`]), and an app built on the crate alone ([`test_app`]) on a
//! local client.

#![allow(dead_code)]

pub mod dpop;
pub mod idp;
pub mod keys;
pub mod redis;

use std::net::TcpListener;
use std::process::Child;
use std::time::Duration;

use figment::Figment;
use figment::providers::Serialized;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::serde::json::Json;
use rocket::{Build, Rocket, get, routes};
use rocket_oauth2_jwt_bearer::{BearerToken, Clock, HasScope, JwtAuth, Metrics, scope};
use serde_json::{Value, json};

pub use idp::*;
pub use keys::*;

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

scope!(ReadMessages = "read:messages");

#[get("/public")]
fn public() -> Json<Value> {
    Json(
        json!({"message": "Hello from a public endpoint! You don't need to be authenticated to see this."}),
    )
}

#[get("/private")]
fn private(_token: BearerToken) -> Json<Value> {
    Json(
        json!({"message": "Hello from a private endpoint! You need to be authenticated to see this."}),
    )
}

#[get("/private-scoped")]
fn private_scoped(_token: HasScope<ReadMessages>) -> Json<Value> {
    Json(
        json!({"message": "Hello from a private endpoint! You need to be authenticated and have a scope of read:messages to see this."}),
    )
}

/// The quickstart's three routes on the crate alone, as a user builds
/// them: the fairing, the metrics fairing, the JSON catchers under `/api`.
pub fn test_app(figment: Figment) -> Rocket<Build> {
    test_app_on(figment, Clock::system())
}

/// [`test_app`] checking times against `clock`, which the test moves.
pub fn test_app_on(figment: Figment, clock: Clock) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(JwtAuth::fairing().with_clock(clock))
        .attach(Metrics::fairing())
        .mount("/api", routes![public, private, private_scoped])
        .register("/api", rocket_oauth2_jwt_bearer::catchers())
}

/// Whether `condition` comes to hold within `within`, checked every 20 ms:
/// for what a background task does on its own timers, instead of sleeping
/// for a guess of them.
pub async fn eventually<F, Fut>(within: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if condition().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the process when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The configuration for tests: debug profile, quiet logs, and an `auth`
/// table pointing at `idp` with `extra` settings merged over it.
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
        .merge(Serialized::default("log_level", "off"))
        .merge(Serialized::default("auth", auth))
}

/// A local client for the test app configured by `figment`.
pub async fn client_for(figment: Figment) -> Client {
    Client::tracked(test_app(figment)).await.expect("rocket launches")
}

/// A local client for [`test_app_on`] `clock`.
pub async fn client_on(figment: Figment, clock: &Clock) -> Client {
    Client::tracked(test_app_on(figment, clock.clone())).await.expect("rocket launches")
}

/// A local client for the service against `idp`.
pub async fn client(idp: &Idp) -> Client {
    client_for(figment(idp, json!({}))).await
}

/// Why the auth fairing refuses to start with `figment`: the line it logs.
pub async fn connect_error(figment: Figment) -> String {
    match rocket_oauth2_jwt_bearer::__private::connect(&figment).await {
        Ok(_) => panic!("connect should have failed"),
        Err(reason) => reason.to_string(),
    }
}

/// Why launch fails for `figment`.
pub async fn launch_error(figment: Figment) -> String {
    match Client::tracked(test_app(figment)).await {
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

/// The service with `[auth.dpop]` = `public_url` (`https://api.example.test`)
/// and `dpop` merged over it, metrics on, against a fresh issuer signing
/// with an RSA key.
pub struct DpopService {
    pub idp: Idp,
    pub signer: TestKey,
    pub client: Client,
}

impl DpopService {
    pub async fn start(dpop: Value) -> DpopService {
        Self::start_on(dpop, test_app).await
    }

    /// As [`start`](Self::start), with the rocket `build` makes.
    pub async fn start_on(dpop: Value, build: fn(Figment) -> Rocket<Build>) -> DpopService {
        let signer = TestKey::rsa("k1");
        let idp = Idp::start(&[&signer]).await;
        let mut settings = json!({"public_url": "https://api.example.test"});
        merge(&mut settings, dpop);
        let figment =
            figment(&idp, json!({ "dpop": settings })).merge(Serialized::default("metrics", true));
        let client = Client::tracked(build(figment)).await.expect("rocket launches");
        DpopService { idp, signer, client }
    }

    /// An access token bound to the key with thumbprint `jkt` (`cnf.jkt`),
    /// as Auth0 issues them.
    pub fn bound_to(&self, jkt: &str) -> String {
        self.signer.token(&claims_with(&self.idp, json!({"cnf": {"jkt": jkt}})))
    }

    /// A plain bearer token.
    pub fn bearer_token(&self) -> String {
        self.signer.token(&good_claims(&self.idp))
    }
}

/// Status, `WWW-Authenticate` fields and JSON message of a GET of
/// `/api/private` with `Authorization: DPoP <token>` and `proof`.
pub async fn dpop_call(client: &Client, token: &str, proof: &str) -> (u16, Vec<String>, String) {
    let response = client
        .get("/api/private")
        .header(rocket::http::Header::new("Authorization", format!("DPoP {token}")))
        .header(rocket::http::Header::new("DPoP", proof.to_owned()))
        .dispatch()
        .await;
    let status = response.status().code;
    let challenges = response.headers().get("WWW-Authenticate").map(String::from).collect();
    let body: Value = response.into_json().await.unwrap_or_default();
    (status, challenges, body["message"].as_str().unwrap_or_default().to_owned())
}
