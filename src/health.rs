//! Liveness and readiness for load balancers and orchestrators.
//!
//! - `GET /health`: 200 while the process serves requests.
//! - `GET /ready`: 200 once every configured issuer has keys, with their
//!   freshness, each issuer's under `issuers`. It does **not** turn 503 when
//!   the keys go stale: an identity-provider outage must not pull every
//!   replica out of the load balancer at once, since the last good keys keep
//!   verifying tokens. Staleness is a metric and a log warning instead. It
//!   is 503 only while an issuer has no keys at all (launching with
//!   `require_keys_at_launch = false`).
//!
//! Nothing here is secret: counts, times and the last fetch error.

use std::time::{SystemTime, UNIX_EPOCH};

use rocket::http::Status;
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Route, get, routes};
use rocket_oauth2_jwt_bearer::KeyStatus;
use serde_json::{Value, json};

#[get("/health")]
fn health() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

#[get("/ready")]
fn ready(status: Option<KeyStatus>) -> Custom<Json<Value>> {
    let Some(status) = status else {
        return Custom(Status::ServiceUnavailable, Json(json!({ "status": "no key set" })));
    };

    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let age = |t: SystemTime| SystemTime::now().duration_since(t).map_or(0.0, |d| d.as_secs_f64());
    let ready = status.is_ready();
    let issuers: Vec<Value> = status
        .issuers
        .iter()
        .map(|issuer| {
            json!({
                "issuer": issuer.issuer,
                "loaded": issuer.loaded,
                "keys": issuer.keys,
                "refreshes": issuer.refreshes,
                "last_refresh": issuer.last_refresh.map(unix),
                "seconds_since_refresh": issuer.last_refresh.map(age),
                "failures_in_a_row": issuer.failures_in_a_row,
                "last_error": issuer.last_error,
            })
        })
        .collect();
    let mut body = json!({
        "status": if ready { "ready" } else { "no key set" },
        "keys": status.keys,
        "refreshes": status.refreshes,
        "last_refresh": status.last_refresh.map(unix),
        "seconds_since_refresh": status.last_refresh.map(age),
        "failures_in_a_row": status.failures_in_a_row,
        "last_error": status.last_error,
        "issuers": issuers,
    });
    if let Some(count) = status.dynamic_issuers {
        body["dynamic_issuers"] = count.into();
    }
    if let Some(store) = &status.replay_store {
        body["replay_store"] = json!({
            "reachable": store.reachable,
            "errors": store.errors,
            "while_unreachable": if store.falls_back { "local replay cache" } else { "503" },
            "may_evict": store.may_evict,
            "evicted_keys": store.evicted_keys,
        });
    }
    Custom(if ready { Status::Ok } else { Status::ServiceUnavailable }, Json(body))
}

/// `/health` and `/ready`, to mount at `/`.
pub fn routes() -> Vec<Route> {
    routes![health, ready]
}
