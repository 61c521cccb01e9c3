//! Parity with express-oauth2-jwt-bearer's options, done right: symmetric
//! and static keys, `token_signing_alg`, `max_token_age`, strict mode,
//! optional authentication, scope/permission guards and claim checks.

mod common;

use common::*;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::{
    AnyScope, AuthError, BearerToken, HasPermission, HasScopes, MaybeBearer,
};
use serde_json::{Value, json};

const ISSUER: &str = "https://issuer.example.test/";
const SECRET: &str = "a-test-only-secret-of-64-bytes-0123456789abcdef0123456789abcdef!";

rocket_oauth2_jwt_bearer::scope!(pub ReadMessages = "read:messages");
rocket_oauth2_jwt_bearer::scope!(pub WriteMessages = "write:messages");

#[get("/maybe")]
fn maybe(user: MaybeBearer) -> String {
    match user.0 {
        Some(token) => format!("hello {}", token.claims().subject.clone().unwrap_or_default()),
        None => "hello stranger".into(),
    }
}

#[get("/all")]
fn all(_token: HasScopes<(ReadMessages, WriteMessages)>) -> &'static str {
    "all"
}

#[get("/any")]
fn any(_token: AnyScope<(ReadMessages, WriteMessages)>) -> &'static str {
    "any"
}

#[get("/permission")]
fn permission(_token: HasPermission<ReadMessages>) -> &'static str {
    "permission"
}

#[get("/org")]
fn org(token: BearerToken) -> Result<&'static str, AuthError> {
    token.claim_equals("org_id", "acme")?;
    Ok("org")
}

#[get("/roles")]
fn roles(token: BearerToken) -> Result<&'static str, AuthError> {
    token.claim_includes("roles", &["admin", "editor"])?;
    Ok("roles")
}

#[get("/verified")]
fn verified(token: BearerToken) -> Result<&'static str, AuthError> {
    token.claim_check("Email not verified", |claims| {
        claims.get("email_verified") == Some(&json!(true))
    })?;
    Ok("verified")
}

/// Settings that need no identity provider at all.
fn offline(auth: Value) -> figment::Figment {
    let mut settings = json!({"issuer_base_url": null, "issuer": ISSUER});
    merge(&mut settings, auth);
    // A dummy IdP value for `figment()`'s defaults; `null` removes its URL.
    figment_for(settings)
}

fn figment_for(auth: Value) -> figment::Figment {
    let mut base = json!({"audience": AUDIENCE, "jwks_launch_retry": 0});
    merge(&mut base, auth);
    figment::Figment::from(rocket::Config::debug_default())
        .merge(figment::providers::Serialized::default("log_level", "off"))
        .merge(figment::providers::Serialized::default("auth", base))
}

async fn client_with_routes(settings: figment::Figment) -> Client {
    let rocket = auth0_rocket_api::rocket_from(settings)
        .mount("/api/t", routes![maybe, all, any, permission, org, roles, verified]);
    Client::tracked(rocket).await.expect("launches")
}

fn offline_claims(changes: Value) -> Value {
    let now = now();
    let mut claims = json!({"iss": ISSUER, "sub": "user|1", "aud": AUDIENCE, "iat": now, "exp": now + 600,
                            "scope": "read:messages"});
    merge(&mut claims, changes);
    claims
}

#[rocket::async_test]
async fn symmetric_mode_accepts_only_its_algorithm_and_secret() {
    for alg in ["HS256", "HS384", "HS512"] {
        let client = client_for(offline(json!({"secret": SECRET, "token_signing_alg": alg}))).await;
        let key = TestKey::hmac("any-kid", SECRET.as_bytes());
        let claims = offline_claims(json!({}));

        assert_accepted(&client, &key.token_with(json!({"alg": alg}), &claims)).await;
        let no_kid = key.token_with(json!({"alg": alg, "kid": null}), &claims);
        assert_accepted(&client, &no_kid).await;

        for other in ["HS256", "HS384", "HS512"].into_iter().filter(|a| *a != alg) {
            let token = key.token_with(json!({ "alg": other }), &claims);
            assert_invalid_token(&client, &token, "'alg' header parameter value not allowed").await;
        }
        let wrong =
            TestKey::hmac("k", b"another-secret-of-sixty-four-bytes-0123456789abcdef0123456789ab!");
        let token = wrong.token_with(json!({"alg": alg}), &claims);
        assert_invalid_token(&client, &token, "signature verification failed").await;

        let rsa = TestKey::rsa("k");
        assert_invalid_token(
            &client,
            &rsa.token(&claims),
            "'alg' header parameter value not allowed",
        )
        .await;
    }
}

