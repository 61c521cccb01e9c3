//! The verified-token cache: a token seen and fully verified before is
//! answered from memory instead of re-checking its signature.
//!
//! An entry never outlives what the verifier would accept:
//! - it carries the token's deadline (`exp` plus the clock tolerance) and is
//!   dropped at the first lookup past it;
//! - it carries the fingerprint of the key that verified it, and is dropped
//!   at the first lookup after that key left the key set;
//! - only fully valid tokens are inserted, and the cache belongs to one
//!   verifier, whose settings don't change while it lives; an entry keeps
//!   the key store of the issuer that verified it, so with several issuers
//!   a key leaving one issuer's set invalidates exactly that issuer's tokens.
//!
//! Route-level checks (scopes) are not cached: guards run them on every
//! request against the cached claims.
//!
//! The cache is bounded twice: by entries (`token_cache_capacity`) and by
//! bytes (`token_cache_max_bytes`). Tokens can be up to `max_token_size`
//! long, so a count alone lets an attacker holding many large valid tokens
//! (or an issuer minting them) grow memory by tens of kilobytes per entry.
//! Each entry weighs what it holds (the token text, the payload and the
//! parsed claims) but never less than `max_bytes / capacity`, so the total
//! weight stays under `max_bytes` and the count under `capacity`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

use crate::keys::jwk::Fingerprint;
use crate::keys::jwks::KeyStore;
use crate::verification::claims::Claims;

#[derive(Debug)]
struct Entry {
    claims: Arc<Claims>,
    valid_until: f64,
    key: Fingerprint,
    /// The store of the issuer whose key verified it.
    store: Arc<KeyStore>,
    /// What the entry holds, in bytes, as weighed at insertion.
    bytes: u64,
}

/// What an entry costs beyond its strings: the entry, its `Arc`s, the
/// boxed key and the cache's slot for them.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Entry>() + std::mem::size_of::<Claims>() + 96;

/// Weighs entries by their bytes, with a floor that makes the weight
/// budget bound the count too.
#[derive(Debug, Clone)]
struct ByBytes {
    floor: u64,
}

impl Weighter<Box<str>, Arc<Entry>> for ByBytes {
    fn weight(&self, _: &Box<str>, entry: &Arc<Entry>) -> u64 {
        entry.bytes.max(self.floor)
    }
}

/// A bounded, concurrent map from exact token text to verified claims.
#[derive(Debug)]
pub struct TokenCache {
    entries: Option<Cache<Box<str>, Arc<Entry>, ByBytes>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens holding at most `max_bytes`;
    /// either 0 disables it.
    pub(crate) fn new(capacity: usize, max_bytes: u64) -> Self {
        let entries = (capacity > 0 && max_bytes > 0).then(|| {
            let floor = (max_bytes / capacity as u64).max(1);
            Cache::with_weighter(capacity, max_bytes, ByBytes { floor })
        });
        TokenCache { entries, hits: AtomicU64::new(0), misses: AtomicU64::new(0) }
    }

    /// The claims of `token` if it was verified before and is still valid
    /// at `now` with a key that is still in its issuer's key set.
    pub(crate) fn get(&self, token: &str, now: f64) -> Option<Arc<Claims>> {
        let entries = self.entries.as_ref()?;
        let found = entries.get(token);
        match found {
            Some(entry) if now < entry.valid_until && entry.store.has_fingerprint(&entry.key) => {
                self.hits.fetch_add(1, Ordering::Relaxed);
                return Some(entry.claims.clone());
            }
            Some(_) => {
                entries.remove(token);
            }
            None => {}
        }

        self.misses.fetch_add(1, Ordering::Relaxed);
        None
    }

    /// Remembers a fully verified token until `valid_until` (seconds since
    /// the epoch), for as long as the key `key` stays in `store`.
    pub(crate) fn insert(
        &self,
        token: &str,
        claims: Arc<Claims>,
        valid_until: f64,
        key: Fingerprint,
        store: Arc<KeyStore>,
    ) {
        if let Some(entries) = &self.entries {
            let bytes = (token.len() + claims.heap_size() + ENTRY_OVERHEAD) as u64;
            let entry = Entry { claims, valid_until, key, store, bytes };
            entries.insert(token.into(), Arc::new(entry));
        }
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes the cached entries hold, as weighed (see the module docs).
    #[cfg(test)]
    fn weight(&self) -> u64 {
        self.entries.as_ref().map_or(0, |entries| entries.weight())
    }

    /// Whether the cache is on (`token_cache_capacity` and
    /// `token_cache_max_bytes` both above 0).
    pub(crate) fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Lookups answered from the cache, and lookups that weren't.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verification::claims::{ClaimRules, ScopeClaims};

    fn claims(filler: usize) -> Arc<Claims> {
        let rules = ClaimRules {
            issuer: "https://issuer/",
            audiences: &["api".to_owned()],
            clock_tolerance: 0.0,
            now: 0.0,
            max_token_age: None,
            strict: false,
            scope_claims: ScopeClaims::default(),
        };
        let payload = format!(
            r#"{{"iss":"https://issuer/","aud":"api","exp":1e10,"x":"{}"}}"#,
            "a".repeat(filler)
        );
        Arc::new(rules.check(payload).unwrap())
    }

    fn fill(cache: &TokenCache, count: usize, token_size: usize) {
        let claims = claims(token_size * 3 / 4);
        let store = Arc::new(KeyStore::fixed(crate::keys::jwks::KeySet::new(vec![])));
        for i in 0..count {
            let token = format!("{i:08}{}", "t".repeat(token_size - 8));
            cache.insert(&token, claims.clone(), 1e10, [0; 16], store.clone());
        }
    }

    #[test]
    fn large_tokens_are_bounded_by_bytes() {
        let max_bytes = 4 * 1024 * 1024;
        let cache = TokenCache::new(10_000, max_bytes);
        fill(&cache, 11_000, 16 * 1024);
        assert!(cache.weight() <= max_bytes, "{} > {max_bytes}", cache.weight());
        // 16 KiB tokens with 12 KiB payloads: about 28 KiB an entry.
        assert!(cache.len() <= 150, "{}", cache.len());
        assert!(cache.len() >= 50, "{}", cache.len());
    }

    #[test]
    fn small_tokens_are_bounded_by_count() {
        let cache = TokenCache::new(1_000, 64 * 1024 * 1024);
        fill(&cache, 5_000, 300);
        assert!(cache.len() <= 1_000, "{}", cache.len());
        assert!(cache.len() >= 500, "{}", cache.len());
    }

    #[test]
    fn either_bound_at_zero_disables_the_cache() {
        for cache in [TokenCache::new(0, 1 << 20), TokenCache::new(100, 0)] {
            assert!(!cache.is_enabled());
            fill(&cache, 10, 100);
            assert!(cache.is_empty());
        }
    }
}
