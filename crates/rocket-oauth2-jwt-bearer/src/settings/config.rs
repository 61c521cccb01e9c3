//! [`Config`]: the `auth` table as written, every setting with its default.
//!
//! This is the settings reference. The fairing reads it from Rocket's
//! figment (`[default.auth]` in `Rocket.toml`, `ROCKET_AUTH={...}`, and the
//! Express library's variables: see [`NamedVariables`](crate::NamedVariables)),
//! or takes it from code through [`JwtAuth::with_config`](crate::JwtAuth::with_config);
//! either way it is checked once, into [`Settings`](crate::Settings), where
//! an error names the setting and where its value came from.
//!
//! ```rust
//! use rocket_oauth2_jwt_bearer::{Config, JwtAuth};
//!
//! let config = Config {
//!     issuer_base_url: Some("https://tenant.example.com/".into()),
//!     audience: vec!["https://api.example.com".into()],
//!     ..Config::default()
//! };
//! let rocket = rocket::build().attach(JwtAuth::with_config(config));
//! # let _ = rocket;
//! ```
//!
//! Durations are written as whole or fractional seconds (`5`, `0.25`).

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

use crate::words::algorithms::{Algorithm, AlgorithmFamily};
pub use crate::words::scheme::DpopMode;

/// The `auth` table: one issuer (`issuer_base_url`, or `issuer` with
/// `jwks_uri`, `public_key` or `secret`) or several (`issuers`), what
/// tokens must say, and how keys are kept fresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The issuer's discovery base URL (OpenID Connect / RFC 8414), e.g.
    /// `https://TENANT.auth0.com/`. Variable: `ISSUER_BASE_URL`.
    ///
    /// _Default:_ none.
    pub issuer_base_url: Option<String>,
    /// The accepted `aud` values: a token is accepted when its `aud` holds
    /// any of them. A string or a list. Variable: `AUDIENCE`.
    ///
    /// _Default:_ none (required, but with the development issuer:
    /// `https://quickstarts/api`).
    #[serde(deserialize_with = "one_or_many")]
    pub audience: Vec<String>,
    /// The exact `iss` tokens must carry; with `jwks_uri`, no discovery.
    /// Variable: `ISSUER`.
    ///
    /// _Default:_ the discovered one.
    pub issuer: Option<String>,
    /// The key set's URL; with `issuer`, no discovery. Variable: `JWKS_URI`.
    ///
    /// _Default:_ the discovered one.
    pub jwks_uri: Option<String>,
    /// The accepted token `alg`s. `HS*` only with `secret`; never `none`.
    ///
    /// _Default:_ every asymmetric algorithm: RS256/384/512, PS256/384/512,
    /// ES256, ES384, ES512, ES256K, EdDSA and Ed25519.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed for `exp`, `nbf` and `iat`, in seconds.
    ///
    /// _Default:_ `5`.
    #[serde(with = "seconds")]
    pub clock_tolerance: Duration,
    /// Seconds between background refreshes of the key set.
    ///
    /// _Default:_ `600`.
    #[serde(with = "seconds")]
    pub jwks_cache_max_age: Duration,
    /// The fewest seconds between refetches caused by an unknown `kid`.
    ///
    /// _Default:_ `30`.
    #[serde(with = "seconds")]
    pub jwks_cooldown: Duration,
    /// Seconds for each request to the identity provider.
    ///
    /// _Default:_ `5`.
    #[serde(with = "seconds")]
    pub jwks_timeout: Duration,
    /// The most seconds launch waits for an issuer's keys: failed attempts
    /// are retried (250 ms, doubling) until then; `0` makes one attempt.
    ///
    /// _Default:_ `3`.
    #[serde(with = "seconds")]
    pub jwks_launch_retry: Duration,
    /// Accept `?access_token=` (RFC 6750 §2.3 says SHOULD NOT).
    ///
    /// _Default:_ `false`.
    pub allow_query_token: bool,
    /// Verified tokens remembered (a hit skips the signature check); `0`
    /// turns the cache off.
    ///
    /// _Default:_ `10000`.
    pub token_cache_capacity: usize,
    /// The most bytes the token cache holds; `0` turns it off.
    ///
    /// _Default:_ `16777216` (16 MiB).
    pub token_cache_max_bytes: u64,
    /// The longest accepted token, in bytes.
    ///
    /// _Default:_ `16384`.
    pub max_token_size: usize,
    /// A shared secret for HS256/384/512 (its UTF-8 bytes, at least
    /// 32/48/64 of them); needs an HS `token_signing_alg`. Variable:
    /// `SECRET` (ignored unless `TOKEN_SIGNING_ALG` is an HS one).
    ///
    /// _Default:_ none.
    pub secret: Option<Secret>,
    /// The one `alg` tokens must carry: required with `secret` and with a
    /// PEM `public_key`. Variable: `TOKEN_SIGNING_ALG`.
    ///
    /// _Default:_ none.
    pub token_signing_alg: Option<Algorithm>,
    /// A static key instead of a key set: PEM (`PUBLIC KEY` or `RSA PUBLIC
    /// KEY`), a JWK or a JWK Set. Needs `issuer`; no network at all.
    ///
    /// _Default:_ none.
    pub public_key: Option<String>,
    /// The oldest accepted token, in seconds since its `iat` (which then
    /// becomes required).
    ///
    /// _Default:_ none (no limit).
    #[serde(with = "optional_seconds", skip_serializing_if = "Option::is_none")]
    pub max_token_age: Option<Duration>,
    /// The RFC 9068 profile: header `typ` `at+jwt`, and `iss`, `sub`,
    /// `aud`, `exp`, `iat`, `jti`, `client_id` required.
    ///
    /// _Default:_ `false`.
    pub strict: bool,
    /// The claims that hold granted scopes: any of `scope`, `scp`,
    /// `permissions`.
    ///
    /// _Default:_ `["scope"]`.
    pub scope_claims: Vec<String>,
    /// Run the development issuer (`POST /dev/token`) when no real issuer
    /// is configured. The debug profile only; needs the `dev-issuer`
    /// feature.
    ///
    /// _Default:_ `false`.
    pub dev_issuer: bool,
    /// This API's identifier as clients know it (`https`, or `http` on
    /// loopback): turns on RFC 9728 protected-resource metadata, which
    /// every 401 and 403 challenge then points at.
    ///
    /// _Default:_ none (no metadata; with the development issuer:
    /// `http://127.0.0.1:<port>`).
    pub resource: Option<String>,
    /// The scopes the metadata lists.
    ///
    /// _Default:_ `[]`.
    pub scopes_supported: Vec<String>,
    /// Which scopes imply which: a token granted a key's scope satisfies
    /// every check for the scopes it lists, transitively (`messages:admin =
    /// ["read:messages", "write:messages"]`), never the other way round.
    /// Every scope check uses it. A cycle, `offline_access` or a name that
    /// isn't a scope token stops launch.
    ///
    /// _Default:_ `{}` (scopes match exactly).
    pub scope_hierarchy: BTreeMap<String, Vec<String>>,
    /// The scopes of each Model Context Protocol operation, for the
    /// [`McpAccess`](crate::McpAccess) guard: the `[auth.mcp]` table.
    ///
    /// _Default:_ see [`McpConfig`].
    pub mcp: McpConfig,
    /// The metadata's `resource_name`.
    ///
    /// _Default:_ none.
    pub resource_name: Option<String>,
    /// The metadata's `resource_documentation`: a URL.
    ///
    /// _Default:_ none.
    pub resource_documentation: Option<String>,
    /// Several issuers instead of the single-issuer settings above: each a
    /// discovery base URL or a table (see [`IssuerConfig`]). Setting both
    /// forms stops launch.
    ///
    /// _Default:_ none.
    #[serde(deserialize_with = "issuer_list", skip_serializing_if = "Option::is_none")]
    pub issuers: Option<Vec<IssuerConfig>>,
    /// Launch waits for every issuer's keys and aborts naming each that
    /// failed; `false`: launch anyway, and issuers without keys retry in
    /// the background while their tokens get 503 with `Retry-After`.
    ///
    /// _Default:_ `true`.
    pub require_keys_at_launch: bool,
    /// With an [`IssuerResolver`](crate::IssuerResolver): the most
    /// resolver-approved issuers kept (least recently used go first).
    ///
    /// _Default:_ `100`.
    pub dynamic_issuers_max: usize,
    /// Seconds an unused resolver-approved issuer is kept.
    ///
    /// _Default:_ `3600`.
    #[serde(with = "seconds")]
    pub dynamic_issuer_idle: Duration,
    /// DPoP-bound tokens (RFC 9449): the `[auth.dpop]` table.
    ///
    /// _Default:_ see [`DpopConfig`].
    pub dpop: DpopConfig,
    /// IPs and CIDRs (`10.0.0.0/8`, `fd00::/8`) of proxies whose forwarding
    /// headers say what the client asked for (the DPoP `htu`, the client
    /// certificate); from any other peer those headers are ignored.
    ///
    /// _Default:_ `[]`.
    pub trusted_proxies: Vec<String>,
    /// Which forwarding headers the trusted proxies write; only that family
    /// is read.
    ///
    /// _Default:_ `"x-forwarded"`.
    pub proxy_headers: ProxyHeaders,
    /// Certificate-bound tokens (RFC 8705): the `[auth.mtls]` table.
    ///
    /// _Default:_ see [`MtlsConfig`].
    pub mtls: MtlsConfig,
    /// Which clients, organizations and delegations the issuer's tokens
    /// may carry: the `[auth.policy]` table (an `issuers` entry may have
    /// its own).
    ///
    /// _Default:_ see [`PolicyConfig`] (no restriction).
    pub policy: PolicyConfig,
}

