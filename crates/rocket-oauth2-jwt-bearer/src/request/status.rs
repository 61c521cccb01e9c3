//! Each issuer's keys and their freshness, and the DPoP replay store's
//! health, for readiness probes and dashboards.

use std::time::SystemTime;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Phase, Rocket};

use crate::possession::dpop::Dpop;
use crate::settings::issuer_settings::KeySource;
use crate::verification::token::Verifier;
use crate::verification::trusted_issuer::TrustedIssuer;

/// What the fairing knows about its issuers' keys; also a request guard,
/// which fails (503) in a Rocket without [`JwtAuth`](crate::JwtAuth).
///
/// The top-level fields sum up every configured issuer (for one issuer,
/// they are its own); [`issuers`](Self::issuers) has each one.
///
/// ```rust
/// use rocket::get;
/// use rocket_oauth2_jwt_bearer::KeyStatus;
///
/// #[get("/ready")]
/// fn ready(status: Option<KeyStatus>) -> &'static str {
///     match status {
///         Some(status) if status.is_ready() => "ready",
///         _ => "not ready",
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// Usable keys loaded, all configured issuers together.
    pub keys: usize,
    /// Whether some issuer's keys are refreshed from it (not fixed keys: a
    /// secret, a static `public_key`, the development issuer).
    pub refreshes: bool,
    /// The oldest of the issuers' last successful fetches: how stale the
    /// stalest keys are.
    pub last_refresh: Option<SystemTime>,
    /// The most failed fetches in a row of any issuer.
    pub failures_in_a_row: u32,
    /// Why that issuer's last fetch failed, while the failures last.
    pub last_error: Option<String>,
    /// Each configured issuer, in configuration order.
    pub issuers: Vec<IssuerStatus>,
    /// How many issuers a resolver approved are held, with a resolver.
    pub dynamic_issuers: Option<usize>,
    /// The shared DPoP replay store, when `dpop.replay_store` is set.
    pub replay_store: Option<ReplayStoreStatus>,
}

/// The shared DPoP replay store (`dpop.replay_store`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayStoreStatus {
    /// Whether its last command succeeded (or none was sent yet).
    pub reachable: bool,
    /// Failed commands since launch.
    pub errors: u64,
    /// Whether, while it is unreachable, replays are detected by this
    /// process alone (`replay_store_failure = "local"`) rather than DPoP
    /// requests refused (`"reject"`).
    pub falls_back: bool,
    /// Whether the store may drop records before they expire (a memory
    /// limit with an evicting `maxmemory-policy`), so that a replay could
    /// pass at another replica; `None` while not known (not asked yet, or
    /// `CONFIG` disabled on a managed service).
    pub may_evict: Option<bool>,
    /// The store's own count of evicted keys, as last read.
    pub evicted_keys: u64,
}

/// One configured issuer's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IssuerStatus {
    /// Its `iss` (before its discovery succeeded: the one expected).
    pub issuer: String,
    /// Whether its keys are loaded; `false` only while launching without
    /// them (`require_keys_at_launch = false`).
    pub loaded: bool,
    /// Usable keys loaded.
    pub keys: usize,
    /// Whether the keys are refreshed from the issuer.
    pub refreshes: bool,
    /// The last successful fetch.
    pub last_refresh: Option<SystemTime>,
    /// Failed fetches (or loads, before the first) since the last success.
    pub failures_in_a_row: u32,
    /// Why the last fetch failed, while the failures last.
    pub last_error: Option<String>,
}

impl KeyStatus {
    /// The status of `rocket`'s [`JwtAuth`](crate::JwtAuth) fairing; `None`
    /// before it ignited, or without it.
    pub fn of<P: Phase>(rocket: &Rocket<P>) -> Option<KeyStatus> {
        let issuers = rocket.state::<Verifier>()?.issuers();
        let each: Vec<IssuerStatus> =
            issuers.configured().iter().map(|i| issuer_status(i)).collect();
        let worst = each.iter().max_by_key(|i| i.failures_in_a_row);
        Some(KeyStatus {
            keys: each.iter().map(|i| i.keys).sum(),
            refreshes: each.iter().any(|i| i.refreshes),
            last_refresh: each.iter().filter_map(|i| i.last_refresh).min(),
            failures_in_a_row: worst.map_or(0, |i| i.failures_in_a_row),
            last_error: worst.and_then(|i| i.last_error.clone()),
            dynamic_issuers: issuers.dynamic_count(),
            issuers: each,
            replay_store: rocket.state::<Dpop>().and_then(|dpop| {
                let replay = dpop.replay();
                Some(ReplayStoreStatus {
                    reachable: !replay.store_failing()?,
                    errors: replay.store_errors(),
                    falls_back: replay.falls_back(),
                    may_evict: replay.store_may_evict(),
                    evicted_keys: replay.store_evicted_keys(),
                })
            }),
        })
    }

    /// Ready to verify tokens: every configured issuer has keys. Stale
    /// keys still count (stale-if-error): an identity-provider outage must
    /// not pull every replica out of the load balancer at once. An
    /// unreachable replay store doesn't count either, for the same reason:
    /// it is reported in [`replay_store`](Self::replay_store).
    pub fn is_ready(&self) -> bool {
        self.issuers.iter().all(|i| i.loaded && i.keys > 0)
    }
}

fn issuer_status(issuer: &TrustedIssuer) -> IssuerStatus {
    match issuer.keys() {
        Some(keys) => {
            let freshness = keys.freshness();
            IssuerStatus {
                issuer: issuer.label(),
                loaded: true,
                keys: keys.snapshot().len(),
                refreshes: keys.refresh_schedule().is_some(),
                last_refresh: freshness.last_success,
                failures_in_a_row: freshness.failures_in_a_row,
                last_error: freshness.last_error,
            }
        }
        None => {
            let pending = issuer.pending_load();
            IssuerStatus {
                issuer: issuer.label(),
                loaded: false,
                keys: 0,
                refreshes: !matches!(issuer.settings().source, KeySource::StaticKey { .. }),
                last_refresh: None,
                failures_in_a_row: pending.failures,
                last_error: pending.last_error,
            }
        }
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for KeyStatus {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match KeyStatus::of(req.rocket()) {
            Some(status) => Outcome::Success(status),
            None => Outcome::Error((Status::ServiceUnavailable, ())),
        }
    }
}
