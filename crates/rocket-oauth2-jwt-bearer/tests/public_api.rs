//! A user's app, built only through the crate's public API (nothing from
//! `__private`), against a real issuer on loopback: proof that the surface
//! is enough to protect routes, configure, test and operate an API.

use figment::providers::{Format, Serialized, Toml};
use std::time::Duration;

use figment::Figment;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::{Build, Rocket, get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{
    AuthError, BearerToken, Config, ConfigError, HasScope, JwtAuth, KeyStatus, MaybeBearer,
    Metrics, Settings, scope,
};
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.example.test";

scope!(ReadReports = "read:reports");

#[get("/reports")]
fn reports(token: HasScope<ReadReports>) -> String {
    format!("reports for {}", token.claims().subject.as_deref().unwrap_or("?"))
}

#[get("/me")]
fn me(token: BearerToken) -> Result<&'static str, AuthError> {
    token.claim_equals("org_id", "org_1")?;
    Ok("org member")
}

#[get("/hello")]
fn hello(user: MaybeBearer) -> &'static str {
    match user.0 {
        Some(_) => "hello, user",
        None => "hello, stranger",
    }
}

#[get("/ready")]
fn ready(status: Option<KeyStatus>) -> String {
    status.map_or("none".into(), |status| format!("{} key(s)", status.keys))
}

fn app(rocket: Rocket<Build>, auth: JwtAuth) -> Rocket<Build> {
    rocket
        .attach(auth)
        .attach(Metrics::fairing())
        .mount("/api", routes![reports, me, hello])
        .mount("/", routes![ready])
        .register("/api", rocket_oauth2_jwt_bearer::catchers())
}

fn quiet() -> Figment {
    rocket::Config::figment()
        .merge(Serialized::default("log_level", "off"))
        .merge(Serialized::default("metrics", true))
}

async fn get<'c>(client: &'c Client, path: &str, token: Option<&str>) -> LocalResponse<'c> {
    let mut request = client.get(path.to_owned());
    if let Some(token) = token {
        request = request.header(Header::new("Authorization", format!("Bearer {token}")));
    }
    request.dispatch().await
}

fn challenge(response: &LocalResponse<'_>) -> Option<String> {
    response.headers().get_one("WWW-Authenticate").map(String::from)
}

#[rocket::async_test]
async fn settings_in_code_protect_routes() {
    let issuer = TestIssuer::start().await;
    let config = Config { clock_tolerance: Duration::from_secs(1), ..issuer.config(AUDIENCE) };
    let settings = Settings::from_config(&config).unwrap();
    let client =
        Client::tracked(app(rocket::custom(quiet()), JwtAuth::with_settings(settings))).await;
    let client = client.expect("launches");

    let mut claims = issuer.claims(AUDIENCE);
    claims["scope"] = json!("read:reports");
    let response = get(&client, "/api/reports", Some(&issuer.token(&claims))).await;
    assert_eq!(response.status(), Status::Ok);
    assert_eq!(response.into_string().await.unwrap(), "reports for test|user");

    let response = get(&client, "/api/reports", None).await;
    assert_eq!(response.status(), Status::Unauthorized);
    let expected = "Bearer realm=\"api\", scope=\"read:reports\"";
    assert_eq!(challenge(&response).as_deref(), Some(expected));
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["message"], "Unauthorized");

    let unscoped = issuer.token(&issuer.claims(AUDIENCE));
    let response = get(&client, "/api/reports", Some(&unscoped)).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(challenge(&response).unwrap().contains("scope=\"read:reports\""));

    let mut elsewhere = issuer.claims("https://other.example.test");
    elsewhere["scope"] = json!("read:reports");
    let response = get(&client, "/api/reports", Some(&issuer.token(&elsewhere))).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert!(challenge(&response).unwrap().contains("Unexpected 'aud' value"));

    assert_eq!(
        get(&client, "/api/hello", None).await.into_string().await.unwrap(),
        "hello, stranger"
    );
    let hello = get(&client, "/api/hello", Some(&unscoped)).await;
    assert_eq!(hello.into_string().await.unwrap(), "hello, user");
    assert_eq!(get(&client, "/api/hello", Some("junk")).await.status(), Status::Unauthorized);

    assert_eq!(get(&client, "/ready", None).await.into_string().await.unwrap(), "1 key(s)");
    assert_eq!(issuer.key_set_fetches(), 1);
}

