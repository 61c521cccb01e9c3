//! Talking to the identity provider: one shared HTTP client with a timeout,
//! a body cap and a redirect policy, and OIDC / RFC 8414 discovery.
//!
//! Plain `http://` is allowed only for loopback hosts (tests, a local
//! identity provider); everything else, redirect targets and the discovered
//! `jwks_uri` included, must be `https://`, since whoever can change the keys
//! can mint tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::redirect::{Attempt, Policy};
use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::words::url_policy::UrlRefused;
pub(crate) use crate::words::url_policy::{check_url, is_loopback};

/// The largest discovery or JWKS document read; larger ones are cut off
/// unread. Real key sets are a few KiB.
pub(crate) const MAX_BODY: usize = 1024 * 1024;

const MAX_REDIRECTS: usize = 5;

/// Why a discovery document or key set could not be fetched. Displays as
/// one line with the URL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchError {
    /// What was fetched.
    pub url: String,
    /// What went wrong.
    pub failure: FetchFailure,
}

/// What went wrong fetching a document.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum FetchFailure {
    /// The URL (or a redirect's target) is not one keys may come from.
    Refused(UrlRefused),
    /// No answer, body included, within `jwks_timeout`.
    TimedOut(Duration),
    /// The connection could not be made.
    Connect(Arc<reqwest::Error>),
    /// A redirect was refused (too many, or to a refused URL).
    Redirect(Arc<reqwest::Error>),
    /// Any other HTTP failure, the HTTP client not building included.
    Http(Arc<reqwest::Error>),
    /// An answer other than 200.
    Status(StatusCode),
    /// A body over 1 MiB (real key sets are a few KiB).
    TooLarge,
    /// A body that is not the JSON expected.
    Json(Arc<serde_json::Error>),
}

impl FetchError {
    pub(crate) fn new(url: &Url, failure: FetchFailure) -> Self {
        FetchError { url: url.to_string(), failure }
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GET {}: {}", self.url, self.failure)
    }
}

impl std::error::Error for FetchError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.failure)
    }
}

impl fmt::Display for FetchFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FetchFailure::Refused(refused) => refused.fmt(f),
            FetchFailure::TimedOut(after) => write!(f, "timed out after {after:?}"),
            FetchFailure::Connect(_) => f.write_str("connection failed"),
            FetchFailure::Redirect(e) => f.write_str(&redirect_cause(e)),
            FetchFailure::Http(e) => e.fmt(f),
            FetchFailure::Status(status) => write!(f, "answered {status}"),
            FetchFailure::TooLarge => write!(f, "body is larger than {MAX_BODY} bytes"),
            FetchFailure::Json(e) => write!(f, "invalid JSON: {e}"),
        }
    }
}

