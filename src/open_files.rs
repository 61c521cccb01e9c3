//! The process's open-file limit, raised at launch to the most it may be.
//!
//! Every connection holds a file descriptor, and the usual soft limit (1024)
//! is far below what one server can serve: a thousand idle connections
//! would otherwise make `accept` fail for everyone else. The hard limit is
//! what the administrator allows, so the soft limit is raised to it, as Go's
//! runtime does at start-up. The figures are logged, so an operator sees
//! the ceiling the service runs with.

/// The soft and hard open-file limits before and after raising.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenFiles {
    pub before: u64,
    pub now: u64,
    pub hard: u64,
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one (the `rlimit` crate,
/// which also respects macOS's per-process ceiling). `None` where the
/// platform has no such limit or refuses to say.
#[cfg(unix)]
pub fn raise_to_hard_limit() -> Option<OpenFiles> {
    use rlimit::Resource;

    let (before, hard) = Resource::NOFILE.get().ok()?;
    let now = rlimit::increase_nofile_limit(hard).unwrap_or(before);
    Some(OpenFiles { before, now, hard })
}

#[cfg(not(unix))]
pub fn raise_to_hard_limit() -> Option<OpenFiles> {
    None
}

/// Raises the limit and logs the figure at info level (a warning when the
/// soft limit could not be raised to the hard one).
pub fn raise_and_log() {
    match raise_to_hard_limit() {
        Some(OpenFiles { before, now, .. }) if now > before => {
            log::info!("open files limit: raised from {before} to {now}");
        }
        Some(OpenFiles { now, hard, .. }) if now < hard => {
            log::warn!("open files limit: {now}, and it could not be raised to {hard}");
        }
        Some(OpenFiles { now, .. }) => log::info!("open files limit: {now}"),
        None => {}
    }
}
