//! The in-process record of proofs already used (RFC 9449 §11.1), bounded
//! without ever letting a replay through.
//!
//! A proof is acceptable while its `iat` is inside the window, so each
//! entry is kept until its proof would be refused as stale anyway. When
//! the cache is full, the entry with the oldest `iat` is dropped and the
//! cache's *watermark* rises to that `iat`: from then on a proof issued at
//! or before the watermark that isn't in the cache is refused, since it
//! can't be told apart from one forgotten. Under a flood the effective
//! window shrinks (fresh proofs, signed for each request as RFC 9449
//! intends, are unaffected); it never opens.
//!
//! One mutex, held for a hash-set probe and a heap push: no I/O, no await.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::Mutex;

/// What the cache says about a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Not seen before; now recorded.
    First,
    /// Seen before inside the window.
    Replayed,
    /// Issued before the watermark: the cache can't vouch for it.
    BeyondWatermark,
}

struct Entries {
    keys: HashSet<u128>,
    by_iat: BinaryHeap<Reverse<(i64, u128)>>,
    watermark: i64,
}

/// Proofs seen, by replay key.
pub(crate) struct ReplayCache {
    entries: Mutex<Entries>,
    capacity: usize,
    /// How long after its `iat` a proof is accepted, in whole seconds.
    lifetime: i64,
}

impl ReplayCache {
    /// A cache of at most `capacity` proofs, each kept `lifetime` seconds
    /// after its `iat`.
    pub(crate) fn new(capacity: usize, lifetime: i64) -> Self {
        let entries =
            Entries { keys: HashSet::new(), by_iat: BinaryHeap::new(), watermark: i64::MIN };
        ReplayCache { entries: Mutex::new(entries), capacity: capacity.max(1), lifetime }
    }

    /// Checks the proof `key` issued at `iat`, recording it if new.
    pub(crate) fn check(&self, key: [u8; 16], iat: i64, now: i64) -> Seen {
        let key = u128::from_be_bytes(key);
        // A panic elsewhere while holding the lock leaves the entries
        // consistent (each step below is one collection operation).
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let Entries { keys, by_iat, watermark } = &mut *entries;

        while let Some(Reverse((oldest, old_key))) = by_iat.peek().copied() {
            if oldest + self.lifetime >= now {
                break;
            }
            by_iat.pop();
            keys.remove(&old_key);
        }
        if keys.contains(&key) {
            return Seen::Replayed;
        }
        if iat <= *watermark {
            return Seen::BeyondWatermark;
        }
        while keys.len() >= self.capacity {
            let Some(Reverse((oldest, old_key))) = by_iat.pop() else { break };
            keys.remove(&old_key);
            *watermark = (*watermark).max(oldest);
        }
        if iat <= *watermark {
            // The entry just dropped was no older than this proof.
            return Seen::BeyondWatermark;
        }
        keys.insert(key);
        by_iat.push(Reverse((iat, key)));
        Seen::First
    }

    /// Forgets the proof `key` (recorded, then not accepted after all).
    /// Its heap entry stays until it expires; dropping it then is harmless.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn forget(&self, key: [u8; 16]) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.keys.remove(&u128::from_be_bytes(key));
    }

    /// Proofs held now.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.keys.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: u8) -> [u8; 16] {
        [n; 16]
    }

    #[test]
    fn a_proof_is_accepted_once_inside_its_lifetime() {
        let cache = ReplayCache::new(10, 300);
        assert_eq!(cache.check(key(1), 1000, 1000), Seen::First);
        assert_eq!(cache.check(key(1), 1000, 1200), Seen::Replayed);
        assert_eq!(cache.check(key(1), 1000, 1300), Seen::Replayed);
        // Past its lifetime the entry goes; the proof is stale by then.
        assert_eq!(cache.check(key(2), 1301, 1301), Seen::First);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_forgotten_proof_can_be_recorded_again() {
        let cache = ReplayCache::new(10, 300);
        assert_eq!(cache.check(key(1), 1000, 1000), Seen::First);
        cache.forget(key(1));
        assert_eq!(cache.check(key(1), 1000, 1001), Seen::First);
        assert_eq!(cache.check(key(1), 1000, 1002), Seen::Replayed);
    }

    #[test]
    fn a_full_cache_raises_its_watermark_instead_of_forgetting() {
        let cache = ReplayCache::new(2, 300);
        assert_eq!(cache.check(key(1), 100, 100), Seen::First);
        assert_eq!(cache.check(key(2), 101, 101), Seen::First);
        assert_eq!(cache.check(key(3), 102, 102), Seen::First);
        assert_eq!(cache.len(), 2);
        // Key 1 was dropped: replaying it is refused all the same.
        assert_eq!(cache.check(key(1), 100, 103), Seen::BeyondWatermark);
        // As is any other proof no newer than what was dropped.
        assert_eq!(cache.check(key(9), 99, 103), Seen::BeyondWatermark);
        assert_eq!(cache.check(key(2), 101, 103), Seen::Replayed);
        // Fresh proofs keep coming in.
        assert_eq!(cache.check(key(4), 103, 103), Seen::First);
        assert_eq!(cache.check(key(4), 103, 103), Seen::Replayed);
        assert_eq!(cache.check(key(2), 101, 103), Seen::BeyondWatermark);
    }

    #[test]
    fn a_flood_of_one_second_never_lets_a_replay_through() {
        let cache = ReplayCache::new(100, 300);
        for n in 0..=255u8 {
            assert_ne!(cache.check(key(n), 500, 500), Seen::Replayed);
        }
        for n in 0..=255u8 {
            assert_ne!(cache.check(key(n), 500, 500), Seen::First, "replay of {n}");
        }
    }
}
