//! The app's test harness: the crate's (its issuer, keys, proofs and
//! `redis-server`, shared by path so there is one), with the service's own
//! rocket instead of the crate's test app, and the built binary
//! ([`process`]).

#![allow(dead_code, unused_imports)]

#[path = "../../crates/rocket-oauth2-jwt-bearer/tests/common/mod.rs"]
mod shared;

pub mod process;

use auth0_rocket_api::config::AppDefaults;
use figment::providers::Serialized;
use figment::{Figment, Profile};
use rocket::local::asynchronous::Client;
use serde_json::Value;

pub use shared::*;

/// The service's configuration for tests: the harness's, with the app's
/// own defaults underneath (port 3010, the debug address).
pub fn figment(idp: &Idp, extra: Value) -> Figment {
    Figment::from(rocket::Config::debug_default())
        .merge(AppDefaults::for_profile(&Profile::const_new("debug")))
        .merge(shared::figment(idp, extra))
}

/// A local client for the service configured by `figment`.
pub async fn client_for(figment: Figment) -> Client {
    Client::tracked(auth0_rocket_api::rocket_from(figment)).await.expect("rocket launches")
}

/// A local client for the service against `idp`.
pub async fn client(idp: &Idp) -> Client {
    client_for(figment(idp, serde_json::json!({}))).await
}

/// Why launch fails for `figment`.
pub async fn launch_error(figment: Figment) -> String {
    match Client::tracked(auth0_rocket_api::rocket_from(figment)).await {
        Ok(_) => panic!("launch should have failed"),
        // Inspecting the kind marks the error handled: its drop won't panic.
        Err(error) => error.kind().to_string(),
    }
}

/// The service with DPoP settings `dpop` (see [`DpopService`]).
pub async fn dpop_service(dpop: Value) -> DpopService {
    DpopService::start_on(dpop, auth0_rocket_api::rocket_from).await
}