impl Default for Config {
    /// The defaults: the only place they are written.
    fn default() -> Self {
        Config {
            issuer_base_url: None,
            audience: Vec::new(),
            issuer: None,
            jwks_uri: None,
            algorithms: default_algorithms(),
            clock_tolerance: Duration::from_secs(5),
            jwks_cache_max_age: Duration::from_secs(600),
            jwks_cooldown: Duration::from_secs(30),
            jwks_timeout: Duration::from_secs(5),
            jwks_launch_retry: Duration::from_secs(3),
            allow_query_token: false,
            token_cache_capacity: 10_000,
            token_cache_max_bytes: 16 * 1024 * 1024,
            max_token_size: 16 * 1024,
            secret: None,
            token_signing_alg: None,
            public_key: None,
            max_token_age: None,
            strict: false,
            scope_claims: vec!["scope".to_owned()],
            dev_issuer: false,
            resource: None,
            scopes_supported: Vec::new(),
            scope_hierarchy: BTreeMap::new(),
            mcp: McpConfig::default(),
            resource_name: None,
            resource_documentation: None,
            issuers: None,
            require_keys_at_launch: true,
            dynamic_issuers_max: 100,
            dynamic_issuer_idle: Duration::from_secs(3600),
            dpop: DpopConfig::default(),
            trusted_proxies: Vec::new(),
            proxy_headers: ProxyHeaders::default(),
            mtls: MtlsConfig::default(),
            policy: PolicyConfig::default(),
        }
    }
}

