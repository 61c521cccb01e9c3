//! The shared replay store on Redis, with the rules of this process's own
//! cache ([`ReplayCache`](super::replay_cache)) kept per proof key
//! (`jkt`): each key's proofs are a sorted set (replay key → `iat`), kept
//! until they would be stale anyway, so whichever replica sees a proof
//! first records it and every other replica sees it as used. A key holds
//! at most `replay_quota` proofs: past it, its oldest is dropped and the
//! key's *watermark* (a second Redis key) rises to that `iat`, so that an
//! unseen proof of that key no newer than it is refused — never accepted
//! twice. One token holder can't fill the store's memory for the others,
//! and shrinks only its own window; an honest client, however busy, keeps
//! working as long as its proofs are fresher than its oldest kept one.
//! Expiry, check, drop and write are one Lua script, atomic on the
//! server; both keys carry the proof key's hash tag, so they live on one
//! Redis Cluster slot.
//!
//! A store that *loses* records is as bad as one that lets replays
//! through: every minute the store is asked for its `maxmemory-policy`
//! and its `evicted_keys`, and an evicting policy under a memory limit, or
//! evictions, are reported (a warning when it starts, [`Health`] for
//! readiness and metrics). A store that *refuses* writes (out of memory
//! under `noeviction`) fails the command, which the caller counts and
//! answers by `replay_store_failure`. Under `noeviction` the store holds
//! at most `replay_quota` proofs (about 100 bytes each) per active key.
//!
//! The connection is a `redis` `ConnectionManager`, created lazily (launch
//! doesn't wait for Redis) and reconnecting by itself. A failed command
//! opens a short circuit: for [`PAUSE`] the store isn't asked at all, so a
//! dead store costs requests nothing but the fallback, and then the next
//! request probes it again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::replay_cache::ProofId;

/// How long the store isn't asked after a failure.
const PAUSE: Duration = Duration::from_secs(1);

/// How long one command or connection attempt may take.
const TIMEOUT: Duration = Duration::from_millis(500);

/// How often the store's eviction policy and evictions are looked at.
const HEALTH_EVERY: Duration = Duration::from_secs(60);

/// Records one proof of one key. `KEYS[1]`: the key's proofs (a sorted
/// set, replay key → `iat`); `KEYS[2]`: the key's watermark. `ARGV`: the
/// replay key, its `iat`, the oldest `iat` still live, the quota, and how
/// long (ms) both keys are kept after a write. Returns 1 when recorded, 0
/// for a replay, -1 when the proof is no newer than the key's watermark.
const RECORD: &str = r"
local iat = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
local watermark = tonumber(redis.call('GET', KEYS[2]))
if watermark and iat <= watermark then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then
  local oldest = tonumber(redis.call('ZPOPMIN', KEYS[1])[2])
  if not watermark or oldest > watermark then watermark = oldest end
  redis.call('SET', KEYS[2], watermark, 'PX', ARGV[5])
  if iat <= watermark then return -1 end
end
redis.call('ZADD', KEYS[1], iat, ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
";

/// What the store said about a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Recorded {
    /// Recorded now: no replica saw it before.
    First,
    /// Some replica recorded it first.
    Replayed,
    /// No newer than its key's watermark: the store can't vouch for it.
    BeyondWatermark,
}

/// Why the store gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// It failed a moment ago; not asked again yet.
    Paused,
    /// The command failed now (the reason, for the log).
    Failed(String),
}

/// Whether the store may drop records before they expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Eviction {
    /// Not known (not asked yet, or `CONFIG` is disabled, as on some
    /// managed services).
    Unknown,
    /// No memory limit, or `noeviction`: a full store refuses writes.
    Refuses,
    /// A memory limit with a policy that evicts keys.
    Evicts,
}

/// What is known of the store's memory behaviour, for readiness and
/// metrics.
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// 0: unknown; 1: refuses; 2: evicts.
    eviction: AtomicU8,
    /// `evicted_keys` from the store's `INFO stats` when last read.
    evicted_keys: AtomicU64,
    warned: AtomicBool,
}

impl Health {
    /// Whether, and how, the store may drop records.
    pub(crate) fn eviction(&self) -> Eviction {
        match self.eviction.load(Ordering::Relaxed) {
            1 => Eviction::Refuses,
            2 => Eviction::Evicts,
            _ => Eviction::Unknown,
        }
    }

    /// The store's own count of evicted keys (all keys, not only ours).
    pub(crate) fn evicted_keys(&self) -> u64 {
        self.evicted_keys.load(Ordering::Relaxed)
    }

