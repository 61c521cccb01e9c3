//! A real `redis-server` on a free loopback port, started and stopped by
//! the test (Debian's package; `.ci/run` installs it).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{Running, free_port};

/// A running server; stopped when dropped.
pub struct RedisServer {
    pub port: u16,
    /// Extra `redis-server` arguments, kept for a restart.
    args: Vec<String>,
    process: Option<Running>,
}

impl RedisServer {
    /// Starts one on a free port, or `None` (outside CI) without
    /// `redis-server` on this machine; under CI that is a failure.
    pub fn start() -> Option<RedisServer> {
        Self::start_with(&[])
    }

    /// Starts one with extra command-line settings (`--maxmemory 64mb`).
    pub fn start_with(args: &[&str]) -> Option<RedisServer> {
        let port = free_port();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        match Self::start_on(port, args) {
            Ok(server) => Some(server),
            Err(why) if std::env::var_os("CI").is_none() => {
                eprintln!("not run: {why} (install redis-server; CI does)");
                None
            }
            Err(why) => panic!("the Redis tests must run in CI: {why}"),
        }
    }

    fn start_on(port: u16, args: Vec<String>) -> Result<RedisServer, String> {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(["--appendonly", "no", "--protected-mode", "yes"])
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("can't start redis-server: {e}"))?;
        let server = RedisServer { port, args, process: Some(Running(child)) };
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

    /// Whether it answers `PING` now.
    pub fn ping(&self) -> bool {
        self.command("PING") == "+PONG"
    }

    /// The first line of the reply to an inline command (`DBSIZE` gives
    /// `:12`): a raw RESP exchange, so the test needs no Redis client of
    /// its own. Empty if the server doesn't answer.
    pub fn command(&self, line: &str) -> String {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return String::new();
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        if stream.write_all(format!("{line}\r\n").as_bytes()).is_err() {
            return String::new();
        }
        let mut reply = Vec::new();
        let mut byte = [0u8; 1];
        while reply.len() < 4096 && stream.read_exact(&mut byte).is_ok() && byte[0] != b'\n' {
            reply.push(byte[0]);
        }
        String::from_utf8_lossy(&reply).trim_end().to_owned()
    }

    /// Stops it (its data goes with it: nothing is saved).
    pub fn stop(&mut self) {
        self.process = None;
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let server = Self::start_on(self.port, self.args.clone()).expect("redis-server restarts");
        *self = server;
    }
}
