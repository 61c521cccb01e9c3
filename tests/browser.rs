//! The API explorer page in a real browser: headless Chromium, driven over
//! WebDriver (chromedriver) against the built binary with its development
//! issuer, asserting on what the page shows.
//!
//! `cargo test` has no "skipped": without Chromium this test says it did not
//! run and passes, except under CI (`CI` set), where it fails, so CI can
//! never pass without the browser check. `.ci/run` installs Debian's
//! `chromium` and `chromium-driver`.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::process::*;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// Polls `check` until it holds, for up to 15 s.
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..150 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for: {what}");
}

async fn text(browser: &Client, id: &str) -> String {
    browser.find(Locator::Id(id)).await.unwrap().text().await.unwrap()
}

async fn value(browser: &Client, id: &str) -> String {
    let element = browser.find(Locator::Id(id)).await.unwrap();
    element.prop("value").await.unwrap().unwrap_or_default()
}

async fn click(browser: &Client, id: &str) {
    browser.find(Locator::Id(id)).await.unwrap().click().await.unwrap();
}

/// Clicks the button for `path` and waits for the page to show its status.
async fn call(browser: &Client, button: &str) -> (String, String, String) {
    browser.execute("document.getElementById('status').dataset.code = ''", vec![]).await.unwrap();
    click(browser, button).await;
    eventually(button, || async {
        let code = browser.find(Locator::Id("status")).await.unwrap().attr("data-code").await;
        matches!(code, Ok(Some(code)) if !code.is_empty())
    })
    .await;
    (text(browser, "status").await, text(browser, "challenge").await, text(browser, "body").await)
}

async fn get_token(browser: &Client) -> String {
    let before = value(browser, "token").await;
    click(browser, "get-token").await;
    eventually("a new development token", || async {
        let now = value(browser, "token").await;
        !now.is_empty() && now != before
    })
    .await;
    value(browser, "token").await
}

