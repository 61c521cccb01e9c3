//! The key store against a real JWKS server on loopback: launch checks, key
//! rotation, unknown-kid floods, and identity-provider faults.

mod common;

use std::error::Error;
use std::time::Duration;

use common::*;
use rocket::http::Status;
use rocket::local::asynchronous::Client;
use serde_json::{Value, json};

async fn status_of(client: &Client, token: &str) -> Status {
    get_with_token(client, "/api/private", token).await.status()
}

async fn sleep(seconds: f64) {
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
}

#[rocket::async_test]
async fn launch_aborts_with_a_reason_naming_the_url_and_cause() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let jwks_url = idp.jwks_url();

    // Each fault, and the words its one-line reason must contain.
    let faults: Vec<(Mode, &str)> = vec![
        (Mode::Status(500), "answered 500"),
        (Mode::Status(404), "answered 404"),
        (Mode::Garbage, "not a JSON Web Key Set"),
        (Mode::Empty, "no usable key"),
        (Mode::Down, "GET"),
        (Mode::Hang, "timed out"),
        (Mode::Huge(50 * 1024 * 1024), "larger than"),
        // Refused from the header alone: no waiting for a body that never comes.
        (Mode::Declared(50 * 1024 * 1024), "larger than"),
        (Mode::Redirect("ftp://127.0.0.1/keys".into()), "refused redirect"),
    ];
    for (mode, cause) in faults {
        idp.set_mode(mode.clone());
        let reason = connect_error(figment(&idp, json!({}))).await;
        assert!(reason.contains(&jwks_url), "{mode:?}: {reason}");
        assert!(reason.contains(cause), "{mode:?}: {reason}");
        assert!(!reason.contains('\n'), "{mode:?}: one line: {reason}");
    }

    // And the rocket itself refuses to launch.
    idp.set_mode(Mode::Empty);
    assert!(launch_error(figment(&idp, json!({}))).await.contains("fairing"));
}

/// The innermost error under `error`, by `source()`.
fn root_cause<'e>(error: &'e (dyn Error + 'static)) -> &'e (dyn Error + 'static) {
    let mut inner = error;
    while let Some(next) = inner.source() {
        inner = next;
    }
    inner
}

#[rocket::async_test]
async fn launch_errors_are_typed_down_to_the_library_error() {
    use rocket_oauth2_jwt_bearer::{FetchError, FetchFailure, KeySetError, LaunchError};

    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    async fn connect(idp: &Idp) -> Result<(), LaunchError> {
        let figment = figment(idp, json!({}));
        rocket_oauth2_jwt_bearer::__private::connect(&figment).await.map(drop)
    }

    idp.set_mode(Mode::Status(503));
    let error = connect(&idp).await.err().unwrap();
    let LaunchError::KeySet { cause: KeySetError::Fetch(FetchError { failure, url, .. }), .. } =
        &error
    else {
        panic!("{error:?}")
    };
    assert!(matches!(failure, FetchFailure::Status(s) if s.as_u16() == 503), "{failure:?}");
    assert_eq!(url, &idp.jwks_url());

    idp.set_mode(Mode::Garbage);
    let error = connect(&idp).await.err().unwrap();
    assert!(matches!(error, LaunchError::KeySet { cause: KeySetError::NotJwks(_), .. }));
    assert!(root_cause(&error).is::<serde_json::Error>(), "{error:?}");

    // The issuer hangs up: the chain goes on below the HTTP client's error.
    idp.set_mode(Mode::Down);
    let error = connect(&idp).await.err().unwrap();
    let LaunchError::KeySet { cause: KeySetError::Fetch(fetch), .. } = &error else {
        panic!("{error:?}")
    };
    assert!(matches!(fetch.failure, FetchFailure::Http(_)), "{fetch:?}");
    assert!(!root_cause(&error).is::<FetchFailure>(), "{:?}", root_cause(&error));

    idp.set_mode(Mode::Empty);
    let error = connect(&idp).await.err().unwrap();
    assert!(matches!(error, LaunchError::KeySet { cause: KeySetError::Empty, .. }));
}

#[rocket::async_test]
async fn an_unreachable_issuer_aborts_launch() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);

    let idp = Idp::start(&[]).await;
    let settings = figment(&idp, json!({"issuer_base_url": format!("http://127.0.0.1:{port}/")}));
    let reason = connect_error(settings.clone()).await;
    assert!(
        reason.contains(&format!("http://127.0.0.1:{port}/.well-known/openid-configuration")),
        "{reason}"
    );
    assert!(reason.contains("connection failed"), "{reason}");
    assert!(launch_error(settings).await.contains("fairing"));
}

