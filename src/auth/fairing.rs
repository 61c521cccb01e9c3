//! The [`JwtAuth`] fairing: loads the issuer's keys at ignition and keeps
//! them fresh from liftoff until shutdown.
//!
//! ```rust,no_run
//! # use rocket::launch;
//! use auth0_rocket_api::auth::JwtAuth;
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build().attach(JwtAuth::fairing())
//! }
//! ```
//!
//! - **Ignite**: reads the `auth` settings, runs discovery, fetches the JWKS
//!   and manages a [`Verifier`]. Any failure is logged as one line naming
//!   the setting or URL and its cause, and aborts launch.
//! - **Liftoff**: spawns the refresh task: every `jwks_cache_max_age`, and
//!   after a failure again with backoff, keeping the old keys meanwhile. It
//!   stops on shutdown.
//! - **Request**: moves `access_token` query values out of the URI before
//!   Rocket logs it.
//! - **Response**: marks responses to authenticated requests `no-store`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use figment::Figment;
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Build, Data, Orbit, Request, Response, Rocket};

use super::algorithms::AlgSet;
use super::claims::ScopeClaims;
use super::credentials::QueryTokens;
use super::fetch::{check_url, discover, is_loopback, Fetcher};
use super::guards::Authenticated;
use super::jwk::{parse_jwk, pem_to_der, PublicKey, VerifyingKey};
use super::jwks::{JwksSource, KeySet, KeyStore};
use super::token::{Policy, Verifier};
use crate::config::{AuthConfig, KeySource};
use crate::dev_issuer::DevIssuer;

/// Loads and refreshes the JWKS, and manages the [`Verifier`] the guards use.
#[derive(Debug, Default)]
pub struct JwtAuth {
    _private: (),
}

impl JwtAuth {
    pub fn fairing() -> Self {
        JwtAuth::default()
    }
}

