//! [`LaunchError`]: why the keys of the configured issuers could not be
//! loaded, and so why launch stopped.

use std::fmt;

use crate::settings::checked::ConfigError;

/// Why the fairing could not start: one line naming the setting or URL at
/// fault and the cause.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LaunchError {
    /// A missing or invalid setting.
    Config(ConfigError),
    /// `public_key` (or `secret`) is not a usable key.
    #[non_exhaustive]
    Key {
        /// `public_key` or `secret` (`issuers[1].public_key`, ... for an
        /// `issuers` entry).
        setting: String,
        /// Why.
        cause: String,
    },
    /// OIDC / RFC 8414 discovery failed, or described another issuer.
    #[non_exhaustive]
    Discovery {
        /// The configured `issuer_base_url`.
        base_url: String,
        /// Why.
        cause: String,
    },
    /// The JSON Web Key Set could not be fetched, or held no usable key.
    #[non_exhaustive]
    KeySet {
        /// The `jwks_uri`, configured or discovered.
        url: String,
        /// Why (every skipped key's reason, when none was usable).
        cause: String,
    },
    /// Several issuers failed to load (with `require_keys_at_launch`): each
    /// one's reason.
    #[non_exhaustive]
    Issuers {
        /// Why each failed, in configuration order.
        failures: Vec<LaunchError>,
    },
    /// `dev_issuer` is on, and the development issuer could not start.
    #[non_exhaustive]
    DevIssuer {
        /// Why (the crate built without its `dev-issuer` feature, say).
        cause: String,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Config(error) => error.fmt(f),
            LaunchError::Key { setting, cause } => {
                write!(f, "invalid setting `auth.{setting}`: {cause}")
            }
            LaunchError::Discovery { base_url, cause } => {
                write!(f, "issuer_base_url {base_url}: {cause}")
            }
            LaunchError::KeySet { url, cause } => {
                write!(f, "could not load the JSON Web Key Set from {url}: {cause}")
            }
            LaunchError::Issuers { failures } => {
                write!(f, "{} issuers have no keys:", failures.len())?;
                for (i, failure) in failures.iter().enumerate() {
                    write!(f, "{} {failure}", if i == 0 { "" } else { ";" })?;
                }
                Ok(())
            }
            LaunchError::DevIssuer { cause } => write!(f, "auth.dev_issuer: {cause}"),
        }
    }
}

impl std::error::Error for LaunchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LaunchError::Config(error) => Some(error),
            _ => None,
        }
    }
}

impl From<ConfigError> for LaunchError {
    fn from(error: ConfigError) -> Self {
        LaunchError::Config(error)
    }
}
