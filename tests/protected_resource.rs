//! The service as an MCP client meets it (RFC 9728, the Model Context
//! Protocol's authorization flow): from a bare 401 to the metadata, from the
//! metadata to the authorization server, a token from there, and the API
//! with it. The binary runs as `cargo run` runs it: debug profile, the
//! development issuer, no tenant.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::process::*;
use serde_json::Value;

async fn json(response: reqwest::Response) -> Value {
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// The `resource_metadata` parameter of a `WWW-Authenticate` value.
fn resource_metadata(challenge: &str) -> Option<String> {
    let (_, rest) = challenge.split_once("resource_metadata=\"")?;
    rest.split_once('"').map(|(url, _)| url.to_owned())
}

#[tokio::test]
async fn a_client_finds_its_way_from_a_401_to_a_token() {
    let port = free_port();
    let env = [("ROCKET_PORT", port.to_string())];
    let mut command = service(Path::new(env!("CARGO_MANIFEST_DIR")), &env);
    let mut server = Running(command.stdout(Stdio::null()).spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{base}/health"), &mut server).await;
    let client = http();

    // 1. A bare request: 401, with a pointer to the metadata.
    let response = client.get(format!("{base}/api/private-scoped")).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap().to_owned();
    let metadata_url = resource_metadata(&challenge).expect("resource_metadata");
    assert_eq!(metadata_url, format!("{base}/.well-known/oauth-protected-resource"));

    // 2. The metadata: its resource is the identifier the client used.
    let metadata = json(client.get(&metadata_url).send().await.unwrap()).await;
    assert_eq!(metadata["resource"], base.as_str());
    let supported = serde_json::json!(["read:messages", "write:messages"]);
    assert_eq!(metadata["scopes_supported"], supported);
    let server_url = metadata["authorization_servers"][0].as_str().unwrap().to_owned();

    // 3. The authorization server's own metadata, and its token endpoint.
    let discovery_url = format!("{}.well-known/openid-configuration", server_url);
    let discovery = json(client.get(discovery_url).send().await.unwrap()).await;
    assert_eq!(discovery["issuer"], server_url.as_str());
    let token_endpoint = discovery["token_endpoint"].as_str().unwrap();

    // 4. A token with the scope the metadata lists, then the API.
    let scope = metadata["scopes_supported"][0].as_str().unwrap();
    let request = client
        .post(token_endpoint)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(format!("scope={scope}"));
    let grant = json(request.send().await.unwrap()).await;
    let token = grant["access_token"].as_str().unwrap();
    let response =
        client.get(format!("{base}/api/private-scoped")).bearer_auth(token).send().await.unwrap();
    assert_eq!(response.status(), 200);
}
