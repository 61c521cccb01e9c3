//! What operators see: `/health`, `/ready`, `/metrics`.

mod common;

use std::time::Duration;

use common::*;
use rocket::http::Status;
use serde_json::{Value, json};

#[rocket::async_test]
async fn health_and_readiness() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let settings = json!({"jwks_cache_max_age": 0.2, "jwks_cooldown": 0.1, "jwks_timeout": 0.3});
    let client = client_for(figment(&idp, settings)).await;

    let response = client.get("/health").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_json::<Value>().await.unwrap(), json!({"status": "ok"}));

    let ready: Value = client.get("/ready").dispatch().await.into_json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["keys"], 1);
    assert_eq!(ready["refreshes"], true);
    assert!(ready["last_refresh"].as_u64().unwrap() > 1_600_000_000);
    assert!(ready["last_error"].is_null());

    // An identity-provider outage makes the keys stale, not the replica unready.
    idp.set_mode(Mode::Status(503));
    tokio::time::sleep(Duration::from_millis(700)).await;
    let response = client.get("/ready").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    let ready: Value = response.into_json().await.unwrap();
    assert_eq!(ready["status"], "ready");
    assert!(ready["failures_in_a_row"].as_u64().unwrap() >= 1);
    assert!(ready["last_error"].as_str().unwrap().contains("answered 503"));
    assert!(ready["seconds_since_refresh"].as_f64().unwrap() > 0.3);
}

#[rocket::async_test]
async fn metrics_are_off_by_default() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client(&idp).await;
    assert_eq!(client.get("/metrics").dispatch().await.status(), Status::NotFound);
}

#[rocket::async_test]
async fn metrics_count_requests_by_outcome_and_report_the_key_store() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({})).merge(("metrics", true))).await;
    let claims = good_claims(&idp);

    get(&client, "/api/public", None).await;
    get_with_token(&client, "/api/private", &key.token(&claims)).await;
    get(&client, "/api/private", None).await;
    get_with_token(&client, "/api/private", "a.b.c").await;
    let expired = key.token(&claims_with(&idp, json!({"exp": now() - 3600})));
    get_with_token(&client, "/api/private-scoped", &expired).await;
    let no_scope = key.token(&claims_with(&idp, json!({"scope": "other"})));
    get_with_token(&client, "/api/private-scoped", &no_scope).await;
    get(&client, "/api/nope", None).await;

    let iss = idp.base_url();
    let response = client.get("/metrics").dispatch().await;
    assert_eq!(response.status(), Status::Ok);
    assert!(
        response.content_type().unwrap().to_string().starts_with("application/openmetrics-text")
    );
    let text = response.into_string().await.unwrap();
    for line in [
        r#"http_requests_total{route="/api/public",outcome="ok"} 1"#,
        r#"http_requests_total{route="/api/private",outcome="ok"} 1"#,
        r#"http_requests_total{route="/api/private",outcome="missing_credentials"} 1"#,
        r#"http_requests_total{route="/api/private",outcome="malformed"} 1"#,
        r#"http_requests_total{route="/api/private-scoped",outcome="expired"} 1"#,
        r#"http_requests_total{route="/api/private-scoped",outcome="insufficient_scope"} 1"#,
        r#"http_requests_total{route="unmatched",outcome="404"} 1"#,
        &format!(r#"jwks_fetches_total{{issuer="{iss}",result="ok"}} 1"#),
        &format!(r#"jwks_fetches_total{{issuer="{iss}",result="error"}} 0"#),
        &format!(r#"jwks_keys{{issuer="{iss}"}} 1"#),
        &format!(r#"jwks_failures_in_a_row{{issuer="{iss}"}} 0"#),
        &format!(r#"jwks_seconds_since_refresh{{issuer="{iss}"}} "#),
        r#"token_cache_lookups_total{result="hit"} 0"#,
        r#"token_cache_lookups_total{result="miss"} "#,
        "# EOF",
    ] {
        assert!(text.contains(line), "missing {line:?} in:\n{text}");
    }
    assert_eq!(text.matches("# TYPE jwks_fetches").count(), 1, "{text}");
}

#[rocket::async_test]
async fn a_bad_metrics_setting_stops_launch() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let error = launch_error(figment(&idp, json!({})).merge(("metrics", "sometimes"))).await;
    assert!(error.contains("fairing"), "{error}");
}

#[rocket::async_test]
async fn a_bad_idle_timeout_stops_launch() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    // Below a second the sweeps (every 50 ms to 1 s) can't honour it.
    for bad in [json!("soon"), json!(-1), json!(1e9), json!(0.5), json!(0.0005), json!(86_401)] {
        let error =
            launch_error(figment(&idp, json!({})).merge(("idle_timeout", bad.clone()))).await;
        assert!(error.contains("fairing"), "{bad}: {error}");
    }
    for fine in [json!(0), json!(1), json!(1.5), json!(86_400)] {
        let fine = figment(&idp, json!({})).merge(("idle_timeout", fine));
        assert_eq!(client_for(fine).await.get("/health").dispatch().await.status(), Status::Ok);
    }
}
