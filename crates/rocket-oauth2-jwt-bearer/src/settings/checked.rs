//! The checked settings: [`Config`](crate::Config) (the `auth` table as
//! written, with every default) read from figment once, checked once, into
//! a [`Settings`] value that nothing downstream re-derives.
//!
//! Sources, lowest to highest precedence, as the fairing layers them: the
//! defaults ([`Config::default`](crate::Config)), `Rocket.toml`'s
//! `[default.auth]` and profile tables, `ROCKET_AUTH={...}`, then the
//! Express library's variable names (`ISSUER_BASE_URL`, `AUDIENCE`, ...:
//! [`NamedVariables`]). Apps that keep settings elsewhere hand the fairing
//! a `Config` ([`JwtAuth::with_config`](crate::JwtAuth::with_config)),
//! checked the same way.
//!
//! A bad setting is a [`ConfigError`] that names the setting, where its
//! value came from (figment's metadata: `Rocket.toml [release.auth]`,
//! `ROCKET_AUTH`, the variable `AUDIENCE`, `Config`, ...) and what is
//! wrong.

use std::time::Duration;

use figment::providers::Serialized;
use figment::value::{Dict, Map};
use figment::{Figment, Metadata, Profile, Provider};
use reqwest::Url;

use crate::settings::config::{Config, DpopMode, IssuerConfig, MtlsMode};
pub use crate::settings::config_error::ConfigError;
use crate::settings::config_error::origin_of;
use crate::settings::dpop::DpopSettings;
use crate::settings::issuer_settings::{IssuerCheck, IssuerSettings, KeySource, Place, is_hmac};
use crate::settings::mcp::McpScopes;
use crate::settings::mtls::MtlsSettings;
use crate::settings::scope_claims::ScopeClaims;
use crate::settings::scope_hierarchy::{OFFLINE_ACCESS, ScopeHierarchy, is_scope_token};
use crate::settings::trusted_proxies::TrustedProxies;
use crate::words::url_policy::check_url;

/// The audience of development-issuer tokens when none is configured (the
/// API identifier Auth0's quickstarts suggest).
pub(crate) const DEV_AUDIENCE: &str = "https://quickstarts/api";

/// The Express library's variable names and the `auth` setting each sets.
const NAMED_VARIABLES: [(&str, &str); 6] = [
    ("ISSUER_BASE_URL", "issuer_base_url"),
    ("AUDIENCE", "audience"),
    ("ISSUER", "issuer"),
    ("JWKS_URI", "jwks_uri"),
    ("SECRET", "secret"),
    ("TOKEN_SIGNING_ALG", "token_signing_alg"),
];

/// A figment provider for the Express library's variables:
/// `ISSUER_BASE_URL`, `AUDIENCE`, `ISSUER`, `JWKS_URI`, `SECRET` and
/// `TOKEN_SIGNING_ALG`, each setting its `auth.*` setting.
///
/// They are read as raw strings (figment's `Env` would parse
/// `AUDIENCE=12345` as a number), empty ones are ignored, and each value's
/// metadata names its variable, so an error points at it. Merge them last:
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::NamedVariables;
///
/// let figment = NamedVariables::from_env().merge_into(rocket::Config::figment());
/// # let _ = figment;
/// ```
#[derive(Debug, Clone)]
pub struct NamedVariables {
    values: Vec<(&'static str, &'static str, String)>,
}

impl NamedVariables {
    /// The variables set (and not blank) in this process's environment.
    pub fn from_env() -> Self {
        let values = NAMED_VARIABLES
            .iter()
            .filter_map(|&(var, key)| {
                let value = std::env::var(var).ok().filter(|v| !v.trim().is_empty())?;
                Some((var, key, value))
            })
            .collect();
        NamedVariables { values }
    }

    fn source_name(var: &str) -> String {
        format!("environment variable `{var}`")
    }
}

