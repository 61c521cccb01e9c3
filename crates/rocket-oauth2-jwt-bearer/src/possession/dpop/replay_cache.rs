//! The in-process record of proofs already used (RFC 9449 §11.1), bounded
//! without ever letting a replay through, and shared fairly between the
//! keys (`jkt`) that prove possession.
//!
//! A proof is acceptable while its `iat` is inside the window, so each
//! entry is kept until its proof would be refused as stale anyway. Room is
//! made in two ways, both charged to one key:
//! - a key holding its quota (`replay_quota`) makes room by dropping its
//!   own oldest proof;
//! - a full cache drops the oldest proof of the key holding the most.
//!
//! A key whose proof was dropped gets a *watermark*, the dropped `iat`:
//! from then on a proof of that key issued at or before it that isn't in
//! the cache is refused, since it can't be told apart from one forgotten.
//! A replay always comes with its own key (the replay key hashes the
//! `jkt`), so a watermark never needs to reach other keys: a client that
//! dates its proofs into the future or floods the cache only shrinks its
//! own window. Should a key lose its last proof to a full cache (the cache
//! then holds `capacity` keys with one proof each), its watermark moves to
//! one shared by every key, the only case where one key's proofs affect
//! another's; it never opens the window either way.
//!
//! One mutex, held for a few map and tree operations: no I/O, no await.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;

/// What the cache says about a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Seen {
    /// Not seen before; now recorded.
    First,
    /// Seen before inside the window.
    Replayed,
    /// Issued before its key's watermark: the cache can't vouch for it.
    BeyondWatermark,
}

/// One proof, as replay detection knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProofId {
    /// The proof key's id: the first 64 bits of its thumbprint.
    pub key: u64,
    /// The replay key: 128 bits of a hash of the thumbprint and the `jti`.
    pub proof: u128,
    /// Its `iat`, in whole seconds.
    pub iat: i64,
}

/// What one key holds.
#[derive(Debug, Default)]
struct Share {
    /// Its live proofs, oldest first.
    proofs: BTreeSet<(i64, u128)>,
    /// The newest `iat` dropped from it before expiry.
    watermark: Option<i64>,
}

/// An entry of the expiry order: a proof, or (`None`) a key's watermark.
type Expiry = (i64, u64, Option<u128>);

#[derive(Default)]
struct Entries {
    /// Replay key → its key and `iat`.
    proofs: HashMap<u128, (u64, i64)>,
    /// Every proof and every watermark of an empty share, by `iat`.
    by_iat: BTreeSet<Expiry>,
    shares: HashMap<u64, Share>,
    /// (proofs held, key): the heaviest key is the last.
    by_load: BTreeSet<(usize, u64)>,
    /// The watermark of keys whose share a full cache emptied.
    shared_watermark: Option<i64>,
}

impl Entries {
    fn remove_proof(&mut self, proof: u128) -> Option<(u64, i64)> {
        let (key, iat) = self.proofs.remove(&proof)?;
        self.by_iat.remove(&(iat, key, Some(proof)));
        let share = self.shares.get_mut(&key)?;
        self.by_load.remove(&(share.proofs.len(), key));
        share.proofs.remove(&(iat, proof));
        if !share.proofs.is_empty() {
            self.by_load.insert((share.proofs.len(), key));
        }
        Some((key, iat))
    }

    /// Drops `key`'s oldest proof and raises its watermark to it. A share
    /// left empty is kept for its watermark until that expires, unless
    /// `hand_off` (a full cache): then the shared watermark takes it, so
    /// that empty shares can't pile up.
    fn drop_oldest_of(&mut self, key: u64, hand_off: bool) {
        let Some(&(iat, proof)) = self.shares.get(&key).and_then(|s| s.proofs.first()) else {
            return;
        };
        self.remove_proof(proof);
        let Some(share) = self.shares.get_mut(&key) else { return };
        let watermark = share.watermark.map_or(iat, |w| w.max(iat));
        share.watermark = Some(watermark);
        match (share.proofs.is_empty(), hand_off) {
            (false, _) => {}
            (true, false) => {
                self.by_iat.insert((watermark, key, None));
            }
            (true, true) => {
                self.shares.remove(&key);
                let shared = self.shared_watermark.map_or(watermark, |w| w.max(watermark));
                self.shared_watermark = Some(shared);
            }
        }
    }

    /// Drops what expired at `now` under `lifetime`.
    fn expire(&mut self, now: i64, lifetime: i64) {
        while let Some(&(iat, key, proof)) = self.by_iat.first() {
            if iat.saturating_add(lifetime) >= now {
                break;
            }
            self.by_iat.pop_first();
            // `None`: an empty share kept for its watermark, which has expired.
            if let Some(proof) = proof {
                self.remove_proof(proof);
            }
            // A share whose proofs have all expired has a watermark no newer
            // than them: it has expired too.
            if self.shares.get(&key).is_some_and(|share| share.proofs.is_empty()) {
                self.shares.remove(&key);
            }
        }
        if self.shared_watermark.is_some_and(|w| w.saturating_add(lifetime) < now) {
            self.shared_watermark = None;
        }
    }

