//! The route contract: bodies, statuses, challenges, HEAD, 404s, caching
//! headers and CORS, through the real rocket on a local client.

mod common;

use common::*;
use rocket::http::{Header, Method, Status};
use serde_json::{Value, json};

const PUBLIC: &str =
    "Hello from a public endpoint! You don't need to be authenticated to see this.";
const PRIVATE: &str = "Hello from a private endpoint! You need to be authenticated to see this.";
const SCOPED: &str = "Hello from a private endpoint! You need to be authenticated and have a scope \
                      of read:messages to see this.";

#[rocket::async_test]
async fn the_three_routes_answer_their_exact_bodies() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    let response = get(&client, "/api/public", None).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.content_type(), Some(rocket::http::ContentType::JSON));
    assert_eq!(response.into_json::<Value>().await.unwrap(), json!({ "message": PUBLIC }));

    let response = get_with_token(&client, "/api/private", &token).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(response.into_json::<Value>().await.unwrap(), json!({ "message": PRIVATE }));

    let response = get_with_token(&client, "/api/private-scoped", &token).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.headers().get_one("Cache-Control"), Some("no-store"));
    assert_eq!(response.into_json::<Value>().await.unwrap(), json!({ "message": SCOPED }));
}

/// The cases of Auth0's black-box suite for API quickstarts.
#[rocket::async_test]
async fn auth0_quickstart_suite_statuses() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let valid = key.token(&good_claims(&idp));
    let (head, _) = valid.rsplit_once('.').unwrap();
    let broken_signature = format!("{head}.{}", b64([7u8; 256]));

    let missing = "Bearer realm=\"api\"".to_owned();
    let cases: Vec<(Option<String>, u16, String, &str)> = vec![
        (None, 401, missing.clone(), "Unauthorized"),
        (Some("".into()), 401, missing.clone(), "Unauthorized"),
        (Some("Basic dXNlcjpwYXNz".into()), 401, missing.clone(), "Unauthorized"),
        (
            Some("Bearer ".into()),
            401,
            invalid_token("Bearer token is empty"),
            "Bearer token is empty",
        ),
        (
            Some("Bearer".into()),
            401,
            invalid_token("Bearer token is empty"),
            "Bearer token is empty",
        ),
        (
            Some("Bearer invalidToken".into()),
            401,
            invalid_token("Invalid Compact JWS"),
            "Invalid Compact JWS",
        ),
        (
            Some("Bearer invalidToken abc".into()),
            401,
            invalid_token("Malformed bearer token"),
            "Malformed bearer token",
        ),
        (
            Some(format!("Bearer {broken_signature}")),
            401,
            invalid_token("signature verification failed"),
            "signature verification failed",
        ),
    ];

    for path in ["/api/private", "/api/private-scoped"] {
        for (authorization, status, challenge, message) in &cases {
            let response = get(&client, path, authorization.as_deref()).await;
            let got = outcome(response).await;
            // A 401 from a route that needs scopes names them (MCP
            // 2026-07-28 asks it of every protected resource).
            let challenge = match (path, status) {
                ("/api/private-scoped", 401) => format!("{challenge}, scope=\"read:messages\""),
                _ => challenge.clone(),
            };
            assert_eq!(
                got,
                (*status, Some(challenge), message.to_string()),
                "{path} {authorization:?}"
            );
        }
    }

    let no_scope = key.token(&claims_with(&idp, json!({"scope": null})));
    let (status, challenge, message) =
        outcome(get_with_token(&client, "/api/private-scoped", &no_scope).await).await;
    assert_eq!((status, message.as_str()), (403, "Missing 'scope' claim"));
    assert_eq!(
        challenge.unwrap(),
        "Bearer realm=\"api\", error=\"insufficient_scope\", \
         error_description=\"Missing 'scope' claim\", scope=\"read:messages\""
    );

    let write_only = key.token(&claims_with(&idp, json!({"scope": "write:messages"})));
    let (status, challenge, message) =
        outcome(get_with_token(&client, "/api/private-scoped", &write_only).await).await;
    assert_eq!((status, message.as_str()), (403, "Insufficient Scope"));
    assert_eq!(
        challenge.unwrap(),
        "Bearer realm=\"api\", error=\"insufficient_scope\", \
         error_description=\"Insufficient Scope\", scope=\"read:messages\""
    );

    // The same tokens are fine where no scope is needed.
    for token in [&no_scope, &write_only, &valid] {
        assert_eq!(get_with_token(&client, "/api/private", token).await.status(), Status::Ok);
    }
    assert_eq!(get_with_token(&client, "/api/private-scoped", &valid).await.status(), Status::Ok);
}

