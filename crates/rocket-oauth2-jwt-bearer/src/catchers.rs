//! JSON catchers: every error under the base they are registered at
//! answers `{"message": ...}`, and auth failures answer with their RFC 6750
//! challenge.
//!
//! Guard errors don't reach Rocket 0.5 catchers, so the guards record the
//! failure in request-local state ([`RecordedFailure`]) and the catcher
//! renders it here.

use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{catch, catchers, Catcher, Request};

use crate::error::{AuthError, ErrorBody, RecordedFailure};

/// What the catcher answers with.
enum ApiError {
    Auth(AuthError),
    Status(Status),
}

impl<'r> Responder<'r, 'static> for ApiError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            ApiError::Auth(error) => error.respond_to(req),
            ApiError::Status(status) => {
                let message = status.reason().unwrap_or("Error");
                let mut response = Json(ErrorBody { message }).respond_to(req)?;
                response.set_status(status);
                Ok(response)
            }
        }
    }
}

#[catch(default)]
fn api(status: Status, req: &Request<'_>) -> ApiError {
    match RecordedFailure::of(req) {
        Some(error) if error.status() == status => ApiError::Auth(error.clone()),
        // A 401 from elsewhere still tells the client how to authenticate.
        _ if status == Status::Unauthorized => ApiError::Auth(AuthError::MissingCredentials),
        _ => ApiError::Status(status),
    }
}

/// The catchers to register where the guarded routes are mounted: a guard
/// failure is answered with its status, `WWW-Authenticate` challenge and a
/// JSON `message`; any other error with its status and a JSON `message`.
///
/// ```rust
/// let rocket = rocket::build().register("/api", rocket_oauth2_jwt_bearer::catchers());
/// ```
pub fn catchers() -> Vec<Catcher> {
    catchers![api]
}