    fn is_beyond_watermark(&self, id: &ProofId) -> bool {
        let own = self.shares.get(&id.key).and_then(|share| share.watermark);
        [own, self.shared_watermark].into_iter().flatten().any(|w| id.iat <= w)
    }
}

/// Proofs seen, by replay key, shared fairly between proof keys.
pub(crate) struct ReplayCache {
    entries: Mutex<Entries>,
    capacity: usize,
    /// The most proofs one key may hold.
    quota: usize,
    /// How long after its `iat` a proof is accepted, in whole seconds.
    lifetime: i64,
}

impl ReplayCache {
    /// A cache of at most `capacity` proofs, at most `quota` of them from
    /// one key, each kept `lifetime` seconds after its `iat`.
    pub(crate) fn new(capacity: usize, quota: usize, lifetime: i64) -> Self {
        let capacity = capacity.max(1);
        ReplayCache {
            entries: Mutex::new(Entries::default()),
            capacity,
            quota: quota.clamp(1, capacity),
            lifetime,
        }
    }

    /// Checks the proof `id` at `now`, recording it if new.
    pub(crate) fn check(&self, id: ProofId, now: i64) -> Seen {
        // A panic elsewhere while holding the lock leaves the entries
        // consistent enough: at worst a proof is refused as beyond the
        // watermark, never accepted twice.
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        entries.expire(now, self.lifetime);
        if entries.proofs.contains_key(&id.proof) {
            return Seen::Replayed;
        }
        if entries.is_beyond_watermark(&id) {
            return Seen::BeyondWatermark;
        }
        let held = entries.shares.get(&id.key).map_or(0, |share| share.proofs.len());
        if held >= self.quota {
            entries.drop_oldest_of(id.key, false);
        }
        while entries.proofs.len() >= self.capacity {
            let Some(&(_, heaviest)) = entries.by_load.last() else { break };
            entries.drop_oldest_of(heaviest, true);
        }
        if entries.is_beyond_watermark(&id) {
            // What was just dropped was no older than this proof.
            return Seen::BeyondWatermark;
        }
        let entries = &mut *entries;
        let share = entries.shares.entry(id.key).or_default();
        entries.by_load.remove(&(share.proofs.len(), id.key));
        share.proofs.insert((id.iat, id.proof));
        entries.by_load.insert((share.proofs.len(), id.key));
        entries.proofs.insert(id.proof, (id.key, id.iat));
        entries.by_iat.insert((id.iat, id.key, Some(id.proof)));
        Seen::First
    }