#[rocket::async_test]
async fn head_works_and_has_no_body() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&good_claims(&idp));

    let response = client.head("/api/public").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert!(response.into_bytes().await.unwrap_or_default().is_empty());

    let response = client
        .head("/api/private-scoped")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::Ok);

    let response = client.head("/api/private").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.headers().get_one("WWW-Authenticate"), Some("Bearer realm=\"api\""));
}

#[rocket::async_test]
async fn unknown_api_paths_answer_json_404() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;

    for path in ["/api/nope", "/api/private/extra", "/api", "/api/public?x=1&y"] {
        let response = client.get(path).dispatch().await;
        if path.starts_with("/api/public") {
            assert_eq!(response.status(), Status::Ok);
            continue;
        }
        assert_eq!(response.status(), Status::NotFound, "{path}");
        assert_eq!(response.into_json::<Value>().await.unwrap(), json!({"message": "Not Found"}));
    }

    let response = client.post("/api/private").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.into_json::<Value>().await.unwrap(), json!({"message": "Not Found"}));
}

#[rocket::async_test]
async fn errors_and_public_answers_are_not_marked_no_store() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;

    let response = client.get("/api/public").dispatch().await;
    assert_eq!(response.headers().get_one("Cache-Control"), None);
    let response = client.get("/api/private").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.headers().get_one("Cache-Control"), None);
}

#[rocket::async_test]
async fn the_explorer_page_is_served_and_a_missing_folder_is_not_fatal() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let page = client.get("/").dispatch().await;
    assert_eq!(page.status(), Status::Ok);
    assert!(page.into_string().await.unwrap().contains("API explorer"));

    let settings = figment(&idp, json!({})).merge(("static_dir", "/nonexistent/static"));
    let client = client_for(settings).await;
    assert_eq!(client.get("/").dispatch().await.status(), Status::NotFound);
    assert_eq!(client.get("/api/public").dispatch().await.status(), Status::Ok);
}

#[rocket::async_test]
async fn cors_allows_the_configured_origin_only() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let spa = "http://localhost:3000";

    // Allowed origin: header on success and on errors, so the SPA can read them.
    for path in ["/api/public", "/api/private", "/api/nope"] {
        let response = client.get(path).header(Header::new("Origin", spa)).dispatch().await;
        assert_eq!(response.headers().get_one("Access-Control-Allow-Origin"), Some(spa), "{path}");
        assert!(response.headers().get("Vary").any(|v| v.contains("Origin")), "{path}");
        assert_eq!(
            response.headers().get_one("Access-Control-Expose-Headers"),
            Some("WWW-Authenticate, DPoP-Nonce")
        );
    }

    // Other origins, or none: exactly as without CORS.
    for origin in [Some("https://evil.example"), Some("http://localhost:3001"), Some("null"), None]
    {
        for (path, status) in [("/api/public", Status::Ok), ("/api/private", Status::Unauthorized)]
        {
            let mut request = client.get(path);
            if let Some(origin) = origin {
                request = request.header(Header::new("Origin", origin));
            }
            let response = request.dispatch().await;
            assert_eq!(response.status(), status, "{origin:?} {path}");
            assert_eq!(response.headers().get_one("Access-Control-Allow-Origin"), None);
        }
    }
}

