//! Scope hierarchies (MCP 2026-07-28: a broader scope implies narrower
//! ones) in every scope guard, never the other way round; scope hints on
//! the 401; every needed scope in one 403; `offline_access` refused at
//! launch and never sent.

mod common;

use common::*;
use figment::Figment;
use rocket::http::Header;
use rocket::local::asynchronous::Client;
use rocket::{Build, Rocket, get, routes};
use rocket_oauth2_jwt_bearer::{
    AnyScope, HasPermission, HasScope, HasScopes, JwtAuth, Settings, scope,
};
use serde_json::{Value, json};

scope!(Read = "read:messages");
scope!(Write = "write:messages");
scope!(Admin = "messages:admin");
scope!(OfflineAccess = "offline_access");

#[get("/read")]
fn read(_token: HasScope<Read>) -> &'static str {
    "read"
}

#[get("/write")]
fn write(_token: HasScope<Write>) -> &'static str {
    "write"
}

#[get("/admin")]
fn admin(_token: HasScope<Admin>) -> &'static str {
    "admin"
}

#[get("/both")]
fn both(_token: HasScopes<(Read, Write)>) -> &'static str {
    "both"
}

#[get("/either")]
fn either(_token: AnyScope<(Write, Admin)>) -> &'static str {
    "either"
}

#[get("/permission")]
fn permission(_token: HasPermission<Read>) -> &'static str {
    "permission"
}

fn hierarchy() -> Value {
    json!({
        "scope_hierarchy": {
            "messages:admin": ["write:messages"],
            "write:messages": ["read:messages"],
        }
    })
}

fn app(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment)
        .attach(JwtAuth::fairing())
        .mount("/", routes![read, write, admin, both, either, permission])
}

async fn client(idp: &Idp, extra: Value) -> Client {
    Client::tracked(app(figment(idp, extra))).await.expect("launches")
}

/// The status and every `WWW-Authenticate` of GET `path` with `token`.
async fn call(client: &Client, path: &str, token: Option<&str>) -> (u16, Vec<String>) {
    let mut request = client.get(path);
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    let response = request.dispatch().await;
    let challenges = response.headers().get("WWW-Authenticate").map(String::from).collect();
    (response.status().code, challenges)
}

fn token_with(idp: &Idp, key: &TestKey, claims: Value) -> String {
    key.token(&claims_with(idp, claims))
}

#[rocket::async_test]
async fn a_broader_scope_satisfies_a_narrower_one_transitively_never_the_reverse() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, hierarchy()).await;
    let admin = token_with(&idp, &key, json!({"scope": "messages:admin"}));
    let writer = token_with(&idp, &key, json!({"scope": "write:messages"}));
    let reader = token_with(&idp, &key, json!({"scope": "read:messages"}));

    for path in ["/read", "/write", "/admin", "/both", "/either"] {
        assert_eq!(call(&client, path, Some(&admin)).await.0, 200, "admin on {path}");
    }
    for (path, status) in [("/read", 200), ("/write", 200), ("/admin", 403), ("/both", 200)] {
        assert_eq!(call(&client, path, Some(&writer)).await.0, status, "writer on {path}");
    }
    // The negative direction: a narrower scope never grants a broader one.
    for (path, status) in [("/read", 200), ("/write", 403), ("/admin", 403), ("/either", 403)] {
        assert_eq!(call(&client, path, Some(&reader)).await.0, status, "reader on {path}");
    }
    // Names match exactly: a prefix or a longer name grants nothing.
    for scope in ["messages:admi", "messages:admin2", "messages", "MESSAGES:ADMIN"] {
        let token = token_with(&idp, &key, json!({ "scope": scope }));
        assert_eq!(call(&client, "/read", Some(&token)).await.0, 403, "{scope}");
    }
}

#[rocket::async_test]
async fn without_a_hierarchy_scopes_match_exactly() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, json!({})).await;
    let admin = token_with(&idp, &key, json!({"scope": "messages:admin"}));
    assert_eq!(call(&client, "/admin", Some(&admin)).await.0, 200);
    assert_eq!(call(&client, "/read", Some(&admin)).await.0, 403);
}

