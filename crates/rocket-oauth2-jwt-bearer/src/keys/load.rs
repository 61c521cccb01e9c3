//! Loading one issuer's keys: discovery and the first JWKS fetch, a static
//! `public_key`, or a shared `secret`.

use std::sync::Arc;

use crate::keys::fetch::{
    DiscoveryError, FetchError, FetchFailure, Fetcher, check_url, discover, is_loopback,
};
use crate::keys::jwk::{PublicKey, VerifyingKey, parse_jwk, pem_to_der};
use crate::keys::jwks::{JwksSource, KeySet, KeySetError, KeyStore};
use crate::keys::key_error::KeyError;
use crate::keys::launch_error::{DevIssuerError, LaunchError};
use crate::settings::checked::Settings;
use crate::settings::issuer_settings::{IssuerFrom, IssuerSettings, JwksFrom, KeySource};
use crate::words::algorithms::AlgSet;

/// One attempt at loading `issuer`'s keys: its exact `iss` and its store.
pub(crate) async fn load_issuer(
    settings: &Settings,
    issuer: &IssuerSettings,
) -> Result<(String, KeyStore), LaunchError> {
    match &issuer.source {
        KeySource::DevIssuer => Err(LaunchError::DevIssuer { cause: DevIssuerError::NeedsFairing }),
        KeySource::StaticKey { public_key, issuer: iss } => {
            let keys = static_keys(public_key, issuer)?;
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
    Fetcher::new(settings.jwks_timeout(), is_loopback(url)).map_err(|e| {
        let cause = KeySetError::Fetch(FetchError::new(url, FetchFailure::Http(Arc::new(e))));
        LaunchError::KeySet { url: url.to_string(), cause }
    })
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
            let failed = |cause: DiscoveryError| LaunchError::Discovery {
                base_url: base_url.to_string(),
                cause,
            };
            let document = discover(&fetcher, base_url).await.map_err(failed)?;
            let jwks_uri = match jwks_uri {
                Some(uri) => uri.clone(),
                None => {
                    let discovered =
                        document.jwks_uri.ok_or_else(|| failed(DiscoveryError::NoJwksUri))?;
                    let uri = reqwest::Url::parse(&discovered).map_err(|error| {
                        failed(DiscoveryError::JwksUriInvalid { jwks_uri: discovered, error })
                    })?;
                    check_url(&uri).map_err(|e| failed(DiscoveryError::JwksUriRefused(e)))?;
                    uri
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
fn static_keys(public_key: &str, issuer: &IssuerSettings) -> Result<KeySet, LaunchError> {
    let setting = || setting_of(issuer, "public_key");
    let key_error = |cause: KeyError| LaunchError::Key { setting: setting(), cause };
    let text = public_key.trim();
    if text.starts_with("-----BEGIN") {
        let der = pem_to_der(text).map_err(key_error)?;
        let alg = issuer.token_signing_alg.ok_or(KeyError::PemNeedsAlgorithm).map_err(key_error)?;
        let key = VerifyingKey::new(None, PublicKey::Der { der: &der }, AlgSet::of(&[alg]))
            .map_err(key_error)?;
        // The key is configured, not chosen by `kid`: any `kid` names it.
        return Ok(KeySet::ignoring_kid(vec![key]));
    }

    let jwk: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| key_error(KeyError::NeitherPemNorJson(Arc::new(e))))?;
    if jwk.get("keys").is_some() {
        let (keys, skipped) = KeySet::from_jwks(text.as_bytes(), issuer.allowed)
            .map_err(|cause| LaunchError::PublicKeySet { setting: setting(), cause })?;
        if !skipped.is_empty() {
            log::warn!("JWT auth: public_key: {skipped}");
        }
        return Ok(keys);
    }
    Ok(KeySet::new(vec![parse_jwk(&jwk, issuer.allowed).map_err(key_error)?]))
}
