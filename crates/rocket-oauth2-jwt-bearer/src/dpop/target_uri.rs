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
//! - with the scheme and host taken from RFC 7239 `Forwarded` (else
//!   `X-Forwarded-Proto` / `X-Forwarded-Host`) when the peer is a trusted
//!   proxy. The last element counts: it is the one our proxy appended;
//!   earlier ones came from the client.
//!
//! Both sides are normalised (RFC 3986 §6.2.2, §6.2.3): scheme and host
//! case, percent-escapes of unreserved characters decoded and other
//! escapes upper-cased, dot segments removed, the default port dropped,
//! an empty path made `/`; query and fragment are not part of `htu`.

use std::net::Ipv6Addr;

use rocket::Request;

use crate::trusted_proxies::TrustedProxies;

/// `host [":" port]` of an RFC 3986 authority without user info.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Authority<'a> {
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Authority<'a> {
    /// Parses `value` strictly: a registered name or IPv4 address (RFC 3986
    /// `reg-name`), or a bracketed IPv6 address; then an optional port.
    pub(crate) fn parse(value: &'a str) -> Option<Self> {
        let (host, port) = match value.strip_prefix('[') {
            Some(bracketed) => {
                let (ipv6, rest) = bracketed.split_once(']')?;
                ipv6.parse::<Ipv6Addr>().ok()?;
                let port = match rest {
                    "" => None,
                    rest => Some(rest.strip_prefix(':')?),
                };
                (&value[..ipv6.len() + 2], port)
            }
            None => match value.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (value, None),
            },
        };
        let port = match port {
            None | Some("") => None,
            Some(port) if port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit()) => {
                Some(port.parse().ok()?)
            }
            Some(_) => return None,
        };
        let registered_name = host.starts_with('[') || is_reg_name(host);
        registered_name.then_some(Authority { host, port })
    }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`, not empty.
fn is_reg_name(host: &str) -> bool {
    !host.is_empty()
        && host.split('%').skip(1).all(|escape| escape.get(..2).is_some_and(is_hex_pair))
        && host.bytes().all(|b| is_unreserved(b) || is_sub_delim(b) || b == b'%')
}

fn is_hex_pair(pair: &str) -> bool {
    pair.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}

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
    let mut host = String::with_capacity(authority.host.len());
    push_normalized(&mut host, authority.host, |b| is_sub_delim(b) || b"[]:".contains(&b))?;
    out.push_str(&host.to_ascii_lowercase());
    if let Some(port) = authority.port.filter(|port| *port != default_port) {
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
pub(crate) struct UnknownTarget;

/// The target URI of `req`, normalised (see the module docs).
pub(crate) fn of_request(
    req: &Request<'_>,
    public_url: Option<&str>,
    proxies: &TrustedProxies,
) -> Result<String, UnknownTarget> {
    let path = req.uri().path().as_str();
    if let Some(public_url) = public_url {
        return normalize(&format!("{public_url}{path}")).ok_or(UnknownTarget);
    }

    let forwarded = match proxies.trusts(req.remote().map(|peer| peer.ip())) {
        true => Forwarded::of(req),
        false => Forwarded::default(),
    };
    let scheme = match forwarded.proto {
        Some(proto) if proto.eq_ignore_ascii_case("http") => "http",
        Some(proto) if proto.eq_ignore_ascii_case("https") => "https",
        Some(_) => return Err(UnknownTarget),
        None if req.rocket().config().tls_enabled() => "https",
        None => "http",
    };
    let host = match forwarded.host {
        Some(host) => host,
        None => {
            let mut fields = req.headers().get("Host");
            match (fields.next(), fields.next()) {
                (Some(host), None) => host,
                (Some(_), Some(_)) => return Err(UnknownTarget),
                // HTTP/2 sends `:authority`, which Rocket reports as the host.
                (None, _) => match req.host() {
                    Some(host) => return of_authority(scheme, &host.to_string(), path),
                    None => return Err(UnknownTarget),
                },
            }
        }
    };
    of_authority(scheme, host, path)
}

fn of_authority(scheme: &str, authority: &str, path: &str) -> Result<String, UnknownTarget> {
    Authority::parse(authority).ok_or(UnknownTarget)?;
    normalize(&format!("{scheme}://{authority}{path}")).ok_or(UnknownTarget)
}

/// The scheme and host a trusted proxy reports.
#[derive(Debug, Default, PartialEq, Eq)]
struct Forwarded<'r> {
    proto: Option<&'r str>,
    host: Option<&'r str>,
}

impl<'r> Forwarded<'r> {
    fn of(req: &'r Request<'_>) -> Self {
        let elements: Vec<&str> = req.headers().get("Forwarded").flat_map(split_unquoted).collect();
        if let Some(last) = elements.last() {
            return Self::parse_element(last);
        }
        let last = |name| req.headers().get(name).flat_map(|v: &'r str| v.split(',')).last();
        Forwarded {
            proto: last("X-Forwarded-Proto").map(str::trim),
            host: last("X-Forwarded-Host").map(str::trim),
        }
    }

    /// One RFC 7239 element: `for=…;proto=https;host="api.example.com"`.
    fn parse_element(element: &'r str) -> Self {
        let mut forwarded = Forwarded::default();
        for pair in element.split(';') {
            let Some((name, value)) = pair.trim().split_once('=') else { continue };
            let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
            match name.trim() {
                name if name.eq_ignore_ascii_case("proto") => forwarded.proto = Some(value),
                name if name.eq_ignore_ascii_case("host") => forwarded.host = Some(value),
                _ => {}
            }
        }
        forwarded
    }
}

/// Splits a `Forwarded` value at the commas outside quoted strings.
pub(crate) fn split_unquoted(value: &str) -> impl Iterator<Item = &str> {
    let mut quoted = false;
    let mut start = 0;
    let mut parts = Vec::new();
    for (i, c) in value.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                parts.push(&value[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&value[start..]);
    parts.into_iter().map(str::trim).filter(|part| !part.is_empty())
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

    #[test]
    fn forwarded_elements_split_outside_quotes() {
        let parts: Vec<&str> =
            split_unquoted(r#"for=1.2.3.4;host="a,b", for=5.6.7.8;proto=https"#).collect();
        assert_eq!(parts, [r#"for=1.2.3.4;host="a,b""#, "for=5.6.7.8;proto=https"]);
        let element = Forwarded::parse_element(r#"for=5.6.7.8;Proto=https;HOST="api.example.com""#);
        assert_eq!(element, Forwarded { proto: Some("https"), host: Some("api.example.com") });
    }
}
