//! A loopback identity provider for the load and soak scripts: discovery and
//! a JWKS on 127.0.0.1, and tokens for its key written to files.
//!
//! ```sh
//! cargo run --release --example loopback_idp -- --port 3011 --dir /tmp/idp --tokens 1000
//! cargo run --release --example loopback_idp -- --port 3011 --dir /tmp/idp --chaos 2
//! cargo run --release --example loopback_idp -- --port 3011 --dir /tmp/idp --pad 11700
//! cargo run --release --example loopback_idp -- --port 3011 --dir /tmp/idp --issuers 3
//! ```
//!
//! Writes `<dir>/token` (one token) and `<dir>/tokens` (one per line), all
//! with scope `read:messages`, audience `https://api.example.test`, valid
//! for a day, signed by a key that stays published throughout; `--pad N`
//! adds a claim of N filler bytes to each (large-token tests). With
//! `--chaos S`, every S seconds the JWKS endpoint moves to the next of: up,
//! answering 500, up, hanging, up, garbage, up with an extra rotated-in key,
//! closing connections. With `--issuers N`, N - 1 more issuers (each with
//! its own key, on free ports) serve too: `<dir>/issuers` holds all N base
//! URLs as a TOML array, `<dir>/rotation` one token of each. For DPoP
//! load (`benches/dpop_load.rs`), `<dir>/dpop_key.pk8` is a client ES256
//! key made now (PKCS#8 DER, test-only) and `<dir>/dpop_token` a token
//! bound to it (`cnf.jkt`). Runs until killed.

#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/dpop.rs"]
mod dpop;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/idp.rs"]
mod idp;
#[path = "../crates/rocket-oauth2-jwt-bearer/tests/common/keys.rs"]
mod keys;

use std::time::Duration;

use idp::{Idp, Mode};
use keys::{AUDIENCE, TestKey, now};
use serde_json::json;

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let port: u16 = arg("--port").map_or(0, |p| p.parse().expect("--port"));
    let dir = std::path::PathBuf::from(arg("--dir").unwrap_or_else(|| ".".into()));
    let count: usize = arg("--tokens").map_or(1000, |n| n.parse().expect("--tokens"));
    let chaos: Option<f64> = arg("--chaos").map(|s| s.parse().expect("--chaos"));
    let pad: usize = arg("--pad").map_or(0, |n| n.parse().expect("--pad"));
    let issuers: usize = arg("--issuers").map_or(1, |n| n.parse().expect("--issuers"));

    let key = TestKey::rsa("loopback-1");
    let idp = Idp::start_on(port, &[&key]).await;
    let token = |i: usize| {
        key.token(&json!({
            "iss": idp.base_url(), "sub": format!("load|{i}"), "aud": AUDIENCE,
            "iat": now(), "exp": now() + 86400, "jti": format!("jti-{i}"),
            "scope": "openid read:messages", "pad": "p".repeat(pad),
        }))
    };
    std::fs::create_dir_all(&dir).expect("--dir");
    std::fs::write(dir.join("token"), token(0)).unwrap();
    let pool: Vec<String> = (1..=count).map(token).collect();
    let mut others = Vec::new();
    let mut urls = vec![idp.base_url()];
    let mut rotation = vec![token(0)];
    for i in 1..issuers {
        let key = TestKey::rsa(&format!("loopback-issuer-{i}"));
        let other = Idp::start(&[&key]).await;
        urls.push(other.base_url());
        rotation.push(key.token(&json!({
            "iss": other.base_url(), "sub": format!("load|issuer-{i}"), "aud": AUDIENCE,
            "iat": now(), "exp": now() + 86400, "scope": "openid read:messages",
        })));
        others.push(other);
    }
    let urls: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    std::fs::write(dir.join("issuers"), format!("[{}]", urls.join(", "))).unwrap();
    std::fs::write(dir.join("rotation"), rotation.join("\n") + "\n").unwrap();
    std::fs::write(dir.join("tokens"), pool.join("\n") + "\n").unwrap();
    // Two DPoP clients, each with its own key and bound token.
    for suffix in ["", "2"] {
        let client = dpop::DpopKey::es256();
        let Some(keys::TestKey::Ec { pair, .. }) = &client.key else { unreachable!("an EC key") };
        let pkcs8 = pair.to_pkcs8v1().unwrap();
        std::fs::write(dir.join(format!("dpop_key{suffix}.pk8")), pkcs8.as_ref()).unwrap();
        let bound = key.token(&json!({
            "iss": idp.base_url(), "sub": format!("load|dpop{suffix}"), "aud": AUDIENCE,
            "iat": now(), "exp": now() + 86400, "scope": "openid read:messages",
            "cnf": { "jkt": client.jkt() },
        }));
        std::fs::write(dir.join(format!("dpop_token{suffix}")), bound).unwrap();
    }
    println!("issuer {} ready; tokens in {}", idp.base_url(), dir.display());

    let Some(every) = chaos else {
        std::future::pending::<()>().await;
        return;
    };
    let rotated = TestKey::rsa("loopback-2");
    let schedule = [
        Mode::Up,
        Mode::Status(500),
        Mode::Up,
        Mode::Hang,
        Mode::Up,
        Mode::Garbage,
        Mode::Up,
        Mode::Down,
    ];
    for step in 0usize.. {
        let mode = schedule[step % schedule.len()].clone();
        // Every other "up" also publishes (or withdraws) a rotated-in key;
        // the tokens' key stays published throughout.
        if mode == Mode::Up && step % 4 == 2 {
            idp.set_keys(&[&key, &rotated]);
        } else if mode == Mode::Up {
            idp.set_keys(&[&key]);
        }
        println!("chaos: {mode:?} (JWKS fetches so far: {})", idp.jwks_hits());
        idp.set_mode(mode);
        tokio::time::sleep(Duration::from_secs_f64(every)).await;
    }
}
