//! ES512 (P-521) and ES256K (secp256k1, RFC 8812), which jsonwebtoken
//! lacks and aws-lc-rs verifies: access tokens and DPoP proofs signed at
//! test time by another implementation (RustCrypto's `p521` and `k256`),
//! so a shared bug in signing and verifying can't hide; keys whose point
//! is off the curve are skipped at load.

mod common;

use common::dpop::DpopKey;
use common::*;
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

/// The issuer's JWK for `key`, with a `kid`.
fn published(key: &DpopKey, kid: &str) -> Value {
    let mut jwk = key.jwk();
    merge(&mut jwk, json!({"kid": kid, "use": "sig"}));
    jwk
}

fn token(key: &DpopKey, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": key.alg_name(), "typ": "JWT", "kid": kid});
    key.sign_raw(&header.to_string(), &claims.to_string())
}

#[tokio::test]
async fn tokens_signed_by_another_library_are_accepted_and_tampered_ones_refused() {
    let idp = Idp::start(&[]).await;
    let (p521, k256) = (DpopKey::es512(), DpopKey::es256k());
    idp.set_jwks(json!({"keys": [published(&p521, "p521"), published(&k256, "k256")]}));
    let client = client(&idp).await;

    for (key, kid) in [(&p521, "p521"), (&k256, "k256")] {
        let token = token(key, kid, &good_claims(&idp));
        assert_accepted(&client, &token).await;
        let response = get_with_token(&client, "/api/private-scoped", &token).await;
        assert_eq!(response.status().code, 200, "{kid}");

        // Another payload under the same signature.
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let (header, _) = signed.split_once('.').unwrap();
        let forged_claims = claims_with(&idp, json!({"sub": "someone-else"}));
        let forged = format!("{header}.{}.{signature}", b64(forged_claims.to_string()));
        assert_invalid_token(&client, &forged, "signature verification failed").await;
        // The key's other algorithm is not its algorithm.
        let wrong_alg = json!({"alg": if kid == "p521" { "ES256" } else { "ES512" }, "kid": kid});
        let mislabeled = key.sign_raw(&wrong_alg.to_string(), &good_claims(&idp).to_string());
        assert_invalid_token(
            &client,
            &mislabeled,
            "no applicable key found in the JSON Web Key Set",
        )
        .await;
    }
    // aws-lc-rs's own keys sign the same way.
    let own = TestKey::es512("own");
    idp.set_keys(&[&own]);
    let client = client_for(figment(&idp, json!({}))).await;
    assert_accepted(&client, &own.token(&good_claims(&idp))).await;
}

#[tokio::test]
async fn p521_and_secp256k1_keys_off_their_curve_are_skipped() {
    let idp = Idp::start(&[]).await;
    let good = DpopKey::es512();
    let mut off = published(&DpopKey::es512(), "off");
    let y = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        off["y"].as_str().unwrap(),
    )
    .unwrap();
    let mut y = y;
    y[65] ^= 1;
    merge(&mut off, json!({"y": b64(&y)}));
    let mut off_k = published(&DpopKey::es256k(), "off-k");
    let mut yk = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        off_k["y"].as_str().unwrap(),
    )
    .unwrap();
    yk[31] ^= 1;
    merge(&mut off_k, json!({"y": b64(&yk)}));
    // Coordinates of the wrong length for the curve.
    let mut short = published(&DpopKey::es512(), "short");
    let x = short["x"].as_str().unwrap()[..43].to_owned();
    merge(&mut short, json!({"x": x}));
    idp.set_jwks(json!({"keys": [published(&good, "good"), off, off_k, short]}));
    let client = client(&idp).await;

    assert_accepted(&client, &token(&good, "good", &good_claims(&idp))).await;
    for kid in ["off", "off-k", "short"] {
        // Whatever signed it, no key by that kid was loaded.
        let forged = token(&good, kid, &good_claims(&idp));
        assert_invalid_token(&client, &forged, "no applicable key found in the JSON Web Key Set")
            .await;
    }
}

async fn dpop_call(client: &Client, idp: &Idp, signer: &TestKey, key: &DpopKey) -> u16 {
    let token = signer.token(&claims_with(idp, json!({"cnf": {"jkt": key.jkt()}})));
    let proof = key.proof("GET", "https://api.example.test/api/private", &token);
    let request = client
        .get("/api/private")
        .header(Header::new("Authorization", format!("DPoP {token}")))
        .header(Header::new("DPoP", proof));
    request.dispatch().await.status().code
}

#[tokio::test]
async fn dpop_proofs_with_es256k_by_default_and_es512_when_listed() {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let defaults =
        client_for(figment(&idp, json!({"dpop": {"public_url": "https://api.example.test"}})))
            .await;
    assert_eq!(dpop_call(&defaults, &idp, &signer, &DpopKey::es256k()).await, 200);
    assert_eq!(
        dpop_call(&defaults, &idp, &signer, &DpopKey::es512()).await,
        401,
        "ES512 proofs are opt-in"
    );

    let listed = json!({"dpop": {"public_url": "https://api.example.test", "algorithms": ["ES256", "ES512"]}});
    let client = client_for(figment(&idp, listed)).await;
    assert_eq!(dpop_call(&client, &idp, &signer, &DpopKey::es512()).await, 200);
    assert_eq!(dpop_call(&client, &idp, &signer, &DpopKey::es256k()).await, 401);
}
