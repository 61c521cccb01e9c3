//! The `McpAccess` guard: per-tool scopes from `Mcp-Method` / `Mcp-Name`
//! (Base64 form included) before the handler runs, the same scopes from
//! the body for clients that send no headers, header/body mismatches
//! refused as MCP says (400, JSON-RPC -32020), and the scope hierarchy.

mod common;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::*;
use rocket::http::{ContentType, Header};
use rocket::local::asynchronous::Client;
use rocket::serde::json::Json;
use rocket::{post, routes};
use rocket_oauth2_jwt_bearer::{AuthError, JwtAuth, McpAccess};
use serde_json::{Value, json};

/// Answers every JSON-RPC request with its method, once authorized.
#[post("/mcp", format = "json", data = "<request>")]
fn mcp(access: McpAccess, request: Json<Value>) -> Result<Json<Value>, AuthError> {
    access.authorize(&request)?;
    Ok(Json(json!({"jsonrpc": "2.0", "id": request["id"], "result": {"ran": request["method"]}})))
}

fn settings() -> Value {
    json!({
        "scope_hierarchy": { "messages:admin": ["read:messages", "write:messages"] },
        "mcp": {
            "default_scopes": ["mcp:use"],
            "tools": {
                "read_messages": ["mcp:use", "read:messages"],
                "post_message": ["mcp:use", "write:messages"],
                "日本語": ["mcp:use", "write:messages"],
            },
            "resources": { "file:///secret.txt": ["mcp:use", "read:secrets"] },
        },
    })
}

async fn client(idp: &Idp) -> Client {
    let rocket = rocket::custom(figment(idp, settings()))
        .attach(JwtAuth::fairing())
        .mount("/", routes![mcp]);
    Client::tracked(rocket).await.expect("launches")
}

fn call_tool(tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
           "params": {"name": tool, "arguments": {}}})
}

/// What came back: status, challenges, body.
struct Answer {
    status: u16,
    challenges: Vec<String>,
    body: Value,
}

/// POSTs `body` with `token` and the headers `headers` (name, value).
async fn post(
    client: &Client,
    token: Option<&str>,
    headers: &[(&str, &str)],
    body: &Value,
) -> Answer {
    let mut request = client.post("/mcp").header(ContentType::JSON).body(body.to_string());
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    for (name, value) in headers {
        request = request.header(Header::new(name.to_string(), value.to_string()));
    }
    let response = request.dispatch().await;
    let status = response.status().code;
    let challenges = response.headers().get("WWW-Authenticate").map(String::from).collect();
    let body = response.into_json().await.unwrap_or(Value::Null);
    Answer { status, challenges, body }
}

fn tool_headers(tool: &str) -> [(&'static str, String); 2] {
    [("Mcp-Method", "tools/call".to_owned()), ("Mcp-Name", tool.to_owned())]
}

fn as_refs<'h>(headers: &'h [(&'static str, String)]) -> Vec<(&'static str, &'h str)> {
    headers.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

#[rocket::async_test]
async fn a_tool_needs_its_own_scopes_with_the_headers_or_without() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let reader = key.token(&claims_with(&idp, json!({"scope": "mcp:use read:messages"})));

    for with_headers in [true, false] {
        let run = |tool: &'static str| {
            let headers = if with_headers { tool_headers(tool).to_vec() } else { vec![] };
            let client = &client;
            let reader = reader.clone();
            async move { post(client, Some(&reader), &as_refs(&headers), &call_tool(tool)).await }
        };
        let allowed = run("read_messages").await;
        assert_eq!(allowed.status, 200, "headers: {with_headers}");
        assert_eq!(allowed.body["result"]["ran"], "tools/call");

        let refused = run("post_message").await;
        assert_eq!(refused.status, 403, "headers: {with_headers}");
        assert_eq!(
            refused.challenges,
            [
                r#"Bearer realm="api", error="insufficient_scope", error_description="Insufficient Scope", scope="mcp:use write:messages""#
            ],
            "headers: {with_headers}: one challenge naming every scope"
        );
    }
}

#[rocket::async_test]
async fn a_broader_scope_calls_every_tool_and_a_narrower_one_does_not() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let admin = key.token(&claims_with(&idp, json!({"scope": "mcp:use messages:admin"})));
    let narrow = key.token(&claims_with(&idp, json!({"scope": "read:messages write:messages"})));
    for tool in ["read_messages", "post_message"] {
        let headers = tool_headers(tool);
        let answer = post(&client, Some(&admin), &as_refs(&headers), &call_tool(tool)).await;
        assert_eq!(answer.status, 200, "{tool}");
        // Missing `mcp:use`: the narrower scopes don't make up for it.
        let answer = post(&client, Some(&narrow), &as_refs(&headers), &call_tool(tool)).await;
        assert_eq!(answer.status, 403, "{tool}");
    }
    // `messages:admin` doesn't reach what it doesn't imply.
    let read = json!({"jsonrpc": "2.0", "id": 1, "method": "resources/read",
                      "params": {"uri": "file:///secret.txt"}});
    let headers = [("Mcp-Method", "resources/read"), ("Mcp-Name", "file:///secret.txt")];
    assert_eq!(post(&client, Some(&admin), &headers, &read).await.status, 403);
}

