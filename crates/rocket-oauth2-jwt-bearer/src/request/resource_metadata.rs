//! RFC 9728 protected-resource metadata: where a client that got a 401
//! learns which authorization server to get a token from.
//!
//! With `resource` set (the identifier clients use for this API, e.g.
//! `https://api.example.com`), the fairing serves
//! `GET /.well-known/oauth-protected-resource` — with the resource's path
//! inserted after it when it has one (§3.1: `https://api.example.com/v1`
//! is described at `/.well-known/oauth-protected-resource/v1`) — and every
//! 401 and 403 challenge carries `resource_metadata="<that URL>"`, as the
//! Model Context Protocol's authorization spec requires of its servers.
//!
//! The document is built from configuration only, never from request
//! headers: a client must check that its `resource` equals the identifier
//! it used (§3.3), so it is exactly the setting. It holds nothing secret,
//! so it is public, cacheable and readable from any origin: a browser's
//! CORS preflight (`OPTIONS`, which the MCP SDK's `mcp-protocol-version`
//! header makes browsers send) is answered for any origin, allowing `GET`
//! and `HEAD` and the request headers asked for; any other method is 405
//! with a JSON body.
//!
//! `authorization_servers` lists what tokens from each configured issuer
//! carry: its exact `iss` as routing knows it, read when the document is
//! asked for, so it follows discovery. An issuer still loading (down at
//! launch under `require_keys_at_launch = false`) is listed as configured,
//! as written, and the document is then cacheable for a minute only.
//!
//! Without `resource`, the development issuer describes the local service
//! (`http://127.0.0.1:<port>`); otherwise the metadata is off.

