//! OAuth 2.0 bearer-token authorization for [Rocket] 0.5 APIs: access
//! tokens (JWTs) from Auth0 or any OpenID Connect issuer, checked against
//! the issuer's JSON Web Key Set — what `express-oauth2-jwt-bearer` is to
//! Express.
//!
//! ```rust,no_run
//! use rocket::{get, launch, routes};
//! use rocket_oauth2_jwt_bearer::{scope, BearerToken, HasScope, JwtAuth};
//!
//! scope!(ReadMessages = "read:messages");
//!
//! #[get("/private")]
//! fn private(token: BearerToken) -> String {
//!     format!("hello {}", token.claims().subject.as_deref().unwrap_or("?"))
//! }
//!
//! #[get("/private-scoped")]
//! fn scoped(_token: HasScope<ReadMessages>) -> &'static str {
//!     "secret messages"
//! }
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build()
//!         .attach(JwtAuth::fairing()) // reads [default.auth] in Rocket.toml
//!         .mount("/api", routes![private, scoped])
//!         .register("/api", rocket_oauth2_jwt_bearer::catchers())
//! }
//! ```
//!
//! with, in `Rocket.toml`:
//!
//! ```toml
//! [default.auth]
//! issuer_base_url = "https://YOUR_TENANT.auth0.com/"
//! audience = "https://api.example.com"
//! ```
//!
//! # The whole surface
//!
//! | item | what it is |
//! |---|---|
//! | [`JwtAuth`] | the fairing: loads the key set at ignition, refreshes it, stops on shutdown |
//! | [`Settings`], [`SettingsBuilder`] | the checked `auth` settings, from figment or built in code |
//! | [`IssuerSettings`], [`IssuerResolver`], [`ResolveError`] | one trusted issuer; issuers approved at run time (tenants in a database) |
//! | [`NamedVariables`] | the Express library's `ISSUER_BASE_URL`, `AUDIENCE`, ... as a figment source |
//! | [`BearerToken`], [`MaybeBearer`] | guards: a valid token; a valid token or none at all |
//! | [`DpopBound`], [`Binding`], [`DpopMode`], [`MtlsMode`] | a DPoP-bound token (RFC 9449) demanded on a route; what a token was proven bound to (a DPoP key, an RFC 8705 client certificate); `dpop.mode`, `mtls.mode` |
//! | [`HasScope`], [`HasScopes`], [`AnyScope`], [`HasPermission`] | guards that also need scopes or permissions |
//! | [`scope!`], [`Scope`], [`ScopeSet`] | marker types naming scopes |
//! | [`Claims`] | a verified token's claims |
//! | [`AuthError`], [`TokenError`], [`ProofError`], [`RequestError`], [`Claim`] | why a request was refused; renders itself as an RFC 6750 / RFC 9449 answer |
//! | [`catchers()`] | JSON catchers that answer guard failures with their challenge |
//! | [`LaunchError`], [`ConfigError`] | why launch stopped |
//! | [`KeyStatus`], [`IssuerStatus`], [`ReplayStoreStatus`] | each issuer's keys and their freshness, and the DPoP replay store, for readiness probes |
//! | `Metrics` (feature `metrics`) | Prometheus metrics at `/metrics` |
//! | `testing::TestIssuer` (feature `testing`) | a real issuer on loopback that mints tokens for tests |
//!
//! With the `dev-issuer` feature, `dev_issuer = true` in the debug profile
//! runs a built-in issuer (`POST /dev/token`) when no real one is set. With
//! `resource` set, the fairing also serves RFC 9728 protected-resource
//! metadata and points every 401 and 403 challenge at it.
//!
//! # How a token is checked
//!
//! In this order, so that junk never reaches a key lookup or the crypto
//! (RFC 8725 §3.1, §3.2): RFC 6750 extraction; size, three strict base64url
//! segments, a header that is a JSON object; an allowed `alg` (never
//! `none`, never `HS*` against a key set), no `crit`; the issuer, by the
//! payload's exact `iss` (with several issuers, only its keys and
//! algorithms count from here; an unknown `iss` costs no fetch); the key by `kid`
//! (an unknown `kid` refetches the key set at most once per cooldown,
//! shared by all requests); the signature; then every claim rule exactly.
//! A token verified before is answered from a bounded cache. Keys that
//! can't safely verify (RSA under 2048 bits or with a degenerate exponent,
//! Ed25519 points of small order, ...) are skipped when the set is loaded.
//!
//! A `DPoP` request (RFC 9449) adds, around that: exactly one proof; the
//! proof's form (shape, `typ`, `alg`, no private `jwk` member) before the
//! token's checks; after them the proof's key (RSA at most 4096 bits with
//! exponent 65537), signature and claims (`jti`, `htm`, `htu`, `iat`,
//! `ath`), so that a request without a valid token never costs a proof
//! key of the client's choosing; then the proof key's thumbprint against
//! the token's `cnf.jkt`, the nonce, and last the replay check, fair
//! between proof keys (`dpop.replay_quota`). The token cache holds the
//! token's claims only: the proof and the binding are checked on every
//! request.
//!
//! Signatures are checked with aws-lc-rs keys parsed once per key-set fetch,
//! not with `jsonwebtoken::decode`: that re-parses the header and rebuilds
//! the verifying key on every call (measured: 16.1 µs against 13.8 µs for
//! the bare RS256 check, where this crate's whole check costs 15.9 µs), and
//! it ignores `use`, `key_ops` and `crv`, which are enforced here.
//!
//! [Rocket]: https://rocket.rs

