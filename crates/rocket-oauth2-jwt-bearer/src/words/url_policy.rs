//! Which URLs keys may come from: `https://`, or plain `http://` to a
//! loopback host only (tests, a local identity provider), since whoever
//! can change the keys can mint tokens.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

/// Why a URL may not be fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlRefused {
    /// Plain `http://` to a host that is not loopback: the URL.
    PlainHttp(String),
    /// A scheme other than `https` or `http`: the URL.
    Scheme(String),
}

impl fmt::Display for UrlRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UrlRefused::PlainHttp(url) => write!(
                f,
                "{url} uses plain http: use https (http is allowed only for loopback hosts)"
            ),
            UrlRefused::Scheme(url) => {
                let scheme = url.split(':').next().unwrap_or_default();
                write!(f, "{url} has scheme `{scheme}`: use https")
            }
        }
    }
}

impl std::error::Error for UrlRefused {}

/// Whether `url` is one this service may fetch keys from.
pub(crate) fn check_url(url: &Url) -> Result<(), UrlRefused> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(UrlRefused::PlainHttp(url.to_string())),
        _ => Err(UrlRefused::Scheme(url.to_string())),
    }
}

/// `localhost`, 127.0.0.0/8 or `::1`.
pub(crate) fn is_loopback(url: &Url) -> bool {
    // `Url` has already normalised the host (`127.1` is `127.0.0.1`, IPv6
    // is bracketed, names are lowercase).
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}
