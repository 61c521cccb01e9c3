//! [`ConfigError`]: a setting that stops launch, named with where its
//! value came from (figment's metadata).

use std::fmt;

use figment::{Figment, Metadata, Profile, Source};

/// Where the value of `auth.<setting>` came from, in words: `Rocket.toml
/// [release.auth]`, `ROCKET_AUTH`, `environment variable \`AUDIENCE\``,
/// `Config`.
pub(crate) fn origin_of(figment: &Figment, setting: &str) -> Option<String> {
    let value = figment.find_value(&format!("auth.{setting}")).ok()?;
    let tag = value.tag();
    // A value from a custom profile's table has no profile in its tag:
    // it is the selected one's.
    let profile = tag.profile().unwrap_or_else(|| figment.profile().clone());
    describe(figment.get_metadata(tag)?, Some(profile))
}

fn describe(metadata: &Metadata, profile: Option<Profile>) -> Option<String> {
    let table = match profile {
        Some(profile) if profile != Profile::Global => format!(" [{profile}.auth]"),
        _ => String::new(),
    };
    Some(match &metadata.source {
        Some(Source::File(path)) => {
            let name = path.file_name().map_or(path.as_os_str(), |n| n).to_string_lossy();
            format!("{name}{table}")
        }
        _ if metadata.name.starts_with("`ROCKET_`") => "ROCKET_AUTH".to_owned(),
        _ => format!("{}{table}", metadata.name),
    })
}

/// A missing or invalid `auth` setting, with where its value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting has no value anywhere.
    #[non_exhaustive]
    Missing {
        /// The setting, e.g. `audience`.
        setting: &'static str,
        /// How to set it.
        hint: &'static str,
    },
    /// A setting's value is wrong.
    #[non_exhaustive]
    Invalid {
        /// The setting, e.g. `audience` or `jwks_timeout`.
        setting: String,
        /// What is wrong with it.
        problem: String,
        /// Where the value came from, when figment knows: `Rocket.toml
        /// [release.auth]`, `ROCKET_AUTH`, `environment variable
        /// \`AUDIENCE\``, ...
        origin: Option<String>,
    },
}

impl ConfigError {
    pub(crate) fn from_figment(figment: &Figment, error: figment::Error) -> Self {
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
        // Inside a table of a list it is `issuers[0].audience`.
        if path.last().is_some_and(|key| key.parse::<usize>().is_ok()) {
            path.pop();
        }
        let mut setting = String::new();
        for key in &path {
            match key.parse::<usize>() {
                Ok(index) => setting.push_str(&format!("[{index}]")),
                Err(_) if setting.is_empty() => setting.push_str(key),
                Err(_) => setting.push_str(&format!(".{key}")),
            }
        }
        let origin = error
            .metadata
            .as_ref()
            .and_then(|metadata| {
                describe(
                    metadata,
                    error.profile.clone().or_else(|| Some(figment.profile().clone())),
                )
            })
            .or_else(|| origin_of(figment, &setting));
        let problem = match &error.kind {
            Kind::UnknownField(..) => "is not a known setting".to_owned(),
            // figment's own words nest backticks (``expected `one of `a`…``).
            Kind::UnknownVariant(found, expected) => {
                let expected: Vec<String> = expected.iter().map(|v| format!("{v:?}")).collect();
                format!("{found:?} is not one of {}", expected.join(", "))
            }
            kind => kind.to_string(),
        };
        ConfigError::Invalid { setting, problem, origin }
    }

    /// The setting at fault, without the `auth.` prefix.
    pub fn setting(&self) -> &str {
        match self {
            ConfigError::Missing { setting, .. } => setting,
            ConfigError::Invalid { setting, .. } => setting,
        }
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
            ConfigError::Invalid { setting, problem, origin: Some(origin) } => {
                write!(f, "invalid setting `auth.{setting}` (from {origin}): {problem}")
            }
            ConfigError::Invalid { setting, problem, origin: None } => {
                write!(f, "invalid setting `auth.{setting}`: {problem}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}
