//! Issuers approved at run time: for SaaS APIs whose tenants (and so
//! issuers) live in a database rather than in `Rocket.toml`.
//!
//! The app implements [`IssuerResolver`]; the fairing asks it only about
//! a token's `iss` that is not among the configured issuers, after the
//! token's cheap checks and before any key lookup. An approved issuer gets
//! its own key store on first use, kept in a bounded LRU
//! (`dynamic_issuers_max`, default 100) and dropped after
//! `dynamic_issuer_idle` (default an hour) without use.
//!
//! # Security
//!
//! The `iss` comes from an unverified token: anyone can send any string.
//! A resolver must answer `Some` only for issuers the app approved
//! beforehand (a tenant row an administrator created), never by deriving
//! settings from the string itself — "any `https://*.example.com`" lets
//! an attacker who controls one such host mint tokens the API accepts.
//! The fairing also requires the loaded issuer's `iss` to equal the asked
//! one exactly, and remembers refusals for 30 s so that a flood of made-up
//! issuers costs one lookup each per 30 s at most.

use std::error::Error;

use crate::settings::issuer_settings::IssuerSettings;

/// A resolver's failure (the tenant database is down, say): the token gets
/// 503 with `Retry-After`, not 401, since it may well be fine.
pub type ResolveError = Box<dyn Error + Send + Sync>;

/// Decides which issuers not in the settings are trusted, and how.
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::{
///     IssuerConfig, IssuerResolver, IssuerSettings, JwtAuth, ResolveError,
/// };
///
/// struct Tenants; // in a real app: a database pool
///
/// #[rocket::async_trait]
/// impl IssuerResolver for Tenants {
///     async fn resolve(&self, iss: &str) -> Result<Option<IssuerSettings>, ResolveError> {
///         // Look `iss` up among the approved tenants; `None` if it isn't one.
///         let approved = ["https://tenant-1.example.com/", "https://tenant-2.example.com/"];
///         if !approved.contains(&iss) {
///             return Ok(None);
///         }
///         Ok(Some(IssuerSettings::from_config(&IssuerConfig::discover(iss))?))
///     }
/// }
///
/// let rocket = rocket::build().attach(JwtAuth::fairing().with_resolver(Tenants));
/// ```
#[rocket::async_trait]
pub trait IssuerResolver: Send + Sync + 'static {
    /// The settings of `iss` if tokens from it are accepted, `None` if not.
    /// Settings without an `audience` accept the `auth` table's.
    async fn resolve(&self, iss: &str) -> Result<Option<IssuerSettings>, ResolveError>;
}
