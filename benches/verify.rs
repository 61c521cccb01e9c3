//! Cost of one token verification, and how it compares with the crypto.
//!
//! `cargo bench --bench verify` prints, per algorithm:
//! - `raw/<alg>`: aws-lc-rs verifying the signature with a pre-parsed key:
//!   the floor no verifier can go under;
//! - `jsonwebtoken/<alg>`: `jsonwebtoken::crypto::verify` on a prepared
//!   `DecodingKey` (it rebuilds the backend key on every call);
//! - `miss/<alg>`: this service's full verification (pre-checks, key lookup,
//!   signature, claims) of a token it hasn't seen;
//! - `hit/<alg>`: the same token again, answered from the verified-token
//!   cache.

#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/keys.rs"]
mod keys;

use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use futures::executor::block_on;
use jsonwebtoken::{Algorithm, DecodingKey};
use keys::*;
use rocket_oauth2_jwt_bearer::__private::AlgSet;
use rocket_oauth2_jwt_bearer::__private::default_algorithms;
use rocket_oauth2_jwt_bearer::__private::{KeySet, KeyStore};
use rocket_oauth2_jwt_bearer::__private::{Policy, Verifier};
use serde_json::json;

const ISSUER: &str = "https://issuer.bench/";

fn verifier(keys: &[&TestKey], cache: usize) -> Verifier {
    let jwks = json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() });
    let allowed = AlgSet::of(&default_algorithms());
    let (set, _) = KeySet::from_jwks(jwks.to_string().as_bytes(), allowed).unwrap();
    let policy = Policy { token_cache_capacity: cache, ..Policy::default() };
    Verifier::single(policy, ISSUER, vec![AUDIENCE.into()], allowed, KeyStore::fixed(set))
}

fn claims() -> serde_json::Value {
    let now = now();
    json!({
        "iss": ISSUER, "sub": "auth0|5f7c8ec7c33c6c004bbafe82",
        "aud": [AUDIENCE, "https://tenant.auth0.com/userinfo"],
        "iat": now, "exp": now + 86400, "azp": "my-client-id",
        "scope": "openid profile email read:messages",
    })
}

/// The aws-lc-rs verification algorithm for `alg`.
fn backend(alg: &str) -> &'static dyn sig::VerificationAlgorithm {
    match alg {
        "RS256" => &sig::RSA_PKCS1_2048_8192_SHA256,
        "PS256" => &sig::RSA_PSS_2048_8192_SHA256,
        "ES256" => &sig::ECDSA_P256_SHA256_FIXED,
        "ES384" => &sig::ECDSA_P384_SHA384_FIXED,
        "ES512" => &sig::ECDSA_P521_SHA512_FIXED,
        "ES256K" => &sig::ECDSA_P256K1_SHA256_FIXED,
        _ => &sig::ED25519,
    }
}

fn parsed_key(key: &TestKey, alg: &str) -> ParsedPublicKey {
    let jwk = key.jwk();
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
    match alg {
        "RS256" | "PS256" => {
            let params = if alg == "RS256" {
                &sig::RSA_PKCS1_2048_8192_SHA256
            } else {
                &sig::RSA_PSS_2048_8192_SHA256
            };
            let (n, e) = (field("n"), field("e"));
            RsaPublicKeyComponents { n: &n, e: &e }.to_parsed_public_key(params).unwrap()
        }
        "ES256" | "ES384" | "ES512" | "ES256K" => {
            let point = [vec![4u8], field("x"), field("y")].concat();
            ParsedPublicKey::new(backend(alg), point).unwrap()
        }
        _ => ParsedPublicKey::new(backend(alg), field("x")).unwrap(),
    }
}

fn decoding_key(key: &TestKey) -> DecodingKey {
    DecodingKey::from_jwk(&serde_json::from_value(key.jwk()).unwrap()).unwrap()
}

fn bench(c: &mut Criterion) {
    let rsa = TestKey::rsa("rsa");
    let ec = TestKey::es256("ec");
    let ed = TestKey::ed25519("ed");
    let p384 = TestKey::es384("p384");
    let p521 = TestKey::es512("p521");
    let k256 = TestKey::es256k("k256");
    let cases: [(&str, &TestKey); 7] = [
        ("RS256", &rsa),
        ("PS256", &rsa),
        ("ES256", &ec),
        ("EdDSA", &ed),
        ("ES384", &p384),
        ("ES512", &p521),
        ("ES256K", &k256),
    ];
    let all = [&rsa, &ec, &ed, &p384, &p521, &k256];
    let uncached = verifier(&all, 0);
    let cached = verifier(&all, 10_000);
    let claims = claims();

    for (alg, key) in cases {
        let token = key.token_with(json!({ "alg": alg }), &claims);
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let raw_signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
        let parsed = parsed_key(key, alg);
        assert!(block_on(uncached.verify(&token)).is_ok(), "{alg} verifies");

        c.bench_function(&format!("raw/{alg}"), |b| {
            b.iter(|| parsed.verify_sig(signed.as_bytes(), &raw_signature).unwrap())
        });
        // jsonwebtoken has neither ES512 nor ES256K.
        if let Ok(jwt_alg) = alg.parse::<Algorithm>() {
            let decoding = decoding_key(key);
            c.bench_function(&format!("jsonwebtoken/{alg}"), |b| {
                b.iter(|| {
                    assert!(
                        jsonwebtoken::crypto::verify(
                            signature,
                            signed.as_bytes(),
                            &decoding,
                            jwt_alg
                        )
                        .unwrap()
                    )
                })
            });
        }
        c.bench_function(&format!("miss/{alg}"), |b| {
            b.iter(|| block_on(uncached.verify(&token)).unwrap())
        });
        c.bench_function(&format!("hit/{alg}"), |b| {
            b.iter(|| block_on(cached.verify(&token)).unwrap())
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
