//! One trusted issuer's settings, checked: where its keys come from, the
//! `iss` its tokens must carry, and the audiences and algorithms accepted
//! from it.
//!
//! The same checks serve the single-issuer form (`issuer_base_url`,
//! `audience`, ... at the top of the `auth` table), each entry of the
//! `issuers` list, and [`IssuerSettings::from_config`], which an
//! [`IssuerResolver`](crate::IssuerResolver) uses for issuers it approves
//! at run time.

use figment::Figment;
use reqwest::Url;

use crate::settings::config::{IssuerConfig, PolicyConfig, Secret, default_algorithms};
use crate::settings::config_error::{ConfigError, origin_of};
use crate::settings::issuer_policy::IssuerPolicy;
use crate::words::algorithms::{AlgSet, Algorithm, AlgorithmFamily};
use crate::words::url_policy::check_url;

/// Where an issuer's identity and keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeySource {
    /// No real issuer configured and `dev_issuer` on: the built-in
    /// development issuer signs and verifies.
    DevIssuer,
    /// `public_key`: a static key; no network at all.
    StaticKey { public_key: String, issuer: String },
    /// `secret`: HS256/384/512 with a shared secret. The issuer is `issuer`,
    /// or the one discovered from `base_url` (no key set is fetched).
    Secret { secret: Secret, alg: Algorithm, issuer: IssuerFrom },
    /// A key set fetched over HTTP(S).
    Jwks(JwksFrom),
}

/// How a shared-secret issuer's `iss` is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IssuerFrom {
    Given(String),
    Discovered(Url),
}

/// Where a key set is fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum JwksFrom {
    /// OIDC / RFC 8414 discovery from `base_url`; `issuer` and `jwks_uri`
    /// override what the discovery document says.
    Discovery { base_url: Url, issuer: Option<String>, jwks_uri: Option<Url> },
    /// `issuer` and `jwks_uri` both given: no discovery.
    Direct { issuer: String, jwks_uri: Url },
}

/// One issuer's checked settings: an entry of the `issuers` list, the
/// single-issuer settings, or what an [`IssuerResolver`](crate::IssuerResolver)
/// approves.
///
/// Made from an [`IssuerConfig`] by [`IssuerSettings::from_config`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerSettings {
    pub(crate) source: KeySource,
    /// Accepted `aud` values; empty for a resolver's issuer without its own
    /// (the top-level `audience` then applies).
    pub(crate) audiences: Vec<String>,
    /// Accepted `alg` values.
    pub(crate) allowed: AlgSet,
    /// `token_signing_alg`: the algorithm of a PEM `public_key`.
    pub(crate) token_signing_alg: Option<Algorithm>,
    /// What its tokens must say about client, organization and delegation.
    pub(crate) policy: IssuerPolicy,
    /// How errors and logs name it: `auth` or `auth.issuers[1]`.
    pub(crate) setting: String,
    /// `issuer_base_url` as written (trimmed, without a `/.well-known/`
    /// suffix), when it was given.
    pub(crate) base_url_as_written: Option<String>,
}

impl IssuerSettings {
    /// Checks `config` as an `issuers` entry is checked: what an
    /// [`IssuerResolver`](crate::IssuerResolver) returns for an issuer it
    /// approves.
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::{IssuerConfig, IssuerSettings};
    ///
    /// let mut tenant = IssuerConfig::discover("https://tenant-42.example.com/");
    /// tenant.audience = Some(vec!["https://api.example.com".into()]);
    /// let settings = IssuerSettings::from_config(&tenant).expect("valid");
    /// # let _ = settings;
    /// ```
    pub fn from_config(config: &IssuerConfig) -> Result<IssuerSettings, ConfigError> {
        let check = IssuerCheck { fields: config, place: Place::InCode, figment: None };
        check.settings(None, &default_algorithms(), &[], &PolicyConfig::default())
    }

