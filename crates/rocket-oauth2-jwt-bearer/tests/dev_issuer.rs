//! The built-in development issuer: tokens, documents, loopback-only
//! minting, and that it never runs outside the debug profile.

mod common;

use std::net::SocketAddr;

use common::*;
use figment::Figment;
use figment::providers::Serialized;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rocket::http::{ContentType, Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{Value, json};

const PORT: u16 = 3456;

fn dev_figment(profile: &str, auth: Value) -> Figment {
    Figment::from(rocket::Config::debug_default())
        .merge(Serialized::default("log_level", "off"))
        .merge(Serialized::default("port", PORT))
        .merge(Serialized::default("address", "0.0.0.0"))
        .merge(Serialized::default("auth", auth))
        .select(profile)
}

/// The `Host` every request over a real connection carries.
fn host() -> Header<'static> {
    Header::new("Host", "127.0.0.1:3010")
}

fn loopback() -> SocketAddr {
    "127.0.0.1:50000".parse().unwrap()
}

/// POSTs a form `body` to `/dev/token` from a loopback peer.
async fn post_form<'c>(client: &'c Client, body: &str) -> LocalResponse<'c> {
    client
        .post("/dev/token")
        .remote(loopback())
        .header(host())
        .header(ContentType::Form)
        .body(body)
        .dispatch()
        .await
}

async fn mint(client: &Client, body: &str) -> Value {
    let response = post_form(client, body).await;
    assert_eq!(response.status(), Status::Ok);
    response.into_json().await.unwrap()
}

#[rocket::async_test]
async fn minted_tokens_open_the_api() {
    let client = client_for(dev_figment("debug", json!({"dev_issuer": true}))).await;

    let granted = mint(&client, "scope=read:messages").await;
    assert_eq!(granted["token_type"], "Bearer");
    assert_eq!(granted["expires_in"], 3600);
    assert_eq!(granted["scope"], "read:messages");
    let token = granted["access_token"].as_str().unwrap();
    for path in ["/api/private", "/api/private-scoped"] {
        assert_eq!(get_with_token(&client, path, token).await.status(), Status::Ok, "{path}");
    }

    let other = mint(&client, "scope=write:messages&sub=alice&expires_in=60").await;
    let token = other["access_token"].as_str().unwrap();
    assert_eq!(get_with_token(&client, "/api/private", token).await.status(), Status::Ok);
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/private-scoped", token).await).await;
    assert_eq!((status, message.as_str()), (403, "Insufficient Scope"));

    // JSON bodies and empty bodies work too.
    let response = client
        .post("/dev/token")
        .remote(loopback())
        .header(host())
        .header(ContentType::JSON)
        .body(r#"{"scope": "read:messages openid"}"#)
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let response = client.post("/dev/token").remote(loopback()).header(host()).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
}

#[rocket::async_test]
async fn documents_are_valid_and_consistent_with_the_tokens() {
    let client = client_for(dev_figment("debug", json!({"dev_issuer": true}))).await;
    let issuer = format!("http://127.0.0.1:{PORT}/");

    let discovery: Value =
        client.get("/.well-known/openid-configuration").dispatch().await.into_json().await.unwrap();
    assert_eq!(discovery["issuer"], issuer, "loopback issuer even when bound to 0.0.0.0");
    assert_eq!(discovery["jwks_uri"], format!("{issuer}.well-known/jwks.json"));

    let jwks: JwkSet =
        client.get("/.well-known/jwks.json").dispatch().await.into_json().await.unwrap();
    assert_eq!(jwks.keys.len(), 1);

    let granted = mint(&client, "scope=read:messages&sub=bob").await;
    let token = granted["access_token"].as_str().unwrap();
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some("at+jwt"));
    assert_eq!(header.alg, Algorithm::RS256);
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("the token's kid is published");

    // Verified independently, with jsonwebtoken and the published key.
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&["https://quickstarts/api"]);
    validation.set_issuer(&[&issuer]);
    validation.set_required_spec_claims(&["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]);
    let data =
        jsonwebtoken::decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
            .unwrap();
    let claims = data.claims;
    assert_eq!(claims["sub"], "bob");
    assert_eq!(claims["scope"], "read:messages");
    assert!(claims["client_id"].is_string() && claims["jti"].is_string());
    assert_eq!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(), 3600);
}

#[rocket::async_test]
async fn the_configured_audience_is_used() {
    let client = client_for(dev_figment(
        "debug",
        json!({"dev_issuer": true, "audience": "https://mine.test"}),
    ))
    .await;
    let token = mint(&client, "").await["access_token"].as_str().unwrap().to_owned();
    let claims = jsonwebtoken::dangerous::insecure_decode::<Value>(&token).unwrap().claims;
    assert_eq!(claims["aud"], "https://mine.test");
    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn minting_is_for_loopback_peers_only() {
    let client = client_for(dev_figment("debug", json!({"dev_issuer": true}))).await;
    let outsider: SocketAddr = "203.0.113.7:40000".parse().unwrap();

    let cases = [
        client.post("/dev/token"),
        client.post("/dev/token").remote(outsider).header(host()),
        client
            .post("/dev/token")
            .remote(outsider)
            .header(host())
            .header(Header::new("X-Real-IP", "127.0.0.1")),
        client
            .post("/dev/token")
            .remote(outsider)
            .header(host())
            .header(Header::new("X-Forwarded-For", "127.0.0.1")),
    ];
    for request in cases {
        let response =
            request.header(ContentType::Form).body("scope=read:messages").dispatch().await;
        assert_eq!(response.status(), Status::Forbidden);
        let body: Value = response.into_json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("this machine"));
    }

    let ipv6: SocketAddr = "[::1]:40000".parse().unwrap();
    let response = client.post("/dev/token").remote(ipv6).header(host()).dispatch().await;
    assert_eq!(response.status(), Status::Ok);
}

