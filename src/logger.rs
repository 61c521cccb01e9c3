//! The process logger: Rocket's layout, without Rocket's per-request
//! lines (the [access log](crate::access_log) writes one line instead).
//!
//! Rocket 0.5 logs at warn, for every rejected request, the failed guard
//! and the catcher it ran. A release build (log level `critical`, which is
//! warn) would then write several lines per bad token: noise for operators
//! and an easy way to fill a disk. Rejections are logged at debug instead,
//! with their reason (never the token) by the guards themselves.
//!
//! Rocket installs its own logger only if none is installed yet, so
//! installing this one first replaces it for the whole process.

use std::io::Write;

use log::{Level, LevelFilter, Log, Metadata, Record};
use rocket::config::LogLevel;

/// Installs the logger at `level`; a no-op if a logger is already set
/// (tests build many rockets in one process).
pub fn init(level: LogLevel) {
    let max = LevelFilter::from(level);
    if log::set_boxed_logger(Box::new(Logger { max })).is_ok() {
        log::set_max_level(max);
    }
}

struct Logger {
    max: LevelFilter,
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

        let indent = if Self::is_indented(record) { "   >> " } else { "" };
        let prefix = match level {
            Level::Error if indent.is_empty() => "Error: ",
            Level::Warn if indent.is_empty() => "Warning: ",
            _ => "",
        };
        // One write per line, so concurrent requests don't interleave.
        let line = format!("{indent}{prefix}{}\n", record.args());
        let _ = std::io::stdout().lock().write_all(line.as_bytes());
    }

    fn flush(&self) {
        let _ = std::io::stdout().flush();
    }
}
