//! Request guards: [`BearerToken`] (a valid access token) and
//! [`HasScope<S>`] (a valid access token that grants scope `S`).
//!
//! ```rust
//! use rocket_oauth2_jwt_bearer::{BearerToken, HasScope};
//! use rocket::get;
//!
//! rocket_oauth2_jwt_bearer::scope!(pub WriteMessages = "write:messages");
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
//! Every guard accepts both schemes, `Bearer` and (unless `dpop.mode =
//! "disabled"`) `DPoP` with its proof; [`BearerToken::binding`] says which
//! was proven, and [`DpopBound`] demands DPoP on one route whatever the
//! mode.
//!
//! All need the [`JwtAuth`](crate::JwtAuth) fairing: each guard is a
//! Rocket `Sentinel`, so a route using one without it stops launch. Every
//! failure leaves through one exit, [`AuthError::refuse`]: an
//! `Outcome::Error`, never a `Forward` (which would end as a 404 from the
//! file server), recorded for the catchers, which render it as an RFC 6750
//! response (Rocket 0.5 catchers see only the status).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;
use std::sync::Arc;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde_json::Value;

use crate::possession::dpop::Dpop;
use crate::possession::mtls::Mtls;
use crate::request::credentials::{self, Scheme};
use crate::request::scope_rules::{ScopeHint, ScopeRules};
use crate::settings::config::DpopMode;
use crate::settings::scope_hierarchy::OFFLINE_ACCESS;
use crate::verification::claims::Claims;
use crate::verification::token::Verifier;
use crate::words::binding::Binding;
use crate::words::error::{AuthError, Claim, TokenError};
use crate::words::jose_header::JoseHeader;

/// A request whose bearer token verified. Cheap to clone.
///
/// The token is verified once per request, however many guards ask.
#[derive(Clone)]
pub struct BearerToken {
    claims: Arc<Claims>,
    binding: Binding,
}

impl BearerToken {
    /// The token's verified claims.
    pub fn claims(&self) -> &Claims {
        &self.claims
    }

    /// How the request proved it may use the token: as a plain bearer
    /// token, or with a DPoP proof by the key the token is bound to.
    ///
    /// ```rust
    /// # use rocket_oauth2_jwt_bearer::{BearerToken, Binding};
    /// #[rocket::get("/whoami")]
    /// fn whoami(token: BearerToken) -> String {
    ///     match token.binding().jkt() {
    ///         Some(jkt) => format!("holder of key {jkt}"),
    ///         None => "bearer".into(),
    ///     }
    /// }
    /// ```
    pub fn binding(&self) -> &Binding {
        &self.binding
    }

    /// The access token as the client sent it (the Express library's
    /// `req.auth.token`), e.g. to call a downstream API on the user's
    /// behalf. Never log it.
    ///
    /// ```rust
    /// # use rocket_oauth2_jwt_bearer::BearerToken;
    /// #[rocket::get("/upstream")]
    /// fn upstream(token: BearerToken) -> String {
    ///     let authorization = format!("Bearer {}", token.token());
    ///     // reqwest::Client::new().get(URL).header("Authorization", authorization) ...
    ///     # let _ = authorization;
    ///     "called".into()
    /// }
    /// ```
    pub fn token(&self) -> &str {
        self.claims.token()
    }

    /// The token's JOSE header (`req.auth.header`), decoded on each call.
    ///
    /// ```rust
    /// # use rocket_oauth2_jwt_bearer::BearerToken;
    /// #[rocket::get("/kid")]
    /// fn kid(token: BearerToken) -> String {
    ///     let header = token.header();
    ///     format!("{} signed by {}", header.alg, header.kid.as_deref().unwrap_or("?"))
    /// }
    /// ```
    pub fn header(&self) -> JoseHeader {
        // The token verified, so its header decodes.
        JoseHeader::of(self.token()).unwrap_or_default()
    }
}

// Handlers may log guards; never print a token or its claims by accident.
impl fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerToken")
            .field("sub", &self.claims.subject)
            .field("dpop", &self.binding.is_sender_constrained())
            .finish_non_exhaustive()
    }
}

/// The outcome of verifying this request's token, cached per request.
struct Verified(Result<BearerToken, AuthError>);

