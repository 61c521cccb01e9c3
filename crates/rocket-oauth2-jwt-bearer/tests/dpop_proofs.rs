//! DPoP-bound tokens (RFC 9449) over the local client, against a real
//! loopback issuer: every proof check at its boundary, and every answer of
//! the issue's table. Proofs are signed by jsonwebtoken (tests/common/dpop).

mod common;

use common::dpop::{DpopKey, ath};
use common::*;
use rocket::http::Header;
use rocket::local::asynchronous::{Client, LocalResponse};
use serde_json::{Value, json};

const PRIVATE: &str = "https://api.example.test/api/private";
const ALGS: &str = "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES256K EdDSA Ed25519";

async fn setup(dpop: Value) -> DpopService {
    DpopService::start(dpop).await
}

/// A request with `Authorization: <authorization>` and each `DPoP` value.
async fn send<'c>(
    client: &'c Client,
    path: &str,
    authorization: &str,
    proofs: &[&str],
) -> LocalResponse<'c> {
    let mut request =
        client.get(path.to_owned()).header(Header::new("Authorization", authorization.to_owned()));
    for proof in proofs {
        request = request.header(Header::new("DPoP", proof.to_string()));
    }
    request.dispatch().await
}

/// Status, every `WWW-Authenticate` field in order, and the JSON message.
async fn answer(response: LocalResponse<'_>) -> (u16, Vec<String>, String) {
    let status = response.status().code;
    let challenges = response.headers().get("WWW-Authenticate").map(String::from).collect();
    let body: Value = response.into_json().await.unwrap_or_default();
    (status, challenges, body["message"].as_str().unwrap_or_default().to_owned())
}

fn dpop_error(code: &str, description: &str) -> String {
    format!("DPoP error=\"{code}\", error_description=\"{description}\", algs=\"{ALGS}\"")
}

/// Asserts a 401 `invalid_dpop_proof` with `description`, offered beside a
/// plain Bearer challenge (allowed mode).
async fn assert_bad_proof(client: &Client, token: &str, proof: &str, description: &str) {
    let response = send(client, "/api/private", &format!("DPoP {token}"), &[proof]).await;
    let (status, challenges, message) = answer(response).await;
    assert_eq!(status, 401, "{description}: {message}");
    assert_eq!(
        challenges,
        ["Bearer realm=\"api\"".to_owned(), dpop_error("invalid_dpop_proof", description)],
        "{description}"
    );
    assert_eq!(message, description);
}

async fn assert_ok(client: &Client, token: &str, proof: &str) {
    let response = send(client, "/api/private", &format!("DPoP {token}"), &[proof]).await;
    let (status, challenges, message) = answer(response).await;
    assert_eq!((status, challenges), (200, vec![]), "{message}");
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_is_accepted_for_every_algorithm() {
    let setup = setup(json!({})).await;
    for key in [
        DpopKey::es256(),
        DpopKey::from(TestKey::es384("p")),
        DpopKey::from(TestKey::ed25519("p")),
        DpopKey::from(TestKey::rsa("p")),
    ] {
        let token = setup.bound_to(&key.jkt());
        assert_ok(&setup.client, &token, &key.proof("GET", PRIVATE, &token)).await;
        let scoped = "https://api.example.test/api/private-scoped";
        let response = send(
            &setup.client,
            "/api/private-scoped",
            &format!("DPoP {token}"),
            &[&key.proof("GET", scoped, &token)],
        )
        .await;
        assert_eq!(response.status().code, 200, "{}", key.alg_name());
    }
}

#[tokio::test]
async fn the_scheme_name_is_case_insensitive() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    for scheme in ["dpop", "DPOP", "DPoP"] {
        let proof = key.proof("GET", PRIVATE, &token);
        let response =
            send(&setup.client, "/api/private", &format!("{scheme} {token}"), &[&proof]).await;
        assert_eq!(response.status().code, 200, "{scheme}");
    }
    // Malformed or empty credentials are described on the scheme used.
    for (authorization, description) in
        [("DPoP a b", "Malformed DPoP access token"), ("DPoP", "DPoP access token is empty")]
    {
        let proof = key.proof("GET", PRIVATE, &token);
        let response = send(&setup.client, "/api/private", authorization, &[&proof]).await;
        let (status, challenges, message) = answer(response).await;
        assert_eq!((status, message.as_str()), (401, description));
        assert_eq!(challenges[1], dpop_error("invalid_token", description));
    }
}

