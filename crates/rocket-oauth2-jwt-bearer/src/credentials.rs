//! Finding the bearer token in a request (RFC 6750 §2).
//!
//! - §2.1 `Authorization: Bearer <token>`: scheme case-insensitive, one or
//!   more spaces, then a `b64token`. Another scheme (`Basic`, `Token`) or an
//!   empty header is "no credentials"; `Bearer` with no token, or a token
//!   that isn't a `b64token`, is an invalid token; two headers are an
//!   invalid request.
//! - §2.3 `?access_token=`: refused unless `allow_query_token` is set, since
//!   tokens in URLs end up in logs and `Referer` headers. A token in both
//!   places, or a repeated parameter, is an invalid request.
//! - §2.2 (form body) is not supported: these are `GET` routes.
//!
//! Over real HTTP, hyper trims trailing whitespace from header values
//! (`Bearer ` arrives as `Bearer`); Rocket's local client doesn't. Both
//! spellings give the same answer here.

use std::borrow::Cow;

use rocket::http::uri::Origin;
use rocket::http::RawStr;
use rocket::Request;

use crate::error::{AuthError, RequestError, TokenError};

/// The name of the RFC 6750 §2.3 query parameter.
pub(crate) const QUERY_PARAMETER: &str = "access_token";

/// What the request's `access_token` query parameters said, read before the
/// URI is redacted for logging.
#[derive(Debug, Clone, Default)]
pub(crate) struct QueryTokens(Vec<String>);

impl QueryTokens {
    /// The parameters of `req`, read once per request.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> &'r QueryTokens {
        req.local_cache(|| QueryTokens::parse(req.uri()))
    }

    fn parse(uri: &Origin<'_>) -> QueryTokens {
        let Some(query) = uri.query() else {
            return QueryTokens::default();
        };
        let values = query.segments().filter(|(name, _)| *name == QUERY_PARAMETER);
        QueryTokens(values.map(|(_, value)| value.to_owned()).collect())
    }

    /// Replaces every `access_token` value in `req`'s URI, so that Rocket's
    /// request log line (written after request fairings run) never holds a
    /// token. The values stay readable through [`QueryTokens::of`].
    pub(crate) fn redact(req: &mut Request<'_>) {
        if req.uri().query().is_none() || Self::of(req).0.is_empty() {
            return;
        }

        let uri = req.uri();
        let query = uri.query().map(|q| q.as_str()).unwrap_or_default();
        let redacted: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|pair| {
                // Decoded as `Query::segments` decodes names, so that
                // `access%5Ftoken` is redacted as surely as it is read.
                let name = pair.split_once('=').map_or(pair, |(name, _)| name);
                match RawStr::new(name).url_decode_lossy() == QUERY_PARAMETER {
                    true => Cow::Owned(format!("{name}=redacted")),
                    false => Cow::Borrowed(pair),
                }
            })
            .collect();

        let rewritten = format!("{}?{}", uri.path(), redacted.join("&"));
        // Should the rewrite not parse, drop the query rather than log it.
        let origin =
            Origin::parse_owned(rewritten).or_else(|_| Origin::parse_owned(uri.path().to_string()));
        if let Ok(origin) = origin {
            req.set_uri(origin);
        }
    }
}

/// The token `req` presents, or why it presents none acceptable.
pub(crate) fn bearer_token<'r>(
    req: &'r Request<'_>,
    allow_query: bool,
) -> Result<&'r str, AuthError> {
    let mut headers = req.headers().get("Authorization");
    let header = headers.next();
    if headers.next().is_some() {
        return Err(AuthError::InvalidRequest(RequestError::RepeatedHeader));
    }

    let from_header = header.map(parse_authorization).transpose()?.flatten();
    // Skips the query entirely (and its request-local entry) unless needed.
    let query = match allow_query && req.uri().query().is_some() {
        true => QueryTokens::of(req).0.as_slice(),
        false => &[],
    };
    if query.is_empty() {
        return from_header.ok_or(AuthError::MissingCredentials);
    }

    if from_header.is_some() {
        return Err(AuthError::InvalidRequest(RequestError::MultipleMethods));
    }
    match query {
        [token] => check_token_syntax(token),
        _ => Err(AuthError::InvalidRequest(RequestError::RepeatedParameter)),
    }
}

/// Parses one `Authorization` value: `Ok(None)` when it holds no bearer
/// credentials at all (empty, or another scheme).
pub fn parse_authorization(value: &str) -> Result<Option<&str>, AuthError> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if value.is_empty() || !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }

    check_token_syntax(rest.trim_start_matches(' ')).map(Some)
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`.
fn check_token_syntax(token: &str) -> Result<&str, AuthError> {
    if token.is_empty() {
        return Err(AuthError::InvalidToken(TokenError::Empty));
    }

    let body = token.trim_end_matches('=');
    let b64token = !body.is_empty()
        && body.bytes().all(|b| {
            matches!(b, b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !b64token {
        return Err(AuthError::InvalidToken(TokenError::MalformedCredentials));
    }

    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invalid(e: TokenError) -> Result<Option<&'static str>, AuthError> {
        Err(AuthError::InvalidToken(e))
    }

    #[test]
    fn authorization_values() {
        assert_eq!(parse_authorization("Bearer abc.def.ghi"), Ok(Some("abc.def.ghi")));
        assert_eq!(parse_authorization("bearer abc"), Ok(Some("abc")));
        assert_eq!(parse_authorization("BEARER    abc"), Ok(Some("abc")));
        assert_eq!(parse_authorization("Bearer abc "), Ok(Some("abc")));
        assert_eq!(parse_authorization("Bearer a+b/c=="), Ok(Some("a+b/c==")));

        assert_eq!(parse_authorization(""), Ok(None));
        assert_eq!(parse_authorization("   "), Ok(None));
        assert_eq!(parse_authorization("Basic dXNlcjpwYXNz"), Ok(None));
        assert_eq!(parse_authorization("Token abc"), Ok(None));
        assert_eq!(parse_authorization("Bearerabc"), Ok(None));

        assert_eq!(parse_authorization("Bearer"), invalid(TokenError::Empty));
        assert_eq!(parse_authorization("Bearer "), invalid(TokenError::Empty));
        assert_eq!(parse_authorization("bearer    "), invalid(TokenError::Empty));
        for bad in
            ["Bearer invalidToken abc", "Bearer a,b", "Bearer =", "Bearer a=b", "Bearer \"x\""]
        {
            assert_eq!(
                parse_authorization(bad),
                invalid(TokenError::MalformedCredentials),
                "{bad}"
            );
        }
    }
}
