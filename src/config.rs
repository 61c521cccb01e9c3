//! Settings: where they come from, their types and defaults, and how a bad
//! one stops launch with a message that names it.
//!
//! Sources, lowest to highest precedence:
//!
//! 1. defaults in code ([`AppDefaults`] and the `serde` defaults below), so
//!    the binary behaves the same when run where no `Rocket.toml` is found;
//! 2. `Rocket.toml` (or the file named by `ROCKET_CONFIG`), with the
//!    `[default]`, `[debug]` and `[release]` profiles;
//! 3. `ROCKET_*` environment variables, e.g.
//!    `ROCKET_AUTH={issuer_base_url="https://tenant.auth0.com/",audience="api"}`;
//! 4. the Express sample's variable names `ISSUER_BASE_URL`, `AUDIENCE`,
//!    `ISSUER` and `JWKS_URI`, read as raw strings (figment's `Env` would
//!    parse `AUDIENCE=12345` as a number and strip quotes).

use std::fmt;
use std::time::Duration;

use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use jsonwebtoken::{Algorithm, AlgorithmFamily};
use reqwest::Url;
use serde::de::{self, Deserializer};
use serde::Deserialize;

use crate::auth::algorithms::AlgSet;
use crate::auth::fetch::check_url;

/// The port of the Express sample.
pub const DEFAULT_PORT: u16 = 3010;

/// The audience of development-issuer tokens when none is configured (the
/// API identifier Auth0's quickstarts suggest).
pub const DEV_AUDIENCE: &str = "https://quickstarts/api";

/// The named environment variables and the `auth` setting each one sets.
pub const NAMED_VARIABLES: [(&str, &str); 6] = [
    ("ISSUER_BASE_URL", "issuer_base_url"),
    ("AUDIENCE", "audience"),
    ("ISSUER", "issuer"),
    ("JWKS_URI", "jwks_uri"),
    ("SECRET", "secret"),
    ("TOKEN_SIGNING_ALG", "token_signing_alg"),
];

/// One named variable as a figment provider whose metadata names it, so
/// errors point at the variable and a stray `SECRET` is told apart from a
/// configured `secret`.
struct NamedVariable {
    var: &'static str,
    key: &'static str,
    value: String,
}

impl NamedVariable {
    fn source(var: &str) -> String {
        format!("environment variable `{var}`")
    }
}

impl Provider for NamedVariable {
    fn metadata(&self) -> Metadata {
        Metadata::named(Self::source(self.var))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::global(&format!("auth.{}", self.key), &self.value).data()
    }
}

/// The full configuration figment the service runs with: code defaults,
/// `Rocket.toml`, `ROCKET_*` variables, then the named variables.
pub fn figment() -> Figment {
    let profile = Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE);
    let named = NAMED_VARIABLES.iter().filter_map(|&(var, key)| {
        let value = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
        Some(NamedVariable { var, key, value })
    });

    let mut figment = Figment::from(rocket::Config::default())
        .merge(AppDefaults::for_profile(&profile))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global());
    for provider in named {
        figment = figment.merge(provider);
    }

    figment.select(profile)
}

/// The app's own defaults, underneath `Rocket.toml`: port 3010, and an
/// address that is loopback-only in debug and every interface otherwise.
///
/// They sit in the `default` profile, chosen for the selected profile here,
/// so that a `[default]` table in `Rocket.toml` still overrides them (a code
/// default in a `[release]` profile would win over the user's `[default]`).
pub struct AppDefaults;

impl AppDefaults {
    pub fn for_profile(profile: &Profile) -> Figment {
        let address = match profile.as_str().as_str() {
            "debug" => "127.0.0.1",
            _ => "0.0.0.0",
        };

        Figment::new()
            .merge(Serialized::default("port", DEFAULT_PORT))
            .merge(Serialized::default("address", address))
    }
}

