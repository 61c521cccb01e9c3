//! Clients that attack the connection rather than the token, against the
//! built binary over real TCP: idle and slowloris connections, a low
//! open-files limit, `Host` headers that aren't one valid authority,
//! HTTP/2 in cleartext, and requests built to flood or read the log.

mod common;

use std::time::{Duration, Instant};

use common::process::*;
use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Sends `request` as is on a new connection and returns the whole answer
/// (the server closes after it, or within `wait`).
async fn raw(port: u16, request: &[u8], wait: Duration) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(wait, stream.read_to_end(&mut answer)).await;
    String::from_utf8_lossy(&answer).into_owned()
}

/// The status code of an HTTP/1 answer.
fn status(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Whether the server closed `stream` (end of stream, or reset) within
/// `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

async fn idle_connections(port: u16, count: usize) -> Vec<TcpStream> {
    let mut all = Vec::with_capacity(count);
    for _ in 0..count {
        all.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
    }
    all
}

async fn public_status(server: &Server) -> Option<u16> {
    let request = http().get(format!("{}/api/public", server.base())).send();
    match tokio::time::timeout(Duration::from_secs(5), request).await {
        Ok(Ok(response)) => Some(response.status().as_u16()),
        _ => None,
    }
}

/// The status of `/api/public`, asked again until it answers or `limit`
/// has passed.
async fn public_status_within(server: &Server, limit: Duration) -> Option<u16> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Some(status) = public_status(server).await {
            return Some(status);
        }
    }
    None
}

#[tokio::test]
async fn idle_connections_past_a_low_soft_limit_do_not_stop_a_request() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    // Soft limit 256, hard limit as the test's own (20000 here, 1M on some
    // machines); the idle timeout off, so only the raised limit helps.
    let hard = open_files_hard_limit();
    assert!(hard >= 2048, "this test needs a hard open-files limit of 2048, not {hard}");
    let env = [("ROCKET_IDLE_TIMEOUT", "0".to_owned())];
    let server = Server::start(&idp.base_url(), &env, Some((256, hard))).await;

    let _idle = idle_connections(server.port, 1000).await;
    assert_eq!(public_status(&server).await, Some(200), "served past 1000 idle connections");

    let log = server.stop();
    assert!(log.contains(&format!("open files limit: raised from 256 to {hard}")), "{log}");
}

