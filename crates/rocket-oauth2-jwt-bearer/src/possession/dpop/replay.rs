//! Replay detection for DPoP proofs: this process's [`ReplayCache`] always,
//! and the shared store (`replay_store`) when one is configured, so that a
//! proof used at one replica is refused at every other.
//!
//! The local cache is asked first: a replay to the same process is refused
//! without a round trip, and when the store fails the local record is
//! already there to fall back on. While the store is unreachable,
//! `replay_store_failure` decides: `local` keeps serving on the local
//! cache (one warning per failure streak, counted for metrics and
//! readiness), `reject` answers 503 until the store is back.
//!
//! Both are fair, by the same rule: one proof key (`jkt`) holds at most
//! `replay_quota` proofs in each, and makes room by dropping its own
//! oldest, so one token holder can't push out other clients' records or
//! fill the store's memory.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use super::proof::Proof;
use super::replay_cache::{ReplayCache, Seen};
use crate::settings::config::ReplayStoreFailure as StoreFailure;
use crate::settings::dpop::DpopSettings;

#[cfg(feature = "redis")]
use super::redis_store::Eviction;
#[cfg(feature = "redis")]
use super::redis_store::{Recorded, RedisStore};

/// Why a proof is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Used before inside the window.
    Replayed,
    /// Older than what a full replay cache can vouch for.
    BeyondWatermark,
    /// The shared store is unreachable and `replay_store_failure = "reject"`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    StoreUnavailable,
}

/// `dpop.replay_store` names no Redis server this crate can connect to.
#[derive(Debug)]
pub(crate) struct StoreUrlError(#[cfg(feature = "redis")] pub(crate) redis::RedisError);

impl std::fmt::Display for StoreUrlError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        #[cfg(feature = "redis")]
        return self.0.fmt(f);
        #[cfg(not(feature = "redis"))]
        f.write_str("no Redis support in this build")
    }
}

/// Counters, for metrics and readiness.
#[derive(Debug, Default)]
struct Counters {
    replays: AtomicU64,
    store_errors: AtomicU64,
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    store_failing: AtomicBool,
}

/// The replay check of every DPoP request.
pub(crate) struct ReplayGuard {
    local: ReplayCache,
    #[cfg(feature = "redis")]
    shared: Option<RedisStore>,
    failure: StoreFailure,
    /// Seconds after its `iat` a proof stays acceptable.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    lifetime: i64,
    /// Seconds from the latest `iat` accepted to the expiry of the
    /// earliest: how long the store keeps a key's records after a write.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    window: i64,
    counters: Counters,
}

impl std::fmt::Debug for ReplayGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayGuard")
            .field("cached", &self.cached())
            .field("replays", &self.replays())
            .field("store_failing", &self.store_failing())
            .finish_non_exhaustive()
    }
}

impl ReplayGuard {
    /// The guard `settings` describe; the error says what is wrong with
    /// the store's URL.
    pub(crate) fn new(settings: &DpopSettings) -> Result<Self, StoreUrlError> {
        let lifetime = settings.iat_offset.as_secs_f64().ceil() as i64;
        let window = lifetime + settings.iat_leeway.as_secs_f64().ceil() as i64;
        let quota = settings.replay_quota;
        #[cfg(feature = "redis")]
        let shared = settings.replay_store.as_ref().map(|url| RedisStore::new(url.as_str(), quota));
        Ok(ReplayGuard {
            local: ReplayCache::new(settings.replay_cache_capacity, quota, lifetime),
            #[cfg(feature = "redis")]
            shared: shared.transpose().map_err(StoreUrlError)?,
            failure: settings.replay_store_failure,
            lifetime,
            window,
            counters: Counters::default(),
        })
    }