/// The `auth` table: how tokens are checked. Field docs give each default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// OIDC discovery base URL, e.g. `https://tenant.auth0.com/`
    /// (`ISSUER_BASE_URL`). No default.
    #[serde(default)]
    pub issuer_base_url: Option<String>,
    /// Accepted `aud` values; a token must carry one of them (`AUDIENCE`).
    /// No default.
    #[serde(default)]
    pub audience: Audiences,
    /// Exact `iss` to require, overriding the discovered issuer (`ISSUER`).
    #[serde(default)]
    pub issuer: Option<String>,
    /// JWKS URL; with `issuer` it skips discovery (`JWKS_URI`).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Accepted `alg` values. Default: every asymmetric algorithm
    /// jsonwebtoken supports.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<Algorithm>,
    /// Allowed clock skew for `exp` and `nbf`, in seconds. Default 5.
    #[serde(default = "defaults::clock_tolerance")]
    pub clock_tolerance: Seconds,
    /// How often the JWKS is refreshed, in seconds. Default 600.
    #[serde(default = "defaults::jwks_cache_max_age")]
    pub jwks_cache_max_age: Seconds,
    /// Minimum time between refetches caused by unknown `kid`s, in seconds.
    /// Default 30.
    #[serde(default = "defaults::jwks_cooldown")]
    pub jwks_cooldown: Seconds,
    /// Timeout of each request to the identity provider, in seconds. Default 5.
    #[serde(default = "defaults::jwks_timeout")]
    pub jwks_timeout: Seconds,
    /// How long launch keeps retrying an identity provider that can't be
    /// reached before it aborts, in seconds. Default 3.
    #[serde(default = "defaults::jwks_launch_retry")]
    pub jwks_launch_retry: Seconds,
    /// Accept `?access_token=` (RFC 6750 §2.3, which says SHOULD NOT).
    /// Default `false`.
    #[serde(default)]
    pub allow_query_token: bool,
    /// How many verified tokens to remember (a hit skips the signature
    /// check); 0 disables the cache. Default 10000.
    #[serde(default = "defaults::token_cache_capacity")]
    pub token_cache_capacity: usize,
    /// The most bytes the verified-token cache holds (tokens, payloads and
    /// parsed claims); 0 disables the cache. Default 16777216 (16 MiB).
    #[serde(default = "defaults::token_cache_max_bytes")]
    pub token_cache_max_bytes: u64,
    /// Longest accepted token, in bytes. Default 16384.
    #[serde(default = "defaults::max_token_size")]
    pub max_token_size: usize,
    /// Shared secret for HS256/384/512 tokens, used as its UTF-8 bytes: at
    /// least 32/48/64 bytes (`SECRET`). Needs `token_signing_alg`.
    #[serde(default)]
    pub secret: Option<String>,
    /// The one `alg` tokens must carry (`TOKEN_SIGNING_ALG`). Required with
    /// `secret` (HS256/384/512) and with a PEM `public_key`.
    #[serde(default)]
    pub token_signing_alg: Option<Algorithm>,
    /// A static verification key instead of a JWKS: PEM (with
    /// `token_signing_alg`), a JWK or a JWK Set. No network at all.
    #[serde(default)]
    pub public_key: Option<String>,
    /// Oldest accepted token, in seconds since its `iat` (which becomes
    /// required). Default: no limit.
    #[serde(default)]
    pub max_token_age: Option<Seconds>,
    /// RFC 9068 JWT access-token profile: header `typ` `at+jwt`, and `iss`,
    /// `sub`, `aud`, `exp`, `iat`, `jti`, `client_id` required. Default
    /// `false`.
    #[serde(default)]
    pub strict: bool,
    /// Claims whose values are granted scopes: any of `scope`, `scp`,
    /// `permissions`. Default `["scope"]`.
    #[serde(default = "defaults::scope_claims")]
    pub scope_claims: Vec<String>,
    /// Run the built-in development issuer when no real issuer is
    /// configured. Debug profile only. Default `false` (the shipped
    /// `Rocket.toml` sets it in `[debug.auth]`).
    #[serde(default)]
    pub dev_issuer: bool,
    /// Things worth a warning at launch (e.g. an ignored stray `SECRET`).
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// Claims that may hold scopes.
pub const SCOPE_CLAIMS: [&str; 3] = ["scope", "scp", "permissions"];

