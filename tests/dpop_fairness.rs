//! One DPoP token holder must not hurt other clients: not by flooding the
//! replay cache with proofs dated into the future, not by filling the
//! shared Redis store, not by making the server verify costly proof keys
//! without a valid token. Over the local client, against a real loopback
//! issuer and, for the store, a real `redis-server`.

mod common;

use common::dpop::{DpopKey, ath, unique_id};
use common::redis::RedisServer;
use common::*;
use serde_json::{Value, json};

const PRIVATE: &str = "https://api.example.test/api/private";

async fn setup(dpop: Value) -> DpopService {
    dpop_service(dpop).await
}

async fn metric(service: &DpopService, name: &str) -> i64 {
    let text = service.client.get("/metrics").dispatch().await.into_string().await.unwrap();
    let line = text.lines().find(|line| line.starts_with(&format!("{name} ")));
    line.and_then(|line| line.split(' ').nth(1)?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in {text}"))
}

/// A fresh proof from `key` for `token`, dated `iat`.
fn proof_at(key: &DpopKey, token: &str, iat: i64) -> String {
    key.proof_with("GET", PRIVATE, token, json!({}), json!({ "iat": iat }))
}

#[tokio::test]
async fn proofs_dated_into_the_future_by_one_key_never_lock_out_another_client() {
    // A small cache so that the flood fills it many times over.
    let setup = setup(json!({"replay_cache_capacity": 200, "replay_quota": 20})).await;
    let flooder = DpopKey::es256();
    let flooder_token = setup.bound_to(&flooder.jkt());
    let honest: Vec<(DpopKey, String)> = (0..8)
        .map(|_| {
            let key = DpopKey::es256();
            let token = setup.bound_to(&key.jkt());
            (key, token)
        })
        .collect();

    // Each honest client is served before the flood...
    for (key, token) in &honest {
        assert_eq!(dpop_call(&setup.client, token, &key.proof("GET", PRIVATE, token)).await.0, 200);
    }
    // ...then one token holder sends proofs at the edge of the leeway (30 s),
    // three times the whole cache...
    for _ in 0..600 {
        let (status, _, message) = dpop_call(
            &setup.client,
            &flooder_token,
            &proof_at(&flooder, &flooder_token, now() + 29),
        )
        .await;
        assert!(status == 200 || status == 401, "{status} {message}");
    }
    // ...and every honest client's fresh proof is still accepted.
    for round in 0..3 {
        for (i, (key, token)) in honest.iter().enumerate() {
            let (status, _, message) =
                dpop_call(&setup.client, token, &key.proof("GET", PRIVATE, token)).await;
            assert_eq!(status, 200, "client {i}, round {round}: {message}");
        }
    }
    // The flood only shrank the flooder's own window.
    let (status, _, message) =
        dpop_call(&setup.client, &flooder_token, &flooder.proof("GET", PRIVATE, &flooder_token))
            .await;
    assert_eq!((status, message.as_str()), (401, "DPoP proof is too old for the replay window"));
    assert!(metric(&setup, "dpop_replay_cache_proofs").await <= 200);
}

/// A proof signed by nobody, carrying an RSA key of `bits` bits (an odd
/// modulus; its primes are no one's) and exponent `e`; and the key's
/// RFC 7638 thumbprint.
fn costly_proof(bits: usize, e: &str, token: &str) -> (String, String) {
    let mut modulus = vec![0xC3u8; bits / 8];
    modulus[bits / 8 - 1] |= 1;
    let n = b64(&modulus);
    let jwk = json!({"kty": "RSA", "n": n, "e": e});
    let header = json!({"typ": "dpop+jwt", "alg": "RS256", "jwk": jwk});
    let claims =
        json!({"jti": unique_id(), "htm": "GET", "htu": PRIVATE, "iat": now(), "ath": ath(token)});
    let signature = b64(vec![0x5Au8; bits / 8]);
    let proof = format!("{}.{}.{signature}", b64(header.to_string()), b64(claims.to_string()));
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    let jkt = b64(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()));
    (proof, jkt)
}

#[tokio::test]
async fn a_request_without_a_valid_token_never_reaches_the_proofs_crypto() {
    let setup = setup(json!({})).await;
    // A token of the right issuer and key, with a signature that isn't one.
    let valid = setup.bound_to("x");
    let junk_token = format!("{}.c2lnbmF0dXJl", &valid[..valid.rfind('.').unwrap()]);
    let junk_token = junk_token.as_str();
    let (proof, _) = costly_proof(8192, "AQAB", junk_token);
    // The token is checked before the proof's key and signature: the
    // answer is about the token, and the 8192-bit key was never used.
    let (status, challenges, message) = dpop_call(&setup.client, junk_token, &proof).await;
    assert_eq!(status, 401);
    assert!(challenges.iter().any(|c| c.contains("error=\"invalid_token\"")), "{challenges:?}");
    assert_eq!(message, "signature verification failed");
    // A proof whose form is wrong is still refused first, for free.
    let (status, _, message) = dpop_call(&setup.client, junk_token, "a.b").await;
    assert_eq!((status, message.as_str()), (401, "DPoP proof is not a valid compact JWS"));

    // With a valid token bound to it, a proof key dearer than what
    // clients make is refused before its signature is checked.
    let bad_key = "Invalid DPoP proof 'jwk' header parameter";
    for (bits, e) in [(8192, "AQAB"), (4104, "AQAB"), (2048, "AQAAAQ"), (2048, "Aw")] {
        let (_, jkt) = costly_proof(bits, e, "");
        let token = setup.bound_to(&jkt);
        let (proof, _) = costly_proof(bits, e, &token);
        let (status, _, message) = dpop_call(&setup.client, &token, &proof).await;
        assert_eq!((status, message.as_str()), (401, bad_key), "{bits} bits, e {e}");
    }
    // An RSA-4096 key with exponent 65537 is within bounds: only its
    // (junk) signature fails.
    let (_, jkt) = costly_proof(4096, "AQAB", "");
    let token = setup.bound_to(&jkt);
    let (proof, _) = costly_proof(4096, "AQAB", &token);
    let (status, _, message) = dpop_call(&setup.client, &token, &proof).await;
    assert_eq!((status, message.as_str()), (401, "DPoP proof signature verification failed"));
}

