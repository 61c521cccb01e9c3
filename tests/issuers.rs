//! Several issuers at once (`issuers`): three real loopback issuers of
//! three kinds — discovery, a static `jwks_uri`, a shared secret — each
//! with its own keys, refresh and faults, and tokens routed by `iss`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

const SECRET_ISSUER: &str = "https://shared-secret.example.test/";
const SECRET: &[u8] = b"test-only-secret-of-at-least-32-bytes!!";

/// The three issuers and their keys.
struct Three {
    discovered: Idp,
    discovered_key: TestKey,
    direct: Idp,
    direct_key: TestKey,
    secret_key: TestKey,
}

impl Three {
    async fn start() -> Three {
        let discovered_key = TestKey::rsa("a1");
        let direct_key = TestKey::es256("b1");
        let discovered = Idp::start(&[&discovered_key]).await;
        let direct = Idp::start(&[&direct_key]).await;
        let secret_key = TestKey::hmac("c1", SECRET);
        Three { discovered, discovered_key, direct, direct_key, secret_key }
    }

    /// The issuer the direct entry names: not its URL, to show that
    /// `issuer` + `jwks_uri` needs no discovery.
    fn direct_iss(&self) -> String {
        format!("{}tenant-b", self.direct.base_url())
    }

    fn issuers(&self) -> Value {
        json!([
            self.discovered.base_url(),
            {
                "issuer": self.direct_iss(),
                "jwks_uri": self.direct.jwks_url(),
                "algorithms": ["ES256"],
            },
            {
                "issuer": SECRET_ISSUER,
                "secret": std::str::from_utf8(SECRET).unwrap(),
                "token_signing_alg": "HS256",
            },
        ])
    }

    fn figment(&self, extra: Value) -> figment::Figment {
        let mut auth = json!({ "issuer_base_url": null, "issuers": self.issuers() });
        merge(&mut auth, extra);
        figment(&self.discovered, auth)
    }

    async fn client(&self) -> Client {
        client_for(self.figment(json!({}))).await
    }

    /// Good claims from issuer `iss`.
    fn claims(&self, iss: &str) -> Value {
        claims_with(&self.discovered, json!({ "iss": iss }))
    }

    fn tokens(&self) -> [(String, String); 3] {
        let a = self.discovered.base_url();
        let b = self.direct_iss();
        [
            (a.clone(), self.discovered_key.token(&self.claims(&a))),
            (b.clone(), self.direct_key.token(&self.claims(&b))),
            (SECRET_ISSUER.into(), self.secret_key.token(&self.claims(SECRET_ISSUER))),
        ]
    }

    fn fetches(&self) -> (usize, usize) {
        (self.discovered.jwks_hits(), self.direct.jwks_hits())
    }
}

#[rocket::async_test]
async fn each_issuers_tokens_are_accepted() {
    let three = Three::start().await;
    let client = three.client().await;
    for (iss, token) in three.tokens() {
        assert_accepted(&client, &token).await;
        let scoped = get_with_token(&client, "/api/private-scoped", &token).await;
        assert_eq!(scoped.status(), Status::Ok, "{iss}");
    }
}

#[rocket::async_test]
async fn no_issuers_key_verifies_a_token_claiming_another_issuer() {
    let three = Three::start().await;
    let client = three.client().await;
    let a = three.discovered.base_url();
    let b = three.direct_iss();

    // B's key, B's kid, claiming A: A's keys are the only ones considered.
    let forged = three.direct_key.token(&three.claims(&a));
    assert_invalid_token(&client, &forged, "no applicable key found in the JSON Web Key Set").await;
    // The same with A's algorithm family: an RSA key B doesn't have.
    let other_rsa = TestKey::rsa("a1");
    let forged = other_rsa.token(&three.claims(&a));
    assert_invalid_token(&client, &forged, "signature verification failed").await;
    // A's key claiming B, which accepts only ES256.
    let forged = three.discovered_key.token(&three.claims(&b));
    assert_invalid_token(&client, &forged, "'alg' header parameter value not allowed").await;
    // The shared secret never meets another issuer's tokens.
    for iss in [&a, &b] {
        let forged = three.secret_key.token(&three.claims(iss));
        assert_invalid_token(&client, &forged, "'alg' header parameter value not allowed").await;
    }
    // Nor does A's key verify a token claiming the secret issuer.
    let forged = three.discovered_key.token(&three.claims(SECRET_ISSUER));
    assert_invalid_token(&client, &forged, "'alg' header parameter value not allowed").await;
}