#[rocket::async_test]
async fn discovery_must_describe_the_configured_issuer() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;

    // One trailing slash either way is the same issuer.
    let without_slash = idp.base_url().trim_end_matches('/').to_owned();
    idp.set_discovery(json!({"issuer": without_slash, "jwks_uri": idp.jwks_url()}));
    assert!(rocket_oauth2_jwt_bearer::__private::connect(&figment(&idp, json!({}))).await.is_ok());

    for issuer in [
        format!("{}//", idp.base_url()),
        "https://evil.example/".into(),
        format!("{}x/", idp.base_url()),
    ] {
        idp.set_discovery(json!({"issuer": issuer, "jwks_uri": idp.jwks_url()}));
        let reason = connect_error(figment(&idp, json!({}))).await;
        assert!(reason.contains("names issuer"), "{reason}");
    }

    // A discovered plain-http jwks_uri elsewhere than loopback is refused
    // before anything is fetched from it.
    idp.set_discovery(
        json!({"issuer": idp.base_url(), "jwks_uri": "http://keys.example.test/jwks"}),
    );
    let reason = connect_error(figment(&idp, json!({}))).await;
    assert!(reason.contains("discovered jwks_uri"), "{reason}");

    idp.set_discovery(json!({"issuer": idp.base_url()}));
    let reason = connect_error(figment(&idp, json!({}))).await;
    assert!(reason.contains("has no jwks_uri"), "{reason}");

    idp.set_discovery(json!({"jwks_uri": idp.jwks_url()}));
    let reason = connect_error(figment(&idp, json!({}))).await;
    assert!(reason.contains("discovery failed"), "{reason}");
}

#[rocket::async_test]
async fn explicit_issuer_and_jwks_uri_skip_discovery() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let settings = figment(
        &idp,
        json!({"issuer_base_url": null, "issuer": "https://issuer.example.test/", "jwks_uri": idp.jwks_url()}),
    );
    let client = client_for(settings).await;
    assert_eq!(idp.discovery_hits(), 0);

    let token = key.token(&claims_with(&idp, json!({"iss": "https://issuer.example.test/"})));
    assert_eq!(status_of(&client, &token).await, Status::Ok);
}

#[rocket::async_test]
async fn a_discovery_url_given_in_full_is_fetched_as_is() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let full = format!("{}.well-known/openid-configuration", idp.base_url());
    let client = client_for(figment(&idp, json!({ "issuer_base_url": full }))).await;
    assert_eq!(idp.discovery_hits(), 1);
    assert_eq!(status_of(&client, &key.token(&good_claims(&idp))).await, Status::Ok);
}

#[rocket::async_test]
async fn rotation_is_picked_up_without_restart() {
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    let idp = Idp::start(&[&old]).await;
    let client =
        client_for(figment(&idp, json!({"jwks_cooldown": 0.2, "jwks_cache_max_age": 0.5}))).await;
    let claims = good_claims(&idp);

    assert_eq!(status_of(&client, &old.token(&claims)).await, Status::Ok);

    // A new key is published: the first token signed with it triggers one
    // refetch once the cooldown since the last fetch has passed.
    idp.set_keys(&[&old, &new]);
    sleep(0.25).await;
    assert_eq!(status_of(&client, &new.token(&claims)).await, Status::Ok);
    assert_eq!(status_of(&client, &old.token(&claims)).await, Status::Ok);

    // The old key is withdrawn: its tokens stop working after the next
    // scheduled refresh, the new key's keep working.
    idp.set_keys(&[&new]);
    sleep(0.8).await;
    let (status, _, message) =
        outcome(get_with_token(&client, "/api/private", &old.token(&claims)).await).await;
    assert_eq!(
        (status, message.as_str()),
        (401, "no applicable key found in the JSON Web Key Set")
    );
    assert_eq!(status_of(&client, &new.token(&claims)).await, Status::Ok);
}

