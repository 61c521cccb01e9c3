//! The built binary, started the way a user (and the black-box checks)
//! start it, driven over real HTTP: this covers Rocket.toml lookup,
//! environment precedence, binding, and hyper's header handling.

mod common;

use std::path::Path;
use std::process::Stdio;

use common::process::*;
use common::*;
use serde_json::Value;

async fn call(base: &str, path: &str, authorization: Option<&str>) -> (u16, Option<String>, Value) {
    let mut request = http().get(format!("{base}{path}"));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let challenge =
        response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_owned());
    let body = response.bytes().await.unwrap();
    (status, challenge, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// `ROCKET_PROFILE=release ROCKET_ADDRESS=127.0.0.1 ROCKET_PORT=<p>
/// ISSUER_BASE_URL=http://127.0.0.1:<q>/ AUDIENCE=https://api.example.test`
#[tokio::test]
async fn the_documented_start_line_over_real_http() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let port = free_port();
    let env = [
        ("ROCKET_PROFILE", "release".to_owned()),
        ("ROCKET_ADDRESS", "127.0.0.1".to_owned()),
        ("ROCKET_PORT", port.to_string()),
        ("ISSUER_BASE_URL", idp.base_url()),
        ("AUDIENCE", AUDIENCE.to_owned()),
    ];
    let log_path =
        std::env::temp_dir().join(format!("auth0-rocket-api-log-{}", std::process::id()));
    let log_file = std::fs::File::create(&log_path).unwrap();
    let mut server = Running(
        service(Path::new(env!("CARGO_MANIFEST_DIR")), &env).stdout(log_file).spawn().unwrap(),
    );
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{base}/api/public"), &mut server).await;

    let claims = good_claims(&idp);
    let valid = key.token(&claims);
    let (head, _) = valid.rsplit_once('.').unwrap();
    let broken = format!("{head}.{}", b64([1u8; 256]));
    let missing = Some("Bearer realm=\"api\"".to_owned());

    let (status, challenge, body) = call(&base, "/api/public", None).await;
    assert_eq!((status, challenge), (200, None));
    assert!(body["message"].as_str().unwrap().starts_with("Hello from a public endpoint!"));

    for path in ["/api/private", "/api/private-scoped"] {
        // A 401 from the scoped route names the scope it needs.
        let hinted = |challenge: Option<String>| match path {
            "/api/private-scoped" => challenge.map(|c| format!("{c}, scope=\"read:messages\"")),
            _ => challenge,
        };
        assert_eq!(call(&base, path, None).await.1, hinted(missing.clone()), "{path}: no header");
        // Over HTTP, hyper trims these to "Bearer" and "".
        for (value, expected) in [
            ("Bearer ", Some(invalid_token("Bearer token is empty"))),
            ("Bearer", Some(invalid_token("Bearer token is empty"))),
            ("", missing.clone()),
            ("   ", missing.clone()),
            ("Bearer invalidToken", Some(invalid_token("Invalid Compact JWS"))),
            ("Bearer invalidToken abc", Some(invalid_token("Malformed bearer token"))),
        ] {
            let (status, challenge, body) = call(&base, path, Some(value)).await;
            assert_eq!((status, challenge), (401, hinted(expected)), "{path} {value:?}");
            assert!(body["message"].is_string());
        }
        let (status, challenge, _) = call(&base, path, Some(&format!("Bearer {broken}"))).await;
        assert_eq!(
            (status, challenge),
            (401, hinted(Some(invalid_token("signature verification failed"))))
        );
        assert_eq!(call(&base, path, Some(&format!("Bearer {valid}"))).await.0, 200, "{path}");
    }

    let no_scope = key.token(&claims_with(&idp, serde_json::json!({"scope": null})));
    let (status, _, body) =
        call(&base, "/api/private-scoped", Some(&format!("Bearer {no_scope}"))).await;
    assert_eq!((status, body["message"].as_str()), (403, Some("Missing 'scope' claim")));
    let write = key.token(&claims_with(&idp, serde_json::json!({"scope": "write:messages"})));
    let (status, _, body) =
        call(&base, "/api/private-scoped", Some(&format!("Bearer {write}"))).await;
    assert_eq!((status, body["message"].as_str()), (403, Some("Insufficient Scope")));

    let (status, _, body) = call(&base, "/api/nowhere", None).await;
    assert_eq!((status, body), (404, serde_json::json!({"message": "Not Found"})));

    let response = http()
        .get(format!("{base}/api/private"))
        .header("Authorization", format!("Bearer {valid}"))
        .header("Origin", "http://localhost:3000")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["access-control-allow-origin"], "http://localhost:3000");
    assert_eq!(response.headers()["cache-control"], "no-store");

    // A query token, refused by default, must not reach the log either.
    let (status, _, _) = call(&base, &format!("/api/private?access_token={valid}"), None).await;
    assert_eq!(status, 401);

    // The log never holds a token, and rejections add no warnings.
    drop(server);
    let log = std::fs::read_to_string(&log_path).unwrap();
    std::fs::remove_file(&log_path).ok();
    let signature = valid.rsplit_once('.').unwrap().1;
    assert!(log.contains("GET /api/private"), "the log is captured: {log}");
    assert!(!log.contains(signature) && !log.contains(&broken[..40]), "token in log:\n{log}");
    assert!(!log.contains("Warning") && !log.contains("Request guard"), "{log}");
}

