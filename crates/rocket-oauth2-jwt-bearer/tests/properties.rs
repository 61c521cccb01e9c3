//! No input panics: property tests over the Authorization parser, the token
//! pre-checks and header parsing, and the claims/scope parser.

#[path = "common/keys.rs"]
mod keys;

use std::sync::OnceLock;

use futures::executor::block_on;
use keys::*;
use proptest::prelude::*;
use rocket_oauth2_jwt_bearer::__private::AlgSet;
use rocket_oauth2_jwt_bearer::__private::default_algorithms;
use rocket_oauth2_jwt_bearer::__private::parse_authorization;
use rocket_oauth2_jwt_bearer::__private::{ClaimRules, ScopeClaims};
use rocket_oauth2_jwt_bearer::__private::{KeySet, KeyStore};
use rocket_oauth2_jwt_bearer::__private::{Policy, Verifier};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.test/";

struct Fixture {
    key: TestKey,
    verifier: Verifier,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = TestKey::rsa("k1");
        let allowed = AlgSet::of(&default_algorithms());
        let (set, _) =
            KeySet::from_jwks(json!({"keys": [key.jwk()]}).to_string().as_bytes(), allowed)
                .unwrap();
        let policy = Policy {
            token_cache_capacity: 100,
            max_token_age: Some(3600.0),
            scope_claims: ScopeClaims { scope: true, scp: true, permissions: true },
            ..Policy::default()
        };
        Fixture {
            key,
            verifier: Verifier::single(
                policy,
                ISSUER,
                vec![AUDIENCE.into()],
                allowed,
                KeyStore::fixed(set),
            ),
        }
    })
}

fn valid_claims() -> Value {
    json!({"iss": ISSUER, "aud": AUDIENCE, "exp": now() + 600, "iat": now(), "scope": "a b"})
}

/// Arbitrary JSON values, nested a few levels.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| json!(f)),
        ".{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

const REGISTERED: [&str; 13] = [
    "iss",
    "aud",
    "exp",
    "nbf",
    "iat",
    "sub",
    "jti",
    "client_id",
    "scope",
    "scp",
    "permissions",
    "cnf",
    "typ",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn authorization_parsing_never_panics(value in "\\PC{0,300}") {
        if let Ok(Some(token)) = parse_authorization(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(value.to_ascii_lowercase().trim_start().starts_with("bearer"));
        }
    }

    #[test]
    fn bearer_prefixes_of_arbitrary_bytes_never_panic(scheme in "(?i)bearer", spaces in " {0,4}", rest in ".{0,200}") {
        let _ = parse_authorization(&format!("{scheme}{spaces}{rest}"));
    }

    #[test]
    fn arbitrary_tokens_are_refused_without_panicking(token in "[A-Za-z0-9_.~+/=-]{0,400}") {
        prop_assert!(block_on(fixture().verifier.verify(&token)).is_err());
    }

    #[test]
    fn arbitrary_headers_never_panic(header in json_value(), alg in prop::sample::select(vec!["RS256", "none", "HS256", "PS512", ""])) {
        let fixture = fixture();
        let mut header = header;
        if let Value::Object(map) = &mut header {
            map.insert("alg".into(), json!(alg));
        }
        let token = fixture.key.sign_raw("RS256", &header.to_string(), &valid_claims().to_string());
        let _ = block_on(fixture.verifier.verify(&token));
    }

    #[test]
    fn a_changed_byte_is_never_accepted(index in 0usize..10_000, replacement in "[A-Za-z0-9_-]") {
        let fixture = fixture();
        let token = fixture.key.token(&valid_claims());
        let index = index % token.len();
        let mut bytes = token.clone().into_bytes();
        if bytes[index] == b'.' || bytes[index] == replacement.as_bytes()[0] {
            return Ok(());
        }
        bytes[index] = replacement.as_bytes()[0];
        let tampered = String::from_utf8(bytes).unwrap();
        // Another spelling of the same bytes would be the same token; strict
        // base64url allows none, so any change is refused.
        prop_assert!(block_on(fixture.verifier.verify(&tampered)).is_err(), "accepted {tampered}");
    }

    #[test]
    fn arbitrary_claims_sets_never_panic(
        values in prop::collection::vec(json_value(), REGISTERED.len()),
        present in prop::collection::vec(any::<bool>(), REGISTERED.len()),
    ) {
        let mut claims = serde_json::Map::new();
        for ((name, value), keep) in REGISTERED.iter().zip(values).zip(present) {
            if keep {
                claims.insert((*name).into(), value);
            }
        }
        let audiences = vec![AUDIENCE.to_owned()];
        let rules = ClaimRules {
            issuer: ISSUER,
            audiences: &audiences,
            clock_tolerance: 5.0,
            now: now() as f64,
            max_token_age: Some(60.0),
            strict: true,
            scope_claims: ScopeClaims { scope: true, scp: true, permissions: true },
        };
        let _ = rules.check(Value::Object(claims).to_string());
    }

    #[test]
    fn scope_values_parse_into_their_words(words in prop::collection::vec("[!#-\\[\\]-~]{1,12}", 0..8), spaces in " {1,3}") {
        let scope = words.join(&spaces);
        let mut claims = valid_claims();
        claims["scope"] = json!(scope);
        let audiences = vec![AUDIENCE.to_owned()];
        let rules = ClaimRules {
            issuer: ISSUER, audiences: &audiences, clock_tolerance: 5.0, now: now() as f64,
            max_token_age: None, strict: false, scope_claims: ScopeClaims::default(),
        };
        let parsed = rules.check(claims.to_string()).unwrap();
        prop_assert_eq!(parsed.scopes().unwrap(), words.as_slice());
    }
}