#[tokio::test]
async fn malformed_proofs_are_refused_before_any_crypto() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let client = &setup.client;

    let response = send(client, "/api/private", &format!("DPoP {token}"), &[]).await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!(
        (status, challenges[1].clone()),
        (401, dpop_error("invalid_dpop_proof", "Missing DPoP proof"))
    );

    let not_jws = "DPoP proof is not a valid compact JWS";
    for bad in ["", "abc", "a.b", "a.b.c.d", "e30.e30.", "e30=.e30.AA", "!!.e30.AA", "W10.e30.AA"] {
        assert_bad_proof(client, &token, bad, not_jws).await;
    }
    let large = format!("{}.{}.AA", "e".repeat(4096), "e".repeat(4096));
    assert_bad_proof(client, &token, &large, "DPoP proof is too large").await;
    // Just under the cap, the size is no reason.
    let near = format!("e30.{}.AA", "A".repeat(8 * 1024 - 7));
    assert_eq!(near.len(), 8 * 1024);
    let response = send(client, "/api/private", &format!("DPoP {token}"), &[&near]).await;
    assert_ne!(answer(response).await.2, "DPoP proof is too large");
}

#[tokio::test]
async fn proof_headers_are_checked_exactly() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let client = &setup.client;
    let with_header = |header: Value| key.proof_with("GET", PRIVATE, &token, header, json!({}));

    let bad_typ = "Invalid DPoP proof 'typ' header value";
    for typ in [json!(null), json!("JWT"), json!("at+jwt"), json!("dpop+jwt "), json!(1)] {
        let message =
            if typ.is_number() { "DPoP proof is not a valid compact JWS" } else { bad_typ };
        assert_bad_proof(client, &token, &with_header(json!({ "typ": typ })), message).await;
    }
    for typ in ["DPoP+JWT", "application/dpop+jwt", "Application/DPoP+jwt"] {
        assert_ok(client, &token, &with_header(json!({ "typ": typ }))).await;
    }
    for typ in ["application/", "application/jwt", "applicationdpop+jwt", "x/dpop+jwt"] {
        assert_bad_proof(client, &token, &with_header(json!({ "typ": typ })), bad_typ).await;
    }

    let bad_alg = "DPoP proof 'alg' header value not allowed";
    for alg in ["none", "HS256", "ES512", "es256", ""] {
        assert_bad_proof(client, &token, &with_header(json!({ "alg": alg })), bad_alg).await;
    }
    let hmac = TestKey::hmac("h", b"0123456789abcdef0123456789abcdef");
    let header = json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": hmac.jwk()});
    let claims =
        json!({"jti": "x", "htm": "GET", "htu": PRIVATE, "iat": now(), "ath": ath(&token)});
    let forged = hmac.sign_raw("HS256", &header.to_string(), &claims.to_string());
    assert_bad_proof(client, &token, &forged, bad_alg).await;

    assert_bad_proof(
        client,
        &token,
        &with_header(json!({"crit": ["exp"]})),
        "Unsupported 'crit' header parameter in DPoP proof",
    )
    .await;
}

