//! DPoP through the public API, as a Rocket app using this crate sees it:
//! `binding()`, the `DpopBound` guard, and the crate's own answer to a
//! malformed `Host` (apps without a Host check of their own rely on it).
//! Proofs are signed by jsonwebtoken, keys made by aws-lc-rs at test time.

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use figment::providers::Serialized;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use rocket::http::Header;
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{BearerToken, DpopBound, JwtAuth, Settings};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.example.test";

#[get("/whoami")]
fn whoami(token: BearerToken) -> String {
    match token.binding().jkt() {
        Some(jkt) => format!("dpop {jkt}"),
        None => "bearer".into(),
    }
}

#[get("/transfer")]
fn transfer(token: DpopBound) -> String {
    format!("transfer by {}", token.claims().subject.as_deref().unwrap_or("?"))
}

async fn client(settings: Settings) -> Client {
    let figment = rocket::Config::figment().merge(Serialized::default("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(JwtAuth::with_settings(settings))
        .mount("/", routes![whoami, transfer])
        .register("/", rocket_oauth2_jwt_bearer::catchers());
    Client::tracked(rocket).await.expect("launches")
}

struct ClientKey {
    encoding: EncodingKey,
    jwk: Value,
}

impl ClientKey {
    fn generate() -> Self {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let point = pair.public_key().as_ref();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
        ClientKey { encoding: EncodingKey::from_ec_der(pkcs8.as_ref()), jwk }
    }

    fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    fn proof(&self, htu: &str, token: &str) -> String {
        let header = json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk});
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
        let claims = json!({
            "jti": format!("{}", now.as_nanos()),
            "htm": "GET",
            "htu": htu,
            "iat": now.as_secs(),
            "ath": URL_SAFE_NO_PAD.encode(digest(&SHA256, token.as_bytes())),
        });
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signature =
            jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, Algorithm::ES256).unwrap();
        format!("{input}.{signature}")
    }
}

async fn dpop_get<'c>(
    client: &'c Client,
    path: &str,
    host: &str,
    token: &str,
    proof: &str,
) -> LocalResponse<'c> {
    client
        .get(path.to_owned())
        .header(Header::new("Host", host.to_owned()))
        .header(Header::new("Authorization", format!("DPoP {token}")))
        .header(Header::new("DPoP", proof.to_owned()))
        .dispatch()
        .await
}

#[rocket::async_test]
async fn guards_report_the_binding_and_dpop_bound_demands_one() {
    let issuer = TestIssuer::start().await;
    let client = client(Settings::from_config(&issuer.config(AUDIENCE)).unwrap()).await;
    let key = ClientKey::generate();
    let mut claims = issuer.claims(AUDIENCE);
    claims["cnf"] = json!({"jkt": key.jkt()});
    let bound = issuer.token(&claims);
    let bearer = issuer.token(&issuer.claims(AUDIENCE));

    let htu = "http://api.example.test/whoami";
    let proof = key.proof(htu, &bound);
    let response = dpop_get(&client, "/whoami", "api.example.test", &bound, &proof).await;
    assert_eq!(response.into_string().await.unwrap(), format!("dpop {}", key.jkt()));
    let response = client
        .get("/whoami")
        .header(Header::new("Authorization", format!("Bearer {bearer}")))
        .dispatch()
        .await;
    assert_eq!(response.into_string().await.unwrap(), "bearer");

    let htu = "http://api.example.test/transfer";
    let response =
        dpop_get(&client, "/transfer", "api.example.test", &bound, &key.proof(htu, &bound)).await;
    assert_eq!(response.into_string().await.unwrap(), "transfer by test|user");
    for authorization in [None, Some(format!("Bearer {bearer}"))] {
        let mut request = client.get("/transfer");
        if let Some(value) = &authorization {
            request = request.header(Header::new("Authorization", value.clone()));
        }
        let response = request.dispatch().await;
        assert_eq!(response.status().code, 401);
        let challenges: Vec<&str> = response.headers().get("WWW-Authenticate").collect();
        assert_eq!(challenges.len(), 1, "{challenges:?}");
        assert!(challenges[0].starts_with("DPoP algs=\""), "{challenges:?}");
    }
}

#[rocket::async_test]
async fn a_malformed_host_is_refused_by_the_crate_itself() {
    let issuer = TestIssuer::start().await;
    let client = client(Settings::from_config(&issuer.config(AUDIENCE)).unwrap()).await;
    let key = ClientKey::generate();
    let mut claims = issuer.claims(AUDIENCE);
    claims["cnf"] = json!({"jkt": key.jkt()});
    let token = issuer.token(&claims);

    for host in ["user@api.example.test", "api example.test", "[::1", "api.example.test:99999"] {
        let proof = key.proof("http://api.example.test/whoami", &token);
        let response = dpop_get(&client, "/whoami", host, &token, &proof).await;
        assert_eq!(response.status().code, 400, "{host}");
        let challenge = response.headers().get_one("WWW-Authenticate").unwrap().to_owned();
        assert!(challenge.starts_with("DPoP error=\"invalid_request\", error_description=\"Missing or malformed Host header\""), "{challenge}");
    }
}
