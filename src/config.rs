//! Where the app's settings come from. The `auth` table's types, defaults
//! and checks belong to the `rocket-oauth2-jwt-bearer` crate
//! ([`Settings`](rocket_oauth2_jwt_bearer::Settings)); this module only
//! layers the sources.
//!
//! Sources, lowest to highest precedence:
//!
//! 1. defaults in code ([`AppDefaults`], and the crate's for `auth`), so
//!    the binary behaves the same when run where no `Rocket.toml` is found;
//! 2. `Rocket.toml` (or the file named by `ROCKET_CONFIG`), with the
//!    `[default]`, `[debug]` and `[release]` profiles;
//! 3. `ROCKET_*` environment variables, e.g.
//!    `ROCKET_AUTH={issuer_base_url="https://tenant.auth0.com/",audience="api"}`;
//! 4. the Express sample's variable names `ISSUER_BASE_URL`, `AUDIENCE`,
//!    `ISSUER` and `JWKS_URI`, read as raw strings (figment's `Env` would
//!    parse `AUDIENCE=12345` as a number and strip quotes).

use figment::providers::{Env, Format, Serialized, Toml};
use figment::{Figment, Profile};
use rocket_oauth2_jwt_bearer::NamedVariables;

/// The port of the Express sample.
pub const DEFAULT_PORT: u16 = 3010;

/// The full configuration figment the service runs with: code defaults,
/// `Rocket.toml`, `ROCKET_*` variables, then the named variables.
pub fn figment() -> Figment {
    let profile = Profile::from_env_or("ROCKET_PROFILE", rocket::Config::DEFAULT_PROFILE);
    let figment = Figment::from(rocket::Config::default())
        .merge(AppDefaults::for_profile(&profile))
        .merge(Toml::file(Env::var_or("ROCKET_CONFIG", "Rocket.toml")).nested())
        .merge(Env::prefixed("ROCKET_").ignore(&["PROFILE"]).global());
    NamedVariables::from_env().merge_into(figment).select(profile)
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

/// Where the value of `key` (`idle_timeout`, `cors.allowed_origins`) came
/// from, in words, for a setting's error: the file (`Rocket.toml`) or the
/// provider (`` `ROCKET_` environment variable(s) ``).
pub fn source_of(figment: &Figment, key: &str) -> String {
    let Some(metadata) = figment.find_metadata(key) else {
        return "an unknown source".to_owned();
    };
    match &metadata.source {
        Some(figment::Source::File(path)) => {
            path.file_name().map_or(path.as_os_str(), |n| n).to_string_lossy().into_owned()
        }
        _ => metadata.name.to_string(),
    }
}
