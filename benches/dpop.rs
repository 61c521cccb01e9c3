//! Cost of DPoP (RFC 9449) on top of a bearer token.
//!
//! `cargo bench --bench dpop` prints:
//! - `proof/<alg>`: checking one proof (shape, header, `jwk` looked up
//!   among the keys parsed before, signature, claims, `htu` normalisation,
//!   `ath`, thumbprint) — compare with `raw/<alg>` of `--bench verify`, the
//!   bare signature; `proof-new-key/<alg>`: the same with a key never seen,
//!   parsed and checked in full;
//! - `request/bearer-hit` and `request/dpop-hit`: a whole request to
//!   `/api/private` through Rocket's local client, the access token from
//!   the verified-token cache, without and with a fresh proof (each proof
//!   signed outside the timed part, as a client would).

#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/dpop.rs"]
mod dpop;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/idp.rs"]
mod idp;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/keys.rs"]
mod keys;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use dpop::DpopKey;
use figment::providers::Serialized;
use figment::{Figment, Profile};
use keys::*;
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket_oauth2_jwt_bearer::__private::{AlgSet, default_algorithms, verify_dpop_proof};
use rocket_oauth2_jwt_bearer::__private::{ProofKeys, ProofRules};
use serde_json::json;

const TARGET: &str = "https://api.example.test/api/private";

fn proofs(c: &mut Criterion) {
    let token = "eyJhbGciOiJSUzI1NiJ9.e30.c2lnbmF0dXJl";
    let algorithms = AlgSet::of(&default_algorithms());
    for (alg, key) in [
        ("ES256", DpopKey::es256()),
        ("ES384", DpopKey::from(TestKey::es384("p"))),
        ("EdDSA", DpopKey::from(TestKey::ed25519("p"))),
        ("RS256", DpopKey::from(TestKey::rsa("p"))),
    ] {
        let proof = key.proof("GET", TARGET, token);
        let keys = ProofKeys::default();
        let rules = |now| ProofRules {
            algorithms,
            method: "GET",
            target: TARGET,
            access_token: Some(token),
            now,
            iat_offset: 300.0,
            iat_leeway: 30.0,
            keys: &keys,
        };
        let now = now() as f64;
        assert_eq!(verify_dpop_proof(&proof, &rules(now)).unwrap().jkt, key.jkt());
        c.bench_function(&format!("proof/{alg}"), |b| {
            b.iter(|| verify_dpop_proof(&proof, &rules(now)).unwrap())
        });
        c.bench_function(&format!("proof-new-key/{alg}"), |b| {
            b.iter_batched(
                ProofKeys::default,
                |keys| {
                    let rules = ProofRules { keys: &keys, ..rules(now) };
                    verify_dpop_proof(&proof, &rules).unwrap();
                },
                BatchSize::SmallInput,
            )
        });
    }
}

fn requests(c: &mut Criterion) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let signer = TestKey::rsa("k1");
    let key = DpopKey::es256();
    let (client, bearer, bound) = runtime.block_on(async {
        let idp = idp::Idp::start(&[&signer]).await;
        let auth = json!({
            "issuer_base_url": idp.base_url(),
            "audience": AUDIENCE,
            "dpop": {"public_url": "https://api.example.test"},
        });
        let figment = Figment::from(rocket::Config::release_default())
            .merge(auth0_rocket_api::config::AppDefaults::for_profile(&Profile::new("release")))
            .merge(Serialized::default("log_level", "off"))
            .merge(Serialized::default("auth", auth))
            .select("release");
        let client = Client::untracked(auth0_rocket_api::rocket_from(figment)).await.unwrap();
        let claims = |extra: serde_json::Value| {
            let mut claims = json!({"iss": idp.base_url(), "aud": AUDIENCE, "sub": "bench",
                                    "iat": now(), "exp": now() + 86400, "scope": "read:messages"});
            merge(&mut claims, extra);
            claims
        };
        let bearer = signer.token(&claims(json!({})));
        let bound = signer.token(&claims(json!({"cnf": {"jkt": key.jkt()}})));
        std::mem::forget(idp);
        (client, bearer, bound)
    });
    let send = |authorization: String, proof: Option<String>| {
        let mut request =
            client.get("/api/private").header(Header::new("Authorization", authorization));
        if let Some(proof) = proof {
            request = request.header(Header::new("DPoP", proof));
        }
        let status = runtime.block_on(request.dispatch()).status().code;
        assert_eq!(status, 200);
    };
    // Warm the token cache for both tokens.
    send(format!("Bearer {bearer}"), None);
    send(format!("DPoP {bound}"), Some(key.proof("GET", TARGET, &bound)));

    c.bench_function("request/bearer-hit", |b| b.iter(|| send(format!("Bearer {bearer}"), None)));
    c.bench_function("request/dpop-hit", |b| {
        b.iter_batched(
            || key.proof("GET", TARGET, &bound),
            |proof| send(format!("DPoP {bound}"), Some(proof)),
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = proofs, requests
}
criterion_main!(benches);
