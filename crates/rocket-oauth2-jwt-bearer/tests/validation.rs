//! Token validation end to end (RFC 7515, RFC 7519, RFC 8725): every
//! algorithm family, forged headers, and each claim rule at its boundary.

mod common;

use common::*;
use rocket::http::Status;
use serde_json::json;

#[rocket::async_test]
async fn every_asymmetric_family_verifies() {
    let rsa = TestKey::rsa("rsa");
    let es256 = TestKey::es256("es256");
    let es384 = TestKey::es384("es384");
    let ed = TestKey::ed25519("ed");
    let idp = Idp::start(&[&rsa, &es256, &es384, &ed]).await;
    let client = client(&idp).await;
    let claims = good_claims(&idp);

    for alg in ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"] {
        let token = rsa.token_with(json!({ "alg": alg }), &claims);
        assert_accepted(&client, &token).await;
    }
    for key in [&es256, &es384, &ed] {
        assert_accepted(&client, &key.token(&claims)).await;
    }

    // A signature from one key never verifies under another's kid.
    let swapped = es256.token_with(json!({"kid": "es384", "alg": "ES384"}), &claims);
    assert_invalid_token(&client, &swapped, "signature verification failed").await;
    let swapped = rsa.token_with(json!({"kid": "ed"}), &claims);
    assert_invalid_token(&client, &swapped, "no applicable key found in the JSON Web Key Set")
        .await;
}

#[rocket::async_test]
async fn algorithms_setting_limits_what_is_accepted() {
    let rsa = TestKey::rsa("rsa");
    let ed = TestKey::ed25519("ed");
    let idp = Idp::start(&[&rsa, &ed]).await;
    let client = client_for(figment(&idp, json!({"algorithms": ["RS256"]}))).await;
    let claims = good_claims(&idp);

    assert_accepted(&client, &rsa.token(&claims)).await;
    let ps = rsa.token_with(json!({"alg": "PS256"}), &claims);
    assert_invalid_token(&client, &ps, "'alg' header parameter value not allowed").await;
    assert_invalid_token(&client, &ed.token(&claims), "'alg' header parameter value not allowed")
        .await;
}

