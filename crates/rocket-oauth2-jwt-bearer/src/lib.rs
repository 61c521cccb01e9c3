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
//! | [`Delegated`], [`DelegatedToken`], [`Actor`], [`MAX_ACTORS`] | a guard that needs a delegated token (RFC 8693 `act`); one actor of its chain |
//! | [`PolicyConfig`], [`Organization`], [`Delegation`] | the `[auth.policy]` table: clients, organizations and delegation an issuer's tokens may carry |
//! | [`McpAccess`], [`McpConfig`], [`McpProblem`], [`JsonRpcId`] | an MCP endpoint's guard with per-tool scopes (`Mcp-Method` / `Mcp-Name`, or the body); the `[auth.mcp]` table; why an MCP request was refused (400, JSON-RPC error) |
//! | [`scope!`], [`Scope`], [`ScopeSet`] | marker types naming scopes |
//! | [`Claims`] | a verified token's claims: typed, raw, serialized, or as your own type |
//! | [`AuthError`], [`TokenError`], [`ProofError`], [`RequestError`], [`Claim`] | why a request was refused; renders itself as an RFC 6750 / RFC 9449 answer; [`AuthError::refuse`] for guards of your own |
//! | [`catchers()`] | JSON catchers for every error under a base |
//! | [`LaunchError`] | why launch stopped, typed down to the library error ([`source()`](std::error::Error::source)) |
//! | [`KeyError`], [`KeySetError`], [`Skipped`], [`DiscoveryError`], [`FetchError`], [`FetchFailure`], [`UrlRefused`], [`DevIssuerError`] | its causes: a refused key, a key set with none usable, discovery, a fetch, a URL keys may not come from, the development issuer |
//! | [`Clock`] | the time tokens and proofs are checked against; a test moves it forward ([`JwtAuth::with_clock`]) |
//! | [`KeyStatus`], [`IssuerStatus`], [`ReplayStoreStatus`] | each issuer's keys and their freshness, and the DPoP replay store, for readiness probes |
//! | `Metrics` (feature `metrics`) | Prometheus metrics at `/metrics` |
//! | `testing::TestIssuer` (feature `testing`) | a real issuer on loopback that mints tokens for tests |

#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![warn(unreachable_pub)]

// The layers, lowest first: a module imports only from its own layer and
// those below (`tests/layers.rs` checks it).

/// Refusals and their answers, algorithms, bindings, URL and header grammar.
mod words {
    pub(crate) mod algorithms;
    pub(crate) mod authority;
    pub(crate) mod binding;
    pub(crate) mod clock;
    pub(crate) mod error;
    pub(crate) mod jose_header;
    pub(crate) mod mcp_headers;
    pub(crate) mod proxy_headers;
    pub(crate) mod scheme;
    pub(crate) mod url_policy;
}

/// `Config` as written, checked into `Settings`.
mod settings {
    pub(crate) mod checked;
    pub(crate) mod config;
    pub(crate) mod config_error;
    pub(crate) mod dpop;
    pub(crate) mod issuer_policy;
    pub(crate) mod issuer_settings;
    pub(crate) mod mcp;
    pub(crate) mod mtls;
    pub(crate) mod scope_claims;
    pub(crate) mod scope_hierarchy;
    pub(crate) mod trusted_proxies;
}

/// JWK parsing and checks, key sets and their store, fetching.
mod keys {
    pub(crate) mod fetch;
    pub(crate) mod jwk;
    pub(crate) mod jwks;
    pub(crate) mod key_checks;
    pub(crate) mod key_error;
    pub(crate) mod launch_error;
    pub(crate) mod load;
    #[cfg(any(feature = "dev-issuer", feature = "testing"))]
    pub(crate) mod signing_key;
}

/// Claims, the token cache, issuers and their loading, the verifier.
mod verification {
    pub(crate) mod cache;
    pub(crate) mod claims;
    pub(crate) mod delegation;
    pub(crate) mod issuer_policy;
    pub(crate) mod issuers;
    pub(crate) mod resolver;
    pub(crate) mod token;
    pub(crate) mod trusted_issuer;
}

