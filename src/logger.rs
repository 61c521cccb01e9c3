//! The process logger: Rocket's layout, without Rocket's per-request
//! lines (the [access log](crate::access_log) writes one line instead).
//!
//! Rocket 0.5 logs at warn, for every rejected request, the failed guard
//! and the catcher it ran. A release build (log level `critical`, which is
//! warn) would then write several lines per bad token: noise for operators
//! and an easy way to fill a disk. Rejections are logged at debug instead,
//! with their reason (never the token) by the guards themselves.
//!
//! What unauthenticated input can make Rocket write is bounded, at every
//! level:
//!
//! - **Floods**: the warnings and errors Rocket writes about a request or a
//!   connection (a header value that isn't UTF-8, a malformed request, a
//!   failed connection, an accept error) are rate-limited per call site: at
//!   most one line per [`QUIET_PERIOD`], the next one saying how many were
//!   held back. One request with 95 bad headers writes one line, not 95.
//! - **Secrets**: at debug level Rocket dumps each request (and response)
//!   with its headers before any fairing runs; those dumps are dropped, since
//!   they hold `Authorization`, `DPoP` and cookie values. Every line is also
//!   scrubbed of `access_token` query values, however percent-encoded the
//!   parameter name, because Rocket logs a malformed request's URI before
//!   the auth fairing could redact it.
//!
//! Rocket installs its own logger only if none is installed yet, so
//! installing this one first replaces it for the whole process.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::config::LogLevel;
use rocket::http::RawStr;

/// RFC 6750 §2.3's query parameter.
const QUERY_PARAMETER: &str = "access_token";

/// The shortest time between two lines from one call site of Rocket's
/// per-request warnings.
pub const QUIET_PERIOD: Duration = Duration::from_secs(60);

/// The log target of this app's lines that a client can cause (at any
/// level): they go through the same limiter as Rocket's per-request ones.
pub const CLIENT_CAUSED: &str = "auth0_rocket_api::client_caused";

/// Installs the logger at `level`; a no-op if a logger is already set
/// (tests build many rockets in one process).
pub fn init(level: LogLevel) {
    let max = LevelFilter::from(level);
    let logger = Logger { max, limiter: RateLimiter::new(QUIET_PERIOD) };
    if log::set_boxed_logger(Box::new(logger)).is_ok() {
        log::set_max_level(max);
    }
}

struct Logger {
    max: LevelFilter,
    limiter: RateLimiter,
}

impl Logger {
    /// Rocket's own launch banner uses warn under this target so it shows in
    /// release; it is information.
    fn is_launch(record: &Record<'_>) -> bool {
        record.target().starts_with("rocket::launch")
    }

    /// Rocket marks sub-items of a log entry with a `::_` target suffix.
    fn is_indented(record: &Record<'_>) -> bool {
        record.target().ends_with("::_")
    }

    /// The level this record is shown at. Rocket's per-request messages
    /// (the request line, routing, guard failures, catchers) count as debug:
    /// the access log writes one line per request instead.
    fn effective_level(record: &Record<'_>) -> Level {
        let target = record.target();
        let rocket = target.starts_with("rocket::") && !Self::is_launch(record);
        let server = target.starts_with("rocket::server");
        let route_guard = !target.starts_with("rocket::") && Self::is_indented(record);
        let detail = (rocket && Self::is_indented(record)) || route_guard;
        match record.level() {
            Level::Warn if Self::is_launch(record) => Level::Info,
            Level::Info | Level::Warn if detail => Level::Debug,
            Level::Info if server => Level::Debug,
            // "No matching routes for …": a 404, not a server error.
            Level::Error if server && Self::is_indented(record) => Level::Debug,
            level => level,
        }
    }

    /// Rocket's dumps of a whole request or response, headers included.
    fn is_dump(record: &Record<'_>, line: &str) -> bool {
        record.target().starts_with("rocket::server")
            && (line.starts_with("received request:") || line.starts_with("sending response:"))
    }

    /// Warnings and errors that clients can cause, one per request or
    /// connection: everything Rocket (or its HTTP layer) writes at those
    /// levels after launch.
    fn is_per_request(record: &Record<'_>, level: Level) -> bool {
        // Rocket's own crates only: `rocket_oauth2_jwt_bearer` shares the
        // prefix, and its warnings (one per JWKS failure streak) are
        // bounded already.
        let is_rocket = |path: &str| {
            path == "rocket" || path.starts_with("rocket::") || path.starts_with("rocket_http")
        };
        let rocket = is_rocket(record.target()) || record.module_path().is_some_and(is_rocket);
        let per_request = level <= Level::Warn && rocket && !Self::is_launch(record);
        per_request || record.target() == CLIENT_CAUSED
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= self.max
    }

