//! Why a request was refused, and the one table that says how each refusal
//! is answered (RFC 6750 / RFC 9449): status, error code, description and
//! `WWW-Authenticate` challenges. `request::respond` writes the answer.
//!
//! Which challenges a refusal carries depends on `dpop.mode` and on the
//! scheme the request used: with DPoP allowed, every 401 offers both
//! schemes (two fields, `Bearer` first) and the error parameters go on the
//! scheme the request used; with DPoP required only `DPoP` is offered; with
//! it disabled only `Bearer`. The `DPoP` challenge always lists `algs`.
//!
//! Every description is a fixed, short ASCII string: a rejection never echoes
//! token content or an internal error, and every description stays inside
//! RFC 6750's `error_description` character set (printable ASCII without `"`
//! or `\`), which a test checks for every variant.

use std::borrow::Cow;
use std::fmt;

use rocket::http::Status;

use crate::words::scheme::{DpopMode, Scheme};

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
    /// `cnf`, the confirmation (RFC 7800): what the token is bound to.
    Cnf,
    /// `htm`, a DPoP proof's HTTP method.
    Htm,
    /// `htu`, a DPoP proof's target URI.
    Htu,
    /// `ath`, a DPoP proof's access-token hash.
    Ath,
    /// `nonce`, a DPoP proof's server-provided nonce.
    Nonce,
    /// `act`, who acts for the subject of a delegated token (RFC 8693 §4.1).
    Act,
    /// `org_id`, Auth0's organization ID.
    OrgId,
    /// `org_name`, Auth0's organization name.
    OrgName,
    /// `azp`, the authorized party (OpenID Connect).
    Azp,
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

            fn unexpected(self) -> &'static str {
                match self { $(Claim::$variant => concat!("Unexpected '", $name, "' value")),* }
            }
        }
    };
}

claim_descriptions! {
    Iss => "iss", Aud => "aud", Exp => "exp", Nbf => "nbf", Iat => "iat",
    Sub => "sub", ClientId => "client_id", Jti => "jti", Scope => "scope", Scp => "scp",
    Permissions => "permissions", Cnf => "cnf", Htm => "htm", Htu => "htu", Ath => "ath",
    Nonce => "nonce", Act => "act", OrgId => "org_id", OrgName => "org_name", Azp => "azp",
}

/// Why a presented bearer token is not acceptable (`error="invalid_token"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenError {
    /// `Authorization: Bearer` with nothing after it.
    Empty,
    /// Not the RFC 6750 `b64token` syntax, e.g. `Bearer invalidToken abc`.
    MalformedCredentials,
    /// `Authorization: DPoP` with nothing after it.
    EmptyDpopToken,
    /// The `DPoP` scheme's token isn't the `b64token` syntax either.
    MalformedDpopCredentials,
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
    /// A sender-constrained token (a `cnf` claim) presented with the
    /// `Bearer` scheme (RFC 9449 §7.2), or bound by a method this service
    /// can't check.
    SenderConstrained,
    /// The `DPoP` scheme with a token that has no `cnf.jkt`.
    NotDpopBound,
    /// The proof's key is not the one the token's `cnf.jkt` names.
    KeyBinding,
    /// A certificate-bound token (`cnf.x5t#S256`) without a client
    /// certificate.
    CertificateMissing,
    /// The client certificate is not the one the token's `cnf.x5t#S256`
    /// names.
    CertificateBinding,
    /// `mtls.mode = "required"` and the token is not certificate-bound.
    NotCertificateBound,
    /// Older than `max_token_age` (from `iat`).
    TooOld,
    /// `iat` after now (with `max_token_age`).
    IssuedInTheFuture,
    /// Strict mode: the header `typ` is not `at+jwt` (RFC 9068 §2.1).
    TokenType,
    /// A claim's value is not one the issuer's policy accepts: an
    /// organization, a client or an actor not on its list.
    UnexpectedClaim(Claim),
    /// `act` nested deeper than the delegation chain may be.
    DelegationTooDeep,
    /// A delegated token (with `act`) from an issuer whose `delegation`
    /// is `"forbidden"`.
    Delegated,
}