#[rocket::async_test]
async fn without_a_token_the_401_names_the_scopes_of_the_operation() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let headers = tool_headers("post_message");
    let answer = post(&client, None, &as_refs(&headers), &call_tool("post_message")).await;
    assert_eq!(answer.status, 401);
    assert!(!answer.challenges.is_empty());
    for challenge in &answer.challenges {
        assert!(challenge.contains(r#"scope="mcp:use write:messages""#), "{challenge}");
    }
    // An older client: the operation is unknown, the default scopes are named.
    let answer = post(&client, None, &[], &call_tool("post_message")).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenges[0].contains(r#"scope="mcp:use""#), "{:?}", answer.challenges);
}

#[rocket::async_test]
async fn a_base64_mcp_name_is_decoded_before_it_is_looked_up() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let writer = key.token(&claims_with(&idp, json!({"scope": "mcp:use write:messages"})));
    let reader = key.token(&claims_with(&idp, json!({"scope": "mcp:use read:messages"})));
    let encoded = format!("=?base64?{}?=", STANDARD.encode("日本語"));
    let headers = [("Mcp-Method", "tools/call"), ("Mcp-Name", encoded.as_str())];
    assert_eq!(post(&client, Some(&writer), &headers, &call_tool("日本語")).await.status, 200);
    assert_eq!(post(&client, Some(&reader), &headers, &call_tool("日本語")).await.status, 403);
    // A plain ASCII name may come Base64-wrapped too.
    let wrapped = format!("=?base64?{}?=", STANDARD.encode("post_message"));
    let headers = [("Mcp-Method", "tools/call"), ("Mcp-Name", wrapped.as_str())];
    let answer = post(&client, Some(&writer), &headers, &call_tool("post_message")).await;
    assert_eq!(answer.status, 200);
}

#[rocket::async_test]
async fn headers_that_disagree_with_the_body_are_a_400_json_rpc_error() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let reader = key.token(&claims_with(&idp, json!({"scope": "mcp:use read:messages"})));

    // Headers name the tool the token may call; the body calls another.
    let headers = tool_headers("read_messages");
    let answer = post(&client, Some(&reader), &as_refs(&headers), &call_tool("post_message")).await;
    assert_eq!(answer.status, 400);
    assert!(answer.challenges.is_empty(), "{:?}", answer.challenges);
    assert_eq!(answer.body["jsonrpc"], "2.0");
    assert_eq!(answer.body["id"], 7);
    assert_eq!(answer.body["error"]["code"], -32020);

    let mismatches: Vec<(Vec<(&str, &str)>, Value)> = vec![
        // Another method in the body.
        (vec![("Mcp-Method", "tools/list")], call_tool("read_messages")),
        // A name-bearing method without Mcp-Name (the guard answers).
        (vec![("Mcp-Method", "tools/call")], call_tool("read_messages")),
        // Mcp-Name without Mcp-Method.
        (vec![("Mcp-Name", "read_messages")], call_tool("read_messages")),
        // Mcp-Name on a method that names nothing.
        (
            vec![("Mcp-Method", "tools/list"), ("Mcp-Name", "read_messages")],
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
        ),
        // Two Mcp-Method field lines.
        (
            vec![
                ("Mcp-Method", "tools/call"),
                ("Mcp-Method", "tools/call"),
                ("Mcp-Name", "read_messages"),
            ],
            call_tool("read_messages"),
        ),
        // Base64 that doesn't decode.
        (
            vec![("Mcp-Method", "tools/call"), ("Mcp-Name", "=?base64?!!?=")],
            call_tool("read_messages"),
        ),
        // The markers are case-sensitive: this names another tool.
        (
            vec![("Mcp-Method", "tools/call"), ("Mcp-Name", "=?BASE64?cmVhZF9tZXNzYWdlcw==?=")],
            call_tool("read_messages"),
        ),
    ];
    for (headers, body) in mismatches {
        let answer = post(&client, Some(&reader), &headers, &body).await;
        assert_eq!(answer.status, 400, "{headers:?}");
        assert_eq!(answer.body["error"]["code"], -32020, "{headers:?}: {}", answer.body);
        assert!(answer.challenges.is_empty());
    }
}

