//! An issuer's `policy`: the clients that may call (`client_id`, else
//! `azp`), the organizations (Auth0 `org_id`, `org_name` ignoring case),
//! delegated tokens (RFC 8693 `act`) allowed, forbidden, required or from
//! listed actors; the typed delegation chain; the `Delegated` guard.

mod common;

use common::*;
use figment::Figment;
use rocket::local::asynchronous::Client;
use rocket::serde::json::Json;
use rocket::{Build, Rocket, get, routes};
use rocket_oauth2_jwt_bearer::{BearerToken, Delegated, JwtAuth, MAX_ACTORS, Settings};
use serde_json::{Value, json};

#[get("/who")]
fn who(token: BearerToken) -> Json<Value> {
    let claims = token.claims();
    let chain: Vec<Value> = claims
        .delegation_chain()
        .iter()
        .map(|a| json!({"sub": a.subject, "client_id": a.client_id, "iss": a.issuer}))
        .collect();
    Json(json!({
        "sub": claims.subject,
        "actor": claims.actor().map(|a| a.subject.clone()),
        "chain": chain,
        "client": claims.client(),
        "org_id": claims.org_id(),
    }))
}

#[get("/delegated")]
fn delegated(token: Delegated) -> String {
    token.claims().actor().map(|a| a.subject.clone()).unwrap_or_default()
}

fn app(figment: Figment) -> Rocket<Build> {
    rocket::custom(figment).attach(JwtAuth::fairing()).mount("/", routes![who, delegated])
}

async fn launched(figment: Figment) -> Client {
    Client::tracked(app(figment)).await.expect("launches")
}

async fn client(idp: &Idp, policy: Value) -> Client {
    launched(figment(idp, json!({ "policy": policy }))).await
}

/// Status, challenge and body of GET `path` with a token of `claims`.
async fn call(
    client: &Client,
    key: &TestKey,
    idp: &Idp,
    path: &str,
    claims: Value,
) -> (u16, Option<String>, Value) {
    let token = key.token(&claims_with(idp, claims));
    let response = get_with_token(client, path, &token).await;
    let status = response.status().code;
    let challenge = response.headers().get_one("WWW-Authenticate").map(String::from);
    (status, challenge, response.into_json().await.unwrap_or(Value::Null))
}

async fn refused_because(client: &Client, key: &TestKey, idp: &Idp, claims: Value, why: &str) {
    let (status, challenge, body) = call(client, key, idp, "/who", claims.clone()).await;
    assert_eq!((status, challenge), (401, Some(invalid_token(why))), "{claims}");
    assert_eq!(body["message"], why);
}

#[rocket::async_test]
async fn only_listed_clients_may_call_by_client_id_else_azp() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let url_client = "https://mcp-client.example.com/client.json";
    let client = client(&idp, json!({"clients": ["my-spa", url_client]})).await;
    let ok = |claims: Value| call(&client, &key, &idp, "/who", claims);

    assert_eq!(ok(json!({"client_id": "my-spa"})).await.0, 200);
    assert_eq!(ok(json!({"client_id": url_client})).await.0, 200);
    assert_eq!(ok(json!({"azp": "my-spa"})).await.0, 200, "azp without client_id");
    // client_id wins over azp.
    refused_because(
        &client,
        &key,
        &idp,
        json!({"client_id": "other", "azp": "my-spa"}),
        "Unexpected 'client_id' value",
    )
    .await;
    // Exact: no case folding, no prefix, no trailing slash.
    for other in ["MY-SPA", "my-sp", "my-spa ", "https://mcp-client.example.com/client.json/"] {
        refused_because(
            &client,
            &key,
            &idp,
            json!({"client_id": other}),
            "Unexpected 'client_id' value",
        )
        .await;
    }
    refused_because(&client, &key, &idp, json!({}), "Missing 'client_id' claim").await;
    refused_because(&client, &key, &idp, json!({"azp": 5}), "Invalid 'azp' claim type").await;
}

#[rocket::async_test]
async fn organizations_by_id_exactly_and_by_name_ignoring_case() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, json!({"organizations": ["org_abc123", "Acme"]})).await;
    let status = |claims: Value| {
        let (client, key, idp) = (&client, &key, &idp);
        async move { call(client, key, idp, "/who", claims).await.0 }
    };
    assert_eq!(status(json!({"org_id": "org_abc123"})).await, 200);
    assert_eq!(status(json!({"org_name": "acme"})).await, 200);
    assert_eq!(status(json!({"org_name": "ACME"})).await, 200);
    refused_because(
        &client,
        &key,
        &idp,
        json!({"org_id": "org_ABC123"}),
        "Unexpected 'org_id' value",
    )
    .await;
    refused_because(
        &client,
        &key,
        &idp,
        json!({"org_id": "org_other"}),
        "Unexpected 'org_id' value",
    )
    .await;
    refused_because(&client, &key, &idp, json!({}), "Missing 'org_id' claim").await;
    refused_because(
        &client,
        &key,
        &idp,
        json!({"org_id": ["org_abc123"]}),
        "Invalid 'org_id' claim type",
    )
    .await;

    // Required without a list: any organization, but one.
    let required = launched(figment(&idp, json!({"policy": {"organization": "required"}})));
    let required = required.await;
    assert_eq!(call(&required, &key, &idp, "/who", json!({"org_id": "org_x"})).await.0, 200);
    refused_because(&required, &key, &idp, json!({}), "Missing 'org_id' claim").await;
    // And by default, nothing is asked.
    let open = launched(figment(&idp, json!({}))).await;
    assert_eq!(call(&open, &key, &idp, "/who", json!({})).await.0, 200);
}

