//! Certificate-bound access tokens (RFC 8705 §3) through a TLS-terminating
//! proxy's header: a test CA and client certificates made at test time
//! (rcgen), the certificate forwarded as Envoy's `X-Forwarded-Client-Cert`
//! or nginx's URL-encoded PEM, from a trusted and an untrusted peer.

mod common;

use aws_lc_rs::digest::{SHA256, digest};
use common::dpop::DpopKey;
use common::*;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

const PROXY: &str = "10.0.0.7:40000";

/// A CA and two client certificates it signed: (PEM, x5t#S256) each.
fn certificates() -> [(String, String); 2] {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let issuer = Issuer::new(ca, ca_key);
    ["client-a", "client-b"].map(|name| {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![name.to_owned()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        (cert.pem(), b64(digest(&SHA256, cert.der())))
    })
}

fn escaped(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn setup(mtls: Value) -> (Idp, TestKey, Client) {
    let signer = TestKey::rsa("k1");
    let idp = Idp::start(&[&signer]).await;
    let settings = json!({"trusted_proxies": ["10.0.0.0/8"], "mtls": mtls});
    let client = client_for(figment(&idp, settings)).await;
    (idp, signer, client)
}

/// Status and message of a Bearer request from `peer` with `headers`.
async fn call(
    client: &Client,
    token: &str,
    peer: &str,
    headers: &[(&str, String)],
) -> (u16, String) {
    let mut request = client
        .get("/api/private")
        .header(Header::new("Host", "api.example.test"))
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .remote(peer.parse().unwrap());
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.clone()));
    }
    let response = request.dispatch().await;
    let status = response.status().code;
    let body: Value = response.into_json().await.unwrap_or_default();
    (status, body["message"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn a_bound_token_needs_its_certificate_from_a_trusted_proxy() {
    let (idp, signer, client) = setup(json!({"proxy_header": "X-Forwarded-Client-Cert"})).await;
    let [(pem_a, x5t_a), (pem_b, _)] = certificates();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let xfcc =
        |pem: &str| format!("By=spiffe://edge;Hash=00;Cert=\"{}\";Subject=\"CN=x\"", escaped(pem));
    let header = |pem: &str| vec![("X-Forwarded-Client-Cert", xfcc(pem))];

    assert_eq!(call(&client, &token, PROXY, &header(&pem_a)).await.0, 200);
    let missing = "Certificate-bound token presented without a client certificate";
    let mismatch = "Client certificate does not match the token's binding";
    assert_eq!(call(&client, &token, PROXY, &[]).await, (401, missing.to_owned()));
    // Another certificate from the same CA is not the bound one.
    assert_eq!(call(&client, &token, PROXY, &header(&pem_b)).await, (401, mismatch.to_owned()));
    // The header from a peer outside trusted_proxies counts for nothing.
    assert_eq!(
        call(&client, &token, "192.0.2.9:5000", &header(&pem_a)).await,
        (401, missing.to_owned())
    );
    // A proxy that appends (Envoy's APPEND_FORWARD): its own element, the
    // last, counts, whatever the client sent before it.
    let value = |elements: &[String]| vec![("X-Forwarded-Client-Cert", elements.join(","))];
    let appended = value(&[xfcc(&pem_b), xfcc(&pem_a)]);
    assert_eq!(call(&client, &token, PROXY, &appended).await.0, 200);
    let stolen = value(&[xfcc(&pem_a), xfcc(&pem_b)]);
    assert_eq!(call(&client, &token, PROXY, &stolen).await, (401, mismatch.to_owned()));
    // The client's open quote, meant to swallow the proxy's element, makes
    // the whole header unusable.
    let smuggled = value(&[format!("Cert=\"{}\";x=\"", escaped(&pem_a)), xfcc(&pem_b)]);
    assert_eq!(call(&client, &token, PROXY, &smuggled).await.1, missing);
    let unterminated = value(&[format!("Cert=\"{}", escaped(&pem_a))]);
    assert_eq!(call(&client, &token, PROXY, &unterminated).await.1, missing);
    // Two field lines, garbage, a PEM of something else, trailing junk,
    // two blocks: no certificate.
    let twice = [header(&pem_a), header(&pem_a)].concat();
    assert_eq!(call(&client, &token, PROXY, &twice).await.1, missing);
    let not_a_certificate = "-----BEGIN CERTIFICATE-----\nAQIDBA==\n-----END CERTIFICATE-----\n";
    for cert in [
        "junk".to_owned(),
        escaped(not_a_certificate),
        escaped(&format!("{pem_a}junk")),
        escaped(&format!("{pem_a}{pem_b}")),
    ] {
        let bad = vec![("X-Forwarded-Client-Cert", format!("Cert=\"{cert}\""))];
        assert_eq!(call(&client, &token, PROXY, &bad).await.1, missing, "{cert}");
    }

    // Unbound tokens pass as before in allowed mode, with or without a certificate.
    let plain = signer.token(&good_claims(&idp));
    assert_eq!(call(&client, &plain, PROXY, &[]).await.0, 200);
    assert_eq!(call(&client, &plain, PROXY, &header(&pem_b)).await.0, 200);
}

#[tokio::test]
async fn nginx_escaped_pem_and_required_mode() {
    let settings = json!({"proxy_header": "X-SSL-Client-Cert", "mode": "required"});
    let (idp, signer, client) = setup(settings).await;
    let [(pem_a, x5t_a), _] = certificates();
    let token = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let header = vec![("X-SSL-Client-Cert", escaped(&pem_a))];
    assert_eq!(call(&client, &token, PROXY, &header).await.0, 200);
    // Exactly one clean block: two PEMs joined by a comma (two merged
    // field lines), or anything around the block, is no certificate.
    let missing = "Certificate-bound token presented without a client certificate";
    for bad in [
        format!("{},{}", escaped(&pem_a), escaped(&pem_a)),
        format!("{}junk", escaped(&pem_a)),
        escaped(&format!("{pem_a}{pem_a}")),
    ] {
        let header = vec![("X-SSL-Client-Cert", bad.clone())];
        assert_eq!(call(&client, &token, PROXY, &header).await, (401, missing.to_owned()), "{bad}");
    }
    let plain = signer.token(&good_claims(&idp));
    let required = "A certificate-bound access token is required";
    assert_eq!(call(&client, &plain, PROXY, &header).await, (401, required.to_owned()));
}

#[tokio::test]
async fn dpop_rules_decide_when_a_request_has_both_and_disabled_refuses_bound_tokens() {
    let (idp, signer, client) = setup(json!({"proxy_header": "X-SSL-Client-Cert"})).await;
    let [(pem_a, x5t_a), _] = certificates();
    // A certificate-bound token on the DPoP scheme is not DPoP-bound.
    let bound = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let key = DpopKey::es256();
    let proof = key.proof("GET", "http://api.example.test/api/private", &bound);
    let response = client
        .get("/api/private")
        .header(Header::new("Host", "api.example.test"))
        .header(Header::new("Authorization", format!("DPoP {bound}")))
        .header(Header::new("DPoP", proof))
        .header(Header::new("X-SSL-Client-Cert", escaped(&pem_a)))
        .remote(PROXY.parse().unwrap())
        .dispatch()
        .await;
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["message"], "DPoP scheme used with a token that is not DPoP-bound");
    // A DPoP-bound token with a certificate too: the proof decides.
    let dpop_bound = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));
    let proof = key.proof("GET", "http://api.example.test/api/private", &dpop_bound);
    let response = client
        .get("/api/private")
        .header(Header::new("Host", "api.example.test"))
        .header(Header::new("Authorization", format!("DPoP {dpop_bound}")))
        .header(Header::new("DPoP", proof))
        .header(Header::new("X-SSL-Client-Cert", escaped(&pem_a)))
        .remote(PROXY.parse().unwrap())
        .dispatch()
        .await;
    assert_eq!(response.status().code, 200);

    let (idp, signer, client) =
        setup(json!({"mode": "disabled", "proxy_header": "X-SSL-Client-Cert"})).await;
    let bound = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let header = vec![("X-SSL-Client-Cert", escaped(&pem_a))];
    let refused = "Sender-constrained token used as a bearer token";
    assert_eq!(call(&client, &bound, PROXY, &header).await, (401, refused.to_owned()));
}

#[tokio::test]
async fn without_a_certificate_source_bound_tokens_are_refused() {
    let (idp, signer, client) = setup(json!({})).await;
    let [(_, x5t_a), _] = certificates();
    let bound = signer.token(&claims_with(&idp, json!({"cnf": {"x5t#S256": x5t_a}})));
    let missing = "Certificate-bound token presented without a client certificate";
    assert_eq!(call(&client, &bound, PROXY, &[]).await, (401, missing.to_owned()));
    let error = connect_error(figment(&idp, json!({"mtls": {"mode": "required"}}))).await;
    assert!(error.contains("auth.mtls.mode") && error.contains("proxy_header"), "{error}");
}
