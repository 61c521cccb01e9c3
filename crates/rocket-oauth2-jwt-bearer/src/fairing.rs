//! The [`JwtAuth`] fairing: loads the issuer's keys at ignition and keeps
//! them fresh from liftoff until shutdown.
//!
//! ```rust,no_run
//! # use rocket::launch;
//! use rocket_oauth2_jwt_bearer::JwtAuth;
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build().attach(JwtAuth::fairing())
//! }
//! ```
//!
//! - **Ignite**: reads the `auth` settings (or takes the ones it was built
//!   with), runs discovery, fetches the JWKS and manages the verifier the
//!   guards use. Any failure is logged as one line naming the setting or
//!   URL and its cause (a [`LaunchError`]), and aborts launch.
//! - **Liftoff**: spawns the refresh task: every `jwks_cache_max_age`, and
//!   after a failure again with backoff, keeping the old keys meanwhile. It
//!   stops on shutdown.
//! - **Request**: moves `access_token` query values out of the URI before
//!   Rocket logs it.
//! - **Response**: marks responses to authenticated requests `no-store`.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Build, Data, Orbit, Request, Response, Rocket};

use crate::algorithms::AlgSet;
use crate::credentials::QueryTokens;
use crate::fetch::{check_url, discover, is_loopback, Fetcher};
use crate::guards::Authenticated;
use crate::jwk::{parse_jwk, pem_to_der, PublicKey, VerifyingKey};
use crate::jwks::{JwksSource, KeySet, KeyStore};
use crate::resource_metadata::ResourceMetadata;
use crate::settings::{ConfigError, IssuerFrom, JwksFrom, KeySource, Settings};
use crate::token::{Policy, Verifier};

/// Loads and refreshes the issuer's keys, and manages what the guards
/// verify tokens with. Attach it once; a second one replaces the first.
#[derive(Debug, Default)]
pub struct JwtAuth {
    settings: Option<Settings>,
}

impl JwtAuth {
    /// The fairing, configured from the `auth` table of Rocket's figment
    /// (`Rocket.toml`, `ROCKET_AUTH`, ...).
    pub fn fairing() -> Self {
        JwtAuth::default()
    }

    /// The fairing with settings made in code; Rocket's figment is not read.
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::{JwtAuth, Settings};
    ///
    /// let settings = Settings::builder()
    ///     .issuer_base_url("https://tenant.example.com/")
    ///     .audience("https://api.example.com")
    ///     .build()?;
    /// let rocket = rocket::build().attach(JwtAuth::with_settings(settings));
    /// # Ok::<(), rocket_oauth2_jwt_bearer::ConfigError>(())
    /// ```
    pub fn with_settings(settings: Settings) -> Self {
        JwtAuth { settings: Some(settings) }
    }
}

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
        /// `public_key` or `secret`.
        setting: &'static str,
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

/// Builds the verifier for `settings` from a key source that needs no
/// Rocket: everything but the development issuer.
///
/// An identity provider that can't be reached (or answers garbage) is
/// retried with backoff for `jwks_launch_retry` seconds before launch gives
/// up, so that a service and its provider starting together don't race.
pub(crate) async fn connect(settings: &Settings) -> Result<Verifier, LaunchError> {
    for warning in &settings.warnings {
        log::warn!("JWT auth: {warning}");
    }
    match &settings.source {
        KeySource::DevIssuer => Err(LaunchError::DevIssuer {
            cause: "the development issuer needs a Rocket to serve it: attach JwtAuth".into(),
        }),
        KeySource::StaticKey { public_key, issuer } => {
            let keys = static_keys(public_key, settings)
                .map_err(|cause| LaunchError::Key { setting: "public_key", cause })?;
            log::info!("JWT auth: issuer {issuer}, {} static key(s)", keys.len());
            Ok(verifier(settings, issuer.clone(), KeyStore::fixed(keys)))
        }
        KeySource::Secret { secret, alg, issuer } => {
            let issuer = match issuer {
                IssuerFrom::Given(issuer) => issuer.clone(),
                IssuerFrom::Discovered(base) => {
                    let discovery = with_retries(settings, || async {
                        let fetcher = fetcher(settings, base)?;
                        discover(&fetcher, base).await.map_err(|cause| LaunchError::Discovery {
                            base_url: base.to_string(),
                            cause,
                        })
                    });
                    discovery.await?.issuer
                }
            };
            let secret = PublicKey::Secret { secret: secret.as_bytes() };
            let key = VerifyingKey::new(None, secret, AlgSet::of(&[*alg]))
                .map_err(|cause| LaunchError::Key { setting: "secret", cause })?;
            log::info!("JWT auth: issuer {issuer}, {alg:?} with a shared secret");
            Ok(verifier(settings, issuer, KeyStore::fixed(KeySet::ignoring_kid(vec![key]))))
        }
        KeySource::Jwks(from) => {
            let (issuer, keys) = with_retries(settings, || load_keys(settings, from)).await?;
            Ok(verifier(settings, issuer, keys))
        }
    }
}