    /// Forgets the proof `id` (recorded, then not accepted after all), and
    /// everything it held: a refused proof takes no room.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn forget(&self, id: ProofId) {
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if entries.remove_proof(id.proof).is_none() {
            return;
        }
        let entries = &mut *entries;
        if let Some(share) = entries.shares.get(&id.key).filter(|share| share.proofs.is_empty()) {
            match share.watermark {
                // Kept for its watermark until that expires.
                Some(watermark) => {
                    entries.by_iat.insert((watermark, id.key, None));
                }
                None => {
                    entries.shares.remove(&id.key);
                }
            }
        }
    }

    /// Proofs held now.
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |entries| entries.proofs.len())
    }

    /// Everything the cache holds now (proofs, shares, expiry entries):
    /// what its memory grows with.
    #[cfg(test)]
    fn footprint(&self) -> usize {
        let entries = self.entries.lock().unwrap();
        entries.proofs.len() + entries.by_iat.len() + entries.shares.len() + entries.by_load.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(key: u64, n: u128, iat: i64) -> ProofId {
        ProofId { key, proof: (u128::from(key) << 64) | n, iat }
    }

    #[test]
    fn a_proof_is_accepted_once_inside_its_lifetime() {
        let cache = ReplayCache::new(10, 10, 300);
        assert_eq!(cache.check(proof(1, 1, 1000), 1000), Seen::First);
        assert_eq!(cache.check(proof(1, 1, 1000), 1200), Seen::Replayed);
        assert_eq!(cache.check(proof(1, 1, 1000), 1300), Seen::Replayed);
        // Past its lifetime the entry goes; the proof is stale by then.
        assert_eq!(cache.check(proof(1, 2, 1301), 1301), Seen::First);
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_forgotten_proof_can_be_recorded_again_and_takes_no_room() {
        let cache = ReplayCache::new(10, 10, 300);
        assert_eq!(cache.check(proof(1, 1, 1000), 1000), Seen::First);
        cache.forget(proof(1, 1, 1000));
        assert_eq!(cache.footprint(), 0);
        assert_eq!(cache.check(proof(1, 1, 1000), 1001), Seen::First);
        assert_eq!(cache.check(proof(1, 1, 1000), 1002), Seen::Replayed);
        // Refused proofs, forgotten one by one, leave nothing behind.
        for n in 2..10_000 {
            assert_eq!(cache.check(proof(2, n, 1000), 1003), Seen::First);
            cache.forget(proof(2, n, 1000));
        }
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.footprint(), 4, "one proof: its entry, expiry, share and load");
    }

    #[test]
    fn a_key_over_its_quota_drops_its_own_oldest_and_raises_only_its_own_watermark() {
        let cache = ReplayCache::new(100, 2, 300);
        assert_eq!(cache.check(proof(1, 1, 100), 100), Seen::First);
        assert_eq!(cache.check(proof(1, 2, 101), 101), Seen::First);
        assert_eq!(cache.check(proof(1, 3, 102), 102), Seen::First);
        assert_eq!(cache.len(), 3 - 1);
        // Key 1's dropped proof is refused all the same, as is any older one of it.
        assert_eq!(cache.check(proof(1, 1, 100), 103), Seen::BeyondWatermark);
        assert_eq!(cache.check(proof(1, 9, 99), 103), Seen::BeyondWatermark);
        assert_eq!(cache.check(proof(1, 2, 101), 103), Seen::Replayed);
        // Another key's proofs of the same age are untouched.
        assert_eq!(cache.check(proof(2, 1, 99), 103), Seen::First);
        assert_eq!(cache.check(proof(2, 2, 100), 103), Seen::First);
    }

    #[test]
    fn proofs_dated_into_the_future_by_one_key_never_raise_the_bar_for_another() {
        // The attack: one key fills the cache with proofs dated at the edge
        // of the leeway, so that a global watermark would rise past every
        // honest proof's `iat`.
        let (capacity, quota) = (1000, 100);
        let cache = ReplayCache::new(capacity, quota, 330);
        let now = 10_000;
        for n in 0..(capacity as u128 * 3) {
            let _ = cache.check(proof(666, n, now + 29), now);
        }
        for honest in 1..=50u64 {
            assert_eq!(cache.check(proof(honest, 1, now), now), Seen::First, "key {honest}");
        }
        // The flooder pays: its own proofs dated now are under its watermark.
        assert_eq!(cache.check(proof(666, 1_000_000, now), now), Seen::BeyondWatermark);
        assert!(cache.len() <= capacity);
    }

    #[test]
    fn a_full_cache_takes_room_from_the_heaviest_key() {
        let cache = ReplayCache::new(4, 4, 300);
        for n in 0..3 {
            assert_eq!(cache.check(proof(1, n, 100 + n as i64), 100), Seen::First);
        }
        assert_eq!(cache.check(proof(2, 0, 50), 100), Seen::First);
        // Full: key 1 holds the most, so its oldest goes, not key 2's older one.
        assert_eq!(cache.check(proof(3, 0, 100), 100), Seen::First);
        assert_eq!(cache.check(proof(2, 0, 50), 101), Seen::Replayed);
        assert_eq!(cache.check(proof(1, 0, 100), 101), Seen::BeyondWatermark);
        assert_eq!(cache.check(proof(2, 1, 51), 101), Seen::First, "key 2 has no watermark");
    }

    #[test]
    fn a_key_emptied_by_a_full_cache_hands_its_watermark_to_every_key() {
        let cache = ReplayCache::new(2, 2, 300);
        assert_eq!(cache.check(proof(1, 0, 100), 100), Seen::First);
        assert_eq!(cache.check(proof(2, 0, 101), 100), Seen::First);
        assert_eq!(cache.check(proof(3, 0, 102), 100), Seen::First);
        // One of keys 1 and 2 lost its only proof: its replay is still refused.
        let dropped = [proof(1, 0, 100), proof(2, 0, 101)]
            .into_iter()
            .filter(|id| cache.check(*id, 100) != Seen::Replayed)
            .collect::<Vec<_>>();
        assert_eq!(dropped.len(), 1);
        assert_eq!(cache.check(dropped[0], 100), Seen::BeyondWatermark);
    }

    #[test]
    fn a_flood_of_one_second_never_lets_a_replay_through() {
        let cache = ReplayCache::new(100, 30, 300);
        for n in 0..=255u128 {
            assert_ne!(cache.check(proof(n as u64 % 7, n, 500), 500), Seen::Replayed);
        }
        for n in 0..=255u128 {
            let seen = cache.check(proof(n as u64 % 7, n, 500), 500);
            assert_ne!(seen, Seen::First, "replay of {n}");
        }
    }

    #[test]
    fn expired_proofs_and_watermarks_leave_nothing_behind() {
        let cache = ReplayCache::new(100, 2, 300);
        for n in 0..50 {
            let _ = cache.check(proof(n % 5, n as u128, 1000), 1000);
        }
        cache.forget(proof(0, 45, 1000));
        assert_eq!(cache.check(proof(9, 0, 2000), 2000), Seen::First);
        assert_eq!(cache.len(), 1);
        assert_eq!(cache.footprint(), 4);
    }
}