impl TokenError {
    /// A short stable code, for metrics labels.
    pub fn code(self) -> &'static str {
        match self {
            TokenError::Empty | TokenError::EmptyDpopToken => "empty",
            TokenError::MalformedCredentials | TokenError::MalformedDpopCredentials => {
                "malformed_credentials"
            }
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
            TokenError::NotDpopBound => "not_dpop_bound",
            TokenError::KeyBinding => "dpop_key_binding",
            TokenError::CertificateMissing => "certificate_missing",
            TokenError::CertificateBinding => "certificate_binding",
            TokenError::NotCertificateBound => "not_certificate_bound",
            TokenError::TooOld | TokenError::IssuedInTheFuture => "iat",
            TokenError::TokenType => "typ",
            TokenError::UnexpectedClaim(_) => "unexpected_claim",
            TokenError::DelegationTooDeep => "delegation_too_deep",
            TokenError::Delegated => "delegated",
        }
    }

    /// The fixed `error_description` for this failure.
    pub fn description(self) -> &'static str {
        match self {
            TokenError::Empty => "Bearer token is empty",
            TokenError::MalformedCredentials => "Malformed bearer token",
            TokenError::EmptyDpopToken => "DPoP access token is empty",
            TokenError::MalformedDpopCredentials => "Malformed DPoP access token",
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
            TokenError::NotDpopBound => "DPoP scheme used with a token that is not DPoP-bound",
            TokenError::KeyBinding => "Invalid DPoP key binding",
            TokenError::CertificateMissing => {
                "Certificate-bound token presented without a client certificate"
            }
            TokenError::CertificateBinding => {
                "Client certificate does not match the token's binding"
            }
            TokenError::NotCertificateBound => "A certificate-bound access token is required",
            TokenError::TooOld => "'iat' claim timestamp check failed (too far in the past)",
            TokenError::IssuedInTheFuture => {
                "'iat' claim timestamp check failed (it should be in the past)"
            }
            TokenError::TokenType => "Unexpected 'typ' header value",
            TokenError::UnexpectedClaim(claim) => claim.unexpected(),
            TokenError::DelegationTooDeep => "'act' claim nested too deeply",
            TokenError::Delegated => "Delegated tokens are not accepted",
        }
    }
}

/// Why a DPoP proof is not acceptable (`error="invalid_dpop_proof"`,
/// RFC 9449 §7.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProofError {
    /// The `DPoP` scheme without a `DPoP` header.
    Missing,
    /// Longer than the proof size limit.
    TooLarge,
    /// Not three base64url segments, or a header that isn't a JSON object.
    Malformed,
    /// The claims set is not a JSON object.
    MalformedClaims,
    /// The header `typ` is not `dpop+jwt`.
    Type,
    /// `alg` is not an allowed asymmetric algorithm.
    AlgorithmNotAllowed,
    /// A `crit` header parameter.
    CriticalHeader,
    /// `jwk` is missing or is not a usable public key.
    InvalidKey,
    /// `jwk` holds private key material.
    PrivateKey,
    /// The signature does not verify under `jwk`.
    Signature,
    /// A required claim is absent.
    MissingClaim(Claim),
    /// A claim has the wrong type (or a `jti` is empty or too long).
    InvalidClaim(Claim),
    /// `htm` is not the request's method.
    Method,
    /// `htu` is not the request's target URI.
    Target,
    /// `iat` is older than `iat_offset`.
    Stale,
    /// `iat` is further in the future than `iat_leeway`.
    Future,
    /// `ath` is not the hash of the access token.
    AccessTokenHash,
    /// The proof was used before.
    Replayed,
    /// The replay cache is full and can't vouch for a proof this old.
    BeyondReplayWindow,
    /// `jti` is empty or longer than 256 bytes.
    JtiLength,
}