#[rocket::async_test]
async fn symmetric_mode_settings_are_checked_at_launch() {
    for (auth, words) in [
        (json!({"secret": "short", "token_signing_alg": "HS256"}), "needs at least 32"),
        (json!({"secret": &SECRET[..40], "token_signing_alg": "HS384"}), "needs at least 48"),
        (json!({"secret": &SECRET[..63], "token_signing_alg": "HS512"}), "needs at least 64"),
        (json!({"secret": SECRET}), "needs token_signing_alg"),
        (json!({"secret": SECRET, "token_signing_alg": "RS256"}), "needs token_signing_alg"),
        (
            json!({"secret": SECRET, "token_signing_alg": "HS256", "jwks_uri": "https://x.test/jwks"}),
            "jwks_uri",
        ),
        (json!({"token_signing_alg": "HS256"}), "needs a secret"),
        (json!({"secret": SECRET, "token_signing_alg": "HS256", "issuer": null}), "ISSUER"),
    ] {
        let reason = connect_error(offline(auth.clone())).await;
        assert!(reason.contains(words), "{auth}: {reason}");
        assert!(!reason.contains(SECRET), "the secret never appears: {reason}");
    }
}

#[rocket::async_test]
async fn symmetric_mode_can_discover_its_issuer() {
    let idp = Idp::start(&[]).await;
    let settings =
        json!({"issuer_base_url": idp.base_url(), "secret": SECRET, "token_signing_alg": "HS256"});
    let client = client_for(figment_for(settings)).await;
    let key = TestKey::hmac("k", SECRET.as_bytes());
    assert_accepted(&client, &key.token_with(json!({"alg": "HS256"}), &good_claims(&idp))).await;
    assert_eq!((idp.discovery_hits(), idp.jwks_hits()), (1, 0));
}

#[rocket::async_test]
async fn static_pem_keys_need_their_algorithm_and_no_network() {
    let rsa = TestKey::rsa("ignored");
    let ec = TestKey::es256("ignored");
    let ed = TestKey::ed25519("ignored");
    let claims = offline_claims(json!({}));

    for (pem, alg, key) in [
        (rsa.spki_pem(), "RS256", &rsa),
        (rsa.pkcs1_pem(), "RS256", &rsa),
        (rsa.spki_pem().replace('\n', "\r\n"), "PS256", &rsa),
        (ec.spki_pem(), "ES256", &ec),
        (ed.spki_pem(), "EdDSA", &ed),
    ] {
        let client =
            client_for(offline(json!({"public_key": pem, "token_signing_alg": alg}))).await;
        // Any kid (or none) names the one configured key.
        assert_accepted(&client, &key.token_with(json!({"alg": alg, "kid": "whatever"}), &claims))
            .await;
        assert_accepted(&client, &key.token_with(json!({"alg": alg, "kid": null}), &claims)).await;
        if alg == "RS256" {
            let ps = key.token_with(json!({"alg": "PS256"}), &claims);
            assert_invalid_token(&client, &ps, "'alg' header parameter value not allowed").await;
        }
        let other = TestKey::rsa("other");
        let forged = other.token_with(json!({"alg": "RS256"}), &claims);
        assert_eq!(
            get_with_token(&client, "/api/private", &forged).await.status(),
            Status::Unauthorized
        );
    }

    for (auth, words) in [
        (json!({"public_key": rsa.spki_pem()}), "needs token_signing_alg"),
        (json!({"public_key": ec.spki_pem(), "token_signing_alg": "RS256"}), "auth.public_key"),
        (
            json!({"public_key": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----"}),
            "not a public key",
        ),
        (
            json!({"public_key": "not a key", "token_signing_alg": "RS256"}),
            "neither a PEM key nor JSON",
        ),
        (
            json!({"public_key": rsa.spki_pem(), "token_signing_alg": "RS256", "issuer": null}),
            "ISSUER",
        ),
    ] {
        let reason = connect_error(offline(auth.clone())).await;
        assert!(reason.contains(words), "{auth}: {reason}");
    }
}

#[rocket::async_test]
async fn static_jwk_and_jwk_set_keys() {
    let rsa = TestKey::rsa("r1");
    let ed = TestKey::ed25519("e1");
    let claims = offline_claims(json!({}));

    let client = client_for(offline(json!({"public_key": rsa.jwk().to_string()}))).await;
    assert_accepted(&client, &rsa.token(&claims)).await;
    let wrong_kid = rsa.token_with(json!({"kid": "r2"}), &claims);
    assert_invalid_token(&client, &wrong_kid, "no applicable key found in the JSON Web Key Set")
        .await;

    let set = jwks(&[&rsa, &ed]).to_string();
    let client = client_for(offline(json!({ "public_key": set }))).await;
    assert_accepted(&client, &rsa.token(&claims)).await;
    assert_accepted(&client, &ed.token(&claims)).await;

    let mut enc = rsa.jwk();
    enc["use"] = json!("enc");
    let reason = connect_error(offline(json!({"public_key": enc.to_string()}))).await;
    assert!(reason.contains("`use`"), "{reason}");
}

#[rocket::async_test]
async fn token_signing_alg_pins_the_algorithm_with_a_jwks() {
    let rsa = TestKey::rsa("r");
    let ec = TestKey::es256("e");
    let idp = Idp::start(&[&rsa, &ec]).await;
    let client = client_for(figment(&idp, json!({"token_signing_alg": "RS256"}))).await;
    let claims = good_claims(&idp);

    assert_accepted(&client, &rsa.token(&claims)).await;
    for token in [rsa.token_with(json!({"alg": "PS256"}), &claims), ec.token(&claims)] {
        assert_invalid_token(&client, &token, "'alg' header parameter value not allowed").await;
    }

    let reason = connect_error(figment(
        &idp,
        json!({"token_signing_alg": "ES256", "algorithms": ["RS256"]}),
    ))
    .await;
    assert!(reason.contains("`auth.token_signing_alg`"), "{reason}");
}

#[rocket::async_test]
async fn max_token_age_bounds_iat() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client =
        client_for(figment(&idp, json!({"max_token_age": 60, "clock_tolerance": 5}))).await;
    let now = now();

    // Margins of seconds around the bounds (60 + 5 s, 5 s ahead): a loaded
    // CI machine may take a second between `now` and the check.
    for iat in [now, now - 60, now - 62, now + 3] {
        assert_accepted(&client, &key.token(&claims_with(&idp, json!({ "iat": iat })))).await;
    }
    let cases = [
        (json!({"iat": now - 70}), "'iat' claim timestamp check failed (too far in the past)"),
        (json!({"iat": now + 9}), "'iat' claim timestamp check failed (it should be in the past)"),
        (json!({"iat": null}), "Missing 'iat' claim"),
        (json!({"iat": "now"}), "Invalid 'iat' claim type"),
    ];
    for (changes, description) in cases {
        assert_invalid_token(&client, &key.token(&claims_with(&idp, changes)), description).await;
    }
}

#[rocket::async_test]
async fn a_cached_token_ages_out_at_max_token_age() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"max_token_age": 1, "clock_tolerance": 0}))).await;
    let iat = now();
    let token = key.token(&claims_with(&idp, json!({ "iat": iat })));

    assert_accepted(&client, &token).await;
    while now() <= iat + 1 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let description = "'iat' claim timestamp check failed (too far in the past)";
    assert_invalid_token(&client, &token, description).await;
}