/// One variable as its own provider, so that its metadata names it.
struct NamedVariable<'a> {
    var: &'a str,
    key: &'a str,
    value: &'a str,
}

impl Provider for NamedVariable<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named(NamedVariables::source_name(self.var))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::global(&format!("auth.{}", self.key), self.value).data()
    }
}

impl NamedVariables {
    /// Merges each variable into `figment` as its own provider.
    pub fn merge_into(self, mut figment: Figment) -> Figment {
        for (var, key, value) in &self.values {
            figment = figment.merge(NamedVariable { var, key, value });
        }
        figment
    }
}

impl Config {
    /// The single-issuer settings, as an `issuers` entry would hold them.
    fn issuer_fields(&self) -> IssuerConfig {
        IssuerConfig {
            issuer_base_url: self.issuer_base_url.clone(),
            issuer: self.issuer.clone(),
            jwks_uri: self.jwks_uri.clone(),
            public_key: self.public_key.clone(),
            secret: self.secret.clone(),
            token_signing_alg: self.token_signing_alg,
            algorithms: None,
            audience: None,
            policy: None,
        }
    }
}

/// Claims that may hold scopes.
const SCOPE_CLAIMS: [&str; 3] = ["scope", "scp", "permissions"];

/// The checked `auth` settings: from [`Settings::from_figment`] (what the
/// fairing does with Rocket's figment) or [`Settings::from_config`].
///
/// ```rust
/// use std::time::Duration;
/// use rocket_oauth2_jwt_bearer::{Config, Settings};
///
/// let settings = Settings::from_config(&Config {
///     issuer_base_url: Some("https://tenant.example.com/".into()),
///     audience: vec!["https://api.example.com".into()],
///     clock_tolerance: Duration::from_secs(2),
///     ..Config::default()
/// })
/// .expect("valid settings");
/// assert_eq!(settings.clock_tolerance(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone)]
pub struct Settings {
    raw: Config,
    /// The trusted issuers, in the order configured; never empty.
    pub(crate) issuers: Vec<IssuerSettings>,
    /// The top-level `audience` (the development issuer's default
    /// included): what a resolver's issuer without its own accepts.
    pub(crate) audiences: Vec<String>,
    pub(crate) scope_claims: ScopeClaims,
    pub(crate) warnings: Vec<String>,
    pub(crate) resource: Resource,
    pub(crate) dpop: DpopSettings,
    pub(crate) trusted_proxies: TrustedProxies,
    pub(crate) mtls: MtlsSettings,
    pub(crate) scope_hierarchy: ScopeHierarchy,
    pub(crate) mcp: McpScopes,
}

/// The RFC 9728 protected-resource settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Resource {
    /// `resource`, exactly as configured (clients compare it byte for byte);
    /// `None` turns the metadata off, but for the development issuer.
    pub(crate) identifier: Option<String>,
    pub(crate) scopes_supported: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) documentation: Option<String>,
}

