//! Talking to the identity provider: one shared HTTP client with a timeout,
//! a body cap and a redirect policy, and OIDC / RFC 8414 discovery.
//!
//! Plain `http://` is allowed only for loopback hosts (tests, a local
//! identity provider); everything else, redirect targets and the discovered
//! `jwks_uri` included, must be `https://`, since whoever can change the keys
//! can mint tokens.

use std::fmt;
use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

pub(crate) use crate::words::url_policy::{check_url, is_loopback};

/// The largest discovery or JWKS document read; larger ones are cut off
/// unread. Real key sets are a few KiB.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

const MAX_REDIRECTS: usize = 5;

/// Why a document could not be fetched. Displays as one line with the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchError {
    pub url: String,
    pub cause: String,
}

impl FetchError {
    fn new(url: &Url, cause: impl Into<String>) -> Self {
        FetchError { url: url.to_string(), cause: cause.into() }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {}: {}", self.url, self.cause)
    }
}

impl std::error::Error for FetchError {}

/// The shared HTTP client for discovery and JWKS requests.
#[derive(Debug, Clone)]
pub(crate) struct Fetcher {
    client: reqwest::Client,
    timeout: Duration,
}

impl Fetcher {
    /// A client whose every request, body included, ends within `timeout`.
    ///
    /// With `loopback_only` set, proxy variables are ignored: a proxy can't
    /// reach this machine's loopback, so routing a loopback issuer through
    /// `HTTP_PROXY` could only fail.
    pub(crate) fn new(timeout: Duration, loopback_only: bool) -> Result<Self, String> {
        let redirects = Policy::custom(|attempt: Attempt<'_>| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if let Err(problem) = check_url(attempt.url()) {
                attempt.error(format!("refused redirect: {problem}"))
            } else {
                attempt.follow()
            }
        });

        let mut builder = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(redirects)
            .user_agent(concat!(env!("CARGO_PKG_NAME"), "/", env!("CARGO_PKG_VERSION")));
        if loopback_only {
            builder = builder.no_proxy();
        }

        let client = builder.build().map_err(|e| format!("HTTP client: {e}"))?;
        Ok(Fetcher { client, timeout })
    }

    /// GETs `url` and returns its body: 200 only, at most [`MAX_BODY`] bytes.
    pub(crate) async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        check_url(url).map_err(|problem| FetchError::new(url, problem))?;
        let describe = |e: reqwest::Error| {
            let cause = if e.is_timeout() {
                format!("timed out after {:?}", self.timeout)
            } else if e.is_connect() {
                "connection failed".to_owned()
            } else if e.is_redirect() {
                redirect_cause(&e)
            } else {
                e.without_url().to_string()
            };
            FetchError::new(url, cause)
        };

        let mut response = self
            .client
            .get(url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(describe)?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::new(url, format!("answered {}", response.status())));
        }
        if response.content_length().is_some_and(|len| len > MAX_BODY as u64) {
            return Err(FetchError::new(url, format!("body is larger than {MAX_BODY} bytes")));
        }

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::new(url, format!("body is larger than {MAX_BODY} bytes")));
            }
            body.extend_from_slice(&chunk);
        }

        Ok(body)
    }

    /// GETs `url` and parses its body as `T`.
    pub(crate) async fn get_json<T: for<'de> Deserialize<'de>>(
        &self,
        url: &Url,
    ) -> Result<T, FetchError> {
        let body = self.get(url).await?;
        serde_json::from_slice(&body)
            .map_err(|e| FetchError::new(url, format!("invalid JSON: {e}")))
    }
}

fn redirect_cause(error: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(error);
    while let Some(inner) = source {
        if inner.source().is_none() {
            return inner.to_string();
        }
        source = inner.source();
    }
    "redirect refused".to_owned()
}

