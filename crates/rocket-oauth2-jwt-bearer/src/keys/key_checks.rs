//! Refusing degenerate public keys when they are loaded, not when a token
//! fails (or, worse, passes) against them.
//!
//! A backend that merely parses a key may still accept it:
//!
//! - **Ed25519**: aws-lc-rs verifies against any 32 bytes that decode to a
//!   curve point. For the identity or another small-order point `A`, the
//!   forged signature `R = identity, S = 0` satisfies the verification
//!   equation for every message, so a key set serving such an `x` lets
//!   anyone mint tokens with any claims. Only the canonical encoding of a
//!   point in the prime-order subgroup (and not the identity) is a key.
//! - **RSA**: a public key is only parsed when a signature is checked; a
//!   key with `e = 1`, an even `e` or modulus, an exponent over 33 bits or
//!   a modulus over 8192 bits loads fine and then verifies nothing. These
//!   mirror the checks aws-lc applies at verify time, plus RFC 8725's
//!   2048-bit floor, so such a key is skipped with its reason instead of
//!   counting as usable.
//!
//! RSA integers are accepted with leading zero octets (as jose and the
//! Express library accept them) and normalised before use.

use curve25519_dalek::edwards::CompressedEdwardsY;
use curve25519_dalek::traits::IsIdentity;

use crate::keys::key_error::KeyError;

/// The smallest RSA modulus accepted, in bits (RFC 7518 §3.3, RFC 8725).
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// The largest RSA modulus the verifier handles, in bits (aws-lc-rs's
/// `RSA_*_2048_8192_*` parameters).
pub(crate) const MAX_RSA_BITS: usize = 8192;

/// The longest public exponent aws-lc verifies with, in bits (its DoS
/// limit; real keys use 65537, 17 bits).
const MAX_RSA_EXPONENT_BITS: usize = 33;

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4), after
/// which the 32-byte key follows.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// `bytes` as a big-endian unsigned integer without leading zero octets.
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// The number of significant bits of a big-endian integer without leading
/// zero octets.
fn bit_length(int: &[u8]) -> usize {
    match int.first() {
        None => 0,
        Some(top) => int.len() * 8 - top.leading_zeros() as usize,
    }
}

/// Checks an RSA public key's modulus `n` and exponent `e` (big-endian,
/// leading zeros allowed) and returns them normalised.
pub(crate) fn rsa_components<'a>(
    n: &'a [u8],
    e: &'a [u8],
) -> Result<(&'a [u8], &'a [u8]), KeyError> {
    let (n, e) = (strip_leading_zeros(n), strip_leading_zeros(e));
    let bits = bit_length(n);
    if bits < MIN_RSA_BITS {
        return Err(KeyError::RsaModulusTooShort { bits, min: MIN_RSA_BITS });
    }
    if bits > MAX_RSA_BITS {
        return Err(KeyError::RsaModulusTooLong { bits, max: MAX_RSA_BITS });
    }
    if n.last().is_some_and(|low| low & 1 == 0) {
        return Err(KeyError::RsaModulusEven);
    }
    let e_bits = bit_length(e);
    if e_bits < 2 {
        return Err(KeyError::RsaExponentTrivial);
    }
    if e.last().is_some_and(|low| low & 1 == 0) {
        return Err(KeyError::RsaExponentEven);
    }
    if e_bits > MAX_RSA_EXPONENT_BITS {
        return Err(KeyError::RsaExponentTooLong { bits: e_bits, max: MAX_RSA_EXPONENT_BITS });
    }
    Ok((n, e))
}

/// Checks that `x` is the canonical encoding of an Ed25519 point of large
/// prime order (RFC 8032 §5.1.3, plus the subgroup check RFC 8032 leaves
/// optional).
pub(crate) fn ed25519_point(x: &[u8]) -> Result<(), KeyError> {
    let bytes: [u8; 32] = x.try_into().map_err(|_| KeyError::Ed25519Length(x.len()))?;
    let encoded = CompressedEdwardsY(bytes);
    let point = encoded.decompress().ok_or(KeyError::Ed25519NotOnCurve)?;
    // Decompression reduces y modulo p and ignores the sign of x = 0:
    // only the encoding the point compresses back to is canonical.
    if point.compress() != encoded {
        return Err(KeyError::Ed25519NotCanonical);
    }
    if point.is_identity() || point.is_small_order() {
        return Err(KeyError::Ed25519SmallOrder);
    }
    if !point.is_torsion_free() {
        return Err(KeyError::Ed25519MixedOrder);
    }
    Ok(())
}