/// The default `algorithms`: every asymmetric one — RS256/384/512,
/// PS256/384/512, ES256, ES384, ES512, ES256K, EdDSA and Ed25519. (A
/// token's verification costs what its issuer's key costs: an `alg` no
/// published key fits is refused before any crypto.)
pub fn default_algorithms() -> Vec<Algorithm> {
    [AlgorithmFamily::Rsa, AlgorithmFamily::Ec, AlgorithmFamily::Ed]
        .iter()
        .flat_map(|family| family.algorithms())
        .collect()
}

/// One `issuers` entry: a discovery base URL (`"https://a.example.com/"`),
/// or a table with the single-issuer settings' key source and, optionally,
/// its own `algorithms` and `audience`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerConfig {
    /// As [`Config::issuer_base_url`].
    ///
    /// _Default:_ none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_base_url: Option<String>,
    /// As [`Config::issuer`].
    ///
    /// _Default:_ the discovered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// As [`Config::jwks_uri`].
    ///
    /// _Default:_ the discovered one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks_uri: Option<String>,
    /// As [`Config::public_key`].
    ///
    /// _Default:_ none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// As [`Config::secret`].
    ///
    /// _Default:_ none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    /// As [`Config::token_signing_alg`].
    ///
    /// _Default:_ none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_signing_alg: Option<Algorithm>,
    /// This issuer's accepted `alg`s.
    ///
    /// _Default:_ the top-level `algorithms`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<Algorithm>>,
    /// This issuer's accepted `aud` values: a string or a list.
    ///
    /// _Default:_ the top-level `audience`.
    #[serde(deserialize_with = "optional_one_or_many", skip_serializing_if = "Option::is_none")]
    pub audience: Option<Vec<String>>,
    /// This issuer's [`PolicyConfig`], replacing the top-level one whole.
    ///
    /// _Default:_ the top-level `policy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<PolicyConfig>,
}