impl Settings {
    /// Extracts the `auth` table of `figment` and checks it.
    pub fn from_figment(figment: &Figment) -> Result<Self, ConfigError> {
        let mut raw: Config =
            figment.focus("auth").extract().map_err(|e| ConfigError::from_figment(figment, e))?;
        let mut warnings = Vec::new();
        // The Express library silently switches to HS256 on a stray SECRET
        // (its issue #121), breaking RS256 deployments; here it is ignored.
        let secret_from_env = figment
            .find_metadata("auth.secret")
            .is_some_and(|meta| meta.name == NamedVariables::source_name("SECRET"));
        if secret_from_env && !raw.token_signing_alg.is_some_and(is_hmac) {
            raw.secret = None;
            warnings.push(
                "SECRET is set but TOKEN_SIGNING_ALG is not HS256, HS384 or HS512: ignoring SECRET"
                    .to_owned(),
            );
        }
        let check = Check { figment, raw: &raw };
        let profile = figment.profile();
        if raw.dev_issuer && profile != "debug" {
            return Err(check.invalid(
                "dev_issuer",
                format!(
                    "the development issuer is only allowed in the debug profile, and this is \
                     the `{profile}` profile: remove `dev_issuer` and configure a real issuer"
                ),
            ));
        }
        check.values()?;
        let issuers = check.issuers()?;
        let audiences = match issuers.as_slice() {
            [single] if raw.issuers.is_none() => single.audiences.clone(),
            _ => raw.audience.clone(),
        };
        let scope_claims = ScopeClaims::of(&raw.scope_claims);
        let resource = check.resource()?;
        let dpop =
            raw.dpop.check().map_err(|(setting, problem)| check.invalid(setting, problem))?;
        let trusted_proxies = TrustedProxies::parse(&raw.trusted_proxies, raw.proxy_headers)
            .map_err(|problem| check.invalid("trusted_proxies", problem.to_string()))?;
        // Rocket checks `[tls.mutual]` itself; here it only counts as a source.
        let listener = cfg!(feature = "mtls") && figment.find_value("tls.mutual").is_ok();
        let mtls = raw
            .mtls
            .check(listener)
            .map_err(|(setting, problem)| check.invalid(setting, problem))?;
        let scope_hierarchy = ScopeHierarchy::check(&raw.scope_hierarchy)
            .map_err(|problem| check.invalid("scope_hierarchy", problem.to_string()))?;
        let mcp =
            McpScopes::check(&raw.mcp).map_err(|(setting, why)| check.invalid(&setting, why))?;
        if !resource.scopes_supported.is_empty() {
            let supported = |name: &str| resource.scopes_supported.iter().any(|s| s == name);
            let named = scope_hierarchy.names().map(|n| ("scope_hierarchy", n));
            let named = named.chain(mcp.names().map(|n| ("mcp", n)));
            let mut unknown: Vec<(&str, &str)> = named.filter(|(_, n)| !supported(n)).collect();
            unknown.sort_unstable();
            unknown.dedup();
            for (setting, name) in unknown {
                warnings.push(format!(
                    "{setting} names the scope `{name}`, which scopes_supported doesn't list"
                ));
            }
        }
        Ok(Settings {
            raw,
            issuers,
            audiences,
            scope_claims,
            warnings,
            resource,
            dpop,
            trusted_proxies,
            mtls,
            scope_hierarchy,
            mcp,
        })
    }

    /// Checks `config`, written in code, exactly as the `auth` table is
    /// checked: an error names the setting and `Config` as its origin. It
    /// is read as the `debug` profile's (the fairing still refuses the
    /// development issuer in any other).
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::{Config, Settings};
    ///
    /// let config = Config { audience: vec!["https://api.example.com".into()], ..Config::default() };
    /// let error = Settings::from_config(&config).unwrap_err();
    /// assert!(error.to_string().contains("`auth.issuer_base_url`"));
    /// ```
    pub fn from_config(config: &Config) -> Result<Self, ConfigError> {
        Settings::from_figment(&Figment::from(InCode(config)).select("debug"))
    }

