//! The key store: the issuer's JSON Web Key Set, parsed once per fetch into
//! verifying keys, and swapped in whole so requests never wait on the network.
//!
//! - [`KeySet`] is an immutable snapshot. Requests clone an `Arc` of the
//!   current one, lock-free (`arc-swap`): a refresh can't block a request.
//! - [`KeyStore::refresh`] fetches and swaps in a new snapshot. A failed
//!   fetch keeps the last good keys (stale-if-error).
//! - [`KeyStore::refetch_for_unknown_kid`] lets a token signed by a key
//!   published since the last fetch trigger one refetch per `cooldown`,
//!   shared by every request that misses meanwhile (single flight).
//!
//! Keys that can't safely verify a token ([`jwk`](super::jwk) says which)
//! are skipped with a warning rather than failing the whole set.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use reqwest::Url;
use serde_json::Value;

use crate::keys::fetch::{FetchError, Fetcher};
use crate::keys::jwk::{Fingerprint, VerifyingKey, parse_jwk};
use crate::keys::key_error::KeyError;
use crate::words::algorithms::{AlgSet, Algorithm};

/// An immutable snapshot of usable keys.
pub struct KeySet {
    keys: Vec<VerifyingKey>,
    /// For configured keys (a secret, a PEM key): `kid` doesn't select.
    ignore_kid: bool,
    by_kid: HashMap<String, Vec<usize>>,
    fingerprints: HashSet<Fingerprint>,
}

impl KeySet {
    /// A set chosen from by `kid`.
    pub fn new(keys: Vec<VerifyingKey>) -> Self {
        let mut by_kid: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, key) in keys.iter().enumerate() {
            if let Some(kid) = key.kid() {
                by_kid.entry(kid.to_owned()).or_default().push(i);
            }
        }

        let fingerprints = keys.iter().map(|key| *key.fingerprint()).collect();
        KeySet { keys, ignore_kid: false, by_kid, fingerprints }
    }

    /// A set whose keys are chosen by `alg` alone, whatever a token's `kid`:
    /// for keys given in the settings rather than published with `kid`s.
    pub fn ignoring_kid(keys: Vec<VerifyingKey>) -> Self {
        KeySet { ignore_kid: true, ..KeySet::new(keys) }
    }

    /// Parses a JWKS document, keeping the keys usable with `allowed`.
    /// Returns the set and a summary of the skipped keys.
    pub fn from_jwks(json: &[u8], allowed: AlgSet) -> Result<(KeySet, Skipped), KeySetError> {
        #[derive(serde::Deserialize)]
        struct Document {
            keys: Vec<Value>,
        }

        let document: Document =
            serde_json::from_slice(json).map_err(|e| KeySetError::NotJwks(Arc::new(e)))?;
        let mut keys = Vec::new();
        let mut skipped = Skipped::default();
        for (i, jwk) in document.keys.iter().enumerate() {
            match parse_jwk(jwk, allowed) {
                Ok(key) => keys.push(key),
                Err(reason) => {
                    let kid = jwk.get("kid").and_then(Value::as_str);
                    skipped.add(i, kid, &reason);
                }
            }
        }

        if keys.is_empty() {
            // A set that can verify nothing is an error, with the reasons:
            // at launch it aborts, at a refresh the last good keys stay.
            return Err(match skipped.is_empty() {
                true => KeySetError::Empty,
                false => KeySetError::NoUsableKey(skipped),
            });
        }

        Ok((KeySet::new(keys), skipped))
    }

    /// How many keys.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Whether the key with this fingerprint is in the set.
    pub(crate) fn has_fingerprint(&self, fingerprint: &Fingerprint) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    /// Whether some key carries `kid`.
    pub(crate) fn has_kid(&self, kid: &str) -> bool {
        self.ignore_kid || self.by_kid.contains_key(kid)
    }

    /// The key to verify a token with `kid` and `alg`. Without a `kid`, only
    /// an unambiguous choice is made: exactly one key fits `alg`.
    pub(crate) fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<&VerifyingKey> {
        let kid = kid.filter(|_| !self.ignore_kid);
        match kid {
            Some(kid) => {
                let candidates = self.by_kid.get(kid)?;
                candidates.iter().map(|&i| &self.keys[i]).find(|key| key.fits(alg))
            }
            None => {
                let mut fitting = self.keys.iter().filter(|key| key.fits(alg));
                match (fitting.next(), fitting.next()) {
                    (Some(key), None) => Some(key),
                    _ => None,
                }
            }
        }
    }
}

