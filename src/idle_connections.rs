//! Closing connections the server has had nothing to say to for
//! `idle_timeout` seconds: idle keep-alive connections, connections that
//! never sent a request, and requests that never finish arriving
//! (slowloris).
//!
//! Rocket 0.5.2 sets hyper's header-read timeout to none and has no idle
//! timeout (its `keep_alive` setting only switches keep-alive on or off), so
//! a client can hold a connection, and a file descriptor, for as long as it
//! likes; enough of them and `accept` fails for everyone. Rocket doesn't let
//! an application bring its own listener or see its connections either.
//! What the kernel knows suffices, though: for each of the process's TCP
//! sockets on the server's port, `TCP_INFO` says how long ago data was last
//! sent. A connection that has been sent nothing for `idle_timeout` and has
//! no request in progress is idle, stuck in a request that never finishes
//! arriving, or stuck behind a client that doesn't read what it is sent
//! (its receive window shut, the server's send queue full) — whether the
//! client's side is still open (`ESTABLISHED`) or already closed
//! (`CLOSE_WAIT`: the client sent FIN, the server still holds the socket)
//! — and is shut down (`shutdown(2)`, not `close`: hyper sees the end of
//! the stream, or fails its write, and drops the connection itself, so no
//! descriptor is closed under its feet).
//!
//! A request is *in progress* from the moment Rocket has its headers until
//! the request is dropped (its answer handed to hyper): this fairing notes
//! the peer address of each, so a keep-alive connection whose next request
//! waits on something slow (a key refetch) is never cut while it waits.
//! A request whose headers never finish arriving is never in progress.
//!
//! While descriptors are short (open files past 3/4 of the limit), the
//! timeout drops to one second, so that a flood of silent connections can't
//! starve `accept` for `idle_timeout`; a warning says when that starts (at
//! most one line a minute: a client can cause it).
//!
//! The price: a request body that takes longer than `idle_timeout` to
//! arrive is cut off, so the default (30 s) is far above anything this API
//! does. Linux only (it reads `/proc/self/fd`); elsewhere it logs that it
//! is off. Behind a proxy with its own timeouts (see the README,
//! "Deploying"), it is a second line.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::{Build, Data, Orbit, Request, Rocket};

use crate::logger::CLIENT_CAUSED;

/// The name of the setting.
pub const SETTING: &str = "idle_timeout";

/// Its default.
pub const DEFAULT: Duration = Duration::from_secs(30);

/// Its largest value: a day (anything longer is a typo).
const MAX_SECONDS: f64 = 86_400.0;

/// Its smallest value but 0: what sweeps every [`SWEEP_MIN`] to
/// [`PRESSURE_TIMEOUT`] can honour without cutting a connection that was
/// busy a moment ago.
const MIN_SECONDS: f64 = 1.0;

/// The shortest time between two sweeps.
const SWEEP_MIN: Duration = Duration::from_millis(50);

/// Closes connections that stall for `idle_timeout` (0 turns it off).
#[derive(Debug, Default)]
pub struct IdleConnections {
    in_progress: InProgress,
}

impl IdleConnections {
    pub fn fairing() -> Self {
        IdleConnections::default()
    }
}

/// The peers with a request in progress, by address, with how many.
#[derive(Debug, Clone, Default)]
struct InProgress(Arc<Mutex<HashMap<SocketAddr, u32>>>);

impl InProgress {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, u32>> {
        // Each step under the lock is one map operation: a panic can't
        // leave it half done.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn peers(&self) -> HashSet<SocketAddr> {
        self.lock().keys().copied().collect()
    }
}

/// A request in progress: counted from the request fairing until Rocket
/// drops the request (its answer given, or the client gone).
struct InProgressRequest {
    registry: InProgress,
    peer: SocketAddr,
}

impl InProgressRequest {
    fn start(registry: &InProgress, peer: SocketAddr) -> Self {
        *registry.lock().entry(peer).or_insert(0) += 1;
        InProgressRequest { registry: registry.clone(), peer }
    }
}

impl Drop for InProgressRequest {
    fn drop(&mut self) {
        let mut peers = self.registry.lock();
        if let Some(count) = peers.get_mut(&self.peer) {
            *count -= 1;
            if *count == 0 {
                peers.remove(&self.peer);
            }
        }
    }
}

/// The checked setting, managed by the fairing at ignition.
#[derive(Debug, Clone, Copy)]
struct IdleTimeout(Duration);

