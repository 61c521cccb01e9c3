//! `testing::TestIssuer` fails the way identity providers do and rotates
//! its key, so a user's tests can see what their API answers then.

use std::time::Duration;

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::testing::{Fault, TestIssuer};
use rocket_oauth2_jwt_bearer::{BearerToken, Config, JwtAuth};

const AUDIENCE: &str = "https://api.example.test";

#[get("/private")]
fn private(_token: BearerToken) -> &'static str {
    "private"
}

async fn launch(config: Config) -> Result<Client, rocket::Error> {
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment).attach(JwtAuth::with_config(config));
    Client::tracked(rocket.mount("/", routes![private])).await
}

async fn status(client: &Client, token: &str) -> Status {
    let authorization = Header::new("Authorization", format!("Bearer {token}"));
    client.get("/private").header(authorization).dispatch().await.status()
}

#[rocket::async_test]
async fn each_fault_stops_launch_and_recovery_serves() {
    let issuer = TestIssuer::start().await;
    let quick = Config {
        jwks_timeout: Duration::from_millis(300),
        jwks_launch_retry: Duration::ZERO,
        ..issuer.config(AUDIENCE)
    };
    for fault in [
        Fault::Status(503),
        Fault::Garbage,
        Fault::Hang,
        Fault::Down,
        Fault::Slow(Duration::from_secs(2)),
    ] {
        issuer.set_fault(fault.clone());
        match launch(quick.clone()).await {
            Ok(_) => panic!("{fault:?}: launched without keys"),
            // Inspecting the kind marks the error handled.
            Err(error) => assert!(
                matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_)),
                "{fault:?}"
            ),
        }
    }
    issuer.set_fault(Fault::None);
    let client = launch(quick).await.expect("launches once the keys are served");
    assert_eq!(status(&client, &issuer.token(&issuer.claims(AUDIENCE))).await, Status::Ok);
}

#[rocket::async_test]
async fn a_rotated_key_is_fetched_and_a_withdrawn_one_refused() {
    let issuer = TestIssuer::start().await;
    let config = Config { jwks_cooldown: Duration::ZERO, ..issuer.config(AUDIENCE) };
    let client = launch(config).await.expect("launches");
    let old = issuer.token(&issuer.claims(AUDIENCE));
    assert_eq!(status(&client, &old).await, Status::Ok);

    // The new key's unknown `kid` makes the fairing fetch the set again.
    issuer.rotate_key(true);
    let new = issuer.token(&issuer.claims(AUDIENCE));
    assert_eq!(status(&client, &new).await, Status::Ok);
    assert_eq!(issuer.key_set_fetches(), 2);

    // Withdrawn at the next fetch, the old key's tokens are refused even
    // from the token cache.
    issuer.rotate_key(false);
    let newest = issuer.token(&issuer.claims(AUDIENCE));
    assert_eq!(status(&client, &newest).await, Status::Ok);
    assert_eq!(status(&client, &old).await, Status::Unauthorized);
}