#[tokio::test]
async fn the_proof_key_must_be_a_sound_public_key() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let client = &setup.client;
    let with_jwk =
        |jwk: Value| key.proof_with("GET", PRIVATE, &token, json!({"jwk": jwk}), json!({}));
    let invalid = "Invalid DPoP proof 'jwk' header parameter";
    let private = "DPoP proof 'jwk' must not contain a private key";

    assert_bad_proof(client, &token, &with_jwk(json!(null)), invalid).await;
    assert_bad_proof(
        client,
        &token,
        &with_jwk(json!("key")),
        "DPoP proof is not a valid compact JWS",
    )
    .await;
    for member in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
        let mut jwk = key.jwk();
        merge(&mut jwk, json!({ member: "AAAA" }));
        assert_bad_proof(client, &token, &with_jwk(jwk), private).await;
    }
    // A point off the curve.
    let mut jwk = key.jwk();
    let mut y = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jwk["y"].as_str().unwrap(),
    )
    .unwrap();
    y[31] ^= 1;
    merge(&mut jwk, json!({"y": b64(&y)}));
    assert_bad_proof(client, &token, &with_jwk(jwk), invalid).await;
    // The wrong curve for the algorithm, an unknown key type, `use: enc`.
    for changes in [json!({"crv": "P-384"}), json!({"kty": "XYZ"}), json!({"use": "enc"})] {
        let mut jwk = key.jwk();
        merge(&mut jwk, changes.clone());
        assert_bad_proof(client, &token, &with_jwk(jwk), invalid).await;
    }
    // An RSA key under 2048 bits: built from a real 2048-bit key's
    // modulus cut short, so the signature can't even be attempted.
    let rsa = DpopKey::from(TestKey::rsa("short"));
    let mut jwk = rsa.jwk();
    let n = jwk["n"].as_str().unwrap()[..170].to_owned();
    merge(&mut jwk, json!({ "n": n }));
    let proof = rsa.proof_with("GET", PRIVATE, &token, json!({"jwk": jwk}), json!({}));
    assert_bad_proof(client, &token, &proof, invalid).await;

    // Signed by another key than the one in the header.
    let other = DpopKey::es256();
    let proof = other.proof_with("GET", PRIVATE, &token, json!({"jwk": key.jwk()}), json!({}));
    assert_bad_proof(client, &token, &proof, "DPoP proof signature verification failed").await;
    // A tampered payload.
    let proof = key.proof("GET", PRIVATE, &token);
    let parts: Vec<&str> = proof.split('.').collect();
    let tampered = format!("{}.{}.{}", parts[0], b64(r#"{"htm":"GET"}"#), parts[2]);
    assert_bad_proof(client, &token, &tampered, "DPoP proof signature verification failed").await;
}

#[tokio::test]
async fn proof_claims_are_checked_at_their_boundaries() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let client = &setup.client;
    let with = |claims: Value| key.proof_with("GET", PRIVATE, &token, json!({}), claims);

    for (claim, missing) in [
        ("jti", "Missing 'jti' claim"),
        ("htm", "Missing 'htm' claim"),
        ("htu", "Missing 'htu' claim"),
        ("iat", "Missing 'iat' claim"),
        ("ath", "Missing 'ath' claim"),
    ] {
        assert_bad_proof(client, &token, &with(json!({ claim: null })), missing).await;
        let wrong_type = if claim == "iat" { json!("now") } else { json!(7) };
        let invalid = format!("Invalid '{claim}' claim type");
        assert_bad_proof(client, &token, &with(json!({ claim: wrong_type })), &invalid).await;
    }

    // jti: up to 256 bytes.
    assert_ok(client, &token, &with(json!({"jti": "j".repeat(256)}))).await;
    let length = "DPoP proof 'jti' must be 1 to 256 bytes long";
    assert_bad_proof(client, &token, &with(json!({"jti": "j".repeat(257)})), length).await;
    assert_bad_proof(client, &token, &with(json!({"jti": ""})), length).await;

    // htm: the method, exactly.
    for htm in ["POST", "get", "GET ", "HEAD"] {
        assert_bad_proof(client, &token, &with(json!({ "htm": htm })), "DPoP proof 'htm' mismatch")
            .await;
    }

    // htu: the target URI under RFC 3986 normalisation; query and fragment ignored.
    for htu in [
        "https://API.EXAMPLE.TEST/api/private",
        "HTTPS://api.example.test:443/api/private",
        "https://api.example.test/api/%70rivate",
        "https://api.example.test/api/./private",
        "https://api.example.test/api/private?x=1#y",
    ] {
        assert_ok(client, &token, &with(json!({ "htu": htu }))).await;
    }
    for htu in [
        "http://api.example.test/api/private",
        "https://api.example.test:8443/api/private",
        "https://api.example.test/api/public",
        "https://api.example.test/api/private/",
        "https://api.example.test/API/private",
        "https://evil.example/api/private",
        "https://user@api.example.test/api/private",
        "/api/private",
        "",
    ] {
        assert_bad_proof(client, &token, &with(json!({ "htu": htu })), "DPoP proof 'htu' mismatch")
            .await;
    }

    // iat: from 300 s ago to 30 s ahead (the defaults).
    let now = now();
    for iat in [now - 295, now + 25] {
        assert_ok(client, &token, &with(json!({ "iat": iat }))).await;
    }
    assert_ok(client, &token, &with(json!({ "iat": now as f64 + 0.5 }))).await;
    assert_bad_proof(
        client,
        &token,
        &with(json!({"iat": now - 305})),
        "DPoP proof 'iat' is too far in the past",
    )
    .await;
    assert_bad_proof(
        client,
        &token,
        &with(json!({"iat": now + 35})),
        "DPoP proof 'iat' is in the future",
    )
    .await;

    // ath: the hash of this very token.
    let other = setup.bound_to(&DpopKey::es256().jkt());
    assert_bad_proof(
        client,
        &token,
        &with(json!({"ath": ath(&other)})),
        "DPoP proof 'ath' mismatch",
    )
    .await;
    assert_bad_proof(
        client,
        &token,
        &with(json!({"ath": ath(&token).to_uppercase()})),
        "DPoP proof 'ath' mismatch",
    )
    .await;
}

