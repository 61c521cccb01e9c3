//! Auth0's "Add authorization to an Express.js API application" quickstart,
//! on Rocket 0.5: an API whose routes are protected by OAuth 2.0 JWT bearer
//! access tokens from Auth0 or any OpenID Connect provider.
//!
//! | route | needs | |
//! |---|---|---|
//! | `GET /api/public` | nothing | [`routes::public`] |
//! | `GET /api/private` | a valid access token | [`routes::private`] |
//! | `GET /api/private-scoped` | a valid token with scope `read:messages` | [`routes::private_scoped`] |
//!
//! `/health` and `/ready` ([`health`]) and, when enabled, `/metrics` are
//! for operators; `/` serves the API explorer page ([`explorer`]), and in
//! the debug profile a development issuer hands out test tokens.
//!
//! The auth itself — settings, the JWKS fairing, the guards, the errors and
//! their catchers, the development issuer and the metrics — is the
//! `rocket-oauth2-jwt-bearer` crate in `crates/`, which this app uses as any
//! other Rocket app would. Settings sources are layered in [`config`].
//!
//! No `unsafe` here but in [`idle_connections`], the sweeper of idle
//! connections (`idle_timeout = 0` turns it off), where each block says why
//! it is sound.

#![deny(unsafe_code)]

pub mod access_log;
pub mod config;
pub mod cors;
pub mod explorer;
pub mod health;
pub mod host_header;
#[allow(unsafe_code)]
pub mod idle_connections;
pub mod logger;
pub mod mcp;
pub mod metrics;
pub mod open_files;
pub mod routes;

use rocket_oauth2_jwt_bearer::JwtAuth;

use rocket::{Build, Rocket};

/// The service, configured from `Rocket.toml` and the environment.
pub fn rocket() -> Rocket<Build> {
    rocket_from(config::figment())
}

/// The service, configured from `figment` (tests pass their own).
pub fn rocket_from(figment: figment::Figment) -> Rocket<Build> {
    logger::init(figment.extract_inner("log_level").unwrap_or(rocket::config::LogLevel::Normal));
    let rocket = rocket::custom(figment).attach(access_log::AccessLog::fairing());
    let rocket = host_header::HostHeader::attach(rocket)
        .attach(JwtAuth::fairing())
        .attach(cors::Cors::fairing())
        .attach(metrics::MetricsRoute::fairing())
        .attach(idle_connections::IdleConnections::fairing())
        .mount("/api", routes::routes())
        .mount("/api", cors::routes())
        .mount("/", health::routes())
        .register("/api", rocket_oauth2_jwt_bearer::catchers());

    let rocket = mcp::mount(rocket);
    explorer::mount(rocket)
}