#[rocket::async_test]
async fn bad_requests_get_a_json_400() {
    let client = client_for(dev_figment("debug", json!({"dev_issuer": true}))).await;
    for body in ["expires_in=0", "expires_in=999999999", "scope=a\"b", "sub="] {
        let response = post_form(&client, body).await;
        assert_eq!(response.status(), Status::BadRequest, "{body}");
        let body: Value = response.into_json().await.unwrap();
        assert!(body["message"].is_string());
    }
}

#[rocket::async_test]
async fn a_real_issuer_switches_it_off() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let auth = json!({"dev_issuer": true, "issuer_base_url": idp.base_url(), "audience": AUDIENCE});
    let client = client_for(dev_figment("debug", auth)).await;

    assert_eq!(
        client.post("/dev/token").remote(loopback()).header(host()).dispatch().await.status(),
        Status::NotFound
    );
    assert_eq!(client.get("/.well-known/jwks.json").dispatch().await.status(), Status::NotFound);
    let token = key.token(&good_claims(&idp));
    assert_eq!(get_with_token(&client, "/api/private", &token).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn never_outside_the_debug_profile() {
    for profile in ["release", "staging"] {
        let reason = connect_error(dev_figment(profile, json!({"dev_issuer": true}))).await;
        assert!(reason.contains("`auth.dev_issuer`") && reason.contains(profile), "{reason}");
        let error = launch_error(dev_figment(profile, json!({"dev_issuer": true}))).await;
        assert!(error.contains("fairing"), "{error}");
    }

    // A release rocket has no development routes at all.
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(dev_figment(
        "release",
        json!({"issuer_base_url": idp.base_url(), "audience": AUDIENCE}),
    ))
    .await;
    assert_eq!(
        client.post("/dev/token").remote(loopback()).header(host()).dispatch().await.status(),
        Status::NotFound
    );
    assert_eq!(
        client.get("/.well-known/openid-configuration").dispatch().await.status(),
        Status::NotFound
    );
}

/// POSTs a form to `/dev/token` with a `DPoP` proof header.
async fn post_with_proof<'c>(client: &'c Client, body: &str, proof: &str) -> LocalResponse<'c> {
    client
        .post("/dev/token")
        .remote(loopback())
        .header(host())
        .header(ContentType::Form)
        .header(Header::new("DPoP", proof.to_owned()))
        .body(body)
        .dispatch()
        .await
}

#[rocket::async_test]
async fn a_token_request_with_a_dpop_proof_gets_a_token_bound_to_its_key() {
    use common::dpop::DpopKey;

    let client = client_for(dev_figment("debug", json!({"dev_issuer": true}))).await;
    let key = DpopKey::es256();
    let endpoint = "http://127.0.0.1:3010/dev/token";
    let proof = key.proof_with("POST", endpoint, "", json!({}), json!({"ath": null}));
    let response = post_with_proof(&client, "scope=read:messages", &proof).await;
    assert_eq!(response.status(), Status::Ok);
    let granted: Value = response.into_json().await.unwrap();
    assert_eq!(granted["token_type"], "DPoP");
    let token = granted["access_token"].as_str().unwrap().to_owned();
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["cnf"]["jkt"], key.jkt().as_str());

    // The bound token works with a proof, not as a bearer token.
    let api = "http://127.0.0.1:3010/api/private-scoped";
    let response = client
        .get("/api/private-scoped")
        .header(host())
        .header(Header::new("Authorization", format!("DPoP {token}")))
        .header(Header::new("DPoP", key.proof("GET", api, &token)))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);
    let response = client
        .get("/api/private-scoped")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Unauthorized);

    // The same proof twice, or one for another endpoint, is refused as a
    // token endpoint refuses: 400 with an OAuth error.
    let again = post_with_proof(&client, "", &proof).await;
    assert_eq!(again.status(), Status::BadRequest);
    let body: Value = again.into_json().await.unwrap();
    assert_eq!(body["error"], "invalid_dpop_proof");
    assert_eq!(body["error_description"], "DPoP proof has been used before");
    let elsewhere = key.proof_with("POST", "http://127.0.0.1:3010/other", "", json!({}), json!({}));
    let body: Value = post_with_proof(&client, "", &elsewhere).await.into_json().await.unwrap();
    assert_eq!(body["error_description"], "DPoP proof 'htu' mismatch");
    // Without a proof, a plain bearer token as before.
    assert_eq!(mint(&client, "").await["token_type"], "Bearer");
}