    /// The `iss` values a token may carry to be routed to this issuer
    /// before its keys are loaded: the configured `issuer`, or the base URL
    /// with and without its trailing slash (discovery accepts either).
    pub(crate) fn expected_issuers(&self) -> Vec<String> {
        let base = |url: &Url| {
            let text = url.as_str();
            let text = text.find("/.well-known/").map_or(text, |at| &text[..at]);
            let trimmed = text.trim_end_matches('/');
            vec![format!("{trimmed}/"), trimmed.to_owned()]
        };
        match &self.source {
            KeySource::DevIssuer => vec![],
            KeySource::StaticKey { issuer, .. }
            | KeySource::Secret { issuer: IssuerFrom::Given(issuer), .. }
            | KeySource::Jwks(JwksFrom::Direct { issuer, .. })
            | KeySource::Jwks(JwksFrom::Discovery { issuer: Some(issuer), .. }) => {
                vec![issuer.clone()]
            }
            KeySource::Secret { issuer: IssuerFrom::Discovered(url), .. }
            | KeySource::Jwks(JwksFrom::Discovery { base_url: url, issuer: None, .. }) => base(url),
        }
    }

    /// How the issuer is configured, as written: the `issuer`, or the
    /// discovery base URL (without a `/.well-known/...` suffix, and with no
    /// slash added or taken away), for the metadata's
    /// `authorization_servers` until the exact `iss` is known.
    pub(crate) fn as_configured(&self) -> String {
        match (&self.source, &self.base_url_as_written) {
            (KeySource::Secret { issuer: IssuerFrom::Discovered(_), .. }, Some(written))
            | (KeySource::Jwks(JwksFrom::Discovery { issuer: None, .. }), Some(written)) => {
                written.clone()
            }
            _ => self.label(),
        }
    }

    /// A name for logs and `/ready` before the exact `iss` is known.
    pub(crate) fn label(&self) -> String {
        self.expected_issuers().into_iter().next().unwrap_or_else(|| "development issuer".into())
    }
}

/// Where the fields being checked were written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Place {
    /// At the top of the `auth` table.
    TopLevel,
    /// `issuers[i]`.
    Entry(usize),
    /// `IssuerSettings::from_config`.
    InCode,
}

/// The checks of one issuer's fields.
pub(crate) struct IssuerCheck<'a> {
    pub(crate) fields: &'a IssuerConfig,
    pub(crate) place: Place,
    pub(crate) figment: Option<&'a Figment>,
}