/// Marks a request whose token verified, so responses to it are `no-store`.
pub(crate) struct Authenticated;

impl BearerToken {
    /// Verifies the request's token once; later calls get the same outcome.
    pub(crate) async fn verified<'r>(req: &'r Request<'_>) -> &'r Result<BearerToken, AuthError> {
        &req.local_cache_async(async { Verified(Self::authenticate(req).await) }).await.0
    }

    async fn authenticate(req: &Request<'_>) -> Result<BearerToken, AuthError> {
        // The fairing manages all three together.
        let rocket = req.rocket();
        let state = (rocket.state::<Verifier>(), rocket.state::<Dpop>(), rocket.state::<Mtls>());
        let (Some(verifier), Some(dpop), Some(mtls)) = state else {
            log::error!("BearerToken used without the JwtAuth fairing attached");
            return Err(AuthError::NotConfigured);
        };

        let allow_query = verifier.policy().allow_query_token;
        let with_dpop = dpop.mode() != DpopMode::Disabled;
        let credentials = credentials::credentials(req, allow_query, with_dpop)?;
        let (claims, binding) = match credentials.scheme {
            Scheme::Dpop => {
                // The proof's form before the token; its key, signature and
                // claims only for a valid token (see `possession::dpop`).
                let pending = dpop.precheck(req)?;
                let claims = verifier.verify(credentials.token).await?;
                let binding = dpop.bind(req, pending, credentials.token, &claims).await?;
                (claims, binding)
            }
            Scheme::Bearer => {
                dpop.admit_bearer(req)?;
                let claims = verifier.verify(credentials.token).await?;
                // A DPoP-bound token without its proof is a stolen token
                // until proven otherwise (RFC 9449 §7.2), in every mode.
                if claims.jkt().is_some() {
                    return Err(AuthError::InvalidToken(TokenError::SenderConstrained));
                }
                let binding = mtls.bind(req, &claims).await?;
                (claims, binding)
            }
        };
        req.local_cache(|| Some(Authenticated));
        Ok(BearerToken { claims, binding })
    }

    /// Requires claim `name` to equal `expected` (the Express library's
    /// `claimEquals`); 403 `insufficient_scope` otherwise.
    ///
    /// ```rust
    /// # use rocket_oauth2_jwt_bearer::{AuthError, BearerToken};
    /// #[rocket::get("/org")]
    /// fn org(token: BearerToken) -> Result<&'static str, AuthError> {
    ///     token.claim_equals("org_id", "org_123")?;
    ///     Ok("welcome")
    /// }
    /// ```
    pub fn claim_equals(
        &self,
        name: &'static str,
        expected: impl Into<Value>,
    ) -> Result<(), AuthError> {
        let expected = expected.into();
        self.claim_check_for(name, |claims| claims.get(name) == Some(&expected))
    }

    /// Requires claim `name` — an array, or a space-delimited string — to
    /// include every one of `values` (`claimIncludes`); 403 otherwise.
    pub fn claim_includes(&self, name: &'static str, values: &[&str]) -> Result<(), AuthError> {
        self.claim_check_for(name, |claims| {
            let held: Vec<&str> = match claims.get(name) {
                Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
                Some(Value::String(list)) => list.split(' ').collect(),
                _ => return false,
            };
            values.iter().all(|value| held.contains(value))
        })
    }

    /// Requires `check` to hold for the claims (`claimCheck`); 403 with
    /// `description` (a fixed reason: never echo claim values) otherwise.
    pub fn claim_check(
        &self,
        description: &'static str,
        check: impl FnOnce(&Claims) -> bool,
    ) -> Result<(), AuthError> {
        match check(&self.claims) {
            true => Ok(()),
            false => Err(AuthError::claim_check(description)),
        }
    }

    fn claim_check_for(
        &self,
        name: &str,
        check: impl FnOnce(&Claims) -> bool,
    ) -> Result<(), AuthError> {
        match check(&self.claims) {
            true => Ok(()),
            false => Err(AuthError::claim_check(&format!("Unexpected '{name}' value"))),
        }
    }
}