#[rocket::async_test]
async fn strict_mode_is_the_rfc_9068_profile() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"strict": true}))).await;
    let full = claims_with(&idp, json!({"jti": "j-1", "client_id": "c-1"}));

    for typ in ["at+jwt", "application/at+jwt", "AT+JWT", "Application/AT+JWT"] {
        assert_accepted(&client, &key.token_with(json!({ "typ": typ }), &full)).await;
    }
    for typ in [json!("JWT"), json!(null), json!("jwt"), json!("at+jwt+x")] {
        let token = key.token_with(json!({ "typ": typ }), &full);
        assert_invalid_token(&client, &token, "Unexpected 'typ' header value").await;
    }
    for (claim, name) in
        [("sub", "sub"), ("iat", "iat"), ("jti", "jti"), ("client_id", "client_id")]
    {
        let mut claims = full.clone();
        claims.as_object_mut().unwrap().remove(claim);
        let token = key.token_with(json!({"typ": "at+jwt"}), &claims);
        assert_invalid_token(&client, &token, &format!("Missing '{name}' claim")).await;
    }

    // Off by default: a plain JWT with fewer claims is fine.
    let relaxed = client_for(figment(&idp, json!({}))).await;
    assert_accepted(&relaxed, &key.token(&good_claims(&idp))).await;
}

#[rocket::async_test]
async fn maybe_bearer_is_optional_but_never_lenient() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_with_routes(figment(&idp, json!({}))).await;

    let anonymous = get(&client, "/api/t/maybe", None).await.into_string().await;
    assert_eq!(anonymous.as_deref(), Some("hello stranger"));
    let basic = get(&client, "/api/t/maybe", Some("Basic dXNlcjpwYXNz")).await.into_string().await;
    assert_eq!(basic.as_deref(), Some("hello stranger"));
    let token = key.token(&good_claims(&idp));
    let known = get_with_token(&client, "/api/t/maybe", &token).await.into_string().await;
    assert_eq!(known.as_deref(), Some("hello user|123"));

    let expired = key.token(&claims_with(&idp, json!({"exp": now() - 60})));
    let (status, challenge, _) =
        outcome(get_with_token(&client, "/api/t/maybe", &expired).await).await;
    assert_eq!(status, 401);
    assert!(challenge.unwrap().contains("error=\"invalid_token\""));
    assert_eq!(get(&client, "/api/t/maybe", Some("Bearer ")).await.status(), Status::Unauthorized);
}