async fn store_setup(redis: &RedisServer, dpop: Value) -> DpopService {
    let mut settings = json!({"replay_store": redis.url()});
    merge(&mut settings, dpop);
    setup(settings).await
}

#[tokio::test]
async fn a_key_past_its_share_of_the_store_shrinks_only_its_own_window_and_fills_nothing() {
    let Some(redis) = RedisServer::start() else { return };
    // Two replicas of one service: one issuer, one store, a quota of 5.
    let a = store_setup(&redis, json!({"replay_quota": 5})).await;
    let dpop = json!({"public_url": "https://api.example.test", "replay_store": redis.url(), "replay_quota": 5});
    let b = client_for(figment(&a.idp, json!({ "dpop": dpop }))).await;
    let flooder = DpopKey::es256();
    let flooder_token = a.bound_to(&flooder.jkt());
    let honest = DpopKey::es256();
    let honest_token = a.bound_to(&honest.jkt());

    // Fifty proofs, each a second newer than the last, all accepted at
    // replica a: the key keeps its five newest in the store (and in a's
    // cache), and its watermark stands for the rest.
    let now = now();
    let proofs: Vec<String> =
        (0..50).map(|i| proof_at(&flooder, &flooder_token, now - 100 + i)).collect();
    for proof in &proofs {
        assert_eq!(dpop_call(&a.client, &flooder_token, proof).await.0, 200);
    }
    let held = redis.command(
        r#"EVAL "local n = 0 for _, k in ipairs(redis.call('KEYS', 'dpop:*:proofs')) do n = n + redis.call('ZCARD', k) end return n" 0"#,
    );
    assert_eq!(held, ":5", "the flooder's share of the store");
    // Replayed to replica b, whose own cache never saw them: a proof the
    // store dropped is refused as too old, one it kept as used.
    let (status, _, message) = dpop_call(&b, &flooder_token, &proofs[10]).await;
    assert_eq!((status, message.as_str()), (401, "DPoP proof is too old for the replay window"));
    let (status, _, message) = dpop_call(&b, &flooder_token, &proofs[49]).await;
    assert_eq!((status, message.as_str()), (401, "DPoP proof has been used before"));
    // Nobody else is affected, at either replica.
    for client in [&a.client, &b] {
        let proof = honest.proof("GET", PRIVATE, &honest_token);
        assert_eq!(dpop_call(client, &honest_token, &proof).await.0, 200);
    }
    assert_eq!(redis.command("DBSIZE"), ":3", "two keys' proofs, the flooder's watermark");
}

#[tokio::test]
async fn a_store_that_may_evict_records_is_reported() {
    let Some(evicting) =
        RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "volatile-ttl"])
    else {
        return;
    };
    let Some(safe) =
        RedisServer::start_with(&["--maxmemory", "64mb", "--maxmemory-policy", "noeviction"])
    else {
        return;
    };
    for (redis, expected) in [(&evicting, true), (&safe, false)] {
        let setup = store_setup(redis, json!({})).await;
        let key = DpopKey::es256();
        let token = setup.bound_to(&key.jkt());
        // The first request has the store looked at, in the background.
        assert_eq!(
            dpop_call(&setup.client, &token, &key.proof("GET", PRIVATE, &token)).await.0,
            200
        );
        let mut seen = Value::Null;
        for _ in 0..100 {
            let ready: Value =
                setup.client.get("/ready").dispatch().await.into_json().await.unwrap();
            seen = ready["replay_store"]["may_evict"].clone();
            if !seen.is_null() {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(seen, expected, "{}", redis.url());
        let gauge = metric(&setup, "dpop_replay_store_may_evict").await;
        assert_eq!(gauge, i64::from(expected));
    }
}

#[tokio::test]
async fn refused_proofs_take_no_room_while_the_store_is_down_in_reject_mode() {
    let Some(mut redis) = RedisServer::start() else { return };
    let setup = store_setup(&redis, json!({"replay_store_failure": "reject"})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    redis.stop();
    for _ in 0..300 {
        assert_eq!(
            dpop_call(&setup.client, &token, &key.proof("GET", PRIVATE, &token)).await.0,
            503
        );
    }
    assert_eq!(metric(&setup, "dpop_replay_cache_proofs").await, 0);
}
