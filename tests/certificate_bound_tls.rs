//! Certificate-bound access tokens (RFC 8705) over Rocket's own TLS
//! listener with optional client certificates (`[tls.mutual]`, `mandatory
//! = false`): a test CA, server and client certificates made at test time
//! (rcgen), and a real HTTPS client (reqwest on rustls) with and without a
//! client identity.

mod common;

use std::path::Path;

use aws_lc_rs::digest::{SHA256, digest};
use common::process::free_port;
use common::*;
use figment::providers::Serialized;
use rcgen::{BasicConstraints, CertificateParams, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair};
use serde_json::{Value, json};

struct Pki {
    ca_pem: String,
    /// (certificate PEM, key PEM, x5t#S256) of two client certificates.
    clients: [(String, String, String); 2],
}

/// Writes the server's certificate and key and the CA into `dir`.
fn make_pki(dir: &Path) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    let server = server.signed_by(&server_key, &issuer).unwrap();
    std::fs::write(dir.join("server.pem"), server.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();

    let clients = ["client-a", "client-b"].map(|name| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.pem(), key.serialize_pem(), b64(digest(&SHA256, cert.der())))
    });
    Pki { ca_pem: ca_cert.pem(), clients }
}

fn https_client(pki: &Pki, identity: Option<usize>) -> reqwest::Client {
    let mut builder = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .no_proxy();
    if let Some(i) = identity {
        let (cert, key, _) = &pki.clients[i];
        let pem = format!("{cert}\n{key}");
        builder = builder.identity(reqwest::Identity::from_pem(pem.as_bytes()).unwrap());
    }
    builder.build().unwrap()
}

async fn status(client: &reqwest::Client, url: &str, token: &str) -> (u16, String) {
    let response = client.get(url).bearer_auth(token).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or_default();
    (status, body["message"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn rockets_tls_listener_supplies_the_client_certificate() {
    let dir = std::env::temp_dir().join(format!("mtls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pki = make_pki(&dir);
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let port = free_port();
    let figment = figment(&idp, json!({}))
        .merge(Serialized::default("address", "127.0.0.1"))
        .merge(Serialized::default("port", port))
        .merge(Serialized::default("tls.certs", dir.join("server.pem")))
        .merge(Serialized::default("tls.key", dir.join("server.key")))
        .merge(Serialized::default("tls.mutual.ca_certs", dir.join("ca.pem")))
        .merge(Serialized::default("tls.mutual.mandatory", false));
    let rocket = auth0_rocket_api::rocket_from(figment).ignite().await.expect("ignites");
    let shutdown = rocket.shutdown();
    let server = tokio::spawn(rocket.launch());
    let url = format!("https://localhost:{port}/api/private");
    let anonymous = https_client(&pki, None);
    for _ in 0..100 {
        if anonymous.get(format!("https://localhost:{port}/health")).send().await.is_ok() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let x5t_a = pki.clients[0].2.clone();
    let bound = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let plain = signer.token(&good_claims(&idp));
    let (with_a, with_b) = (https_client(&pki, Some(0)), https_client(&pki, Some(1)));

    assert_eq!(status(&with_a, &url, &bound).await.0, 200);
    let mismatch = "Client certificate does not match the token's binding";
    assert_eq!(status(&with_b, &url, &bound).await, (401, mismatch.to_owned()));
    let missing = "Certificate-bound token presented without a client certificate";
    assert_eq!(status(&anonymous, &url, &bound).await, (401, missing.to_owned()));
    // Bearer-only clients still connect (mandatory = false), with or without a certificate.
    assert_eq!(status(&anonymous, &url, &plain).await.0, 200);
    assert_eq!(status(&with_b, &url, &plain).await.0, 200);
    // The metadata isn't on here (no `resource`), but the binding is: a
    // forged header changes nothing, since no proxy is trusted.
    let forged = anonymous
        .get(&url)
        .bearer_auth(&bound)
        .header(
            "X-Forwarded-Client-Cert",
            format!("Cert=\"{}\"", pki.clients[0].0.replace('\n', "%0A")),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status().as_u16(), 401);

    shutdown.notify();
    let _ = server.await;
    std::fs::remove_dir_all(&dir).ok();
}