#[tokio::test]
async fn stalled_connections_are_closed_after_the_idle_timeout() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    // A hard limit of 128 leaves no room to raise: only closing helps.
    let env = [("ROCKET_IDLE_TIMEOUT", "1".to_owned())];
    let server = Server::start(&idp.base_url(), &env, Some((128, 128))).await;
    let host = format!("Host: 127.0.0.1:{}\r\n", server.port);

    let mut silent = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let mut kept_alive = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let request = format!("GET /api/public HTTP/1.1\r\n{host}\r\n");
    kept_alive.write_all(request.as_bytes()).await.unwrap();
    let mut slowloris = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let drip = tokio::spawn(async move {
        let partial = format!("GET /api/public HTTP/1.1\r\n{host}X-Slow: ");
        for byte in partial.bytes().chain(std::iter::repeat(b'a')).take(60) {
            if slowloris.write_all(&[byte]).await.is_err() {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        closed_within(&mut slowloris, Duration::from_millis(1)).await
    });
    // An active client, one request every 300 ms, is never cut off.
    let mut active = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let active_request = request.clone();
    let busy = tokio::spawn(async move {
        let mut buf = [0u8; 4096];
        for _ in 0..12 {
            active.write_all(active_request.as_bytes()).await.unwrap();
            match active.read(&mut buf).await {
                Ok(n) if n > 0 => {}
                _ => return false,
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        true
    });

    assert!(closed_within(&mut silent, Duration::from_secs(4)).await, "silent connection");
    assert!(closed_within(&mut kept_alive, Duration::from_secs(4)).await, "idle keep-alive");
    assert!(drip.await.unwrap(), "slowloris connection");
    assert!(busy.await.unwrap(), "an active connection stays open");

    // More silent connections than descriptors: requests wait for the
    // sweep, then are served.
    let _flood = idle_connections(server.port, 300).await;
    let served = public_status_within(&server, Duration::from_secs(15)).await;
    assert_eq!(served, Some(200), "served once stalled connections are closed");
    server.stop();
}

#[tokio::test]
async fn when_descriptors_run_short_idle_connections_go_sooner() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    // The shipped idle_timeout (30 s), and no room to raise the limit.
    let server = Server::start(&idp.base_url(), &[], Some((128, 128))).await;

    let _flood = idle_connections(server.port, 300).await;
    let served = public_status_within(&server, Duration::from_secs(15)).await;
    assert_eq!(served, Some(200), "served well before the 30 s idle timeout");

    let log = server.stop();
    assert!(log.contains("open files past 3/4 of the limit"), "{log}");
}

/// Connections that pipeline requests, never read the answers, then send
/// FIN: the server's sockets sit in CLOSE-WAIT with answers it can't send.
/// Each is written by its own task (the server may not have accepted it
/// yet); the tasks hold the client sockets open until `hold` has passed.
fn half_closed_slow_readers(port: u16, count: usize, hold: Duration) {
    let request = format!("GET /api/public HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n");
    // About 47 KB of requests (what the kernel takes before the server
    // reads), about 300 KB of answers (far more than a 4 KiB window).
    let pipelined = request.repeat(1000);
    for _ in 0..count {
        let pipelined = pipelined.clone();
        tokio::spawn(async move {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            socket.set_recv_buffer_size(4096).unwrap();
            let Ok(mut stream) = socket.connect(([127, 0, 0, 1], port).into()).await else {
                return;
            };
            let _ = stream.write_all(pipelined.as_bytes()).await;
            let _ = stream.shutdown().await;
            tokio::time::sleep(hold).await;
        });
    }
}

#[tokio::test]
async fn half_closed_slow_readers_are_swept_under_a_low_limit() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    let env = [("ROCKET_IDLE_TIMEOUT", "2".to_owned())];
    let server = Server::start(&idp.base_url(), &env, Some((256, 256))).await;

    half_closed_slow_readers(server.port, 600, Duration::from_secs(60));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let started = Instant::now();
    for i in 0..5 {
        let status = public_status_within(&server, Duration::from_secs(20)).await;
        assert_eq!(status, Some(200), "request {i}, beside 600 half-closed slow readers");
    }
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
    server.stop();
}

#[tokio::test]
async fn a_request_in_progress_is_never_cut_as_idle() {
    let (k1, k2) = (TestKey::rsa("k1"), TestKey::rsa("k2"));
    let idp = Idp::start(&[&k1]).await;
    let env = [
        ("ROCKET_IDLE_TIMEOUT", "1".to_owned()),
        ("ROCKET_AUTH", "{jwks_cooldown=0.1}".to_owned()),
    ];
    let server = Server::start(&idp.base_url(), &env, None).await;
    // A token signed by a key the service hasn't seen: its request waits
    // for a refetch the issuer takes 1.8 s to answer.
    idp.set_keys(&[&k1, &k2]);
    idp.set_mode(Mode::Slow(Duration::from_millis(1800)));
    let token = k2.token(&good_claims(&idp));

    let mut stream = TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
    let host = format!("Host: 127.0.0.1:{}\r\n", server.port);
    let first = format!("GET /api/public HTTP/1.1\r\n{host}\r\n");
    stream.write_all(first.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    assert!(stream.read(&mut buf).await.unwrap() > 0);
    // Idle for most of the timeout, then a request that outlasts the rest.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let slow = format!("GET /api/private HTTP/1.1\r\n{host}Authorization: Bearer {token}\r\n\r\n");
    stream.write_all(slow.as_bytes()).await.unwrap();
    let answer = match tokio::time::timeout(Duration::from_secs(6), stream.read(&mut buf)).await {
        Ok(Ok(n)) => String::from_utf8_lossy(&buf[..n]).into_owned(),
        other => panic!("no answer: {other:?}"),
    };
    assert_eq!(status(&answer), Some(200), "{answer}");
    // Then, idle again, the connection goes.
    assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
    server.stop();
}

#[tokio::test]
async fn a_request_with_several_or_a_malformed_host_is_a_400() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    // At `normal`, so that the access log is written.
    let env = [("ROCKET_LOG_LEVEL", "normal".to_owned())];
    let server = Server::start(&idp.base_url(), &env, None).await;
    let port = server.port;
    let wait = Duration::from_secs(2);
    let ask = |head: String| async move {
        let request = format!("GET /api/public HTTP/1.1\r\n{head}Connection: close\r\n\r\n");
        raw(port, request.as_bytes(), wait).await
    };

    for head in [
        format!("Host: 127.0.0.1:{port}\r\nHost: 127.0.0.1:{port}\r\n"),
        "Host: \r\n".to_owned(),
        "Host: user@127.0.0.1\r\n".to_owned(),
        "Host: 127.0.0.1:99999\r\n".to_owned(),
        "Host: [::1\r\n".to_owned(),
        "Host: a/b\r\n".to_owned(),
    ] {
        let answer = ask(head.clone()).await;
        assert_eq!(status(&answer), Some(400), "{head:?}: {answer}");
        assert!(answer.contains("Host header must be one valid authority"), "{head:?}: {answer}");
    }
    // HTTP/1.0 without a Host is served (load balancers' health checks);
    // a DPoP request then can't name its target, and says so.
    let answer = raw(port, b"OPTIONS / HTTP/1.0\r\n\r\n", wait).await;
    assert!(!answer.contains("must be one valid authority"), "{answer}");
    let answer = raw(port, b"GET /api/public HTTP/1.0\r\n\r\n", wait).await;
    assert!(answer.starts_with("HTTP/1.") && answer.contains(" 200 "), "{answer}");
    let answer = raw(port, b"GET /health HTTP/1.0\r\n\r\n", wait).await;
    assert!(answer.contains(" 200 "), "{answer}");
    let answer = raw(port, b"GET /api/private HTTP/1.0\r\n\r\n", wait).await;
    assert!(answer.contains(" 401 "), "{answer}");
    let dpop = "GET /api/private HTTP/1.0\r\nAuthorization: DPoP x.y.z\r\nDPoP: a.b.c\r\n\r\n";
    let answer = raw(port, dpop.as_bytes(), wait).await;
    assert!(
        answer.contains(" 400 ") && answer.contains("Missing or malformed Host header"),
        "{answer}"
    );

    for head in [
        format!("Host: 127.0.0.1:{port}\r\n"),
        "Host: localhost\r\n".to_owned(),
        "Host: [::1]:80\r\n".to_owned(),
    ] {
        assert_eq!(status(&ask(head.clone()).await), Some(200), "{head:?}");
    }
    // The route that answers is not reachable as a path of its own.
    let direct = "GET /__invalid-host HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    assert_eq!(status(&raw(port, direct.as_bytes(), wait).await), Some(404));
    // The access log names the path that was asked for, not the reroute.
    let log = server.stop();
    assert!(log.contains("GET /api/public 400 "), "{log}");
    assert!(!log.contains("GET /__invalid-host 400"), "{log}");
}

#[tokio::test]
async fn http2_in_cleartext_is_not_spoken() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    let server = Server::start(&idp.base_url(), &[], None).await;
    // The HTTP/2 connection preface, then an empty SETTINGS frame.
    let mut preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    preface.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    let answer = raw(server.port, &preface, Duration::from_secs(2)).await;
    // An HTTP/2 server answers with its own SETTINGS frame (type 4).
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 "), "{answer:?}");
    server.stop();
}