#[rocket::async_test]
async fn forged_headers_are_refused() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client = client(&idp).await;
    let claims = good_claims(&idp);
    let payload = claims.to_string();

    // alg "none" in any spelling, with or without a signature.
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = json!({"alg": alg, "kid": "k1"}).to_string();
        let unsigned = format!("{}.{}.", b64(&header), b64(&payload));
        assert_invalid_token(&client, &unsigned, "Invalid Compact JWS").await;
        let signed = rsa.sign_raw("RS256", &header, &payload);
        assert_invalid_token(&client, &signed, "'alg' header parameter value not allowed").await;
    }

    // HS256 signed with the RSA public key (the classic key-confusion attack).
    let public_jwk = rsa.jwk().to_string();
    let public_n = rsa.jwk()["n"].as_str().unwrap().to_owned();
    for secret in [public_jwk.as_bytes(), public_n.as_bytes()] {
        let forged = TestKey::hmac("k1", secret).token_with(json!({"alg": "HS256"}), &claims);
        assert_invalid_token(&client, &forged, "'alg' header parameter value not allowed").await;
    }

    // Keys named by the token itself are never fetched or used.
    let attacker = TestKey::rsa("k1");
    let attacker_idp = Idp::start(&[&attacker]).await;
    for header in [
        json!({"jku": attacker_idp.jwks_url()}),
        json!({"x5u": attacker_idp.jwks_url()}),
        json!({"jwk": attacker.jwk()}),
        json!({"jwk": attacker.jwk(), "kid": null}),
    ] {
        let forged = attacker.token_with(header.clone(), &claims);
        let (status, _, message) =
            outcome(get_with_token(&client, "/api/private", &forged).await).await;
        assert_eq!((status, message.as_str()), (401, "signature verification failed"), "{header}");
    }
    assert_eq!(attacker_idp.jwks_hits(), 0);

    // The same headers on a genuine token are merely ignored.
    assert_accepted(&client, &rsa.token_with(json!({"jku": attacker_idp.jwks_url()}), &claims))
        .await;

    // crit: this service understands no extension, so any crit is fatal.
    for crit in [json!(["exp"]), json!(["b64"]), json!([]), json!("x"), json!(null)] {
        let token = rsa.token_with(json!({"crit": crit.clone(), "b64": true}), &claims);
        if crit.is_null() {
            // `"crit": null` is still a crit member.
            let header = json!({"alg": "RS256", "kid": "k1", "crit": null}).to_string();
            let token = rsa.sign_raw("RS256", &header, &payload);
            assert_invalid_token(&client, &token, "Unsupported 'crit' header parameter").await;
            continue;
        }
        assert_invalid_token(&client, &token, "Unsupported 'crit' header parameter").await;
    }

    // Unknown kid (the set doesn't change, so a refetch doesn't help).
    let unknown = rsa.token_with(json!({"kid": "nope"}), &claims);
    assert_invalid_token(&client, &unknown, "no applicable key found in the JSON Web Key Set")
        .await;

    // A repeated header member is ambiguous: refused, not "last one wins".
    let header = r#"{"alg":"none","alg":"RS256","kid":"k1"}"#;
    let token = rsa.sign_raw("RS256", header, &payload);
    assert_invalid_token(&client, &token, "Invalid Compact JWS").await;

    // A non-string kid, a header that isn't an object.
    let token = rsa.sign_raw("RS256", r#"{"alg":"RS256","kid":1}"#, &payload);
    assert_invalid_token(&client, &token, "Invalid Compact JWS").await;
    let token = rsa.sign_raw("RS256", r#"["RS256"]"#, &payload);
    assert_invalid_token(&client, &token, "Invalid Compact JWS").await;
}

#[rocket::async_test]
async fn a_token_without_kid_needs_an_unambiguous_key() {
    let first = TestKey::rsa("a");
    let idp = Idp::start(&[&first]).await;
    let client = client(&idp).await;
    let claims = good_claims(&idp);

    let no_kid = first.token_with(json!({"kid": null}), &claims);
    assert_accepted(&client, &no_kid).await;

    let second = TestKey::rsa("b");
    let idp2 = Idp::start(&[&first, &second]).await;
    let client2 = common::client(&idp2).await;
    let no_kid = first.token_with(json!({"kid": null}), &good_claims(&idp2));
    assert_invalid_token(&client2, &no_kid, "no applicable key found in the JSON Web Key Set")
        .await;
}

#[rocket::async_test]
async fn malformed_tokens_are_invalid_not_errors() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client = client(&idp).await;
    let good = rsa.token(&good_claims(&idp));
    let (header, rest) = good.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();

    let malformed = [
        "a.b".to_owned(),
        "a.b.c.d".to_owned(),
        format!("{header}.{payload}"),
        format!("{header}..{signature}"),
        format!(".{payload}.{signature}"),
        format!("{header}.{payload}.{signature}.{signature}"),
        format!("{header}=.{payload}.{signature}"),
        format!("{header}.{payload}=.{signature}"),
        format!("{header}+.{payload}.{signature}"),
        b64("not json") + "." + payload + "." + signature,
        b64("{}") + "." + payload + "." + signature,
        b64(r#"{"alg":5}"#) + "." + payload + "." + signature,
    ];
    for token in &malformed {
        let (status, challenge, _) =
            outcome(get_with_token(&client, "/api/private", token).await).await;
        assert_eq!(status, 401, "{token}");
        assert!(challenge.unwrap().contains("error=\"invalid_token\""), "{token}");
    }

    // Non-canonical base64url: the last character carries non-zero unused
    // bits. It decodes to the same bytes, but only one spelling is accepted.
    let mut sig = signature.to_owned();
    let last = sig.pop().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = alphabet.find(last).unwrap();
    // 256-byte signature: 342 chars, the last holds 2 bits and 4 unused ones.
    let tweaked = alphabet.as_bytes()[index | 1] as char;
    assert_ne!(tweaked, last, "test needs a spare bit");
    let non_canonical = format!("{header}.{payload}.{sig}{tweaked}");
    assert_invalid_token(&client, &non_canonical, "signature verification failed").await;

    // A payload that verifies but isn't a JSON object.
    for payload in ["[1,2]", "\"text\"", "not json", "{\"exp\": }"] {
        let token = rsa.sign_raw("RS256", r#"{"alg":"RS256","kid":"k1"}"#, payload);
        assert_invalid_token(&client, &token, "JWT Claims Set must be a top-level JSON object")
            .await;
    }
}

#[rocket::async_test]
async fn oversized_tokens_are_refused_before_decoding() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client = client_for(figment(&idp, json!({"max_token_size": 2048}))).await;

    let padding = "x".repeat(2000);
    let big = rsa.token(&claims_with(&idp, json!({ "padding": padding })));
    assert!(big.len() > 2048);
    assert_invalid_token(&client, &big, "Token is too large").await;
    assert_accepted(&client, &rsa.token(&good_claims(&idp))).await;

    // Far over any limit: still a clean 401, never a panic or 5xx.
    let huge = "a".repeat(200_000);
    assert_invalid_token(&client, &huge, "Token is too large").await;
}

#[rocket::async_test]
async fn claims_are_checked_at_their_boundaries() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client = client_for(figment(&idp, json!({"clock_tolerance": 5}))).await;
    let now = now();

    let accepted = [
        json!({"exp": now + 2}),
        json!({"exp": now - 3}),
        json!({"nbf": now + 3}),
        json!({"nbf": now}),
        json!({"exp": (now + 60) as f64 + 0.5}),
        json!({"aud": AUDIENCE}),
        json!({"aud": ["x", AUDIENCE]}),
        json!({"iat": now + 86400}),
        json!({"sub": null, "scope": null, "iat": null}),
    ];
    for changes in accepted {
        assert_accepted(&client, &rsa.token(&claims_with(&idp, changes.clone()))).await;
    }

    let rejected = [
        (json!({"exp": now - 6}), "'exp' claim timestamp check failed"),
        (json!({"exp": now - 3600}), "'exp' claim timestamp check failed"),
        (json!({"exp": null}), "Missing 'exp' claim"),
        (json!({"exp": (now + 60).to_string()}), "Invalid 'exp' claim type"),
        (json!({"exp": [now + 60]}), "Invalid 'exp' claim type"),
        (json!({"nbf": now + 10}), "'nbf' claim timestamp check failed"),
        (json!({"nbf": now.to_string()}), "Invalid 'nbf' claim type"),
        (json!({"iat": "yesterday"}), "Invalid 'iat' claim type"),
        (json!({"iss": "https://someone-else.example/"}), "Unexpected 'iss' value"),
        (json!({"iss": idp.base_url().trim_end_matches('/')}), "Unexpected 'iss' value"),
        (json!({"iss": [idp.base_url()]}), "Invalid 'iss' claim type"),
        (json!({"iss": null}), "Missing 'iss' claim"),
        (json!({"aud": "https://other.example.test"}), "Unexpected 'aud' value"),
        (json!({"aud": []}), "Unexpected 'aud' value"),
        (json!({"aud": null}), "Missing 'aud' claim"),
        (json!({"aud": 42}), "Invalid 'aud' claim type"),
        (json!({"sub": 42}), "Invalid 'sub' claim type"),
        (json!({"client_id": ["c"]}), "Invalid 'client_id' claim type"),
        (json!({"jti": 1}), "Invalid 'jti' claim type"),
        (json!({"scope": {"read": true}}), "Invalid 'scope' claim type"),
        (
            json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}}),
            "Sender-constrained token used as a bearer token",
        ),
    ];
    for (changes, description) in rejected {
        let token = rsa.token(&claims_with(&idp, changes.clone()));
        assert_invalid_token(&client, &token, description).await;
    }
}