/// The defaults of the `auth` settings, written once: the settings' serde
/// defaults and [`Policy::new`](crate::auth::Policy::new) both use them.
pub(crate) mod defaults {
    use super::Seconds;

    pub fn clock_tolerance() -> Seconds {
        Seconds::from_secs(5)
    }
    pub fn jwks_cache_max_age() -> Seconds {
        Seconds::from_secs(600)
    }
    pub fn jwks_cooldown() -> Seconds {
        Seconds::from_secs(30)
    }
    pub fn jwks_timeout() -> Seconds {
        Seconds::from_secs(5)
    }
    pub fn jwks_launch_retry() -> Seconds {
        Seconds::from_secs(3)
    }
    pub fn scope_claims() -> Vec<String> {
        vec!["scope".to_owned()]
    }
    pub fn token_cache_capacity() -> usize {
        10_000
    }
    pub fn token_cache_max_bytes() -> u64 {
        16 * 1024 * 1024
    }
    pub fn max_token_size() -> usize {
        16 * 1024
    }
}

/// Every asymmetric algorithm jsonwebtoken implements.
pub fn default_algorithms() -> Vec<Algorithm> {
    [AlgorithmFamily::Rsa, AlgorithmFamily::Ec, AlgorithmFamily::Ed]
        .iter()
        .flat_map(|family| family.algorithms().iter().copied())
        .collect()
}

/// Where the issuer's identity and keys come from, once settings are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// OIDC / RFC 8414 discovery from `base_url`; `issuer` and `jwks_uri`
    /// override what the discovery document says.
    Discovery { base_url: Url, issuer: Option<String>, jwks_uri: Option<Url> },
    /// `issuer` and `jwks_uri` both given: no discovery.
    Jwks { issuer: String, jwks_uri: Url },
    /// No real issuer configured and `dev_issuer` on: the built-in
    /// development issuer signs and verifies.
    DevIssuer,
    /// `secret`: HS256/384/512 with a shared secret. The issuer is `issuer`,
    /// or the one discovered from `base_url` (no key set is fetched).
    Secret { secret: String, alg: Algorithm, issuer: Option<String>, base_url: Option<Url> },
    /// `public_key`: a static key; no network at all.
    StaticKey { public_key: String, issuer: String },
}

