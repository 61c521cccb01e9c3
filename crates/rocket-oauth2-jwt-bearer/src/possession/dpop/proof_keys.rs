//! Proof keys already parsed and checked, so a client that signs every
//! proof with the same key (as clients do) doesn't pay for parsing it on
//! every request: an RSA key's checks and aws-lc-rs parse, an EC point's
//! validation, an Ed25519 point's prime-order check (about 40 µs).
//!
//! Keyed by a hash of the proof's whole JOSE header as sent (its `alg`,
//! its `jwk` and every other member, byte for byte): the same bytes parse
//! to the same `jwk` and `alg`, so a hit can't differ from a miss, and
//! nothing is serialized again to look one up. Only keys that passed are
//! kept; the signature is still checked on every proof.
//!
//! A proof key is the client's choice, and so is what it costs to verify:
//! on top of the checks every key passes, an RSA proof key must have a
//! modulus of at most 4096 bits and the exponent 65537, as WebCrypto,
//! OpenSSL and every mainstream DPoP client generate them (an RSA-8192
//! key with a 33-bit exponent costs some 30 ES256 checks).

use std::sync::Arc;

use aws_lc_rs::digest::{self, SHA256};
use quick_cache::sync::Cache;
use serde_json::Value;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::keys::jwk::{VerifyingKey, parse_jwk};
use crate::keys::key_error::KeyError;
use crate::words::algorithms::{AlgSet, Algorithm, AlgorithmFamily};

/// Keys held: enough for every client of a busy API to hit.
const CAPACITY: usize = 4096;

/// Parsed proof keys, by `jwk` and `alg`.
pub struct ProofKeys {
    parsed: Cache<[u8; 32], Arc<VerifyingKey>>,
}

impl std::fmt::Debug for ProofKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofKeys").field("held", &self.parsed.len()).finish()
    }
}

impl Default for ProofKeys {
    fn default() -> Self {
        ProofKeys { parsed: Cache::new(CAPACITY) }
    }
}

impl ProofKeys {
    /// The verifying key for `jwk` under `alg`, both parsed from the JOSE
    /// header `header` (its JSON bytes), parsed and checked once.
    pub(crate) fn get(
        &self,
        header: &[u8],
        jwk: &Value,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, KeyError> {
        let mut id = [0; 32];
        id.copy_from_slice(digest::digest(&SHA256, header).as_ref());
        if let Some(key) = self.parsed.get(&id) {
            return Ok(key);
        }
        if alg.family() == AlgorithmFamily::Rsa {
            check_rsa_cost(jwk)?;
        }
        let key = Arc::new(parse_jwk(jwk, AlgSet::of(&[alg]))?);
        self.parsed.insert(id, key.clone());
        Ok(key)
    }
}

/// The largest RSA proof key modulus, in bits.
const MAX_RSA_BITS: usize = 4096;

/// Refuses RSA proof keys dearer to verify than mainstream clients make.
fn check_rsa_cost(jwk: &Value) -> Result<(), KeyError> {
    let member = |name: &str| jwk.get(name).and_then(Value::as_str).unwrap_or_default();
    // 65537, base64url; leading zero octets are refused here (none needed).
    if member("e") != "AQAB" {
        return Err(KeyError::RsaExponentNot65537);
    }
    let modulus = URL_SAFE_NO_PAD.decode(member("n")).map_err(|_| KeyError::NotBase64url("n"))?;
    let significant = modulus.iter().skip_while(|b| **b == 0).count();
    if significant * 8 > MAX_RSA_BITS {
        return Err(KeyError::RsaModulusTooLong { bits: significant * 8, max: MAX_RSA_BITS });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use serde_json::json;

    #[test]
    fn rsa_proof_keys_are_bounded_to_what_clients_make() {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let modulus = |bits: usize| {
            let mut n = vec![0xC5; bits / 8];
            n[bits / 8 - 1] |= 1;
            n
        };
        let jwk = |n: &[u8], e: &str| json!({"kty": "RSA", "n": b64(n), "e": e});
        assert!(check_rsa_cost(&jwk(&modulus(4096), "AQAB")).is_ok());
        assert!(check_rsa_cost(&jwk(&[&[0][..], &modulus(4096)].concat(), "AQAB")).is_ok());
        let long = check_rsa_cost(&jwk(&modulus(4104), "AQAB"));
        assert!(matches!(long, Err(KeyError::RsaModulusTooLong { bits: 4104, max: 4096 })));
        assert!(check_rsa_cost(&jwk(&modulus(8192), "AQAB")).is_err());
        for e in ["Aw", "AQAA", "AAEAAQ", "_____w", ""] {
            let exponent = check_rsa_cost(&jwk(&modulus(2048), e));
            assert!(matches!(exponent, Err(KeyError::RsaExponentNot65537)), "{e}");
        }
    }

    #[test]
    fn a_key_is_parsed_once_and_any_other_member_makes_another_key() {
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let point = pair.public_key().as_ref();
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let jwk =
            json!({"kty": "EC", "crv": "P-256", "x": b64(&point[1..33]), "y": b64(&point[33..])});
        let keys = ProofKeys::default();

        let header = |jwk: &Value, alg: &str| json!({"alg": alg, "jwk": jwk}).to_string();
        let get =
            |jwk: &Value, alg: Algorithm| keys.get(header(jwk, alg.name()).as_bytes(), jwk, alg);

        let first = get(&jwk, Algorithm::ES256).unwrap();
        assert!(Arc::ptr_eq(&first, &get(&jwk, Algorithm::ES256).unwrap()));
        // The same material with a member that forbids signing is refused,
        // cached key or not; so is another algorithm for it.
        let mut encrypting = jwk.clone();
        encrypting["use"] = json!("enc");
        assert!(get(&encrypting, Algorithm::ES256).is_err());
        assert!(get(&jwk, Algorithm::ES384).is_err());
        assert!(get(&jwk, Algorithm::EdDSA).is_err());
    }
}
