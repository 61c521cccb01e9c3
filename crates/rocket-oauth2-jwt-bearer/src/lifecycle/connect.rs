//! Launch and refresh: every issuer's keys loaded (`keys::load`) into the
//! verifier, retried within `jwks_launch_retry`, then kept fresh.
//!
//! Every issuer loads concurrently and on its own: a slow one delays
//! launch by at most `jwks_launch_retry`, never another issuer's load.

use std::sync::Arc;
use std::time::Duration;

use crate::keys::jwks::KeyStore;
use crate::keys::launch_error::{DevIssuerError, LaunchError};
use crate::keys::load::load_issuer;
use crate::settings::checked::Settings;
use crate::settings::issuer_settings::KeySource;
use crate::verification::issuers::Issuers;
use crate::verification::resolver::IssuerResolver;
use crate::verification::token::{Policy, Verifier};
use crate::verification::trusted_issuer::TrustedIssuer;

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
            return Err(LaunchError::DevIssuer { cause: DevIssuerError::NeedsFairing });
        }
        let task = {
            let (settings, issuer) = (settings.clone(), issuer.clone());
            tokio::spawn(async move {
                let cut = || LaunchError::Timeout {
                    issuer: issuer.label(),
                    after: settings.jwks_launch_retry(),
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
        let loaded = task
            .await
            .unwrap_or_else(|_| Err(LaunchError::LoadPanicked { issuer: issuer.label() }));
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
    use crate::keys::jwks::KeySet;

    #[tokio::test]
    async fn a_store_with_fixed_keys_has_no_refresh_task() {
        let keys = Arc::new(KeyStore::fixed(KeySet::new(vec![])));
        tokio::time::timeout(Duration::from_secs(1), keep_fresh(keys)).await.unwrap();
    }
}