#[rocket::async_test]
async fn the_delegation_chain_is_typed_current_actor_first() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, json!({})).await;
    let act = json!({"sub": "agent-7", "client_id": "mcp-client", "act": {"sub": "orchestrator", "iss": "https://o"}});
    let (status, _, body) = call(&client, &key, &idp, "/who", json!({"act": act})).await;
    assert_eq!(status, 200);
    assert_eq!(body["actor"], "agent-7");
    assert_eq!(body["chain"][0], json!({"sub": "agent-7", "client_id": "mcp-client", "iss": null}));
    assert_eq!(
        body["chain"][1],
        json!({"sub": "orchestrator", "client_id": null, "iss": "https://o"})
    );
    let (_, _, body) = call(&client, &key, &idp, "/who", json!({})).await;
    assert_eq!((body["actor"].clone(), body["chain"].clone()), (Value::Null, json!([])));

    for bad in [json!("agent"), json!({}), json!({"sub": 7}), json!({"sub": "a", "act": []})] {
        refused_because(&client, &key, &idp, json!({"act": bad}), "Invalid 'act' claim type").await;
    }
    let deep = (1..=MAX_ACTORS)
        .fold(json!({"sub": "first"}), |inner, i| json!({"sub": format!("a{i}"), "act": inner}));
    refused_because(&client, &key, &idp, json!({"act": deep}), "'act' claim nested too deeply")
        .await;
}

#[rocket::async_test]
async fn delegation_can_be_forbidden_required_or_limited_to_listed_actors() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let agent = json!({"act": {"sub": "agent-7"}});
    let chained = json!({"act": {"sub": "agent-7", "act": {"sub": "rogue"}}});

    let forbidden = client(&idp, json!({"delegation": "forbidden"})).await;
    refused_because(&forbidden, &key, &idp, agent.clone(), "Delegated tokens are not accepted")
        .await;
    assert_eq!(call(&forbidden, &key, &idp, "/who", json!({})).await.0, 200);

    let required = client(&idp, json!({"delegation": "required"})).await;
    refused_because(&required, &key, &idp, json!({}), "Missing 'act' claim").await;
    assert_eq!(call(&required, &key, &idp, "/who", agent.clone()).await.0, 200);

    let listed = client(&idp, json!({"actors": ["agent-7"]})).await;
    assert_eq!(call(&listed, &key, &idp, "/who", agent.clone()).await.0, 200);
    assert_eq!(call(&listed, &key, &idp, "/who", json!({})).await.0, 200, "not delegated");
    // Every actor of the chain must be listed, not only the current one.
    refused_because(&listed, &key, &idp, chained, "Unexpected 'act' value").await;
    refused_because(
        &listed,
        &key,
        &idp,
        json!({"act": {"sub": "agent-8"}}),
        "Unexpected 'act' value",
    )
    .await;
}

#[rocket::async_test]
async fn the_delegated_guard_demands_an_actor() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp, json!({})).await;
    let (status, challenge, _) = call(&client, &key, &idp, "/delegated", json!({})).await;
    assert_eq!(status, 403);
    assert!(challenge.unwrap().contains("A delegated token is required"));
    let token = key.token(&claims_with(&idp, json!({"act": {"sub": "agent-7"}})));
    let response = get_with_token(&client, "/delegated", &token).await;
    assert_eq!(response.into_string().await.as_deref(), Some("agent-7"));
}

#[rocket::async_test]
async fn each_issuer_has_its_own_policy() {
    let (a_key, b_key) = (TestKey::rsa("a"), TestKey::rsa("b"));
    let (a, b) = (Idp::start(&[&a_key]).await, Idp::start(&[&b_key]).await);
    let issuers = json!([
        {"issuer_base_url": a.base_url(), "policy": {"clients": ["a-client"]}},
        {"issuer_base_url": b.base_url()},
    ]);
    let figment = figment(
        &a,
        json!({"issuers": issuers, "issuer_base_url": null,
        "policy": {"delegation": "forbidden"}}),
    );
    let client = launched(figment).await;
    // Issuer a: its own policy replaces the top-level one whole.
    assert_eq!(
        call(&client, &a_key, &a, "/who", json!({"client_id": "a-client", "act": {"sub": "x"}}))
            .await
            .0,
        200
    );
    refused_because(
        &client,
        &a_key,
        &a,
        json!({"client_id": "b-client"}),
        "Unexpected 'client_id' value",
    )
    .await;
    // Issuer b: the top-level policy.
    assert_eq!(call(&client, &b_key, &b, "/who", json!({"client_id": "b-client"})).await.0, 200);
    refused_because(
        &client,
        &b_key,
        &b,
        json!({"act": {"sub": "x"}}),
        "Delegated tokens are not accepted",
    )
    .await;
}

#[rocket::async_test]
async fn bad_policies_stop_launch_naming_the_setting() {
    let idp = Idp::start(&[]).await;
    let cases = [
        (json!({"delegation": "forbidden", "actors": ["a"]}), "auth.policy.actors"),
        (json!({"clients": [""]}), "auth.policy.clients"),
        (json!({"delegation": "sometimes"}), "delegation"),
        (json!({"organisation": "required"}), "organisation"),
    ];
    for (policy, named) in cases {
        let error = Settings::from_figment(&figment(&idp, json!({ "policy": policy })))
            .unwrap_err()
            .to_string();
        assert!(error.contains(named), "{policy}: {error}");
    }
}