impl AuthConfig {
    /// Extracts the `auth` table of `figment` and checks it.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let mut config: AuthConfig =
            figment.focus("auth").extract().map_err(ConfigError::from_figment)?;
        // The Express library silently switches to HS256 on a stray SECRET
        // (its issue #121), breaking RS256 deployments; here it is ignored.
        let secret_from_env = figment
            .find_metadata("auth.secret")
            .is_some_and(|meta| meta.name == NamedVariable::source("SECRET"));
        if secret_from_env && !config.token_signing_alg.is_some_and(is_hmac) {
            config.secret = None;
            config.warnings.push(
                "SECRET is set but TOKEN_SIGNING_ALG is not HS256, HS384 or HS512: ignoring SECRET"
                    .to_owned(),
            );
        }
        let profile = figment.profile();
        if config.dev_issuer && profile != "debug" {
            return Err(ConfigError::invalid(
                "dev_issuer",
                format!(
                    "the development issuer is only allowed in the debug profile, and this is \
                     the `{profile}` profile: remove `dev_issuer` and configure a real issuer"
                ),
            ));
        }
        config.validate()?;
        config.key_source()?;
        config.validate_audience()?;
        Ok(config)
    }

    /// Whether any part of a real issuer is configured.
    fn has_real_issuer(&self) -> bool {
        self.issuer_base_url.is_some()
            || self.issuer.is_some()
            || self.jwks_uri.is_some()
            || self.secret.is_some()
            || self.public_key.is_some()
    }

    /// The `alg` values tokens may carry: `token_signing_alg` alone when
    /// set, else `algorithms`.
    pub fn allowed_algorithms(&self) -> AlgSet {
        match self.token_signing_alg {
            Some(alg) => AlgSet::of(&[alg]),
            None => AlgSet::of(&self.algorithms),
        }
    }

    /// Whether the development issuer runs: enabled, and no real issuer.
    pub fn uses_dev_issuer(&self) -> bool {
        self.dev_issuer && !self.has_real_issuer()
    }

    /// The accepted audiences: as configured, or [`DEV_AUDIENCE`] for the
    /// development issuer when none is.
    pub fn audiences(&self) -> Vec<String> {
        match self.audience.0.is_empty() && self.uses_dev_issuer() {
            true => vec![DEV_AUDIENCE.to_owned()],
            false => self.audience.0.clone(),
        }
    }

    /// Where keys come from; fails if no issuer is configured.
    pub fn key_source(&self) -> Result<KeySource, ConfigError> {
        if self.uses_dev_issuer() {
            return Ok(KeySource::DevIssuer);
        }
        if let Some(secret) = &self.secret {
            return self.secret_source(secret);
        }
        if let Some(public_key) = &self.public_key {
            if self.jwks_uri.is_some() {
                return Err(ConfigError::invalid(
                    "public_key",
                    "can't be combined with jwks_uri".into(),
                ));
            }
            let issuer = self.issuer.clone().ok_or(ConfigError::Missing {
                setting: "issuer",
                hint: "a static public_key does no discovery: set ISSUER to the exact `iss` of your tokens",
            })?;
            return Ok(KeySource::StaticKey { public_key: public_key.clone(), issuer });
        }

        let url = |setting: &'static str, value: &str| {
            let url = Url::parse(value.trim())
                .map_err(|e| ConfigError::invalid(setting, format!("not a URL ({e})")))?;
            check_url(&url).map_err(|problem| ConfigError::invalid(setting, problem))?;
            Ok::<_, ConfigError>(url)
        };

        let issuer = match self.issuer.as_deref().map(str::trim) {
            Some("") => return Err(ConfigError::invalid("issuer", "is empty".into())),
            issuer => issuer.map(String::from),
        };
        let jwks_uri = self.jwks_uri.as_deref().map(|u| url("jwks_uri", u)).transpose()?;
        match (&self.issuer_base_url, issuer, jwks_uri) {
            (_, Some(issuer), Some(jwks_uri)) => Ok(KeySource::Jwks { issuer, jwks_uri }),
            (Some(base), issuer, jwks_uri) => Ok(KeySource::Discovery {
                base_url: url("issuer_base_url", base)?,
                issuer,
                jwks_uri,
            }),
            (None, _, _) => Err(ConfigError::Missing {
                setting: "issuer_base_url",
                hint: "set ISSUER_BASE_URL (e.g. https://YOUR_TENANT.auth0.com/), or both \
                       ISSUER and JWKS_URI",
            }),
        }
    }

    fn secret_source(&self, secret: &str) -> Result<KeySource, ConfigError> {
        let alg = self.token_signing_alg.filter(|alg| is_hmac(*alg)).ok_or_else(|| {
            ConfigError::invalid(
                "secret",
                "needs token_signing_alg = HS256, HS384 or HS512 (TOKEN_SIGNING_ALG)".into(),
            )
        })?;
        for (other, set) in
            [("jwks_uri", self.jwks_uri.is_some()), ("public_key", self.public_key.is_some())]
        {
            if set {
                return Err(ConfigError::invalid(
                    "secret",
                    format!("can't be combined with {other}"),
                ));
            }
        }
        // RFC 7518 §3.2, RFC 8725 §3.5: a key at least as long as the hash.
        let min = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            _ => 64,
        };
        if secret.len() < min {
            return Err(ConfigError::invalid(
                "secret",
                format!(
                    "is {} bytes, and {alg:?} needs at least {min} (RFC 7518 §3.2)",
                    secret.len()
                ),
            ));
        }

        let base_url = match &self.issuer_base_url {
            Some(base) => {
                let url = Url::parse(base.trim()).map_err(|e| {
                    ConfigError::invalid("issuer_base_url", format!("not a URL ({e})"))
                })?;
                check_url(&url)
                    .map_err(|problem| ConfigError::invalid("issuer_base_url", problem))?;
                Some(url)
            }
            None => None,
        };
        if self.issuer.is_none() && base_url.is_none() {
            return Err(ConfigError::Missing {
                setting: "issuer",
                hint: "set ISSUER (or ISSUER_BASE_URL to discover it) for HS256 tokens",
            });
        }
        Ok(KeySource::Secret {
            secret: secret.to_owned(),
            alg,
            issuer: self.issuer.clone(),
            base_url,
        })
    }

    fn validate_audience(&self) -> Result<(), ConfigError> {
        if self.audiences().is_empty() {
            return Err(ConfigError::Missing {
                setting: "audience",
                hint: "set AUDIENCE to your API's identifier (e.g. https://api.example.com)",
            });
        }
        if self.audience.0.iter().any(|a| a.trim().is_empty()) {
            return Err(ConfigError::invalid("audience", "contains an empty value".into()));
        }
        Ok(())
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.algorithms.is_empty() {
            return Err(ConfigError::invalid("algorithms", "is empty".into()));
        }
        if let Some(alg) = self.algorithms.iter().find(|a| a.family() == AlgorithmFamily::Hmac) {
            return Err(ConfigError::invalid(
                "algorithms",
                format!("{alg:?} is symmetric: it can't be verified with a JSON Web Key Set"),
            ));
        }
        match self.token_signing_alg {
            Some(alg) if is_hmac(alg) && self.secret.is_none() => {
                return Err(ConfigError::invalid(
                    "token_signing_alg",
                    format!("{alg:?} needs a secret (SECRET)"),
                ));
            }
            Some(alg) if !is_hmac(alg) && !self.algorithms.contains(&alg) => {
                return Err(ConfigError::invalid(
                    "token_signing_alg",
                    format!("{alg:?} is not among `algorithms`"),
                ));
            }
            _ => {}
        }
        if self.scope_claims.is_empty() {
            return Err(ConfigError::invalid("scope_claims", "is empty".into()));
        }
        if let Some(claim) = self.scope_claims.iter().find(|c| !SCOPE_CLAIMS.contains(&c.as_str()))
        {
            return Err(ConfigError::invalid(
                "scope_claims",
                format!("{claim:?} is not one of scope, scp, permissions"),
            ));
        }
        if self.jwks_timeout.is_zero() {
            return Err(ConfigError::invalid("jwks_timeout", "must be more than 0".into()));
        }
        if self.jwks_cache_max_age.is_zero() {
            return Err(ConfigError::invalid("jwks_cache_max_age", "must be more than 0".into()));
        }
        if self.max_token_size == 0 {
            return Err(ConfigError::invalid("max_token_size", "must be more than 0".into()));
        }

        Ok(())
    }
}