impl IssuerConfig {
    /// An entry discovered from `issuer_base_url`.
    pub fn discover(issuer_base_url: impl Into<String>) -> Self {
        IssuerConfig { issuer_base_url: Some(issuer_base_url.into()), ..Default::default() }
    }

    /// Whether any key naming an issuer is set.
    pub(crate) fn names_an_issuer(&self) -> bool {
        self.issuer_base_url.is_some()
            || self.issuer.is_some()
            || self.jwks_uri.is_some()
            || self.public_key.is_some()
            || self.secret.is_some()
    }
}

/// The `[auth.dpop]` table: DPoP-bound tokens (RFC 9449).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpopConfig {
    /// Which schemes the guards accept.
    ///
    /// _Default:_ `"allowed"` (`Bearer` and `DPoP`).
    pub mode: DpopMode,
    /// The oldest proof `iat` accepted, in seconds.
    ///
    /// _Default:_ `300`.
    #[serde(with = "seconds")]
    pub iat_offset: Duration,
    /// How far in the future a proof's `iat` may be, in seconds.
    ///
    /// _Default:_ `30`.
    #[serde(with = "seconds")]
    pub iat_leeway: Duration,
    /// The proof `alg`s accepted; `HS*` stops launch.
    ///
    /// _Default:_ every asymmetric algorithm but ES512 (a proof's key is
    /// the client's choice, and a P-521 check costs about eight ES256
    /// ones).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<Algorithm>>,
    /// Proofs this process remembers for replay detection.
    ///
    /// _Default:_ `100000`.
    pub replay_cache_capacity: usize,
    /// The most proofs one key (`jkt`) keeps in the replay cache and the
    /// replay store: past it the key drops its own oldest.
    ///
    /// _Default:_ `10000`.
    pub replay_quota: usize,
    /// `redis://host:port/db` (or `rediss://`): replay detection shared by
    /// every replica (the `redis` feature).
    ///
    /// _Default:_ none (this process's cache only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replay_store: Option<String>,
    /// What DPoP requests get while the replay store fails.
    ///
    /// _Default:_ `"local"`.
    pub replay_store_failure: ReplayStoreFailure,
    /// Require server nonces (RFC 9449 §9).
    ///
    /// _Default:_ `false`.
    pub nonce: bool,
    /// The nonces' key, at least 32 bytes: replicas with the same secret
    /// accept each other's nonces.
    ///
    /// _Default:_ random per process.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce_secret: Option<Secret>,
    /// Seconds a nonce is accepted.
    ///
    /// _Default:_ `300`.
    #[serde(with = "seconds")]
    pub nonce_lifetime: Duration,
    /// What a proof's `htu` must name, followed by the request path, e.g.
    /// `https://api.example.com` behind a proxy.
    ///
    /// _Default:_ none (the request's own `Host`, or a trusted proxy's
    /// headers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_url: Option<String>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            mode: DpopMode::default(),
            iat_offset: Duration::from_secs(300),
            iat_leeway: Duration::from_secs(30),
            algorithms: None,
            replay_cache_capacity: 100_000,
            replay_quota: 10_000,
            replay_store: None,
            replay_store_failure: ReplayStoreFailure::default(),
            nonce: false,
            nonce_secret: None,
            nonce_lifetime: Duration::from_secs(300),
            public_url: None,
        }
    }
}

/// The `[auth.mtls]` table: certificate-bound tokens (RFC 8705).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MtlsConfig {
    /// Whether certificate-bound tokens are accepted or required.
    ///
    /// _Default:_ `"allowed"`.
    pub mode: MtlsMode,
    /// The trusted proxy's header holding the client certificate, e.g.
    /// `"X-Forwarded-Client-Cert"`.
    ///
    /// _Default:_ none (Rocket's own TLS listener only, with the `mtls`
    /// feature).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proxy_header: Option<String>,
}