impl ProofError {
    /// A short stable code, for metrics labels.
    pub fn code(self) -> &'static str {
        match self {
            ProofError::Missing => "dpop_missing",
            ProofError::TooLarge => "dpop_too_large",
            ProofError::Malformed => "dpop_malformed",
            ProofError::MalformedClaims => "dpop_malformed_claims",
            ProofError::Type => "dpop_typ",
            ProofError::AlgorithmNotAllowed => "dpop_alg_not_allowed",
            ProofError::CriticalHeader => "dpop_crit",
            ProofError::InvalidKey => "dpop_invalid_key",
            ProofError::PrivateKey => "dpop_private_key",
            ProofError::Signature => "dpop_signature",
            ProofError::MissingClaim(_) => "dpop_missing_claim",
            ProofError::InvalidClaim(_) => "dpop_invalid_claim",
            ProofError::Method => "dpop_htm",
            ProofError::Target => "dpop_htu",
            ProofError::Stale => "dpop_stale",
            ProofError::Future => "dpop_future",
            ProofError::AccessTokenHash => "dpop_ath",
            ProofError::Replayed => "dpop_replayed",
            ProofError::BeyondReplayWindow => "dpop_beyond_replay_window",
            ProofError::JtiLength => "dpop_jti_length",
        }
    }

    /// The fixed `error_description` for this failure.
    pub fn description(self) -> &'static str {
        match self {
            ProofError::Missing => "Missing DPoP proof",
            ProofError::TooLarge => "DPoP proof is too large",
            ProofError::Malformed => "DPoP proof is not a valid compact JWS",
            ProofError::MalformedClaims => "DPoP proof claims must be a top-level JSON object",
            ProofError::Type => "Invalid DPoP proof 'typ' header value",
            ProofError::AlgorithmNotAllowed => "DPoP proof 'alg' header value not allowed",
            ProofError::CriticalHeader => "Unsupported 'crit' header parameter in DPoP proof",
            ProofError::InvalidKey => "Invalid DPoP proof 'jwk' header parameter",
            ProofError::PrivateKey => "DPoP proof 'jwk' must not contain a private key",
            ProofError::Signature => "DPoP proof signature verification failed",
            ProofError::MissingClaim(claim) => claim.missing(),
            ProofError::InvalidClaim(claim) => claim.invalid(),
            ProofError::Method => "DPoP proof 'htm' mismatch",
            ProofError::Target => "DPoP proof 'htu' mismatch",
            ProofError::Stale => "DPoP proof 'iat' is too far in the past",
            ProofError::Future => "DPoP proof 'iat' is in the future",
            ProofError::AccessTokenHash => "DPoP proof 'ath' mismatch",
            ProofError::Replayed => "DPoP proof has been used before",
            ProofError::BeyondReplayWindow => "DPoP proof is too old for the replay window",
            ProofError::JtiLength => "DPoP proof 'jti' must be 1 to 256 bytes long",
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
    /// More than one `DPoP` header field, or one holding a list.
    RepeatedProof,
    /// A `DPoP` proof with the `Bearer` scheme.
    ProofWithBearer,
    /// The target URI a proof must name can't be known: no `Host`, or one
    /// that isn't an RFC 3986 authority (and no `public_url`).
    UnknownTarget,
    /// A trusted proxy's `Forwarded` header is off RFC 7239's grammar, or
    /// names a scheme other than http(s) or a malformed host.
    MalformedForwarded,
    /// A trusted proxy's `X-Forwarded-Proto` is neither `http` nor `https`.
    MalformedForwardedProto,
    /// A trusted proxy's `X-Forwarded-Host` isn't an RFC 3986 authority.
    MalformedForwardedHost,
}