/// What this service needs from a discovery document.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Discovery {
    pub issuer: String,
    /// Absent from some HS256-only issuers' documents.
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// Fetches the discovery document for `base` and checks that it describes
/// that issuer: first `{base}/.well-known/openid-configuration`, then the
/// RFC 8414 `/.well-known/oauth-authorization-server{path}`. A `base` that
/// already holds `/.well-known/` is fetched as is.
///
/// The document's `issuer` must equal `base` (without its well-known suffix)
/// ignoring one trailing slash: Auth0 answers `https://T.auth0.com/` while
/// the sample's `.env` has no slash. Anything else means the document is
/// not this issuer's (OpenID Connect Discovery §4.3).
pub(crate) async fn discover(fetcher: &Fetcher, base: &Url) -> Result<Discovery, String> {
    let (expected, candidates) = discovery_urls(base);
    let mut failures = Vec::new();
    let mut found = None;
    for url in &candidates {
        match fetcher.get_json::<Discovery>(url).await {
            Ok(document) => {
                found = Some((url, document));
                break;
            }
            Err(e) => failures.push(e.to_string()),
        }
    }

    let Some((url, document)) = found else {
        return Err(format!("discovery failed: {}", failures.join("; ")));
    };

    let without_slash = |s: &str| s.strip_suffix('/').unwrap_or(s).to_owned();
    if without_slash(&document.issuer) != without_slash(&expected) {
        return Err(format!(
            "discovery document {url} names issuer {:?}, which is not {expected:?}: \
             check issuer_base_url",
            document.issuer
        ));
    }

    Ok(document)
}

/// The issuer `base` names, and the discovery URLs to try for it, in order.
fn discovery_urls(base: &Url) -> (String, Vec<Url>) {
    let text = base.as_str();
    if let Some(at) = text.find("/.well-known/") {
        return (text[..at].to_owned(), vec![base.clone()]);
    }

    let expected = text.to_owned();
    let trimmed = text.trim_end_matches('/');
    let mut urls = Vec::new();
    if let Ok(oidc) = Url::parse(&format!("{trimmed}/.well-known/openid-configuration")) {
        urls.push(oidc);
    }

    let path = base.path().trim_end_matches('/');
    let mut oauth = base.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{path}"));
    oauth.set_query(None);
    urls.push(oauth);

    (expected, urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn only_loopback_may_use_plain_http() {
        assert!(check_url(&url("https://tenant.auth0.com/")).is_ok());
        assert!(check_url(&url("http://127.0.0.1:8/")).is_ok());
        assert!(check_url(&url("http://127.200.0.1/")).is_ok());
        assert!(check_url(&url("http://LOCALHOST:1/")).is_ok());
        assert!(check_url(&url("http://[::1]/")).is_ok());
        assert!(check_url(&url("http://tenant.auth0.com/")).is_err());
        assert!(check_url(&url("http://10.0.0.1/")).is_err());
        assert!(check_url(&url("http://localhost.example.com/")).is_err());
        assert!(check_url(&url("file:///etc/passwd")).is_err());
    }

    #[test]
    fn discovery_urls_join_without_double_slashes() {
        let (issuer, urls) = discovery_urls(&url("https://t.auth0.com/"));
        assert_eq!(issuer, "https://t.auth0.com/");
        assert_eq!(urls[0].as_str(), "https://t.auth0.com/.well-known/openid-configuration");
        assert_eq!(urls[1].as_str(), "https://t.auth0.com/.well-known/oauth-authorization-server");

        let (_, urls) = discovery_urls(&url("https://idp.example.com/realms/a/"));
        assert_eq!(
            urls[0].as_str(),
            "https://idp.example.com/realms/a/.well-known/openid-configuration"
        );
        assert_eq!(
            urls[1].as_str(),
            "https://idp.example.com/.well-known/oauth-authorization-server/realms/a"
        );

        let given = url("https://idp.example.com/x/.well-known/openid-configuration");
        let (issuer, urls) = discovery_urls(&given);
        assert_eq!(issuer, "https://idp.example.com/x");
        assert_eq!(urls, [given]);
    }
}
