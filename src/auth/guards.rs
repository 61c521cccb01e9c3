//! Request guards: [`BearerToken`] (a valid access token) and
//! [`HasScope<S>`] (a valid access token that grants scope `S`).
//!
//! ```rust
//! use auth0_rocket_api::auth::{BearerToken, HasScope};
//! use rocket::get;
//!
//! auth0_rocket_api::scope!(pub WriteMessages = "write:messages");
//!
//! #[get("/me")]
//! fn me(token: BearerToken) -> String {
//!     token.claims().subject.clone().unwrap_or_default()
//! }
//!
//! #[get("/post")]
//! fn post(_token: HasScope<WriteMessages>) -> &'static str {
//!     "posted"
//! }
//! ```
//!
//! Both need the [`JwtAuth`](super::JwtAuth) fairing. A failure is an
//! `Outcome::Error`, never a `Forward` (which would end as a 404 from the
//! file server), and is recorded for the `/api` catchers, which render it
//! as an RFC 6750 response: Rocket 0.5 catchers see only the status.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};

use super::claims::Claims;
use super::credentials;
use super::error::{AuthError, RecordedFailure};
use super::token::Verifier;

/// A request whose bearer token verified. Cheap to clone.
///
/// The token is verified once per request, however many guards ask.
#[derive(Clone)]
pub struct BearerToken {
    claims: Arc<Claims>,
}

impl BearerToken {
    /// The token's verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }
}

// Handlers may log guards; never print a token or its claims by accident.
impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken").field("sub", &self.claims.subject).finish_non_exhaustive()
    }
}

/// The outcome of verifying this request's token, cached per request.
struct Verified(Result<BearerToken, AuthError>);

/// Marks a request whose token verified, so responses to it are `no-store`.
pub(crate) struct Authenticated;

impl BearerToken {
    async fn authenticate(req: &Request<'_>) -> Result<BearerToken, AuthError> {
        let Some(verifier) = req.rocket().state::<Verifier>() else {
            log::error!("BearerToken used without the JwtAuth fairing attached");
            return Err(AuthError::NotConfigured);
        };

        let token = credentials::bearer_token(req, verifier.policy().allow_query_token)?;
        let claims = verifier.verify(token).await.map_err(AuthError::InvalidToken)?;
        req.local_cache(|| Some(Authenticated));
        Ok(BearerToken { claims })
    }
}

/// Records `error` for the catcher and logs it at debug level (never the
/// token), then fails the guard.
fn refuse<T>(req: &Request<'_>, error: AuthError) -> Outcome<T, AuthError> {
    log::debug!("{} {}: refused: {error}", req.method(), req.uri().path());
    RecordedFailure::record(req, &error);
    Outcome::Error((error.status(), error))
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BearerToken {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let verified =
            req.local_cache_async(async { Verified(Self::authenticate(req).await) }).await;
        match &verified.0 {
            Ok(token) => Outcome::Success(token.clone()),
            Err(error) => refuse(req, error.clone()),
        }
    }
}

/// A scope a route can require: a zero-sized marker type naming it.
///
/// Stable Rust can't take a string as a const generic (`HasScope<"a:b">`),
/// so each scope is a type. Declare one with [`scope!`](crate::scope).
pub trait Scope: Send + Sync + 'static {
    /// The scope as it appears in the token, e.g. `read:messages`.
    const NAME: &'static str;
}

/// Declares a [`Scope`] marker type in one line:
///
/// ```rust
/// auth0_rocket_api::scope!(pub ReadReports = "read:reports");
/// # use auth0_rocket_api::auth::Scope;
/// assert_eq!(ReadReports::NAME, "read:reports");
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$attr:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$attr])*
        #[doc = concat!("The `", $scope, "` scope.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis struct $name;

        impl $crate::auth::Scope for $name {
            const NAME: &'static str = $scope;
        }
    };
}

/// A [`BearerToken`] whose `scope` claim includes `S::NAME`; 403
/// `insufficient_scope` otherwise. Derefs to the [`BearerToken`].
pub struct HasScope<S: Scope> {
    token: BearerToken,
    scope: PhantomData<fn() -> S>,
}

impl<S: Scope> Deref for HasScope<S> {
    type Target = BearerToken;

    fn deref(&self) -> &BearerToken {
        &self.token
    }
}

impl<S: Scope> fmt::Debug for HasScope<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("HasScope").field(&S::NAME).field(&self.token).finish()
    }
}

#[rocket::async_trait]
impl<'r, S: Scope> FromRequest<'r> for HasScope<S> {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        let token = match BearerToken::from_request(req).await {
            Outcome::Success(token) => token,
            Outcome::Error(e) => return Outcome::Error(e),
            Outcome::Forward(status) => return Outcome::Forward(status),
        };

        let required = S::NAME.into();
        match token.claims().scopes() {
            Some(_) if token.claims().has_scope(S::NAME) => {
                Outcome::Success(HasScope { token, scope: PhantomData })
            }
            Some(_) => refuse(req, AuthError::InsufficientScope { required }),
            None => refuse(req, AuthError::MissingScopeClaim { required }),
        }
    }
}