#[rocket::async_test]
async fn permissions_follow_the_hierarchy_too() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, hierarchy()).await;
    let admin = token_with(&idp, &key, json!({"permissions": ["messages:admin"]}));
    let other = token_with(&idp, &key, json!({"permissions": ["read:reports"]}));
    assert_eq!(call(&client, "/permission", Some(&admin)).await.0, 200);
    assert_eq!(call(&client, "/permission", Some(&other)).await.0, 403);
}

#[rocket::async_test]
async fn a_401_names_the_scopes_the_route_needs_and_a_403_names_them_all_at_once() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, hierarchy()).await;

    // No token: both offered challenges carry the hint.
    let (status, challenges) = call(&client, "/both", None).await;
    assert_eq!(status, 401);
    assert_eq!(challenges.len(), 2, "{challenges:?}");
    for challenge in &challenges {
        assert!(challenge.contains(r#"scope="read:messages write:messages""#), "{challenge}");
    }
    assert!(challenges[0].starts_with(r#"Bearer realm="api", scope="#), "{challenges:?}");

    // An invalid token: the error, then the hint.
    let (status, challenges) = call(&client, "/write", Some("not.a.token")).await;
    assert_eq!(status, 401);
    assert!(
        challenges[0].starts_with(r#"Bearer realm="api", error="invalid_token""#)
            && challenges[0].contains(r#"scope="write:messages""#),
        "{challenges:?}"
    );

    // Insufficient: one challenge with every scope the operation needs.
    let reader = token_with(&idp, &key, json!({"scope": "read:messages"}));
    let (status, challenges) = call(&client, "/both", Some(&reader)).await;
    assert_eq!(status, 403);
    assert_eq!(challenges.len(), 1);
    assert_eq!(
        challenges[0],
        r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient Scope", scope="read:messages write:messages""#
    );
    assert_eq!(challenges[0].matches("scope=").count(), 1, "one scope parameter");
}

#[rocket::async_test]
async fn bad_hierarchies_stop_launch_naming_the_setting() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let cases = [
        (json!({"a": ["b"], "b": ["a"]}), "cycle: a ⇒ b ⇒ a"),
        (json!({"admin": ["admin"]}), "cycle: admin ⇒ admin"),
        (json!({"admin": ["offline_access"]}), "offline_access"),
        (json!({"admin": ["two words"]}), "not a scope"),
    ];
    for (hierarchy, why) in cases {
        let figment = figment(&idp, json!({ "scope_hierarchy": hierarchy }));
        let error = Settings::from_figment(&figment).unwrap_err().to_string();
        assert!(error.contains("auth.scope_hierarchy") && error.contains(why), "{error}");
        assert!(launch_error(figment).await.contains("fairing"));
    }
}

#[rocket::async_test]
async fn offline_access_is_refused_in_scopes_supported_and_in_a_guard() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let listed = figment(&idp, json!({"scopes_supported": ["read:messages", "offline_access"]}));
    let error = Settings::from_figment(&listed).unwrap_err().to_string();
    assert!(error.contains("auth.scopes_supported") && error.contains("offline_access"), "{error}");

    #[get("/offline")]
    fn offline(_token: HasScope<OfflineAccess>) -> &'static str {
        "never"
    }
    let rocket = rocket::custom(figment(&idp, json!({})))
        .attach(JwtAuth::fairing())
        .mount("/", routes![offline]);
    match Client::tracked(rocket).await {
        Ok(_) => panic!("a guard needing offline_access must stop launch"),
        Err(error) => assert!(error.kind().to_string().contains("sentinel"), "{error}"),
    }
}

#[rocket::async_test]
async fn scopes_missing_from_scopes_supported_are_warned_about() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let mut extra = hierarchy();
    extra["scopes_supported"] = json!(["read:messages", "write:messages"]);
    let settings = Settings::from_figment(&figment(&idp, extra)).unwrap();
    let warning = settings.warnings().iter().find(|w| w.contains("messages:admin"));
    assert!(warning.is_some_and(|w| w.contains("scope_hierarchy")), "{:?}", settings.warnings());
}
