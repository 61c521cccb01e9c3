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

/// Raises the soft `RLIMIT_NOFILE` to the hard one. `None` where the
/// platform has no such limit or refuses to say.
#[cfg(unix)]
pub fn raise_to_hard_limit() -> Option<OpenFiles> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes one `rlimit` through a valid pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return None;
    }
    let before = limit.rlim_cur;
    if limit.rlim_cur < limit.rlim_max {
        let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        // SAFETY: `setrlimit` reads one `rlimit` through a valid pointer.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &raised) } == 0 {
            limit = raised;
        }
    }
    // `rlim_t` is u64 on the platforms Rocket runs on; `as` keeps others
    // compiling (RLIM_INFINITY is u64::MAX either way).
    #[allow(clippy::unnecessary_cast)]
    Some(OpenFiles {
        before: before as u64,
        now: limit.rlim_cur as u64,
        hard: limit.rlim_max as u64,
    })
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