impl RequestError {
    /// The fixed `error_description` for this failure.
    pub fn description(self) -> &'static str {
        match self {
            RequestError::MultipleMethods => "More than one method used for authentication",
            RequestError::RepeatedHeader => "More than one Authorization header",
            RequestError::RepeatedParameter => "More than one access_token parameter",
            RequestError::RepeatedProof => "More than one DPoP proof",
            RequestError::ProofWithBearer => "DPoP proof sent with the Bearer scheme",
            RequestError::UnknownTarget => "Missing or malformed Host header",
            RequestError::MalformedForwarded => "Malformed Forwarded header",
            RequestError::MalformedForwardedProto => "Malformed X-Forwarded-Proto header",
            RequestError::MalformedForwardedHost => "Malformed X-Forwarded-Host header",
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
    /// 401 `invalid_dpop_proof` (RFC 9449 §7.1).
    InvalidDpopProof(ProofError),
    /// 401 `use_dpop_nonce` with a fresh `DPoP-Nonce` (RFC 9449 §9): the
    /// proof has no nonce, or a stale one.
    #[non_exhaustive]
    UseDpopNonce {
        /// The nonce the client should put in its next proof.
        nonce: String,
    },
    /// 401 with only a `DPoP` challenge and no error code: the request used
    /// `Bearer` where a DPoP-bound token is required (`dpop.mode =
    /// "required"`, or the [`DpopBound`](crate::DpopBound) guard).
    DpopRequired,
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
    /// 503: the shared DPoP replay store is unreachable and
    /// `dpop.replay_store_failure = "reject"`.
    #[non_exhaustive]
    ReplayStoreUnavailable {
        /// Seconds before the store is tried again, for `Retry-After`.
        retry_after: u32,
    },
    /// 400 with a JSON-RPC error body and no challenge: a request to an MCP
    /// endpoint ([`McpAccess`](crate::McpAccess)) whose `Mcp-Method` /
    /// `Mcp-Name` headers are malformed or disagree with its body, or whose
    /// body is not one JSON-RPC request.
    #[non_exhaustive]
    Mcp {
        /// What is wrong.
        problem: McpProblem,
        /// The request's JSON-RPC `id`, when it was read.
        id: Option<JsonRpcId>,
    },
    /// A guard ran in a Rocket without the auth fairing: a programming error.
    NotConfigured,
}

/// What is wrong with a request to an MCP endpoint ([`AuthError::Mcp`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum McpProblem {
    /// `Mcp-Method` or `Mcp-Name` in more than one field line, empty, or
    /// not a usable value (Base64 that doesn't decode): JSON-RPC `-32020`.
    MalformedHeader,
    /// The headers don't say what the body does, or a method that names a
    /// tool, prompt or resource came without `Mcp-Name`: JSON-RPC `-32020`.
    HeaderMismatch,
    /// The body is not one JSON-RPC request (an array, no `method`):
    /// JSON-RPC `-32600`.
    NotARequest,
}

impl McpProblem {
    /// The JSON-RPC error code.
    pub fn code(self) -> i32 {
        match self {
            McpProblem::MalformedHeader | McpProblem::HeaderMismatch => -32020,
            McpProblem::NotARequest => -32600,
        }
    }

    /// The fixed message.
    pub fn description(self) -> &'static str {
        match self {
            McpProblem::MalformedHeader => "Malformed Mcp-Method or Mcp-Name header",
            McpProblem::HeaderMismatch => "Mcp-Method or Mcp-Name header does not match the body",
            McpProblem::NotARequest => "Invalid Request: not one JSON-RPC request",
        }
    }
}

/// A JSON-RPC request `id`: a string or an integer (MCP never uses null).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonRpcId {
    /// A number.
    Number(i64),
    /// A string.
    String(String),
}

impl JsonRpcId {
    /// `value` as an id, if it is one.
    pub fn of(value: &serde_json::Value) -> Option<Self> {
        match value {
            serde_json::Value::String(s) => Some(JsonRpcId::String(s.clone())),
            serde_json::Value::Number(n) => n.as_i64().map(JsonRpcId::Number),
            _ => None,
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            JsonRpcId::Number(n) => serde_json::Value::from(*n),
            JsonRpcId::String(s) => serde_json::Value::from(s.as_str()),
        }
    }
}