/// The 32-byte key of an Ed25519 SubjectPublicKeyInfo, if `der` is one.
pub(crate) fn ed25519_spki_key(der: &[u8]) -> Option<&[u8]> {
    der.strip_prefix(&ED25519_SPKI_PREFIX[..]).filter(|key| key.len() == 32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};

    #[test]
    fn every_small_order_and_mixed_order_point_is_refused() {
        for torsion in EIGHT_TORSION {
            let small = torsion.compress().to_bytes();
            assert!(ed25519_point(&small).is_err(), "{small:?}");
            let mixed = (ED25519_BASEPOINT_POINT + torsion).compress().to_bytes();
            let result = ed25519_point(&mixed);
            assert_eq!(result.is_ok(), torsion.is_identity(), "{mixed:?}: {result:?}");
        }
    }

    #[test]
    fn non_canonical_and_undecodable_encodings_are_refused() {
        // y = p (≡ 0) and y = p + 1 (≡ 1, the identity): y ≥ p.
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(ed25519_point(&p).is_err());
        let mut p_plus_one = p;
        p_plus_one[0] = 0xee;
        assert!(ed25519_point(&p_plus_one).is_err());
        // The identity with the sign bit of x set ("negative zero").
        let mut negative_identity = [0u8; 32];
        negative_identity[0] = 1;
        negative_identity[31] = 0x80;
        assert!(ed25519_point(&negative_identity).is_err());
        // y = 2 is not on the curve.
        let mut two = [0u8; 32];
        two[0] = 2;
        assert!(matches!(ed25519_point(&two), Err(KeyError::Ed25519NotOnCurve)));
        assert!(ed25519_point(&[0u8; 31]).is_err());
        assert!(ed25519_point(&ED25519_BASEPOINT_POINT.compress().to_bytes()).is_ok());
    }

    #[test]
    fn rsa_parameters_mirror_the_backend_limits() {
        let mut n = vec![0xc5u8; 256];
        n[0] = 0xff;
        let ok = rsa_components(&n, &[1, 0, 1]).unwrap();
        assert_eq!(ok.0.len(), 256);

        let padded = [&[0u8, 0][..], &n].concat();
        assert_eq!(rsa_components(&padded, &[0, 1, 0, 1]).unwrap(), (&n[..], &[1u8, 0, 1][..]));

        for e in [&[1u8][..], &[0], &[]] {
            assert!(matches!(rsa_components(&n, e), Err(KeyError::RsaExponentTrivial)), "{e:?}");
        }
        assert!(matches!(rsa_components(&n, &[1, 0, 0]), Err(KeyError::RsaExponentEven)));
        let long = rsa_components(&n, &[3, 0, 0, 0, 1]);
        assert!(matches!(long, Err(KeyError::RsaExponentTooLong { bits: 34, max: 33 })));
        assert!(rsa_components(&n, &[1, 0, 0, 0, 1]).is_ok(), "33 bits is the limit");

        let mut even = n.clone();
        even[255] = 0xc4;
        assert!(matches!(rsa_components(&even, &[3]), Err(KeyError::RsaModulusEven)));
        let short = rsa_components(&n[1..], &[3]);
        assert!(matches!(short, Err(KeyError::RsaModulusTooShort { bits: 2040, min: 2048 })));
        let huge = vec![0xffu8; 1025];
        let huge = rsa_components(&huge, &[3]);
        assert!(matches!(huge, Err(KeyError::RsaModulusTooLong { bits: 8200, max: 8192 })));
        assert!(rsa_components(&vec![0xffu8; 1024], &[3]).is_ok());
    }
}
