//! Finding the access token in a request (RFC 6750 §2, RFC 9449 §7.1).
//!
//! - §2.1 `Authorization: Bearer <token>`: scheme case-insensitive, one or
//!   more spaces, then a `b64token`. Another scheme (`Basic`, `Token`) or an
//!   empty header is "no credentials"; `Bearer` with no token, or a token
//!   that isn't a `b64token`, is an invalid token; two headers are an
//!   invalid request. `Authorization: DPoP <token>` is read the same way
//!   unless `dpop.mode = "disabled"`, when it is just another scheme.
//! - §2.3 `?access_token=`: refused unless `allow_query_token` is set, since
//!   tokens in URLs end up in logs and `Referer` headers. A token in both
//!   places, or a repeated parameter, is an invalid request.
//! - §2.2 (form body) is not supported: these are `GET` routes.
//!
//! Over real HTTP, hyper trims trailing whitespace from header values
//! (`Bearer ` arrives as `Bearer`); Rocket's local client doesn't. Both
//! spellings give the same answer here.

use std::borrow::Cow;

use rocket::Request;
use rocket::http::RawStr;
use rocket::http::uri::Origin;

use crate::words::error::{AuthError, RequestError, TokenError};
pub(crate) use crate::words::scheme::Scheme;

/// The scheme of this request's credentials, kept for the challenge
/// rendering: error parameters go on the scheme the request used.
#[derive(Debug, Clone, Copy)]
pub(crate) struct UsedScheme(Option<Scheme>);

impl UsedScheme {
    /// The scheme recorded for `req`, if any.
    pub(crate) fn of(req: &Request<'_>) -> Option<Scheme> {
        req.local_cache(|| UsedScheme(None)).0
    }
}

/// An access token and the scheme it came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Credentials<'r> {
    pub(crate) scheme: Scheme,
    pub(crate) token: &'r str,
}

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

/// The token `req` presents and its scheme (`DPoP` only when `dpop`), or
/// why it presents none acceptable. The scheme, once known, is recorded
/// for the challenges.
pub(crate) fn credentials<'r>(
    req: &'r Request<'_>,
    allow_query: bool,
    dpop: bool,
) -> Result<Credentials<'r>, AuthError> {
    let found = find(req, allow_query, dpop);
    let scheme = match &found {
        Ok(credentials) => Some(credentials.scheme),
        Err((scheme, _)) => *scheme,
    };
    if let Some(scheme) = scheme {
        req.local_cache(|| UsedScheme(Some(scheme)));
    }
    found.map_err(|(_, error)| error)
}

type Found<'r> = Result<Credentials<'r>, (Option<Scheme>, AuthError)>;

fn find<'r>(req: &'r Request<'_>, allow_query: bool, dpop: bool) -> Found<'r> {
    let mut headers = req.headers().get("Authorization");
    let header = headers.next();
    if headers.next().is_some() {
        return Err((None, AuthError::InvalidRequest(RequestError::RepeatedHeader)));
    }

    let from_header = match header.map(|value| parse_credentials(value, dpop)) {
        None | Some(Ok(None)) => None,
        Some(Ok(Some(credentials))) => Some(credentials),
        Some(Err((scheme, error))) => return Err((Some(scheme), error)),
    };
    // Skips the query entirely (and its request-local entry) unless needed.
    let query = match allow_query && req.uri().query().is_some() {
        true => QueryTokens::of(req).0.as_slice(),
        false => &[],
    };
    if query.is_empty() {
        return from_header.ok_or((None, AuthError::MissingCredentials));
    }

    let bearer = Some(Scheme::Bearer);
    if let Some(credentials) = from_header {
        let error = AuthError::InvalidRequest(RequestError::MultipleMethods);
        return Err((Some(credentials.scheme), error));
    }
    match query {
        [token] => check_token_syntax(token)
            .map(|token| Credentials { scheme: Scheme::Bearer, token })
            .map_err(|error| (bearer, error)),
        _ => Err((bearer, AuthError::InvalidRequest(RequestError::RepeatedParameter))),
    }
}

/// Parses one `Authorization` value: `Ok(None)` when it holds no bearer
/// credentials at all (empty, or another scheme).
pub fn parse_authorization(value: &str) -> Result<Option<&str>, AuthError> {
    match parse_credentials(value, false) {
        Ok(credentials) => Ok(credentials.map(|c| c.token)),
        Err((_, error)) => Err(error),
    }
}

/// Parses one `Authorization` value, with the `DPoP` scheme when `dpop`.
fn parse_credentials(
    value: &str,
    dpop: bool,
) -> Result<Option<Credentials<'_>>, (Scheme, AuthError)> {
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    let (name, rest) = value.split_once(' ').unwrap_or((value, ""));
    let scheme = match name {
        _ if value.is_empty() => return Ok(None),
        name if name.eq_ignore_ascii_case("bearer") => Scheme::Bearer,
        name if dpop && name.eq_ignore_ascii_case("dpop") => Scheme::Dpop,
        _ => return Ok(None),
    };

    match (check_token_syntax(rest.trim_start_matches(' ')), scheme) {
        (Ok(token), _) => Ok(Some(Credentials { scheme, token })),
        // The same faults, described on the scheme the client used.
        (Err(AuthError::InvalidToken(TokenError::Empty)), Scheme::Dpop) => {
            Err((scheme, AuthError::InvalidToken(TokenError::EmptyDpopToken)))
        }
        (Err(AuthError::InvalidToken(TokenError::MalformedCredentials)), Scheme::Dpop) => {
            Err((scheme, AuthError::InvalidToken(TokenError::MalformedDpopCredentials)))
        }
        (Err(error), _) => Err((scheme, error)),
    }
}

/// Whether `b` may appear in a `b64token` before its `=` padding, without
/// branches, so that checking a whole token vectorises.
fn is_b64token_byte(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// RFC 6750 §2.1 `b64token`: `1*( ALPHA / DIGIT / "-" / "." / "_" / "~" /
/// "+" / "/" ) *"="`.
fn check_token_syntax(token: &str) -> Result<&str, AuthError> {
    if token.is_empty() {
        return Err(AuthError::InvalidToken(TokenError::Empty));
    }

    let body = token.trim_end_matches('=');
    // Every byte, with no early exit: tokens are up to `max_token_size`
    // long and this runs on every request, cache hits included.
    let b64token = !body.is_empty() && body.bytes().fold(true, |ok, b| ok & is_b64token_byte(b));
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
    fn the_b64token_bytes_are_exactly_rfc_6750s() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_byte(b), expected, "{b:#04x}");
        }
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
        // On the DPoP scheme, said on that scheme.
        let dpop = |value| parse_credentials(value, true).map(|c| c.map(|c| c.token));
        let on_dpop = |e| Err((Scheme::Dpop, AuthError::InvalidToken(e)));
        assert_eq!(dpop("DPoP a b"), on_dpop(TokenError::MalformedDpopCredentials));
        assert_eq!(dpop("dpop "), on_dpop(TokenError::EmptyDpopToken));
        assert_eq!(dpop("DPoP abc"), Ok(Some("abc")));
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