/// Builds the verifier from the `auth` settings: discovery and a first JWKS
/// fetch. The error is one line that names the setting or URL at fault.
///
/// An identity provider that can't be reached (or answers garbage) is
/// retried with backoff for `jwks_launch_retry` seconds before launch gives
/// up, so that a service and its provider starting together don't race.
/// With the development issuer (`dev`), its key is used directly: no HTTP.
pub async fn connect(figment: &Figment, dev: Option<&DevIssuer>) -> Result<Verifier, String> {
    let config = AuthConfig::from_figment(figment).map_err(|e| e.to_string())?;
    for warning in &config.warnings {
        log::warn!("JWT auth: {warning}");
    }
    let source = config.key_source().map_err(|e| e.to_string())?;
    match &source {
        KeySource::DevIssuer => {
            let dev =
                dev.ok_or("auth.dev_issuer is on, but the DevIssuer fairing isn't attached")?;
            let keys = KeyStore::fixed(dev.key_set());
            return Ok(Verifier::new(policy(&config, dev.issuer().to_owned()), Arc::new(keys)));
        }
        KeySource::StaticKey { public_key, issuer } => {
            let keys = static_keys(public_key, &config)
                .map_err(|e| format!("invalid setting `auth.public_key`: {e}"))?;
            log::info!("JWT auth: issuer {issuer}, {} static key(s)", keys.len());
            return Ok(Verifier::new(
                policy(&config, issuer.clone()),
                Arc::new(KeyStore::fixed(keys)),
            ));
        }
        _ => {}
    }

    let give_up = Instant::now() + *config.jwks_launch_retry;
    let mut delay = Duration::from_millis(250);
    loop {
        match load_keys(&config, &source).await {
            Ok((issuer, keys)) => {
                return Ok(Verifier::new(policy(&config, issuer), Arc::new(keys)))
            }
            Err(reason) if Instant::now() + delay < give_up => {
                log::warn!("JWT auth: {reason}; retrying in {delay:?}");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(reason) => return Err(reason),
        }
    }
}

/// Discovery (if configured) and the first JWKS fetch: the issuer to
/// require and the loaded key store.
async fn load_keys(config: &AuthConfig, source: &KeySource) -> Result<(String, KeyStore), String> {
    let timeout = *config.jwks_timeout;
    // One HTTP client for discovery and every JWKS fetch after it.
    let (issuer, jwks_uri, fetcher) = match source.clone() {
        KeySource::Jwks { issuer, jwks_uri } => {
            let fetcher = Fetcher::new(timeout, is_loopback(&jwks_uri))?;
            (issuer, jwks_uri, fetcher)
        }
        KeySource::Discovery { base_url, issuer, jwks_uri } => {
            let fetcher = Fetcher::new(timeout, is_loopback(&base_url))?;
            let document = discover(&fetcher, &base_url).await?;
            let jwks_uri = match jwks_uri {
                Some(uri) => uri,
                None => {
                    let discovered = document.jwks_uri.ok_or(
                        "the discovery document has no jwks_uri: set JWKS_URI (and ISSUER)",
                    )?;
                    reqwest::Url::parse(&discovered)
                        .map_err(|e| e.to_string())
                        .and_then(|uri| check_url(&uri).map(|()| uri))
                        .map_err(|e| {
                            format!("discovered jwks_uri {discovered:?} is unusable: {e}")
                        })?
                }
            };
            (issuer.unwrap_or(document.issuer), jwks_uri, fetcher)
        }
        KeySource::Secret { secret, alg, issuer, base_url } => {
            let issuer = match (issuer, base_url) {
                (Some(issuer), _) => issuer,
                (None, Some(base)) => {
                    let fetcher = Fetcher::new(timeout, is_loopback(&base))?;
                    discover(&fetcher, &base).await?.issuer
                }
                (None, None) => return Err("a secret needs `issuer` or `issuer_base_url`".into()),
            };
            let secret = PublicKey::Secret { secret: secret.as_bytes() };
            let key = VerifyingKey::new(None, secret, AlgSet::of(&[alg]))?;
            log::info!("JWT auth: issuer {issuer}, {alg:?} with a shared secret");
            return Ok((issuer, KeyStore::fixed(KeySet::ignoring_kid(vec![key]))));
        }
        KeySource::DevIssuer | KeySource::StaticKey { .. } => unreachable!("handled by connect"),
    };

    let source = JwksSource {
        fetcher,
        url: jwks_uri.clone(),
        allowed: config.allowed_algorithms(),
        cooldown: *config.jwks_cooldown,
        max_age: *config.jwks_cache_max_age,
    };
    let keys = KeyStore::load(source)
        .await
        .map_err(|e| format!("could not load the JSON Web Key Set: {e}"))?;
    log::info!("JWT auth: issuer {issuer}, {} key(s) from {jwks_uri}", keys.snapshot().len());
    Ok((issuer, keys))
}

fn policy(config: &AuthConfig, issuer: String) -> Policy {
    Policy {
        issuer,
        audiences: config.audiences(),
        algorithms: config.allowed_algorithms(),
        clock_tolerance: config.clock_tolerance.as_secs_f64(),
        max_token_size: config.max_token_size,
        allow_query_token: config.allow_query_token,
        token_cache_capacity: config.token_cache_capacity,
        token_cache_max_bytes: config.token_cache_max_bytes,
        max_token_age: config.max_token_age.map(|age| age.as_secs_f64()),
        strict: config.strict,
        scope_claims: ScopeClaims::of(&config.scope_claims),
    }
}

/// The key set of a static `public_key`: PEM (whose algorithm is
/// `token_signing_alg`), a JWK, or a JWK Set.
fn static_keys(public_key: &str, config: &AuthConfig) -> Result<KeySet, String> {
    let text = public_key.trim();
    if text.starts_with("-----BEGIN") {
        let der = pem_to_der(text)?;
        let alg = config
            .token_signing_alg
            .ok_or("a PEM key needs token_signing_alg (TOKEN_SIGNING_ALG), e.g. RS256")?;
        let key = VerifyingKey::new(None, PublicKey::Der { der: &der }, AlgSet::of(&[alg]))?;
        // The key is configured, not chosen by `kid`: any `kid` names it.
        return Ok(KeySet::ignoring_kid(vec![key]));
    }

    let jwk: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("neither a PEM key nor JSON ({e})"))?;
    if jwk.get("keys").is_some() {
        let (keys, skipped) = KeySet::from_jwks(text.as_bytes(), config.allowed_algorithms())?;
        skipped.iter().for_each(|line| log::warn!("JWT auth: public_key: {line}"));
        return Ok(keys);
    }
    Ok(KeySet::new(vec![parse_jwk(&jwk, config.allowed_algorithms())?]))
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
            kind: Kind::Ignite | Kind::Liftoff | Kind::Request | Kind::Response,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        match connect(rocket.figment(), rocket.state::<DevIssuer>()).await {
            Ok(verifier) => Ok(rocket.manage(verifier)),
            Err(reason) => {
                log::error!("JWT auth: {reason}");
                Err(rocket)
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn a_store_with_fixed_keys_has_no_refresh_task() {
        let keys = Arc::new(KeyStore::fixed(super::super::jwks::KeySet::new(vec![])));
        tokio::time::timeout(Duration::from_secs(1), keep_fresh(keys)).await.unwrap();
    }
}
