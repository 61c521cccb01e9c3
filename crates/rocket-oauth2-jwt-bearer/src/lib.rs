#![doc = include_str!("../README.md")]
//!
//! # The whole surface
//!
//! | item | what it is |
//! |---|---|
//! | [`JwtAuth`] | the fairing: loads the key set at ignition, refreshes it, stops on shutdown; registers the refusal catchers |
//! | [`Config`], [`IssuerConfig`], [`DpopConfig`], [`MtlsConfig`], [`Secret`] | the `auth` table as written: every setting, its default |
//! | [`Settings`], [`ConfigError`] | the checked settings; why they were refused (naming the setting and where it came from) |
//! | [`IssuerSettings`], [`IssuerResolver`], [`ResolveError`] | one trusted issuer; issuers approved at run time (tenants in a database) |
//! | [`NamedVariables`] | the Express library's `ISSUER_BASE_URL`, `AUDIENCE`, ... as a figment source |
//! | [`BearerToken`], [`MaybeBearer`], [`JoseHeader`] | guards: a valid token; a valid token or none at all; a token's header |
//! | [`DpopBound`], [`Binding`], [`DpopMode`], [`MtlsMode`] | a DPoP-bound token (RFC 9449) demanded on a route; what a token was proven bound to; `dpop.mode`, `mtls.mode` |
//! | [`HasScope`], [`HasScopes`], [`AnyScope`], [`HasPermission`] | guards that also need scopes or permissions |
//! | [`Satisfies`], [`ClaimRule`] | a guard that needs a rule of yours on the claims |
//! | [`scope!`], [`Scope`], [`ScopeSet`] | marker types naming scopes |
//! | [`Claims`] | a verified token's claims: typed, raw, serialized, or as your own type |
//! | [`AuthError`], [`TokenError`], [`ProofError`], [`RequestError`], [`Claim`] | why a request was refused; renders itself as an RFC 6750 / RFC 9449 answer; [`AuthError::refuse`] for guards of your own |
//! | [`catchers()`] | JSON catchers for every error under a base |
//! | [`LaunchError`] | why launch stopped |
//! | [`KeyStatus`], [`IssuerStatus`], [`ReplayStoreStatus`] | each issuer's keys and their freshness, and the DPoP replay store, for readiness probes |
//! | `Metrics` (feature `metrics`) | Prometheus metrics at `/metrics` |
//! | `testing::TestIssuer` (feature `testing`) | a real issuer on loopback that mints tokens for tests |

#![forbid(unsafe_code)]
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
