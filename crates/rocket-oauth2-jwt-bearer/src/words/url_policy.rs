//! Which URLs keys may come from: `https://`, or plain `http://` to a
//! loopback host only (tests, a local identity provider), since whoever
//! can change the keys can mint tokens.

use std::net::IpAddr;

use reqwest::Url;

/// Whether `url` is one this service may fetch keys from.
pub(crate) fn check_url(url: &Url) -> Result<(), String> {
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(format!(
            "{url} uses plain http: use https (http is allowed only for loopback hosts)"
        )),
        scheme => Err(format!("{url} has scheme `{scheme}`: use https")),
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
