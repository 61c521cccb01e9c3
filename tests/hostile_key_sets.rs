//! Key sets an attacker (or a broken identity provider) serves: degenerate
//! Ed25519 and RSA keys are skipped at load with their reason, a set of
//! nothing but such keys is an error, and interoperable oddities (leading
//! zero octets) are accepted.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use rocket::http::Status;
use serde_json::{Value, json};

/// A JWK for the Ed25519 "public key" `x` (any 32 bytes).
fn ed25519_jwk(kid: &str, x: [u8; 32]) -> Value {
    json!({"kty": "OKP", "crv": "Ed25519", "kid": kid, "use": "sig", "x": b64(x)})
}

/// The signature that verifies for every message under the identity point
/// (and, one time in eight, under another small-order point): R = identity,
/// S = 0.
fn identity_forgery(kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": kid});
    let mut signature = [0u8; 64];
    signature[0] = 1;
    format!("{}.{}.{}", b64(header.to_string()), b64(claims.to_string()), b64(signature))
}

/// Every encoding that is not a usable Ed25519 key: the eight small-order
/// points, the identity with the sign bit set, y = p and y = p + 1 (not
/// canonical), a mixed-order point, and a y that is not on the curve.
fn degenerate_ed25519_points() -> Vec<(String, [u8; 32])> {
    let mut points: Vec<(String, [u8; 32])> = EIGHT_TORSION
        .iter()
        .enumerate()
        .map(|(i, point)| (format!("torsion-{i}"), point.compress().to_bytes()))
        .collect();
    let mut negative_identity = [0u8; 32];
    negative_identity[0] = 1;
    negative_identity[31] = 0x80;
    points.push(("negative-identity".into(), negative_identity));
    let mut p = [0xffu8; 32];
    p[0] = 0xed;
    p[31] = 0x7f;
    points.push(("y-equals-p".into(), p));
    let mut p_plus_one = p;
    p_plus_one[0] = 0xee;
    points.push(("y-equals-p-plus-one".into(), p_plus_one));
    let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1]).compress().to_bytes();
    points.push(("mixed-order".into(), mixed));
    let mut off_curve = [0u8; 32];
    off_curve[0] = 2;
    points.push(("off-curve".into(), off_curve));
    points
}

/// RSA JWKs that parse but can't (or mustn't) verify, each with the reason
/// it must be skipped for.
fn degenerate_rsa_keys(real: &Value) -> Vec<(Value, &'static str)> {
    let n = URL_SAFE_NO_PAD.decode(real["n"].as_str().unwrap()).unwrap();
    let with = |kid: &str, n: &[u8], e: &[u8]| json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(n), "e": b64(e)});
    let mut even_n = n.clone();
    *even_n.last_mut().unwrap() &= 0xfe;
    let mut huge_n = vec![0xffu8; 1025];
    huge_n[1024] = 0xfb;
    vec![
        (with("e-one", &n, &[1]), "exponent is 0 or 1"),
        (with("e-zero", &n, &[0]), "exponent is 0 or 1"),
        (with("e-even", &n, &[1, 0, 0]), "exponent is even"),
        (with("e-huge", &n, &[1, 0, 0, 0, 0, 1]), "exponent of 41 bits"),
        (with("n-even", &even_n, &[1, 0, 1]), "modulus is even"),
        (with("n-huge", &huge_n, &[1, 0, 1]), "over 8192"),
        (with("n-small", &n[..128], &[1, 0, 1]), "under 2048"),
    ]
}

#[rocket::async_test]
async fn small_order_ed25519_keys_are_skipped_and_their_forgeries_refused() {
    let good = TestKey::rsa("good");
    let idp = Idp::start(&[&good]).await;
    let mut keys = vec![good.jwk()];
    keys.extend(degenerate_ed25519_points().into_iter().map(|(kid, x)| ed25519_jwk(&kid, x)));
    idp.set_jwks(json!({ "keys": keys }));

    let client = client(&idp).await;
    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    assert_eq!(ready["keys"], 1, "only the RSA key is usable");

    let claims = claims_with(&idp, json!({"scope": "read:messages admin"}));
    for (kid, _) in degenerate_ed25519_points() {
        let forged = identity_forgery(&kid, &claims);
        let response = get_with_token(&client, "/api/private-scoped", &forged).await;
        assert_eq!(response.status(), Status::Unauthorized, "{kid}");
    }
    assert_accepted(&client, &good.token(&good_claims(&idp))).await;
}

#[rocket::async_test]
async fn a_real_ed25519_key_still_verifies() {
    let key = TestKey::ed25519("ed");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    assert_accepted(&client, &key.token(&good_claims(&idp))).await;
}

#[rocket::async_test]
async fn degenerate_rsa_keys_are_skipped_beside_a_good_one() {
    let good = TestKey::rsa("good");
    let idp = Idp::start(&[&good]).await;
    let mut keys = vec![good.jwk()];
    keys.extend(degenerate_rsa_keys(&good.jwk()).into_iter().map(|(jwk, _)| jwk));
    idp.set_jwks(json!({ "keys": keys }));

    let client = client(&idp).await;
    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    assert_eq!(ready["keys"], 1);
    assert_accepted(&client, &good.token(&good_claims(&idp))).await;
}