/// Where a store refetches its keys from.
pub(crate) struct JwksSource {
    pub url: Url,
    pub fetcher: Fetcher,
    pub allowed: AlgSet,
    /// Minimum time between refetches caused by unknown `kid`s.
    pub cooldown: Duration,
    /// How often the background task refreshes the set.
    pub max_age: Duration,
}

/// What the store knows about its own freshness, for logs and readiness.
#[derive(Debug, Clone, Default)]
pub(crate) struct Freshness {
    pub last_success: Option<SystemTime>,
    pub last_error: Option<String>,
    pub failures_in_a_row: u32,
    /// Fetches since launch, by result.
    pub fetches_ok: u64,
    pub fetches_failed: u64,
}

/// The current key set, and how to refresh it.
pub struct KeyStore {
    current: ArcSwap<KeySet>,
    generation: AtomicU64,
    source: Option<JwksSource>,
    /// Held for the duration of a fetch: at most one fetch at a time.
    fetch: tokio::sync::Mutex<()>,
    fetching: AtomicBool,
    last_attempt: Mutex<Option<Instant>>,
    freshness: Mutex<Freshness>,
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore").field("keys", &self.snapshot().len()).finish_non_exhaustive()
    }
}

impl KeyStore {
    /// A store with fixed keys that never refreshes.
    pub fn fixed(keys: KeySet) -> Self {
        Self::with(keys, None)
    }

    /// Fetches the key set from `source` once; fails if it can't be loaded.
    pub(crate) async fn load(source: JwksSource) -> Result<Self, KeySetError> {
        let keys = fetch(&source).await?;
        let store = Self::with(keys, Some(source));
        {
            let mut freshness = store.freshness.lock().unwrap();
            freshness.last_success = Some(SystemTime::now());
            freshness.fetches_ok = 1;
        }
        *store.last_attempt.lock().unwrap() = Some(Instant::now());
        Ok(store)
    }

    fn with(keys: KeySet, source: Option<JwksSource>) -> Self {
        KeyStore {
            current: ArcSwap::from_pointee(keys),
            generation: AtomicU64::new(0),
            source,
            fetch: tokio::sync::Mutex::new(()),
            fetching: AtomicBool::new(false),
            last_attempt: Mutex::new(None),
            freshness: Mutex::new(Freshness::default()),
        }
    }

    /// The current key set.
    pub(crate) fn snapshot(&self) -> Arc<KeySet> {
        self.current.load_full()
    }