/// Launch stops when a route uses one of these guards and the fairing that
/// manages what they verify with is missing: a Rocket [`Sentinel`], as
/// `rocket_db_pools` does for its connections.
pub(crate) fn fairing_missing(rocket: &Rocket<Ignite>, guard: &str) -> bool {
    if rocket.state::<Verifier>().is_some() {
        return false;
    }
    log::error!(
        "JWT auth: a route uses the `{guard}` guard, but the `JwtAuth` fairing is not \
         attached: add `.attach(JwtAuth::fairing())`"
    );
    true
}

impl Sentinel for BearerToken {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing(rocket, "BearerToken")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for BearerToken {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match Self::verified(req).await {
            Ok(token) => Outcome::Success(token.clone()),
            Err(error) => error.clone().refuse(req),
        }
    }
}

/// Optional authentication (the Express library's `authRequired: false`):
/// `MaybeBearer(None)` when the request carries no credentials at all, the
/// verified token when it carries a valid one, and 401 when it carries an
/// invalid one.
///
/// Not `Option<BearerToken>`: Rocket's blanket `Option` guard turns every
/// failure into `None`, so an expired or forged token would be served as
/// anonymous instead of being refused.
///
/// ```rust
/// # use rocket_oauth2_jwt_bearer::MaybeBearer;
/// #[rocket::get("/greeting")]
/// fn greeting(user: MaybeBearer) -> String {
///     match user.0 {
///         Some(token) => format!("hello {:?}", token.claims().subject),
///         None => "hello, stranger".into(),
///     }
/// }
/// ```
#[derive(Debug, Clone)]
pub struct MaybeBearer(pub Option<BearerToken>);

impl Sentinel for MaybeBearer {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing(rocket, "MaybeBearer")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for MaybeBearer {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match BearerToken::verified(req).await {
            Ok(token) => Outcome::Success(MaybeBearer(Some(token.clone()))),
            Err(AuthError::MissingCredentials) => Outcome::Success(MaybeBearer(None)),
            Err(error) => error.clone().refuse(req),
        }
    }
}

/// A [`BearerToken`] presented with the `DPoP` scheme and a valid proof,
/// whatever `dpop.mode` says: for the routes that must never accept a
/// plain bearer token. A bearer token is answered 401 with only the
/// `DPoP` challenge. Derefs to the [`BearerToken`].
///
/// ```rust
/// # use rocket_oauth2_jwt_bearer::DpopBound;
/// #[rocket::post("/transfer")]
/// fn transfer(token: DpopBound) -> String {
///     format!("transfer by {:?}", token.claims().subject)
/// }
/// ```
#[derive(Debug, Clone)]
pub struct DpopBound(BearerToken);

impl Deref for DpopBound {
    type Target = BearerToken;

    fn deref(&self) -> &BearerToken {
        &self.0
    }
}

impl Sentinel for DpopBound {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing(rocket, "DpopBound")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for DpopBound {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match BearerToken::verified(req).await {
            Ok(token) if matches!(token.binding, Binding::Dpop { .. }) => {
                Outcome::Success(DpopBound(token.clone()))
            }
            Ok(_) | Err(AuthError::MissingCredentials) => AuthError::DpopRequired.refuse(req),
            Err(error) => error.clone().refuse(req),
        }
    }
}

/// A scope a route can require: a zero-sized marker type naming it.
///
/// Stable Rust can't take a string as a const generic (`HasScope<"a:b">`),
/// so each scope is a type. Declare one with [`scope!`](crate::scope); the
/// same markers name permissions for [`HasPermission`].
pub trait Scope: Send + Sync + 'static {
    /// The scope as it appears in the token, e.g. `read:messages`.
    const NAME: &'static str;
}

/// Declares a [`Scope`] marker type in one line:
///
/// ```rust
/// rocket_oauth2_jwt_bearer::scope!(pub ReadReports = "read:reports");
/// # use rocket_oauth2_jwt_bearer::Scope;
/// assert_eq!(ReadReports::NAME, "read:reports");
/// ```
#[macro_export]
macro_rules! scope {
    ($(#[$attr:meta])* $vis:vis $name:ident = $scope:literal) => {
        $(#[$attr])*
        #[doc = concat!("The `", $scope, "` scope.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis struct $name;

        impl $crate::Scope for $name {
            const NAME: &'static str = $scope;
        }
    };
}

/// Several scopes, as a tuple of [`Scope`] markers: `(ReadMessages,)`,
/// `(ReadMessages, WriteMessages)`, … (up to four).
pub trait ScopeSet: Send + Sync + 'static {
    /// The scopes, e.g. `["read:messages", "write:messages"]`.
    const NAMES: &'static [&'static str];
}