impl std::error::Error for FetchFailure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FetchFailure::Refused(e) => Some(e),
            FetchFailure::Connect(e) | FetchFailure::Redirect(e) | FetchFailure::Http(e) => {
                Some(&**e)
            }
            FetchFailure::Json(e) => Some(&**e),
            FetchFailure::TimedOut(_) | FetchFailure::Status(_) | FetchFailure::TooLarge => None,
        }
    }
}

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
    pub(crate) fn new(timeout: Duration, loopback_only: bool) -> Result<Self, reqwest::Error> {
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

        let client = builder.build()?;
        Ok(Fetcher { client, timeout })
    }

    /// GETs `url` and returns its body: 200 only, at most [`MAX_BODY`] bytes.
    pub(crate) async fn get(&self, url: &Url) -> Result<Vec<u8>, FetchError> {
        check_url(url).map_err(|refused| FetchError::new(url, FetchFailure::Refused(refused)))?;
        let describe = |e: reqwest::Error| {
            let failure = if e.is_timeout() {
                FetchFailure::TimedOut(self.timeout)
            } else if e.is_connect() {
                FetchFailure::Connect(Arc::new(e))
            } else if e.is_redirect() {
                FetchFailure::Redirect(Arc::new(e))
            } else {
                FetchFailure::Http(Arc::new(e.without_url()))
            };
            FetchError::new(url, failure)
        };

        let mut response = self
            .client
            .get(url.clone())
            .header("Accept", "application/json")
            .send()
            .await
            .map_err(describe)?;
        if response.status() != StatusCode::OK {
            return Err(FetchError::new(url, FetchFailure::Status(response.status())));
        }
        if response.content_length().is_some_and(|len| len > MAX_BODY as u64) {
            return Err(FetchError::new(url, FetchFailure::TooLarge));
        }

        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(FetchError::new(url, FetchFailure::TooLarge));
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
            .map_err(|e| FetchError::new(url, FetchFailure::Json(Arc::new(e))))
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

/// Why OIDC / RFC 8414 discovery gave no usable issuer and key set URL.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// No discovery URL answered with a document: each one's failure.
    Unreachable(Vec<FetchError>),
    /// The document describes another issuer (OpenID Connect Discovery
    /// §4.3).
    OtherIssuer {
        /// The document's URL.
        document: String,
        /// The `issuer` it names.
        names: String,
        /// The issuer `issuer_base_url` names.
        expected: String,
    },
    /// The document has no `jwks_uri` and none is configured.
    NoJwksUri,
    /// The document's `jwks_uri` is not a URL.
    JwksUriInvalid {
        /// The `jwks_uri` as found.
        jwks_uri: String,
        /// Why it doesn't parse.
        error: url::ParseError,
    },
    /// The document's `jwks_uri` is not one keys may come from.
    JwksUriRefused(UrlRefused),
}

impl fmt::Display for DiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DiscoveryError::Unreachable(failures) => {
                f.write_str("discovery failed: ")?;
                for (i, failure) in failures.iter().enumerate() {
                    write!(f, "{}{failure}", if i == 0 { "" } else { "; " })?;
                }
                Ok(())
            }
            DiscoveryError::OtherIssuer { document, names, expected } => write!(
                f,
                "discovery document {document} names issuer {names:?}, which is not \
                 {expected:?}: check issuer_base_url"
            ),
            DiscoveryError::NoJwksUri => {
                f.write_str("the discovery document has no jwks_uri: set JWKS_URI (and ISSUER)")
            }
            DiscoveryError::JwksUriInvalid { jwks_uri, error } => {
                write!(f, "discovered jwks_uri {jwks_uri:?} is unusable: {error}")
            }
            DiscoveryError::JwksUriRefused(refused) => {
                write!(f, "discovered jwks_uri is unusable: {refused}")
            }
        }
    }
}

impl std::error::Error for DiscoveryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            // The first failure; the others are in the message.
            DiscoveryError::Unreachable(failures) => failures.first().map(|e| e as _),
            DiscoveryError::JwksUriInvalid { error, .. } => Some(error),
            DiscoveryError::JwksUriRefused(refused) => Some(refused),
            DiscoveryError::OtherIssuer { .. } | DiscoveryError::NoJwksUri => None,
        }
    }
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
pub(crate) async fn discover(fetcher: &Fetcher, base: &Url) -> Result<Discovery, DiscoveryError> {
    let (expected, candidates) = discovery_urls(base);
    let mut failures = Vec::new();
    let mut found = None;
    for url in &candidates {
        match fetcher.get_json::<Discovery>(url).await {
            Ok(document) => {
                found = Some((url, document));
                break;
            }
            Err(e) => failures.push(e),
        }
    }

    let Some((url, document)) = found else {
        return Err(DiscoveryError::Unreachable(failures));
    };

    let without_slash = |s: &str| s.strip_suffix('/').unwrap_or(s).to_owned();
    if without_slash(&document.issuer) != without_slash(&expected) {
        return Err(DiscoveryError::OtherIssuer {
            document: url.to_string(),
            names: document.issuer,
            expected,
        });
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
