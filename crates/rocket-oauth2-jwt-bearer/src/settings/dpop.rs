//! The `[auth.dpop]` table, read and checked once into [`DpopSettings`].

use std::time::Duration;

use reqwest::Url;

use crate::settings::config::{
    DpopConfig, DpopMode, ReplayStoreFailure, Secret, default_algorithms,
};
use crate::words::algorithms::{self, AlgSet, Algorithm, AlgorithmFamily};

/// The default proof algorithms: every asymmetric one but ES512. A proof's
/// key is the client's choice, so its cost is too, and a P-521 signature
/// costs about eight ES256 ones (`cargo bench --bench verify`: 340 µs
/// against 38 µs); list ES512 in `dpop.algorithms` to accept it.
fn default_proof_algorithms() -> Vec<Algorithm> {
    default_algorithms().into_iter().filter(|alg| *alg != Algorithm::ES512).collect()
}

/// The shortest `nonce_secret` accepted, in bytes: a secret that keys an
/// HMAC-SHA256 should hold at least as many bits as its output.
const MIN_NONCE_SECRET: usize = 32;

/// The checked DPoP settings.
#[derive(Debug, Clone)]
pub(crate) struct DpopSettings {
    pub(crate) mode: DpopMode,
    pub(crate) iat_offset: Duration,
    pub(crate) iat_leeway: Duration,
    /// The proof algorithms: asymmetric only, never empty.
    pub(crate) algorithms: AlgSet,
    pub(crate) replay_cache_capacity: usize,
    /// The most live proofs one key (`jkt`) may have recorded, here and
    /// in the shared store.
    pub(crate) replay_quota: usize,
    /// `redis://` or `rediss://` URL of the shared replay store.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) replay_store: Option<Url>,
    pub(crate) replay_store_failure: ReplayStoreFailure,
    pub(crate) nonce: bool,
    pub(crate) nonce_secret: Option<Secret>,
    pub(crate) nonce_lifetime: Duration,
    /// `public_url` without a trailing `/`: what `htu` must start with.
    pub(crate) public_url: Option<String>,
}

impl Default for DpopSettings {
    fn default() -> Self {
        DpopConfig::default().check().expect("the defaults are valid")
    }
}

impl DpopConfig {
    /// Checks every value; an error names the setting under `auth.`
    /// (`dpop.iat_offset`) and what is wrong.
    pub(crate) fn check(&self) -> Result<DpopSettings, (&'static str, String)> {
        let asymmetric = [AlgorithmFamily::Rsa, AlgorithmFamily::Ec, AlgorithmFamily::Ed]
            .into_iter()
            .fold(AlgSet::EMPTY, |set, family| set.union(AlgSet::family(family)));
        let listed = self.algorithms.clone().unwrap_or_else(default_proof_algorithms);
        if let Some(symmetric) = listed.iter().find(|alg| !asymmetric.contains(**alg)) {
            let problem = format!(
                "{} is symmetric: a DPoP proof is signed with the client's own private key",
                algorithms::name_of(*symmetric)
            );
            return Err(("dpop.algorithms", problem));
        }
        if listed.is_empty() {
            return Err(("dpop.algorithms", "is empty".into()));
        }
        if self.iat_offset.is_zero() {
            return Err(("dpop.iat_offset", "must be more than 0".into()));
        }
        if self.nonce_lifetime.is_zero() {
            return Err(("dpop.nonce_lifetime", "must be more than 0".into()));
        }
        if self.replay_cache_capacity == 0 {
            let problem = "must be at least 1: replay detection can't be turned off".into();
            return Err(("dpop.replay_cache_capacity", problem));
        }
        if self.replay_quota == 0 {
            let problem = "must be at least 1: a key with no quota could prove nothing".into();
            return Err(("dpop.replay_quota", problem));
        }
        if let Some(secret) = &self.nonce_secret
            && secret.0.len() < MIN_NONCE_SECRET
        {
            let problem = format!(
                "is {} bytes; use at least {MIN_NONCE_SECRET} random bytes \
                     (e.g. `openssl rand -base64 32`)",
                secret.0.len()
            );
            return Err(("dpop.nonce_secret", problem));
        }
        let replay_store = self.replay_store.as_deref().map(replay_store_url).transpose()?;
        let public_url = self.public_url.as_deref().map(public_url).transpose()?;
        Ok(DpopSettings {
            mode: self.mode,
            iat_offset: self.iat_offset,
            iat_leeway: self.iat_leeway,
            algorithms: AlgSet::of(&listed),
            replay_cache_capacity: self.replay_cache_capacity,
            replay_quota: self.replay_quota,
            replay_store,
            replay_store_failure: self.replay_store_failure,
            nonce: self.nonce,
            nonce_secret: self.nonce_secret.clone(),
            nonce_lifetime: self.nonce_lifetime,
            public_url,
        })
    }
}