fn run_to_exit(dir: &Path, env: &[(&str, String)]) -> (i32, String) {
    let output = service(dir, env).output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().unwrap_or(-1), text)
}

#[test]
fn a_bad_app_setting_names_where_its_value_came_from() {
    let dir = std::env::temp_dir().join(format!("auth0-rocket-api-app-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // The development issuer (debug profile, nothing configured), so that
    // only the setting under test is wrong.
    for (variable, value, named) in [
        ("ROCKET_METRICS", "sometimes", "invalid setting `metrics` (from `ROCKET_`"),
        (
            "ROCKET_CORS",
            r#"{allowed_origins=["*"]}"#,
            "invalid setting `cors.allowed_origins` (from `ROCKET_`",
        ),
        ("ROCKET_IDLE_TIMEOUT", "0.5", "invalid setting `idle_timeout` (from `ROCKET_`"),
    ] {
        let env = [
            ("ROCKET_PROFILE", "debug".to_owned()),
            ("ROCKET_PORT", free_port().to_string()),
            (variable, value.to_owned()),
        ];
        let (code, output) = run_to_exit(&dir, &env);
        assert_eq!(code, 1, "{variable}: {output}");
        assert!(output.contains(named), "{variable}: {output}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_missing_setting_exits_1_with_a_line_naming_it() {
    let dir = std::env::temp_dir().join(format!("auth0-rocket-api-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    let env = [
        ("ISSUER_BASE_URL", "https://tenant.example.test/".to_owned()),
        ("ROCKET_PORT", free_port().to_string()),
    ];
    let (code, output) = run_to_exit(&dir, &env);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("missing setting `auth.audience`"), "{output}");
    assert!(output.contains("AUDIENCE"), "{output}");
    assert!(!output.contains("panicked"), "{output}");
    // The last line names what failed: no key loader ran.
    assert!(output.contains("launch aborted: JWT auth failed"), "{output}");
    assert!(!output.contains("JWKS loader"), "{output}");

    let env = [("AUDIENCE", "a".to_owned()), ("ROCKET_PORT", free_port().to_string())];
    let (code, output) = run_to_exit(&dir, &env);
    assert_eq!(code, 1, "{output}");
    assert!(output.contains("ISSUER_BASE_URL"), "{output}");

    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn a_dot_env_file_is_read() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let dir = std::env::temp_dir().join(format!("auth0-rocket-api-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(".env"),
        format!("ISSUER_BASE_URL={}\nAUDIENCE={AUDIENCE}\n", idp.base_url()),
    )
    .unwrap();

    let port = free_port();
    let env = [("ROCKET_PORT", port.to_string()), ("ROCKET_ADDRESS", "127.0.0.1".to_owned())];
    let mut server = Running(service(&dir, &env).stdout(Stdio::null()).spawn().unwrap());
    let base = format!("http://127.0.0.1:{port}");
    wait_until_up(&format!("{base}/api/public"), &mut server).await;
    let token = key.token(&good_claims(&idp));
    assert_eq!(call(&base, "/api/private", Some(&format!("Bearer {token}"))).await.0, 200);

    drop(server);
    std::fs::remove_dir_all(&dir).ok();
}
