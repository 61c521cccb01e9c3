//! A built-in development issuer, so `cargo run` works with no Auth0 tenant:
//! the way the Auth0 dashboard's "Test" tab hands you a token.
//!
//! Debug profile only (settings refuse it elsewhere), and only while no real
//! issuer is configured. At launch it generates an RS256 key, hands the
//! public half straight to the key store (no HTTP round trip to itself), and
//! serves, under its issuer URL `http://127.0.0.1:<port>/`:
//!
//! - `GET /.well-known/openid-configuration` and `GET /.well-known/jwks.json`,
//!   so any other tool can verify its tokens;
//! - `POST /dev/token` (form or JSON: `scope`, `sub`, `expires_in`) for
//!   loopback clients only, judged by the socket's address: `X-Real-IP`
//!   and `X-Forwarded-For` can be forged by anyone. With a `DPoP` proof
//!   header (`htm` `POST`, `htu` this endpoint), the token is bound to the
//!   proof's key (`cnf.jkt`, `token_type: "DPoP"`), as RFC 9449 §5 has an
//!   authorization server do; a bad proof is 400 `invalid_dpop_proof`.
//!
//! Its tokens are complete RFC 9068 access tokens (`typ: at+jwt`; `iss`,
//! `aud`, `sub`, `client_id`, `jti`, `iat`, `exp`, `scope`).

use std::time::{SystemTime, UNIX_EPOCH};

use rocket::form::Form;
use rocket::http::Status;
use rocket::request::{FromRequest, Outcome};
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Build, FromForm, Request, Rocket, State, catch, catchers, get, post, routes};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::keys::jwks::KeySet;
use crate::keys::launch_error::DevIssuerError;
use crate::keys::signing_key::{SigningKey, random_id};
use crate::possession::dpop::Dpop;
use crate::settings::config::DpopMode;
use crate::settings::scope_hierarchy::is_scope_token;
use crate::words::error::AuthError;

/// Default and longest token lifetimes, in seconds.
const DEFAULT_EXPIRES_IN: u64 = 3600;
const MAX_EXPIRES_IN: u64 = 24 * 3600;

/// The development issuer's identity and signing key.
pub(crate) struct DevIssuer {
    issuer: String,
    audience: String,
    key: SigningKey,
}

impl DevIssuer {
    /// Generates a fresh RS256 key for `issuer`, minting for `audience`.
    pub(crate) fn generate(issuer: String, audience: String) -> Result<Self, DevIssuerError> {
        let key = SigningKey::generate("dev").map_err(DevIssuerError::Key)?;
        Ok(DevIssuer { issuer, audience, key })
    }

    /// Its OpenID Provider metadata (the fields that apply).
    pub(crate) fn discovery(&self) -> Value {
        json!({
            "issuer": self.issuer,
            "jwks_uri": format!("{}.well-known/jwks.json", self.issuer),
            "token_endpoint": format!("{}dev/token", self.issuer),
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["none"],
        })
    }

    /// Mints an access token for `request`, bound to the key with
    /// thumbprint `jkt` when there is one.
    pub(crate) fn mint(
        &self,
        request: TokenRequest,
        jkt: Option<String>,
    ) -> Result<TokenResponse, MintError> {
        let scope = request.scope.unwrap_or_default();
        let valid_scope = scope.split(' ').filter(|s| !s.is_empty()).all(is_scope_token);
        if scope.len() > 1024 || !valid_scope {
            return Err(MintError::Scope);
        }
        let expires_in = request.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
            return Err(MintError::ExpiresIn);
        }
        let sub = request.sub.unwrap_or_else(|| "dev|local-user".to_owned());
        if sub.is_empty() || sub.len() > 255 {
            return Err(MintError::Sub);
        }

        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let mut claims = json!({
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "client_id": "dev-client",
            "jti": random_id::<16>().map_err(|_| MintError::Random)?,
            "iat": now,
            "exp": now + expires_in,
            "scope": scope,
        });
        let token_type = match jkt {
            Some(jkt) => {
                claims["cnf"] = json!({ "jkt": jkt });
                "DPoP"
            }
            None => "Bearer",
        };
        let access_token = self.key.sign("at+jwt", &claims).map_err(MintError::Sign)?;

        Ok(TokenResponse { access_token, token_type, expires_in, scope })
    }
}

/// Why no token was minted.
#[derive(Debug)]
pub(crate) enum MintError {
    Scope,
    ExpiresIn,
    Sub,
    Random,
    Sign(jsonwebtoken::errors::Error),
}

impl MintError {
    /// The answer: 400 for a bad request, 500 for this issuer's fault.
    fn status(&self) -> Status {
        match self {
            MintError::Scope | MintError::ExpiresIn | MintError::Sub => Status::BadRequest,
            MintError::Random | MintError::Sign(_) => Status::InternalServerError,
        }
    }
}

impl std::fmt::Display for MintError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MintError::Scope => {
                f.write_str("`scope` must be space-separated scope tokens (RFC 6749 §3.3)")
            }
            MintError::ExpiresIn => write!(f, "`expires_in` must be 1 to {MAX_EXPIRES_IN} seconds"),
            MintError::Sub => f.write_str("`sub` must be 1 to 255 characters"),
            MintError::Random => f.write_str("could not draw random bytes"),
            MintError::Sign(_) => f.write_str("could not sign the token"),
        }
    }
}