    fn update(&self, policy: Option<&str>, max_memory: Option<u64>, evicted: Option<u64>) {
        // Every policy but `noeviction` (`volatile-*`, `allkeys-*`) evicts
        // under a memory limit.
        let code = match (policy, max_memory) {
            (Some(_), Some(0)) | (Some("noeviction"), _) => 1,
            (Some(_), _) => 2,
            (None, _) => 0,
        };
        self.eviction.store(code, Ordering::Relaxed);
        let before = evicted.map(|now| self.evicted_keys.swap(now, Ordering::Relaxed));
        let evicting = self.eviction() == Eviction::Evicts;
        // Any eviction counts, the first reading's too: the store is one
        // that evicts, whatever it evicted.
        let evicted_more = matches!((before, evicted), (Some(b), Some(n)) if n > b);
        if (evicting || evicted_more) && !self.warned.swap(true, Ordering::Relaxed) {
            log::warn!(
                "DPoP replay store may lose records before they expire (maxmemory-policy {}, \
                 {} keys evicted so far): a replayed proof could then be accepted by another \
                 replica; give it `maxmemory-policy noeviction` (see the README, \"DPoP\")",
                policy.unwrap_or("unknown"),
                evicted.unwrap_or(0)
            );
        } else if !evicting && !evicted_more {
            self.warned.store(false, Ordering::Relaxed);
        }
    }
}

/// A Redis server shared by the replicas.
pub(crate) struct RedisStore {
    connection: ConnectionManager,
    record: Script,
    quota: usize,
    started: Instant,
    /// Milliseconds since `started` before which the store isn't asked.
    paused_until: AtomicU64,
    /// Milliseconds since `started` when [`Health`] is next looked at.
    health_due: AtomicU64,
    health: Arc<Health>,
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`) keeping at most `quota`
    /// proofs per proof key; no connection is made yet.
    pub(crate) fn new(url: &str, quota: usize) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let connection = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(RedisStore {
            connection,
            record: Script::new(RECORD),
            quota,
            started: Instant::now(),
            paused_until: AtomicU64::new(0),
            health_due: AtomicU64::new(0),
            health: Arc::default(),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// The store's memory behaviour as last seen.
    pub(crate) fn health(&self) -> &Health {
        &self.health
    }

    /// Records the proof `id` at `now` (seconds), proofs being live for
    /// `lifetime` seconds after their `iat` and written at most `window`
    /// before they expire (the leeway for future `iat`s included).
    pub(crate) async fn record(
        &self,
        id: &ProofId,
        now: i64,
        lifetime: i64,
        window: Duration,
    ) -> Result<Recorded, StoreError> {
        let elapsed = self.elapsed_ms();
        if elapsed < self.paused_until.load(Ordering::Relaxed) {
            return Err(StoreError::Paused);
        }
        if elapsed >= self.health_due.load(Ordering::Relaxed) {
            self.health_due.store(elapsed + HEALTH_EVERY.as_millis() as u64, Ordering::Relaxed);
            tokio::spawn(check_health(self.connection.clone(), self.health.clone()));
        }
        // `{key}` is a hash tag: both keys on one cluster slot.
        let tag = format!("dpop:{{{:016x}}}", id.key);
        let mut connection = self.connection.clone();
        let answer: Result<i64, _> = self
            .record
            .key(format!("{tag}:proofs"))
            .key(format!("{tag}:watermark"))
            .arg(format!("{:032x}", id.proof))
            .arg(id.iat)
            .arg(now - lifetime)
            .arg(self.quota)
            .arg(window.as_millis().max(1) as u64)
            .invoke_async(&mut connection)
            .await;
        match answer {
            Ok(1) => Ok(Recorded::First),
            Ok(0) => Ok(Recorded::Replayed),
            Ok(_) => Ok(Recorded::BeyondWatermark),
            Err(error) => {
                self.paused_until
                    .store(self.elapsed_ms() + PAUSE.as_millis() as u64, Ordering::Relaxed);
                Err(StoreError::Failed(error.to_string()))
            }
        }
    }
}

/// Asks the store for its eviction policy, memory limit and evictions.
async fn check_health(mut connection: ConnectionManager, health: Arc<Health>) {
    let config = |name: &'static str| redis::cmd("CONFIG").arg("GET").arg(name).clone();
    let policy: Option<(String, String)> =
        config("maxmemory-policy").query_async(&mut connection).await.ok();
    let max_memory: Option<(String, u64)> =
        config("maxmemory").query_async(&mut connection).await.ok();
    let stats: Option<String> =
        redis::cmd("INFO").arg("stats").query_async(&mut connection).await.ok();
    let evicted = stats.as_deref().and_then(|stats| {
        stats.lines().find_map(|line| line.strip_prefix("evicted_keys:")?.trim().parse().ok())
    });
    health.update(policy.as_ref().map(|(_, p)| p.as_str()), max_memory.map(|(_, m)| m), evicted);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_policy_that_keeps_records_counts_as_safe() {
        let health = Health::default();
        assert_eq!(health.eviction(), Eviction::Unknown);
        health.update(Some("noeviction"), Some(1 << 20), Some(0));
        assert_eq!(health.eviction(), Eviction::Refuses);
        health.update(Some("volatile-ttl"), Some(0), Some(0));
        assert_eq!(health.eviction(), Eviction::Refuses, "no memory limit: nothing evicted");
        health.update(Some("volatile-ttl"), Some(1 << 20), Some(0));
        assert_eq!(health.eviction(), Eviction::Evicts);
        health.update(Some("allkeys-lru"), None, Some(7));
        assert_eq!(health.eviction(), Eviction::Evicts);
        assert_eq!(health.evicted_keys(), 7);
        health.update(None, None, None);
        assert_eq!(health.eviction(), Eviction::Unknown);
    }
}
