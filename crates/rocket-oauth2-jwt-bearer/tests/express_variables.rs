//! The Express library's variable names configure a crate user's app the
//! way they configure an Express app: `JwtAuth::fairing()` reads them, over
//! `Rocket.toml`. Alone in its binary: it sets this process's environment.

use figment::providers::{Format, Serialized, Toml};
use rocket::http::{Header, Status};
use rocket::local::asynchronous::Client;
use rocket::{get, routes};
use rocket_oauth2_jwt_bearer::testing::TestIssuer;
use rocket_oauth2_jwt_bearer::{BearerToken, JwtAuth};

#[get("/private")]
fn private(_token: BearerToken) -> &'static str {
    "private"
}

#[rocket::async_test]
async fn issuer_base_url_and_audience_from_the_environment_configure_the_fairing() {
    let issuer = TestIssuer::start().await;
    // SAFETY: the only test in this binary, and nothing else in it reads
    // or writes the environment while these run: the issuer's and the
    // runtime's threads don't touch it, and the Rocket is built after.
    unsafe {
        std::env::set_var("ISSUER_BASE_URL", issuer.url());
        std::env::set_var("AUDIENCE", "https://from-env.example.test");
    }
    // A file naming another audience: the variable wins, as in Express.
    let figment = rocket::Config::figment()
        .merge(Serialized::default("log_level", "off"))
        .merge(Toml::string("[default.auth]\naudience = \"https://file.example.test\"").nested());
    let rocket = rocket::custom(figment).attach(JwtAuth::fairing()).mount("/", routes![private]);
    let client = Client::tracked(rocket).await.expect("configured from the environment");

    for (audience, status) in [
        ("https://from-env.example.test", Status::Ok),
        ("https://file.example.test", Status::Unauthorized),
    ] {
        let token = issuer.token(&issuer.claims(audience));
        let response = client
            .get("/private")
            .header(Header::new("Authorization", format!("Bearer {token}")))
            .dispatch()
            .await;
        assert_eq!(response.status(), status, "{audience}");
    }
}