#[tokio::test]
async fn the_explorer_page_drives_the_api() {
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        let why = format!(
            "{CHROMIUM} or {CHROMEDRIVER} is missing (apt-get install chromium chromium-driver)"
        );
        if std::env::var_os("CI").is_some() {
            panic!("the browser test must run in CI: {why}");
        }
        eprintln!("browser test did NOT run: {why}");
        return;
    }

    // The service as `cargo run` starts it: debug profile, shipped Rocket.toml,
    // no issuer configured, so the development issuer is on.
    let port = free_port();
    let env = [("ROCKET_PORT", port.to_string()), ("ROCKET_ADDRESS", "127.0.0.1".to_owned())];
    let mut server = Running(
        service(Path::new(env!("CARGO_MANIFEST_DIR")), &env).stdout(Stdio::null()).spawn().unwrap(),
    );
    let page = format!("http://127.0.0.1:{port}/");
    wait_until_up(&page, &mut server).await;

    let driver_port = free_port();
    let mut driver = Running(
        Command::new(CHROMEDRIVER)
            .arg(format!("--port={driver_port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let driver_url = format!("http://127.0.0.1:{driver_port}");
    wait_until_up(&format!("{driver_url}/status"), &mut driver).await;

    let profile = std::env::temp_dir().join(format!("explorer-chromium-{}", std::process::id()));
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--window-size=390,844",
                format!("--user-data-dir={}", profile.display()),
            ],
        }
    });
    let browser = ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities.as_object().unwrap().clone())
        .connect(&driver_url)
        .await
        .expect("chromedriver session");

    browser.goto(&page).await.unwrap();
    eventually("the development issuer panel", || async {
        let panel = browser.find(Locator::Id("dev-issuer")).await.unwrap();
        panel.attr("hidden").await.unwrap().is_none()
    })
    .await;
    assert_eq!(text(&browser, "dev-issuer-url").await, format!("http://127.0.0.1:{port}/"));

    // A token with read:messages (checked by default): every route answers 200.
    let token = get_token(&browser).await;
    assert_eq!(token.split('.').count(), 3);
    let claims = text(&browser, "claims").await;
    assert!(claims.contains("not verified") || claims.contains("read:messages"), "{claims}");
    assert!(claims.contains("\"scope\": \"read:messages\""), "{claims}");

    let (status, challenge, body) = call(&browser, "call-private-scoped").await;
    assert_eq!(status, "200 OK");
    assert_eq!(challenge, "(none)");
    assert!(body.contains("have a scope of read:messages"), "{body}");
    assert!(call(&browser, "call-private").await.0.starts_with("200"));

    // DPoP: a token bound to the page's WebCrypto key, a fresh proof per call.
    click(&browser, "use-dpop").await;
    let bound = get_token(&browser).await;
    let claims = text(&browser, "claims").await;
    assert!(claims.contains("\"cnf\"") && claims.contains("\"jkt\""), "{claims}");
    for _ in 0..2 {
        let (status, challenge, body) = call(&browser, "call-private-scoped").await;
        assert_eq!((status.as_str(), challenge.as_str()), ("200 OK", "(none)"), "{body}");
        let proof = text(&browser, "proof").await;
        assert!(proof.contains("\"typ\": \"dpop+jwt\""), "{proof}");
        let htu = format!("\"htu\": \"http://127.0.0.1:{port}/api/private-scoped\"");
        assert!(proof.contains(&htu) && proof.contains("\"ath\""), "{proof}");
    }
    // The same token as a bearer token: refused (RFC 9449 §7.2).
    click(&browser, "use-dpop").await;
    assert_eq!(value(&browser, "token").await, bound);
    let (status, challenge, _) = call(&browser, "call-private").await;
    assert_eq!(status, "401 Unauthorized");
    assert!(
        challenge.contains("error_description=\"Sender-constrained token used as a bearer token\""),
        "{challenge}"
    );
    get_token(&browser).await;

    // Without read:messages: 403 with the insufficient_scope challenge.
    click(&browser, "scope-read").await;
    click(&browser, "scope-write").await;
    get_token(&browser).await;
    let (status, challenge, body) = call(&browser, "call-private-scoped").await;
    assert_eq!(status, "403 Forbidden");
    assert!(challenge.contains("error=\"insufficient_scope\""), "{challenge}");
    assert!(body.contains("Insufficient Scope"), "{body}");

    // No token: 401 on the private route, 200 on the public one.
    click(&browser, "clear-token").await;
    let (status, challenge, body) = call(&browser, "call-private").await;
    assert_eq!(status, "401 Unauthorized");
    // The development issuer describes the service (RFC 9728).
    let metadata = format!(
        "resource_metadata=\"http://127.0.0.1:{port}/.well-known/oauth-protected-resource\""
    );
    // Both schemes are offered (fetch joins the two fields with ", ").
    let algs = "algs=\"RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES256K EdDSA Ed25519\"";
    assert_eq!(challenge, format!("Bearer realm=\"api\", {metadata}, DPoP {algs}, {metadata}"));
    assert!(body.contains("Unauthorized"), "{body}");
    assert!(call(&browser, "call-public").await.0.starts_with("200"));

    // A broken token: 401 invalid_token, and the page says it can't decode it.
    let field = browser.find(Locator::Id("token")).await.unwrap();
    field.send_keys("not-a-jwt").await.unwrap();
    assert!(text(&browser, "claims").await.starts_with("Not a JWT"));
    let (status, challenge, _) = call(&browser, "call-private").await;
    assert_eq!(status, "401 Unauthorized");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");

    // No script error surfaced along the way.
    let errors = browser.find(Locator::Id("errors")).await.unwrap();
    assert!(errors.attr("hidden").await.unwrap().is_some(), "{}", errors.text().await.unwrap());

    browser.close().await.unwrap();
    std::fs::remove_dir_all(&profile).ok();
}
