//! The key set's freshness, for readiness probes and dashboards.

use std::time::SystemTime;

use rocket::http::Status;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Phase, Rocket};

use crate::token::Verifier;

/// What the fairing's key store knows about itself; also a request guard,
/// which fails (503) in a Rocket without [`JwtAuth`](crate::JwtAuth).
///
/// ```rust
/// use rocket::get;
/// use rocket_oauth2_jwt_bearer::KeyStatus;
///
/// #[get("/ready")]
/// fn ready(status: Option<KeyStatus>) -> &'static str {
///     match status {
///         Some(status) if status.keys > 0 => "ready",
///         _ => "not ready",
///     }
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStatus {
    /// Usable keys loaded.
    pub keys: usize,
    /// Whether the keys are refreshed from the issuer (not fixed keys: a
    /// secret, a static `public_key`, the development issuer).
    pub refreshes: bool,
    /// The last successful fetch.
    pub last_refresh: Option<SystemTime>,
    /// Failed fetches since the last success.
    pub failures_in_a_row: u32,
    /// Why the last fetch failed, while the failures last.
    pub last_error: Option<String>,
}

impl KeyStatus {
    /// The status of `rocket`'s [`JwtAuth`](crate::JwtAuth) fairing; `None`
    /// before it ignited, or without it.
    pub fn of<P: Phase>(rocket: &Rocket<P>) -> Option<KeyStatus> {
        let keys = rocket.state::<Verifier>()?.keys();
        let freshness = keys.freshness();
        Some(KeyStatus {
            keys: keys.snapshot().len(),
            refreshes: keys.refresh_schedule().is_some(),
            last_refresh: freshness.last_success,
            failures_in_a_row: freshness.failures_in_a_row,
            last_error: freshness.last_error,
        })
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