impl AuthError {
    /// The HTTP status this failure answers with.
    pub fn status(&self) -> Status {
        match self {
            AuthError::MissingCredentials
            | AuthError::InvalidToken(_)
            | AuthError::InvalidDpopProof(_)
            | AuthError::UseDpopNonce { .. }
            | AuthError::DpopRequired => Status::Unauthorized,
            AuthError::InvalidRequest(_) | AuthError::Mcp { .. } => Status::BadRequest,
            AuthError::MissingScopeClaim { .. }
            | AuthError::InsufficientScope { .. }
            | AuthError::ClaimCheck { .. } => Status::Forbidden,
            AuthError::IssuerUnavailable { .. } | AuthError::ReplayStoreUnavailable { .. } => {
                Status::ServiceUnavailable
            }
            AuthError::NotConfigured => Status::InternalServerError,
        }
    }

    /// The RFC 6750 `error` code, if any.
    pub fn code(&self) -> Option<&'static str> {
        match self {
            AuthError::MissingCredentials
            | AuthError::DpopRequired
            | AuthError::NotConfigured
            | AuthError::Mcp { .. }
            | AuthError::IssuerUnavailable { .. }
            | AuthError::ReplayStoreUnavailable { .. } => None,
            AuthError::InvalidRequest(_) => Some("invalid_request"),
            AuthError::InvalidToken(_) => Some("invalid_token"),
            AuthError::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            AuthError::UseDpopNonce { .. } => Some("use_dpop_nonce"),
            AuthError::MissingScopeClaim { .. }
            | AuthError::InsufficientScope { .. }
            | AuthError::ClaimCheck { .. } => Some("insufficient_scope"),
        }
    }

    /// A short stable code for this failure, for metrics labels and logs:
    /// `missing_credentials`, `invalid_request`, `insufficient_scope`, or
    /// the [`TokenError::code`] of an invalid token or the
    /// [`ProofError::code`] of an invalid proof.
    pub fn reason(&self) -> &'static str {
        match self {
            AuthError::MissingCredentials => "missing_credentials",
            AuthError::InvalidRequest(_) => "invalid_request",
            AuthError::InvalidToken(e) => e.code(),
            AuthError::InvalidDpopProof(e) => e.code(),
            AuthError::UseDpopNonce { .. } => "dpop_nonce",
            AuthError::DpopRequired => "dpop_required",
            AuthError::ReplayStoreUnavailable { .. } => "dpop_replay_store_unavailable",
            AuthError::MissingScopeClaim { .. } => "missing_scope_claim",
            AuthError::InsufficientScope { .. } => "insufficient_scope",
            AuthError::ClaimCheck { .. } => "claim_check",
            AuthError::IssuerUnavailable { .. } => "issuer_unavailable",
            AuthError::Mcp { problem: McpProblem::NotARequest, .. } => "mcp_invalid_request",
            AuthError::Mcp { .. } => "mcp_header_mismatch",
            AuthError::NotConfigured => "not_configured",
        }
    }

    /// The fixed human-readable reason; also the JSON `message`.
    pub fn description(&self) -> &str {
        match self {
            AuthError::MissingCredentials => "Unauthorized",
            AuthError::InvalidRequest(e) => e.description(),
            AuthError::InvalidToken(e) => e.description(),
            AuthError::InvalidDpopProof(e) => e.description(),
            AuthError::UseDpopNonce { .. } => "Resource server requires nonce in DPoP proof",
            AuthError::DpopRequired => "A DPoP-bound access token is required",
            AuthError::ReplayStoreUnavailable { .. } => {
                "DPoP replay detection is temporarily unavailable; retry later"
            }
            AuthError::MissingScopeClaim { claim, .. } => claim.missing(),
            AuthError::InsufficientScope { .. } => "Insufficient Scope",
            AuthError::ClaimCheck { description } => description,
            AuthError::IssuerUnavailable { .. } => {
                "The token's issuer is temporarily unavailable; retry later"
            }
            AuthError::Mcp { problem, .. } => problem.description(),
            AuthError::NotConfigured => "Internal Server Error",
        }
    }

    /// The `WWW-Authenticate` challenges for this refusal in `context`:
    /// none for a server error (500, 503), else one per offered scheme.
    pub(crate) fn challenges(&self, context: &ChallengeContext<'_>) -> Vec<String> {
        let status = self.status().code;
        // An MCP request's form is no matter of authenticating.
        if !matches!(status, 400 | 401 | 403) || matches!(self, AuthError::Mcp { .. }) {
            return Vec::new();
        }
        let used = match self {
            AuthError::InvalidDpopProof(_)
            | AuthError::UseDpopNonce { .. }
            | AuthError::DpopRequired => Scheme::Dpop,
            _ => match (context.scheme, context.mode) {
                (Some(scheme), _) => scheme,
                (None, DpopMode::Required) => Scheme::Dpop,
                (None, _) => Scheme::Bearer,
            },
        };
        let offered = match (context.mode, self) {
            (DpopMode::Disabled, _) => vec![Scheme::Bearer],
            (DpopMode::Required, _) | (_, AuthError::DpopRequired) => vec![Scheme::Dpop],
            _ if status == 401 => vec![Scheme::Bearer, Scheme::Dpop],
            _ => vec![used],
        };
        offered.into_iter().map(|scheme| self.challenge(scheme, scheme == used, context)).collect()
    }

    /// One challenge: `Bearer realm="api"` or `DPoP`, then the error
    /// parameters when `scheme` is the one the request used, then (for
    /// `DPoP`) `algs`, then RFC 9728's `resource_metadata`.
    fn challenge(&self, scheme: Scheme, used: bool, context: &ChallengeContext<'_>) -> String {
        let mut params: Vec<String> = Vec::with_capacity(5);
        if scheme == Scheme::Bearer {
            params.push(format!("realm=\"{REALM}\""));
        }
        if let Some(code) = self.code().filter(|_| used) {
            params.push(format!("error=\"{code}\""));
            params.push(format!("error_description=\"{}\"", self.description()));
            if let AuthError::MissingScopeClaim { required, .. }
            | AuthError::InsufficientScope { required } = self
            {
                params.push(format!("scope=\"{required}\""));
            }
        }
        // MCP 2026-07-28: a 401 names the scopes the resource needs too,
        // so a client can ask for them before it is refused for want of them.
        let unauthenticated = self.status().code == 401;
        if let Some(scopes) = context.scope_hint.filter(|s| !s.is_empty() && unauthenticated) {
            params.push(format!("scope=\"{scopes}\""));
        }
        if scheme == Scheme::Dpop {
            params.push(format!("algs=\"{}\"", context.algs));
        }
        // A 400 is about the request's form, not about authenticating.
        if let Some(url) = context.resource_metadata.filter(|_| self.status().code != 400) {
            params.push(format!("resource_metadata=\"{url}\""));
        }
        let name = match scheme {
            Scheme::Bearer => "Bearer",
            Scheme::Dpop => "DPoP",
        };
        format!("{name} {}", params.join(", "))
    }
}