impl IssuerCheck<'_> {
    /// `issuers[i]` for a list entry; `None` elsewhere.
    fn entry(&self) -> Option<String> {
        match self.place {
            Place::Entry(i) => Some(format!("issuers[{i}]")),
            Place::TopLevel | Place::InCode => None,
        }
    }

    fn setting_name(&self, key: &str) -> String {
        self.entry().map_or_else(|| key.to_owned(), |entry| format!("{entry}.{key}"))
    }

    fn origin(&self, key: &str) -> Option<String> {
        match self.place {
            Place::TopLevel => self.figment.and_then(|f| origin_of(f, key)),
            Place::Entry(_) => self.figment.and_then(|f| origin_of(f, "issuers")),
            Place::InCode => Some("IssuerConfig".into()),
        }
    }

    fn invalid(&self, key: &str, problem: String) -> ConfigError {
        ConfigError::Invalid { setting: self.setting_name(key), problem, origin: self.origin(key) }
    }

    /// A required key is missing: at the top level, the Express library's
    /// variable to set; in an entry or in code, what the issuer needs.
    fn missing(&self, key: &'static str, hint: &'static str) -> ConfigError {
        if let Place::TopLevel = self.place {
            return ConfigError::Missing { setting: key, hint };
        }
        ConfigError::Invalid {
            setting: self.entry().unwrap_or_else(|| "issuer".to_owned()),
            problem: format!("needs `{key}`"),
            origin: self.origin(key),
        }
    }

    fn url(&self, key: &'static str, value: &str) -> Result<Url, ConfigError> {
        let url =
            Url::parse(value.trim()).map_err(|e| self.invalid(key, format!("not a URL ({e})")))?;
        check_url(&url).map_err(|problem| self.invalid(key, problem.to_string()))?;
        Ok(url)
    }

    /// The checked settings. `dev_issuer` (top level only) selects the
    /// development issuer when no real one is named; `algorithms` and
    /// `audiences` are the top-level values an entry may override.
    pub(crate) fn settings(
        &self,
        dev_issuer: Option<()>,
        algorithms: &[Algorithm],
        audiences: &[String],
        policy: &PolicyConfig,
    ) -> Result<IssuerSettings, ConfigError> {
        let fields = self.fields;
        let algorithms = fields.algorithms.as_deref().unwrap_or(algorithms);
        self.algorithms(algorithms)?;
        let source = match dev_issuer {
            Some(()) if !fields.names_an_issuer() => KeySource::DevIssuer,
            _ => self.key_source()?,
        };
        let audiences = match &fields.audience {
            Some(own) => own.clone(),
            None => audiences.to_vec(),
        };
        if audiences.iter().any(|a| a.trim().is_empty()) {
            return Err(self.invalid("audience", "contains an empty value".into()));
        }
        let (policy, key) = match &fields.policy {
            Some(own) => (own, "policy"),
            None => (policy, "policy"),
        };
        let policy = IssuerPolicy::check(policy)
            .map_err(|(name, why)| self.invalid(&format!("{key}.{name}"), why))?;
        let allowed = match fields.token_signing_alg {
            Some(alg) => AlgSet::of(&[alg]),
            None => AlgSet::of(algorithms),
        };
        Ok(IssuerSettings {
            source,
            audiences,
            allowed,
            token_signing_alg: fields.token_signing_alg,
            policy,
            setting: self.entry().map_or_else(|| "auth".to_owned(), |e| format!("auth.{e}")),
            base_url_as_written: fields.issuer_base_url.as_deref().map(|base| {
                let base = base.trim();
                base.find("/.well-known/").map_or(base, |at| &base[..at]).to_owned()
            }),
        })
    }

    fn algorithms(&self, algorithms: &[Algorithm]) -> Result<(), ConfigError> {
        if algorithms.is_empty() {
            return Err(self.invalid("algorithms", "is empty".into()));
        }
        if let Some(alg) = algorithms.iter().find(|a| is_hmac(**a)) {
            return Err(self.invalid(
                "algorithms",
                format!("{alg:?} is symmetric: it can't be verified with a JSON Web Key Set"),
            ));
        }
        match self.fields.token_signing_alg {
            Some(alg) if is_hmac(alg) && self.fields.secret.is_none() => {
                Err(self.invalid("token_signing_alg", format!("{alg:?} needs a secret (SECRET)")))
            }
            Some(alg) if !is_hmac(alg) && !algorithms.contains(&alg) => {
                Err(self.invalid("token_signing_alg", format!("{alg:?} is not among `algorithms`")))
            }
            _ => Ok(()),
        }
    }

    fn key_source(&self) -> Result<KeySource, ConfigError> {
        let fields = self.fields;
        if let Some(secret) = &fields.secret {
            return self.secret_source(&secret.0);
        }
        let issuer = match fields.issuer.as_deref().map(str::trim) {
            Some("") => return Err(self.invalid("issuer", "is empty".into())),
            issuer => issuer.map(String::from),
        };
        if let Some(public_key) = &fields.public_key {
            if fields.jwks_uri.is_some() {
                return Err(self.invalid("public_key", "can't be combined with jwks_uri".into()));
            }
            let issuer = issuer.ok_or_else(|| {
                self.missing(
                    "issuer",
                    "a static public_key does no discovery: set ISSUER to the exact `iss` of \
                     your tokens",
                )
            })?;
            return Ok(KeySource::StaticKey { public_key: public_key.clone(), issuer });
        }

        let jwks_uri = fields.jwks_uri.as_deref().map(|u| self.url("jwks_uri", u)).transpose()?;
        let from = match (&fields.issuer_base_url, issuer, jwks_uri) {
            (_, Some(issuer), Some(jwks_uri)) => JwksFrom::Direct { issuer, jwks_uri },
            (Some(base), issuer, jwks_uri) => JwksFrom::Discovery {
                base_url: self.url("issuer_base_url", base)?,
                issuer,
                jwks_uri,
            },
            // Name what is actually missing: the half of the direct
            // form not given, else the discovery URL.
            (None, Some(_), None) => {
                return Err(self.missing(
                    "jwks_uri",
                    "ISSUER needs JWKS_URI beside it (or set ISSUER_BASE_URL for discovery)",
                ));
            }
            (None, None, Some(_)) => {
                return Err(self.missing(
                    "issuer",
                    "JWKS_URI needs ISSUER beside it: the exact `iss` of your tokens",
                ));
            }
            (None, None, None) => {
                return Err(self.missing(
                    "issuer_base_url",
                    "set ISSUER_BASE_URL (e.g. https://YOUR_TENANT.auth0.com/), or both ISSUER \
                     and JWKS_URI",
                ));
            }
        };
        Ok(KeySource::Jwks(from))
    }

    fn secret_source(&self, secret: &str) -> Result<KeySource, ConfigError> {
        let fields = self.fields;
        let alg = fields.token_signing_alg.filter(|alg| is_hmac(*alg)).ok_or_else(|| {
            self.invalid(
                "secret",
                "needs token_signing_alg = HS256, HS384 or HS512 (TOKEN_SIGNING_ALG)".into(),
            )
        })?;
        for (other, set) in
            [("jwks_uri", fields.jwks_uri.is_some()), ("public_key", fields.public_key.is_some())]
        {
            if set {
                return Err(self.invalid("secret", format!("can't be combined with {other}")));
            }
        }
        // RFC 7518 §3.2, RFC 8725 §3.5: a key at least as long as the hash.
        let min = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            _ => 64,
        };
        if secret.len() < min {
            return Err(self.invalid(
                "secret",
                format!(
                    "is {} bytes, and {alg:?} needs at least {min} (RFC 7518 §3.2)",
                    secret.len()
                ),
            ));
        }

        let issuer = match (&fields.issuer, &fields.issuer_base_url) {
            (Some(issuer), _) => IssuerFrom::Given(issuer.clone()),
            (None, Some(base)) => IssuerFrom::Discovered(self.url("issuer_base_url", base)?),
            (None, None) => {
                return Err(self.missing(
                    "issuer",
                    "set ISSUER (or ISSUER_BASE_URL to discover it) for HS256 tokens",
                ));
            }
        };
        Ok(KeySource::Secret { secret: Secret(secret.to_owned()), alg, issuer })
    }
}