#[rocket::async_trait]
impl Fairing for IdleConnections {
    fn info(&self) -> Info {
        let kind = Kind::Ignite | Kind::Liftoff | Kind::Request | Kind::Singleton;
        Info { name: "Idle connections", kind }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let timeout = match rocket.figment().find_value(SETTING) {
            Err(_) => DEFAULT,
            Ok(_) => match rocket.figment().extract_inner::<f64>(SETTING).ok() {
                Some(seconds)
                    if seconds == 0.0 || (MIN_SECONDS..=MAX_SECONDS).contains(&seconds) =>
                {
                    Duration::from_secs_f64(seconds)
                }
                _ => {
                    log::error!(
                        "invalid setting `{SETTING}` (from {}): expected 0 (off) or a number of \
                         seconds from {MIN_SECONDS} to {MAX_SECONDS}",
                        crate::config::source_of(rocket.figment(), SETTING)
                    );
                    return Err(rocket);
                }
            },
        };
        Ok(rocket.manage(IdleTimeout(timeout)))
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        // Rocket's local client has no peer, and no connection to sweep.
        let swept = req.rocket().state::<IdleTimeout>().is_some_and(|t| !t.0.is_zero());
        if let (true, Some(peer)) = (swept, req.remote()) {
            req.local_cache(|| Some(InProgressRequest::start(&self.in_progress, peer)));
        }
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let Some(&IdleTimeout(timeout)) = rocket.state::<IdleTimeout>() else { return };
        if timeout.is_zero() {
            return;
        }
        let Some(mut descriptors) = sweep::OpenDescriptors::open() else {
            log::info!("`{SETTING}` is only enforced on Linux (it reads /proc/self/fd)");
            return;
        };

        let port = rocket.config().port;
        let in_progress = self.in_progress.clone();
        let every = (timeout / 4).clamp(SWEEP_MIN, PRESSURE_TIMEOUT);
        let shutdown = rocket.shutdown();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            let mut under_pressure = false;
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            tokio::select! {
                _ = shutdown => {}
                _ = async {
                    loop {
                        ticks.tick().await;
                        let busy = in_progress.peers();
                        let sweep = tokio::task::spawn_blocking(move || {
                            let sweep = sweep::run(&mut descriptors, port, timeout, &busy);
                            (descriptors, sweep)
                        });
                        let Ok((returned, sweep)) = sweep.await else { return };
                        descriptors = returned;
                        // Clients can flip this at will: both lines go through
                        // the logger's limiter.
                        match (sweep.pressure, under_pressure) {
                            (true, false) => log::warn!(
                                target: CLIENT_CAUSED,
                                "open files past 3/4 of the limit: closing connections idle \
                                 for {PRESSURE_TIMEOUT:?} instead of {timeout:?}"
                            ),
                            (false, true) => log::info!(
                                target: CLIENT_CAUSED,
                                "open files back under 3/4 of the limit"
                            ),
                            _ => {}
                        }
                        under_pressure = sweep.pressure;
                        if sweep.closed > 0 {
                            log::debug!("closed {} stalled connection(s)", sweep.closed);
                        }
                    }
                } => {}
            }
        });
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy)]
struct Sweep {
    closed: usize,
    /// Whether descriptors were short, so the shorter timeout applied.
    pressure: bool,
}

/// The share of the open-files limit (3/4) past which descriptors are
/// short: a flood of silent connections must not starve `accept`.
const PRESSURE: (u64, u64) = (3, 4);

/// The idle timeout while descriptors are short.
const PRESSURE_TIMEOUT: Duration = Duration::from_secs(1);

#[cfg(target_os = "linux")]
mod sweep {
    use super::Sweep;
    use std::collections::HashSet;
    use std::mem::{size_of, zeroed};
    use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
    use std::os::fd::RawFd;
    use std::time::Duration;

    /// `TCP_ESTABLISHED` in `tcp_info.tcpi_state` (linux/tcp_states.h).
    const ESTABLISHED: u8 = 1;
    /// `TCP_CLOSE_WAIT`: the peer sent FIN; the socket is ours to close.
    const CLOSE_WAIT: u8 = 8;

    /// The process's open descriptors, listed through `/proc/self/fd`.
    ///
    /// The directory is opened once and rewound for each sweep: when
    /// stalled connections hold every descriptor the process may open,
    /// opening it anew would fail exactly when it is needed.
    pub struct OpenDescriptors(*mut libc::DIR);

    // SAFETY: the `DIR` is used from one thread at a time (the sweep task
    // owns it and moves it into each blocking call).
    unsafe impl Send for OpenDescriptors {}

    impl OpenDescriptors {
        pub fn open() -> Option<Self> {
            // SAFETY: a valid NUL-terminated path; null is checked.
            let dir = unsafe { libc::opendir(c"/proc/self/fd".as_ptr()) };
            (!dir.is_null()).then_some(OpenDescriptors(dir))
        }

        fn list(&mut self) -> Vec<RawFd> {
            let mut fds = Vec::new();
            // SAFETY: `self.0` is an open `DIR`; each entry is read before
            // the next `readdir` call invalidates it.
            unsafe {
                libc::rewinddir(self.0);
                loop {
                    let entry = libc::readdir(self.0);
                    if entry.is_null() {
                        break;
                    }
                    let name = std::ffi::CStr::from_ptr((*entry).d_name.as_ptr());
                    if let Some(fd) = name.to_str().ok().and_then(|n| n.parse().ok()) {
                        fds.push(fd);
                    }
                }
            }
            fds
        }
    }

    impl Drop for OpenDescriptors {
        fn drop(&mut self) {
            // SAFETY: `self.0` is an open `DIR`, closed exactly once.
            unsafe { libc::closedir(self.0) };
        }
    }

