//! [`McpAccess`]: the guard of a Model Context Protocol endpoint, with
//! per-tool (per-prompt, per-resource) scopes from the `mcp` settings.
//!
//! MCP 2026-07-28 clients mirror the JSON-RPC body in two headers,
//! `Mcp-Method` and `Mcp-Name`; the guard reads them and answers the
//! step-up 403 (every scope the operation needs, in one challenge) before
//! the handler runs. Older clients send neither: their requests reach the
//! handler unchecked, and [`McpAccess::authorize`], given the parsed body,
//! checks the operation's scopes there. When the headers were sent, the
//! same call checks that the body says what they said (400, JSON-RPC
//! `-32020`, if not): a client must not be let to name one tool in the
//! headers and call another in the body.
//!
//! **A handler that skips [`McpAccess::authorize`] lets a client pick its
//! own scope requirements**: without the headers, the guard has checked
//! only `mcp.default_scopes`.

use std::borrow::Cow;
use std::fmt;
use std::ops::Deref;

use rocket::request::{FromRequest, Outcome, Request};
use rocket::{Ignite, Rocket, Sentinel};
use serde_json::Value;

use crate::request::guards::{BearerToken, fairing_missing};
use crate::request::scope_rules::{McpRoute, ScopeHint, ScopeRules};
use crate::settings::mcp::{Operation, name_member};
use crate::words::error::{AuthError, JsonRpcId, McpProblem};
use crate::words::mcp_headers::{self, MCP_METHOD, MCP_NAME};

/// A request to an MCP endpoint with a valid access token, and its scopes
/// checked for the operation its `Mcp-Method` / `Mcp-Name` headers name (if
/// it sent them). Derefs to the [`BearerToken`].
///
/// ```rust
/// use rocket::post;
/// use rocket::serde::json::{Json, Value};
/// use rocket_oauth2_jwt_bearer::{AuthError, McpAccess};
///
/// #[post("/mcp", format = "json", data = "<request>")]
/// fn mcp(access: McpAccess, request: Json<Value>) -> Result<Json<Value>, AuthError> {
///     // Checks the body against the headers, or (from a client that sent
///     // none) the operation's scopes. Never skip it.
///     access.authorize(&request)?;
///     // ... answer the JSON-RPC request
///     # Ok(request)
/// }
/// ```
pub struct McpAccess {
    token: BearerToken,
    /// The operation the headers named and the guard checked, if any.
    announced: Option<Operation>,
    rules: ScopeRules,
}

impl McpAccess {
    /// Checks the JSON-RPC request `body` before it is acted on.
    ///
    /// - Headers sent: the body's `method` and `params.name` (or
    ///   `params.uri`) must equal them, else 400 with JSON-RPC error
    ///   `-32020` (header mismatch). Their scopes were checked by the guard.
    /// - No headers (a client older than MCP 2026-07-28): the operation's
    ///   scopes from `mcp.tools` / `prompts` / `resources` (else
    ///   `default_scopes`), else 403 `insufficient_scope` naming them all.
    ///
    /// `body` must be one JSON-RPC message: an array (a batch, which MCP no
    /// longer has) or anything but an object is refused with 400 and
    /// JSON-RPC error `-32600`. Return the error from the handler: it
    /// renders itself, is logged and counted like a guard's refusal.
    pub fn authorize(&self, body: &Value) -> Result<(), AuthError> {
        let id = body.get("id").and_then(JsonRpcId::of);
        let refuse = |problem| AuthError::Mcp { problem, id: id.clone() };
        let Some(object) = body.as_object() else {
            return Err(refuse(McpProblem::NotARequest));
        };
        let Some(method) = object.get("method").and_then(Value::as_str) else {
            return Err(refuse(McpProblem::NotARequest));
        };
        let name = name_member(method)
            .and_then(|member| body.get("params")?.get(member)?.as_str())
            .map(str::to_owned);
        let operation = Operation { method: method.to_owned(), name };

        match &self.announced {
            Some(announced) if *announced == operation => Ok(()),
            Some(_) => Err(refuse(McpProblem::HeaderMismatch)),
            None => {
                let required = self.rules.mcp.required(&operation);
                match self.rules.hierarchy.grants_all(self.token.claims().scopes(), required) {
                    true => Ok(()),
                    false => Err(AuthError::InsufficientScope { required: joined(required) }),
                }
            }
        }
    }

    /// The operation the `Mcp-Method` / `Mcp-Name` headers named, if the
    /// client sent them.
    pub fn announced_method(&self) -> Option<&str> {
        self.announced.as_ref().map(|op| op.method.as_str())
    }
}

/// `scopes` space-separated, as a challenge's `scope` names them.
fn joined(scopes: &[String]) -> Cow<'static, str> {
    Cow::Owned(scopes.join(" "))
}

/// The operation `req`'s headers name, if it sent `Mcp-Method`.
fn announced(req: &Request<'_>) -> Result<Option<Operation>, McpProblem> {
    let malformed = |_| McpProblem::MalformedHeader;
    let headers = req.headers();
    let method = mcp_headers::single(headers.get(MCP_METHOD)).map_err(malformed)?;
    let name = mcp_headers::single(headers.get(MCP_NAME)).map_err(malformed)?;
    let Some(method) = method else {
        // `Mcp-Name` without `Mcp-Method` mirrors nothing.
        return match name {
            Some(_) => Err(McpProblem::HeaderMismatch),
            None => Ok(None),
        };
    };
    let method = mcp_headers::method(method).map_err(malformed)?;
    let name = name.map(mcp_headers::name).transpose().map_err(malformed)?;
    // The methods that address one tool, prompt or resource must name it.
    if name_member(method).is_some() != name.is_some() {
        return Err(McpProblem::HeaderMismatch);
    }
    Ok(Some(Operation { method: method.to_owned(), name }))
}

impl Deref for McpAccess {
    type Target = BearerToken;

    fn deref(&self) -> &BearerToken {
        &self.token
    }
}

impl fmt::Debug for McpAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("McpAccess")
            .field("announced", &self.announced)
            .field("token", &self.token)
            .finish()
    }
}

impl Sentinel for McpAccess {
    fn abort(rocket: &Rocket<Ignite>) -> bool {
        fairing_missing(rocket, "McpAccess")
    }
}

#[rocket::async_trait]
impl<'r> FromRequest<'r> for McpAccess {
    type Error = AuthError;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, AuthError> {
        McpRoute::mark(req);
        let Some(rules) = ScopeRules::of(req) else {
            return AuthError::NotConfigured.refuse(req);
        };
        let announced = match announced(req) {
            Ok(announced) => announced,
            Err(problem) => return AuthError::Mcp { problem, id: None }.refuse(req),
        };
        let required = match &announced {
            Some(operation) => rules.mcp.required(operation),
            None => rules.mcp.default_scopes(),
        };
        ScopeHint::record(req, || joined(required));

        let token = match BearerToken::verified(req).await {
            Ok(token) => token.clone(),
            Err(error) => return error.clone().refuse(req),
        };
        if !rules.hierarchy.grants_all(token.claims().scopes(), required) {
            return AuthError::InsufficientScope { required: joined(required) }.refuse(req);
        }
        Outcome::Success(McpAccess { token, announced, rules: rules.clone() })
    }
}