pub(crate) fn is_hmac(alg: Algorithm) -> bool {
    alg.family() == AlgorithmFamily::Hmac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discovered_issuer_is_expected_with_or_without_its_slash() {
        let mut config = IssuerConfig::discover("https://t.example.com");
        config.audience = Some(vec!["a".into()]);
        let settings = IssuerSettings::from_config(&config).unwrap();
        assert_eq!(
            settings.expected_issuers(),
            ["https://t.example.com/", "https://t.example.com"]
        );

        let config = IssuerConfig {
            issuer: Some("https://exact.example.com".into()),
            jwks_uri: Some("https://keys.example.com/jwks".into()),
            ..IssuerConfig::default()
        };
        let settings = IssuerSettings::from_config(&config).unwrap();
        assert_eq!(settings.expected_issuers(), ["https://exact.example.com"]);
    }

    #[test]
    fn errors_in_code_name_the_setting_and_issuer_config() {
        let config = IssuerConfig {
            issuer: Some("https://exact.example.com".into()),
            jwks_uri: Some("ftp://x".into()),
            ..IssuerConfig::default()
        };
        let error = IssuerSettings::from_config(&config).unwrap_err();
        assert!(error.to_string().contains("`auth.jwks_uri` (from IssuerConfig)"), "{error}");
    }
}