use rocket::http::uri::Segments;
use rocket::http::uri::fmt::Path;
use rocket::http::{ContentType, Header, RawStr, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::{self, Responder};
use rocket::serde::json::Json;
use rocket::{Request, Response, Route, State, delete, get, options, patch, post, put, routes};
use serde_json::json;

use crate::possession::mtls::Mtls;
use crate::settings::checked::Resource;
use crate::settings::config::DpopMode;
use crate::settings::dpop::DpopSettings;
use crate::verification::token::Verifier;
use crate::words::algorithms;

/// The path of the metadata document under the host (RFC 9728 §3).
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How long clients may cache the document, in seconds.
const MAX_AGE: u32 = 3600;

/// How long while an issuer's `iss` isn't known yet.
const MAX_AGE_UNSETTLED: u32 = 60;

/// The metadata documents and where they live: the API's, and with
/// `mcp.endpoint` the MCP endpoint's own. Managed state.
#[derive(Debug)]
pub(crate) struct ResourceMetadata {
    api: Described,
    mcp: Option<Described>,
}

/// One document: a resource identifier and where its metadata is.
#[derive(Debug)]
struct Described {
    /// Every member but `authorization_servers`.
    document: serde_json::Value,
    url: String,
    /// The resource's path segments, inserted after the well-known path.
    path: Vec<String>,
}

impl Described {
    /// `document` for `identifier`, whose `resource` it becomes.
    fn new(identifier: &str, mut document: serde_json::Value) -> Option<Self> {
        let url = reqwest::Url::parse(identifier).ok()?;
        // Decoded, as Rocket hands a request's segments to the route.
        let path: Vec<String> = url
            .path_segments()?
            .filter(|s| !s.is_empty())
            .map(|s| RawStr::new(s).percent_decode_lossy().into_owned())
            .collect();
        let encoded: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
        let mut origin = url.origin().ascii_serialization();
        origin.push_str(WELL_KNOWN);
        for segment in encoded {
            origin.push('/');
            origin.push_str(segment);
        }
        document["resource"] = json!(identifier);
        Some(Described { document, url: origin, path })
    }

    /// The document as of now, with the `authorization_servers` of
    /// `verifier`, and whether every issuer's `iss` is known.
    fn render(&self, verifier: &Verifier) -> Document {
        let configured = verifier.issuers().configured();
        let servers: Vec<String> = configured.iter().map(|issuer| issuer.metadata_name()).collect();
        let settled = configured.iter().all(|issuer| issuer.iss().is_some());
        let mut document = self.document.clone();
        document["authorization_servers"] = json!(servers);
        let max_age = if settled { MAX_AGE } else { MAX_AGE_UNSETTLED };
        Document { json: document.to_string(), max_age }
    }
}

impl ResourceMetadata {
    /// The metadata for `identifier` (a checked `resource`), and for the
    /// MCP endpoint at `mcp_endpoint` under it, if there is one.
    pub(crate) fn new(
        identifier: &str,
        resource: &Resource,
        mcp_endpoint: Option<&str>,
        query_tokens: bool,
        dpop: &DpopSettings,
        mtls: &Mtls,
    ) -> Option<Self> {
        let mut methods = vec!["header"];
        if query_tokens {
            methods.push("query");
        }
        let mut document = json!({ "bearer_methods_supported": methods });
        if dpop.mode != DpopMode::Disabled {
            let algs: Vec<&str> = dpop.algorithms.iter().map(algorithms::name_of).collect();
            document["dpop_signing_alg_values_supported"] = json!(algs);
            document["dpop_bound_access_tokens_required"] = json!(dpop.mode == DpopMode::Required);
        }
        if mtls.accepts_bound_tokens() {
            document["tls_client_certificate_bound_access_tokens"] = json!(true);
        }
        if !resource.scopes_supported.is_empty() {
            document["scopes_supported"] = json!(resource.scopes_supported);
        }
        if let Some(name) = &resource.name {
            document["resource_name"] = json!(name);
        }
        if let Some(documentation) = &resource.documentation {
            document["resource_documentation"] = json!(documentation);
        }
        let mcp = match mcp_endpoint {
            Some(endpoint) => {
                let identifier = format!("{}{endpoint}", identifier.trim_end_matches('/'));
                Some(Described::new(&identifier, document.clone())?)
            }
            None => None,
        };
        Some(ResourceMetadata { api: Described::new(identifier, document)?, mcp })
    }

    /// The URL of the API's document, for `resource_metadata` in challenges.
    pub(crate) fn url(&self) -> &str {
        &self.api.url
    }

    /// The URL of the MCP endpoint's document, if it has one of its own.
    pub(crate) fn mcp_url(&self) -> Option<&str> {
        self.mcp.as_ref().map(|mcp| mcp.url.as_str())
    }

    /// The document at the well-known path followed by `asked`, if any.
    fn at(&self, asked: Segments<'_, Path>) -> Option<&Described> {
        let asked: Vec<&str> = asked.collect();
        [Some(&self.api), self.mcp.as_ref()].into_iter().flatten().find(|d| d.path == asked)
    }

    /// The routes that serve it, to mount at `/`.
    pub(crate) fn routes() -> Vec<Route> {
        routes![
            without_path,
            with_path,
            preflight,
            preflight_with_path,
            post_refused,
            put_refused,
            delete_refused,
            patch_refused,
            post_refused_with_path,
            put_refused_with_path,
            delete_refused_with_path,
            patch_refused_with_path,
        ]
    }
}

/// The document, with its caching and cross-origin headers.
struct Document {
    json: String,
    max_age: u32,
}

impl<'r> Responder<'r, 'static> for Document {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let cache = format!("public, max-age={}", self.max_age);
        Response::build()
            .header(ContentType::JSON)
            .header(Header::new("Cache-Control", cache))
            .header(Header::new("Access-Control-Allow-Origin", "*"))
            .sized_body(self.json.len(), std::io::Cursor::new(self.json))
            .ok()
    }
}

#[get("/.well-known/oauth-protected-resource")]
fn without_path(
    metadata: &State<ResourceMetadata>,
    verifier: &State<Verifier>,
) -> Option<Document> {
    metadata.api.path.is_empty().then(|| metadata.api.render(verifier))
}