#[tokio::test]
async fn a_proof_is_accepted_once() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let proof = key.proof("GET", PRIVATE, &token);
    assert_ok(&setup.client, &token, &proof).await;
    assert_bad_proof(&setup.client, &token, &proof, "DPoP proof has been used before").await;
    // The same jti from another key is another proof.
    let other = DpopKey::es256();
    let other_token = setup.bound_to(&other.jkt());
    let jti = "shared-jti";
    let first = key.proof_with("GET", PRIVATE, &token, json!({}), json!({ "jti": jti }));
    let second = other.proof_with("GET", PRIVATE, &other_token, json!({}), json!({ "jti": jti }));
    assert_ok(&setup.client, &token, &first).await;
    assert_ok(&setup.client, &other_token, &second).await;
    // A refused proof isn't recorded: fixed, it is accepted.
    let late =
        key.proof_with("GET", PRIVATE, &token, json!({}), json!({"jti": "late", "htm": "POST"}));
    assert_bad_proof(&setup.client, &token, &late, "DPoP proof 'htm' mismatch").await;
    assert_ok(
        &setup.client,
        &token,
        &key.proof_with("GET", PRIVATE, &token, json!({}), json!({"jti": "late"})),
    )
    .await;
}

#[tokio::test]
async fn the_token_must_be_bound_to_the_proof_key() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let client = &setup.client;
    let refused = |description: &str| {
        vec!["Bearer realm=\"api\"".to_owned(), dpop_error("invalid_token", description)]
    };

    let unbound = setup.bearer_token();
    let response = send(
        client,
        "/api/private",
        &format!("DPoP {unbound}"),
        &[&key.proof("GET", PRIVATE, &unbound)],
    )
    .await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!(
        (status, challenges),
        (401, refused("DPoP scheme used with a token that is not DPoP-bound"))
    );

    let token_for_other = setup.bound_to(&DpopKey::es256().jkt());
    let proof = key.proof("GET", PRIVATE, &token_for_other);
    let response =
        send(client, "/api/private", &format!("DPoP {token_for_other}"), &[&proof]).await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!((status, challenges), (401, refused("Invalid DPoP key binding")));

    // An invalid token is an invalid token, on the DPoP scheme.
    let expired = setup
        .signer
        .token(&claims_with(&setup.idp, json!({"exp": now() - 60, "cnf": {"jkt": key.jkt()}})));
    let response = send(
        client,
        "/api/private",
        &format!("DPoP {expired}"),
        &[&key.proof("GET", PRIVATE, &expired)],
    )
    .await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!((status, challenges), (401, refused("'exp' claim timestamp check failed")));
}

#[tokio::test]
async fn a_bound_token_is_refused_as_a_bearer_token() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let (status, challenges, message) =
        answer(get_with_token(&setup.client, "/api/private", &token).await).await;
    assert_eq!(status, 401);
    assert_eq!(
        challenges,
        [
            invalid_token("Sender-constrained token used as a bearer token"),
            format!("DPoP algs=\"{ALGS}\"")
        ]
    );
    assert_eq!(message, "Sender-constrained token used as a bearer token");
}

