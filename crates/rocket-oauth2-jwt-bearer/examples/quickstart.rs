//! A complete API protected by this crate, as a user writes it: a public
//! route, a route for any valid token, one that needs a scope, JSON errors
//! with RFC 6750 challenges.
//!
//! Configure it in `Rocket.toml` (or `ROCKET_AUTH`):
//!
//! ```toml
//! [default.auth]
//! issuer_base_url = "https://YOUR_TENANT.auth0.com/"
//! audience = "https://api.example.com"
//! ```
//!
//! or try it with no tenant at all, through the development issuer:
//!
//! ```sh
//! ROCKET_AUTH='{dev_issuer=true}' \
//!   cargo run -p rocket-oauth2-jwt-bearer --features dev-issuer --example quickstart
//! TOKEN=$(curl -s -X POST localhost:8000/dev/token -d scope=read:messages | jq -r .access_token)
//! curl -H "Authorization: Bearer $TOKEN" localhost:8000/api/private-scoped
//! ```

use rocket::serde::json::{Value, json};
use rocket::{get, launch, routes};
use rocket_oauth2_jwt_bearer::{BearerToken, HasScope, JwtAuth, scope};

scope!(ReadMessages = "read:messages");

#[get("/public")]
fn public() -> Value {
    json!({ "message": "Hello from a public endpoint!" })
}

#[get("/private")]
fn private(token: BearerToken) -> Value {
    json!({ "message": "Hello from a private endpoint!", "sub": token.claims().subject })
}

#[get("/private-scoped")]
fn private_scoped(_token: HasScope<ReadMessages>) -> Value {
    json!({ "message": "Hello from a scoped endpoint!" })
}

#[launch]
fn rocket() -> _ {
    rocket::build()
        .attach(JwtAuth::fairing())
        .mount("/api", routes![public, private, private_scoped])
        .register("/api", rocket_oauth2_jwt_bearer::catchers())
}