#[get("/.well-known/oauth-protected-resource/<path..>")]
fn with_path(
    path: Segments<'_, Path>,
    metadata: &State<ResourceMetadata>,
    verifier: &State<Verifier>,
) -> Option<Document> {
    metadata.at(path).filter(|d| !d.path.is_empty()).map(|d| d.render(verifier))
}

/// The request headers a preflight asks to send
/// (`Access-Control-Request-Headers`), when each is a header name: they
/// are allowed as asked, since the document is public.
struct RequestedHeaders(Option<String>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for RequestedHeaders {
    type Error = std::convert::Infallible;

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, Self::Error> {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        let asked: Vec<&str> = req
            .headers()
            .get("Access-Control-Request-Headers")
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|name| !name.is_empty())
            .collect();
        let names = asked.iter().all(|name| name.bytes().all(token));
        let allowed = (names && !asked.is_empty()).then(|| asked.join(", ").to_ascii_lowercase());
        Outcome::Success(RequestedHeaders(allowed))
    }
}

/// The answer to a CORS preflight for the document.
struct Preflight(RequestedHeaders);

impl<'r> Responder<'r, 'static> for Preflight {
    fn respond_to(self, _: &'r Request<'_>) -> response::Result<'static> {
        let mut response = Response::build();
        response
            .status(Status::NoContent)
            .header(Header::new("Access-Control-Allow-Origin", "*"))
            .header(Header::new("Access-Control-Allow-Methods", "GET, HEAD"))
            .header(Header::new("Access-Control-Max-Age", "86400"))
            .header(Header::new("Vary", "Access-Control-Request-Headers"));
        if let Some(headers) = self.0.0 {
            response.header(Header::new("Access-Control-Allow-Headers", headers));
        }
        response.ok()
    }
}

#[options("/.well-known/oauth-protected-resource")]
fn preflight(metadata: &State<ResourceMetadata>, asked: RequestedHeaders) -> Option<Preflight> {
    metadata.api.path.is_empty().then_some(Preflight(asked))
}

#[options("/.well-known/oauth-protected-resource/<path..>")]
fn preflight_with_path(
    path: Segments<'_, Path>,
    metadata: &State<ResourceMetadata>,
    asked: RequestedHeaders,
) -> Option<Preflight> {
    metadata.at(path).filter(|d| !d.path.is_empty()).map(|_| Preflight(asked))
}

/// 405 for a method the document doesn't answer, with the methods it does.
struct MethodNotAllowed;

impl<'r> Responder<'r, 'static> for MethodNotAllowed {
    fn respond_to(self, req: &'r Request<'_>) -> response::Result<'static> {
        let body = Json(json!({ "message": "Method Not Allowed" }));
        let mut response = body.respond_to(req)?;
        response.set_status(Status::MethodNotAllowed);
        response.set_header(Header::new("Allow", "GET, HEAD, OPTIONS"));
        response.set_header(Header::new("Access-Control-Allow-Origin", "*"));
        Ok(response)
    }
}

/// The 405 routes, one per method Rocket routes, with and without the
/// resource's path.
macro_rules! refused_methods {
    ($($method:ident: $without:ident, $with:ident;)*) => {$(
        #[$method("/.well-known/oauth-protected-resource")]
        fn $without(metadata: &State<ResourceMetadata>) -> Option<MethodNotAllowed> {
            metadata.api.path.is_empty().then_some(MethodNotAllowed)
        }

        #[$method("/.well-known/oauth-protected-resource/<path..>")]
        fn $with(path: Segments<'_, Path>, metadata: &State<ResourceMetadata>) -> Option<MethodNotAllowed> {
            metadata.at(path).filter(|d| !d.path.is_empty()).map(|_| MethodNotAllowed)
        }
    )*};
}

refused_methods! {
    post: post_refused, post_refused_with_path;
    put: put_refused, put_refused_with_path;
    delete: delete_refused, delete_refused_with_path;
    patch: patch_refused, patch_refused_with_path;
}