/// Proof of possession: DPoP and certificate-bound tokens.
mod possession {
    pub(crate) mod dpop;
    pub(crate) mod mtls;
}

/// Rocket's request side: credentials, guards, answers, catchers,
/// metadata, status.
mod request {
    pub(crate) mod catchers;
    pub(crate) mod credentials;
    pub(crate) mod guards;
    pub(crate) mod mcp;
    pub(crate) mod resource_metadata;
    pub(crate) mod respond;
    pub(crate) mod scope_rules;
    pub(crate) mod status;
}

/// The development issuer and the test issuer, behind their features.
mod beside {
    #[cfg(feature = "dev-issuer")]
    pub(crate) mod dev_issuer;
    #[cfg(feature = "testing")]
    pub mod testing;
}

/// Launch and refresh: the fairings.
mod lifecycle {
    pub(crate) mod connect;
    pub(crate) mod fairing;
    #[cfg(feature = "metrics")]
    pub(crate) mod metrics;
}

#[cfg(feature = "testing")]
pub use beside::testing;
pub use keys::fetch::{DiscoveryError, FetchError, FetchFailure};
pub use keys::jwks::{KeySetError, Skipped};
pub use keys::key_error::KeyError;
pub use keys::launch_error::{DevIssuerError, LaunchError};
pub use lifecycle::fairing::JwtAuth;
#[cfg(feature = "metrics")]
pub use lifecycle::metrics::{AuthMetrics, Metrics};
pub use request::catchers::catchers;
pub use request::guards::{
    AnyScope, BearerToken, ClaimRule, Delegated, DelegatedToken, DpopBound, HasPermission,
    HasScope, HasScopes, MaybeBearer, Satisfies, Scope, ScopeSet,
};
pub use request::mcp::McpAccess;
pub use request::status::{IssuerStatus, KeyStatus, ReplayStoreStatus};
pub use settings::checked::{ConfigError, NamedVariables, Settings};
pub use settings::config::{
    Config, Delegation, DpopConfig, DpopMode, IssuerConfig, McpConfig, MtlsConfig, MtlsMode,
    Organization, PolicyConfig, ProxyHeaders, ReplayStoreFailure, Secret,
};
pub use settings::issuer_settings::IssuerSettings;
pub use verification::claims::Claims;
pub use verification::delegation::{Actor, MAX_ACTORS};
pub use verification::resolver::{IssuerResolver, ResolveError};
pub use words::algorithms::Algorithm;
pub use words::authority::Authority;
pub use words::binding::Binding;
pub use words::clock::Clock;
pub use words::error::{
    AuthError, Claim, JsonRpcId, McpProblem, ProofError, RequestError, TokenError,
};
pub use words::jose_header::JoseHeader;
pub use words::url_policy::UrlRefused;

/// Internals for this repository's benchmarks, fuzz target and property
/// tests. Not part of the API: no stability, no documentation.
#[doc(hidden)]
#[allow(missing_docs, unreachable_pub)]
pub mod __private {
    pub use crate::keys::jwk::{PublicKey, VerifyingKey};
    pub use crate::keys::jwks::{KeySet, KeyStore};
    pub use crate::possession::dpop::proof::{Proof, ProofRules, verify as verify_dpop_proof};
    pub use crate::possession::dpop::proof_keys::ProofKeys;
    pub use crate::possession::dpop::replay_cache::ProofId;
    pub use crate::request::credentials::parse_authorization;
    pub use crate::settings::config::default_algorithms;
    pub use crate::settings::scope_hierarchy::ScopeHierarchy;
    pub use crate::verification::claims::{ClaimRules, ScopeClaims};
    pub use crate::verification::token::{Policy, Verifier};
    pub use crate::words::algorithms::{AlgSet, parse as parse_algorithm};

    /// Starts what the fairing starts for `figment`'s settings, without a
    /// Rocket (so no development issuer): the launch error, if any.
    pub async fn connect(figment: &figment::Figment) -> Result<Verifier, crate::LaunchError> {
        let settings = crate::Settings::from_figment(figment)?;
        crate::lifecycle::connect::connect(&settings, None).await
    }
}