/// Runs `attempt` until it succeeds or `jwks_launch_retry` has passed,
/// doubling the delay from 250 ms.
async fn with_retries<T, F, Fut>(settings: &Settings, attempt: F) -> Result<T, LaunchError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, LaunchError>>,
{
    let give_up = Instant::now() + settings.jwks_launch_retry();
    let mut delay = Duration::from_millis(250);
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(reason) if Instant::now() + delay < give_up => {
                log::warn!("JWT auth: {reason}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(reason) => return Err(reason),
        }
    }
}

fn fetcher(settings: &Settings, url: &reqwest::Url) -> Result<Fetcher, LaunchError> {
    Fetcher::new(settings.jwks_timeout(), is_loopback(url))
        .map_err(|cause| LaunchError::KeySet { url: url.to_string(), cause })
}

/// Discovery (if configured) and the first JWKS fetch: the issuer to
/// require and the loaded key store.
async fn load_keys(
    settings: &Settings,
    from: &JwksFrom,
) -> Result<(String, KeyStore), LaunchError> {
    // One HTTP client for discovery and every JWKS fetch after it.
    let (issuer, jwks_uri, fetcher) = match from {
        JwksFrom::Direct { issuer, jwks_uri } => {
            (issuer.clone(), jwks_uri.clone(), fetcher(settings, jwks_uri)?)
        }
        JwksFrom::Discovery { base_url, issuer, jwks_uri } => {
            let fetcher = fetcher(settings, base_url)?;
            let failed =
                |cause: String| LaunchError::Discovery { base_url: base_url.to_string(), cause };
            let document = discover(&fetcher, base_url).await.map_err(failed)?;
            let jwks_uri = match jwks_uri {
                Some(uri) => uri.clone(),
                None => {
                    let discovered = document.jwks_uri.ok_or_else(|| {
                        failed(
                            "the discovery document has no jwks_uri: set JWKS_URI (and ISSUER)"
                                .into(),
                        )
                    })?;
                    reqwest::Url::parse(&discovered)
                        .map_err(|e| e.to_string())
                        .and_then(|uri| check_url(&uri).map(|()| uri))
                        .map_err(|e| {
                            failed(format!("discovered jwks_uri {discovered:?} is unusable: {e}"))
                        })?
                }
            };
            (issuer.clone().unwrap_or(document.issuer), jwks_uri, fetcher)
        }
    };

    let source = JwksSource {
        fetcher,
        url: jwks_uri.clone(),
        allowed: settings.allowed,
        cooldown: settings.jwks_cooldown(),
        max_age: settings.jwks_cache_max_age(),
    };
    let keys = KeyStore::load(source)
        .await
        .map_err(|cause| LaunchError::KeySet { url: jwks_uri.to_string(), cause })?;
    log::info!("JWT auth: issuer {issuer}, {} key(s) from {jwks_uri}", keys.snapshot().len());
    Ok((issuer, keys))
}

fn verifier(settings: &Settings, issuer: String, keys: KeyStore) -> Verifier {
    let policy = Policy {
        issuer,
        audiences: settings.audiences.clone(),
        algorithms: settings.allowed,
        clock_tolerance: settings.clock_tolerance().as_secs_f64(),
        max_token_size: settings.max_token_size(),
        allow_query_token: settings.allow_query_token(),
        token_cache_capacity: settings.token_cache_capacity(),
        token_cache_max_bytes: settings.token_cache_max_bytes(),
        max_token_age: settings.max_token_age().map(|age| age.as_secs_f64()),
        strict: settings.strict(),
        scope_claims: settings.scope_claims,
    };
    Verifier::new(policy, Arc::new(keys))
}

/// The key set of a static `public_key`: PEM (whose algorithm is
/// `token_signing_alg`), a JWK, or a JWK Set.
fn static_keys(public_key: &str, settings: &Settings) -> Result<KeySet, String> {
    let text = public_key.trim();
    if text.starts_with("-----BEGIN") {
        let der = pem_to_der(text)?;
        let alg = settings
            .token_signing_alg()
            .ok_or("a PEM key needs token_signing_alg (TOKEN_SIGNING_ALG), e.g. RS256")?;
        let key = VerifyingKey::new(None, PublicKey::Der { der: &der }, AlgSet::of(&[alg]))?;
        // The key is configured, not chosen by `kid`: any `kid` names it.
        return Ok(KeySet::ignoring_kid(vec![key]));
    }

    let jwk: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("neither a PEM key nor JSON ({e})"))?;
    if jwk.get("keys").is_some() {
        let (keys, skipped) = KeySet::from_jwks(text.as_bytes(), settings.allowed)?;
        skipped.iter().for_each(|line| log::warn!("JWT auth: public_key: {line}"));
        return Ok(keys);
    }
    Ok(KeySet::new(vec![parse_jwk(&jwk, settings.allowed)?]))
}

/// Refreshes `keys` on schedule until the task is dropped. After a failure
/// it retries sooner, doubling the delay up to the normal interval.
async fn keep_fresh(keys: Arc<KeyStore>) {
    let Some((every, first_retry)) = keys.refresh_schedule() else {
        return;
    };
    let mut delay = every;
    loop {
        tokio::time::sleep(delay).await;
        delay = match keys.refresh().await {
            Ok(()) => every,
            Err(_) if delay >= every => first_retry.min(every),
            Err(_) => (delay * 2).min(every),
        };
    }
}

