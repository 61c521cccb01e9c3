//! [`Clock`]: the one place the crate reads the time of day, so that a test
//! can move time forward instead of sleeping.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time tokens and DPoP proofs are checked against (`exp`, `nbf`,
/// `iat`, the token cache, nonce ages): the system's, plus what a test
/// moved it forward by.
///
/// The fairing uses the system clock unless given one with
/// [`JwtAuth::with_clock`](crate::JwtAuth::with_clock). With the crate's
/// `testing` feature a clock can be moved forward, so a test of expiry
/// takes no time:
///
/// ```rust
/// # #[cfg(feature = "testing")] {
/// use std::time::Duration;
/// use rocket_oauth2_jwt_bearer::{Clock, JwtAuth};
///
/// let clock = Clock::system();
/// let fairing = JwtAuth::fairing().with_clock(clock.clone());
/// let before = clock.now();
/// clock.advance(Duration::from_secs(3600)); // the test's token has expired
/// assert!(clock.now().duration_since(before).unwrap() >= Duration::from_secs(3600));
/// # }
/// ```
///
/// Clones share one offset. Timers (the key set's refresh schedule,
/// cooldowns, timeouts) run on the runtime's monotonic time, not on this
/// clock.
#[derive(Clone, Default)]
pub struct Clock {
    /// Milliseconds added to the system time.
    ahead_ms: Arc<AtomicU64>,
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock::default()
    }

    /// The current time.
    pub fn now(&self) -> SystemTime {
        SystemTime::now() + Duration::from_millis(self.ahead_ms.load(Ordering::Relaxed))
    }

    /// Seconds since the Unix epoch, as JWT claims count them.
    pub(crate) fn unix_seconds(&self) -> f64 {
        self.now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
    }

    /// Moves this clock, and its clones, forward by `by` (whole
    /// milliseconds). For tests: only with the `testing` feature.
    #[cfg(feature = "testing")]
    pub fn advance(&self, by: Duration) {
        let ms = u64::try_from(by.as_millis()).unwrap_or(u64::MAX);
        self.ahead_ms.fetch_add(ms, Ordering::Relaxed);
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Clock").field("ahead_ms", &self.ahead_ms.load(Ordering::Relaxed)).finish()
    }
}
