//! Checking one DPoP proof JWT (RFC 9449 §4.3) against the request it came
//! with and the access token it accompanies.
//!
//! In this order, so that junk never reaches the crypto: size, three strict
//! base64url segments, a header that is a JSON object with `typ`
//! `dpop+jwt`, an allowed asymmetric `alg`, no `crit`, and a `jwk` that is
//! a public key only (no `d`, `p`, `q`, `dp`, `dq`, `qi`, `oth`, `k`) and
//! passes the checks a key-set key passes (RSA of 2048 bits or more, an EC
//! point on its curve, an Ed25519 point of prime order); then the signature
//! under that `jwk`; then the claims, exactly: `jti` a short string, `htm`
//! the method, `htu` the target URI (both normalised), `iat` inside the
//! window, `ath` the hash of the access token. What is left — the key's
//! thumbprint against the token's `cnf.jkt`, the nonce, the replay check —
//! needs the verified token or shared state, and is done by the caller.

use aws_lc_rs::constant_time;
use aws_lc_rs::digest::{self, SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};
use serde_json::{Map, Value};

use super::proof_keys::ProofKeys;
use super::replay_cache::ProofId;
use crate::words::algorithms::{self, AlgSet, Algorithm};
use crate::words::error::{Claim, ProofError};

/// The longest proof accepted, in bytes: an RSA-8192 `jwk` and signature
/// with room to spare. Checked before anything is decoded.
pub(crate) const MAX_PROOF_SIZE: usize = 8 * 1024;

/// The longest `jti` accepted, in bytes: replay entries are keyed by its
/// hash, but a client has no reason to send more than a UUID's worth.
pub(crate) const MAX_JTI_SIZE: usize = 256;

/// JWK members that hold private key material (RFC 7518 §6.2.2, §6.3.2,
/// §6.4): a proof carrying any of them leaked its key.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// What a proof is checked against.
#[derive(Debug, Clone, Copy)]
pub struct ProofRules<'a> {
    /// Algorithms a proof may be signed with (asymmetric only).
    pub algorithms: AlgSet,
    /// The request method, as sent (`GET`).
    pub method: &'a str,
    /// The request's normalised target URI.
    pub target: &'a str,
    /// The access token the request presents; `None` for a token request
    /// to an authorization server, whose proof has no `ath`.
    pub access_token: Option<&'a str>,
    /// Now, in seconds since the epoch.
    pub now: f64,
    /// Oldest accepted `iat`, in seconds before now.
    pub iat_offset: f64,
    /// Latest accepted `iat`, in seconds after now.
    pub iat_leeway: f64,
    /// Proof keys parsed before.
    pub keys: &'a ProofKeys,
}

/// A proof that passed every check this module makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 SHA-256 thumbprint of its `jwk`, base64url.
    pub jkt: String,
    /// What replay detection knows it by: its key's id, a hash of the
    /// thumbprint and the `jti` (so no store holds raw client input), and
    /// its `iat` in whole seconds.
    pub id: ProofId,
    /// Its `nonce`, if any.
    pub nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value, `null` included: `crit` only has to be there.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

/// The claims a proof must carry; others are ignored. `Value`s, so that a
/// wrong type is reported for its claim rather than as a malformed proof.
#[derive(Deserialize)]
struct Claims {
    #[serde(default)]
    jti: Option<Value>,
    #[serde(default)]
    htm: Option<Value>,
    #[serde(default)]
    htu: Option<Value>,
    #[serde(default)]
    iat: Option<Value>,
    #[serde(default)]
    ath: Option<Value>,
    #[serde(default)]
    nonce: Option<Value>,
}

fn text(value: Option<Value>, claim: Claim) -> Result<String, ProofError> {
    match value {
        None => Err(ProofError::MissingClaim(claim)),
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ProofError::InvalidClaim(claim)),
    }
}

/// Decodes one strict base64url segment (no padding, no stray bits).
fn segment(part: &str) -> Result<Vec<u8>, ProofError> {
    let alphabet = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if part.is_empty() || !part.bytes().all(alphabet) {
        return Err(ProofError::Malformed);
    }
    URL_SAFE_NO_PAD.decode(part).map_err(|_| ProofError::Malformed)
}

/// A JSON object, not an array a derived `Deserialize` would also take.
fn object<'de, T: Deserialize<'de>>(json: &'de [u8]) -> Result<T, ProofError> {
    if json.trim_ascii_start().first() != Some(&b'{') {
        return Err(ProofError::Malformed);
    }
    serde_json::from_slice(json).map_err(|_| ProofError::Malformed)
}

/// A proof whose form passed: what can be checked without a key or a
/// signature. Costs a base64 decode and a JSON parse of the header, so that
/// a request can be turned away before anything costly when its access
/// token doesn't hold.
#[derive(Debug)]
pub(crate) struct ParsedProof<'p> {
    /// The signed part: `header.payload`, as sent.
    signed: &'p str,
    header_json: Vec<u8>,
    payload: Vec<u8>,
    signature: Vec<u8>,
    alg: Algorithm,
    jwk: Value,
}

