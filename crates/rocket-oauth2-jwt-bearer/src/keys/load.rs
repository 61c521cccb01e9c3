//! Loading one issuer's keys: discovery and the first JWKS fetch, a static
//! `public_key`, or a shared `secret`.

use crate::keys::fetch::{check_url, discover, is_loopback, Fetcher};
use crate::keys::jwk::{parse_jwk, pem_to_der, PublicKey, VerifyingKey};
use crate::keys::jwks::{JwksSource, KeySet, KeyStore};
use crate::keys::launch_error::LaunchError;
use crate::settings::checked::Settings;
use crate::settings::issuer_settings::{IssuerFrom, IssuerSettings, JwksFrom, KeySource};
use crate::words::algorithms::AlgSet;

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