macro_rules! scope_sets {
    ($(($($s:ident),+)),+) => {$(
        impl<$($s: Scope),+> ScopeSet for ($($s,)+) {
            const NAMES: &'static [&'static str] = &[$($s::NAME),+];
        }
    )+};
}

scope_sets!((A), (A, B), (A, B, C), (A, B, C, D));

/// How a guard matches the names it requires against a token.
#[derive(Clone, Copy)]
enum Rule {
    /// Every name, among the scopes (`scope_claims`).
    AllScopes,
    /// At least one name, among the scopes.
    AnyScope,
    /// Every name, in the `permissions` claim (Auth0 RBAC).
    AllPermissions,
}

/// Verifies the token, then checks `names` by `rule`, where a scope
/// `scope_hierarchy` says implies a name grants it: 403
/// `insufficient_scope` with `scope="<names>"` when they aren't granted.
/// A 401 names them too.
async fn authorize(
    req: &Request<'_>,
    names: &'static [&'static str],
    rule: Rule,
) -> Outcome<BearerToken, AuthError> {
    let required = || match names {
        [one] => Cow::Borrowed(*one),
        many => Cow::Owned(many.join(" ")),
    };
    ScopeHint::record(req, required);
    let token = match BearerToken::verified(req).await {
        Ok(token) => token.clone(),
        Err(error) => return error.clone().refuse(req),
    };
    let Some(rules) = ScopeRules::of(req) else {
        return AuthError::NotConfigured.refuse(req);
    };

    let claims = token.claims();
    let (held, claim) = match rule {
        Rule::AllScopes | Rule::AnyScope => (claims.scopes(), Claim::Scope),
        Rule::AllPermissions => (claims.permissions(), Claim::Permissions),
    };
    let granted = |name: &&str| held.is_some_and(|held| rules.hierarchy.grants(held, name));
    let ok = match rule {
        Rule::AnyScope => names.iter().any(granted),
        Rule::AllScopes | Rule::AllPermissions => names.iter().all(granted),
    };
    if ok {
        return Outcome::Success(token);
    }

    match held {
        Some(_) => AuthError::InsufficientScope { required: required() }.refuse(req),
        None => AuthError::MissingScopeClaim { claim, required: required() }.refuse(req),
    }
}

/// Whether a guard's `names` hold `offline_access`, which asks for a
/// refresh token and is no permission a route can need: launch stops.
fn names_offline_access(guard: &str, names: &[&str]) -> bool {
    let named = names.contains(&OFFLINE_ACCESS);
    if named {
        log::error!(
            "JWT auth: a route's `{guard}` guard needs `{OFFLINE_ACCESS}`, which asks an \
             authorization server for a refresh token and is no permission on an API"
        );
    }
    named
}

macro_rules! scope_guard {
    ($(#[$doc:meta])* $guard:ident<$param:ident: $bound:ident>, $names:expr, $rule:expr) => {
        $(#[$doc])*
        pub struct $guard<$param: $bound> {
            token: BearerToken,
            required: PhantomData<fn() -> $param>,
        }

        impl<$param: $bound> Deref for $guard<$param> {
            type Target = BearerToken;

            fn deref(&self) -> &BearerToken {
                &self.token
            }
        }

        impl<$param: $bound> fmt::Debug for $guard<$param> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($guard)).field(&$names).field(&self.token).finish()
            }
        }

        impl<$param: $bound> Sentinel for $guard<$param> {
            fn abort(rocket: &Rocket<Ignite>) -> bool {
                fairing_missing(rocket, stringify!($guard))
                    || names_offline_access(stringify!($guard), $names)
            }
        }

        #[rocket::async_trait]
        impl<'r, $param: $bound> FromRequest<'r> for $guard<$param> {
            type Error = AuthError;

            async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
                authorize(req, $names, $rule)
                    .await
                    .map(|token| $guard { token, required: PhantomData })
            }
        }
    };
}

