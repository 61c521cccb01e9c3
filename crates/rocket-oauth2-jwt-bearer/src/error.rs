//! Why a request was refused, and the one place that turns that into an
//! RFC 6750 response: status, `WWW-Authenticate` challenge and JSON body.
//!
//! Every description is a fixed, short ASCII string: a rejection never echoes
//! token content or an internal error, and every description stays inside
//! RFC 6750's `error_description` character set (printable ASCII without `"`
//! or `\`), which a test checks for every variant.

use std::borrow::Cow;
use std::fmt;

use rocket::http::{Header, Status};
use rocket::request::Request;
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use serde::Serialize;

use crate::resource_metadata::ResourceMetadata;

/// The `realm` of every challenge this service sends.
pub(crate) const REALM: &str = "api";

/// A registered claim this service checks, named in error descriptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Claim {
    /// `iss`, the issuer.
    Iss,
    /// `aud`, the audience.
    Aud,
    /// `exp`, the expiry time.
    Exp,
    /// `nbf`, the not-before time.
    Nbf,
    /// `iat`, the issue time.
    Iat,
    /// `sub`, the subject.
    Sub,
    /// `client_id` (RFC 9068).
    ClientId,
    /// `jti`, the token id.
    Jti,
    /// `scope` (RFC 8693 §4.2).
    Scope,
    /// `scp` (Okta, Azure).
    Scp,
    /// `permissions` (Auth0 RBAC).
    Permissions,
}

macro_rules! claim_descriptions {
    ($($variant:ident => $name:literal),* $(,)?) => {
        impl Claim {
            /// The claim's name in the token, e.g. `exp`.
            pub fn name(self) -> &'static str {
                match self { $(Claim::$variant => $name),* }
            }

            fn missing(self) -> &'static str {
                match self { $(Claim::$variant => concat!("Missing '", $name, "' claim")),* }
            }

            fn invalid(self) -> &'static str {
                match self { $(Claim::$variant => concat!("Invalid '", $name, "' claim type")),* }
            }
        }
    };
}

claim_descriptions! {
    Iss => "iss", Aud => "aud", Exp => "exp", Nbf => "nbf", Iat => "iat",
    Sub => "sub", ClientId => "client_id", Jti => "jti", Scope => "scope", Scp => "scp",
    Permissions => "permissions",
}

/// Why a presented bearer token is not acceptable (`error="invalid_token"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// `Authorization: Bearer` with nothing after it.
    Empty,
    /// Not the RFC 6750 `b64token` syntax, e.g. `Bearer invalidToken abc`.
    MalformedCredentials,
    /// Longer than `max_token_size`.
    TooLarge,
    /// Not three base64url segments, or a header that isn't a JSON object.
    Malformed,
    /// The claims set is not a JSON object.
    MalformedClaims,
    /// `alg` is `none`, symmetric, unknown or not in `algorithms`.
    AlgorithmNotAllowed,
    /// A `crit` header parameter: this service understands no JOSE extension.
    CriticalHeader,
    /// No key in the current key set fits the token's `kid` and `alg`.
    NoApplicableKey,
    /// The signature does not verify with the selected key.
    Signature,
    /// `now >= exp + clock_tolerance`.
    Expired,
    /// `nbf > now + clock_tolerance`.
    NotYetValid,
    /// `iss` is not exactly the configured issuer.
    Issuer,
    /// `aud` contains none of the configured audiences.
    Audience,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A claim has the wrong JSON type (e.g. a string `exp`, an array `iss`).
    InvalidClaim(Claim),
    /// A `cnf` claim: a sender-constrained token can't be used as a bearer token.
    SenderConstrained,
    /// Older than `max_token_age` (from `iat`).
    TooOld,
    /// `iat` after now (with `max_token_age`).
    IssuedInTheFuture,
    /// Strict mode: the header `typ` is not `at+jwt` (RFC 9068 §2.1).
    TokenType,
}

