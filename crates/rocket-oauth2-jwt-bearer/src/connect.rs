//! Loading issuers' keys: discovery and the first JWKS fetch, a static
//! `public_key`, or a shared `secret`; and the verifier built from them.
//!
//! Every issuer loads concurrently and on its own: a slow one delays
//! launch by at most `jwks_launch_retry`, never another issuer's load.

use std::sync::Arc;
use std::time::Duration;

use crate::algorithms::AlgSet;
use crate::fairing::LaunchError;
use crate::fetch::{check_url, discover, is_loopback, Fetcher};
use crate::issuer_settings::{IssuerFrom, IssuerSettings, JwksFrom, KeySource};
use crate::issuers::Issuers;
use crate::jwk::{parse_jwk, pem_to_der, PublicKey, VerifyingKey};
use crate::jwks::{JwksSource, KeySet, KeyStore};
use crate::resolver::IssuerResolver;
use crate::settings::Settings;
use crate::token::{Policy, Verifier};
use crate::trusted_issuer::TrustedIssuer;

/// Builds the verifier for `settings`' issuers (all but the development
/// issuer, which needs a Rocket), and `resolver` for issuers found at run
/// time.
///
/// An identity provider that can't be reached (or answers garbage) is
/// retried with backoff for `jwks_launch_retry` seconds, so that a service
/// and its provider starting together don't race. Then, with
/// `require_keys_at_launch`, launch fails naming every issuer that failed;
/// without it, those issuers keep their place without keys (their tokens
/// get 503) until the fairing's background task loads them.
pub(crate) async fn connect(
    settings: &Settings,
    resolver: Option<Arc<dyn IssuerResolver>>,
) -> Result<Verifier, LaunchError> {
    for warning in &settings.warnings {
        log::warn!("JWT auth: {warning}");
    }
    let mut loads = Vec::with_capacity(settings.issuers.len());
    for issuer in &settings.issuers {
        if issuer.source == KeySource::DevIssuer {
            return Err(LaunchError::DevIssuer {
                cause: "the development issuer needs a Rocket to serve it: attach JwtAuth".into(),
            });
        }
        let task = {
            let (settings, issuer) = (settings.clone(), issuer.clone());
            tokio::spawn(async move {
                let cut = || LaunchError::KeySet {
                    url: issuer.label(),
                    cause: format!(
                        "no keys within jwks_launch_retry ({:?})",
                        settings.jwks_launch_retry()
                    ),
                };
                with_retries(&settings, || load_issuer(&settings, &issuer), cut).await
            })
        };
        loads.push((issuer.clone(), task));
    }

    let mut trusted = Vec::with_capacity(loads.len());
    let mut failures = Vec::new();
    for (issuer, task) in loads {
        // A load task only fails to join if it panicked: a bug, reported as
        // that issuer's failure rather than taking the others down.
        let loaded = task.await.unwrap_or_else(|e| {
            Err(LaunchError::KeySet {
                url: issuer.label(),
                cause: format!("loading panicked: {e}"),
            })
        });
        match loaded {
            Ok((iss, keys)) => {
                trusted.push(TrustedIssuer::loaded(issuer, &settings.audiences, iss, keys))
            }
            Err(error) if settings.require_keys_at_launch() => failures.push(error),
            Err(error) => {
                log::warn!(
                    "JWT auth: issuer {} has no keys yet ({error}): launching anyway \
                     (require_keys_at_launch = false); its tokens get 503 until it loads",
                    issuer.label()
                );
                let pending = TrustedIssuer::new(issuer, &settings.audiences);
                pending.load_failed(error.to_string(), Duration::from_secs(1));
                trusted.push(pending);
            }
        }
    }
    match failures.len() {
        0 => {}
        1 => return Err(failures.remove(0)),
        _ => return Err(LaunchError::Issuers { failures }),
    }

    let issuers = Issuers::new(trusted, resolver, settings);
    Ok(Verifier::new(Policy::from_settings(settings), issuers))
}

/// How long before the launch deadline the last attempt starts.
const LAST_TRY: Duration = Duration::from_millis(250);