#![deny(missing_docs)]
#![warn(unreachable_pub)]

mod algorithms;
mod binding;
mod cache;
mod catchers;
mod claims;
mod config;
mod connect;
mod credentials;
#[cfg(feature = "dev-issuer")]
mod dev_issuer;
mod dpop;
mod error;
mod fairing;
mod fetch;
mod guards;
mod issuer_settings;
mod issuers;
mod jose_header;
mod jwk;
mod jwks;
mod key_checks;
#[cfg(feature = "metrics")]
mod metrics;
mod mtls;
mod proxy_headers;
mod resolver;
mod resource_metadata;
mod settings;
#[cfg(any(feature = "dev-issuer", feature = "testing"))]
mod signing_key;
mod status;
#[cfg(feature = "testing")]
pub mod testing;
mod token;
mod trusted_issuer;
mod trusted_proxies;

pub use binding::Binding;
pub use catchers::catchers;
pub use claims::Claims;
pub use config::{
    Config, DpopConfig, DpopMode, IssuerConfig, MtlsConfig, MtlsMode, ProxyHeaders,
    ReplayStoreFailure, Secret,
};
pub use error::{AuthError, Claim, ProofError, RequestError, TokenError};
pub use fairing::{JwtAuth, LaunchError};
pub use guards::{
    AnyScope, BearerToken, ClaimRule, DpopBound, HasPermission, HasScope, HasScopes, MaybeBearer,
    Satisfies, Scope, ScopeSet,
};
pub use issuer_settings::{IssuerSettings, IssuerSettingsBuilder};
pub use jose_header::JoseHeader;
#[cfg(feature = "metrics")]
pub use metrics::Metrics;
pub use resolver::{IssuerResolver, ResolveError};
pub use settings::{ConfigError, NamedVariables, Settings, SettingsBuilder};
pub use status::{IssuerStatus, KeyStatus, ReplayStoreStatus};

/// Internals for this repository's benchmarks, fuzz target and property
/// tests. Not part of the API: no stability, no documentation.
#[doc(hidden)]
#[allow(missing_docs, unreachable_pub)]
pub mod __private {
    pub use crate::algorithms::{parse as parse_algorithm, AlgSet};
    pub use crate::claims::{ClaimRules, ScopeClaims};
    pub use crate::config::default_algorithms;
    pub use crate::credentials::parse_authorization;
    pub use crate::dpop::proof::{verify as verify_dpop_proof, Proof, ProofRules};
    pub use crate::dpop::proof_keys::ProofKeys;
    pub use crate::dpop::replay_cache::ProofId;
    pub use crate::jwk::{PublicKey, VerifyingKey};
    pub use crate::jwks::{KeySet, KeyStore, Skipped};
    pub use crate::token::{Policy, Verifier};

    /// Starts what the fairing starts for `figment`'s settings, without a
    /// Rocket (so no development issuer): the launch error, if any.
    pub async fn connect(figment: &figment::Figment) -> Result<Verifier, crate::LaunchError> {
        let settings = crate::Settings::from_figment(figment)?;
        crate::connect::connect(&settings, None).await
    }
}