    fn log(&self, record: &Record<'_>) {
        let level = Self::effective_level(record);
        let launch = Self::is_launch(record) && self.max > LevelFilter::Off;
        if level > self.max && !launch {
            return;
        }
        let noisy = ["hyper", "rustls", "reqwest", "h2"];
        let module = record.module_path().unwrap_or_default();
        if self.max < LevelFilter::Debug && noisy.iter().any(|m| module.starts_with(m)) {
            return;
        }

        let message = record.args().to_string();
        if Self::is_dump(record, &message) {
            return;
        }
        let mut message = redact_query_tokens(&message).into_owned();
        if Self::is_per_request(record, level) {
            let site = (record.target().to_owned(), record.line().unwrap_or(0));
            match self.limiter.admit(site, Instant::now()) {
                Admit::No => return,
                Admit::Yes { held_back: 0 } => {}
                Admit::Yes { held_back } => message.push_str(&format!(
                    " ({held_back} more like this in the last {}s not logged)",
                    QUIET_PERIOD.as_secs()
                )),
            }
        }

        let indent = if Self::is_indented(record) { "   >> " } else { "" };
        let prefix = match level {
            Level::Error if indent.is_empty() => "Error: ",
            Level::Warn if indent.is_empty() => "Warning: ",
            _ => "",
        };
        // One write per line, so concurrent requests don't interleave.
        let line = format!("{indent}{prefix}{message}\n");
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}

/// Whether a rate-limited line may be written.
#[derive(Debug, PartialEq, Eq)]
enum Admit {
    No,
    /// Yes, and this many were held back since the last one.
    Yes {
        held_back: u64,
    },
}

/// At most one line per call site per `period`. The sites are Rocket's own
/// call sites, a fixed set, so the map stays small.
struct RateLimiter {
    period: Duration,
    sites: Mutex<HashMap<(String, u32), (Instant, u64)>>,
}

impl RateLimiter {
    fn new(period: Duration) -> Self {
        RateLimiter { period, sites: Mutex::new(HashMap::new()) }
    }

    fn admit(&self, site: (String, u32), now: Instant) -> Admit {
        let mut sites = self.sites.lock().unwrap_or_else(|e| e.into_inner());
        match sites.get_mut(&site) {
            Some((last, held_back)) if now.duration_since(*last) < self.period => {
                *held_back += 1;
                Admit::No
            }
            Some((last, held_back)) => {
                *last = now;
                Admit::Yes { held_back: std::mem::take(held_back) }
            }
            None => {
                sites.insert(site, (now, 0));
                Admit::Yes { held_back: 0 }
            }
        }
    }
}

/// `text` with the value of every `access_token` query parameter replaced,
/// the name compared percent-decoded as Rocket reads it.
fn redact_query_tokens(text: &str) -> Cow<'_, str> {
    if !text.contains('=') {
        return Cow::Borrowed(text);
    }
    let is_name_start = |c: char| matches!(c, '?' | '&' | ';') || c.is_whitespace() || c == '"';
    let is_value_end =
        |c: char| matches!(c, '&' | '#' | '"' | '\'' | '<' | '>') || c.is_whitespace();

    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(eq) = rest.find('=') {
        let (before, after) = (&rest[..eq], &rest[eq + 1..]);
        let name_at = before.rfind(is_name_start).map_or(0, |i| i + 1);
        let name = &before[name_at..];
        out.push_str(before);
        out.push('=');
        if !name.is_empty() && RawStr::new(name).url_decode_lossy() == QUERY_PARAMETER {
            let end = after.find(is_value_end).unwrap_or(after.len());
            out.push_str("redacted");
            rest = &after[end..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_tokens_are_redacted_however_the_name_is_spelled() {
        for (line, expected) in [
            ("GET /api/private?access_token=abc.def.ghi", "GET /api/private?access_token=redacted"),
            ("/p?a=1&access%5Ftoken=abc&b=2", "/p?a=1&access%5Ftoken=redacted&b=2"),
            ("uri: /p?%61ccess_token=x.y.z, version", "uri: /p?%61ccess_token=redacted version"),
            (
                "\"/p?access_token=t\" and ?access_token=u#f",
                "\"/p?access_token=redacted\" and ?access_token=redacted#f",
            ),
            ("/p?x_access_token=keep&token=keep", "/p?x_access_token=keep&token=keep"),
            ("no query at all", "no query at all"),
        ] {
            assert_eq!(redact_query_tokens(line), expected, "{line}");
        }
    }

    #[test]
    fn rockets_own_warnings_and_client_caused_lines_are_rate_limited() {
        let record = |target: &'static str, level| {
            let args = format_args!("x");
            let mut builder = Record::builder();
            builder.target(target).module_path(Some(target)).args(args);
            Logger::is_per_request(&builder.build(), level)
        };
        assert!(record("rocket::server", Level::Warn));
        assert!(record("rocket::request::request", Level::Error));
        assert!(record("rocket_http::listener", Level::Warn));
        assert!(!record("rocket::server", Level::Info));
        assert!(!record("rocket::launch", Level::Warn));
        assert!(!record("rocket_oauth2_jwt_bearer::jwks", Level::Warn));
        assert!(!record("auth0_rocket_api::idle_connections", Level::Warn));
        // What a client can make this app say, at any level.
        assert!(record(CLIENT_CAUSED, Level::Warn));
        assert!(record(CLIENT_CAUSED, Level::Info));
    }

    #[test]
    fn one_line_per_site_per_period_with_the_count_held_back() {
        let limiter = RateLimiter::new(Duration::from_secs(60));
        let start = Instant::now();
        let site = || ("rocket::request".to_owned(), 1069);
        assert_eq!(limiter.admit(site(), start), Admit::Yes { held_back: 0 });
        for i in 1..=94 {
            assert_eq!(limiter.admit(site(), start + Duration::from_millis(i)), Admit::No);
        }
        let other = ("rocket::server".to_owned(), 123);
        assert_eq!(limiter.admit(other, start), Admit::Yes { held_back: 0 });
        let later = start + Duration::from_secs(61);
        assert_eq!(limiter.admit(site(), later), Admit::Yes { held_back: 94 });
        assert_eq!(limiter.admit(site(), later), Admit::No);
    }
}