/// Checks the form of `proof` under `algorithms`: size, three strict
/// base64url segments, a header that is a JSON object with `typ`
/// `dpop+jwt`, an allowed `alg`, no `crit`, a `jwk` with no private member.
pub(crate) fn parse(proof: &str, algorithms: AlgSet) -> Result<ParsedProof<'_>, ProofError> {
    if proof.len() > MAX_PROOF_SIZE {
        return Err(ProofError::TooLarge);
    }
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ProofError::Malformed);
    };
    let header_json = segment(header_b64)?;
    let header: Header = object(&header_json)?;
    let payload = segment(payload_b64)?;
    let signature = segment(signature_b64)?;

    // A media type (RFC 7515 §4.1.9): any case, `application/` optional.
    let typ = header.typ.as_deref().map(|typ| {
        let prefix = typ.get(..12).filter(|p| p.eq_ignore_ascii_case("application/"));
        &typ[prefix.map_or(0, str::len)..]
    });
    if !typ.is_some_and(|typ| typ.eq_ignore_ascii_case("dpop+jwt")) {
        return Err(ProofError::Type);
    }
    let alg = header
        .alg
        .as_deref()
        .and_then(algorithms::parse)
        .filter(|alg| algorithms.contains(*alg))
        .ok_or(ProofError::AlgorithmNotAllowed)?;
    if header.crit {
        return Err(ProofError::CriticalHeader);
    }
    let jwk = header.jwk.ok_or(ProofError::InvalidKey)?;
    if PRIVATE_MEMBERS.iter().any(|member| jwk.contains_key(*member)) {
        return Err(ProofError::PrivateKey);
    }
    let signed = &proof[..header_b64.len() + 1 + payload_b64.len()];
    Ok(ParsedProof { signed, header_json, payload, signature, alg, jwk: Value::Object(jwk) })
}

/// Checks `proof` under `rules` (see the module docs): its form, then its
/// key, signature and claims.
pub fn verify(proof: &str, rules: &ProofRules<'_>) -> Result<Proof, ProofError> {
    parse(proof, rules.algorithms)?.verify(rules)
}

impl ParsedProof<'_> {
    /// The rest of the checks: the key, the signature, then the claims.
    pub(crate) fn verify(self, rules: &ProofRules<'_>) -> Result<Proof, ProofError> {
        let ParsedProof { signed, header_json, payload, signature, alg, jwk } = self;
        let key = rules.keys.get(&header_json, &jwk, alg).map_err(|_| ProofError::InvalidKey)?;
        if !key.verify(alg, signed.as_bytes(), &signature) {
            return Err(ProofError::Signature);
        }

        let claims: Claims = object(&payload).map_err(|_| ProofError::MalformedClaims)?;
        let jti = text(claims.jti, Claim::Jti)?;
        if jti.is_empty() || jti.len() > MAX_JTI_SIZE {
            return Err(ProofError::JtiLength);
        }
        if text(claims.htm, Claim::Htm)? != rules.method {
            return Err(ProofError::Method);
        }
        let htu = text(claims.htu, Claim::Htu)?;
        if super::target_uri::normalize(&htu).as_deref() != Some(rules.target) {
            return Err(ProofError::Target);
        }
        let iat = match claims.iat {
            None => return Err(ProofError::MissingClaim(Claim::Iat)),
            Some(iat) => iat.as_f64().ok_or(ProofError::InvalidClaim(Claim::Iat))?,
        };
        if iat < rules.now - rules.iat_offset {
            return Err(ProofError::Stale);
        }
        if iat > rules.now + rules.iat_leeway {
            return Err(ProofError::Future);
        }
        if let Some(access_token) = rules.access_token {
            let ath = text(claims.ath, Claim::Ath)?;
            let expected = URL_SAFE_NO_PAD.encode(digest(&SHA256, access_token.as_bytes()));
            if constant_time::verify_slices_are_equal(ath.as_bytes(), expected.as_bytes()).is_err()
            {
                return Err(ProofError::AccessTokenHash);
            }
        }
        // Only a string can be a nonce this server issued. Anything else is
        // as good as none: ignored while nonces are off (whatever its type,
        // as an empty string always was), a fresh nonce asked for when on.
        let nonce = match claims.nonce {
            Some(Value::String(nonce)) => Some(nonce),
            _ => None,
        };

        let thumbprint = thumbprint(&jwk, alg);
        let mut key_id = [0; 8];
        key_id.copy_from_slice(&thumbprint.as_ref()[..8]);
        let jkt = URL_SAFE_NO_PAD.encode(thumbprint);
        let mut context = digest::Context::new(&SHA256);
        for part in [b"dpop-replay\0".as_slice(), jkt.as_bytes(), b"\0", jti.as_bytes()] {
            context.update(part);
        }
        let mut replay_key = [0; 16];
        replay_key.copy_from_slice(&context.finish().as_ref()[..16]);
        let iat = iat.floor() as i64;
        let id = ProofId {
            key: u64::from_be_bytes(key_id),
            proof: u128::from_be_bytes(replay_key),
            iat,
        };
        Ok(Proof { jkt, id, nonce })
    }
}

/// The RFC 7638 SHA-256 thumbprint of a JWK that [`parse_jwk`] accepted
/// for `alg`: the required members only, in lexicographic order, without
/// whitespace. Their values were checked to be base64url (or a known
/// curve name), so they need no JSON escaping. The SHA-256 digest.
fn thumbprint(jwk: &Value, alg: Algorithm) -> digest::Digest {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    let canonical = match alg {
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 | Algorithm::ES256K => format!(
            r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
            member("crv"),
            member("x"),
            member("y")
        ),
        Algorithm::EdDSA | Algorithm::Ed25519 => {
            format!(r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#, member("crv"), member("x"))
        }
        _ => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, member("e"), member("n")),
    };
    digest(&SHA256, canonical.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn thumbprints_match_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhD\
                  R1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4\
                  QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpb\
                  ISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-\
                  kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            URL_SAFE_NO_PAD.encode(thumbprint(&jwk, Algorithm::RS256)),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn segments_are_strict_base64url() {
        assert_eq!(segment("e30"), Ok(b"{}".to_vec()));
        for bad in ["", "e30=", "e3+", "e3/", "e31", " e30"] {
            assert_eq!(segment(bad), Err(ProofError::Malformed), "{bad:?}");
        }
    }
}
