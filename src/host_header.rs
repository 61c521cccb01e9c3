//! RFC 9112 §3.2: a request with more than one `Host` header field, or one
//! that isn't a valid authority, is answered 400 before any route or guard
//! sees it.
//!
//! hyper and Rocket 0.5 take whatever arrives: no `Host`, two of them, or
//! one Rocket's lenient parser accepts (user info, an unchecked IPv6
//! literal). Anything that builds a URL from the request — DPoP's `htu`,
//! redirects, protected-resource metadata — would then be built from what
//! the client chose. Here the value must be an RFC 3986 authority without
//! user info: a registered name, an IPv4 address or a bracketed IPv6
//! address, then an optional port up to 65535.
//!
//! A request fairing can't answer by itself in Rocket 0.5, so it reroutes
//! the request to an internal route that answers 400 (and only for requests
//! rerouted here).
//!
//! A request with no `Host` at all is served: HTTP/1.0 doesn't require one,
//! and load balancers' health checks (HAProxy's `option httpchk` sends
//! `OPTIONS / HTTP/1.0`) don't send one. RFC 9112 wants an HTTP/1.1
//! request without `Host` refused, but Rocket 0.5 doesn't tell a handler
//! which version a request came over, so the two can't be told apart
//! here. Nothing is lost by it: whatever would build a URL from the host
//! refuses a request without one itself (a DPoP proof's target needs
//! `dpop.public_url` or a `Host`: 400 otherwise), and the protected-resource
//! metadata is built from configuration alone.

use rocket::fairing::{Fairing, Info, Kind};
use rocket::http::uri::Origin;
use rocket::http::{Method, Status};
use rocket::request::{FromRequest, Outcome};
use rocket::response::status::Custom;
use rocket::serde::json::Json;
use rocket::{Build, Data, Request, Rocket, get, routes};
use serde_json::{Value, json};

use rocket_oauth2_jwt_bearer::Authority;

use crate::access_log::AskedPath;

/// Where refused requests are rerouted.
const REFUSED: &str = "/__invalid-host";

/// Reroutes requests without exactly one valid `Host` to a 400 answer.
#[derive(Debug, Default)]
pub struct HostHeader {
    _private: (),
}

impl HostHeader {
    pub fn fairing() -> Self {
        HostHeader::default()
    }

    /// The fairing and the route that answers for it.
    pub fn attach(rocket: Rocket<Build>) -> Rocket<Build> {
        rocket.attach(Self::fairing()).mount("/", routes![refused])
    }
}

/// Marks a request rerouted by the fairing.
struct Refused(bool);

#[rocket::async_trait]
impl Fairing for HostHeader {
    fn info(&self) -> Info {
        Info { name: "Host header check (RFC 9112 §3.2)", kind: Kind::Request }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        if has_one_valid_host(req) {
            return;
        }
        req.local_cache(|| Refused(true));
        AskedPath::keep(req);
        req.set_method(Method::Get);
        req.set_uri(Origin::parse(REFUSED).expect("a valid origin"));
    }
}

fn has_one_valid_host(req: &Request<'_>) -> bool {
    let mut hosts = req.headers().get("Host");
    match (hosts.next(), hosts.next()) {
        (Some(host), None) => is_valid_authority(host),
        (Some(_), Some(_)) => false,
        // No `Host` field Rocket kept. Over HTTP/1 Rocket takes the host
        // only from a `Host` field, so a host without one means a field
        // that wasn't UTF-8 (dropped from the headers): refused. Over
        // HTTP/2 the authority comes as `:authority`, which Rocket reports
        // as the host; without the `http2` feature there is no HTTP/2.
        (None, _) => req.host().is_none() || cfg!(feature = "http2"),
    }
}

/// Whether `value` is one RFC 3986 authority without user info: the
/// crate's parser, the one its DPoP target and proxy headers use.
pub fn is_valid_authority(value: &str) -> bool {
    Authority::parse(value).is_some()
}

/// A request the fairing rerouted; anything else forwards (so asking for
/// this path directly is a plain 404).
struct WasRefused;

#[rocket::async_trait]
impl<'r> FromRequest<'r> for WasRefused {
    type Error = ();

    async fn from_request(req: &'r Request<'_>) -> Outcome<Self, ()> {
        match req.local_cache(|| Refused(false)).0 {
            true => Outcome::Success(WasRefused),
            false => Outcome::Forward(Status::NotFound),
        }
    }
}

#[get("/__invalid-host")]
fn refused(_refused: WasRefused) -> Custom<Json<Value>> {
    let message = "Bad Request: a request's Host header must be one valid authority (host[:port])";
    Custom(Status::BadRequest, Json(json!({ "message": message })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorities_are_checked_strictly() {
        for ok in [
            "example.com",
            "example.com:443",
            "127.0.0.1:3010",
            "localhost",
            "[::1]",
            "[::1]:3010",
            "[2001:db8::7]:80",
            "xn--bcher-kva.example",
            "a%2Db.example",
            "example.com:",
        ] {
            assert!(is_valid_authority(ok), "{ok}");
        }
        for bad in [
            "",
            ":80",
            "user@example.com",
            "user:pass@example.com",
            "example.com:65536",
            "example.com:99999999",
            "example.com:8o",
            "exa mple.com",
            "example.com/path",
            "example.com?q",
            "[::1",
            "[zz::1]:80",
            "[::1]x",
            "::1",
            "a%2",
            "a%zz",
        ] {
            assert!(!is_valid_authority(bad), "{bad}");
        }
    }
}
