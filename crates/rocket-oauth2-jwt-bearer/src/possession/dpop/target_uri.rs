//! The request's target URI, which a proof's `htu` must name (RFC 9449
//! §4.3 step 9), and the RFC 3986 normalisation both are compared under.
//!
//! Where the target comes from, in this order:
//! - `public_url` (`https://api.example.com`, optionally with a path prefix
//!   a proxy strips) followed by the request path, when it is set: the
//!   only source a client can't influence;
//! - otherwise the listener's scheme and the `Host` header (or HTTP/2's
//!   `:authority`), which must be an RFC 3986 authority — a missing or
//!   malformed one is refused rather than guessed, since a guess is what
//!   an attacker would aim a proof at (the Express library's 1.9.1 fix);
//! - with the scheme and host taken from the headers the trusted proxy
//!   writes when the peer is one (`proxy_headers`: `X-Forwarded-Proto` /
//!   `X-Forwarded-Host` by default, or RFC 7239 `Forwarded`, parsed by its
//!   exact grammar). The last element counts: it is the one our proxy
//!   appended; earlier ones came from the client. A header the proxy
//!   wrote that can't be used is refused (400, naming it), not guessed
//!   around.
//!
//! Both sides are normalised (RFC 3986 §6.2.2, §6.2.3): scheme and host
//! case, percent-escapes of unreserved characters decoded and other
//! escapes upper-cased, dot segments removed, the default port dropped,
//! an empty path made `/`; query and fragment are not part of `htu`.

use std::borrow::Cow;

use rocket::Request;

use crate::settings::config::ProxyHeaders;
use crate::settings::trusted_proxies::TrustedProxies;
use crate::words::authority::{Authority, is_hex_pair, is_sub_delim, is_unreserved};
use crate::words::error::RequestError;
use crate::words::proxy_headers::{self, Dialect};

/// Appends `text` with unreserved escapes decoded and other escapes in
/// upper case (RFC 3986 §6.2.2.2); `allowed` says which other bytes may
/// appear unescaped. `None` if `text` has a bad escape or byte.
fn push_normalized(out: &mut String, text: &str, allowed: fn(u8) -> bool) -> Option<()> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let pair = text.get(i + 1..i + 3).filter(|pair| is_hex_pair(pair))?;
                let byte = u8::from_str_radix(pair, 16).ok()?;
                match is_unreserved(byte) {
                    true => out.push(byte as char),
                    false => {
                        out.push('%');
                        out.push_str(&pair.to_ascii_uppercase());
                    }
                }
                i += 3;
            }
            b if is_unreserved(b) || allowed(b) => {
                out.push(b as char);
                i += 1;
            }
            _ => return None,
        }
    }
    Some(())
}

/// RFC 3986 §5.2.4, for an absolute path.
fn remove_dot_segments(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut kept: Vec<&str> = Vec::with_capacity(segments.len());
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." => {}
            ".." => {
                kept.pop();
            }
            segment => {
                kept.push(segment);
                continue;
            }
        }
        // `/a/.` and `/a/b/..` both end in a slash.
        if last {
            kept.push("");
        }
    }
    format!("/{}", kept.join("/"))
}

/// `uri` (an absolute `http` or `https` URI) normalised for comparison,
/// without query and fragment; `None` if it isn't one.
pub(crate) fn normalize(uri: &str) -> Option<String> {
    let uri = uri.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let authority = Authority::parse(authority)?;

    let mut out = String::with_capacity(uri.len() + 1);
    out.push_str(&scheme);
    out.push_str("://");
    let mut host = String::with_capacity(authority.host().len());
    push_normalized(&mut host, authority.host(), |b| is_sub_delim(b) || b"[]:".contains(&b))?;
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = authority.port().filter(|port| *port != default_port) {
        out.push(':');
        out.push_str(&port.to_string());
    }
    let mut normalized_path = String::with_capacity(path.len());
    push_normalized(&mut normalized_path, path, |b| {
        is_sub_delim(b) || matches!(b, b':' | b'@' | b'/')
    })?;
    out.push_str(&remove_dot_segments(&normalized_path));
    Some(out)
}