#[rocket::async_test]
async fn an_unknown_kid_within_the_cooldown_is_refused_without_a_fetch() {
    let old = TestKey::rsa("old");
    let new = TestKey::rsa("new");
    let idp = Idp::start(&[&old]).await;
    let client = client_for(figment(&idp, json!({"jwks_cooldown": 30}))).await;
    let hits = idp.jwks_hits();

    idp.set_keys(&[&old, &new]);
    let token = new.token(&good_claims(&idp));
    assert_eq!(status_of(&client, &token).await, Status::Unauthorized);
    assert_eq!(idp.jwks_hits(), hits, "no fetch within the cooldown of the launch fetch");
}

#[rocket::async_test]
async fn a_flood_of_unknown_kids_makes_one_fetch() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"jwks_cooldown": 3}))).await;
    let claims = good_claims(&idp);
    let known = key.token(&claims);
    let hits = idp.jwks_hits();
    sleep(3.1).await;

    let flood: Vec<String> = (0..300)
        .map(|i| key.token_with(json!({ "kid": format!("random-{i}") }), &claims))
        .collect();
    let requests = flood.iter().map(|token| async { status_of(&client, token).await });
    let statuses = futures::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == Status::Unauthorized));
    assert_eq!(idp.jwks_hits(), hits + 1, "one shared refetch for the whole flood");

    assert_eq!(status_of(&client, &known).await, Status::Ok);
}

#[rocket::async_test]
async fn known_keys_never_wait_on_a_hung_refetch() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let client = client_for(figment(&idp, json!({"jwks_cooldown": 0.1, "jwks_timeout": 2}))).await;
    let claims = good_claims(&idp);
    let known = key.token(&claims);
    let unknown = key.token_with(json!({"kid": "rotated-in"}), &claims);
    sleep(0.2).await;
    idp.set_mode(Mode::Hang);

    // The unknown kid's refetch hangs until the timeout; meanwhile, known
    // keys are served from the snapshot.
    let waiting = status_of(&client, &unknown);
    tokio::pin!(waiting);
    let mut served = 0;
    for _ in 0..20 {
        tokio::select! {
            biased;
            status = &mut waiting => panic!("the hung refetch finished too soon: {status}"),
            status = status_of(&client, &known) => {
                assert_eq!(status, Status::Ok);
                served += 1;
            }
        }
    }
    assert_eq!(served, 20);
    assert_eq!(waiting.await, Status::Unauthorized, "a failed refetch rejects the unknown kid");
    assert_eq!(status_of(&client, &known).await, Status::Ok, "the old keys stay");
}

#[rocket::async_test]
async fn stale_keys_are_served_while_the_idp_is_down_and_recovery_is_picked_up() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    let settings = json!({"jwks_cooldown": 0.1, "jwks_cache_max_age": 0.2, "jwks_timeout": 0.3});
    let client = client_for(figment(&idp, settings)).await;
    let claims = good_claims(&idp);
    let token = key.token(&claims);

    let faults = [
        Mode::Status(500),
        Mode::Status(503),
        Mode::Garbage,
        Mode::Empty,
        Mode::Down,
        Mode::Hang,
        Mode::Huge(50 * 1024 * 1024),
    ];
    for mode in faults {
        let before = idp.jwks_hits();
        idp.set_mode(mode.clone());
        let tried = eventually(Duration::from_secs(5), || async { idp.jwks_hits() > before });
        assert!(tried.await, "{mode:?}: the refresh task kept trying");
        assert_eq!(status_of(&client, &token).await, Status::Ok, "{mode:?}");

        // Unknown kids while down: rejected, and the old keys stay.
        let unknown = key.token_with(json!({"kid": "nope"}), &claims);
        assert_eq!(status_of(&client, &unknown).await, Status::Unauthorized);
        assert_eq!(status_of(&client, &token).await, Status::Ok, "{mode:?}");
    }

    // Recovery with a rotated key set.
    let next = TestKey::es256("next");
    idp.set_keys(&[&next]);
    idp.set_mode(Mode::Up);
    let next_token = next.token(&claims);
    let recovered = eventually(Duration::from_secs(10), || async {
        status_of(&client, &next_token).await == Status::Ok
    });
    assert!(recovered.await, "the rotated key set is picked up");
    assert_eq!(status_of(&client, &token).await, Status::Unauthorized, "withdrawn key");
}