    /// Accepted `aud` values (the development issuer's default included).
    pub fn audiences(&self) -> &[String] {
        &self.audiences
    }
    /// `issuer_base_url`, as written.
    pub fn issuer_base_url(&self) -> Option<&str> {
        self.raw.issuer_base_url.as_deref()
    }
    /// `issuer`, as written.
    pub fn issuer(&self) -> Option<&str> {
        self.raw.issuer.as_deref()
    }
    /// `jwks_uri`, as written.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.raw.jwks_uri.as_deref()
    }
    /// Whether some issuer's tokens are checked with a shared `secret`
    /// (HS256/384/512).
    pub fn uses_secret(&self) -> bool {
        self.issuers.iter().any(|i| matches!(i.source, KeySource::Secret { .. }))
    }
    /// Whether the development issuer signs and verifies.
    pub fn uses_dev_issuer(&self) -> bool {
        self.issuers.iter().any(|i| i.source == KeySource::DevIssuer)
    }
    /// The trusted issuers: the `issuers` list, or the single-issuer
    /// settings as its only entry.
    pub fn issuers(&self) -> &[IssuerSettings] {
        &self.issuers
    }
    /// `require_keys_at_launch`: whether launch waits for every issuer's
    /// keys (else issuers without keys keep retrying in the background).
    pub fn require_keys_at_launch(&self) -> bool {
        self.raw.require_keys_at_launch
    }
    /// `dynamic_issuers_max`: the most issuers a resolver's answers keep.
    pub fn dynamic_issuers_max(&self) -> usize {
        self.raw.dynamic_issuers_max
    }
    /// `dynamic_issuer_idle`: how long an unused resolver issuer is kept.
    pub fn dynamic_issuer_idle(&self) -> Duration {
        self.raw.dynamic_issuer_idle
    }
    /// Things worth a warning at launch (an ignored stray `SECRET`, say);
    /// the fairing logs them.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
    /// `dpop.mode`: which authorization schemes the guards accept.
    pub fn dpop_mode(&self) -> DpopMode {
        self.dpop.mode
    }
    /// `mtls.mode`: whether certificate-bound tokens are accepted or required.
    pub fn mtls_mode(&self) -> MtlsMode {
        self.mtls.mode
    }
    /// `clock_tolerance`.
    pub fn clock_tolerance(&self) -> Duration {
        self.raw.clock_tolerance
    }
    /// `jwks_cache_max_age`.
    pub fn jwks_cache_max_age(&self) -> Duration {
        self.raw.jwks_cache_max_age
    }
    /// `jwks_cooldown`.
    pub fn jwks_cooldown(&self) -> Duration {
        self.raw.jwks_cooldown
    }
    /// `jwks_timeout`.
    pub fn jwks_timeout(&self) -> Duration {
        self.raw.jwks_timeout
    }
    /// `jwks_launch_retry`.
    pub fn jwks_launch_retry(&self) -> Duration {
        self.raw.jwks_launch_retry
    }
    pub(crate) fn allow_query_token(&self) -> bool {
        self.raw.allow_query_token
    }
    pub(crate) fn token_cache_capacity(&self) -> usize {
        self.raw.token_cache_capacity
    }
    pub(crate) fn token_cache_max_bytes(&self) -> u64 {
        self.raw.token_cache_max_bytes
    }
    pub(crate) fn max_token_size(&self) -> usize {
        self.raw.max_token_size
    }
    pub(crate) fn max_token_age(&self) -> Option<Duration> {
        self.raw.max_token_age
    }
    pub(crate) fn strict(&self) -> bool {
        self.raw.strict
    }
}

/// A [`Config`] written in code, named `Config` in errors.
struct InCode<'a>(&'a Config);

impl Provider for InCode<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named("Config")
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Serialized::global("auth", self.0).data()
    }
}

/// The checks, with the figment to say where a bad value came from.
struct Check<'a> {
    figment: &'a Figment,
    raw: &'a Config,
}

