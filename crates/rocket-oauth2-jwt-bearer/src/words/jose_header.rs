//! [`JoseHeader`]: a verified token's JOSE header, for handlers (the
//! Express library's `req.auth.header`). The verifier reads only what it
//! acts on (see `token.rs`); this is the whole header, decoded on demand.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A token's JOSE header (RFC 7515 §4): `alg`, `kid` and `typ` typed, and
/// every member as sent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct JoseHeader {
    /// `alg`: the algorithm the token was signed with, e.g. `RS256`.
    pub alg: String,
    /// `kid`: the key's ID in the issuer's key set, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// `typ`, when sent (`at+jwt` for RFC 9068 access tokens).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// Every other member, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl JoseHeader {
    /// The header of the compact JWS `token`; `None` if it has none that
    /// decodes (never the case for a verified token).
    pub(crate) fn of(token: &str) -> Option<JoseHeader> {
        let (header, _) = token.split_once('.')?;
        let json = URL_SAFE_NO_PAD.decode(header).ok()?;
        serde_json::from_slice(&json).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_typed_members_and_keeps_the_rest() {
        let json = r#"{"alg":"RS256","kid":"k1","typ":"at+jwt","x-tenant":"a"}"#;
        let token = format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(json));
        let header = JoseHeader::of(&token).expect("decodes");
        assert_eq!(header.alg, "RS256");
        assert_eq!(header.kid.as_deref(), Some("k1"));
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        assert_eq!(header.other.get("x-tenant"), Some(&Value::from("a")));
        assert_eq!(
            serde_json::to_value(&header).unwrap(),
            serde_json::from_str::<Value>(json).unwrap()
        );
    }

    #[test]
    fn a_token_without_a_header_object_has_none() {
        assert_eq!(JoseHeader::of("nodots"), None);
        assert_eq!(JoseHeader::of("!!!.e30.sig"), None);
        assert_eq!(JoseHeader::of(&format!("{}.e30.s", URL_SAFE_NO_PAD.encode("[1]"))), None);
    }
}