/// The `[auth.mcp]` table: the scopes each MCP operation needs.
///
/// ```toml
/// [default.auth.mcp]
/// default_scopes = ["read:messages"]
/// tools = { read_messages = ["read:messages"], post_message = ["write:messages"] }
/// ```
///
/// An operation listed here needs exactly its scopes (and what implies
/// them, see `scope_hierarchy`); everything else (`tools/list`, a tool not
/// listed) needs `default_scopes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct McpConfig {
    /// Tool name → the scopes `tools/call` of it needs.
    ///
    /// _Default:_ `{}`.
    pub tools: BTreeMap<String, Vec<String>>,
    /// Prompt name → the scopes `prompts/get` of it needs.
    ///
    /// _Default:_ `{}`.
    pub prompts: BTreeMap<String, Vec<String>>,
    /// Resource URI → the scopes `resources/read` (and `subscribe`,
    /// `unsubscribe`) of it needs.
    ///
    /// _Default:_ `{}`.
    pub resources: BTreeMap<String, Vec<String>>,
    /// What every other operation needs, and what a request needs before
    /// its operation is known (a client that sends no `Mcp-Method`).
    ///
    /// _Default:_ `[]` (a valid token).
    pub default_scopes: Vec<String>,
    /// The MCP endpoint's path on this service, e.g. `"/mcp"`. With
    /// `resource` set, the endpoint gets protected-resource metadata of its
    /// own (`resource` = that URL, at `/.well-known/oauth-protected-resource/mcp`),
    /// which the [`McpAccess`](crate::McpAccess) guard's challenges point
    /// at: RFC 9728 §3.3 has clients check that `resource` is exactly the
    /// URL they called.
    ///
    /// _Default:_ none (the endpoint shares the API's metadata).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
}

/// The `[auth.policy]` table: what an issuer's tokens must say about who
/// calls, for which organization, and on whose behalf.
///
/// ```toml
/// [default.auth.policy]
/// clients = ["https://mcp-client.example.com/client.json", "my-spa"]
/// organizations = ["org_9ybsU1dN2dKfDkBi"]   # or names: ["acme"]
/// delegation = "allowed"                      # "forbidden", "required"
/// actors = ["agent-7"]
/// ```
///
/// A token that breaks the policy is refused with 401 `invalid_token` and
/// a fixed reason (`Unexpected 'client_id' value`, `Missing 'org_id'
/// claim`, `Delegated tokens are not accepted`, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PolicyConfig {
    /// The clients that may call, compared exactly with `client_id`, else
    /// `azp` (MCP clients may use HTTPS URLs as client ids).
    ///
    /// _Default:_ `[]` (any client).
    pub clients: Vec<String>,
    /// Whether tokens must name an Auth0 organization (`org_id` or
    /// `org_name`).
    ///
    /// _Default:_ `"optional"`.
    pub organization: Organization,
    /// The organizations accepted: `org_…` IDs compared exactly with
    /// `org_id`, other entries with `org_name` ignoring case, as Auth0
    /// documents. A list makes an organization required.
    ///
    /// _Default:_ `[]` (any, or none).
    pub organizations: Vec<String>,
    /// Delegated tokens (RFC 8693 `act`: an agent acting for a user).
    ///
    /// _Default:_ `"allowed"`.
    pub delegation: Delegation,
    /// The actors (`act.sub`) accepted: every actor of a delegation chain
    /// must be listed.
    ///
    /// _Default:_ `[]` (any actor).
    pub actors: Vec<String>,
}

/// Whether tokens must name an organization (`auth.policy.organization`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Organization {
    /// With or without one.
    #[default]
    Optional,
    /// `org_id` or `org_name` must be present.
    Required,
}

/// Whether delegated tokens are accepted (`auth.policy.delegation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Delegation {
    /// With or without `act`.
    #[default]
    Allowed,
    /// Tokens with `act` are refused.
    Forbidden,
    /// Tokens without `act` are refused.
    Required,
}

/// What DPoP requests get while the shared replay store is unreachable
/// (`auth.dpop.replay_store_failure`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ReplayStoreFailure {
    /// Replay detection falls back to this process's own cache.
    #[default]
    Local,
    /// 503 with `Retry-After` until the store answers again.
    Reject,
}

/// Whether certificate-bound tokens are accepted or required
/// (`auth.mtls.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MtlsMode {
    /// Certificate-bound tokens with their certificate, and unbound ones.
    #[default]
    Allowed,
    /// Only certificate-bound tokens (on the `Bearer` scheme).
    Required,
    /// Certificate-bound tokens are refused, as any binding this service
    /// can't check.
    Disabled,
}

/// Which forwarding headers the trusted proxies write
/// (`auth.proxy_headers`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum ProxyHeaders {
    /// `X-Forwarded-Proto` and `X-Forwarded-Host` (nginx, HAProxy, Envoy,
    /// Traefik, cloud load balancers); `Forwarded` is ignored.
    #[default]
    XForwarded,
    /// RFC 7239 `Forwarded`; `X-Forwarded-*` are ignored.
    Forwarded,
}