#[tokio::test]
async fn mixed_or_repeated_proofs_are_invalid_requests() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let bearer = setup.bearer_token();
    let client = &setup.client;
    let invalid_request = |description: &str, scheme: &str| match scheme {
        "Bearer" => format!(
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"{description}\""
        ),
        _ => dpop_error("invalid_request", description),
    };

    let proof = key.proof("GET", PRIVATE, &bearer);
    let (status, challenges, _) =
        answer(send(client, "/api/private", &format!("Bearer {bearer}"), &[&proof]).await).await;
    assert_eq!(
        (status, challenges),
        (400, vec![invalid_request("DPoP proof sent with the Bearer scheme", "Bearer")])
    );

    let (a, b) = (key.proof("GET", PRIVATE, &token), key.proof("GET", PRIVATE, &token));
    let (status, challenges, _) = answer(
        send(client, "/api/private", &format!("DPoP {token}"), &[a.as_str(), b.as_str()]).await,
    )
    .await;
    assert_eq!(
        (status, challenges),
        (400, vec![invalid_request("More than one DPoP proof", "DPoP")])
    );
    let list = [a.as_str(), b.as_str()].join(", ");
    let (status, challenges, _) =
        answer(send(client, "/api/private", &format!("DPoP {token}"), &[&list]).await).await;
    assert_eq!(
        (status, challenges),
        (400, vec![invalid_request("More than one DPoP proof", "DPoP")])
    );
}

#[tokio::test]
async fn every_401_offers_both_schemes_when_dpop_is_allowed() {
    let setup = setup(json!({})).await;
    let (status, challenges, _) = answer(get(&setup.client, "/api/private", None).await).await;
    assert_eq!(
        (status, challenges),
        (401, vec!["Bearer realm=\"api\"".to_owned(), format!("DPoP algs=\"{ALGS}\"")])
    );
    let (status, challenges, _) =
        answer(get_with_token(&setup.client, "/api/private", "abc").await).await;
    assert_eq!(status, 401);
    assert_eq!(challenges, [invalid_token("Invalid Compact JWS"), format!("DPoP algs=\"{ALGS}\"")]);
    // Plain bearer tokens work as before.
    assert_accepted(&setup.client, &setup.bearer_token()).await;
}

#[tokio::test]
async fn a_dpop_request_without_the_scope_is_forbidden_on_the_dpop_scheme() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let claims = claims_with(&setup.idp, json!({"scope": "openid", "cnf": {"jkt": key.jkt()}}));
    let token = setup.signer.token(&claims);
    let target = "https://api.example.test/api/private-scoped";
    let response = send(
        &setup.client,
        "/api/private-scoped",
        &format!("DPoP {token}"),
        &[&key.proof("GET", target, &token)],
    )
    .await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenges,
        [format!(
            "DPoP error=\"insufficient_scope\", error_description=\"Insufficient Scope\", scope=\"read:messages\", algs=\"{ALGS}\""
        )]
    );
}

#[tokio::test]
async fn required_mode_answers_bearer_requests_with_the_dpop_challenge_only() {
    let setup = setup(json!({"mode": "required"})).await;
    let only_dpop = vec![format!("DPoP algs=\"{ALGS}\"")];
    for authorization in [None, Some(format!("Bearer {}", setup.bearer_token()))] {
        let (status, challenges, _) =
            answer(get(&setup.client, "/api/private", authorization.as_deref()).await).await;
        assert_eq!((status, challenges), (401, only_dpop.clone()), "{authorization:?}");
    }
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    assert_ok(&setup.client, &token, &key.proof("GET", PRIVATE, &token)).await;
    let response = send(&setup.client, "/api/private", &format!("DPoP {token}"), &["junk"]).await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!(
        (status, challenges),
        (401, vec![dpop_error("invalid_dpop_proof", "DPoP proof is not a valid compact JWS")])
    );
}

