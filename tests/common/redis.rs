//! A real `redis-server` on a free loopback port, started and stopped by
//! the test (Debian's package; `.ci/run` installs it).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::process::{free_port, Running};

/// A running server; stopped when dropped.
pub struct RedisServer {
    pub port: u16,
    process: Option<Running>,
}

impl RedisServer {
    /// Starts one on a free port, or `None` (outside CI) without
    /// `redis-server` on this machine; under CI that is a failure.
    pub fn start() -> Option<RedisServer> {
        let port = free_port();
        match Self::start_on(port) {
            Ok(server) => Some(server),
            Err(why) if std::env::var_os("CI").is_none() => {
                eprintln!("not run: {why} (install redis-server; CI does)");
                None
            }
            Err(why) => panic!("the Redis tests must run in CI: {why}"),
        }
    }

    fn start_on(port: u16) -> Result<RedisServer, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--protected-mode", "yes"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("can't start redis-server: {e}"))?;
        let server = RedisServer { port, process: Some(Running(child)) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if server.ping() {
                return Ok(server);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!("redis-server on port {port} never answered PING"))
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Whether it answers `PING` now (a raw RESP exchange: the test needs
    /// no Redis client of its own).
    pub fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0; 7];
        stream.write_all(b"PING\r\n").is_ok()
            && stream.read_exact(&mut reply).is_ok()
            && &reply == b"+PONG\r\n"
    }

    /// Stops it (its data goes with it: nothing is saved).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let server = Self::start_on(self.port).expect("redis-server restarts");
        *self = server;
    }
}
