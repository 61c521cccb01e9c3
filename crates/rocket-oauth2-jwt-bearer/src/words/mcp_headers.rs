//! The MCP 2026-07-28 Streamable HTTP request headers that mirror the
//! JSON-RPC body, so that a guard can authorize an operation before the
//! body is read: `Mcp-Method` (the `method`) and, for the methods that
//! address one tool, prompt or resource, `Mcp-Name` (`params.name` or
//! `params.uri`).
//!
//! A value that can't travel as a plain header value arrives Base64-wrapped
//! as `=?base64?{standard Base64 of its UTF-8}?=`; the markers are
//! lowercase and case-sensitive, and a client wraps any value that would
//! otherwise look like one, so anything wearing the markers is decoded.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// `Mcp-Method`.
pub(crate) const MCP_METHOD: &str = "Mcp-Method";
/// `Mcp-Name`.
pub(crate) const MCP_NAME: &str = "Mcp-Name";

const BASE64_PREFIX: &str = "=?base64?";
const BASE64_SUFFIX: &str = "?=";

/// Why the headers can't be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Malformed {
    /// The header came in more than one field line.
    Repeated,
    /// Empty, or not visible ASCII (a plain value must be; others come
    /// Base64-wrapped).
    NotAValue,
    /// The Base64 form doesn't decode to UTF-8.
    BadBase64,
}

/// The one value of a header that may appear once, if present.
pub(crate) fn single<'a>(
    mut values: impl Iterator<Item = &'a str>,
) -> Result<Option<&'a str>, Malformed> {
    let first = values.next();
    match values.next() {
        Some(_) => Err(Malformed::Repeated),
        None => Ok(first),
    }
}

/// An `Mcp-Method` value: visible ASCII, no Base64 form.
pub(crate) fn method(value: &str) -> Result<&str, Malformed> {
    let visible = !value.is_empty() && value.bytes().all(|b| b.is_ascii_graphic());
    visible.then_some(value).ok_or(Malformed::NotAValue)
}

/// An `Mcp-Name` value, decoded from its Base64 form when it wears the
/// markers.
pub(crate) fn name(value: &str) -> Result<String, Malformed> {
    match value.strip_prefix(BASE64_PREFIX).and_then(|v| v.strip_suffix(BASE64_SUFFIX)) {
        Some(encoded) => {
            let bytes = STANDARD.decode(encoded).map_err(|_| Malformed::BadBase64)?;
            String::from_utf8(bytes).map_err(|_| Malformed::BadBase64)
        }
        // A plain value is printable ASCII, with spaces inside only (a
        // leading or trailing one would have been wrapped).
        None => {
            let printable = value.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
            let trimmed = !value.starts_with(' ') && !value.ends_with(' ');
            (printable && trimmed && !value.is_empty())
                .then(|| value.to_owned())
                .ok_or(Malformed::NotAValue)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_decode_from_the_base64_form_only_with_exact_markers() {
        assert_eq!(name("read_messages").unwrap(), "read_messages");
        assert_eq!(name("file:///a b.txt").unwrap(), "file:///a b.txt");
        // The spec's own example: a literal that looks like the markers.
        assert_eq!(name("=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=").unwrap(), "=?base64?literal?=");
        assert_eq!(name("=?base64?5pel5pys6Kqe?=").unwrap(), "日本語");
        // Markers are case-sensitive: this is a plain (odd) name.
        assert_eq!(name("=?BASE64?cmVhZA==?=").unwrap(), "=?BASE64?cmVhZA==?=");
        for bad in ["=?base64?!!?=", "=?base64?/w==?=", "=?base64?cmVhZA?="] {
            assert_eq!(name(bad), Err(Malformed::BadBase64), "{bad}");
        }
        for bad in ["", " lead", "trail ", "tab\there", "é"] {
            assert_eq!(name(bad), Err(Malformed::NotAValue), "{bad:?}");
        }
    }

    #[test]
    fn a_header_in_two_field_lines_is_malformed() {
        assert_eq!(single(["a"].into_iter()), Ok(Some("a")));
        assert_eq!(single([].into_iter()), Ok(None));
        assert_eq!(single(["a", "a"].into_iter()), Err(Malformed::Repeated));
        assert_eq!(method("tools/call"), Ok("tools/call"));
        assert_eq!(method("tools call"), Err(Malformed::NotAValue));
        assert_eq!(method(""), Err(Malformed::NotAValue));
    }
}