    /// Counts successful swaps; a request compares it before and after
    /// waiting to know whether someone else's fetch brought new keys.
    pub(crate) fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Fetch results so far.
    pub(crate) fn freshness(&self) -> Freshness {
        self.freshness.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// How often to refresh, and how soon to first retry a failed refresh;
    /// `None` for fixed keys.
    pub(crate) fn refresh_schedule(&self) -> Option<(Duration, Duration)> {
        let source = self.source.as_ref()?;
        Some((source.max_age, source.cooldown.max(Duration::from_secs(1))))
    }

    /// Whether the current key set still holds the key `fingerprint`
    /// names, without cloning the snapshot (the token cache asks this on
    /// every hit).
    pub(crate) fn has_fingerprint(&self, fingerprint: &Fingerprint) -> bool {
        self.current.load().has_fingerprint(fingerprint)
    }

    /// Whether a refresh is due: the keys are older than `max_age`, or the
    /// last attempt failed more than a cooldown ago.
    pub(crate) fn refresh_due(&self) -> bool {
        let Some(source) = &self.source else { return false };
        let last = *self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
        let failing =
            self.freshness.lock().unwrap_or_else(|e| e.into_inner()).failures_in_a_row > 0;
        let interval =
            if failing { source.cooldown.max(Duration::from_secs(1)) } else { source.max_age };
        last.is_none_or(|at| at.elapsed() >= interval)
    }

    /// Fetches the key set now and swaps it in; on failure keeps the old one.
    pub(crate) async fn refresh(&self) -> Result<(), KeySetError> {
        let Some(source) = &self.source else {
            return Ok(());
        };
        let _one_at_a_time = self.fetch.lock().await;
        self.fetch_and_swap(source).await
    }

    /// Called when a token's `kid` is not in `seen`, the snapshot it was
    /// checked against. Returns a newer snapshot if one is (or becomes)
    /// available without exceeding one fetch per cooldown, else `None`.
    pub(crate) async fn refetch_for_unknown_kid(&self, seen: u64) -> Option<Arc<KeySet>> {
        let source = self.source.as_ref()?;
        if self.generation() != seen {
            return Some(self.snapshot());
        }
        // Cheap early exit for floods of random kids: no fetch running and
        // one happened within the cooldown means there's nothing to wait for.
        if !self.fetching.load(Ordering::Acquire) && self.within_cooldown(source.cooldown) {
            return None;
        }

        let _one_at_a_time = self.fetch.lock().await;
        if self.generation() != seen {
            return Some(self.snapshot());
        }
        if self.within_cooldown(source.cooldown) {
            return None;
        }

        self.fetch_and_swap(source).await.ok()?;
        Some(self.snapshot())
    }

    fn within_cooldown(&self, cooldown: Duration) -> bool {
        let last = *self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
        last.is_some_and(|at| at.elapsed() < cooldown)
    }

    /// Must be called with `self.fetch` held.
    async fn fetch_and_swap(&self, source: &JwksSource) -> Result<(), KeySetError> {
        *self.last_attempt.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        self.fetching.store(true, Ordering::Release);
        let result = fetch(source).await;
        self.fetching.store(false, Ordering::Release);

        let mut freshness = self.freshness.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(keys) => {
                if freshness.failures_in_a_row > 0 {
                    log::info!("JWKS {} reachable again: {} key(s) loaded", source.url, keys.len());
                }
                self.current.store(Arc::new(keys));
                self.generation.fetch_add(1, Ordering::AcqRel);
                freshness.last_success = Some(SystemTime::now());
                freshness.last_error = None;
                freshness.failures_in_a_row = 0;
                freshness.fetches_ok += 1;
                Ok(())
            }
            Err(error) => {
                // One warning per failure streak, not one per attempt.
                let line = error.at(&source.url);
                if freshness.failures_in_a_row == 0 {
                    log::warn!("JWKS refresh failed, keeping the last good keys: {line}");
                } else {
                    log::debug!("JWKS refresh failed again: {line}");
                }
                freshness.failures_in_a_row += 1;
                freshness.fetches_failed += 1;
                freshness.last_error = Some(line);
                Err(error)
            }
        }
    }
}

async fn fetch(source: &JwksSource) -> Result<KeySet, KeySetError> {
    let body = source.fetcher.get(&source.url).await.map_err(KeySetError::Fetch)?;
    let (keys, skipped) = KeySet::from_jwks(&body, source.allowed)?;
    if !skipped.is_empty() {
        log::warn!("JWKS {}: {skipped}", source.url);
    }

    Ok(keys)
}

/// Why a JSON Web Key Set gave no keys to verify with.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySetError {
    /// It could not be fetched.
    Fetch(FetchError),
    /// The document is not a JWK Set (`{"keys": [...]}`).
    NotJwks(Arc<serde_json::Error>),
    /// Its `keys` array is empty.
    Empty,
    /// Every key was skipped: how many, and why.
    NoUsableKey(Skipped),
}

