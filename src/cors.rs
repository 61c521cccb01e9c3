//! CORS for the API, as the quickstart's single-page app needs it.
//!
//! A request whose `Origin` is in `cors.allowed_origins` gets
//! `Access-Control-Allow-Origin: <that origin>` on every response, errors
//! included, so the browser can read a 401 or 403 and its challenge. Any
//! other request is answered exactly as without CORS: same status, no
//! `Access-Control-Allow-Origin` (never `*`, never a 403 for the origin
//! alone). Every response carries `Vary: Origin`, since it depends on it.
//!
//! Preflight `OPTIONS` requests under `/api`, and to `/mcp`, from an allowed
//! origin answer 204; from any other origin they get the 404 they would get
//! without CORS. `/mcp` allows `POST` and the headers MCP clients send.

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::{Header, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder, Response};
use rocket::{Build, Request, Rocket, Route, options, routes};
use serde::Deserialize;

/// The `cors` settings table.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    /// Origins allowed to call the API from a browser, e.g.
    /// `["http://localhost:3000"]` (the default: the quickstart's SPA).
    #[serde(default = "default_origins")]
    pub allowed_origins: Vec<String>,
}

fn default_origins() -> Vec<String> {
    vec!["http://localhost:3000".to_owned()]
}

impl CorsConfig {
    /// Checks the origins; the error names where they came from (`from`).
    fn check(&self, from: &str) -> Result<(), String> {
        for origin in &self.allowed_origins {
            let parsed = reqwest::Url::parse(origin).ok();
            let serialized = parsed.as_ref().map(|url| url.origin().ascii_serialization());
            if serialized.as_deref() != Some(origin.as_str()) {
                return Err(format!(
                    "invalid setting `cors.allowed_origins` (from {from}): {origin:?} is not an \
                     origin like \"https://app.example.com\" (scheme, host and port only, no `*`)"
                ));
            }
        }
        Ok(())
    }
}

/// The methods and request headers a preflight may ask for: `DPoP` carries
/// the proof of a DPoP-bound token (RFC 9449).
const ALLOW_METHODS: &str = "GET, HEAD, OPTIONS";
const ALLOW_HEADERS: &str = "Authorization, Content-Type, DPoP";

/// What a browser MCP client sends to `/mcp` (Streamable HTTP, MCP
/// 2026-07-28: the protocol version and the headers mirroring the body).
const MCP_ALLOW_METHODS: &str = "POST, OPTIONS";
const MCP_ALLOW_HEADERS: &str =
    "Authorization, Content-Type, DPoP, Accept, MCP-Protocol-Version, Mcp-Method, Mcp-Name";

/// The response headers an allowed origin's script may read: the
/// challenges, and the nonce a DPoP client must put in its next proof.
const EXPOSE_HEADERS: &str = "WWW-Authenticate, DPoP-Nonce";

/// The fairing that adds CORS headers; it also reads and checks the settings.
#[derive(Debug, Default)]
pub struct Cors {
    _private: (),
}

impl Cors {
    pub fn fairing() -> Self {
        Cors::default()
    }

    /// The request's `Origin`, if it is exactly one allowed origin.
    fn allowed_origin<'r>(req: &'r Request<'_>) -> Option<&'r str> {
        let config = req.rocket().state::<CorsConfig>()?;
        let mut origins = req.headers().get("Origin");
        let origin = origins.next()?;
        let single = origins.next().is_none();
        (single && config.allowed_origins.iter().any(|o| o == origin)).then_some(origin)
    }
}

#[rocket::async_trait]
impl Fairing for Cors {
    fn info(&self) -> Info {
        Info { name: "CORS", kind: Kind::Ignite | Kind::Response }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let config = rocket.figment().focus("cors").extract::<CorsConfig>();
        let from = crate::config::source_of(rocket.figment(), "cors.allowed_origins");
        match config
            .map_err(|e| format!("invalid setting `cors` (from {from}): {e}"))
            .and_then(|c| c.check(&from).map(|()| c))
        {
            Ok(config) => Ok(rocket.manage(config)),
            Err(reason) => {
                log::error!("CORS: {reason}");
                Err(rocket)
            }
        }
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        res.adjoin_header(Header::new("Vary", "Origin"));
        if let Some(origin) = Cors::allowed_origin(req) {
            res.set_header(Header::new("Access-Control-Allow-Origin", origin.to_owned()));
            res.set_header(Header::new("Access-Control-Expose-Headers", EXPOSE_HEADERS));
        }
    }
}

/// A CORS preflight from an allowed origin; forwards anything else.
pub struct Preflight;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for Preflight {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let asks = req.headers().contains("Access-Control-Request-Method");
        match Cors::allowed_origin(req) {
            Some(_) if asks => Outcome::Success(Preflight),
            _ => Outcome::Forward(Status::NotFound),
        }
    }
}

impl<'r> Responder<'r, 'static> for Preflight {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let (methods, headers) = match req.uri().path() == "/mcp" {
            true => (MCP_ALLOW_METHODS, MCP_ALLOW_HEADERS),
            false => (ALLOW_METHODS, ALLOW_HEADERS),
        };
        Response::build()
            .status(Status::NoContent)
            .raw_header("Access-Control-Allow-Methods", methods)
            .raw_header("Access-Control-Allow-Headers", headers)
            .raw_header("Access-Control-Max-Age", "600")
            .ok()
    }
}

#[options("/<_..>")]
fn preflight(preflight: Preflight) -> Preflight {
    preflight
}

/// The preflight route, to mount where the API is (and at `/mcp`).
pub fn routes() -> Vec<Route> {
    routes![preflight]
}