impl TokenError {
    /// A short stable code, for metrics labels.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Empty => "empty",
            TokenError::MalformedCredentials => "malformed_credentials",
            TokenError::TooLarge => "too_large",
            TokenError::Malformed => "malformed",
            TokenError::MalformedClaims => "malformed_claims",
            TokenError::AlgorithmNotAllowed => "alg_not_allowed",
            TokenError::CriticalHeader => "crit",
            TokenError::NoApplicableKey => "no_key",
            TokenError::Signature => "signature",
            TokenError::Expired => "expired",
            TokenError::NotYetValid => "not_yet_valid",
            TokenError::Issuer => "issuer",
            TokenError::Audience => "audience",
            TokenError::MissingClaim(_) => "missing_claim",
            TokenError::InvalidClaim(_) => "invalid_claim",
            TokenError::SenderConstrained => "sender_constrained",
            TokenError::TooOld | TokenError::IssuedInTheFuture => "iat",
            TokenError::TokenType => "typ",
        }
    }

    /// The fixed `error_description` for this failure.
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Empty => "Bearer token is empty",
            TokenError::MalformedCredentials => "Malformed bearer token",
            TokenError::TooLarge => "Token is too large",
            TokenError::Malformed => "Invalid Compact JWS",
            TokenError::MalformedClaims => "JWT Claims Set must be a top-level JSON object",
            TokenError::AlgorithmNotAllowed => "'alg' header parameter value not allowed",
            TokenError::CriticalHeader => "Unsupported 'crit' header parameter",
            TokenError::NoApplicableKey => "no applicable key found in the JSON Web Key Set",
            TokenError::Signature => "signature verification failed",
            TokenError::Expired => "'exp' claim timestamp check failed",
            TokenError::NotYetValid => "'nbf' claim timestamp check failed",
            TokenError::Issuer => "Unexpected 'iss' value",
            TokenError::Audience => "Unexpected 'aud' value",
            TokenError::MissingClaim(claim) => claim.missing(),
            TokenError::InvalidClaim(claim) => claim.invalid(),
            TokenError::SenderConstrained => "Sender-constrained token used as a bearer token",
            TokenError::TooOld => "'iat' claim timestamp check failed (too far in the past)",
            TokenError::IssuedInTheFuture => {
                "'iat' claim timestamp check failed (it should be in the past)"
            }
            TokenError::TokenType => "Unexpected 'typ' header value",
        }
    }
}

/// Why a request is malformed (`error="invalid_request"`, 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestError {
    /// A token in the `Authorization` header and in the query.
    MultipleMethods,
    /// More than one `Authorization` header.
    RepeatedHeader,
    /// More than one `access_token` query parameter.
    RepeatedParameter,
}

impl RequestError {
    /// The fixed `error_description` for this failure.
    pub fn description(self) -> &'static str {
        match self {
            RequestError::MultipleMethods => "More than one method used for authentication",
            RequestError::RepeatedHeader => "More than one Authorization header",
            RequestError::RepeatedParameter => "More than one access_token parameter",
        }
    }
}

/// Why a request guard refused a request. Renders itself as the response.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthError {
    /// No bearer credentials at all: RFC 6750 §3.1 says to send no error code.
    MissingCredentials,
    /// 400 `invalid_request`.
    InvalidRequest(RequestError),
    /// 401 `invalid_token`.
    InvalidToken(TokenError),
    /// 403: the token is valid but carries no scope claim at all (`claim`
    /// is `Scope`, or `Permissions` for permission guards).
    MissingScopeClaim {
        /// The claim that is missing.
        claim: Claim,
        /// The scopes the route needs, space-separated.
        required: Cow<'static, str>,
    },
    /// 403: the token is valid but lacks a required scope.
    InsufficientScope {
        /// The scopes the route needs, space-separated.
        required: Cow<'static, str>,
    },
    /// 403: the token is valid but a handler's claim check failed
    /// (`claim_equals`, `claim_includes`, `claim_check`). The description is
    /// fixed by the handler's code.
    ClaimCheck {
        /// The fixed `error_description`.
        description: Cow<'static, str>,
    },
    /// 503: the token's issuer is trusted but has no keys yet (it was down
    /// at launch under `require_keys_at_launch = false`, or a resolver's
    /// issuer can't be loaded now). Not 401: the token may be fine, and a
    /// client must not throw it away.
    #[non_exhaustive]
    IssuerUnavailable {
        /// Seconds until the keys are next tried, for `Retry-After`.
        retry_after: u32,
    },
    /// A guard ran in a Rocket without the auth fairing: a programming error.
    NotConfigured,
}