impl KeySetError {
    /// One line naming `url`, for a status page: a fetch failure names it
    /// already.
    pub(crate) fn at(&self, url: &Url) -> String {
        match self {
            KeySetError::Fetch(e) => e.to_string(),
            other => format!("GET {url}: {other}"),
        }
    }
}

impl std::fmt::Display for KeySetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySetError::Fetch(e) => e.fmt(f),
            KeySetError::NotJwks(e) => write!(f, "not a JSON Web Key Set: {e}"),
            KeySetError::Empty => f.write_str("no usable key in the set: it is empty"),
            KeySetError::NoUsableKey(skipped) => write!(f, "no usable key in the set: {skipped}"),
        }
    }
}

impl std::error::Error for KeySetError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeySetError::Fetch(e) => Some(e),
            KeySetError::NotJwks(e) => Some(&**e),
            KeySetError::Empty | KeySetError::NoUsableKey(_) => None,
        }
    }
}

/// The keys of a set that were skipped, summarised for one log line however
/// many there are (an issuer may publish thousands): how many, by reason,
/// with the first few keys named.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    total: usize,
    /// Reasons in the order first seen, with their counts; at most
    /// [`Skipped::REASONS`], the rest counted in `other_reasons`.
    by_reason: Vec<(String, usize)>,
    other_reasons: usize,
    /// `#index (kid "…")` of the first few keys skipped.
    examples: Vec<String>,
}

impl Skipped {
    /// Distinct reasons kept.
    const REASONS: usize = 8;
    /// Keys named.
    const EXAMPLES: usize = 3;
    /// The longest `kid` quoted.
    const KID_CHARS: usize = 64;

    fn add(&mut self, index: usize, kid: Option<&str>, reason: &KeyError) {
        self.total += 1;
        if self.examples.len() < Self::EXAMPLES {
            let kid: String = kid.unwrap_or("(none)").chars().take(Self::KID_CHARS).collect();
            self.examples.push(format!("#{index} (kid {kid:?})"));
        }
        let reason = reason.to_string();
        let room = self.by_reason.len() < Self::REASONS;
        match self.by_reason.iter_mut().find(|(r, _)| *r == reason) {
            Some((_, count)) => *count += 1,
            None if room => self.by_reason.push((reason, 1)),
            None => self.other_reasons += 1,
        }
    }

