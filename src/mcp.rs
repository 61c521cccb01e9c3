//! `POST /mcp`: a Model Context Protocol server (Streamable HTTP) with two
//! tools that need different scopes — `read_messages` (`read:messages`)
//! and `post_message` (`write:messages`) — protected by the crate's
//! [`McpAccess`] guard.
//!
//! The MCP side is the official Rust SDK's server (`rmcp`), stateless, with
//! JSON answers; this module puts it behind Rocket: the guard checks the
//! token and, from `Mcp-Method` / `Mcp-Name`, the tool's scopes before the
//! body is read; [`McpAccess::authorize`] checks the body (its scopes for a
//! client that sent no headers, its agreement with them otherwise); only
//! then does the SDK see the request. The scopes come from `[auth.mcp]`.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ServerCapabilities, ServerConfig};
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ServerHandler, schemars, tool, tool_handler, tool_router};
use rocket::data::{Data, ToByteUnit};
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome, Request};
use rocket::response::{self, Responder, Response};
use rocket::{Build, Rocket, State, get, post, routes};
use rocket_oauth2_jwt_bearer::{AuthError, McpAccess};
use serde_json::{Value, json};

/// The largest MCP request body read.
const MAX_BODY: u64 = 64 * 1024;

/// The messages the tools read and post, shared by every request.
#[derive(Debug, Clone, Default)]
struct Board(Arc<Mutex<Vec<String>>>);

/// `post_message`'s arguments.
#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
struct PostMessage {
    /// The message to post.
    text: String,
}

/// The MCP server: two tools over the board.
#[derive(Debug, Clone)]
struct Messages {
    board: Board,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Messages {
    fn new(board: Board) -> Self {
        Messages { board, tool_router: Self::tool_router() }
    }

    #[tool(description = "Read the messages posted so far (needs read:messages)")]
    fn read_messages(&self) -> String {
        let messages = self.board.0.lock().unwrap_or_else(|e| e.into_inner());
        match messages.is_empty() {
            true => "No messages yet.".to_owned(),
            false => messages.join("\n"),
        }
    }

    #[tool(description = "Post a message (needs write:messages)")]
    fn post_message(&self, Parameters(PostMessage { text }): Parameters<PostMessage>) -> String {
        let mut messages = self.board.0.lock().unwrap_or_else(|e| e.into_inner());
        // A demo's board: bounded, oldest out.
        if messages.len() >= 100 {
            messages.remove(0);
        }
        messages.push(text.chars().take(500).collect());
        format!("Posted message {}.", messages.len())
    }
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Messages {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }
}

/// The SDK's Streamable HTTP service, managed by Rocket.
struct McpService(StreamableHttpService<Messages, NeverSessionManager>);

/// Mounts `/mcp`.
pub fn mount(rocket: Rocket<Build>) -> Rocket<Build> {
    let board = Board::default();
    let config = StreamableHttpServerConfig::default()
        .with_legacy_session_mode(false)
        .with_json_response(true)
        // The app checks `Host` itself (see `host_header`), and every
        // request needs a token: no DNS-rebinding allowlist here.
        .disable_allowed_hosts();
    let service = StreamableHttpService::new(
        move || Ok(Messages::new(board.clone())),
        Default::default(),
        config,
    );
    rocket
        .manage(McpService(service))
        .mount("/", routes![call, not_a_stream])
        // Browser MCP clients' CORS preflights (allowed origins only).
        .mount("/mcp", crate::cors::routes())
}

/// The request's headers, for the SDK (it checks `Accept`,
/// `MCP-Protocol-Version` and the `Mcp-*` headers itself).
struct Headers(http::HeaderMap);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Headers {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let mut headers = http::HeaderMap::new();
        for header in req.headers().iter() {
            let name = http::HeaderName::from_bytes(header.name().as_str().as_bytes());
            let value = http::HeaderValue::from_str(header.value());
            if let (Ok(name), Ok(value)) = (name, value) {
                headers.append(name, value);
            }
        }
        Outcome::Success(Headers(headers))
    }
}

/// What `/mcp` answers: the SDK's response, or a refusal.
enum McpAnswer {
    Sdk(http::Response<Bytes>),
    Refused(AuthError),
    /// A body that isn't JSON: JSON-RPC parse error (-32700), as MCP says.
    NotJson,
}

impl<'r> Responder<'r, 'static> for McpAnswer {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        match self {
            McpAnswer::Refused(error) => error.respond_to(req),
            McpAnswer::NotJson => {
                let body =
                    json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}});
                let mut response = rocket::serde::json::Json(body).respond_to(req)?;
                response.set_status(Status::BadRequest);
                Ok(response)
            }
            McpAnswer::Sdk(answer) => {
                let (parts, body) = answer.into_parts();
                let mut response = Response::build();
                response.status(Status::new(parts.status.as_u16()));
                for (name, value) in &parts.headers {
                    if let Ok(value) = value.to_str() {
                        response.raw_header_adjoin(name.as_str().to_owned(), value.to_owned());
                    }
                }
                response.sized_body(body.len(), std::io::Cursor::new(body));
                Ok(response.finalize())
            }
        }
    }
}

#[post("/mcp", data = "<body>")]
async fn call(
    access: McpAccess,
    headers: Headers,
    service: &State<McpService>,
    body: Data<'_>,
) -> McpAnswer {
    let bytes = match body.open(MAX_BODY.bytes()).into_bytes().await {
        Ok(bytes) if bytes.is_complete() => bytes.into_inner(),
        _ => return McpAnswer::NotJson,
    };
    let Ok(message) = serde_json::from_slice::<Value>(&bytes) else {
        return McpAnswer::NotJson;
    };
    // Never skipped: without it a client that sends no `Mcp-Method` would
    // choose its own scope requirements.
    if let Err(refused) = access.authorize(&message) {
        return McpAnswer::Refused(refused);
    }

    let mut request = http::Request::new(Full::new(Bytes::from(bytes)));
    *request.method_mut() = http::Method::POST;
    *request.uri_mut() = http::Uri::from_static("/mcp");
    *request.headers_mut() = headers.0;
    let answer = service.0.handle(request).await;
    let (parts, body) = answer.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    McpAnswer::Sdk(http::Response::from_parts(parts, body))
}

/// 405 with `Allow: POST`.
#[derive(rocket::Responder)]
#[response(status = 405, content_type = "json")]
struct MethodNotAllowed {
    body: &'static str,
    allow: Header<'static>,
}

/// A stateless server opens no stream for `GET` (MCP 2026-07-28 removed
/// it; older clients are told so with 405 and carry on without).
#[get("/mcp")]
fn not_a_stream() -> MethodNotAllowed {
    MethodNotAllowed {
        body: r#"{"message":"Method Not Allowed: POST JSON-RPC requests to /mcp"}"#,
        allow: Header::new("Allow", "POST"),
    }
}