#[rocket::async_test]
async fn unusable_keys_are_skipped_not_fatal() {
    let key = TestKey::rsa("good");
    let enc = TestKey::rsa("enc");
    let idp = Idp::start(&[]).await;
    let mut enc_jwk = enc.jwk();
    enc_jwk["use"] = json!("enc");
    let mut weak = json!({"kty": "RSA", "kid": "weak", "e": "AQAB", "n": b64([0xC3u8; 128])});
    weak["alg"] = json!("RS256");
    let oct = TestKey::hmac("oct", b"0123456789abcdef0123456789abcdef");
    let keys: Vec<Value> =
        vec![key.jwk(), enc_jwk, weak, oct.jwk(), json!({"kty": "EC", "crv": "P-521"})];
    idp.set_jwks(json!({ "keys": keys }));
    let client = client(&idp).await;
    let claims = good_claims(&idp);

    assert_eq!(status_of(&client, &key.token(&claims)).await, Status::Ok);
    assert_eq!(status_of(&client, &enc.token(&claims)).await, Status::Unauthorized);
    let hs = oct.token_with(json!({"alg": "HS256"}), &claims);
    assert_eq!(status_of(&client, &hs).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn launch_retries_a_provider_that_comes_up_late() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    idp.set_mode(Mode::Status(503));
    let flip = idp.clone();
    tokio::spawn(async move {
        sleep(0.6).await;
        flip.set_mode(Mode::Up);
    });

    let client = client_for(figment(&idp, json!({"jwks_launch_retry": 5}))).await;
    assert!(idp.jwks_hits() >= 2, "launch retried");
    assert_eq!(status_of(&client, &key.token(&good_claims(&idp))).await, Status::Ok);
}

#[rocket::async_test]
async fn launch_retries_are_bounded() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;
    idp.set_mode(Mode::Status(503));

    let reason = connect_error(figment(&idp, json!({"jwks_launch_retry": 1}))).await;
    assert!(reason.contains("answered 503"), "{reason}");
    let attempts = idp.jwks_hits();
    assert!((2..=4).contains(&attempts), "{attempts} attempts in a 1 s window");
}

#[rocket::async_test]
async fn launch_waits_for_keys_as_long_as_jwks_launch_retry_says_and_no_longer() {
    let key = TestKey::rsa("k1");
    let idp = Idp::start(&[&key]).await;

    // An issuer that refuses is retried until shortly before the deadline
    // (the last attempt starts a quarter second before it), not given up
    // on early.
    idp.set_mode(Mode::Status(503));
    let started = std::time::Instant::now();
    let reason = connect_error(figment(&idp, json!({"jwks_launch_retry": 3}))).await;
    let took = started.elapsed();
    assert!(reason.contains("answered 503"), "{reason}");
    assert!(took >= Duration::from_millis(2600), "gave up after {took:?}");
    assert!(took < Duration::from_millis(3400), "took {took:?}");

    // One that hangs is cut at the deadline, though each request may take
    // jwks_timeout (5 s); with require_keys_at_launch = false launch goes
    // on then, without it.
    idp.set_mode(Mode::Hang);
    let settings = json!({"jwks_launch_retry": 1, "jwks_timeout": 5});
    let started = std::time::Instant::now();
    let reason = connect_error(figment(&idp, settings.clone())).await;
    let took = started.elapsed();
    assert!(reason.contains("none within jwks_launch_retry (1s)"), "{reason}");
    assert!(took < Duration::from_millis(1800), "took {took:?}");

    let mut settings = settings;
    settings["require_keys_at_launch"] = json!(false);
    let started = std::time::Instant::now();
    let client = client_for(figment(&idp, settings)).await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(1800), "launch took {took:?}");
    drop(client);
}