#[rocket::async_test]
async fn a_set_of_only_unusable_keys_aborts_launch_naming_every_reason() {
    let real = TestKey::rsa("real");
    let idp = Idp::start(&[]).await;
    let rsa = degenerate_rsa_keys(&real.jwk());
    let mut keys: Vec<Value> = rsa.iter().map(|(jwk, _)| jwk.clone()).collect();
    keys.push(ed25519_jwk("identity", EIGHT_TORSION[0].compress().to_bytes()));
    idp.set_jwks(json!({ "keys": keys }));

    let reason = connect_error(figment(&idp, json!({}))).await;
    assert!(reason.contains("no usable key in the set"), "{reason}");
    // Every reason, counted; the first few keys by `kid`, then how many more.
    for (jwk, why) in &rsa {
        assert!(reason.contains(why), "{why}: {reason}");
        let kid = jwk["kid"].as_str().unwrap();
        let named = reason.contains(&format!("kid {kid:?}"));
        assert_eq!(named, rsa[..3].iter().any(|(first, _)| first == jwk), "{kid}: {reason}");
    }
    let more = format!("and {} more", rsa.len() + 1 - 3);
    assert!(reason.contains(&format!("{} keys skipped", rsa.len() + 1)), "{reason}");
    assert!(reason.contains(&more), "{reason}");
    assert!(reason.contains("small-order point"), "{reason}");
    assert!(!reason.contains('\n'), "one line: {reason}");
    assert!(launch_error(figment(&idp, json!({}))).await.contains("fairing"));
}

#[rocket::async_test]
async fn a_refresh_to_unusable_keys_keeps_the_last_good_ones() {
    let good = TestKey::rsa("good");
    let idp = Idp::start(&[&good]).await;
    let client = client_for(figment(&idp, json!({"jwks_cooldown": 0}))).await;
    let token = good.token(&good_claims(&idp));
    assert_accepted(&client, &token).await;

    let rsa = degenerate_rsa_keys(&good.jwk());
    idp.set_jwks(json!({ "keys": rsa.iter().map(|(jwk, _)| jwk.clone()).collect::<Vec<_>>() }));
    // An unknown kid forces a refetch, which finds nothing usable.
    let unknown = TestKey::rsa("unknown").token(&good_claims(&idp));
    let before = idp.jwks_hits();
    let response = get_with_token(&client, "/api/private", &unknown).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(idp.jwks_hits(), before + 1);

    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    assert_eq!((ready["status"].as_str(), ready["keys"].as_u64()), (Some("ready"), Some(1)));
    assert!(ready["last_error"].as_str().unwrap().contains("exponent is 0 or 1"), "{ready}");
    assert_accepted(&client, &token).await;
}

#[rocket::async_test]
async fn rsa_integers_with_leading_zero_octets_are_accepted() {
    let key = TestKey::rsa("padded");
    let idp = Idp::start(&[]).await;
    let mut jwk = key.jwk();
    for member in ["n", "e"] {
        let bytes = URL_SAFE_NO_PAD.decode(jwk[member].as_str().unwrap()).unwrap();
        jwk[member] = json!(b64([&[0u8][..], &bytes].concat()));
    }
    idp.set_jwks(json!({ "keys": [jwk] }));

    let client = client(&idp).await;
    assert_accepted(&client, &key.token(&good_claims(&idp))).await;
}

#[rocket::async_test]
async fn a_static_ed25519_public_key_gets_the_same_checks() {
    let idp = Idp::start(&[]).await;
    let identity = ed25519_jwk("identity", EIGHT_TORSION[0].compress().to_bytes());
    let settings = json!({"issuer_base_url": null, "issuer": idp.base_url(),
                          "public_key": identity.to_string()});
    let reason = connect_error(figment(&idp, settings)).await;
    assert!(reason.contains("auth.public_key") && reason.contains("small-order"), "{reason}");

    // The same point as a PEM SubjectPublicKeyInfo (RFC 8410).
    let mut der = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    der.extend_from_slice(&EIGHT_TORSION[0].compress().to_bytes());
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(&der)
    );
    let settings = json!({"issuer_base_url": null, "issuer": idp.base_url(),
                          "public_key": pem, "token_signing_alg": "EdDSA"});
    let reason = connect_error(figment(&idp, settings)).await;
    assert!(reason.contains("small-order"), "{reason}");

    let real = TestKey::ed25519("real");
    let settings = json!({"issuer_base_url": null, "issuer": idp.base_url(),
                          "public_key": real.spki_pem(), "token_signing_alg": "EdDSA"});
    let client = client_for(figment(&idp, settings)).await;
    assert_accepted(&client, &real.token(&good_claims(&idp))).await;
}