#[rocket::async_test]
async fn cors_preflight() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;

    let preflight = |origin: &'static str| {
        client
            .req(Method::Options, "/api/private-scoped")
            .header(Header::new("Origin", origin))
            .header(Header::new("Access-Control-Request-Method", "GET"))
            .header(Header::new("Access-Control-Request-Headers", "authorization, dpop"))
    };

    let response = preflight("http://localhost:3000").dispatch().await;
    assert_eq!(response.status(), Status::NoContent);
    let headers = response.headers();
    assert_eq!(headers.get_one("Access-Control-Allow-Origin"), Some("http://localhost:3000"));
    assert!(headers.get_one("Access-Control-Allow-Methods").unwrap().contains("GET"));
    let allowed = headers.get_one("Access-Control-Allow-Headers").unwrap();
    assert!(allowed.contains("Authorization") && allowed.contains("DPoP"), "{allowed}");

    let response = preflight("https://evil.example").dispatch().await;
    assert_eq!(response.status(), Status::NotFound);
    assert_eq!(response.headers().get_one("Access-Control-Allow-Origin"), None);

    // A browser MCP client's preflight to /mcp: POST and the MCP headers.
    let mcp = |origin: &'static str| {
        client
            .req(Method::Options, "/mcp")
            .header(Header::new("Origin", origin))
            .header(Header::new("Access-Control-Request-Method", "POST"))
            .header(Header::new("Access-Control-Request-Headers", "authorization, mcp-method"))
    };
    let response = mcp("http://localhost:3000").dispatch().await;
    assert_eq!(response.status(), Status::NoContent);
    let headers = response.headers();
    assert_eq!(headers.get_one("Access-Control-Allow-Methods"), Some("POST, OPTIONS"));
    let allowed = headers.get_one("Access-Control-Allow-Headers").unwrap();
    for header in ["Authorization", "MCP-Protocol-Version", "Mcp-Method", "Mcp-Name"] {
        assert!(allowed.contains(header), "{header}: {allowed}");
    }
    assert_eq!(mcp("https://evil.example").dispatch().await.status(), Status::NotFound);
}

#[rocket::async_test]
async fn cors_origins_are_a_setting() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let settings =
        figment(&idp, json!({})).merge(("cors.allowed_origins", ["https://app.example.test"]));
    let client = client_for(settings).await;

    let response = client
        .get("/api/public")
        .header(Header::new("Origin", "https://app.example.test"))
        .dispatch()
        .await;
    assert_eq!(
        response.headers().get_one("Access-Control-Allow-Origin"),
        Some("https://app.example.test")
    );
    let response = client
        .get("/api/public")
        .header(Header::new("Origin", "http://localhost:3000"))
        .dispatch()
        .await;
    assert_eq!(response.headers().get_one("Access-Control-Allow-Origin"), None);

    for bad in [json!(["*"]), json!(["https://app.example.test/"]), json!(["app.example.test"])] {
        let error =
            launch_error(figment(&idp, json!({})).merge(("cors.allowed_origins", bad.clone())))
                .await;
        assert!(error.contains("fairing"), "{bad}: {error}");
    }
}

#[rocket::async_test]
async fn mcp_answers_bad_bodies_and_other_methods_as_json() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let token = key.token(&claims_with(&idp, json!({"scope": "read:messages"})));

    // Not JSON: JSON-RPC parse error, after the token was checked.
    let response = client
        .post("/mcp")
        .header(Header::new("Authorization", format!("Bearer {token}")))
        .header(Header::new("Content-Type", "application/json"))
        .body("{not json")
        .dispatch()
        .await;
    assert_eq!(response.status(), Status::BadRequest);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["error"]["code"], -32700);

    // Without a token the body is never read: 401 first.
    let response = client.post("/mcp").body("{not json").dispatch().await;
    assert_eq!(response.status(), Status::Unauthorized);

    // No stream to open: 405, saying what is allowed.
    let response = client.get("/mcp").dispatch().await;
    assert_eq!(response.status(), Status::MethodNotAllowed);
    assert_eq!(response.headers().get_one("Allow"), Some("POST"));
}