#[rocket::async_test]
async fn an_unknown_issuer_is_refused_without_any_fetch() {
    let three = Three::start().await;
    let client = three.client().await;
    let before = three.fetches();
    let discovery_before = three.discovered.discovery_hits();

    for iss in [
        "https://evil.example.test/".to_owned(),
        // Near misses of configured issuers.
        three.discovered.base_url().trim_end_matches('/').to_owned() + "//",
        three.direct_iss() + "/",
        SECRET_ISSUER.to_uppercase(),
    ] {
        // An unknown `kid` would make a known issuer refetch.
        let token =
            three.discovered_key.token_with(json!({"kid": "never-seen"}), &three.claims(&iss));
        assert_invalid_token(&client, &token, "Unexpected 'iss' value").await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(three.fetches(), before, "no key set fetched");
    assert_eq!(three.discovered.discovery_hits(), discovery_before, "no discovery");
}

#[rocket::async_test]
async fn a_discovered_issuer_takes_only_its_exact_iss() {
    let three = Three::start().await;
    let client = three.client().await;
    // Discovery said `http://127.0.0.1:<port>/`; the spelling without the
    // slash is routed to it before launch only.
    let without_slash = three.discovered.base_url().trim_end_matches('/').to_owned();
    let token = three.discovered_key.token(&three.claims(&without_slash));
    assert_invalid_token(&client, &token, "Unexpected 'iss' value").await;
}

#[rocket::async_test]
async fn an_unknown_kid_refetches_only_its_issuers_key_set() {
    let three = Three::start().await;
    let client = three.client().await;
    tokio::time::sleep(Duration::from_millis(300)).await; // past the cooldown
    let (a, b) = three.fetches();

    let rotated = TestKey::es256("b2");
    three.direct.set_keys(&[&three.direct_key, &rotated]);
    let token = rotated.token(&three.claims(&three.direct_iss()));
    assert_accepted(&client, &token).await;
    assert_eq!(three.fetches(), (a, b + 1));
}

#[rocket::async_test]
async fn one_issuer_hanging_never_delays_another() {
    let three = Three::start().await;
    let client = three.client().await;
    tokio::time::sleep(Duration::from_millis(300)).await; // past the cooldown
    three.direct.set_mode(Mode::Hang);

    // A token of B with a new kid makes B refetch, which hangs until the
    // 1 s `jwks_timeout`; meanwhile A's and the secret issuer's tokens answer.
    let order = AtomicUsize::new(0);
    let stuck = TestKey::es256("b-new");
    let stuck_token = stuck.token(&three.claims(&three.direct_iss()));
    let hanging = async {
        let response = get_with_token(&client, "/api/private", &stuck_token).await;
        (response.status(), order.fetch_add(1, Ordering::SeqCst))
    };
    let others = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let [(_, a), _, (_, c)] = three.tokens();
        let mut done = Vec::new();
        for token in [a, c].iter().cycle().take(20) {
            let response = get_with_token(&client, "/api/private", token).await;
            assert_eq!(response.status(), Status::Ok);
            done.push(order.fetch_add(1, Ordering::SeqCst));
        }
        done
    };
    let ((status, hanging_done), others_done) = tokio::join!(hanging, others);
    assert_eq!(status, Status::Unauthorized);
    assert_eq!(hanging_done, 20, "B's request finished last: {others_done:?}");
}

