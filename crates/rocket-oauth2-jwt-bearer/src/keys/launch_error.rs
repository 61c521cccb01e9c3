//! [`LaunchError`]: why the keys of the configured issuers could not be
//! loaded, and so why launch stopped.

use std::fmt;

use crate::keys::fetch::DiscoveryError;
use crate::keys::jwks::KeySetError;
use crate::keys::key_error::KeyError;
use crate::settings::checked::ConfigError;

/// Why the fairing could not start: one line naming the setting or URL at
/// fault and the cause.
///
/// Each variant's cause is typed, and [`source()`](std::error::Error::source)
/// walks down to the library error underneath (an I/O error, a JSON error,
/// the key the cryptographic library refused).
#[derive(Debug, Clone)]
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
        cause: KeyError,
    },
    /// `public_key` is a JWK Set with no usable key.
    #[non_exhaustive]
    PublicKeySet {
        /// `public_key` (`issuers[1].public_key`, ... for an `issuers`
        /// entry).
        setting: String,
        /// Why.
        cause: KeySetError,
    },
    /// OIDC / RFC 8414 discovery failed, or described another issuer.
    #[non_exhaustive]
    Discovery {
        /// The configured `issuer_base_url`.
        base_url: String,
        /// Why.
        cause: DiscoveryError,
    },
    /// The JSON Web Key Set could not be fetched, or held no usable key.
    #[non_exhaustive]
    KeySet {
        /// The `jwks_uri`, configured or discovered.
        url: String,
        /// Why (every skipped key's reason, when none was usable).
        cause: KeySetError,
    },
    /// An issuer's keys were not loaded within `jwks_launch_retry`.
    #[non_exhaustive]
    Timeout {
        /// The issuer, as its settings name it.
        issuer: String,
        /// `jwks_launch_retry`.
        after: std::time::Duration,
    },
    /// Loading an issuer's keys panicked: a bug in this crate, reported as
    /// that issuer's failure rather than taking the others down.
    #[non_exhaustive]
    LoadPanicked {
        /// The issuer, as its settings name it.
        issuer: String,
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
        cause: DevIssuerError,
    },
}

impl fmt::Display for LaunchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaunchError::Config(error) => error.fmt(f),
            LaunchError::Key { setting, cause } => {
                write!(f, "invalid setting `auth.{setting}`: {cause}")
            }
            LaunchError::PublicKeySet { setting, cause } => {
                write!(f, "invalid setting `auth.{setting}`: {cause}")
            }
            LaunchError::Discovery { base_url, cause } => {
                write!(f, "issuer_base_url {base_url}: {cause}")
            }
            LaunchError::KeySet { url, cause } => {
                write!(f, "could not load the JSON Web Key Set from {url}: {cause}")
            }
            LaunchError::Timeout { issuer, after } => write!(
                f,
                "could not load the keys of {issuer}: none within jwks_launch_retry ({after:?})"
            ),
            LaunchError::LoadPanicked { issuer } => {
                write!(f, "loading the keys of {issuer} panicked: please report this bug")
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
            LaunchError::Key { cause, .. } => Some(cause),
            LaunchError::PublicKeySet { cause, .. } => Some(cause),
            LaunchError::Discovery { cause, .. } => Some(cause),
            LaunchError::KeySet { cause, .. } => Some(cause),
            LaunchError::DevIssuer { cause } => Some(cause),
            // The first; the others are in the message.
            LaunchError::Issuers { failures } => failures.first().map(|e| e as _),
            LaunchError::Timeout { .. } | LaunchError::LoadPanicked { .. } => None,
        }
    }
}

impl From<ConfigError> for LaunchError {
    fn from(error: ConfigError) -> Self {
        LaunchError::Config(error)
    }
}

/// Why the development issuer (`dev_issuer = true`) could not start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DevIssuerError {
    /// The profile is not `debug`: the development issuer never runs in
    /// another.
    Profile(String),
    /// The crate was built without its `dev-issuer` feature.
    NotBuilt,
    /// Settings were used without the fairing, which serves the issuer.
    NeedsFairing,
    /// Its signing key could not be made.
    Key(aws_lc_rs::error::Unspecified),
}

impl fmt::Display for DevIssuerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DevIssuerError::Profile(profile) => {
                write!(f, "the development issuer never runs in the `{profile}` profile")
            }
            DevIssuerError::NotBuilt => f.write_str(
                "this build has no development issuer (the crate's `dev-issuer` feature)",
            ),
            DevIssuerError::NeedsFairing => {
                f.write_str("the development issuer needs a Rocket to serve it: attach JwtAuth")
            }
            DevIssuerError::Key(_) => {
                f.write_str("development issuer: could not generate its signing key")
            }
        }
    }
}

impl std::error::Error for DevIssuerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DevIssuerError::Key(e) => Some(e),
            _ => None,
        }
    }
}
