//! Server-provided DPoP nonces (RFC 9449 §9): a proof without a fresh
//! nonce gets 401 `use_dpop_nonce` and one to use; replicas sharing a
//! `nonce_secret` accept each other's nonces; a nonce goes stale.

mod common;

use std::time::Duration;

use common::dpop::DpopKey;
use common::*;
use rocket::http::Header;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket_oauth2_jwt_bearer::Clock;
use serde_json::{Value, json};

const PRIVATE: &str = "https://api.example.test/api/private";
const SECRET: &str = "test-only nonce secret, 32+ bytes long";

async fn client(idp: &Idp, dpop: Value) -> Client {
    client_on(idp, dpop, &Clock::system()).await
}

/// [`client`] on a clock the test moves.
async fn client_on(idp: &Idp, dpop: Value, clock: &Clock) -> Client {
    let mut settings = json!({"public_url": "https://api.example.test", "nonce": true});
    merge(&mut settings, dpop);
    common::client_on(figment(idp, json!({ "dpop": settings })), clock).await
}

async fn call<'c>(client: &'c Client, token: &str, proof: &str) -> LocalResponse<'c> {
    client
        .get("/api/private")
        .header(Header::new("Authorization", format!("DPoP {token}")))
        .header(Header::new("DPoP", proof.to_owned()))
        .dispatch()
        .await
}

/// Asserts a `use_dpop_nonce` answer, never to be cached (RFC 9449 §8.2),
/// and returns the nonce it offers.
async fn offered_nonce(response: LocalResponse<'_>) -> String {
    assert_eq!(response.status().code, 401);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    let challenges: Vec<&str> = response.headers().get("WWW-Authenticate").collect();
    assert_eq!(challenges[0], "Bearer realm=\"api\"");
    assert!(
        challenges[1].starts_with(
            "DPoP error=\"use_dpop_nonce\", \
             error_description=\"Resource server requires nonce in DPoP proof\", algs=\""
        ),
        "{challenges:?}"
    );
    let nonce = response.headers().get_one("DPoP-Nonce").expect("a DPoP-Nonce").to_owned();
    assert!(
        !nonce.is_empty()
            && nonce.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    nonce
}

fn with_nonce(key: &DpopKey, token: &str, nonce: &str) -> String {
    key.proof_with("GET", PRIVATE, token, json!({}), json!({ "nonce": nonce }))
}

#[tokio::test]
async fn a_proof_needs_a_nonce_the_server_gave_out() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let client = client(&idp, json!({})).await;
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));

    let nonce =
        offered_nonce(call(&client, &token, &key.proof("GET", PRIVATE, &token)).await).await;
    assert_eq!(call(&client, &token, &with_nonce(&key, &token, &nonce)).await.status().code, 200);
    // The nonce may be used again (each proof is still used once).
    assert_eq!(call(&client, &token, &with_nonce(&key, &token, &nonce)).await.status().code, 200);

    for forged in ["", "nonce", &format!("{nonce}x"), &nonce[..nonce.len() - 1]] {
        offered_nonce(call(&client, &token, &with_nonce(&key, &token, forged)).await).await;
    }
    // A nonce that isn't a string is no nonce this server gave out either.
    for not_a_string in [json!(5), json!(null), json!([nonce]), json!({"n": nonce})] {
        let proof =
            key.proof_with("GET", PRIVATE, &token, json!({}), json!({ "nonce": not_a_string }));
        offered_nonce(call(&client, &token, &proof).await).await;
    }
}

#[tokio::test]
async fn without_nonces_a_proof_s_nonce_is_ignored_whatever_its_type() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let client = client(&idp, json!({"nonce": false})).await;
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));
    for nonce in [json!(""), json!("x"), json!(5), json!(null), json!([1]), json!({"a": 1})] {
        let proof = key.proof_with("GET", PRIVATE, &token, json!({}), json!({ "nonce": nonce }));
        assert_eq!(call(&client, &token, &proof).await.status().code, 200, "{nonce}");
    }
}

#[tokio::test]
async fn replicas_sharing_a_nonce_secret_accept_each_others_nonces() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let a = client(&idp, json!({"nonce_secret": SECRET})).await;
    let b = client(&idp, json!({"nonce_secret": SECRET})).await;
    let other = client(&idp, json!({})).await;
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));

    let nonce = offered_nonce(call(&a, &token, &key.proof("GET", PRIVATE, &token)).await).await;
    assert_eq!(call(&b, &token, &with_nonce(&key, &token, &nonce)).await.status().code, 200);
    // A replica with its own random key knows nothing of it.
    offered_nonce(call(&other, &token, &with_nonce(&key, &token, &nonce)).await).await;
}

#[tokio::test]
async fn a_nonce_goes_stale_after_its_lifetime() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let clock = Clock::system();
    let client = client_on(&idp, json!({"nonce_lifetime": 60}), &clock).await;
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));

    let nonce =
        offered_nonce(call(&client, &token, &key.proof("GET", PRIVATE, &token)).await).await;
    assert_eq!(call(&client, &token, &with_nonce(&key, &token, &nonce)).await.status().code, 200);
    clock.advance(Duration::from_secs(61));
    let fresh = offered_nonce(call(&client, &token, &with_nonce(&key, &token, &nonce)).await).await;
    assert_ne!(fresh, nonce);
    assert_eq!(call(&client, &token, &with_nonce(&key, &token, &fresh)).await.status().code, 200);
}

#[tokio::test]
async fn an_aging_nonce_is_replaced_on_a_successful_answer() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let clock = Clock::system();
    let client = client_on(&idp, json!({"nonce_lifetime": 60}), &clock).await;
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));

    let nonce =
        offered_nonce(call(&client, &token, &key.proof("GET", PRIVATE, &token)).await).await;
    let fresh = call(&client, &token, &with_nonce(&key, &token, &nonce)).await;
    assert_eq!(fresh.status().code, 200);
    assert_eq!(fresh.headers().get_one("DPoP-Nonce"), None, "a young nonce is kept");
    clock.advance(Duration::from_secs(44));
    let aging = call(&client, &token, &with_nonce(&key, &token, &nonce)).await;
    assert_eq!(aging.status().code, 200);
    let next = aging.headers().get_one("DPoP-Nonce").expect("a fresh nonce").to_owned();
    assert_ne!(next, nonce);
    assert_eq!(call(&client, &token, &with_nonce(&key, &token, &next)).await.status().code, 200);
}