/// Runs `attempt` until it succeeds or `jwks_launch_retry` has passed,
/// doubling the delay from 250 ms; the last attempt starts [`LAST_TRY`]
/// before the deadline. The deadline is firm: an attempt still under way
/// then is cut (its error made by `cut`), so that a hanging issuer holds
/// launch no longer than the setting says. With `jwks_launch_retry = 0`,
/// one attempt, bounded by `jwks_timeout` alone.
async fn with_retries<T, F, Fut>(
    settings: &Settings,
    attempt: F,
    cut: impl Fn() -> LaunchError,
) -> Result<T, LaunchError>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, LaunchError>>,
{
    let retry = settings.jwks_launch_retry();
    let give_up = tokio::time::Instant::now() + retry;
    let mut delay = Duration::from_millis(250);
    loop {
        let outcome = match retry.is_zero() {
            true => attempt().await,
            false => {
                tokio::time::timeout_at(give_up, attempt()).await.unwrap_or_else(|_| Err(cut()))
            }
        };
        let left = give_up.saturating_duration_since(tokio::time::Instant::now());
        match outcome {
            Ok(value) => return Ok(value),
            Err(reason) if left > LAST_TRY => {
                let wait = delay.min(left - LAST_TRY);
                log::warn!("JWT auth: {reason}; retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                delay *= 2;
            }
            Err(reason) => return Err(reason),
        }
    }
}

/// One attempt at loading `issuer`'s keys: its exact `iss` and its store.
pub(crate) async fn load_issuer(
    settings: &Settings,
    issuer: &IssuerSettings,
) -> Result<(String, KeyStore), LaunchError> {
    match &issuer.source {
        KeySource::DevIssuer => Err(LaunchError::DevIssuer {
            cause: "the development issuer needs a Rocket to serve it: attach JwtAuth".into(),
        }),
        KeySource::StaticKey { public_key, issuer: iss } => {
            let keys = static_keys(public_key, issuer).map_err(|cause| LaunchError::Key {
                setting: setting_of(issuer, "public_key"),
                cause,
            })?;
            log::info!("JWT auth: issuer {iss}, {} static key(s)", keys.len());
            Ok((iss.clone(), KeyStore::fixed(keys)))
        }
        KeySource::Secret { secret, alg, issuer: from } => {
            let iss = match from {
                IssuerFrom::Given(iss) => iss.clone(),
                IssuerFrom::Discovered(base) => {
                    let fetcher = fetcher(settings, base)?;
                    let document = discover(&fetcher, base).await.map_err(|cause| {
                        LaunchError::Discovery { base_url: base.to_string(), cause }
                    })?;
                    document.issuer
                }
            };
            let secret = PublicKey::Secret { secret: secret.0.as_bytes() };
            let key = VerifyingKey::new(None, secret, AlgSet::of(&[*alg])).map_err(|cause| {
                LaunchError::Key { setting: setting_of(issuer, "secret"), cause }
            })?;
            log::info!("JWT auth: issuer {iss}, {alg:?} with a shared secret");
            Ok((iss, KeyStore::fixed(KeySet::ignoring_kid(vec![key]))))
        }
        KeySource::Jwks(from) => load_key_set(settings, issuer, from).await,
    }
}

/// `auth.public_key` or `auth.issuers[1].public_key`, without the `auth.`.
fn setting_of(issuer: &IssuerSettings, key: &str) -> String {
    match issuer.setting.strip_prefix("auth.") {
        Some(entry) => format!("{entry}.{key}"),
        None => key.to_owned(),
    }
}

fn fetcher(settings: &Settings, url: &reqwest::Url) -> Result<Fetcher, LaunchError> {
    Fetcher::new(settings.jwks_timeout(), is_loopback(url))
        .map_err(|cause| LaunchError::KeySet { url: url.to_string(), cause })
}

/// Discovery (if configured) and the first JWKS fetch: the issuer to
/// require and the loaded key store.
async fn load_key_set(
    settings: &Settings,
    issuer: &IssuerSettings,
    from: &JwksFrom,
) -> Result<(String, KeyStore), LaunchError> {
    // One HTTP client for discovery and every JWKS fetch after it.
    let (iss, jwks_uri, fetcher) = match from {
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
        allowed: issuer.allowed,
        cooldown: settings.jwks_cooldown(),
        max_age: settings.jwks_cache_max_age(),
    };
    let keys = KeyStore::load(source)
        .await
        .map_err(|cause| LaunchError::KeySet { url: jwks_uri.to_string(), cause })?;
    log::info!("JWT auth: issuer {iss}, {} key(s) from {jwks_uri}", keys.snapshot().len());
    Ok((iss, keys))
}

/// The key set of a static `public_key`: PEM (whose algorithm is
/// `token_signing_alg`), a JWK, or a JWK Set.
fn static_keys(public_key: &str, issuer: &IssuerSettings) -> Result<KeySet, String> {
    let text = public_key.trim();
    if text.starts_with("-----BEGIN") {
        let der = pem_to_der(text)?;
        let alg = issuer
            .token_signing_alg
            .ok_or("a PEM key needs token_signing_alg (TOKEN_SIGNING_ALG), e.g. RS256")?;
        let key = VerifyingKey::new(None, PublicKey::Der { der: &der }, AlgSet::of(&[alg]))?;
        // The key is configured, not chosen by `kid`: any `kid` names it.
        return Ok(KeySet::ignoring_kid(vec![key]));
    }

    let jwk: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("neither a PEM key nor JSON ({e})"))?;
    if jwk.get("keys").is_some() {
        let (keys, skipped) = KeySet::from_jwks(text.as_bytes(), issuer.allowed)?;
        if !skipped.is_empty() {
            log::warn!("JWT auth: public_key: {skipped}");
        }
        return Ok(keys);
    }
    Ok(KeySet::new(vec![parse_jwk(&jwk, issuer.allowed)?]))
}

/// Loads a pending issuer's keys in the background, with backoff from
/// 1 s to 30 s, then keeps them fresh; returns only when dropped.
pub(crate) async fn load_then_keep_fresh(settings: Arc<Settings>, issuer: Arc<TrustedIssuer>) {
    let mut delay = Duration::from_secs(1);
    while issuer.keys().is_none() {
        tokio::time::sleep(delay).await;
        match load_issuer(&settings, issuer.settings()).await {
            Ok((iss, keys)) => {
                log::info!("JWT auth: issuer {iss} loaded, {} key(s)", keys.snapshot().len());
                issuer.install(iss, keys);
            }
            Err(error) => {
                delay = (delay * 2).min(Duration::from_secs(30));
                log::debug!("JWT auth: issuer {} still has no keys: {error}", issuer.label());
                issuer.load_failed(error.to_string(), delay);
            }
        }
    }
    if let Some(keys) = issuer.keys() {
        keep_fresh(keys.clone()).await;
    }
}

/// Refreshes `keys` on schedule until the task is dropped. After a failure
/// it retries sooner, doubling the delay up to the normal interval.
pub(crate) async fn keep_fresh(keys: Arc<KeyStore>) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_store_with_fixed_keys_has_no_refresh_task() {
        let keys = Arc::new(KeyStore::fixed(KeySet::new(vec![])));
        tokio::time::timeout(Duration::from_secs(1), keep_fresh(keys)).await.unwrap();
    }
}
