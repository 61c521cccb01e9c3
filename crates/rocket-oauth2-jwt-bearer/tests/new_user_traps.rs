//! What a new user gets wrong, caught: a guard without its fairing stops
//! launch; an app that registers no catchers still answers refusals with
//! their challenge and JSON body; and the guard API a user extends —
//! refusing from a guard of their own, claim rules as guards, the raw token
//! and its header, the claims serialized and typed.

use figment::Figment;
use figment::providers::Serialized;
use rocket::http::{Header, Status};
use rocket::local::asynchronous::{Client, LocalResponse};
use rocket::outcome::try_outcome;
use rocket::request::{FromRequest, Outcome, Request};
use rocket::serde::json::Json;
use rocket::{Build, Rocket, catch, catchers, get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{
    AuthError, BearerToken, ClaimRule, Claims, Config, HasScope, JwtAuth, Satisfies, Settings,
    scope,
};
use serde::Deserialize;
use serde_json::{Value, json};

const AUDIENCE: &str = "https://api.example.test";

scope!(ReadReports = "read:reports");

#[get("/reports")]
fn reports(_token: HasScope<ReadReports>) -> &'static str {
    "reports"
}

#[get("/teapot")]
fn teapot() -> Status {
    Status::Forbidden
}

/// A guard of the user's own, refusing through the crate.
struct OrgMember(BearerToken);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for OrgMember {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let token = try_outcome!(req.guard::<BearerToken>().await);
        match token.claim_equals("org_id", "org_1") {
            Ok(()) => Outcome::Success(OrgMember(token)),
            Err(error) => error.refuse(req),
        }
    }
}

#[get("/member")]
fn member(member: OrgMember) -> String {
    member.0.claims().subject.clone().unwrap_or_default()
}

struct Admin;

impl ClaimRule for Admin {
    const DESCRIPTION: &'static str = "Not an administrator";

    fn check(claims: &Claims) -> bool {
        claims.get("role").and_then(Value::as_str) == Some("admin")
    }
}

#[get("/admin")]
fn admin(_admin: Satisfies<Admin>) -> &'static str {
    "admin"
}

#[derive(Deserialize)]
struct MyClaims {
    sub: String,
    #[serde(default)]
    tenant: Option<u32>,
}

#[get("/echo")]
fn echo(token: BearerToken) -> Result<Json<Value>, AuthError> {
    let mine: MyClaims = token
        .claims()
        .deserialize()
        .map_err(|_| AuthError::claim_check("Unexpected custom claims"))?;
    Ok(Json(json!({
        "token": token.token(),
        "header": token.header(),
        "claims": token.claims(),
        "sub": mine.sub,
        "tenant": mine.tenant,
    })))
}

fn quiet() -> Figment {
    rocket::Config::figment().merge(Serialized::default("log_level", "off"))
}

fn app(rocket: Rocket<Build>) -> Rocket<Build> {
    rocket.mount("/api", routes![reports, teapot, member, admin, echo])
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

async fn launched(auth: JwtAuth) -> Client {
    let rocket = app(rocket::custom(quiet())).attach(auth);
    Client::tracked(rocket).await.expect("launches")
}

#[rocket::async_test]
async fn a_guard_without_its_fairing_stops_launch() {
    match Client::tracked(app(rocket::custom(quiet()))).await {
        Ok(_) => panic!("launched without the fairing"),
        Err(error) => {
            assert!(matches!(error.kind(), rocket::error::ErrorKind::SentinelAborts(_)), "{error}")
        }
    }
}

#[rocket::async_test]
async fn refusals_carry_their_challenge_without_registered_catchers() {
    let issuer = TestIssuer::start().await;
    let client = launched(JwtAuth::with_config(issuer.config(AUDIENCE))).await;

    let response = get(&client, "/api/reports", None).await;
    assert_eq!(response.status(), Status::Unauthorized);
    let expected = "Bearer realm=\"api\", scope=\"read:reports\"";
    assert_eq!(challenge(&response).as_deref(), Some(expected));
    assert_eq!(response.into_json::<Value>().await.unwrap()["message"], "Unauthorized");

    let response = get(&client, "/api/reports", Some("junk")).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert!(challenge(&response).unwrap().contains("error=\"invalid_token\""));

    let mut claims = issuer.claims(AUDIENCE);
    claims["scope"] = json!("openid");
    let response = get(&client, "/api/reports", Some(&issuer.token(&claims))).await;
    assert_eq!(response.status(), Status::Forbidden);
    let expected = "error=\"insufficient_scope\", error_description=\"Insufficient Scope\", \
                    scope=\"read:reports\"";
    assert!(challenge(&response).unwrap().contains(expected), "{:?}", challenge(&response));
    assert!(response.into_json::<Value>().await.is_some());

    // What isn't a refusal is answered as Rocket would: no challenge on a
    // handler's own 403, Rocket's page for a 404.
    let response = get(&client, "/api/teapot", None).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert_eq!(challenge(&response), None);
    let response = get(&client, "/nowhere", None).await;
    assert_eq!(response.status(), Status::NotFound);
    assert!(response.into_string().await.unwrap().contains("<!DOCTYPE html>"));
}

#[catch(default)]
fn plain(status: Status, _: &Request<'_>) -> String {
    format!("plain {}", status.code)
}

#[rocket::async_test]
async fn the_apps_own_catchers_keep_precedence() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::from_config(&issuer.config(AUDIENCE)).unwrap();
    let rocket = app(rocket::custom(quiet()))
        .attach(JwtAuth::with_settings(settings.clone()))
        .register("/", catchers![plain]);
    let client = Client::tracked(rocket).await.expect("launches");
    let response = get(&client, "/api/reports", None).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(response.into_string().await.unwrap(), "plain 401");

    // `catchers()` under the API's base, beside the fairing's at `/`.
    let rocket = app(rocket::custom(quiet()))
        .attach(JwtAuth::with_settings(settings.clone()))
        .register("/api", rocket_oauth2_jwt_bearer::catchers());
    let client = Client::tracked(rocket).await.expect("launches");
    let response = get(&client, "/api/teapot", None).await;
    assert_eq!(response.into_json::<Value>().await.unwrap()["message"], "Forbidden");

    let rocket =
        app(rocket::custom(quiet())).attach(JwtAuth::with_settings(settings).without_catchers());
    let client = Client::tracked(rocket).await.expect("launches");
    let response = get(&client, "/api/reports", None).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(challenge(&response), None, "told not to register them");
}