scope_guard!(
    /// A [`BearerToken`] whose scopes include `S::NAME`; 403
    /// `insufficient_scope` otherwise. Derefs to the [`BearerToken`].
    HasScope<S: Scope>,
    &[S::NAME],
    Rule::AllScopes
);

scope_guard!(
    /// A [`BearerToken`] granted every scope of `T`, e.g.
    /// `HasScopes<(ReadMessages, WriteMessages)>`.
    HasScopes<T: ScopeSet>,
    T::NAMES,
    Rule::AllScopes
);

scope_guard!(
    /// A [`BearerToken`] granted at least one scope of `T`, e.g.
    /// `AnyScope<(ReadMessages, Admin)>`.
    AnyScope<T: ScopeSet>,
    T::NAMES,
    Rule::AnyScope
);

scope_guard!(
    /// A [`BearerToken`] whose `permissions` claim (Auth0 RBAC, "Add
    /// Permissions in the Access Token") includes `P::NAME`, whatever
    /// `scope_claims` says.
    HasPermission<P: Scope>,
    &[P::NAME],
    Rule::AllPermissions
);

/// A rule on a token's claims that a route can require with [`Satisfies`]:
/// the guard form of [`BearerToken::claim_check`].
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::{ClaimRule, Claims, Satisfies};
///
/// /// Tokens issued to a member of organization `org_1`.
/// struct OrgOne;
///
/// impl ClaimRule for OrgOne {
///     const DESCRIPTION: &'static str = "Unexpected 'org_id' value";
///
///     fn check(claims: &Claims) -> bool {
///         claims.get("org_id").and_then(|v| v.as_str()) == Some("org_1")
///     }
/// }
///
/// #[rocket::get("/org")]
/// fn org(token: Satisfies<OrgOne>) -> String {
///     format!("welcome {:?}", token.claims().subject)
/// }
/// ```
pub trait ClaimRule: Send + Sync + 'static {
    /// The fixed `error_description` of the 403 `insufficient_scope` when
    /// the rule fails: never a claim's value.
    const DESCRIPTION: &'static str;

    /// Whether `claims` satisfy the rule.
    fn check(claims: &Claims) -> bool;
}

/// The [`ClaimRule`] of [`Delegated`]: the token carries `act`.
pub struct DelegatedToken;

impl ClaimRule for DelegatedToken {
    const DESCRIPTION: &'static str = "A delegated token is required";

    fn check(claims: &Claims) -> bool {
        claims.actor().is_some()
    }
}

/// A [`BearerToken`] of a delegated token (RFC 8693 `act`: someone acting
/// for the subject, such as an agent for its user); 403
/// `insufficient_scope` with `A delegated token is required` otherwise.
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::Delegated;
///
/// #[rocket::get("/on-behalf")]
/// fn on_behalf(token: Delegated) -> String {
///     let chain: Vec<&str> =
///         token.claims().delegation_chain().iter().map(|a| a.subject.as_str()).collect();
///     format!("{} for {:?}", chain.join(" via "), token.claims().subject)
/// }
/// ```
pub type Delegated = Satisfies<DelegatedToken>;

/// A [`BearerToken`] whose claims satisfy the [`ClaimRule`] `R`; 403
/// `insufficient_scope` with `R::DESCRIPTION` otherwise. Derefs to the
/// [`BearerToken`].
pub struct Satisfies<R: ClaimRule> {
    token: BearerToken,
    rule: PhantomData<fn() -> R>,
}

impl<R: ClaimRule> Deref for Satisfies<R> {
    type Target = BearerToken;

    fn deref(&self) -> &BearerToken {
        &self.token
    }
}

impl<R: ClaimRule> fmt::Debug for Satisfies<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Satisfies").field(&R::DESCRIPTION).field(&self.token).finish()
    }
}

impl<R: ClaimRule> Sentinel for Satisfies<R> {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing(rocket, "Satisfies")
    }
}

#[rocket::async_trait]
impl<'r, R: ClaimRule> FromRequest<'r> for Satisfies<R> {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        match BearerToken::verified(req).await {
            Ok(token) if R::check(token.claims()) => {
                Outcome::Success(Satisfies { token: token.clone(), rule: PhantomData })
            }
            Ok(_) => AuthError::claim_check(R::DESCRIPTION).refuse(req),
            Err(error) => error.clone().refuse(req),
        }
    }
}
