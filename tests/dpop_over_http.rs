//! DPoP against the built binary over real HTTP (hyper's header handling,
//! a real `Host`, a real peer address): a bound token and fresh proofs from
//! outside, both challenges as two header fields, replay and `htu`
//! refusals, and the binary's log holding neither a token nor a proof.

mod common;

use common::dpop::DpopKey;
use common::process::*;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn dpop_requests_from_outside_the_process() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let server =
        Server::start(&idp.base_url(), &[("ROCKET_LOG_LEVEL", "debug".to_owned())], None).await;
    let base = server.base();
    let key = DpopKey::es256();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));
    let url = format!("{base}/api/private-scoped");
    let send = |proof: String| {
        http()
            .get(&url)
            .header("Authorization", format!("DPoP {token}"))
            .header("DPoP", proof)
            .send()
    };

    // The target is built from the real Host header: http://127.0.0.1:<port>.
    let proof = key.proof("GET", &url, &token);
    let response = send(proof.clone()).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers().get("cache-control").unwrap(), "no-store");

    let replayed = send(proof.clone()).await.unwrap();
    assert_eq!(replayed.status().as_u16(), 401);
    let challenges: Vec<String> = replayed
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    assert_eq!(challenges[0], "Bearer realm=\"api\", scope=\"read:messages\"");
    assert!(challenges[1].starts_with(
        "DPoP error=\"invalid_dpop_proof\", error_description=\"DPoP proof has been used before\", scope=\"read:messages\", algs=\""
    ));
    let body: Value = serde_json::from_slice(&replayed.bytes().await.unwrap()).unwrap();
    assert_eq!(body["message"], "DPoP proof has been used before");

    let elsewhere = key.proof("GET", "http://localhost:1/api/private-scoped", &token);
    let response = send(elsewhere).await.unwrap();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["message"], "DPoP proof 'htu' mismatch");

    // The same token as a bearer token.
    let response = http().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status().as_u16(), 401);

    let log = server.stop();
    assert!(!log.contains(&token), "the token reached the log");
    for part in proof.split('.') {
        assert!(!log.contains(part), "a proof reached the log");
    }
}