#[tokio::test]
async fn disabled_mode_knows_no_dpop_scheme() {
    let setup = setup(json!({"mode": "disabled"})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let response = send(
        &setup.client,
        "/api/private",
        &format!("DPoP {token}"),
        &[&key.proof("GET", PRIVATE, &token)],
    )
    .await;
    let (status, challenges, _) = answer(response).await;
    assert_eq!((status, challenges), (401, vec!["Bearer realm=\"api\"".to_owned()]));
    // Nor does a bound token pass as a bearer token.
    let (status, challenge, _) =
        outcome(get_with_token(&setup.client, "/api/private", &token).await).await;
    assert_eq!(
        (status, challenge),
        (401, Some(invalid_token("Sender-constrained token used as a bearer token")))
    );
    assert_accepted(&setup.client, &setup.bearer_token()).await;
}

#[tokio::test]
async fn without_public_url_the_target_comes_from_a_well_formed_host() {
    let setup = setup(json!({"public_url": null})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let client = &setup.client;
    let request = |host: Option<&str>, htu: &str| {
        let mut request = client
            .get("/api/private")
            .header(Header::new("Authorization", format!("DPoP {token}")))
            .header(Header::new("DPoP", key.proof("GET", htu, &token)));
        if let Some(host) = host {
            request = request.header(Header::new("Host", host.to_owned()));
        }
        request
    };

    let ok = request(Some("api.example.test:8000"), "http://api.example.test:8000/api/private");
    assert_eq!(ok.dispatch().await.status().code, 200);
    let wrong_host = request(Some("api.example.test:8000"), "http://api.example.test/api/private");
    assert_eq!(answer(wrong_host.dispatch().await).await.2, "DPoP proof 'htu' mismatch");

    // No Host at all (only the local client can send that): the crate's answer.
    let bad_host = "Missing or malformed Host header";
    let (status, challenges, message) =
        answer(request(None, "http://api.example.test/api/private").dispatch().await).await;
    assert_eq!((status, message.as_str()), (400, bad_host));
    assert_eq!(challenges, [dpop_error("invalid_request", bad_host)]);
    // A malformed one never gets that far here: the app's Host check
    // answers 400 first (the crate's own answer is tested in the crate).
    for host in ["user@api.example.test", "api example", "[::1", "a:99999"] {
        let response = request(Some(host), "http://api.example.test/api/private").dispatch().await;
        assert_eq!(response.status().code, 400, "{host}");
    }
    // Forwarding headers from a peer that isn't a trusted proxy count for nothing.
    let spoofed = request(Some("api.example.test"), "https://evil.example/api/private")
        .header(Header::new("X-Forwarded-Host", "evil.example"))
        .header(Header::new("X-Forwarded-Proto", "https"))
        .remote("203.0.113.9:5000".parse().unwrap());
    assert_eq!(answer(spoofed.dispatch().await).await.2, "DPoP proof 'htu' mismatch");
}

/// A DPoP client `key` behind proxies: the answer to a proof for `htu`
/// sent with `headers` from `peer`, to a service trusting 10.0.0.0/8 that
/// reads `proxy_headers`.
struct BehindProxies {
    client: Client,
    key: DpopKey,
    token: String,
}

impl BehindProxies {
    async fn start(proxy_headers: Option<&str>) -> (Idp, BehindProxies) {
        let signer = TestKey::rsa("k1");
        let idp = Idp::start(&[&signer]).await;
        let mut auth = json!({"trusted_proxies": ["10.0.0.0/8"]});
        if let Some(headers) = proxy_headers {
            auth["proxy_headers"] = json!(headers);
        }
        let client = client_for(figment(&idp, auth)).await;
        let key = DpopKey::es256();
        let token = signer.token(&claims_with(&idp, json!({"cnf": {"jkt": key.jkt()}})));
        (idp, BehindProxies { client, key, token })
    }

    async fn send(&self, htu: &str, headers: &[(&str, &str)], peer: &str) -> (u16, String) {
        let mut request = self
            .client
            .get("/api/private")
            .header(Header::new("Host", "internal:8000"))
            .header(Header::new("Authorization", format!("DPoP {}", self.token)))
            .header(Header::new("DPoP", self.key.proof("GET", htu, &self.token)))
            .remote(peer.parse().unwrap());
        for (name, value) in headers {
            request = request.header(Header::new(name.to_string(), value.to_string()));
        }
        let (status, _, message) = answer(request.dispatch().await).await;
        (status, message)
    }
}

const PROXY: &str = "10.1.2.3:4000";
const OUTSIDER: &str = "192.0.2.1:4000";
const INTERNAL: &str = "http://internal:8000/api/private";

#[tokio::test]
async fn a_trusted_proxy_says_what_the_client_asked_for() {
    let (_idp, proxied) = BehindProxies::start(None).await;
    let ok = (
        200,
        "Hello from a private endpoint! You need to be authenticated to see this.".to_owned(),
    );
    let mismatch = (401, "DPoP proof 'htu' mismatch".to_owned());

    let forwarded = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.test")];
    assert_eq!(proxied.send(PRIVATE, &forwarded, PROXY).await.0, 200);
    // Several values, or field lines: the last is the one our proxy wrote.
    let chained =
        [("X-Forwarded-Host", "evil.example, api.example.test"), ("X-Forwarded-Proto", "https")];
    assert_eq!(proxied.send(PRIVATE, &chained, PROXY).await.0, 200);
    let lines = [
        ("X-Forwarded-Host", "evil.example"),
        ("X-Forwarded-Host", "api.example.test"),
        ("X-Forwarded-Proto", "http"),
        ("X-Forwarded-Proto", "https"),
    ];
    assert_eq!(proxied.send(PRIVATE, &lines, PROXY).await.0, 200);
    // The same headers from outside the network are ignored.
    assert_eq!(proxied.send(PRIVATE, &forwarded, OUTSIDER).await, mismatch);
    assert_eq!(proxied.send(INTERNAL, &forwarded, OUTSIDER).await, ok);

    // A proxy that writes X-Forwarded-* passes a client's own `Forwarded`
    // through: it counts for nothing, even beside the proxy's headers.
    let client_says = ("Forwarded", "host=evil.example;proto=https");
    let evil = "https://evil.example/api/private";
    let only_proto = [("X-Forwarded-Proto", "https"), client_says];
    assert_eq!(proxied.send(evil, &only_proto, PROXY).await, mismatch);
    assert_eq!(proxied.send("https://internal:8000/api/private", &only_proto, PROXY).await, ok);

    // What the proxy wrote and can't be used is refused, naming the header.
    for (headers, header) in [
        (vec![("X-Forwarded-Proto", "ftp")], "X-Forwarded-Proto"),
        (vec![("X-Forwarded-Proto", "https, ")], "X-Forwarded-Proto"),
        (vec![("X-Forwarded-Host", "user@api.example.test")], "X-Forwarded-Host"),
        (vec![("X-Forwarded-Host", "api.example.test:99999")], "X-Forwarded-Host"),
    ] {
        let refused = (400, format!("Malformed {header} header"));
        assert_eq!(proxied.send(PRIVATE, &headers, PROXY).await, refused, "{headers:?}");
    }
}

#[tokio::test]
async fn a_forwarded_header_is_read_by_rfc_7239_s_grammar_and_only_its_last_element() {
    let (_idp, proxied) = BehindProxies::start(Some("forwarded")).await;
    let mismatch = (401, "DPoP proof 'htu' mismatch".to_owned());
    let malformed = (400, "Malformed Forwarded header".to_owned());

    let rfc7239 = "host=evil.example;proto=http, for=1.2.3.4;host=api.example.test;proto=https";
    assert_eq!(proxied.send(PRIVATE, &[("Forwarded", rfc7239)], PROXY).await.0, 200);
    // Two field lines are one list.
    let lines =
        [("Forwarded", "host=evil.example"), ("Forwarded", "host=api.example.test;proto=https")];
    assert_eq!(proxied.send(PRIVATE, &lines, PROXY).await.0, 200);
    let quoted =
        [("Forwarded", r#"for="[2001:db8::1]:4711";host="api.example.test";proto="https""#)];
    assert_eq!(proxied.send(PRIVATE, &quoted, PROXY).await.0, 200);
    // X-Forwarded-* are now the client's: ignored.
    let x_forwarded = [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", "api.example.test")];
    assert_eq!(proxied.send(PRIVATE, &x_forwarded, PROXY).await, mismatch);

    // The client opens a quote to swallow the proxy's element: the whole
    // header is unusable, not read as the client's.
    let evil = "https://evil.example/api/private";
    let smuggled =
        r#"host=evil.example;proto=https;x=", for=1.2.3.4;host=api.example.test;proto=https"#;
    assert_eq!(proxied.send(evil, &[("Forwarded", smuggled)], PROXY).await, malformed);
    let split = [("Forwarded", r#"host="evil.example"#), ("Forwarded", "host=api.example.test")];
    assert_eq!(proxied.send(evil, &split, PROXY).await, malformed);
    for bad in [
        "host=api.example.test;host=evil.example",
        "host=api.example.test:443",
        "host=\"api.example.test\"x",
        "proto=ftp;host=api.example.test",
        "host=\"user@api.example.test\"",
        "host",
    ] {
        assert_eq!(proxied.send(PRIVATE, &[("Forwarded", bad)], PROXY).await, malformed, "{bad}");
    }
    // From outside the network, even a malformed one is ignored.
    assert_eq!(proxied.send(INTERNAL, &[("Forwarded", smuggled)], OUTSIDER).await.0, 200);
}

#[tokio::test]
async fn bad_dpop_settings_stop_launch_naming_the_setting() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    for (dpop, expected) in [
        (json!({"mode": "sometimes"}), "auth.dpop.mode"),
        (json!({"algorithms": ["HS256"]}), "auth.dpop.algorithms"),
        (json!({"iat_offset": -1}), "auth.dpop.iat_offset"),
        (json!({"nonce_secret": "short"}), "auth.dpop.nonce_secret"),
        (json!({"public_url": "api.example.test"}), "auth.dpop.public_url"),
        (json!({"replay_store": "memcached://x"}), "auth.dpop.replay_store"),
        (json!({"unknown": 1}), "auth.dpop.unknown"),
    ] {
        let error = connect_error(figment(&idp, json!({ "dpop": dpop }))).await;
        assert!(error.contains(expected), "{dpop}: {error}");
    }
    let error = connect_error(figment(&idp, json!({"trusted_proxies": ["10.0.0.0/40"]}))).await;
    assert!(error.contains("auth.trusted_proxies") && error.contains("entry 0"), "{error}");
    let error = connect_error(figment(&idp, json!({"proxy_headers": "x-real-ip"}))).await;
    assert!(error.contains("auth.proxy_headers"), "{error}");
    // One value of a fixed set: its choices, quoted once.
    let error = connect_error(figment(&idp, json!({"dpop": {"mode": "sometimes"}}))).await;
    assert!(
        error.contains(r#""sometimes" is not one of "allowed", "required", "disabled""#),
        "{error}"
    );
    assert!(!error.contains("``"), "{error}");
}

#[tokio::test]
async fn a_head_request_is_proven_with_htm_head() {
    let setup = setup(json!({})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let head = |htm: &str| {
        setup
            .client
            .head("/api/private")
            .header(Header::new("Authorization", format!("DPoP {token}")))
            .header(Header::new("DPoP", key.proof(htm, PRIVATE, &token)))
            .dispatch()
    };
    assert_eq!(head("HEAD").await.status().code, 200);
    assert_eq!(head("GET").await.status().code, 401);
}

#[tokio::test]
async fn a_full_replay_cache_refuses_what_it_can_no_longer_vouch_for() {
    let setup = setup(json!({"replay_cache_capacity": 2})).await;
    let key = DpopKey::es256();
    let token = setup.bound_to(&key.jkt());
    let now = now();
    let proof_at =
        |iat: i64| key.proof_with("GET", PRIVATE, &token, json!({}), json!({ "iat": iat }));
    let oldest = proof_at(now - 20);
    assert_ok(&setup.client, &token, &oldest).await;
    assert_ok(&setup.client, &token, &proof_at(now - 10)).await;
    assert_ok(&setup.client, &token, &proof_at(now)).await;
    // The oldest was dropped to make room: replaying it is still refused,
    // as is any unseen proof no newer than it; fresh proofs pass.
    let window = "DPoP proof is too old for the replay window";
    assert_bad_proof(&setup.client, &token, &oldest, window).await;
    assert_bad_proof(&setup.client, &token, &proof_at(now - 25), window).await;
    assert_ok(&setup.client, &token, &proof_at(now)).await;
}
