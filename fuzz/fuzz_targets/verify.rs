//! Arbitrary bytes through the whole verification path: the Authorization
//! parser, the token pre-checks, header parsing, key selection, signature
//! check, and — through a token signed with a known HS256 secret, so the
//! fuzzer gets past the signature — claims and scope parsing.

#![no_main]

use std::sync::{Arc, OnceLock};

use rocket_oauth2_jwt_bearer::__private::AlgSet;
use rocket_oauth2_jwt_bearer::__private::ScopeClaims;
use rocket_oauth2_jwt_bearer::__private::parse_authorization;
use rocket_oauth2_jwt_bearer::__private::{PublicKey, VerifyingKey};
use rocket_oauth2_jwt_bearer::__private::{KeySet, KeyStore};
use rocket_oauth2_jwt_bearer::__private::{Policy, Verifier};
use aws_lc_rs::hmac;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::executor::block_on;
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzzing-only-secret-0123456789abcdef";

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let alg = rocket_oauth2_jwt_bearer::__private::parse_algorithm("HS256").unwrap();
        let key = VerifyingKey::new(None, PublicKey::Secret { secret: SECRET }, AlgSet::of(&[alg])).unwrap();
        let policy = Policy {
            token_cache_capacity: 64,
            max_token_age: Some(3600.0),
            strict: true,
            scope_claims: ScopeClaims { scope: true, scp: true, permissions: true },
            ..Policy::default()
        };
        let keys = KeyStore::fixed(KeySet::ignoring_kid(vec![key]));
        Verifier::single(policy, "https://issuer.fuzz/", vec!["https://api.fuzz".into()], AlgSet::of(&[alg]), keys)
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let verifier = verifier();

    if let Ok(Some(token)) = parse_authorization(&text) {
        let _ = block_on(verifier.verify(token));
    }
    let _ = block_on(verifier.verify(&text));

    // Header and payload from the input, correctly signed.
    let (header, payload) = text.split_once('\n').unwrap_or((&text, "{}"));
    let signed = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let tag = hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, SECRET), signed.as_bytes());
    let token = format!("{signed}.{}", URL_SAFE_NO_PAD.encode(tag));
    let _ = block_on(verifier.verify(&token));
});