#[rocket::async_test]
async fn all_of_and_any_of_scopes() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_with_routes(figment(&idp, json!({}))).await;
    let token = |scope: Value| key.token(&claims_with(&idp, json!({ "scope": scope })));

    let both = token(json!("read:messages write:messages"));
    let read = token(json!("read:messages"));
    let none = token(json!("openid"));
    assert_eq!(get_with_token(&client, "/api/t/all", &both).await.status(), Status::Ok);
    assert_eq!(get_with_token(&client, "/api/t/any", &read).await.status(), Status::Ok);

    for (path, token) in [("/api/t/all", &read), ("/api/t/any", &none)] {
        let (status, challenge, message) =
            outcome(get_with_token(&client, path, token).await).await;
        assert_eq!((status, message.as_str()), (403, "Insufficient Scope"), "{path}");
        assert!(challenge.unwrap().ends_with("scope=\"read:messages write:messages\""), "{path}");
    }
}

#[rocket::async_test]
async fn permissions_guard_reads_the_rbac_claim() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_with_routes(figment(&idp, json!({}))).await;

    let granted =
        key.token(&claims_with(&idp, json!({"permissions": ["read:messages"], "scope": null})));
    assert_eq!(get_with_token(&client, "/api/t/permission", &granted).await.status(), Status::Ok);

    let scope_only = key.token(&claims_with(&idp, json!({"scope": "read:messages"})));
    let (status, challenge, message) =
        outcome(get_with_token(&client, "/api/t/permission", &scope_only).await).await;
    assert_eq!((status, message.as_str()), (403, "Missing 'permissions' claim"));
    assert!(challenge.unwrap().ends_with("scope=\"read:messages\""));

    let other = key.token(&claims_with(&idp, json!({"permissions": ["write:messages"]})));
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/t/permission", &other).await).await;
    assert_eq!((status, message.as_str()), (403, "Insufficient Scope"));
}

#[rocket::async_test]
async fn scope_claims_chooses_where_scopes_come_from() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let scp_only = client_for(figment(&idp, json!({"scope_claims": ["scp"]}))).await;
    let with_permissions =
        client_for(figment(&idp, json!({"scope_claims": ["scope", "permissions"]}))).await;

    let scp = key.token(&claims_with(&idp, json!({"scp": ["read:messages"], "scope": null})));
    let scope = key.token(&claims_with(&idp, json!({"scope": "read:messages"})));
    let permissions =
        key.token(&claims_with(&idp, json!({"permissions": ["read:messages"], "scope": "openid"})));

    let status = |client, token| async move {
        get_with_token(client, "/api/private-scoped", token).await.status()
    };
    assert_eq!(status(&scp_only, &scp).await, Status::Ok);
    assert_eq!(status(&scp_only, &scope).await, Status::Forbidden);
    assert_eq!(status(&with_permissions, &permissions).await, Status::Ok);
    assert_eq!(status(&with_permissions, &scp).await, Status::Forbidden);

    let reason = connect_error(figment(&idp, json!({"scope_claims": ["roles"]}))).await;
    assert!(reason.contains("`auth.scope_claims`"), "{reason}");
}

#[rocket::async_test]
async fn claim_checks_are_authorization_failures() {
    let key = TestKey::rsa("k");
    let idp = Idp::start(&[&key]).await;
    let client = client_with_routes(figment(&idp, json!({}))).await;
    let token = |changes: Value| key.token(&claims_with(&idp, changes));

    let fine =
        token(json!({"org_id": "acme", "roles": ["admin", "editor", "x"], "email_verified": true}));
    for path in ["/api/t/org", "/api/t/roles", "/api/t/verified"] {
        assert_eq!(get_with_token(&client, path, &fine).await.status(), Status::Ok, "{path}");
    }
    let spaced = token(json!({"roles": "editor admin"}));
    assert_eq!(get_with_token(&client, "/api/t/roles", &spaced).await.status(), Status::Ok);

    let cases = [
        ("/api/t/org", token(json!({"org_id": "evil\"corp"})), "Unexpected 'org_id' value"),
        ("/api/t/org", token(json!({})), "Unexpected 'org_id' value"),
        ("/api/t/roles", token(json!({"roles": ["admin"]})), "Unexpected 'roles' value"),
        ("/api/t/verified", token(json!({"email_verified": false})), "Email not verified"),
    ];
    for (path, token, description) in cases {
        let response = client
            .get(path)
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .dispatch()
            .await;
        let (status, challenge, message) = outcome(response).await;
        assert_eq!((status, message.as_str()), (403, description), "{path}");
        assert_eq!(
            challenge.unwrap(),
            format!(
                "Bearer realm=\"api\", error=\"insufficient_scope\", error_description=\"{description}\""
            )
        );
    }
}
