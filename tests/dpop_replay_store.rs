//! DPoP replay detection shared between replicas through a real
//! `redis-server` on loopback: a proof used at one replica is refused at
//! the other; with the store stopped each replica falls back to its own
//! cache (or answers 503, if so configured); restarted, sharing resumes.

mod common;

use std::time::Duration;

use common::dpop::DpopKey;
use common::redis::RedisServer;
use common::*;
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

const PRIVATE: &str = "https://api.example.test/api/private";

struct Replicas {
    idp: Idp,
    signer: TestKey,
    a: Client,
    b: Client,
}

async fn replicas(redis: &RedisServer, dpop: Value) -> Replicas {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let mut settings =
        json!({"public_url": "https://api.example.test", "replay_store": redis.url()});
    merge(&mut settings, dpop);
    let figment = || {
        figment(&idp, json!({ "dpop": settings.clone() }))
            .merge(figment::providers::Serialized::default("metrics", true))
    };
    let (a, b) = (client_for(figment()).await, client_for(figment()).await);
    Replicas { idp, signer, a, b }
}

impl Replicas {
    fn bound_token(&self, key: &DpopKey) -> String {
        self.signer.token(&claims_with(&self.idp, json!({"cnf": {"jkt": key.jkt()}})))
    }
}

/// Status and message of a DPoP request to `client`.
async fn call(client: &Client, token: &str, proof: &str) -> (u16, String) {
    let (status, _, message) = dpop_call(client, token, proof).await;
    (status, message)
}

const REPLAYED: (u16, &str) = (401, "DPoP proof has been used before");

async fn replay_store_status(client: &Client) -> Value {
    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    ready["replay_store"].clone()
}

/// Waits out the store's one-second pause after a failure.
async fn after_the_pause() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn a_proof_replayed_to_another_replica_is_refused() {
    let Some(redis) = RedisServer::start() else { return };
    let replicas = replicas(&redis, json!({})).await;
    let key = DpopKey::es256();
    let token = replicas.bound_token(&key);

    for _ in 0..5 {
        let proof = key.proof("GET", PRIVATE, &token);
        assert_eq!(call(&replicas.a, &token, &proof).await.0, 200);
        let (status, message) = call(&replicas.b, &token, &proof).await;
        assert_eq!((status, message.as_str()), REPLAYED);
        let (status, message) = call(&replicas.a, &token, &proof).await;
        assert_eq!((status, message.as_str()), REPLAYED);
    }
    assert_eq!(replay_store_status(&replicas.a).await["reachable"], true);
}

#[tokio::test]
async fn a_stopped_store_falls_back_to_each_replica_and_sharing_resumes_after_a_restart() {
    let Some(mut redis) = RedisServer::start() else { return };
    let replicas = replicas(&redis, json!({})).await;
    let key = DpopKey::es256();
    let token = replicas.bound_token(&key);

    redis.stop();
    let proof = key.proof("GET", PRIVATE, &token);
    assert_eq!(call(&replicas.a, &token, &proof).await.0, 200, "served on the local cache");
    let (status, message) = call(&replicas.a, &token, &proof).await;
    assert_eq!((status, message.as_str()), REPLAYED, "the local cache still refuses replays");
    let store = replay_store_status(&replicas.a).await;
    assert_eq!(store["reachable"], false);
    assert!(store["errors"].as_u64().unwrap() >= 1);
    assert_eq!(store["while_unreachable"], "local replay cache");
    let metrics = replicas.a.get("/metrics").dispatch().await.into_string().await.unwrap();
    assert!(metrics.contains("dpop_replay_store_up 0"), "{metrics}");

    redis.restart();
    after_the_pause().await;
    let proof = key.proof("GET", PRIVATE, &token);
    assert_eq!(call(&replicas.a, &token, &proof).await.0, 200);
    let (status, message) = call(&replicas.b, &token, &proof).await;
    assert_eq!((status, message.as_str()), REPLAYED, "shared again");
    assert_eq!(replay_store_status(&replicas.a).await["reachable"], true);
}

#[tokio::test]
async fn reject_mode_answers_503_while_the_store_is_unreachable() {
    let Some(mut redis) = RedisServer::start() else { return };
    let replicas = replicas(&redis, json!({"replay_store_failure": "reject"})).await;
    let key = DpopKey::es256();
    let token = replicas.bound_token(&key);

    redis.stop();
    let proof = key.proof("GET", PRIVATE, &token);
    let response = replicas
        .a
        .get("/api/private")
        .header(Header::new("Authorization", format!("DPoP {token}")))
        .header(Header::new("DPoP", proof.clone()))
        .dispatch()
        .await;
    assert_eq!(response.status().code, 503);
    assert_eq!(response.headers().get_one("Retry-After"), Some("1"));
    assert_eq!(response.headers().get_one("WWW-Authenticate"), None);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["message"], "DPoP replay detection is temporarily unavailable; retry later");
    // Plain bearer tokens don't need the store.
    assert_accepted(&replicas.a, &replicas.signer.token(&good_claims(&replicas.idp))).await;

    redis.restart();
    after_the_pause().await;
    // The refused proof wasn't used: retried once the store is back, it passes, once.
    assert_eq!(call(&replicas.a, &token, &proof).await.0, 200);
    let (status, message) = call(&replicas.b, &token, &proof).await;
    assert_eq!((status, message.as_str()), REPLAYED);
}