#[rocket::async_trait]
impl Fairing for JwtAuth {
    fn info(&self) -> Info {
        Info {
            name: "JWT auth (JWKS loader)",
            kind: Kind::Ignite | Kind::Liftoff | Kind::Request | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let settings = match &self.settings {
            Some(settings) => Ok(settings.clone()),
            None => Settings::from_figment(rocket.figment()),
        };
        let settings = match settings {
            Ok(settings) => settings,
            Err(error) => return fail(rocket, &LaunchError::Config(error)),
        };
        let profile = rocket.figment().profile().clone();
        let (rocket, verifier) = match settings.source {
            // Settings built in code are checked as the debug profile's:
            // the Rocket's own profile decides.
            KeySource::DevIssuer if profile != "debug" => {
                let cause = format!("the development issuer never runs in the `{profile}` profile");
                return fail(rocket, &LaunchError::DevIssuer { cause });
            }
            KeySource::DevIssuer => match dev_issuer(&rocket, &settings) {
                Ok((mount, verifier)) => (mount(rocket), verifier),
                Err(error) => return fail(rocket, &error),
            },
            _ => match connect(&settings).await {
                Ok(verifier) => (rocket, verifier),
                Err(error) => return fail(rocket, &error),
            },
        };
        let rocket = serve_metadata(rocket, &settings, &verifier);
        Ok(rocket.manage(verifier))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let Some(verifier) = rocket.state::<Verifier>() else {
            return;
        };
        let keys = verifier.keys().clone();
        let shutdown = rocket.shutdown();
        tokio::spawn(async move {
            tokio::select! {
                _ = shutdown => log::debug!("JWKS refresh task stopped"),
                _ = keep_fresh(keys) => {}
            }
        });
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        QueryTokens::redact(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let authenticated = req.local_cache(|| None::<Authenticated>).is_some();
        if authenticated && res.status().class().is_success() {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
    }
}

/// Mounts the RFC 9728 metadata when there is a `resource` to describe:
/// the configured one, or the local service under the development issuer.
fn serve_metadata(
    rocket: Rocket<Build>,
    settings: &Settings,
    verifier: &Verifier,
) -> Rocket<Build> {
    let resource = &settings.resource;
    let identifier = match (&resource.identifier, &settings.source) {
        (Some(identifier), _) => identifier.clone(),
        (None, KeySource::DevIssuer) => {
            let port = rocket.figment().extract_inner::<u16>("port").unwrap_or(0);
            format!("http://127.0.0.1:{port}")
        }
        (None, _) => {
            log::info!(
                "JWT auth: no `auth.resource` set, so no protected-resource metadata (RFC 9728)"
            );
            return rocket;
        }
    };
    let policy = verifier.policy();
    match ResourceMetadata::new(&identifier, resource, &policy.issuer, policy.allow_query_token) {
        Some(metadata) => {
            log::info!("JWT auth: protected-resource metadata at {}", metadata.url());
            rocket.manage(metadata).mount("/", ResourceMetadata::routes())
        }
        None => rocket,
    }
}

/// Logs why launch stops, once, and stops it.
#[allow(clippy::result_large_err)] // Rocket's own `fairing::Result`.
fn fail(rocket: Rocket<Build>, error: &LaunchError) -> fairing::Result {
    log::error!("JWT auth: {error}");
    Err(rocket)
}

/// Mounts what a verifier needs served from the Rocket itself.
type Mount = Box<dyn FnOnce(Rocket<Build>) -> Rocket<Build>>;

/// The development issuer: its key, used directly (no HTTP), and its
/// routes, to mount.
#[cfg(feature = "dev-issuer")]
fn dev_issuer(
    rocket: &Rocket<Build>,
    settings: &Settings,
) -> Result<(Mount, Verifier), LaunchError> {
    let audience = settings.audiences.first().map_or(crate::settings::DEV_AUDIENCE, |a| a.as_str());
    let dev = crate::dev_issuer::generate_for(rocket, audience)
        .map_err(|cause| LaunchError::DevIssuer { cause })?;
    let (issuer, keys) = dev.identity();
    let verifier = verifier(settings, issuer, KeyStore::fixed(keys));
    Ok((Box::new(move |rocket| dev.mount(rocket)), verifier))
}

#[cfg(not(feature = "dev-issuer"))]
fn dev_issuer(_: &Rocket<Build>, _: &Settings) -> Result<(Mount, Verifier), LaunchError> {
    let cause = "this build has no development issuer (the crate's `dev-issuer` feature)".into();
    Err(LaunchError::DevIssuer { cause })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_store_with_fixed_keys_has_no_refresh_task() {
        let keys = Arc::new(KeyStore::fixed(KeySet::new(vec![])));
        tokio::time::timeout(Duration::from_secs(1), keep_fresh(keys)).await.unwrap();
    }
}
