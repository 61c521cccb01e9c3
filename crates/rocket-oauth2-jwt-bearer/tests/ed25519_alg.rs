//! RFC 9864's fully specified `Ed25519`, which deprecates the polymorphic
//! `EdDSA` (oauth4webapi signs DPoP proofs with it by default): accepted
//! wherever `EdDSA` with an Ed25519 key is, for access tokens and DPoP
//! proofs alike, and a name of its own in the settings. Tokens and proofs
//! are signed by jsonwebtoken (tests/common/dpop), not by the code under
//! test.

mod common;

use common::dpop::DpopKey;
use common::*;
use rocket::http::Header;
use serde_json::{Value, json};

const PRIVATE: &str = "https://api.example.test/api/private";

/// An Ed25519 key whose token header says `alg`, published with `jwk_alg`
/// (none when `None`); the token's status on `/api/private` under `extra`.
async fn token_status(alg: &str, jwk_alg: Option<&str>, extra: Value) -> u16 {
    let key = DpopKey::from(TestKey::ed25519("ed"));
    let mut jwk = key.key.as_ref().unwrap().jwk();
    if let Some(jwk_alg) = jwk_alg {
        jwk["alg"] = json!(jwk_alg);
    }
    let idp = Idp::start(&[]).await;
    idp.set_jwks(json!({ "keys": [jwk] }));
    let client = client_for(figment(&idp, extra)).await;
    let header = json!({"alg": alg, "typ": "JWT", "kid": "ed"}).to_string();
    let token = key.sign_raw(&header, &good_claims(&idp).to_string());
    get_with_token(&client, "/api/private", &token).await.status().code
}

#[tokio::test]
async fn a_token_signed_as_ed25519_is_accepted_as_eddsa_is() {
    for jwk_alg in [None, Some("EdDSA"), Some("Ed25519")] {
        for alg in ["Ed25519", "EdDSA"] {
            assert_eq!(token_status(alg, jwk_alg, json!({})).await, 200, "{alg} by {jwk_alg:?}");
        }
    }
    // Two names in the settings: each allows only itself.
    let only_eddsa = json!({"algorithms": ["EdDSA"]});
    assert_eq!(token_status("Ed25519", None, only_eddsa.clone()).await, 401);
    assert_eq!(token_status("EdDSA", None, only_eddsa).await, 200);
    let only_ed25519 = json!({"algorithms": ["Ed25519"]});
    assert_eq!(token_status("Ed25519", Some("EdDSA"), only_ed25519.clone()).await, 200);
    assert_eq!(token_status("EdDSA", None, only_ed25519).await, 401);
}

#[tokio::test]
async fn a_dpop_proof_signed_as_ed25519_is_accepted_and_listed() {
    for (algorithms, accepted) in
        [(None, ["Ed25519", "EdDSA"].as_slice()), (Some(json!(["Ed25519"])), &["Ed25519"])]
    {
        let mut dpop = json!({});
        if let Some(algorithms) = &algorithms {
            dpop["algorithms"] = algorithms.clone();
        }
        let service = DpopService::start(dpop).await;
        let key = DpopKey::from(TestKey::ed25519("dpop"));
        let token = service.bound_to(&key.jkt());
        for alg in ["Ed25519", "EdDSA"] {
            let proof = key.proof_with("GET", PRIVATE, &token, json!({ "alg": alg }), json!({}));
            let response = service
                .client
                .get("/api/private")
                .header(Header::new("Authorization", format!("DPoP {token}")))
                .header(Header::new("DPoP", proof))
                .dispatch()
                .await;
            let expected = if accepted.contains(&alg) { 200 } else { 401 };
            assert_eq!(response.status().code, expected, "{alg} under {algorithms:?}");
        }
        // The challenge names what is accepted (the metadata lists the same
        // `algorithms`: crates/…/tests/resource_metadata.rs).
        let response = service.client.get("/api/private").dispatch().await;
        let challenges: Vec<&str> = response.headers().get("WWW-Authenticate").collect();
        let dpop_challenge = challenges.iter().find(|c| c.starts_with("DPoP")).unwrap();
        for alg in ["Ed25519", "EdDSA"] {
            let listed = dpop_challenge.contains(&format!(" {alg}"))
                || dpop_challenge.contains(&format!("\"{alg}"));
            assert_eq!(listed, accepted.contains(&alg), "{dpop_challenge}");
        }
    }
}