    /// Records `proof`, or says why it must be refused.
    pub(crate) async fn check(&self, proof: &Proof, now: i64) -> Result<(), Refusal> {
        match self.local.check(proof.id, now) {
            Seen::First => {}
            Seen::Replayed => return Err(self.replayed()),
            Seen::BeyondWatermark => return Err(Refusal::BeyondWatermark),
        }
        self.check_shared(proof, now).await
    }

    fn replayed(&self) -> Refusal {
        self.counters.replays.fetch_add(1, Ordering::Relaxed);
        Refusal::Replayed
    }

    #[cfg(not(feature = "redis"))]
    async fn check_shared(&self, _: &Proof, _: i64) -> Result<(), Refusal> {
        let _ = self.failure;
        Ok(())
    }

    #[cfg(feature = "redis")]
    async fn check_shared(&self, proof: &Proof, now: i64) -> Result<(), Refusal> {
        use super::redis_store::StoreError;
        use std::time::Duration;

        let Some(store) = &self.shared else { return Ok(()) };
        // Plus a second for rounding.
        let window = Duration::from_secs(self.window as u64 + 1);
        match store.record(&proof.id, now, self.lifetime, window).await {
            Ok(recorded) => {
                if self.counters.store_failing.swap(false, Ordering::Relaxed) {
                    log::warn!("DPoP replay store answering again: sharing replay detection");
                }
                match recorded {
                    Recorded::First => Ok(()),
                    Recorded::Replayed => Err(self.replayed()),
                    Recorded::BeyondWatermark => Err(Refusal::BeyondWatermark),
                }
            }
            Err(error) => {
                self.counters.store_errors.fetch_add(1, Ordering::Relaxed);
                let first_failure = !self.counters.store_failing.swap(true, Ordering::Relaxed);
                if let (true, StoreError::Failed(reason)) = (first_failure, &error) {
                    let fallback = match self.failure {
                        StoreFailure::Local => "falling back to this process's replay cache",
                        StoreFailure::Reject => "refusing DPoP requests with 503",
                    };
                    log::warn!("DPoP replay store failing ({reason}): {fallback}");
                }
                match self.failure {
                    StoreFailure::Local => Ok(()),
                    // Not accepted, so not used: the client may retry it.
                    StoreFailure::Reject => {
                        self.local.forget(proof.id);
                        Err(Refusal::StoreUnavailable)
                    }
                }
            }
        }
    }

    /// Replays refused so far (local and shared).
    pub(crate) fn replays(&self) -> u64 {
        self.counters.replays.load(Ordering::Relaxed)
    }

    /// Whether the shared store may drop records before they expire;
    /// `None` without a store, or while not known.
    pub(crate) fn store_may_evict(&self) -> Option<bool> {
        #[cfg(feature = "redis")]
        if let Some(store) = &self.shared {
            return match store.health().eviction() {
                Eviction::Unknown => None,
                Eviction::Refuses => Some(false),
                Eviction::Evicts => Some(true),
            };
        }
        None
    }

    /// The shared store's own count of evicted keys, as last read.
    pub(crate) fn store_evicted_keys(&self) -> u64 {
        #[cfg(feature = "redis")]
        if let Some(store) = &self.shared {
            return store.health().evicted_keys();
        }
        0
    }

    /// Failed store commands so far.
    pub(crate) fn store_errors(&self) -> u64 {
        self.counters.store_errors.load(Ordering::Relaxed)
    }

    /// Whether DPoP requests are served from the local cache (else
    /// refused) while the store is unreachable.
    pub(crate) fn falls_back(&self) -> bool {
        self.failure == StoreFailure::Local
    }

    /// `None` without a shared store; else whether its last command failed.
    pub(crate) fn store_failing(&self) -> Option<bool> {
        #[cfg(feature = "redis")]
        if self.shared.is_some() {
            return Some(self.counters.store_failing.load(Ordering::Relaxed));
        }
        None
    }

    /// Proofs held by the local cache.
    pub(crate) fn cached(&self) -> usize {
        self.local.len()
    }
}
