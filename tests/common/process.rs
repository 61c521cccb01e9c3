//! Starting the built binary (and other programs) for tests that talk to a
//! real process over HTTP.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command};
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

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Kills the process when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