#[rocket::async_test]
async fn launch_fails_naming_each_issuer_down_when_keys_are_required() {
    let three = Three::start().await;
    three.direct.set_mode(Mode::Status(503));
    let error = connect_error(three.figment(json!({}))).await;
    assert!(error.contains(&three.direct.jwks_url()), "{error}");
    assert!(error.contains("503"), "{error}");

    three.discovered.set_mode(Mode::Down);
    let error = connect_error(three.figment(json!({}))).await;
    assert!(error.starts_with("2 issuers have no keys"), "{error}");
    assert!(error.contains(&three.direct.jwks_url()), "{error}");
    assert!(error.contains(&three.discovered.jwks_url()), "{error}");
}

#[rocket::async_test]
async fn launching_without_an_issuer_serves_the_others_and_recovers() {
    let three = Three::start().await;
    three.direct.set_mode(Mode::Status(503));
    let client = client_for(three.figment(json!({ "require_keys_at_launch": false }))).await;
    let [(_, a), (_, b), (_, c)] = three.tokens();

    assert_accepted(&client, &a).await;
    assert_accepted(&client, &c).await;
    let response = get_with_token(&client, "/api/private", &b).await;
    assert_eq!(response.status(), Status::ServiceUnavailable);
    let retry: u32 =
        response.headers().get_one("Retry-After").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry), "{retry}");
    assert_eq!(response.headers().get_one("WWW-Authenticate"), None, "not a 401: keep the token");
    let body: Value = response.into_json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("temporarily unavailable"), "{body}");

    let ready = client.get("/ready").dispatch().await;
    assert_eq!(ready.status(), Status::ServiceUnavailable);
    let ready: Value = ready.into_json().await.unwrap();
    assert_eq!(ready["issuers"][0]["loaded"], true, "{ready}");
    assert_eq!(ready["issuers"][1]["loaded"], false, "{ready}");
    assert_eq!(ready["issuers"][1]["issuer"], three.direct_iss(), "{ready}");
    assert!(ready["issuers"][1]["last_error"].as_str().unwrap().contains("503"), "{ready}");
    assert_eq!(ready["issuers"][2]["loaded"], true, "{ready}");

    three.direct.set_mode(Mode::Up);
    let mut recovered = false;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if client.get("/ready").dispatch().await.status() == Status::Ok {
            recovered = true;
            break;
        }
    }
    assert!(recovered, "ready once the issuer is back");
    assert_accepted(&client, &b).await;
}