impl AuthError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> Status {
        match self {
            AuthError::MissingCredentials | AuthError::InvalidToken(_) => Status::Unauthorized,
            AuthError::InvalidRequest(_) => Status::BadRequest,
            AuthError::MissingScopeClaim { .. }
            | AuthError::InsufficientScope { .. }
            | AuthError::ClaimCheck { .. } => Status::Forbidden,
            AuthError::IssuerUnavailable { .. } => Status::ServiceUnavailable,
            AuthError::NotConfigured => Status::InternalServerError,
        }
    }

    /// The RFC 6750 `error` code, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingCredentials
            | AuthError::NotConfigured
            | AuthError::IssuerUnavailable { .. } => None,
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::MissingScopeClaim { .. }
            | AuthError::InsufficientScope { .. }
            | AuthError::ClaimCheck { .. } => Some("insufficient_scope"),
        }
    }

    /// A short stable code for this failure, for metrics labels and logs:
    /// `missing_credentials`, `invalid_request`, `insufficient_scope`, or
    /// the [`TokenError::code`] of an invalid token.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::InvalidToken(e) => e.code(),
            AuthError::MissingScopeClaim { .. } => "missing_scope_claim",
            AuthError::InsufficientScope { .. } => "insufficient_scope",
            AuthError::ClaimCheck { .. } => "claim_check",
            AuthError::IssuerUnavailable { .. } => "issuer_unavailable",
            AuthError::NotConfigured => "not_configured",
        }
    }

    /// The fixed human-readable reason; also the JSON `message`.
    pub fn description(&self) -> &str {
        match self {
            AuthError::MissingCredentials => "Unauthorized",
            AuthError::InvalidRequest(e) => e.description(),
            AuthError::InvalidToken(e) => e.description(),
            AuthError::MissingScopeClaim { claim, .. } => claim.missing(),
            AuthError::InsufficientScope { .. } => "Insufficient Scope",
            AuthError::ClaimCheck { description } => description,
            AuthError::IssuerUnavailable { .. } => {
                "The token's issuer is temporarily unavailable; retry later"
            }
            AuthError::NotConfigured => "Internal Server Error",
        }
    }

    /// The `WWW-Authenticate` value, or `None` for a server error (500, 503).
    pub fn challenge(&self) -> Option<String> {
        self.challenge_with(None)
    }

    /// The challenge, with RFC 9728's `resource_metadata` parameter on 401
    /// and 403 answers when the protected-resource metadata is served.
    pub(crate) fn challenge_with(&self, resource_metadata: Option<&str>) -> Option<String> {
        let mut challenge = match (self, self.code()) {
            (AuthError::NotConfigured | AuthError::IssuerUnavailable { .. }, _) => return None,
            (_, None) => format!("Bearer realm=\"{REALM}\""),
            (_, Some(code)) => format!(
                "Bearer realm=\"{REALM}\", error=\"{code}\", error_description=\"{}\"",
                self.description()
            ),
        };
        if let AuthError::MissingScopeClaim { required, .. }
        | AuthError::InsufficientScope { required } = self
        {
            challenge.push_str(&format!(", scope=\"{required}\""));
        }
        let status = self.status().code;
        if let Some(url) = resource_metadata.filter(|_| status == 401 || status == 403) {
            challenge.push_str(&format!(", resource_metadata=\"{url}\""));
        }

        Some(challenge)
    }
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code() {
            Some(code) => write!(f, "{code}: {}", self.description()),
            None => f.write_str(self.description()),
        }
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
        let mut response = Json(ErrorBody { message: self.description() }).respond_to(req)?;
        response.set_status(self.status());
        let metadata = req.rocket().state::<ResourceMetadata>().map(ResourceMetadata::url);
        if let Some(challenge) = self.challenge_with(metadata) {
            response.set_header(Header::new("WWW-Authenticate", challenge));
        }
        if let AuthError::IssuerUnavailable { retry_after } = self {
            response.set_header(Header::new("Retry-After", retry_after.to_string()));
        }

        Ok(response)
    }
}