    /// Whether no key was skipped.
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// How many keys were skipped.
    pub fn len(&self) -> usize {
        self.total
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = if self.total == 1 { "key" } else { "keys" };
        write!(f, "{} {keys} skipped (", self.total)?;
        for (i, (reason, count)) in self.by_reason.iter().enumerate() {
            let separator = if i == 0 { "" } else { "; " };
            write!(f, "{separator}{count} × {reason}")?;
        }
        if self.other_reasons > 0 {
            write!(f, "; {} for other reasons", self.other_reasons)?;
        }
        let more = self.total.saturating_sub(self.examples.len());
        write!(f, "), e.g. {}", self.examples.join(", "))?;
        if more > 0 {
            write!(f, " and {more} more")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn all() -> AlgSet {
        AlgSet::of(&crate::settings::config::default_algorithms())
    }

    fn rsa_jwk(bits: usize) -> Value {
        let mut n = vec![0xC5u8; bits / 8];
        n[0] = 0xFF;
        json!({"kty": "RSA", "kid": "r", "n": URL_SAFE_NO_PAD.encode(&n), "e": "AQAB"})
    }

    fn set(keys: Vec<Value>) -> Result<(KeySet, Skipped), KeySetError> {
        KeySet::from_jwks(json!({ "keys": keys }).to_string().as_bytes(), all())
    }

    #[test]
    fn unusable_keys_are_skipped_with_a_reason() {
        let mut enc = rsa_jwk(2048);
        enc["use"] = json!("enc");
        let mut ops = rsa_jwk(2048);
        ops["key_ops"] = json!(["encrypt"]);
        let mut wrong_alg = rsa_jwk(2048);
        wrong_alg["alg"] = json!("ES256");
        let mut hs = rsa_jwk(2048);
        hs["alg"] = json!("HS256");
        let keys = vec![
            rsa_jwk(1024),
            enc,
            ops,
            wrong_alg,
            hs,
            json!({"kty": "oct", "k": "c2VjcmV0"}),
            json!({"kty": "EC", "crv": "P-521", "x": "AA", "y": "AA"}),
            json!({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"}),
            json!({"kty": "OKP", "crv": "X25519", "x": "AA"}),
            json!({"kty": "XYZ"}),
            json!("not an object"),
            rsa_jwk(2048),
        ];

        let (set, skipped) = set(keys).unwrap();
        assert_eq!(set.len(), 1);
        assert_eq!(skipped.len(), 11, "{skipped:#?}");
        assert!(skipped.to_string().starts_with("11 keys skipped (1 × "), "{skipped}");
        assert!(skipped.to_string().contains("under 2048"), "{skipped}");
    }

    #[test]
    fn thousands_of_junk_keys_make_one_short_line() {
        let junk: Vec<Value> = (0..10_000)
            .map(|i| json!({"kty": "RSA", "kid": format!("junk-{i}"), "n": "AQAB", "e": "AQAB"}))
            .chain((0..100).map(|i| json!({"kty": format!("X{i}"), "kid": "x".repeat(10_000)})))
            .chain([rsa_jwk(2048)])
            .collect();
        let (set, skipped) = set(junk).unwrap();
        assert_eq!((set.len(), skipped.len()), (1, 10_100));
        let line = skipped.to_string();
        assert!(line.len() < 2_000, "{} bytes: {line}", line.len());
        assert!(line.contains("10100 keys skipped") && line.contains("junk-0"), "{line}");
        assert!(line.contains("and 10097 more"), "{line}");
        let error = self::set(vec![json!({"kty": "XYZ"}); 5_000]).err().unwrap().to_string();
        assert!(error.len() < 2_000, "{error}");
    }

    #[test]
    fn a_set_without_usable_keys_is_an_error() {
        assert!(set(vec![rsa_jwk(1024)]).is_err());
        let off_curve = json!({"kty": "EC", "crv": "P-256",
            "x": URL_SAFE_NO_PAD.encode([1u8; 32]), "y": URL_SAFE_NO_PAD.encode([2u8; 32])});
        let error = set(vec![off_curve]).err().unwrap();
        assert!(matches!(&error, KeySetError::NoUsableKey(s) if s.len() == 1), "{error}");
        assert!(matches!(set(vec![]), Err(KeySetError::Empty)));
        assert!(matches!(KeySet::from_jwks(b"{\"keys\": 5}", all()), Err(KeySetError::NotJwks(_))));
        assert!(matches!(KeySet::from_jwks(b"<html>", all()), Err(KeySetError::NotJwks(_))));
    }

    #[test]
    fn selection_needs_a_fitting_unambiguous_key() {
        let mut sig = rsa_jwk(2048);
        sig["alg"] = json!("RS256");
        sig["use"] = json!("sig");
        sig["key_ops"] = json!(["verify"]);
        let (keys, _) = set(vec![
            sig,
            json!({"kty": "OKP", "crv": "Ed25519", "kid": "e",
                                            "x": URL_SAFE_NO_PAD.encode(Ed25519KeyPair::generate().unwrap().public_key())}),
        ])
        .unwrap();

        assert!(keys.find(Some("r"), Algorithm::RS256).is_some());
        assert!(keys.find(Some("r"), Algorithm::PS256).is_none(), "JWK alg pins RS256");
        assert!(keys.find(Some("r"), Algorithm::EdDSA).is_none());
        assert!(keys.find(Some("e"), Algorithm::EdDSA).is_some());
        assert!(keys.find(Some("x"), Algorithm::RS256).is_none());
        assert!(keys.find(None, Algorithm::RS256).is_some(), "one RS256 key: unambiguous");
        assert!(keys.find(None, Algorithm::ES256).is_none());
    }
}