#[rocket::async_test]
async fn ready_and_metrics_report_each_issuer() {
    let three = Three::start().await;
    let client = client_for(three.figment(json!({})).merge(("metrics", true))).await;

    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["keys"], 3);
    let issuers: Vec<&str> = ready["issuers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["issuer"].as_str().unwrap())
        .collect();
    assert_eq!(issuers, [three.discovered.base_url(), three.direct_iss(), SECRET_ISSUER.into()]);
    assert_eq!(ready["issuers"][2]["refreshes"], false);

    let text = client.get("/metrics").dispatch().await.into_string().await.unwrap();
    for iss in issuers {
        assert!(text.contains(&format!(r#"jwks_keys{{issuer="{iss}"}} 1"#)), "{text}");
    }
}

#[rocket::async_test]
async fn the_metadata_names_every_issuer() {
    let three = Three::start().await;
    let resource = "https://api.example.test";
    let client = client_for(three.figment(json!({ "resource": resource }))).await;
    let document: Value = client
        .get("/.well-known/oauth-protected-resource")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(
        document["authorization_servers"],
        json!([three.discovered.base_url(), three.direct_iss(), SECRET_ISSUER])
    );
}

#[rocket::async_test]
async fn an_iss_that_is_not_one_string_is_refused_before_any_key_lookup() {
    let three = Three::start().await;
    let client = three.client().await;
    let before = three.fetches();
    let a = three.discovered.base_url();
    let key = &three.discovered_key;
    let header = r#"{"alg":"RS256","kid":"unknown-kid"}"#;
    let exp = now() + 600;
    for (payload, description) in [
        (format!(r#"{{"aud":"{AUDIENCE}","exp":{exp}}}"#), "Missing 'iss' claim"),
        (format!(r#"{{"iss":null,"aud":"{AUDIENCE}","exp":{exp}}}"#), "Missing 'iss' claim"),
        (
            format!(r#"{{"iss":["{a}"],"aud":"{AUDIENCE}","exp":{exp}}}"#),
            "Invalid 'iss' claim type",
        ),
        (format!(r#"{{"iss":1,"aud":"{AUDIENCE}","exp":{exp}}}"#), "Invalid 'iss' claim type"),
        // Two `iss` members, the second one spelled with an escape.
        (
            format!(
                r#"{{"iss":"{a}","\u0069ss":"https://evil.example.test/","aud":"{AUDIENCE}"}}"#
            ),
            "JWT Claims Set must be a top-level JSON object",
        ),
        (format!(r#"["{a}"]"#), "JWT Claims Set must be a top-level JSON object"),
        ("not json".to_owned(), "JWT Claims Set must be a top-level JSON object"),
    ] {
        let token = key.sign_raw("RS256", header, &payload);
        assert_invalid_token(&client, &token, description).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(three.fetches(), before, "no key set fetched for any of them");
}

#[rocket::async_test]
async fn a_bad_key_in_an_entry_is_named_by_its_index() {
    let three = Three::start().await;
    let figment = three.figment(json!({
        "issuers": [
            three.discovered.base_url(),
            { "issuer": "https://static.example.test/", "public_key": "{\"kty\":\"RSA\"}" },
        ],
    }));
    let error = connect_error(figment).await;
    assert!(error.starts_with("invalid setting `auth.issuers[1].public_key`"), "{error}");
}

/// The metadata's `authorization_servers` at this moment, and its
/// `Cache-Control`.
async fn authorization_servers(client: &Client) -> (Value, String) {
    let response = client.get("/.well-known/oauth-protected-resource").dispatch().await;
    let cache = response.headers().get_one("Cache-Control").unwrap_or_default().to_owned();
    let document: Value = response.into_json().await.unwrap();
    (document["authorization_servers"].clone(), cache)
}

#[rocket::async_test]
async fn the_metadata_follows_discovery_and_adds_nothing_to_what_was_configured() {
    // Keycloak, Okta and Entra ID name their `iss` with a path and without
    // a trailing slash; this issuer is down at launch.
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let realm = format!("{}realms/r1", idp.base_url());
    let origin = idp.base_url().trim_end_matches('/').to_owned();
    for (configured, iss) in [
        (realm.clone(), realm.clone()),
        (format!("{realm}/"), realm.clone()),
        // Okta's org server: an `iss` that is a bare origin, no slash.
        (origin.clone(), origin.clone()),
    ] {
        idp.set_discovery(json!({"issuer": iss, "jwks_uri": idp.jwks_url()}));
        let auth = json!({
            "issuer_base_url": configured,
            "require_keys_at_launch": false,
            "resource": "https://api.example.test",
        });
        idp.set_mode(Mode::Status(503));
        let client = client_for(figment(&idp, auth)).await;
        // Until its `iss` is known: the configured string, as written, and
        // a short cache lifetime.
        let (servers, cache) = authorization_servers(&client).await;
        assert_eq!(servers, json!([configured]));
        assert_eq!(cache, "public, max-age=60");

        idp.set_mode(Mode::Up);
        let mut settled = Value::Null;
        for _ in 0..50 {
            let (servers, cache) = authorization_servers(&client).await;
            if cache == "public, max-age=3600" {
                settled = servers;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        // What its tokens carry, exactly: the discovered `iss`.
        assert_eq!(settled, json!([iss]), "configured as {configured}");
        let token = key.token(&claims_with(&idp, json!({ "iss": iss })));
        assert_accepted(&client, &token).await;
    }
}
