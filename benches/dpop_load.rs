//! A closed-loop HTTP/1.1 load generator that signs a fresh DPoP proof for
//! every request (wrk can't: its Lua has no ECDSA). One thread, many
//! keep-alive connections; run it pinned to its own CPU
//! (`benches/dpop_load.sh` does).
//!
//! ```sh
//! cargo run --release --example dpop_load -- --url http://127.0.0.1:3010/api/private-scoped \
//!   --htu https://api.example.test/api/private-scoped --key dpop_key.pk8 --token dpop_token \
//!   --connections 64 --duration 10 --mode dpop
//! cargo run --release --example dpop_load -- --verify-rate 3
//! ```
//!
//! `--mode` is `dpop` (`Authorization: DPoP` and a proof per request),
//! `bearer` (`Authorization: Bearer`, the same token) or `none`;
//! `--iat-offset S` dates every proof `S` seconds ahead (what a client
//! flooding the replay cache does: `benches/dpop_flood.sh`). Prints one
//! line: `requests=… rps=… p50_ms=… p99_ms=… non_2xx=…`. `--verify-rate S`
//! instead prints how many ES256 signatures aws-lc-rs verifies per second
//! on this CPU, for `S` seconds: the ceiling a DPoP request can't beat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    ParsedPublicKey,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs proofs for one key: the header is fixed, the claims change.
struct Prover {
    pair: EcdsaKeyPair,
    header: String,
    htu: String,
    ath: String,
    rng: SystemRandom,
    next_jti: AtomicU64,
    iat_offset: u64,
}

impl Prover {
    fn new(pkcs8: &[u8], htu: String, token: &str, iat_offset: u64) -> Self {
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8).unwrap();
        let point = pair.public_key().as_ref();
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
        let header = b64(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).to_string());
        let ath = b64(digest(&SHA256, token.as_bytes()));
        let rng = SystemRandom::new();
        Prover { pair, header, htu, ath, rng, next_jti: AtomicU64::new(0), iat_offset }
    }

    fn proof(&self) -> String {
        let iat = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() + self.iat_offset;
        let jti = self.next_jti.fetch_add(1, Ordering::Relaxed);
        let claims = format!(
            r#"{{"jti":"{}-{jti}","htm":"GET","htu":"{}","iat":{iat},"ath":"{}"}}"#,
            std::process::id(),
            self.htu,
            self.ath
        );
        let input = format!("{}.{}", self.header, b64(claims));
        let signature = self.pair.sign(&self.rng, input.as_bytes()).unwrap();
        format!("{input}.{}", b64(signature))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Dpop,
    Bearer,
    None,
}

/// One keep-alive connection sending requests back to back until
/// `deadline`; returns its latencies (µs) and its non-2xx count.
async fn connection(
    address: String,
    path: String,
    host: String,
    mode: Mode,
    token: Arc<String>,
    prover: Option<Arc<Prover>>,
    deadline: Instant,
) -> (Vec<u32>, u64) {
    let mut stream = TcpStream::connect(&address).await.expect("connect");
    stream.set_nodelay(true).unwrap();
    let mut latencies = Vec::with_capacity(1 << 16);
    let mut failures = 0;
    let mut buffer = vec![0u8; 64 * 1024];
    while Instant::now() < deadline {
        let mut request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\n");
        match mode {
            Mode::Dpop => {
                let proof = prover.as_ref().unwrap().proof();
                request.push_str(&format!("Authorization: DPoP {token}\r\nDPoP: {proof}\r\n"));
            }
            Mode::Bearer => request.push_str(&format!("Authorization: Bearer {token}\r\n")),
            Mode::None => {}
        }
        request.push_str("\r\n");
        let started = Instant::now();
        stream.write_all(request.as_bytes()).await.expect("write");

        // Read the head, then as many body bytes as Content-Length says.
        let mut filled = 0;
        let (head_end, status, length) = loop {
            let n = stream.read(&mut buffer[filled..]).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            filled += n;
            if let Some(end) = buffer[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                let head = std::str::from_utf8(&buffer[..end]).expect("an ASCII head");
                let status: u16 = head[9..12].parse().expect("a status");
                let length = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0usize);
                break (end + 4, status, length);
            }
        };
        let mut body = filled - head_end;
        while body < length {
            let n = stream.read(&mut buffer).await.expect("read");
            assert!(n > 0, "the server closed the connection");
            body += n;
        }
        latencies.push(started.elapsed().as_micros() as u32);
        if !(200..300).contains(&status) {
            failures += 1;
        }
    }
    (latencies, failures)
}

fn verify_rate(seconds: f64) {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let message = b"eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9";
    let signature = pair.sign(&SystemRandom::new(), message).unwrap();
    let key = ParsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap();
    let started = Instant::now();
    let mut count = 0u64;
    while started.elapsed().as_secs_f64() < seconds {
        for _ in 0..100 {
            key.verify_sig(message, signature.as_ref()).unwrap();
        }
        count += 100;
    }
    println!("es256_verify_per_s={:.0}", count as f64 / started.elapsed().as_secs_f64());
}

fn main() {
    if let Some(seconds) = arg("--verify-rate") {
        verify_rate(seconds.parse().expect("--verify-rate"));
        return;
    }
    let url = arg("--url").expect("--url http://host:port/path");
    let rest = url.strip_prefix("http://").expect("an http:// URL");
    let (address, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let mode = match arg("--mode").as_deref().unwrap_or("dpop") {
        "dpop" => Mode::Dpop,
        "bearer" => Mode::Bearer,
        "none" => Mode::None,
        other => panic!("--mode {other}: dpop, bearer or none"),
    };
    let connections: usize = arg("--connections").map_or(64, |n| n.parse().expect("--connections"));
    let duration: f64 = arg("--duration").map_or(10.0, |d| d.parse().expect("--duration"));
    let host = arg("--host").unwrap_or_else(|| address.to_owned());
    let token = Arc::new(
        arg("--token")
            .map(|f| std::fs::read_to_string(f).expect("--token file"))
            .unwrap_or_default()
            .trim()
            .to_owned(),
    );
    let prover = (mode == Mode::Dpop).then(|| {
        let key = std::fs::read(arg("--key").expect("--key pkcs8 file")).expect("--key file");
        let iat_offset = arg("--iat-offset").map_or(0, |s| s.parse().expect("--iat-offset"));
        Arc::new(Prover::new(&key, arg("--htu").expect("--htu"), &token, iat_offset))
    });

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (latencies, failures, elapsed) = runtime.block_on(async {
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(duration);
        let tasks: Vec<_> = (0..connections)
            .map(|_| {
                tokio::spawn(connection(
                    address.to_owned(),
                    path.to_owned(),
                    host.clone(),
                    mode,
                    token.clone(),
                    prover.clone(),
                    deadline,
                ))
            })
            .collect();
        let mut all = Vec::new();
        let mut failures = 0;
        for task in tasks {
            let (latencies, failed) = task.await.unwrap();
            all.extend(latencies);
            failures += failed;
        }
        (all, failures, started.elapsed())
    });
    let mut sorted = latencies;
    sorted.sort_unstable();
    let percentile = |p: f64| {
        sorted
            .get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1)))
            .map_or(0.0, |us| *us as f64 / 1000.0)
    };
    println!(
        "requests={} rps={:.0} p50_ms={:.3} p99_ms={:.3} non_2xx={failures}",
        sorted.len(),
        sorted.len() as f64 / elapsed.as_secs_f64(),
        percentile(0.50),
        percentile(0.99)
    );
}
