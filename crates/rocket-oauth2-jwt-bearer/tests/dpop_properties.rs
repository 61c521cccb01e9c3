//! No proof panics, and no altered proof passes: property tests over the
//! DPoP proof check with arbitrary text, arbitrary signed JSON, and valid
//! proofs with one byte changed. Proofs are signed by jsonwebtoken.

#[path = "common/dpop.rs"]
mod dpop;
#[path = "common/keys.rs"]
mod keys;

use std::sync::OnceLock;

use dpop::DpopKey;
use keys::*;
use proptest::prelude::*;
use rocket_oauth2_jwt_bearer::__private::{AlgSet, default_algorithms, verify_dpop_proof};
use rocket_oauth2_jwt_bearer::__private::{ProofKeys, ProofRules};
use serde_json::{Value, json};

const TARGET: &str = "https://api.example.test/api/private";
const TOKEN: &str = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";

fn key() -> &'static DpopKey {
    static KEY: OnceLock<DpopKey> = OnceLock::new();
    KEY.get_or_init(DpopKey::es256)
}

fn check(proof: &str) -> Result<String, rocket_oauth2_jwt_bearer::ProofError> {
    static KEYS: OnceLock<ProofKeys> = OnceLock::new();
    let rules = ProofRules {
        algorithms: AlgSet::of(&default_algorithms()),
        method: "GET",
        target: TARGET,
        access_token: Some(TOKEN),
        now: now() as f64,
        iat_offset: 300.0,
        iat_leeway: 30.0,
        keys: KEYS.get_or_init(ProofKeys::default),
    };
    verify_dpop_proof(proof, &rules).map(|proof| proof.jkt)
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        "[ -~]{0,24}".prop_map(Value::String),
        prop_oneof![Just("dpop+jwt"), Just("ES256"), Just("GET"), Just(TARGET)]
            .prop_map(|s| json!(s)),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(
                "[a-z]{1,4}|typ|alg|jwk|jti|htm|htu|iat|ath|nonce|crit|d|kty|crv|x|y",
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_is_refused_without_a_panic(proof in "[ -~]{0,300}") {
        prop_assert!(check(&proof).is_err());
    }

    #[test]
    fn arbitrary_signed_json_never_panics(header in json_value(), claims in json_value()) {
        let proof = key().sign_raw(&header.to_string(), &claims.to_string());
        // Without the exact valid header and claims it can't pass.
        prop_assert!(check(&proof).is_err());
    }

    #[test]
    fn a_valid_proof_with_one_byte_changed_is_refused(position in any::<prop::sample::Index>(), byte in 0x21u8..0x7f) {
        let proof = key().proof("GET", TARGET, TOKEN);
        prop_assert_eq!(check(&proof), Ok(key().jkt()));
        let mut bytes = proof.into_bytes();
        let i = position.index(bytes.len());
        prop_assume!(bytes[i] != byte);
        bytes[i] = byte;
        let altered = String::from_utf8(bytes).unwrap();
        prop_assert!(check(&altered).is_err(), "{}", altered);
    }

    #[test]
    fn claims_merged_over_a_valid_proof_pass_only_when_still_valid(extra in json_value()) {
        let Value::Object(extra) = extra else { return Ok(()) };
        let mut claims = json!({"jti": dpop::unique_id(), "htm": "GET", "htu": TARGET, "iat": now(), "ath": dpop::ath(TOKEN)});
        let changed = extra.keys().any(|k| ["jti", "htm", "htu", "iat", "ath", "nonce"].contains(&k.as_str()));
        for (name, value) in extra {
            claims[name] = value;
        }
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": key().jwk()});
        let proof = key().sign_raw(&header.to_string(), &claims.to_string());
        let result = check(&proof);
        if !changed {
            prop_assert_eq!(result, Ok(key().jkt()));
        }
    }
}