fn is_hmac(alg: Algorithm) -> bool {
    alg.family() == AlgorithmFamily::Hmac
}

/// Accepted audiences: `audience = "x"` or `audience = ["x", "y"]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audiences(pub Vec<String>);

impl<'de> Deserialize<'de> for Audiences {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl<'de> de::Visitor<'de> for Visitor {
            type Value = Audiences;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string or a list of strings")
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Audiences, E> {
                Ok(Audiences(vec![v.to_owned()]))
            }

            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Audiences, A::Error> {
                let mut all = Vec::new();
                while let Some(audience) = seq.next_element::<String>()? {
                    all.push(audience);
                }
                Ok(Audiences(all))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// A duration written as whole or fractional seconds: `5`, `0.25`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Seconds(pub Duration);

impl Seconds {
    pub const fn from_secs(secs: u64) -> Self {
        Seconds(Duration::from_secs(secs))
    }
}

impl std::ops::Deref for Seconds {
    type Target = Duration;

    fn deref(&self) -> &Duration {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;

        // A century: anything longer is a typo, and Duration::from_secs_f64
        // panics on values it can't hold.
        const MAX: f64 = 100.0 * 365.0 * 24.0 * 3600.0;

        impl de::Visitor<'_> for Visitor {
            type Value = Seconds;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number of seconds (e.g. 5 or 0.5)")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                self.visit_f64(v as f64)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                self.visit_f64(v as f64)
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                if !(0.0..=MAX).contains(&v) {
                    return Err(E::custom(format_args!(
                        "{v} is not a number of seconds between 0 and {MAX}"
                    )));
                }
                Ok(Seconds(Duration::from_secs_f64(v)))
            }
        }

        d.deserialize_any(Visitor)
    }
}

/// A missing or invalid setting. Its message names the setting and how to
/// set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    Missing { setting: &'static str, hint: &'static str },
    Invalid { setting: String, problem: String },
}

