//! `/mcp` driven by the official Rust MCP SDK's client (`rmcp`) over real
//! HTTP on loopback, as a client of MCP 2026-07-28 (which sends
//! `Mcp-Method` / `Mcp-Name`) and as an older one (which sends neither):
//! a bare 401 pointing at the metadata, discovery, a token from the test
//! issuer, `tools/list`, a permitted `tools/call`, and the step-up 403 for
//! the other tool, naming its scope.

mod common;

use std::sync::{Arc, Mutex};

use common::*;
use figment::providers::Serialized;
use rmcp::model::{CallToolRequestParams, ClientConfig, ProtocolVersion};
use rmcp::service::{RoleClient, RunningService};
use rmcp::transport::StreamableHttpClientTransport;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::{ClientLifecycleMode, ClientServiceExt, ServiceExt};
use rocket::fairing::AdHoc;
use serde_json::{Value, json};

/// The app on a free loopback port against `idp`, with the `[auth.mcp]`
/// table a user copies from the README; records, per POST /mcp, whether
/// it carried `Mcp-Method`.
async fn serve(idp: &Idp) -> (String, Arc<Mutex<Vec<bool>>>) {
    let port = free_port();
    let resource = format!("http://127.0.0.1:{port}");
    let auth = json!({
        "resource": resource,
        "scopes_supported": ["read:messages", "write:messages", "messages:admin"],
        "scope_hierarchy": {"messages:admin": ["read:messages", "write:messages"]},
        "mcp": {
            "endpoint": "/mcp",
            "default_scopes": ["read:messages"],
            "tools": {"read_messages": ["read:messages"], "post_message": ["write:messages"]},
        },
    });
    let figment = figment(idp, auth)
        .merge(Serialized::default("port", port))
        .merge(Serialized::default("address", "127.0.0.1"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let rocket = auth0_rocket_api::rocket_from(figment).attach(AdHoc::on_request(
        "record Mcp-Method",
        move |req, _| {
            let record = record.clone();
            Box::pin(async move {
                if req.uri().path() == "/mcp" && req.method() == rocket::http::Method::Post {
                    let sent = req.headers().get_one("Mcp-Method").is_some();
                    record.lock().unwrap().push(sent);
                }
            })
        },
    ));
    tokio::spawn(async move { rocket.launch().await.map(drop).map_err(|e| e.to_string()) });
    let up = eventually(std::time::Duration::from_secs(10), || async {
        reqwest::Client::new().get(format!("{resource}/health")).send().await.is_ok()
    });
    assert!(up.await, "the app came up");
    (resource, seen)
}

/// An `rmcp` client of `protocol` with `token`, if any.
async fn connect(
    url: &str,
    token: Option<&str>,
    protocol: ProtocolVersion,
) -> Result<RunningService<RoleClient, ClientConfig>, String> {
    let mut config = StreamableHttpClientTransportConfig::with_uri(format!("{url}/mcp"));
    config.auth_header = token.map(str::to_owned);
    let transport = StreamableHttpClientTransport::from_config(config);
    let serving = match protocol.has_initialize() {
        // An older client: the `initialize` handshake at its version.
        true => {
            let mut client = ClientConfig::default();
            client.protocol_version = protocol;
            client.serve(transport).await
        }
        // MCP 2026-07-28: `server/discover`, then self-contained requests.
        false => {
            let lifecycle = ClientLifecycleMode::Discover { preferred_versions: vec![protocol] };
            ClientConfig::default().serve_with_lifecycle(transport, lifecycle).await
        }
    };
    serving.map_err(|e| format!("{e:?}"))
}

fn tool(name: &str, arguments: Value) -> CallToolRequestParams {
    let arguments = serde_json::from_value(arguments).expect("an object");
    CallToolRequestParams::new(name.to_owned()).with_arguments(arguments)
}

/// The whole journey with a client of `protocol`; whether it sent the
/// headers is returned.
async fn journey(protocol: ProtocolVersion) -> Vec<bool> {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let (url, seen) = serve(&idp).await;

    // A bare request: 401, pointing at the metadata and naming the scopes.
    let bare = reqwest::Client::new()
        .post(format!("{url}/mcp"))
        .header("Content-Type", "application/json")
        .header("Accept", "application/json, text/event-stream")
        .body(r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status(), 401);
    let challenge = bare.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(r#"scope="read:messages""#), "{challenge}");
    let metadata_url = challenge
        .split("resource_metadata=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("resource_metadata in the challenge")
        .to_owned();

    // The SDK client without a token gets the same answer.
    let Err(refused) = connect(&url, None, protocol.clone()).await else {
        panic!("401 without a token");
    };
    assert!(refused.contains("resource_metadata"), "{refused}");

    // Discovery: the endpoint's own metadata names exactly the URL called
    // (RFC 9728 §3.3), and the issuer.
    assert_eq!(metadata_url, format!("{url}/.well-known/oauth-protected-resource/mcp"));
    let metadata: Value =
        reqwest::Client::new().get(&metadata_url).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{url}/mcp"));
    assert_eq!(
        metadata["authorization_servers"][0].as_str().unwrap().trim_end_matches('/'),
        idp.base_url().trim_end_matches('/')
    );
    let supported = metadata["scopes_supported"].as_array().unwrap();
    assert!(supported.iter().all(|s| s != "offline_access"));

    // A token the issuer granted `read:messages` alone.
    let token = key.token(&claims_with(&idp, json!({"scope": "read:messages"})));
    let client = connect(&url, Some(&token), protocol.clone()).await.expect("connects");
    let tools = client.list_all_tools().await.expect("tools/list");
    let mut names: Vec<&str> = tools.iter().map(|t| &*t.name).collect();
    names.sort_unstable();
    assert_eq!(names, ["post_message", "read_messages"]);
    let read = client.call_tool(tool("read_messages", json!({}))).await.expect("permitted");
    assert_ne!(read.is_error, Some(true));

    // The other tool: the step-up 403 naming the scope it needs.
    let step_up = client.call_tool(tool("post_message", json!({"text": "hi"}))).await;
    let error = format!("{:?}", step_up.expect_err("403 for post_message"));
    assert!(error.contains("insufficient_scope"), "{error}");
    // The SDK read the challenge's `scope` (Debug escapes its quotes).
    assert!(error.contains(r#"required_scope: Some("write:messages")"#), "{error}");
    let _ = client.cancel().await;

    // A broader scope calls it.
    let admin = key.token(&claims_with(&idp, json!({"scope": "messages:admin"})));
    let client = connect(&url, Some(&admin), protocol).await.expect("connects");
    let posted = client.call_tool(tool("post_message", json!({"text": "hi"}))).await;
    assert_ne!(posted.expect("messages:admin implies write:messages").is_error, Some(true));
    let _ = client.cancel().await;

    let seen = seen.lock().unwrap().clone();
    seen
}

#[tokio::test]
async fn an_mcp_2026_client_is_stepped_up_before_the_handler_runs() {
    let seen = journey(ProtocolVersion::V_2026_07_28).await;
    // The first POST is the test's own bare request.
    assert!(seen.len() > 4 && seen[1..].iter().all(|sent| *sent), "Mcp-Method on each: {seen:?}");
}

#[tokio::test]
async fn an_older_client_without_the_headers_gets_the_same_least_privilege() {
    let seen = journey(ProtocolVersion::V_2025_11_25).await;
    assert!(seen.iter().all(|sent| !sent), "it sent no Mcp-Method: {seen:?}");
}
