//! The built binary under identity-provider faults and shutdown, observed
//! from outside: its log and its exit code.

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::process::*;
use common::*;
use serde_json::json;

fn start(idp: &Idp, log: &Path, auth: &str) -> (Running, String) {
    let port = free_port();
    let env = [
        ("ROCKET_PROFILE", "release".to_owned()),
        ("ROCKET_ADDRESS", "127.0.0.1".to_owned()),
        ("ROCKET_PORT", port.to_string()),
        ("ROCKET_AUTH", auth.to_owned()),
        ("ISSUER_BASE_URL", idp.base_url()),
        ("AUDIENCE", AUDIENCE.to_owned()),
    ];
    let log = std::fs::File::create(log).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let server = Running(service(dir, &env).stdout(log).stderr(Stdio::null()).spawn().unwrap());
    (server, format!("http://127.0.0.1:{port}"))
}

async fn status(base: &str, token: &str) -> u16 {
    http()
        .get(format!("{base}/api/private"))
        .bearer_auth(token)
        .send()
        .await
        .map_or(0, |r| r.status().as_u16())
}

#[tokio::test]
async fn one_warning_per_failure_streak_and_recovery_is_logged() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let log = std::env::temp_dir().join(format!("resilience-streak-{}", std::process::id()));
    let auth = "{jwks_cache_max_age=0.2,jwks_cooldown=0.1,jwks_timeout=0.3}";
    let (mut server, base) = start(&idp, &log, auth);
    wait_until_up(&format!("{base}/health"), &mut server).await;
    let token = key.token(&good_claims(&idp));

    idp.set_mode(Mode::Status(500));
    let before = idp.jwks_hits();
    for _ in 0..15 {
        assert_eq!(status(&base, &token).await, 200, "stale keys keep working");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(idp.jwks_hits() >= before + 3, "several refreshes failed");

    idp.set_mode(Mode::Up);
    tokio::time::sleep(Duration::from_millis(700)).await;
    drop(server);

    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::remove_file(&log).ok();
    assert_eq!(
        text.matches("JWKS refresh failed, keeping the last good keys").count(),
        1,
        "{text}"
    );
    assert_eq!(text.matches("reachable again").count(), 1, "{text}");
}

#[tokio::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_0() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let log = std::env::temp_dir().join(format!("resilience-term-{}", std::process::id()));
    let (mut server, base) = start(&idp, &log, "{jwks_cooldown=0.1,jwks_timeout=1.5}");
    wait_until_up(&format!("{base}/health"), &mut server).await;
    tokio::time::sleep(Duration::from_millis(200)).await;

    // A token with an unknown kid waits on a refetch that hangs: in flight
    // for about jwks_timeout.
    idp.set_mode(Mode::Hang);
    let slow = key.token_with(json!({"kid": "rotated-in"}), &good_claims(&idp));
    let in_flight = tokio::spawn(async move { status(&base, &slow).await });
    tokio::time::sleep(Duration::from_millis(400)).await;

    let pid = server.0.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());

    assert_eq!(in_flight.await.unwrap(), 401, "the in-flight request got its answer");
    let mut exit = None;
    for _ in 0..100 {
        if let Some(status) = server.0.try_wait().unwrap() {
            exit = Some(status);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let exit = exit.expect("exited within Rocket's grace period");
    assert_eq!(exit.code(), Some(0), "{}", std::fs::read_to_string(&log).unwrap_or_default());
    std::fs::remove_file(&log).ok();
}