#[rocket::async_test]
async fn a_batch_or_a_body_without_a_method_is_refused() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let reader = key.token(&claims_with(&idp, json!({"scope": "mcp:use read:messages"})));
    // A batch could hide a privileged call behind an allowed one.
    let batch = json!([call_tool("read_messages"), call_tool("post_message")]);
    for body in [batch, json!({"jsonrpc": "2.0", "id": 3}), json!("tools/call")] {
        let answer = post(&client, Some(&reader), &[], &body).await;
        assert_eq!(answer.status, 400, "{body}");
        assert_eq!(answer.body["error"]["code"], -32600, "{body}");
    }
}

#[rocket::async_test]
async fn unlisted_operations_need_the_default_scopes() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    let user = key.token(&claims_with(&idp, json!({"scope": "mcp:use"})));
    let nobody = key.token(&claims_with(&idp, json!({"scope": "read:messages"})));
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    assert_eq!(
        post(&client, Some(&user), &[("Mcp-Method", "tools/list")], &list).await.status,
        200
    );
    assert_eq!(post(&client, Some(&user), &[], &list).await.status, 200);
    assert_eq!(
        post(&client, Some(&nobody), &[("Mcp-Method", "tools/list")], &list).await.status,
        403
    );
    assert_eq!(post(&client, Some(&nobody), &[], &list).await.status, 403);
}

#[rocket::get("/api/me")]
fn me(_token: rocket_oauth2_jwt_bearer::BearerToken) -> &'static str {
    "me"
}

#[rocket::async_test]
async fn the_endpoint_has_its_own_metadata_whose_resource_is_its_url() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let mut extra = settings();
    extra["resource"] = json!("https://api.example.test");
    extra["mcp"]["endpoint"] = json!("/mcp");
    let rocket = rocket::custom(figment(&idp, extra))
        .attach(JwtAuth::fairing())
        .mount("/", routes![mcp, me]);
    let client = Client::tracked(rocket).await.expect("launches");

    // The endpoint's challenges point at its own document (RFC 9728 §3.3:
    // `resource` must be the URL the client called)...
    let pointer =
        r#"resource_metadata="https://api.example.test/.well-known/oauth-protected-resource/mcp""#;
    let answer = post(&client, None, &[], &call_tool("read_messages")).await;
    assert_eq!(answer.status, 401);
    assert!(answer.challenges.iter().all(|c| c.ends_with(pointer)), "{:?}", answer.challenges);
    let reader = key.token(&claims_with(&idp, json!({"scope": "mcp:use read:messages"})));
    let headers = tool_headers("post_message");
    let answer = post(&client, Some(&reader), &as_refs(&headers), &call_tool("post_message")).await;
    assert_eq!(answer.status, 403);
    assert!(answer.challenges[0].ends_with(pointer), "{:?}", answer.challenges);
    // ...from the handler's check too.
    let answer = post(&client, Some(&reader), &[], &call_tool("post_message")).await;
    assert_eq!(answer.status, 403);
    assert!(answer.challenges[0].ends_with(pointer), "{:?}", answer.challenges);

    let document: Value = client
        .get("/.well-known/oauth-protected-resource/mcp")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(document["resource"], "https://api.example.test/mcp");
    assert_eq!(
        document["authorization_servers"][0].as_str().unwrap().trim_end_matches('/'),
        idp.base_url().trim_end_matches('/')
    );

    // The rest of the API keeps the API's document.
    let response = client.get("/api/me").dispatch().await;
    let challenge = response.headers().get_one("WWW-Authenticate").unwrap().to_owned();
    assert!(
        challenge.ends_with(
            r#"resource_metadata="https://api.example.test/.well-known/oauth-protected-resource""#
        ),
        "{challenge}"
    );
    let root: Value = client
        .get("/.well-known/oauth-protected-resource")
        .dispatch()
        .await
        .into_json()
        .await
        .unwrap();
    assert_eq!(root["resource"], "https://api.example.test");
    let other = "/.well-known/oauth-protected-resource/mcp/x";
    assert_eq!(client.get(other).dispatch().await.status().code, 404);
}

#[rocket::async_test]
async fn an_endpoint_that_is_not_a_path_stops_launch() {
    let idp = Idp::start(&[]).await;
    for bad in ["mcp", "/", "//evil.example/mcp", "/mcp?x=1", "/m cp", "https://a/mcp"] {
        let figment = figment(&idp, json!({"mcp": {"endpoint": bad}}));
        let error =
            rocket_oauth2_jwt_bearer::Settings::from_figment(&figment).unwrap_err().to_string();
        assert!(error.contains("auth.mcp.endpoint"), "{bad}: {error}");
    }
}
