//! Issuers approved at run time by an `IssuerResolver`: asked only about a
//! token's `iss`, key stores made on first use, single flight, bounded.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{
    BearerToken, Config, IssuerConfig, IssuerResolver, IssuerSettings, JwtAuth, ResolveError,
    Settings,
};

const AUDIENCE: &str = "https://api.example.test";

#[get("/private")]
fn private(_token: BearerToken) -> &'static str {
    "ok"
}

/// Approves the tenants in its list; counts what it is asked.
#[derive(Clone, Default)]
struct Tenants {
    approved: Arc<Mutex<Vec<String>>>,
    asked: Arc<AtomicUsize>,
}

#[rocket::async_trait]
impl IssuerResolver for Tenants {
    async fn resolve(&self, iss: &str) -> Result<Option<IssuerSettings>, ResolveError> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        if !self.approved.lock().unwrap().iter().any(|t| t == iss) {
            return Ok(None);
        }
        Ok(Some(IssuerSettings::from_config(&IssuerConfig::discover(iss))?))
    }
}

async fn client(configured: &TestIssuer, tenants: Tenants, max: usize) -> Client {
    let config = Config { dynamic_issuers_max: max, ..configured.config(AUDIENCE) };
    let settings = Settings::from_config(&config).unwrap();
    let figment = rocket::Config::figment().merge(("log_level", "off"));
    let rocket = rocket::custom(figment)
        .attach(JwtAuth::with_settings(settings).with_resolver(tenants))
        .mount("/", routes![private])
        .register("/", rocket_oauth2_jwt_bearer::catchers());
    Client::tracked(rocket).await.unwrap()
}

async fn status(client: &Client, token: &str) -> Status {
    let authorization = Header::new("Authorization", format!("Bearer {token}"));
    client.get("/private").header(authorization).dispatch().await.status()
}

#[rocket::async_test]
async fn an_approved_tenant_is_loaded_once_and_an_unknown_one_never() {
    let configured = TestIssuer::start().await;
    let tenant = TestIssuer::start().await;
    let stranger = TestIssuer::start().await;
    let tenants = Tenants::default();
    tenants.approved.lock().unwrap().push(tenant.url());
    let client = client(&configured, tenants.clone(), 10).await;

    // The configured issuer never reaches the resolver.
    assert_eq!(status(&client, &configured.token(&configured.claims(AUDIENCE))).await, Status::Ok);
    assert_eq!(tenants.asked.load(Ordering::SeqCst), 0);

    // Concurrent first tokens of a new tenant share one answer and one load.
    let token = tenant.token(&tenant.claims(AUDIENCE));
    let (a, b, c) =
        tokio::join!(status(&client, &token), status(&client, &token), status(&client, &token));
    assert_eq!((a, b, c), (Status::Ok, Status::Ok, Status::Ok));
    assert_eq!(tenants.asked.load(Ordering::SeqCst), 1);
    assert_eq!(tenant.key_set_fetches(), 1);

    // A valid token of an issuer the resolver doesn't approve: 401, and its
    // key set is never fetched; the refusal is remembered.
    let token = stranger.token(&stranger.claims(AUDIENCE));
    for _ in 0..3 {
        assert_eq!(status(&client, &token).await, Status::Unauthorized);
    }
    assert_eq!(stranger.key_set_fetches(), 0);
    assert_eq!(tenants.asked.load(Ordering::SeqCst), 2);
}

#[rocket::async_test]
async fn a_tenants_key_never_verifies_another_tenants_tokens() {
    let configured = TestIssuer::start().await;
    let (one, two) = (TestIssuer::start().await, TestIssuer::start().await);
    let tenants = Tenants::default();
    tenants.approved.lock().unwrap().extend([one.url(), two.url()]);
    let client = client(&configured, tenants, 10).await;

    assert_eq!(status(&client, &one.token(&one.claims(AUDIENCE))).await, Status::Ok);
    // Signed by tenant one (same `kid` "test" as tenant two's key), claiming two.
    let mut claims = one.claims(AUDIENCE);
    claims["iss"] = two.url().into();
    assert_eq!(status(&client, &one.token(&claims)).await, Status::Unauthorized);
    // Claiming the configured issuer.
    claims["iss"] = configured.url().into();
    assert_eq!(status(&client, &one.token(&claims)).await, Status::Unauthorized);
}

#[rocket::async_test]
async fn resolver_issuers_are_bounded() {
    let configured = TestIssuer::start().await;
    let mut issuers = Vec::new();
    for _ in 0..4 {
        issuers.push(TestIssuer::start().await);
    }
    let tenants = Tenants::default();
    tenants.approved.lock().unwrap().extend(issuers.iter().map(TestIssuer::url));
    let client = client(&configured, tenants, 2).await;

    for issuer in &issuers {
        assert_eq!(status(&client, &issuer.token(&issuer.claims(AUDIENCE))).await, Status::Ok);
    }
    let status = rocket_oauth2_jwt_bearer::KeyStatus::of(client.rocket()).unwrap();
    let held = status.dynamic_issuers.unwrap();
    assert!(held <= 2, "{held} resolver issuers held, at most 2 allowed");
    assert_eq!(status.issuers.len(), 1, "only configured issuers are listed");
}
