//! The three routes of the quickstart, mounted at `/api`.

use rocket::serde::json::Json;
use rocket::{Route, get, routes};
use serde::Serialize;

use rocket_oauth2_jwt_bearer::{BearerToken, HasScope, scope};

scope!(pub ReadMessages = "read:messages");

/// The JSON body of every answer: `{"message": "..."}`.
#[derive(Debug, Serialize)]
pub struct Message {
    pub message: &'static str,
}

/// Answers anyone.
#[get("/public")]
pub fn public() -> Json<Message> {
    Json(Message {
        message: "Hello from a public endpoint! You don't need to be authenticated to see this.",
    })
}

/// Needs a valid access token.
#[get("/private")]
pub fn private(_token: BearerToken) -> Json<Message> {
    Json(Message {
        message: "Hello from a private endpoint! You need to be authenticated to see this.",
    })
}

/// Needs a valid access token with the `read:messages` scope.
#[get("/private-scoped")]
pub fn private_scoped(_token: HasScope<ReadMessages>) -> Json<Message> {
    Json(Message {
        message: "Hello from a private endpoint! You need to be authenticated and have a scope of \
                  read:messages to see this.",
    })
}

/// Every route of the API, to mount at `/api`.
pub fn routes() -> Vec<Route> {
    routes![public, private, private_scoped]
}