#[rocket::async_test]
async fn settings_from_the_auth_table_protect_routes() {
    let issuer = TestIssuer::start().await;
    let toml = format!(
        "[default.auth]\nissuer_base_url = \"{}\"\naudience = \"{AUDIENCE}\"",
        issuer.url()
    );
    let figment = quiet().merge(Toml::string(&toml).nested());
    let client = Client::tracked(app(rocket::custom(figment), JwtAuth::fairing())).await.unwrap();

    let mut claims = issuer.claims(AUDIENCE);
    claims["scope"] = json!("openid read:reports");
    assert_eq!(
        get(&client, "/api/reports", Some(&issuer.token(&claims))).await.status(),
        Status::Ok
    );
}

#[rocket::async_test]
async fn claim_checks_in_handlers_are_refused_and_counted_like_guards() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::from_config(&issuer.config(AUDIENCE)).unwrap();
    let client =
        Client::tracked(app(rocket::custom(quiet()), JwtAuth::with_settings(settings))).await;
    let client = client.unwrap();

    let mut claims = issuer.claims(AUDIENCE);
    claims["org_id"] = json!("org_1");
    assert_eq!(get(&client, "/api/me", Some(&issuer.token(&claims))).await.status(), Status::Ok);

    claims["org_id"] = json!("org_2");
    let response = get(&client, "/api/me", Some(&issuer.token(&claims))).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(challenge(&response).unwrap().contains("error=\"insufficient_scope\""));

    let metrics = client.get("/metrics").dispatch().await.into_string().await.unwrap();
    let counted = metrics
        .lines()
        .any(|line| line.contains("outcome=\"claim_check\"") && line.contains("/api/me"));
    assert!(counted, "{metrics}");
}

#[rocket::async_test]
async fn attaching_the_fairings_twice_is_harmless() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::from_config(&issuer.config(AUDIENCE)).unwrap();
    let rocket = rocket::custom(quiet())
        .attach(JwtAuth::with_settings(settings.clone()))
        .attach(Metrics::fairing());
    let client = Client::tracked(app(rocket, JwtAuth::with_settings(settings))).await.unwrap();
    let mut claims = issuer.claims(AUDIENCE);
    claims["scope"] = json!("read:reports");
    assert_eq!(
        get(&client, "/api/reports", Some(&issuer.token(&claims))).await.status(),
        Status::Ok
    );
    assert_eq!(issuer.key_set_fetches(), 1, "one fairing ran");
}

#[rocket::async_test]
async fn bad_settings_stop_launch_with_a_typed_error() {
    let config =
        Config { issuer_base_url: Some("https://t.example.test/".into()), ..Config::default() };
    let error = Settings::from_config(&config).unwrap_err();
    assert!(matches!(error, ConfigError::Missing { .. }), "{error:?}");
    assert_eq!(error.setting(), "audience");

    let figment = quiet().merge(Toml::string("[default.auth]\naudience = 5").nested());
    match Client::tracked(app(rocket::custom(figment), JwtAuth::fairing())).await {
        Ok(_) => panic!("launch should fail"),
        Err(error) => match error.kind() {
            rocket::error::ErrorKind::FailedFairings(failed) => {
                assert_eq!(failed[0].name, "JWT auth")
            }
            kind => panic!("{kind}"),
        },
    }
}

#[rocket::async_test]
async fn settings_in_code_never_start_the_dev_issuer_outside_debug() {
    let settings =
        Settings::from_config(&Config { dev_issuer: true, ..Config::default() }).unwrap();
    let figment = quiet().select("release");
    match Client::tracked(rocket::custom(figment).attach(JwtAuth::with_settings(settings))).await {
        Ok(_) => panic!("launch should fail"),
        Err(error) => assert!(matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_))),
    }

    let both = Settings::from_config(&Config {
        issuer_base_url: Some("https://t.example.test/".into()),
        audience: vec!["a".into(), "b".into()],
        ..Config::default()
    })
    .unwrap();
    assert_eq!(both.audiences(), ["a", "b"]);
}