    /// Shuts down every connection to local `port` that has been sent no
    /// data for `timeout` and whose peer isn't in `busy` (a request in
    /// progress); returns how many.
    pub fn run(
        descriptors: &mut OpenDescriptors,
        port: u16,
        timeout: Duration,
        busy: &HashSet<SocketAddr>,
    ) -> Sweep {
        let fds = descriptors.list();
        let pressure = under_pressure(fds.len());
        let timeout = match pressure {
            true => timeout.min(super::PRESSURE_TIMEOUT),
            false => timeout,
        };
        let timeout_ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let closed = fds
            .into_iter()
            .filter(|&fd| is_stalled_connection(fd, port, timeout_ms))
            .filter(|&fd| peer(fd).is_none_or(|peer| !busy.contains(&peer)))
            // SAFETY: `shutdown` takes any descriptor and changes no memory.
            // Should `fd` have been closed and reused since the check, the
            // worst outcome is one fresh connection reset.
            .filter(|&fd| unsafe { libc::shutdown(fd, libc::SHUT_RDWR) } == 0)
            .count();
        Sweep { closed, pressure }
    }

    /// Whether `open` descriptors are past [`PRESSURE`](super::PRESSURE) of
    /// the soft limit.
    fn under_pressure(open: usize) -> bool {
        let Ok((soft, _)) = rlimit::Resource::NOFILE.get() else {
            return false;
        };
        (open as u64).saturating_mul(super::PRESSURE.1) >= soft.saturating_mul(super::PRESSURE.0)
    }

    /// Reads a socket option of type `T` from `fd`.
    fn option<T>(fd: RawFd, level: libc::c_int, name: libc::c_int) -> Option<T> {
        // SAFETY: every `T` used here is a plain C struct or integer, for
        // which all-zero bytes are a valid value; `getsockopt` writes at
        // most `len` bytes into it.
        let mut value: T = unsafe { zeroed() };
        let mut len = size_of::<T>() as libc::socklen_t;
        let pointer = (&mut value as *mut T).cast();
        // SAFETY: `pointer` and `len` describe `value`, which outlives the
        // call; a closed `fd` is an error, not undefined behaviour.
        match unsafe { libc::getsockopt(fd, level, name, pointer, &mut len) } {
            0 => Some(value),
            _ => None,
        }
    }

    type GetName =
        unsafe extern "C" fn(libc::c_int, *mut libc::sockaddr, *mut libc::socklen_t) -> libc::c_int;

    /// The local (`getsockname`) or peer (`getpeername`) address of `fd`.
    fn address(fd: RawFd, get: GetName) -> Option<SocketAddr> {
        // SAFETY: as in `option`; both calls write at most `len` bytes.
        let mut storage: libc::sockaddr_storage = unsafe { zeroed() };
        let mut len = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        let pointer = (&mut storage as *mut libc::sockaddr_storage).cast();
        // SAFETY: `pointer` and `len` describe `storage`, which outlives
        // the call.
        if unsafe { get(fd, pointer, &mut len) } != 0 {
            return None;
        }
        match libc::c_int::from(storage.ss_family) {
            libc::AF_INET => {
                // SAFETY: the family says which struct the storage holds.
                let v4 = unsafe { &*(pointer as *const libc::sockaddr_in) };
                let ip = Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr));
                Some(SocketAddr::from((ip, u16::from_be(v4.sin_port))))
            }
            libc::AF_INET6 => {
                // SAFETY: as above.
                let v6 = unsafe { &*(pointer as *const libc::sockaddr_in6) };
                let ip = Ipv6Addr::from(v6.sin6_addr.s6_addr);
                Some(SocketAddr::from((ip, u16::from_be(v6.sin6_port))))
            }
            _ => None,
        }
    }

    fn local_port(fd: RawFd) -> Option<u16> {
        address(fd, libc::getsockname).map(|address| address.port())
    }

    fn peer(fd: RawFd) -> Option<SocketAddr> {
        address(fd, libc::getpeername)
    }

    /// An accepted (not listening) TCP connection on local `port`, open or
    /// closed by the peer, that was sent no data for `timeout_ms`.
    fn is_stalled_connection(fd: RawFd, port: u16, timeout_ms: u32) -> bool {
        if local_port(fd) != Some(port) {
            return false;
        }
        if option::<libc::c_int>(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN) != Some(0) {
            return false;
        }
        let Some(info) = option::<libc::tcp_info>(fd, libc::IPPROTO_TCP, libc::TCP_INFO) else {
            return false;
        };
        matches!(info.tcpi_state, ESTABLISHED | CLOSE_WAIT)
            && info.tcpi_last_data_sent >= timeout_ms
    }
}

#[cfg(not(target_os = "linux"))]
mod sweep {
    pub struct OpenDescriptors;

    impl OpenDescriptors {
        pub fn open() -> Option<Self> {
            None
        }
    }

    pub fn run(
        _: &mut OpenDescriptors,
        _: u16,
        _: std::time::Duration,
        _: &std::collections::HashSet<std::net::SocketAddr>,
    ) -> super::Sweep {
        super::Sweep { closed: 0, pressure: false }
    }
}
