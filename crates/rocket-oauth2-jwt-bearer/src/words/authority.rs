//! [`Authority`]: RFC 3986 §3.2's `host [":" port]`, strictly.

use std::net::Ipv6Addr;

/// `host [":" port]` of an RFC 3986 authority without user info.
///
/// One parser for every authority this crate and its users read: a
/// request's `Host`, a proxy's `X-Forwarded-Host`, a DPoP proof's `htu`.
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::Authority;
///
/// let authority = Authority::parse("[::1]:3010").expect("valid");
/// assert_eq!((authority.host(), authority.port()), ("[::1]", Some(3010)));
/// assert!(Authority::parse("user@example.com").is_none());
/// assert!(Authority::parse("example.com:65536").is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Authority<'a> {
    host: &'a str,
    port: Option<u16>,
}

impl<'a> Authority<'a> {
    /// Parses `value` strictly: a registered name or IPv4 address (RFC 3986
    /// `reg-name`), or a bracketed IPv6 address; then an optional port.
    pub fn parse(value: &'a str) -> Option<Self> {
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

    /// The host as written: a registered name, an IPv4 address, or a
    /// bracketed IPv6 address.
    pub fn host(&self) -> &'a str {
        self.host
    }

    /// The port, when one was written.
    pub fn port(&self) -> Option<u16> {
        self.port
    }
}

/// `reg-name = *( unreserved / pct-encoded / sub-delims )`, not empty.
fn is_reg_name(host: &str) -> bool {
    !host.is_empty()
        && host.split('%').skip(1).all(|escape| escape.get(..2).is_some_and(is_hex_pair))
        && host.bytes().all(|b| is_unreserved(b) || is_sub_delim(b) || b == b'%')
}

pub(crate) fn is_hex_pair(pair: &str) -> bool {
    pair.bytes().all(|b| b.is_ascii_hexdigit())
}

pub(crate) fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

pub(crate) fn is_sub_delim(b: u8) -> bool {
    matches!(b, b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=')
}
