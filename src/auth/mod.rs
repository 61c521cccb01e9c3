//! OAuth 2.0 bearer-token authentication for Rocket, in four parts:
//!
//! 1. [`JwtAuth`], a fairing, loads the issuer's JSON Web Key Set at
//!    ignition (OIDC discovery, then the JWKS) and keeps it fresh.
//!    (Or a shared `secret`, or a static `public_key`: see [`KeySource`].)
//! 2. The [key store](jwks) holds the keys, parsed once ([`jwk`]), as an
//!    immutable snapshot; a refresh swaps in a new one, an unknown `kid`
//!    triggers at most one refetch per cooldown, and an unreachable issuer
//!    leaves the last good keys in place.
//! 3. The guards [`BearerToken`], [`MaybeBearer`], [`HasScope<S>`],
//!    [`HasScopes<T>`], [`AnyScope<T>`] and [`HasPermission<P>`] find the
//!    token ([`credentials`], RFC 6750), verify it ([`Verifier`]: size,
//!    shape, `alg`, `crit`, key, signature, then [`Claims`]) once per
//!    request — or take it from the [verified-token cache](cache) — and
//!    check scopes.
//! 4. A failure is an [`AuthError`]: recorded in request-local state and
//!    rendered by the `/api` catchers as status, `WWW-Authenticate` and JSON.
//!
//! ```rust
//! use auth0_rocket_api::auth::{BearerToken, HasScope, JwtAuth};
//! use rocket::{get, routes};
//!
//! auth0_rocket_api::scope!(pub ReadReports = "read:reports");
//!
//! #[get("/reports")]
//! fn reports(token: HasScope<ReadReports>) -> String {
//!     format!("reports for {:?}", token.claims().subject)
//! }
//!
//! let rocket = rocket::build().attach(JwtAuth::fairing()).mount("/api", routes![reports]);
//! ```

pub mod algorithms;
pub mod cache;
pub mod claims;
pub mod credentials;
pub mod error;
pub mod fairing;
pub mod fetch;
pub mod guards;
pub mod jwk;
pub mod jwks;
mod key_checks;
pub mod token;

pub use crate::config::KeySource;
pub use claims::Claims;
pub use error::{AuthError, RequestError, TokenError};
pub use fairing::JwtAuth;
pub use guards::{
    AnyScope, BearerToken, HasPermission, HasScope, HasScopes, MaybeBearer, Scope, ScopeSet,
};
pub use token::{Policy, Verifier};
