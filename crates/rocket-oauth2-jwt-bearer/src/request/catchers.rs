//! Catchers that answer a guard's refusal with its status, RFC 6750
//! challenge and JSON body.
//!
//! Guard errors don't reach Rocket 0.5 catchers, so the guards record the
//! failure in request-local state ([`RecordedFailure`]) and the catcher
//! renders it here. Two sets:
//!
//! - [`catchers()`], which an app registers where its API is mounted: every
//!   error there answers `{"message": ...}`;
//! - the ones the fairing registers at `/` for the statuses a guard can
//!   answer with ([`for_refusals`]), so that an app that registers nothing
//!   still sends the challenge; any other error there gets Rocket's own
//!   answer, as if they weren't there.

use std::sync::LazyLock;

use rocket::catcher::BoxFuture;
use rocket::http::Status;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Build, Catcher, Request, Rocket, catch, catchers};

use crate::request::respond::{ErrorBody, RecordedFailure};
use crate::words::error::AuthError;

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

/// The statuses a guard refuses with (see [`AuthError::status`]).
const REFUSAL_STATUSES: [u16; 5] = [400, 401, 403, 500, 503];

/// Rocket's own default catcher, for what isn't a refusal.
static ROCKET_DEFAULT: LazyLock<Catcher> = LazyLock::new(Catcher::default);

/// A refusal recorded for this request with `status`, rendered; otherwise
/// Rocket's default answer (a 401 still with the challenge: RFC 7235 wants
/// one on every 401).
fn refusal_or_default<'r>(status: Status, req: &'r Request<'_>) -> BoxFuture<'r> {
    Box::pin(async move {
        match RecordedFailure::of(req) {
            Some(error) if error.status() == status => error.clone().respond_to(req),
            _ if status == Status::Unauthorized => AuthError::MissingCredentials.respond_to(req),
            _ => ROCKET_DEFAULT.handler.handle(status, req).await,
        }
    })
}

/// The catchers the fairing registers at `/`: one per refusal status that
/// the app left without a catcher at `/` (an app's own catcher, at `/` or
/// under a longer base such as `/api`, keeps precedence).
pub(crate) fn for_refusals(rocket: &Rocket<Build>) -> Vec<Catcher> {
    let at_root: Vec<Option<u16>> =
        rocket.catchers().filter(|c| c.base.path() == "/").map(|c| c.code).collect();
    if at_root.contains(&None) {
        log::debug!("JWT auth: the app has a default catcher at `/`; registering none");
        return Vec::new();
    }
    REFUSAL_STATUSES
        .into_iter()
        .filter(|code| !at_root.contains(&Some(*code)))
        .map(|code| {
            let mut catcher = Catcher::new(code, refusal_or_default);
            catcher.name = Some("JWT auth refusal".into());
            catcher
        })
        .collect()
}