/// A shared secret (`secret`, `dpop.nonce_secret`): never shown by
/// `Debug`, so settings can be logged or printed in a panic without
/// leaking it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub(crate) String);

impl Secret {
    /// The secret `value` (its UTF-8 bytes are the key).
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret(<{} bytes, redacted>)", self.0.len())
    }
}

/// Durations as whole or fractional seconds: `5`, `0.25`.
pub(crate) mod seconds {
    use super::*;

    /// A century: anything longer is a typo, and `Duration::from_secs_f64`
    /// panics on values it can't hold.
    const MAX: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

    pub(crate) fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        struct Visitor;

        impl de::Visitor<'_> for Visitor {
            type Value = Duration;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds (e.g. 5 or 0.5)")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
                self.visit_f64(v as f64)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
                self.visit_f64(v as f64)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
                if !(0.0..=MAX).contains(&v) {
                    return Err(E::custom(format_args!(
                        "{v} is not a number of seconds between 0 and {MAX}"
                    )));
                }
                Ok(Duration::from_secs_f64(v))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// An optional duration in seconds.
mod optional_seconds {
    use super::*;

    pub(super) fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => seconds::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Duration>, D::Error> {
        seconds::deserialize(d).map(Some)
    }
}

/// `audience = "x"` or `audience = ["x", "y"]`.
fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    struct Visitor;

    impl<'de> de::Visitor<'de> for Visitor {
        type Value = Vec<String>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a string or a list of strings")
        }

        fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<String>, E> {
            Ok(vec![v.to_owned()])
        }

        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
            let mut all = Vec::new();
            while let Some(item) = seq.next_element::<String>()? {
                all.push(item);
            }
            Ok(all)
        }
    }

    d.deserialize_any(Visitor)
}

fn optional_one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    one_or_many(d).map(Some)
}

/// `issuers`: each entry a base URL or a table.
fn issuer_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<IssuerConfig>>, D::Error> {
    /// One entry: a string is a base URL to discover.
    struct Entry(IssuerConfig);

    impl<'de> Deserialize<'de> for Entry {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct Visitor;

            impl<'de> de::Visitor<'de> for Visitor {
                type Value = Entry;

                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("an issuer base URL, or a table with issuer_base_url, issuer, ...")
                }

                fn visit_str<E: de::Error>(self, v: &str) -> Result<Entry, E> {
                    Ok(Entry(IssuerConfig::discover(v)))
                }

                fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Entry, A::Error> {
                    IssuerConfig::deserialize(de::value::MapAccessDeserializer::new(map)).map(Entry)
                }
            }

            d.deserialize_any(Visitor)
        }
    }

    let entries = Vec::<Entry>::deserialize(d)?;
    Ok(Some(entries.into_iter().map(|Entry(config)| config).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_survive_a_round_trip() {
        let json = serde_json::to_value(Config::default()).unwrap();
        assert_eq!(serde_json::from_value::<Config>(json).unwrap(), Config::default());
        let empty: Config = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, Config::default());
    }

    #[test]
    fn a_full_config_survives_a_round_trip() {
        let config = Config {
            audience: vec!["a".into(), "b".into()],
            issuers: Some(vec![
                IssuerConfig::discover("https://a.example.com/"),
                IssuerConfig {
                    issuer: Some("https://b.example.com/".into()),
                    secret: Some(Secret::new("s".repeat(32))),
                    token_signing_alg: Some(Algorithm::HS256),
                    audience: Some(vec!["c".into()]),
                    ..Default::default()
                },
            ]),
            max_token_age: Some(Duration::from_millis(1500)),
            dpop: DpopConfig { nonce: true, ..Default::default() },
            ..Config::default()
        };
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(serde_json::from_value::<Config>(json).unwrap(), config);
    }

    #[test]
    fn the_short_forms_read_as_written() {
        let config: Config = serde_json::from_value(serde_json::json!({
            "audience": "one",
            "issuers": ["https://a.example.com/", {"issuer": "https://b/", "audience": "x"}],
            "clock_tolerance": 0.25,
        }))
        .unwrap();
        assert_eq!(config.audience, ["one"]);
        let issuers = config.issuers.unwrap();
        assert_eq!(issuers[0], IssuerConfig::discover("https://a.example.com/"));
        assert_eq!(issuers[1].audience.as_deref(), Some(&["x".to_owned()][..]));
        assert_eq!(config.clock_tolerance, Duration::from_millis(250));
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let config = Config { secret: Some(Secret::new("hunter2-hunter2")), ..Config::default() };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
