//! RFC 9728 protected-resource metadata, through the public API: the
//! document, where it is served, and the `resource_metadata` pointer in
//! challenges.

use figment::providers::Serialized;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{
    Algorithm, Config, ConfigError, DpopConfig, DpopMode, HasScope, JwtAuth, MtlsConfig, MtlsMode,
    Settings, scope,
};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.example.test";

scope!(ReadReports = "read:reports");

#[get("/reports")]
fn reports(_token: HasScope<ReadReports>) -> &'static str {
    "reports"
}

async fn client(settings: Settings) -> Client {
    let figment = rocket::Config::figment().merge(Serialized::default("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(JwtAuth::with_settings(settings))
        .mount("/v1", routes![reports])
        .register("/v1", rocket_oauth2_jwt_bearer::catchers());
    Client::tracked(rocket).await.expect("launches")
}

fn challenge(response: &rocket::local::asynchronous::LocalResponse<'_>) -> String {
    response.headers().get_one("WWW-Authenticate").unwrap_or_default().to_owned()
}

#[rocket::async_test]
async fn the_document_describes_the_configured_resource() {
    let issuer = TestIssuer::start().await;
    let config = Config {
        resource: Some("https://api.example.test/v1".into()),
        scopes_supported: vec!["read:reports".into()],
        resource_name: Some("Reports API".into()),
        resource_documentation: Some("https://docs.example.test/reports".into()),
        allow_query_token: true,
        ..issuer.config(AUDIENCE)
    };
    let client = client(Settings::from_config(&config).unwrap()).await;

    let response = client.get("/.well-known/oauth-protected-resource/v1").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.headers().get_one("Access-Control-Allow-Origin"), Some("*"));
    assert!(response.headers().get_one("Cache-Control").unwrap().contains("max-age="));
    let document: Value = response.into_json().await.unwrap();
    assert_eq!(
        document,
        json!({
            "resource": "https://api.example.test/v1",
            "authorization_servers": [issuer.url()],
            "scopes_supported": ["read:reports"],
            "bearer_methods_supported": ["header", "query"],
            "resource_name": "Reports API",
            "resource_documentation": "https://docs.example.test/reports",
            "dpop_signing_alg_values_supported":
                ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES256K", "EdDSA", "Ed25519"],
            "dpop_bound_access_tokens_required": false,
        })
    );

    // Only the path-inserted form describes a resource with a path.
    for other in
        ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/v2"]
    {
        assert_eq!(client.get(other).dispatch().await.status(), Status::NotFound, "{other}");
    }

    let pointer =
        "resource_metadata=\"https://api.example.test/.well-known/oauth-protected-resource/v1\"";
    let bare = client.get("/v1/reports").dispatch().await;
    assert_eq!(bare.status(), Status::Unauthorized);
    let hint = "scope=\"read:reports\"";
    assert_eq!(challenge(&bare), format!("Bearer realm=\"api\", {hint}, {pointer}"));

    let bad = client
        .get("/v1/reports")
        .header(Header::new("Authorization", "Bearer x.y.z"))
        .dispatch()
        .await;
    assert!(
        challenge(&bad)
            .ends_with(&format!("error_description=\"Invalid Compact JWS\", {hint}, {pointer}"))
    );

    let token = issuer.token(&issuer.claims(AUDIENCE));
    let unscoped = client
        .get("/v1/reports")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(unscoped.status(), Status::Forbidden);
    assert!(challenge(&unscoped).ends_with(&format!("scope=\"read:reports\", {pointer}")));

    // A 400 is not about authenticating: no pointer.
    let twice = client
        .get("/v1/reports")
        .header(Header::new("Authorization", "Bearer a"))
        .header(Header::new("Authorization", "Bearer b"))
        .dispatch()
        .await;
    assert_eq!(twice.status(), Status::BadRequest);
    assert!(!challenge(&twice).contains("resource_metadata"));
}

#[rocket::async_test]
async fn a_resource_without_a_path_is_described_at_the_bare_well_known_path() {
    let issuer = TestIssuer::start().await;
    let config =
        Config { resource: Some("https://api.example.test".into()), ..issuer.config(AUDIENCE) };
    let client = client(Settings::from_config(&config).unwrap()).await;
    let response = client.get("/.well-known/oauth-protected-resource").dispatch().await;
    let document: Value = response.into_json().await.unwrap();
    assert_eq!(document["resource"], "https://api.example.test", "exactly the setting");
    assert_eq!(document["bearer_methods_supported"], json!(["header"]));
    assert!(document.get("scopes_supported").is_none());
}

#[rocket::async_test]
async fn the_document_says_whether_dpop_is_required_or_off() {
    let issuer = TestIssuer::start().await;
    for (mode, expected) in [(DpopMode::Required, Some(true)), (DpopMode::Disabled, None)] {
        let config = Config {
            resource: Some("https://api.example.test".into()),
            dpop: DpopConfig {
                mode,
                algorithms: Some(vec![Algorithm::ES256, Algorithm::EdDSA]),
                ..DpopConfig::default()
            },
            ..issuer.config(AUDIENCE)
        };
        let client = client(Settings::from_config(&config).unwrap()).await;
        let response = client.get("/.well-known/oauth-protected-resource").dispatch().await;
        let document: Value = response.into_json().await.unwrap();
        assert_eq!(document["dpop_bound_access_tokens_required"].as_bool(), expected, "{mode:?}");
        match expected {
            Some(_) => {
                assert_eq!(document["dpop_signing_alg_values_supported"], json!(["ES256", "EdDSA"]))
            }
            None => assert!(document.get("dpop_signing_alg_values_supported").is_none()),
        }
    }
}

#[rocket::async_test]
async fn without_a_resource_there_is_no_metadata() {
    let issuer = TestIssuer::start().await;
    let config =
        Config { scopes_supported: vec!["read:reports".into()], ..issuer.config(AUDIENCE) };
    let client = client(Settings::from_config(&config).unwrap()).await;
    let response = client.get("/.well-known/oauth-protected-resource").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    let bare = client.get("/v1/reports").dispatch().await;
    assert_eq!(challenge(&bare), "Bearer realm=\"api\", scope=\"read:reports\"");
}

#[test]
fn a_resource_must_be_an_https_url_without_query_or_fragment() {
    let base = || Config {
        issuer_base_url: Some("https://issuer.example.test/".into()),
        audience: vec![AUDIENCE.into()],
        ..Config::default()
    };
    for bad in [
        "http://api.example.test",
        "https://api.example.test/#x",
        "https://api.example.test/?a=1",
        " https://api.example.test",
        "api.example.test",
    ] {
        let error =
            Settings::from_config(&Config { resource: Some(bad.into()), ..base() }).unwrap_err();
        assert!(matches!(error, ConfigError::Invalid { .. }), "{bad}: {error}");
        assert_eq!(error.setting(), "resource", "{bad}: {error}");
    }
    let config = Config { scopes_supported: vec!["read reports".into()], ..base() };
    let error = Settings::from_config(&config).unwrap_err();
    assert_eq!(error.setting(), "scopes_supported");
    let loopback = Config { resource: Some("http://127.0.0.1:3010".into()), ..base() };
    assert!(Settings::from_config(&loopback).is_ok());
}

#[rocket::async_test]
async fn the_document_says_when_certificate_bound_tokens_are_accepted() {
    let issuer = TestIssuer::start().await;
    let xfcc = Some("X-Forwarded-Client-Cert".to_owned());
    for (mtls, expected) in [
        (MtlsConfig { proxy_header: xfcc.clone(), ..MtlsConfig::default() }, Some(true)),
        (MtlsConfig { proxy_header: xfcc, mode: MtlsMode::Disabled }, None),
        (MtlsConfig::default(), None),
    ] {
        let config = Config {
            resource: Some("https://api.example.test".into()),
            mtls: mtls.clone(),
            ..issuer.config(AUDIENCE)
        };
        let client = client(Settings::from_config(&config).unwrap()).await;
        let response = client.get("/.well-known/oauth-protected-resource").dispatch().await;
        let document: Value = response.into_json().await.unwrap();
        let field = document["tls_client_certificate_bound_access_tokens"].as_bool();
        assert_eq!(field, expected, "{mtls:?}");
    }
}

#[rocket::async_test]
async fn browsers_may_preflight_the_document_and_other_methods_are_405() {
    let issuer = TestIssuer::start().await;
    for (resource, path) in [
        ("https://api.example.test", "/.well-known/oauth-protected-resource"),
        ("https://api.example.test/v1", "/.well-known/oauth-protected-resource/v1"),
    ] {
        let config = Config { resource: Some(resource.into()), ..issuer.config(AUDIENCE) };
        let client = client(Settings::from_config(&config).unwrap()).await;

        // What a browser sends before the MCP SDK's metadata request.
        let response = client
            .options(path)
            .header(Header::new("Origin", "https://app.example.test"))
            .header(Header::new("Access-Control-Request-Method", "GET"))
            .header(Header::new("Access-Control-Request-Headers", "MCP-Protocol-Version"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::NoContent, "{path}");
        let header = |name| response.headers().get_one(name).map(str::to_owned);
        assert_eq!(header("Access-Control-Allow-Origin").as_deref(), Some("*"));
        assert_eq!(header("Access-Control-Allow-Methods").as_deref(), Some("GET, HEAD"));
        assert_eq!(header("Access-Control-Allow-Headers").as_deref(), Some("mcp-protocol-version"));
        // A header list that isn't one is allowed nothing.
        let response = client
            .options(path)
            .header(Header::new("Origin", "https://app.example.test"))
            .header(Header::new("Access-Control-Request-Headers", "x-a, bad header"))
            .dispatch()
            .await;
        assert_eq!(response.status(), Status::NoContent);
        assert_eq!(response.headers().get_one("Access-Control-Allow-Headers"), None);

        for method in
            [rocket::http::Method::Post, rocket::http::Method::Put, rocket::http::Method::Delete]
        {
            let response = client.req(method, path).dispatch().await;
            assert_eq!(response.status(), Status::MethodNotAllowed, "{method} {path}");
            assert_eq!(response.headers().get_one("Allow"), Some("GET, HEAD, OPTIONS"));
            let body: Value = response.into_json().await.unwrap();
            assert_eq!(body, json!({"message": "Method Not Allowed"}));
        }
        assert_eq!(client.head(path).dispatch().await.status(), Status::Ok);
        // Elsewhere under the well-known path, nothing is served.
        let other = "/.well-known/oauth-protected-resource/other";
        assert_eq!(client.options(other).dispatch().await.status(), Status::NotFound);
    }
}