#[rocket::async_test]
async fn audience_may_be_a_list() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client =
        client_for(figment(&idp, json!({"audience": ["https://a.test", "https://b.test"]}))).await;

    assert_accepted(&client, &rsa.token(&claims_with(&idp, json!({"aud": "https://b.test"}))))
        .await;
    let token = rsa.token(&claims_with(&idp, json!({"aud": AUDIENCE})));
    assert_invalid_token(&client, &token, "Unexpected 'aud' value").await;
}

#[rocket::async_test]
async fn an_explicit_issuer_overrides_the_discovered_one() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client =
        client_for(figment(&idp, json!({"issuer": "https://custom-domain.example.test/"}))).await;

    let token =
        rsa.token(&claims_with(&idp, json!({"iss": "https://custom-domain.example.test/"})));
    assert_accepted(&client, &token).await;
    assert_invalid_token(&client, &rsa.token(&good_claims(&idp)), "Unexpected 'iss' value").await;
}

#[rocket::async_test]
async fn scopes_may_be_an_array() {
    let rsa = TestKey::rsa("k1");
    let idp = Idp::start(&[&rsa]).await;
    let client = client(&idp).await;

    let token = rsa.token(&claims_with(&idp, json!({"scope": ["openid", "read:messages"]})));
    assert_eq!(get_with_token(&client, "/api/private-scoped", &token).await.status(), Status::Ok);
    let token = rsa.token(&claims_with(&idp, json!({"scope": "read:messagesX read"})));
    assert_eq!(
        get_with_token(&client, "/api/private-scoped", &token).await.status(),
        Status::Forbidden
    );
    let token = rsa.token(&claims_with(&idp, json!({"scope": ""})));
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/private-scoped", &token).await).await;
    assert_eq!((status, message.as_str()), (403, "Insufficient Scope"));
}

#[rocket::async_test]
async fn a_claims_set_the_handler_could_not_see_in_full_is_refused() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let header = json!({"alg": "RS256", "kid": "k1"}).to_string();
    let good = good_claims(&idp).to_string();
    let body = good.trim_end_matches('}');
    let nested = format!("{}0{}", "[".repeat(129), "]".repeat(129));
    for extra in [
        r#""groups":"\udc00""#.to_owned(),
        format!(r#""deep":{nested}"#),
        r#""org":"a","org":"b""#.to_owned(),
    ] {
        let token = key.sign_raw("RS256", &header, &format!("{body},{extra}}}"));
        assert_invalid_token(&client, &token, "JWT Claims Set must be a top-level JSON object")
            .await;
    }
}