impl Check<'_> {
    fn invalid(&self, setting: &str, problem: String) -> ConfigError {
        ConfigError::Invalid {
            setting: setting.to_owned(),
            problem,
            origin: origin_of(self.figment, setting),
        }
    }

    fn url(&self, setting: &'static str, value: &str) -> Result<Url, ConfigError> {
        let url = Url::parse(value.trim())
            .map_err(|e| self.invalid(setting, format!("not a URL ({e})")))?;
        check_url(&url).map_err(|problem| self.invalid(setting, problem.to_string()))?;
        Ok(url)
    }

    /// The issuers: the `issuers` list, or the single-issuer settings as a
    /// one-entry list, or the development issuer.
    fn issuers(&self) -> Result<Vec<IssuerSettings>, ConfigError> {
        let raw = self.raw;
        let top = raw.issuer_fields();
        let audiences = &raw.audience;
        let Some(entries) = &raw.issuers else {
            let check =
                IssuerCheck { fields: &top, place: Place::TopLevel, figment: Some(self.figment) };
            let dev = raw.dev_issuer.then_some(());
            let mut issuer = check.settings(dev, &raw.algorithms, audiences, &raw.policy)?;
            match (issuer.audiences.is_empty(), &issuer.source) {
                (true, KeySource::DevIssuer) => issuer.audiences = vec![DEV_AUDIENCE.to_owned()],
                (true, _) => {
                    return Err(ConfigError::Missing {
                        setting: "audience",
                        hint: "set AUDIENCE to your API's identifier (e.g. https://api.example.com)",
                    });
                }
                (false, _) => {}
            }
            return Ok(vec![issuer]);
        };

        // Both forms at once would leave one of them silently unused.
        let single = [
            ("issuer_base_url", top.issuer_base_url.is_some()),
            ("issuer", top.issuer.is_some()),
            ("jwks_uri", top.jwks_uri.is_some()),
            ("public_key", top.public_key.is_some()),
            ("secret", top.secret.is_some()),
            ("token_signing_alg", top.token_signing_alg.is_some()),
        ];
        if let Some((other, _)) = single.iter().find(|(_, set)| *set) {
            let elsewhere =
                origin_of(self.figment, other).map_or(String::new(), |o| format!(" (from {o})"));
            return Err(self.invalid(
                "issuers",
                format!(
                    "can't be combined with `auth.{other}`{elsewhere}: list every issuer in \
                     `issuers`, or use the single-issuer settings alone"
                ),
            ));
        }
        if entries.is_empty() {
            return Err(self.invalid("issuers", "is empty".into()));
        }
        let mut checked: Vec<IssuerSettings> = Vec::with_capacity(entries.len());
        for (i, entry) in entries.iter().enumerate() {
            let check =
                IssuerCheck { fields: entry, place: Place::Entry(i), figment: Some(self.figment) };
            let issuer = check.settings(None, &raw.algorithms, audiences, &raw.policy)?;
            if issuer.audiences.is_empty() {
                return Err(self.invalid(
                    "issuers",
                    format!("issuers[{i}] has no `audience`, and neither has the `auth` table"),
                ));
            }
            let expected = issuer.expected_issuers();
            if let Some(j) = checked
                .iter()
                .position(|c| c.expected_issuers().iter().any(|e| expected.contains(e)))
            {
                return Err(self.invalid(
                    "issuers",
                    format!("issuers[{j}] and issuers[{i}] name the same issuer {:?}", expected[0]),
                ));
            }
            checked.push(issuer);
        }
        Ok(checked)
    }

    /// `resource` and its companions (RFC 9728 §2): an absolute `https`
    /// URL (plain `http` on loopback) without fragment or query.
    fn resource(&self) -> Result<Resource, ConfigError> {
        let raw = self.raw;
        if let Some(identifier) = &raw.resource {
            let url = self.url("resource", identifier)?;
            let exact = identifier.trim() == identifier;
            if url.fragment().is_some() || url.query().is_some() || !exact {
                return Err(self.invalid(
                    "resource",
                    "must be a URL without query, fragment or surrounding spaces \
                     (RFC 9728 §1.2)"
                        .into(),
                ));
            }
        }
        if let Some(bad) = raw.scopes_supported.iter().find(|s| !is_scope_token(s)) {
            return Err(self.invalid(
                "scopes_supported",
                format!("{bad:?} is not a scope token (RFC 6749 §3.3)"),
            ));
        }
        // MCP 2026-07-28: `offline_access` SHOULD NOT be in
        // `scopes_supported` (a refresh token is no permission on an API).
        if raw.scopes_supported.iter().any(|s| s == OFFLINE_ACCESS) {
            return Err(self.invalid(
                "scopes_supported",
                format!(
                    "`{OFFLINE_ACCESS}` asks for a refresh token; it is no permission on an API"
                ),
            ));
        }
        if let Some(documentation) = &raw.resource_documentation {
            Url::parse(documentation)
                .map_err(|e| self.invalid("resource_documentation", format!("not a URL ({e})")))?;
        }
        Ok(Resource {
            identifier: raw.resource.clone(),
            scopes_supported: raw.scopes_supported.clone(),
            name: raw.resource_name.clone(),
            documentation: raw.resource_documentation.clone(),
        })
    }

    fn values(&self) -> Result<(), ConfigError> {
        let raw = self.raw;
        if raw.scope_claims.is_empty() {
            return Err(self.invalid("scope_claims", "is empty".into()));
        }
        if let Some(claim) = raw.scope_claims.iter().find(|c| !SCOPE_CLAIMS.contains(&c.as_str())) {
            return Err(self.invalid(
                "scope_claims",
                format!("{claim:?} is not one of scope, scp, permissions"),
            ));
        }
        for (setting, value) in
            [("jwks_timeout", raw.jwks_timeout), ("jwks_cache_max_age", raw.jwks_cache_max_age)]
        {
            if value.is_zero() {
                return Err(self.invalid(setting, "must be more than 0".into()));
            }
        }
        if raw.max_token_size == 0 {
            return Err(self.invalid("max_token_size", "must be more than 0".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::issuer_settings::{IssuerFrom, JwksFrom};
    use crate::words::algorithms::{AlgSet, Algorithm};
    use figment::providers::{Format, Toml};

    fn extract(toml: &str) -> Result<Settings, ConfigError> {
        Settings::from_figment(&Figment::from(Toml::string(toml)))
    }

    const VALID: &str = r#"
        [auth]
        issuer_base_url = "https://tenant.example.com/"
        audience = "https://api.example.test"
    "#;

    #[test]
    fn defaults_apply_underneath_the_file() {
        let settings = extract(VALID).unwrap();
        assert_eq!(settings.audiences, ["https://api.example.test"]);
        assert_eq!(settings.clock_tolerance(), Duration::from_secs(5));
        assert_eq!(settings.jwks_cache_max_age(), Duration::from_secs(600));
        assert_eq!(settings.jwks_cooldown(), Duration::from_secs(30));
        assert_eq!(settings.jwks_timeout(), Duration::from_secs(5));
        assert_eq!(settings.max_token_size(), 16384);
        assert!(!settings.allow_query_token());
        // RS/PS 256/384/512, ES256, ES384, ES512, ES256K, EdDSA, Ed25519.
        assert_eq!(settings.issuers[0].allowed.iter().count(), 12);
    }

    #[test]
    fn durations_take_fractional_seconds() {
        let settings =
            extract(&format!("{VALID}\njwks_cooldown = 0.25\nclock_tolerance = 0")).unwrap();
        assert_eq!(settings.jwks_cooldown(), Duration::from_millis(250));
        assert!(settings.clock_tolerance().is_zero());

        let error = extract(&format!("{VALID}\njwks_timeout = -1")).unwrap_err();
        assert!(error.to_string().contains("`auth.jwks_timeout`"), "{error}");
        let error = extract(&format!("{VALID}\njwks_timeout = 1e300")).unwrap_err();
        assert!(error.to_string().contains("`auth.jwks_timeout`"), "{error}");
    }

    #[test]
    fn audience_is_a_string_or_a_list() {
        let settings = extract(
            "[auth]\nissuer_base_url = \"https://t.example.com\"\naudience = [\"a\", \"b\"]",
        )
        .unwrap();
        assert_eq!(settings.audiences, ["a", "b"]);

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
    fn a_bad_value_says_where_it_came_from() {
        let file = Toml::string("[release.auth]\naudience = \"a\"\nissuer_base_url = \"ftp://x\"")
            .nested();
        let error = Settings::from_figment(&Figment::from(file).select("release")).unwrap_err();
        assert!(error.to_string().contains("[release.auth]"), "{error}");

        let variables = NamedVariables {
            values: vec![("ISSUER_BASE_URL", "issuer_base_url", "http://tenant.example/".into())],
        };
        let figment = variables.merge_into(Figment::from(Toml::string("[auth]\naudience = \"a\"")));
        let error = Settings::from_figment(&figment).unwrap_err().to_string();
        assert!(error.contains("(from environment variable `ISSUER_BASE_URL`)"), "{error}");

        let config = Config {
            issuer_base_url: Some("https://t.example/".into()),
            audience: vec!["a".into()],
            jwks_timeout: Duration::ZERO,
            ..Config::default()
        };
        let error = Settings::from_config(&config).unwrap_err().to_string();
        assert!(error.contains("`auth.jwks_timeout` (from Config)"), "{error}");
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
        let debug =
            |toml: &str| Settings::from_figment(&Figment::from(Toml::string(toml)).select("debug"));
        let settings = debug("[auth]\ndev_issuer = true\nclock_tolerance = 1").unwrap();
        assert_eq!(settings.issuers[0].source, KeySource::DevIssuer);
        assert_eq!(settings.audiences, [DEV_AUDIENCE]);

        let settings = debug("[auth]\ndev_issuer = true\naudience = \"mine\"").unwrap();
        assert_eq!(settings.audiences, ["mine"]);

        let settings = debug(&format!("{VALID}\ndev_issuer = true")).unwrap();
        assert!(matches!(settings.issuers[0].source, KeySource::Jwks(JwksFrom::Discovery { .. })));

        let release = Figment::from(Toml::string("[auth]\ndev_issuer = true")).select("release");
        let error = Settings::from_figment(&release).unwrap_err().to_string();
        assert!(error.contains("`auth.dev_issuer`") && error.contains("release"), "{error}");
    }

    #[test]
    fn issuer_and_jwks_uri_skip_discovery() {
        let settings = extract(
            "[auth]\nissuer = \"https://i.example.com/\"\njwks_uri = \"https://i.example.com/jwks\"\naudience = \"a\"",
        )
        .unwrap();
        assert!(matches!(settings.issuers[0].source, KeySource::Jwks(JwksFrom::Direct { .. })));
    }

    const THREE: &str = r#"
        [auth]
        audience = "https://api.example.test"
        algorithms = ["RS256", "ES256"]
        issuers = [
            "https://one.example.com/",
            { issuer = "https://two.example.com", jwks_uri = "https://two.example.com/keys", algorithms = ["ES256"] },
            { issuer = "https://three.example.com/", secret = "0123456789abcdef0123456789abcdef", token_signing_alg = "HS256", audience = ["other"] },
        ]
    "#;

    #[test]
    fn issuers_lists_each_kind_of_issuer_with_its_overrides() {
        let settings = extract(THREE).unwrap();
        let [one, two, three] = settings.issuers.as_slice() else { panic!("three issuers") };
        assert!(matches!(one.source, KeySource::Jwks(JwksFrom::Discovery { .. })));
        assert_eq!(one.allowed, AlgSet::of(&[Algorithm::RS256, Algorithm::ES256]));
        assert_eq!(one.audiences, ["https://api.example.test"]);
        assert!(matches!(two.source, KeySource::Jwks(JwksFrom::Direct { .. })));
        assert_eq!(two.allowed, AlgSet::of(&[Algorithm::ES256]));
        assert!(matches!(
            &three.source,
            KeySource::Secret { issuer: IssuerFrom::Given(iss), .. } if iss == "https://three.example.com/"
        ));
        assert_eq!(three.allowed, AlgSet::of(&[Algorithm::HS256]));
        assert_eq!(three.audiences, ["other"]);
        assert_eq!(three.setting, "auth.issuers[2]");
    }

    #[test]
    fn the_single_form_is_a_one_entry_list() {
        let settings = extract(VALID).unwrap();
        assert_eq!(settings.issuers.len(), 1);
        assert_eq!(settings.issuers[0].expected_issuers()[0], "https://tenant.example.com/");
        assert!(settings.require_keys_at_launch());
    }

    #[test]
    fn both_forms_at_once_is_an_error_naming_both() {
        let error = extract(&format!(
            "{THREE}
issuer_base_url = \"https://x.example.com/\""
        ))
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`auth.issuers`") && error.contains("`auth.issuer_base_url`"),
            "{error}"
        );
        assert!(!error.contains("  "), "no run of spaces: {error}");
    }

    #[test]
    fn a_bad_entry_is_named_by_its_index() {
        for (entry, named) in [
            (r#""ftp://x.example.com""#, "`auth.issuers[0].issuer_base_url`"),
            (r#"{ issuer = "https://x.example.com" }"#, "`auth.issuers[0]`"),
            (r#"{ public_key = "k" }"#, "`auth.issuers[0]`"),
            (
                r#"{ issuer_base_url = "https://x.example.com", algorithms = ["HS256"] }"#,
                "`auth.issuers[0].algorithms`",
            ),
            (
                r#"{ issuer = "i", secret = "short", token_signing_alg = "HS256" }"#,
                "`auth.issuers[0].secret`",
            ),
            (r#"{ issuer_base_url = "https://x.example.com", audiense = "typo" }"#, "audiense"),
        ] {
            let toml = format!("[auth]\naudience = \"a\"\nissuers = [{entry}]");
            let error = extract(&toml).unwrap_err().to_string();
            assert!(error.contains(named), "{entry}: {error}");
        }
        // Each entry is told what it lacks.
        for (entry, lacking) in [
            (r#"{ issuer = "https://x.example.com" }"#, "needs `jwks_uri`"),
            (r#"{ jwks_uri = "https://x.example.com/jwks.json" }"#, "needs `issuer`"),
            (r#"{ audience = "b" }"#, "needs `issuer_base_url`"),
        ] {
            let toml =
                format!("[auth]\naudience = \"a\"\nissuers = [\"https://y.example.com\", {entry}]");
            let error = extract(&toml).unwrap_err().to_string();
            assert!(
                error.contains("`auth.issuers[1]`") && error.contains(lacking),
                "{entry}: {error}"
            );
        }
        let error = extract("[auth]\naudience = \"a\"\nissuers = []").unwrap_err().to_string();
        assert!(error.contains("`auth.issuers`") && error.contains("empty"), "{error}");
        let error =
            extract("[auth]\nissuers = [\"https://x.example.com\"]").unwrap_err().to_string();
        assert!(error.contains("audience"), "{error}");
    }

    #[test]
    fn the_same_issuer_twice_is_an_error() {
        let toml = "[auth]\naudience = \"a\"\nissuers = [\"https://x.example.com\", \"https://x.example.com/\"]";
        let error = extract(toml).unwrap_err().to_string();
        assert!(error.contains("issuers[0] and issuers[1]"), "{error}");
    }

    #[test]
    fn debug_output_never_shows_a_secret() {
        let secret = "0123456789abcdef0123456789abcdef-do-not-print";
        let toml = format!(
            "[auth]\nissuer = \"https://i.example.com/\"\naudience = \"a\"\n\
             secret = \"{secret}\"\ntoken_signing_alg = \"HS256\""
        );
        let settings = extract(&toml).unwrap();
        let debug = format!("{settings:?}");
        assert!(!debug.contains(secret), "{debug}");
        assert!(debug.contains("redacted"), "{debug}");
    }
}
