//! The verified-token cache: a token seen and fully verified before is
//! answered from memory instead of re-checking its signature.
//!
//! An entry never outlives what the verifier would accept:
//! - it carries the token's deadline (`exp` plus the clock tolerance) and is
//!   dropped at the first lookup past it;
//! - it carries the fingerprint of the key that verified it, and is dropped
//!   at the first lookup after that key left the key set;
//! - only fully valid tokens are inserted, and the cache belongs to one
//!   verifier, whose settings don't change while it lives.
//!
//! Route-level checks (scopes) are not cached: guards run them on every
//! request against the cached claims.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use quick_cache::sync::Cache;

use super::claims::Claims;
use super::jwk::Fingerprint;
use super::jwks::KeySet;

#[derive(Debug)]
struct Entry {
    claims: Arc<Claims>,
    valid_until: f64,
    key: Fingerprint,
}

/// A bounded, concurrent map from exact token text to verified claims.
#[derive(Debug)]
pub struct TokenCache {
    entries: Option<Cache<Box<str>, Arc<Entry>>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl TokenCache {
    /// A cache of at most `capacity` tokens; 0 disables it.
    pub fn new(capacity: usize) -> Self {
        TokenCache {
            entries: (capacity > 0).then(|| Cache::new(capacity)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// The claims of `token` if it was verified before and is still valid
    /// at `now` with a key that is still in `keys`.
    pub fn get(&self, token: &str, now: f64, keys: &KeySet) -> Option<Arc<Claims>> {
        let entries = self.entries.as_ref()?;
        let found = entries.get(token);
        match found {
            Some(entry) if now < entry.valid_until && keys.has_fingerprint(&entry.key) => {
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
    /// the epoch), for as long as the key `key` stays in the key set.
    pub fn insert(&self, token: &str, claims: Arc<Claims>, valid_until: f64, key: Fingerprint) {
        if let Some(entries) = &self.entries {
            entries.insert(token.into(), Arc::new(Entry { claims, valid_until, key }));
        }
    }

    /// How many tokens are cached.
    pub fn len(&self) -> usize {
        self.entries.as_ref().map_or(0, |entries| entries.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether the cache is on (`token_cache_capacity > 0`).
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Lookups answered from the cache, and lookups that weren't.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (self.hits.load(Ordering::Relaxed), self.misses.load(Ordering::Relaxed))
    }
}
