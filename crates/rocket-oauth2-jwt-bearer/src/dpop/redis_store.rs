//! The shared replay store on Redis: one `SET key 1 NX PX <ms>` per proof,
//! so whichever replica sees a proof first records it and every other
//! replica sees it as used, until it would be stale anyway.
//!
//! The connection is a `redis` `ConnectionManager`, created lazily (launch
//! doesn't wait for Redis) and reconnecting by itself. A failed command
//! opens a short circuit: for [`PAUSE`] the store isn't asked at all, so a
//! dead store costs requests nothing but the fallback, and then the next
//! request probes it again.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// How long the store isn't asked after a failure.
const PAUSE: Duration = Duration::from_secs(1);

/// How long one command or connection attempt may take.
const TIMEOUT: Duration = Duration::from_millis(500);

/// Prefix of every key this crate writes.
const KEY_PREFIX: &str = "dpop:jti:";

/// Why the store gave no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum StoreError {
    /// It failed a moment ago; not asked again yet.
    Paused,
    /// The command failed now (the reason, for the log).
    Failed(String),
}

/// A Redis server shared by the replicas.
pub(crate) struct RedisStore {
    connection: ConnectionManager,
    started: Instant,
    /// Milliseconds since `started` before which the store isn't asked.
    paused_until: AtomicU64,
}

impl RedisStore {
    /// A store at `url` (`redis://host:port/db`); no connection is made yet.
    pub(crate) fn new(url: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(TIMEOUT))
            .set_response_timeout(Some(TIMEOUT))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(10))
            .set_max_delay(Duration::from_millis(100));
        let connection =
            ConnectionManager::new_lazy_with_config(client, config).map_err(|e| e.to_string())?;
        Ok(RedisStore { connection, started: Instant::now(), paused_until: AtomicU64::new(0) })
    }

    fn elapsed_ms(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    /// Records `key` for `ttl`: `Ok(true)` if it was new, `Ok(false)` if
    /// some replica recorded it first.
    pub(crate) async fn record(&self, key: [u8; 16], ttl: Duration) -> Result<bool, StoreError> {
        if self.elapsed_ms() < self.paused_until.load(Ordering::Relaxed) {
            return Err(StoreError::Paused);
        }
        let mut name = String::with_capacity(KEY_PREFIX.len() + 32);
        name.push_str(KEY_PREFIX);
        for byte in key {
            // Writing to a String can't fail.
            let _ = write!(name, "{byte:02x}");
        }
        let ttl_ms = ttl.as_millis().max(1) as u64;
        let mut connection = self.connection.clone();
        let answer: Result<Option<String>, _> = redis::cmd("SET")
            .arg(&name)
            .arg(1)
            .arg("NX")
            .arg("PX")
            .arg(ttl_ms)
            .query_async(&mut connection)
            .await;
        match answer {
            Ok(set) => Ok(set.is_some()),
            Err(error) => {
                let until = self.elapsed_ms() + PAUSE.as_millis() as u64;
                self.paused_until.store(until, Ordering::Relaxed);
                Err(StoreError::Failed(error.to_string()))
            }
        }
    }
}