#[tokio::test]
async fn bad_input_writes_a_line_per_cause_not_per_request() {
    let idp = Idp::start(&[&TestKey::rsa("k1")]).await;
    let server = Server::start(&idp.base_url(), &[], None).await;
    let mut request =
        format!("GET /api/public HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n", server.port).into_bytes();
    for i in 0..95 {
        // A lone 0xE9 byte: not UTF-8, so Rocket drops the header and warns.
        request.extend_from_slice(format!("X-Bad-{i}: caf").as_bytes());
        request.extend_from_slice(b"\xe9\r\n");
    }
    request.extend_from_slice(b"Connection: close\r\n\r\n");
    for _ in 0..3 {
        let answer = raw(server.port, &request, Duration::from_secs(2)).await;
        assert_eq!(status(&answer), Some(200), "{answer}");
    }
    let unknown = "BREW /api/public HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
    for _ in 0..20 {
        raw(server.port, unknown.as_bytes(), Duration::from_secs(2)).await;
    }

    let log = server.stop();
    let lines = |needle: &str| log.lines().filter(|line| line.contains(needle)).count();
    assert_eq!(lines("invalid UTF-8"), 1, "{log}");
    assert!(lines("Bad incoming HTTP request") <= 1, "{log}");
    let after_launch = log.split_once("has launched").map_or("", |(_, rest)| rest);
    assert!(after_launch.lines().count() < 12, "{log}");
}

#[tokio::test]
async fn no_token_reaches_the_debug_log() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let env = [("ROCKET_LOG_LEVEL", "debug".to_owned())];
    let server = Server::start(&idp.base_url(), &env, None).await;
    let token = key.token(&good_claims(&idp));
    let signature = token.rsplit_once('.').unwrap().1.to_owned();
    let secrets = ["proof-secret-proof", "cookie-secret-cookie", signature.as_str()];

    let host = format!("Host: 127.0.0.1:{}\r\n", server.port);
    let requests = [
        format!(
            "GET /api/private HTTP/1.1\r\n{host}Authorization: Bearer {token}\r\n\
             DPoP: proof-secret-proof\r\nCookie: session=cookie-secret-cookie\r\n\
             Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/private?access_token={token} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
        ),
        format!(
            "GET /api/private?a=1&access%5Ftoken={token} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
        ),
        // Refused before any fairing runs: Rocket logs its URI itself.
        format!(
            "BREW /api/private?access_token={token} HTTP/1.1\r\n{host}Connection: close\r\n\r\n"
        ),
    ];
    for request in &requests {
        let answer = raw(server.port, request.as_bytes(), Duration::from_secs(2)).await;
        assert!(status(&answer).is_some(), "{answer}");
    }

    let log = server.stop();
    assert!(log.contains("GET /api/private"), "the debug log is captured: {log}");
    for secret in secrets {
        assert!(!log.contains(secret), "{secret} is in the log:\n{log}");
    }
}

fn open_files_hard_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes one `rlimit` through a valid pointer.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) }, 0);
    limit.rlim_max.min(1 << 20)
}