impl ConfigError {
    fn invalid(setting: &str, problem: String) -> Self {
        ConfigError::Invalid { setting: setting.to_owned(), problem }
    }

    fn from_figment(error: figment::Error) -> Self {
        use figment::error::Kind;

        let mut path = error.path.clone();
        let field = match &error.kind {
            Kind::MissingField(field) => Some(field.to_string()),
            Kind::UnknownField(field, _) => Some(field.clone()),
            _ => None,
        };
        if let Some(field) = field.filter(|field| path.last() != Some(field)) {
            path.push(field);
        }

        // `algorithms.0` names the list item; the setting is `algorithms`.
        if let Some(index) = path.iter().position(|key| key.parse::<usize>().is_ok()) {
            path.truncate(index);
        }
        let setting = path.join(".");
        let problem = match &error.kind {
            Kind::UnknownField(..) => "is not a known setting".to_owned(),
            kind => kind.to_string(),
        };
        ConfigError::Invalid { setting, problem }
    }

    fn env_name(setting: &str) -> Option<&'static str> {
        NAMED_VARIABLES.iter().find(|(_, key)| *key == setting).map(|(var, _)| *var)
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Missing { setting, hint } => write!(
                f,
                "missing setting `auth.{setting}`: {hint}, or set `{setting}` in the [default.auth] \
                 table of Rocket.toml"
            ),
            ConfigError::Invalid { setting, problem } => {
                write!(f, "invalid setting `auth.{setting}`: {problem}")?;
                match Self::env_name(setting) {
                    Some(var) => write!(f, " (check {var} and the [auth] tables of Rocket.toml)"),
                    None => write!(f, " (check the [auth] tables of Rocket.toml and ROCKET_AUTH)"),
                }
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn extract(toml: &str) -> Result<AuthConfig, ConfigError> {
        AuthConfig::from_figment(&Figment::from(Toml::string(toml)))
    }

    const VALID: &str = r#"
        [auth]
        issuer_base_url = "https://tenant.example.com/"
        audience = "https://api.example.test"
    "#;

    #[test]
    fn defaults_apply_underneath_the_file() {
        let config = extract(VALID).unwrap();
        assert_eq!(config.audience.0, ["https://api.example.test"]);
        assert_eq!(*config.clock_tolerance, Duration::from_secs(5));
        assert_eq!(*config.jwks_cache_max_age, Duration::from_secs(600));
        assert_eq!(*config.jwks_cooldown, Duration::from_secs(30));
        assert_eq!(*config.jwks_timeout, Duration::from_secs(5));
        assert_eq!(config.max_token_size, 16384);
        assert!(!config.allow_query_token);
        assert_eq!(config.algorithms.len(), 9);
    }

    #[test]
    fn durations_take_fractional_seconds() {
        let config =
            extract(&format!("{VALID}\njwks_cooldown = 0.25\nclock_tolerance = 0")).unwrap();
        assert_eq!(*config.jwks_cooldown, Duration::from_millis(250));
        assert!(config.clock_tolerance.is_zero());

        let error = extract(&format!("{VALID}\njwks_timeout = -1")).unwrap_err();
        assert!(error.to_string().contains("`auth.jwks_timeout`"), "{error}");
        let error = extract(&format!("{VALID}\njwks_timeout = 1e300")).unwrap_err();
        assert!(error.to_string().contains("`auth.jwks_timeout`"), "{error}");
    }

    #[test]
    fn audience_is_a_string_or_a_list() {
        let config = extract(
            "[auth]\nissuer_base_url = \"https://t.example.com\"\naudience = [\"a\", \"b\"]",
        )
        .unwrap();
        assert_eq!(config.audience.0, ["a", "b"]);

        let error = extract("[auth]\nissuer_base_url = \"https://t.example.com\"\naudience = 5")
            .unwrap_err();
        assert!(error.to_string().starts_with("invalid setting `auth.audience`"), "{error}");
    }

    #[test]
    fn missing_settings_name_the_variable_to_set() {
        let error = extract("[auth]\naudience = \"x\"").unwrap_err();
        assert!(error.to_string().contains("`auth.issuer_base_url`"), "{error}");
        assert!(error.to_string().contains("ISSUER_BASE_URL"), "{error}");

        let error = extract("[auth]\nissuer_base_url = \"https://t.example.com\"").unwrap_err();
        assert!(error.to_string().contains("`auth.audience`"), "{error}");
        assert!(error.to_string().contains("AUDIENCE"), "{error}");
    }

    #[test]
    fn bad_values_are_named() {
        for (extra, setting) in [
            ("algorithms = [\"none\"]", "auth.algorithms"),
            ("algorithms = [\"HS256\"]", "auth.algorithms"),
            ("algorithms = []", "auth.algorithms"),
            ("audiense = \"typo\"", "auth.audiense"),
            ("jwks_uri = \"ftp://x\"", "auth.jwks_uri"),
        ] {
            let error = extract(&format!("{VALID}\n{extra}")).unwrap_err().to_string();
            assert!(error.contains(&format!("`{setting}`")), "{extra}: {error}");
        }
    }

    #[test]
    fn plain_http_is_only_for_loopback() {
        let error =
            extract("[auth]\nissuer_base_url = \"http://tenant.example.com/\"\naudience = \"a\"")
                .unwrap_err();
        assert!(error.to_string().contains("https"), "{error}");

        for base in
            ["http://127.0.0.1:9/", "http://localhost:9", "http://[::1]:9/", "http://127.9.9.9"]
        {
            let toml = format!("[auth]\nissuer_base_url = \"{base}\"\naudience = \"a\"");
            assert!(extract(&toml).is_ok(), "{base}");
        }
    }

    #[test]
    fn the_dev_issuer_runs_only_without_a_real_issuer_and_only_in_debug() {
        let debug = |toml: &str| {
            AuthConfig::from_figment(&Figment::from(Toml::string(toml)).select("debug"))
        };
        let config = debug("[auth]\ndev_issuer = true\nclock_tolerance = 1").unwrap();
        assert_eq!(config.key_source().unwrap(), KeySource::DevIssuer);
        assert_eq!(config.audiences(), [DEV_AUDIENCE]);

        let config = debug("[auth]\ndev_issuer = true\naudience = \"mine\"").unwrap();
        assert_eq!(config.audiences(), ["mine"]);

        let config = debug(&format!("{VALID}\ndev_issuer = true")).unwrap();
        assert!(matches!(config.key_source().unwrap(), KeySource::Discovery { .. }));

        let release = Figment::from(Toml::string("[auth]\ndev_issuer = true")).select("release");
        let error = AuthConfig::from_figment(&release).unwrap_err().to_string();
        assert!(error.contains("`auth.dev_issuer`") && error.contains("release"), "{error}");
    }

    #[test]
    fn issuer_and_jwks_uri_skip_discovery() {
        let config = extract(
            "[auth]\nissuer = \"https://i.example.com/\"\njwks_uri = \"https://i.example.com/jwks\"\naudience = \"a\"",
        )
        .unwrap();
        assert!(matches!(config.key_source().unwrap(), KeySource::Jwks { .. }));
    }
}