/// What the challenges of a refusal depend on besides the refusal itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ChallengeContext<'a> {
    /// The scheme the request used, when it used one this service knows.
    pub(crate) scheme: Option<Scheme>,
    /// `dpop.mode`.
    pub(crate) mode: DpopMode,
    /// The `algs` of the `DPoP` challenge: space-separated.
    pub(crate) algs: &'a str,
    /// The RFC 9728 metadata URL, when it is served.
    pub(crate) resource_metadata: Option<&'a str>,
    /// The scopes the route's guard needs, space-separated, when it knows
    /// them: sent on a 401 too.
    pub(crate) scope_hint: Option<&'a str>,
}

impl fmt::Display for AuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code() {
            Some(code) => write!(f, "{code}: {}", self.description()),
            None => f.write_str(self.description()),
        }
    }
}

impl AuthError {
    /// A 403 `insufficient_scope` refusal with `description` as its
    /// `error_description`: what [`BearerToken::claim_check`](crate::BearerToken::claim_check) answers. Give
    /// a fixed reason (never a claim's value); characters RFC 6750 doesn't
    /// allow there are replaced by `?`.
    pub fn claim_check(description: &str) -> Self {
        AuthError::ClaimCheck { description: sanitize_description(description).into() }
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

#[cfg(test)]
mod tests {
    use super::*;

    const CLAIMS: [Claim; 16] = {
        use Claim::*;
        [
            Iss,
            Aud,
            Exp,
            Nbf,
            Iat,
            Sub,
            ClientId,
            Jti,
            Scope,
            Scp,
            Permissions,
            Cnf,
            Htm,
            Htu,
            Ath,
            Nonce,
        ]
    };

    fn all_token_errors() -> Vec<TokenError> {
        let mut all = vec![
            TokenError::Empty,
            TokenError::MalformedCredentials,
            TokenError::EmptyDpopToken,
            TokenError::MalformedDpopCredentials,
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
            TokenError::NotDpopBound,
            TokenError::KeyBinding,
            TokenError::CertificateMissing,
            TokenError::CertificateBinding,
            TokenError::NotCertificateBound,
            TokenError::TooOld,
            TokenError::IssuedInTheFuture,
            TokenError::TokenType,
        ];
        all.extend(CLAIMS.iter().map(|&c| TokenError::MissingClaim(c)));
        all.extend(CLAIMS.iter().map(|&c| TokenError::InvalidClaim(c)));
        all
    }

    fn all_proof_errors() -> Vec<ProofError> {
        let mut all = vec![
            ProofError::Missing,
            ProofError::TooLarge,
            ProofError::Malformed,
            ProofError::MalformedClaims,
            ProofError::Type,
            ProofError::AlgorithmNotAllowed,
            ProofError::CriticalHeader,
            ProofError::InvalidKey,
            ProofError::PrivateKey,
            ProofError::Signature,
            ProofError::Method,
            ProofError::Target,
            ProofError::Stale,
            ProofError::Future,
            ProofError::AccessTokenHash,
            ProofError::Replayed,
            ProofError::BeyondReplayWindow,
            ProofError::JtiLength,
        ];
        all.extend(CLAIMS.iter().map(|&c| ProofError::MissingClaim(c)));
        all.extend(CLAIMS.iter().map(|&c| ProofError::InvalidClaim(c)));
        all
    }

    #[test]
    fn descriptions_stay_in_the_rfc_6750_character_set() {
        let requests = [
            RequestError::MultipleMethods,
            RequestError::RepeatedHeader,
            RequestError::RepeatedParameter,
            RequestError::RepeatedProof,
            RequestError::ProofWithBearer,
            RequestError::UnknownTarget,
            RequestError::MalformedForwarded,
            RequestError::MalformedForwardedProto,
            RequestError::MalformedForwardedHost,
        ];
        let errors = all_token_errors()
            .into_iter()
            .map(AuthError::InvalidToken)
            .chain(all_proof_errors().into_iter().map(AuthError::InvalidDpopProof))
            .chain(requests.into_iter().map(AuthError::InvalidRequest))
            .chain([
                AuthError::MissingCredentials,
                AuthError::DpopRequired,
                AuthError::UseDpopNonce { nonce: "n".into() },
                AuthError::ReplayStoreUnavailable { retry_after: 1 },
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
            assert!(error.reason().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
    }

    fn context(scheme: Option<Scheme>, mode: DpopMode) -> ChallengeContext<'static> {
        ChallengeContext {
            scheme,
            mode,
            algs: "ES256 EdDSA",
            resource_metadata: None,
            scope_hint: None,
        }
    }

    #[test]
    fn bearer_only_challenges_follow_rfc_6750() {
        let bearer = context(Some(Scheme::Bearer), DpopMode::Disabled);
        assert_eq!(AuthError::MissingCredentials.challenges(&bearer), ["Bearer realm=\"api\""]);
        assert_eq!(
            AuthError::InvalidToken(TokenError::Expired).challenges(&bearer),
            ["Bearer realm=\"api\", error=\"invalid_token\", \
              error_description=\"'exp' claim timestamp check failed\""]
        );
        assert_eq!(
            AuthError::InsufficientScope { required: "read:messages".into() }.challenges(&bearer),
            ["Bearer realm=\"api\", error=\"insufficient_scope\", \
              error_description=\"Insufficient Scope\", scope=\"read:messages\""]
        );
        assert!(AuthError::NotConfigured.challenges(&bearer).is_empty());
        assert!(
            AuthError::ReplayStoreUnavailable { retry_after: 1 }.challenges(&bearer).is_empty()
        );
    }

    #[test]
    fn dpop_challenges_follow_rfc_9449() {
        let allowed = |scheme| context(scheme, DpopMode::Allowed);
        assert_eq!(
            AuthError::MissingCredentials.challenges(&allowed(None)),
            ["Bearer realm=\"api\"", "DPoP algs=\"ES256 EdDSA\""]
        );
        // Error parameters on the scheme the request used, Bearer first.
        assert_eq!(
            AuthError::InvalidToken(TokenError::Expired).challenges(&allowed(Some(Scheme::Dpop))),
            [
                "Bearer realm=\"api\"".to_owned(),
                "DPoP error=\"invalid_token\", error_description=\"'exp' claim timestamp check \
                 failed\", algs=\"ES256 EdDSA\""
                    .to_owned()
            ]
        );
        assert_eq!(
            AuthError::InvalidDpopProof(ProofError::Target).challenges(&allowed(None))[1],
            "DPoP error=\"invalid_dpop_proof\", error_description=\"DPoP proof 'htu' mismatch\", \
             algs=\"ES256 EdDSA\""
        );
        assert_eq!(
            AuthError::InsufficientScope { required: "read:messages".into() }
                .challenges(&allowed(Some(Scheme::Dpop))),
            ["DPoP error=\"insufficient_scope\", error_description=\"Insufficient Scope\", \
              scope=\"read:messages\", algs=\"ES256 EdDSA\""]
        );
        assert_eq!(
            AuthError::InvalidRequest(RequestError::ProofWithBearer)
                .challenges(&allowed(Some(Scheme::Bearer))),
            ["Bearer realm=\"api\", error=\"invalid_request\", \
              error_description=\"DPoP proof sent with the Bearer scheme\""]
        );
        // Required mode, or a route that demands DPoP: the DPoP challenge only.
        let required = context(Some(Scheme::Bearer), DpopMode::Required);
        assert_eq!(AuthError::DpopRequired.challenges(&required), ["DPoP algs=\"ES256 EdDSA\""]);
        assert_eq!(
            AuthError::DpopRequired.challenges(&allowed(Some(Scheme::Bearer))),
            ["DPoP algs=\"ES256 EdDSA\""]
        );
        assert_eq!(
            AuthError::UseDpopNonce { nonce: "n".into() }.challenges(&required),
            ["DPoP error=\"use_dpop_nonce\", error_description=\"Resource server requires nonce \
              in DPoP proof\", algs=\"ES256 EdDSA\""]
        );
        let with_metadata = ChallengeContext {
            resource_metadata: Some("https://api.example.com/.well-known/oauth-protected-resource"),
            ..allowed(None)
        };
        for challenge in AuthError::MissingCredentials.challenges(&with_metadata) {
            assert!(challenge.ends_with(
                ", resource_metadata=\"https://api.example.com/.well-known/oauth-protected-resource\""
            ));
        }
    }
}