/// Keeps `text` inside RFC 6750's `error_description` character set
/// (printable ASCII without `"` and `\`), replacing anything else with `?`.
pub(crate) fn sanitize_description(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '?',
        })
        .collect()
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

#[cfg(test)]
mod tests {
    use super::*;

    fn all_token_errors() -> Vec<TokenError> {
        use Claim::*;
        let claims = [Iss, Aud, Exp, Nbf, Iat, Sub, ClientId, Jti, Scope, Scp, Permissions];
        let mut all = vec![
            TokenError::Empty,
            TokenError::MalformedCredentials,
            TokenError::TooLarge,
            TokenError::Malformed,
            TokenError::MalformedClaims,
            TokenError::AlgorithmNotAllowed,
            TokenError::CriticalHeader,
            TokenError::NoApplicableKey,
            TokenError::Signature,
            TokenError::Expired,
            TokenError::NotYetValid,
            TokenError::Issuer,
            TokenError::Audience,
            TokenError::SenderConstrained,
            TokenError::TooOld,
            TokenError::IssuedInTheFuture,
            TokenError::TokenType,
        ];
        all.extend(claims.iter().map(|&c| TokenError::MissingClaim(c)));
        all.extend(claims.iter().map(|&c| TokenError::InvalidClaim(c)));
        all
    }

    #[test]
    fn descriptions_stay_in_the_rfc_6750_character_set() {
        let requests = [
            RequestError::MultipleMethods,
            RequestError::RepeatedHeader,
            RequestError::RepeatedParameter,
        ];
        let errors = all_token_errors()
            .into_iter()
            .map(AuthError::InvalidToken)
            .chain(requests.into_iter().map(AuthError::InvalidRequest))
            .chain([
                AuthError::MissingCredentials,
                AuthError::MissingScopeClaim {
                    claim: Claim::Scope,
                    required: "read:messages".into(),
                },
                AuthError::MissingScopeClaim { claim: Claim::Permissions, required: "a".into() },
                AuthError::ClaimCheck { description: "Unexpected 'org_id' value".into() },
                AuthError::InsufficientScope { required: "read:messages".into() },
            ]);

        for error in errors {
            let description = error.description();
            assert!(!description.is_empty());
            assert!(
                description.bytes().all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E)),
                "{description:?} is outside RFC 6750's error_description set"
            );
        }
    }

    #[test]
    fn challenges_follow_rfc_6750() {
        assert_eq!(AuthError::MissingCredentials.challenge().unwrap(), "Bearer realm=\"api\"");
        assert_eq!(
            AuthError::InvalidToken(TokenError::Expired).challenge().unwrap(),
            "Bearer realm=\"api\", error=\"invalid_token\", \
             error_description=\"'exp' claim timestamp check failed\""
        );
        assert_eq!(
            AuthError::InsufficientScope { required: "read:messages".into() }.challenge().unwrap(),
            "Bearer realm=\"api\", error=\"insufficient_scope\", \
             error_description=\"Insufficient Scope\", scope=\"read:messages\""
        );
        assert_eq!(AuthError::NotConfigured.challenge(), None);
        assert_eq!(
            AuthError::InvalidToken(TokenError::MissingClaim(Claim::ClientId)).description(),
            "Missing 'client_id' claim"
        );
    }
}