/// Why the target URI can't be known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UnknownTarget {
    /// No `Host`, several, or one that isn't an RFC 3986 authority.
    Host,
    /// The trusted proxy's `Forwarded` is off RFC 7239's grammar, or its
    /// element names a scheme other than http(s) or a malformed host.
    Forwarded,
    /// The trusted proxy's `X-Forwarded-Proto` isn't `http` or `https`.
    ForwardedProto,
    /// The trusted proxy's `X-Forwarded-Host` isn't an RFC 3986 authority.
    ForwardedHost,
}

impl From<UnknownTarget> for RequestError {
    fn from(unknown: UnknownTarget) -> Self {
        match unknown {
            UnknownTarget::Host => RequestError::UnknownTarget,
            UnknownTarget::Forwarded => RequestError::MalformedForwarded,
            UnknownTarget::ForwardedProto => RequestError::MalformedForwardedProto,
            UnknownTarget::ForwardedHost => RequestError::MalformedForwardedHost,
        }
    }
}

/// The target URI of `req`, normalised (see the module docs).
pub(crate) fn of_request(
    req: &Request<'_>,
    public_url: Option<&str>,
    proxies: &TrustedProxies,
) -> Result<String, UnknownTarget> {
    let path = req.uri().path().as_str();
    if let Some(public_url) = public_url {
        return normalize(&format!("{public_url}{path}")).ok_or(UnknownTarget::Host);
    }

    let forwarded = match proxies.trusts(req.remote().map(|peer| peer.ip())) {
        true => Forwarded::of(req, proxies.headers)?,
        false => Forwarded::default(),
    };
    let scheme = match forwarded.proto.as_deref() {
        Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        Some(_) => return Err(forwarded.bad_proto),
        None if req.rocket().config().tls_enabled() => "https",
        None => "http",
    };
    if let Some(host) = forwarded.host.as_deref() {
        return of_authority(scheme, host, path).map_err(|_| forwarded.bad_host);
    }
    let mut fields = req.headers().get("Host");
    match (fields.next(), fields.next()) {
        (Some(host), None) => of_authority(scheme, host, path),
        (Some(_), Some(_)) => Err(UnknownTarget::Host),
        // HTTP/2 sends `:authority`, which Rocket reports as the host.
        (None, _) => match req.host() {
            Some(host) => of_authority(scheme, &host.to_string(), path),
            None => Err(UnknownTarget::Host),
        },
    }
}

fn of_authority(scheme: &str, authority: &str, path: &str) -> Result<String, UnknownTarget> {
    Authority::parse(authority).ok_or(UnknownTarget::Host)?;
    normalize(&format!("{scheme}://{authority}{path}")).ok_or(UnknownTarget::Host)
}

/// The scheme and host a trusted proxy reports, and what to blame when
/// either is unusable.
#[derive(Debug, PartialEq, Eq)]
struct Forwarded<'r> {
    proto: Option<Cow<'r, str>>,
    host: Option<Cow<'r, str>>,
    bad_proto: UnknownTarget,
    bad_host: UnknownTarget,
}

impl Default for Forwarded<'_> {
    fn default() -> Self {
        Forwarded {
            proto: None,
            host: None,
            bad_proto: UnknownTarget::Host,
            bad_host: UnknownTarget::Host,
        }
    }
}

