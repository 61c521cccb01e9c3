//! Writes a refusal as the response: the status, `WWW-Authenticate`
//! challenges and JSON body that `words::error` decides, in the context of
//! this request (the scheme it used, `dpop.mode`, the metadata URL); and
//! keeps the refusal for the catchers and the metrics.

use rocket::http::Header;
use rocket::request::{Outcome, Request};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use serde::Serialize;

use crate::possession::dpop::Dpop;
use crate::request::credentials::UsedScheme;
use crate::request::resource_metadata::ResourceMetadata;
use crate::request::scope_rules::{McpRoute, ScopeHint};
use crate::words::error::{AuthError, ChallengeContext};
use crate::words::scheme::DpopMode;

/// The context of `req` in its Rocket.
pub(crate) fn challenge_context<'a>(req: &'a Request<'_>) -> ChallengeContext<'a> {
    let dpop = req.rocket().state::<Dpop>();
    ChallengeContext {
        scheme: UsedScheme::of(req),
        mode: dpop.map_or(DpopMode::Disabled, Dpop::mode),
        algs: dpop.map_or("", Dpop::algs),
        resource_metadata: req.rocket().state::<ResourceMetadata>().map(|metadata| {
            let mcp = McpRoute::of(req).then(|| metadata.mcp_url()).flatten();
            mcp.unwrap_or(metadata.url())
        }),
        scope_hint: ScopeHint::of(req),
    }
}

impl AuthError {
    /// Refuses the request from a request guard of your own, exactly as the
    /// crate's guards do: the refusal is logged (at debug level, never the
    /// token), recorded for the catchers and the metrics, and answered with
    /// its status, `WWW-Authenticate` challenge and JSON body.
    ///
    /// ```rust
    /// use rocket::request::{FromRequest, Outcome, Request};
    /// use rocket_oauth2_jwt_bearer::{AuthError, BearerToken};
    ///
    /// /// A token issued to a member of organization `org_1`.
    /// struct OrgMember(BearerToken);
    ///
    /// #[rocket::async_trait]
    /// impl<'r> FromRequest<'r> for OrgMember {
    ///     type Error = AuthError;
    ///
    ///     async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
    ///         let token = rocket::outcome::try_outcome!(req.guard::<BearerToken>().await);
    ///         match token.claim_equals("org_id", "org_1") {
    ///             Ok(()) => Outcome::Success(OrgMember(token)),
    ///             Err(error) => error.refuse(req),
    ///         }
    ///     }
    /// }
    /// ```
    pub fn refuse<T>(self, req: &Request<'_>) -> Outcome<T, AuthError> {
        log::debug!("{} {}: refused: {self}", req.method(), req.uri().path());
        RecordedFailure::record(req, &self);
        Outcome::Error((self.status(), self))
    }
}

/// The JSON body of every error this API answers with.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub message: &'a str,
}

/// A handler may return an `AuthError` itself (from
/// [`BearerToken::claim_equals`](crate::BearerToken::claim_equals) and
/// the like): it is then logged and counted like a guard's failure.
impl<'r> Responder<'r, 'static> for AuthError {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        if RecordedFailure::record(req, &self) {
            log::debug!("{} {}: refused: {self}", req.method(), req.uri().path());
        }
        let mut response = match &self {
            // A JSON-RPC error, as MCP clients read them.
            AuthError::Mcp { problem, id } => {
                let mut body = serde_json::json!({
                    "jsonrpc": "2.0",
                    "error": { "code": problem.code(), "message": problem.description() },
                });
                if let Some(id) = id {
                    body["id"] = id.to_json();
                }
                Json(body).respond_to(req)?
            }
            _ => Json(ErrorBody { message: self.description() }).respond_to(req)?,
        };
        response.set_status(self.status());
        for challenge in self.challenges(&challenge_context(req)) {
            response.adjoin_header(Header::new("WWW-Authenticate", challenge));
        }
        match &self {
            AuthError::IssuerUnavailable { retry_after }
            | AuthError::ReplayStoreUnavailable { retry_after } => {
                response.set_header(Header::new("Retry-After", retry_after.to_string()));
            }
            AuthError::UseDpopNonce { nonce } => {
                response.set_header(Header::new("DPoP-Nonce", nonce.clone()));
                // RFC 9449 §8.2, §9: an answer carrying a nonce is not cached.
                response.set_header(Header::new("Cache-Control", "no-store"));
            }
            _ => {}
        }

        Ok(response)
    }
}

/// The last auth failure of a request, kept in request-local state so the
/// `/api` catchers can render it: Rocket 0.5 catchers see only the status.
#[derive(Debug, Clone, Default)]
pub(crate) struct RecordedFailure(pub Option<AuthError>);

impl RecordedFailure {
    /// Keeps `error` for the catcher. `local_cache` keeps the first value per
    /// type, so only the first failure of a request is kept: that is the one
    /// Rocket answers with, since the first failing guard ends the request.
    /// Returns whether this was the first.
    pub(crate) fn record(req: &Request<'_>, error: &AuthError) -> bool {
        let mut first = false;
        req.local_cache(|| {
            first = true;
            RecordedFailure(Some(error.clone()))
        });
        first
    }

    /// The failure a guard recorded for this request, if any.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> Option<&'r AuthError> {
        req.local_cache(RecordedFailure::default).0.as_ref()
    }
}