/// `POST /dev/token` parameters, as a form or JSON.
#[derive(Debug, Default, FromForm, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    pub scope: Option<String>,
    pub sub: Option<String>,
    pub expires_in: Option<u64>,
}

/// `POST /dev/token` answer, shaped like an OAuth 2.0 token response.
#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub scope: String,
}

/// A request from this machine, judged by the connection's peer address.
pub(crate) struct LoopbackPeer;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for LoopbackPeer {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        // `remote()`, not `client_ip()`: the latter trusts `X-Real-IP`.
        match req.remote() {
            Some(peer) if peer.ip().to_canonical().is_loopback() => Outcome::Success(LoopbackPeer),
            _ => Outcome::Error((Status::Forbidden, ())),
        }
    }
}

/// The key of the `DPoP` proof a token request came with, if any. Never
/// fails: the handler answers a bad proof itself, as a token endpoint
/// answers (400 with an OAuth `error`), not as a protected resource.
pub(crate) struct TokenProof(Result<Option<String>, AuthError>);

#[rocket::async_trait]
impl<'r> FromRequest<'r> for TokenProof {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        let key = match req.rocket().state::<Dpop>() {
            // An authorization server without DPoP ignores the header; the
            // client sees `token_type: "Bearer"` (RFC 9449 §5).
            None => Ok(None),
            Some(dpop) if dpop.mode() == DpopMode::Disabled => Ok(None),
            Some(dpop) => dpop.token_request_key(req).await,
        };
        Outcome::Success(TokenProof(key))
    }
}

type Answer = Result<Json<TokenResponse>, Custom<Json<Value>>>;

fn answer(dev: &DevIssuer, request: TokenRequest, proof: TokenProof) -> Answer {
    let jkt = proof.0.map_err(|error| {
        let code = error.code().unwrap_or("temporarily_unavailable");
        let description = error.description();
        let body =
            json!({ "error": code, "error_description": description, "message": description });
        let status = if error.status().code == 503 { error.status() } else { Status::BadRequest };
        Custom(status, Json(body))
    })?;
    dev.mint(request, jkt).map(Json).map_err(|error| {
        if let MintError::Sign(e) = &error {
            log::error!("development issuer: could not sign a token: {e}");
        }
        Custom(error.status(), Json(json!({ "message": error.to_string() })))
    })
}

#[post("/dev/token", format = "form", data = "<request>")]
fn token_form(
    _peer: LoopbackPeer,
    dev: &State<DevIssuer>,
    proof: TokenProof,
    request: Form<TokenRequest>,
) -> Answer {
    answer(dev, request.into_inner(), proof)
}

#[post("/dev/token", format = "json", data = "<request>", rank = 2)]
fn token_json(
    _peer: LoopbackPeer,
    dev: &State<DevIssuer>,
    proof: TokenProof,
    request: Json<TokenRequest>,
) -> Answer {
    answer(dev, request.into_inner(), proof)
}

#[post("/dev/token", rank = 3)]
fn token_defaults(_peer: LoopbackPeer, dev: &State<DevIssuer>, proof: TokenProof) -> Answer {
    answer(dev, TokenRequest::default(), proof)
}

#[get("/.well-known/openid-configuration")]
fn discovery(dev: &State<DevIssuer>) -> Json<Value> {
    Json(dev.discovery())
}

#[get("/.well-known/jwks.json")]
fn jwks(dev: &State<DevIssuer>) -> Json<Value> {
    Json(dev.key.jwks())
}

#[catch(default)]
fn dev_error(status: Status, _: &Request<'_>) -> Custom<Json<Value>> {
    let message = match status.code {
        403 => "The development token endpoint only answers clients on this machine",
        _ => status.reason().unwrap_or("Error"),
    };
    Custom(status, Json(json!({ "message": message })))
}

/// The development issuer for `rocket` (its tokens' `iss` is
/// `http://127.0.0.1:<port>/`), minting for `audience`.
pub(crate) fn generate_for(
    rocket: &Rocket<Build>,
    audience: &str,
) -> Result<DevIssuer, DevIssuerError> {
    let port = rocket.figment().extract_inner::<u16>("port").unwrap_or(0);
    DevIssuer::generate(format!("http://127.0.0.1:{port}/"), audience.to_owned())
}

impl DevIssuer {
    /// Its issuer and its public key, for the verifier.
    pub(crate) fn identity(&self) -> (String, KeySet) {
        (self.issuer.clone(), self.key.key_set())
    }

    /// Serves it from `rocket`: discovery, the key set, `POST /dev/token`.
    pub(crate) fn mount(self, rocket: Rocket<Build>) -> Rocket<Build> {
        log::warn!(
            "Development issuer active at {}: its tokens are for local testing only. \
             Configure a real issuer (ISSUER_BASE_URL, AUDIENCE) to turn it off.",
            self.issuer
        );
        rocket
            .manage(self)
            .mount("/", routes![discovery, jwks, token_form, token_json, token_defaults])
            .register("/dev", catchers![dev_error])
    }
}