impl<'r> Forwarded<'r> {
    /// What the proxy wrote in the `headers` family. Only the last element
    /// counts: it is the one our proxy appended; earlier ones came from
    /// the client (or proxies before ours, which we can't vouch for).
    fn of(req: &'r Request<'_>, headers: ProxyHeaders) -> Result<Self, UnknownTarget> {
        match headers {
            ProxyHeaders::Forwarded => {
                let fields = req.headers().get("Forwarded");
                let elements = proxy_headers::parse(fields, Dialect::Forwarded)
                    .map_err(|_| UnknownTarget::Forwarded)?;
                let Some(last) = elements.last() else { return Ok(Forwarded::default()) };
                let single = |name| {
                    let value = last.single(name).map_err(|_| UnknownTarget::Forwarded)?;
                    Ok(value.map(|v| Cow::Owned(v.to_owned())))
                };
                Ok(Forwarded {
                    proto: single("proto")?,
                    host: single("host")?,
                    bad_proto: UnknownTarget::Forwarded,
                    bad_host: UnknownTarget::Forwarded,
                })
            }
            ProxyHeaders::XForwarded => {
                // Plain comma-separated lists; several field lines are one.
                let last = |name, bad| {
                    let last = req.headers().get(name).flat_map(|v: &'r str| v.split(',')).last();
                    match last.map(str::trim) {
                        Some("") => Err(bad),
                        last => Ok(last.map(Cow::Borrowed)),
                    }
                };
                Ok(Forwarded {
                    proto: last("X-Forwarded-Proto", UnknownTarget::ForwardedProto)?,
                    host: last("X-Forwarded-Host", UnknownTarget::ForwardedHost)?,
                    bad_proto: UnknownTarget::ForwardedProto,
                    bad_host: UnknownTarget::ForwardedHost,
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(a: &str, b: &str) -> bool {
        normalize(a).is_some() && normalize(a) == normalize(b)
    }

    #[test]
    fn equivalent_spellings_normalise_alike() {
        for (a, b) in [
            ("https://api.example.com/api/private", "HTTPS://API.Example.COM/api/private"),
            ("https://api.example.com/api/private", "https://api.example.com:443/api/private"),
            ("http://api.example.com/x", "http://api.example.com:80/x"),
            ("http://api.example.com/x", "http://api.example.com:/x"),
            ("https://api.example.com", "https://api.example.com/"),
            ("https://api.example.com/~a", "https://api.example.com/%7Ea"),
            ("https://api.example.com/~a", "https://api.example.com/%7ea"),
            ("https://api.example.com/a%2fb", "https://api.example.com/a%2Fb"),
            ("https://api.example.com/a/b", "https://api.example.com/a/./c/../b"),
            ("https://api.example.com/a/b", "https://api.example.com/a/b?x=1#frag"),
            ("https://api.example.com/", "https://api.example.com?x=1"),
            ("https://%61pi.example.com/", "https://api.example.com/"),
            ("http://[::1]:8000/a", "http://[::1]:8000/a"),
        ] {
            assert!(same(a, b), "{a} vs {b}: {:?} {:?}", normalize(a), normalize(b));
        }
    }

    #[test]
    fn different_targets_stay_different() {
        for (a, b) in [
            ("https://api.example.com/api/private", "http://api.example.com/api/private"),
            ("https://api.example.com/api/private", "https://api.example.com:8443/api/private"),
            ("https://api.example.com/api/private", "https://api.example.com/api/Private"),
            ("https://api.example.com/a%2Fb", "https://api.example.com/a/b"),
            ("https://api.example.com/a", "https://api.example.com/a/"),
            ("https://api.example.com/a", "https://evil.example.com/a"),
            ("https://api.example.com/a", "https://api.example.com.evil.example/a"),
        ] {
            assert!(!same(a, b), "{a} vs {b}");
        }
    }

    #[test]
    fn malformed_uris_normalise_to_nothing() {
        for bad in [
            "",
            "/api/private",
            "api.example.com/api",
            "ftp://api.example.com/",
            "https://user@api.example.com/",
            "https://api.example.com:99999/",
            "https://api.example.com:8o/",
            "https:///path",
            "https://api.example.com/a b",
            "https://api.example.com/%zz",
            "https://api.example.com/%4",
            "https://[::1/",
            "https://exa\"mple.com/",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }
}