#[rocket::async_test]
async fn a_users_guard_and_claim_rules_refuse_like_the_crates_own() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::from_config(&issuer.config(AUDIENCE)).unwrap();
    let client = launched(JwtAuth::with_settings(settings)).await;

    let mut claims = issuer.claims(AUDIENCE);
    claims["org_id"] = json!("org_1");
    claims["role"] = json!("admin");
    let token = issuer.token(&claims);
    assert_eq!(get(&client, "/api/member", Some(&token)).await.status(), Status::Ok);
    assert_eq!(get(&client, "/api/admin", Some(&token)).await.status(), Status::Ok);

    claims["org_id"] = json!("org_2");
    claims["role"] = json!("user");
    let token = issuer.token(&claims);
    let response = get(&client, "/api/member", Some(&token)).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(challenge(&response).unwrap().contains("Unexpected 'org_id' value"));
    assert_eq!(
        response.into_json::<Value>().await.unwrap()["message"],
        "Unexpected 'org_id' value"
    );

    let response = get(&client, "/api/admin", Some(&token)).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(challenge(&response).unwrap().contains("error_description=\"Not an administrator\""));

    let response = get(&client, "/api/member", None).await;
    assert_eq!(response.status(), Status::Unauthorized);
    assert_eq!(challenge(&response).as_deref(), Some("Bearer realm=\"api\""));
}

#[rocket::async_test]
async fn handlers_get_the_raw_token_its_header_and_typed_claims() {
    let issuer = TestIssuer::start().await;
    let settings = Settings::from_config(&issuer.config(AUDIENCE)).unwrap();
    let client = launched(JwtAuth::with_settings(settings)).await;

    let mut claims = issuer.claims(AUDIENCE);
    claims["tenant"] = json!(7);
    claims["https://example.test/roles"] = json!(["a", "b"]);
    let token = issuer.token(&claims);
    let response = get(&client, "/api/echo", Some(&token)).await;
    assert_eq!(response.status(), Status::Ok);
    let body: Value = response.into_json().await.unwrap();
    assert_eq!(body["token"], token.as_str());
    assert_eq!(body["claims"], claims, "the payload exactly as sent");
    assert_eq!(body["sub"], claims["sub"]);
    assert_eq!(body["tenant"], 7);
    let header = &body["header"];
    assert!(header["alg"].as_str().is_some_and(|alg| !alg.is_empty()), "{header}");
    assert!(header["kid"].is_string(), "{header}");

    claims["tenant"] = json!("seven");
    let response = get(&client, "/api/echo", Some(&issuer.token(&claims))).await;
    assert_eq!(response.status(), Status::Forbidden);
    assert!(challenge(&response).unwrap().contains("Unexpected custom claims"));
}

#[rocket::async_test]
async fn a_bad_config_in_code_stops_launch_naming_the_setting() {
    let config = Config {
        issuer_base_url: Some("https://tenant.example.test/".into()),
        audience: vec![AUDIENCE.into()],
        jwks_timeout: std::time::Duration::ZERO,
        ..Config::default()
    };
    let error = Settings::from_config(&config).unwrap_err();
    assert_eq!(error.setting(), "jwks_timeout");
    assert!(error.to_string().contains("Config"), "{error}");

    let rocket = app(rocket::custom(quiet())).attach(JwtAuth::with_config(config));
    match Client::tracked(rocket).await {
        Ok(_) => panic!("launched with a zero jwks_timeout"),
        Err(error) => {
            assert!(matches!(error.kind(), rocket::error::ErrorKind::FailedFairings(_)), "{error}")
        }
    }
}
