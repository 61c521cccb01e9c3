//! One log line per request: method, path, status, latency.
//!
//! The path is logged without its query, so a token sent as
//! `?access_token=` can't reach the log this way either. Rocket's own
//! per-request lines are demoted to debug by the [logger](crate::logger).

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

/// When the request arrived.
struct Arrival(Instant);

/// Writes the access log line of every request at info level.
#[derive(Debug, Default)]
pub struct AccessLog {
    _private: (),
}

impl AccessLog {
    pub fn fairing() -> Self {
        AccessLog::default()
    }
}

#[rocket::async_trait]
impl Fairing for AccessLog {
    fn info(&self) -> Info {
        Info { name: "Access log", kind: Kind::Request | Kind::Response }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        req.local_cache(|| Arrival(Instant::now()));
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let arrival = req.local_cache(|| Arrival(Instant::now()));
        let elapsed = arrival.0.elapsed();
        log::info!(
            target: "access",
            "{} {} {} {:.3}ms",
            req.method(),
            req.uri().path(),
            res.status().code,
            elapsed.as_secs_f64() * 1000.0
        );
    }
}
