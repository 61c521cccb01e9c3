//! Starting the built binary (and other programs) for tests that talk to a
//! real process over HTTP.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

pub const BINARY: &str = env!("CARGO_BIN_EXE_auth0-rocket-api");

/// The variables a test sets itself; cleared so the caller's can't leak in.
const OWN_VARIABLES: [&str; 10] = [
    "ROCKET_PROFILE",
    "ROCKET_ADDRESS",
    "ROCKET_PORT",
    "ROCKET_CONFIG",
    "ROCKET_AUTH",
    "ROCKET_LOG_LEVEL",
    "ISSUER_BASE_URL",
    "AUDIENCE",
    "ISSUER",
    "JWKS_URI",
];

pub use super::{Running, free_port};

/// The service binary, run in `dir` with only `env` of its own variables.
pub fn service(dir: &Path, env: &[(&str, String)]) -> Command {
    let mut command = Command::new(BINARY);
    command.current_dir(dir);
    for var in OWN_VARIABLES {
        command.env_remove(var);
    }
    command.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Waits until `url` answers at all, failing if `process` exits first.
pub async fn wait_until_up(url: &str, process: &mut Running) {
    for _ in 0..300 {
        if let Ok(Some(status)) = process.0.try_wait() {
            panic!("{url}: process exited early: {status}");
        }
        if http().get(url).send().await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up");
}

/// The service binary running on a free loopback port in the release
/// profile against `idp`, its stdout in a log file.
pub struct Server {
    pub running: Running,
    pub port: u16,
    pub log_path: std::path::PathBuf,
}

impl Server {
    /// Starts it with `env` added, and with the open-files limit set to
    /// `nofile` (soft, hard) in the child when given.
    pub async fn start(issuer: &str, env: &[(&str, String)], nofile: Option<(u64, u64)>) -> Server {
        use std::os::unix::process::CommandExt;

        let port = free_port();
        let mut all = vec![
            ("ROCKET_PROFILE", "release".to_owned()),
            ("ROCKET_ADDRESS", "127.0.0.1".to_owned()),
            ("ROCKET_PORT", port.to_string()),
            ("ISSUER_BASE_URL", issuer.to_owned()),
            ("AUDIENCE", super::AUDIENCE.to_owned()),
        ];
        all.extend(env.iter().map(|(k, v)| (*k, v.clone())));
        let log_path = std::env::temp_dir()
            .join(format!("auth0-rocket-api-{}-{port}.log", std::process::id()));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = service(Path::new(env!("CARGO_MANIFEST_DIR")), &all);
        command.stdout(log);
        if let Some((soft, hard)) = nofile {
            let limit = libc::rlimit { rlim_cur: soft, rlim_max: hard };
            // SAFETY: only `setrlimit`, async-signal-safe, runs in the child.
            unsafe {
                command.pre_exec(move || match libc::setrlimit(libc::RLIMIT_NOFILE, &limit) {
                    0 => Ok(()),
                    _ => Err(std::io::Error::last_os_error()),
                });
            }
        }
        let mut running = Running(command.spawn().unwrap());
        wait_until_up(&format!("http://127.0.0.1:{port}/health"), &mut running).await;
        Server { running, port, log_path }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Stops the server and returns everything it logged.
    pub fn stop(self) -> String {
        let Server { running, log_path, .. } = self;
        drop(running);
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        std::fs::remove_file(&log_path).ok();
        log
    }
}
