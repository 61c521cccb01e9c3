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

use std::sync::Arc;

use aws_lc_rs::digest::{self, SHA256};
use quick_cache::sync::Cache;
use serde_json::Value;

use crate::algorithms::{AlgSet, Algorithm};
use crate::jwk::{parse_jwk, VerifyingKey};

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
    ) -> Result<Arc<VerifyingKey>, String> {
        let mut id = [0; 32];
        id.copy_from_slice(digest::digest(&SHA256, header).as_ref());
        if let Some(key) = self.parsed.get(&id) {
            return Ok(key);
        }
        let key = Arc::new(parse_jwk(jwk, AlgSet::of(&[alg]))?);
        self.parsed.insert(id, key.clone());
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use serde_json::json;

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