fn replay_store_url(value: &str) -> Result<Url, (&'static str, String)> {
    let setting = "dpop.replay_store";
    let url = Url::parse(value.trim()).map_err(|e| (setting, format!("not a URL ({e})")))?;
    if !matches!(url.scheme(), "redis" | "rediss") || url.host_str().is_none() {
        return Err((setting, "must be a redis:// or rediss:// URL with a host".into()));
    }
    if cfg!(not(feature = "redis")) {
        let problem = "needs this crate's `redis` cargo feature, which this build lacks".into();
        return Err((setting, problem));
    }
    Ok(url)
}

fn public_url(value: &str) -> Result<String, (&'static str, String)> {
    let setting = "dpop.public_url";
    let url = Url::parse(value).map_err(|e| (setting, format!("not a URL ({e})")))?;
    let plain = url.query().is_none() && url.fragment().is_none() && url.username().is_empty();
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() || !plain {
        let problem = "must be an http(s) URL with a host and no user, query or fragment \
                       (e.g. https://api.example.com)"
            .into();
        return Err((setting, problem));
    }
    Ok(value.trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(table: serde_json::Value) -> DpopConfig {
        serde_json::from_value(table).unwrap()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let settings = DpopSettings::default();
        assert_eq!(settings.mode, DpopMode::Allowed);
        assert_eq!(settings.iat_offset, Duration::from_secs(300));
        assert_eq!(settings.iat_leeway, Duration::from_secs(30));
        assert_eq!(settings.replay_cache_capacity, 100_000);
        assert_eq!(settings.replay_quota, 10_000);
        assert!(!settings.nonce && settings.replay_store.is_none());
        assert!(settings.algorithms.contains(Algorithm::ES256));
        assert!(settings.algorithms.contains(Algorithm::EdDSA));
        assert!(settings.algorithms.contains(Algorithm::ES256K));
        assert!(!settings.algorithms.contains(Algorithm::ES512), "a client's choice: opt-in");
        let es512 = raw(serde_json::json!({"algorithms": ["ES512"]})).check().unwrap();
        assert!(es512.algorithms.contains(Algorithm::ES512));
        assert!(!settings.algorithms.contains(Algorithm::HS256));
    }

    #[test]
    fn bad_values_name_their_setting() {
        use serde_json::json;
        for (table, setting, problem) in [
            (json!({"algorithms": ["HS256"]}), "dpop.algorithms", "symmetric"),
            (json!({"algorithms": []}), "dpop.algorithms", "empty"),
            (json!({"iat_offset": 0}), "dpop.iat_offset", "more than 0"),
            (json!({"replay_cache_capacity": 0}), "dpop.replay_cache_capacity", "at least 1"),
            (json!({"replay_quota": 0}), "dpop.replay_quota", "at least 1"),
            (json!({"nonce_secret": "short"}), "dpop.nonce_secret", "5 bytes"),
            (json!({"replay_store": "http://x"}), "dpop.replay_store", "redis://"),
            (json!({"public_url": "ftp://x"}), "dpop.public_url", "http(s)"),
            (json!({"public_url": "https://x/?q"}), "dpop.public_url", "query"),
        ] {
            let (name, text) = raw(table.clone()).check().unwrap_err();
            assert_eq!(name, setting, "{table}");
            assert!(text.contains(problem), "{table}: {text}");
        }
        let checked = raw(json!({"public_url": "https://api.example.com/"})).check().unwrap();
        assert_eq!(checked.public_url.as_deref(), Some("https://api.example.com"));
    }
}
