//! One log line per request: method, path, status, latency.
//!
//! The path is logged without its query, so a token sent as
//! `?access_token=` can't reach the log this way either. Rocket's own
//! per-request lines are demoted to debug by the [logger](crate::logger).
//! A fairing that reroutes a request (the [`Host` check](crate::host_header))
//! keeps the path that was asked for with [`AskedPath::keep`], and that is
//! the one logged.

use std::time::Instant;

use rocket::fairing::{Fairing, Info, Kind};
use rocket::{Data, Request, Response};

/// When the request arrived.
struct Arrival(Instant);

/// The path a request asked for, kept by a fairing that reroutes it.
#[derive(Debug, Default)]
pub struct AskedPath(Option<String>);

impl AskedPath {
    /// Keeps `req`'s path as it is now, before it is rerouted.
    pub fn keep(req: &Request<'_>) {
        req.local_cache(|| AskedPath(Some(req.uri().path().to_string())));
    }
}

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
        let asked = req.local_cache(AskedPath::default).0.as_deref();
        log::info!(
            target: "access",
            "{} {} {} {:.3}ms",
            req.method(),
            asked.unwrap_or(req.uri().path().as_str()),
            res.status().code,
            elapsed.as_secs_f64() * 1000.0
        );
    }
}
