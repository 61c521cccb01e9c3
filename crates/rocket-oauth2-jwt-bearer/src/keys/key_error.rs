//! [`KeyError`]: why one key (a published JWK, a configured `public_key` or
//! `secret`, a DPoP proof's `jwk`) can't verify tokens.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::error::KeyRejected;

use crate::words::algorithms::{self, Algorithm};

/// Why a key was refused. In a key set the key is skipped with this reason;
/// as a configured key it stops launch ([`LaunchError::Key`]).
///
/// [`LaunchError::Key`]: crate::LaunchError::Key
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeyError {
    /// A member the key type needs (`n`, `e`, `x`, `y`) is missing or not
    /// a string.
    Missing(&'static str),
    /// A member is not base64url without padding.
    NotBase64url(&'static str),
    /// `use` is present and not `"sig"`: the JSON value found.
    NotForSignatures(String),
    /// `key_ops` is present and lacks `"verify"`.
    NotForVerifying,
    /// A symmetric (`oct`) key in a key set: never used, since anyone who
    /// can read the set could mint tokens.
    Symmetric,
    /// A `kty` this crate doesn't verify with.
    UnsupportedKeyType(Option<String>),
    /// A `crv` this crate doesn't verify with.
    UnsupportedCurve(Option<String>),
    /// EC coordinates of the wrong length for the curve.
    CoordinatesDontFitCurve,
    /// The JWK's `alg` (the JSON value found) doesn't fit its key type.
    AlgDoesntFitKey(String),
    /// An algorithm the key was to verify doesn't fit it.
    AlgorithmDoesntFit(Algorithm),
    /// None of the key's algorithms is among the configured `algorithms`.
    NoAllowedAlgorithm,
    /// An RSA modulus shorter than `min` bits.
    RsaModulusTooShort {
        /// Its size.
        bits: usize,
        /// The least allowed.
        min: usize,
    },
    /// An RSA modulus longer than `max` bits.
    RsaModulusTooLong {
        /// Its size.
        bits: usize,
        /// The most allowed.
        max: usize,
    },
    /// An even RSA modulus (not a product of two odd primes).
    RsaModulusEven,
    /// An RSA exponent of 0 or 1.
    RsaExponentTrivial,
    /// An even RSA exponent.
    RsaExponentEven,
    /// An RSA exponent longer than `max` bits.
    RsaExponentTooLong {
        /// Its size.
        bits: usize,
        /// The most allowed.
        max: usize,
    },
    /// A DPoP proof's RSA key with an exponent other than 65537.
    RsaExponentNot65537,
    /// An Ed25519 key that isn't 32 bytes: its length.
    Ed25519Length(usize),
    /// An Ed25519 key that is not a curve point.
    Ed25519NotOnCurve,
    /// An Ed25519 point encoded non-canonically.
    Ed25519NotCanonical,
    /// An Ed25519 point of small order.
    Ed25519SmallOrder,
    /// An Ed25519 point outside the prime-order subgroup.
    Ed25519MixedOrder,
    /// A DER key given for EdDSA that is not an Ed25519
    /// SubjectPublicKeyInfo.
    NotEd25519Spki,
    /// The cryptographic library refused the material.
    Rejected(KeyRejected),
    /// A configured `public_key` that starts like PEM but isn't.
    NotPem(Arc<pem::PemError>),
    /// A PEM block that is not a public key: its label.
    NotPublicKeyPem(String),
    /// A PEM `public_key` without `token_signing_alg` to say its algorithm.
    PemNeedsAlgorithm,
    /// A configured `public_key` that is neither PEM nor JSON.
    NeitherPemNorJson(Arc<serde_json::Error>),
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyError::Missing(name) => write!(f, "no `{name}`"),
            KeyError::NotBase64url(name) => write!(f, "`{name}` is not base64url"),
            KeyError::NotForSignatures(usage) => write!(f, "`use` is {usage}, not \"sig\""),
            KeyError::NotForVerifying => f.write_str("`key_ops` doesn't include \"verify\""),
            KeyError::Symmetric => {
                f.write_str("symmetric (`oct`) keys are never used from a key set")
            }
            KeyError::UnsupportedKeyType(kty) => write!(f, "unsupported `kty` {kty:?}"),
            KeyError::UnsupportedCurve(crv) => write!(f, "unsupported curve {crv:?}"),
            KeyError::CoordinatesDontFitCurve => {
                f.write_str("EC coordinates don't match the curve")
            }
            KeyError::AlgDoesntFitKey(alg) => write!(f, "`alg` {alg} doesn't fit the key"),
            KeyError::AlgorithmDoesntFit(alg) => {
                write!(f, "{} doesn't fit this key", algorithms::name_of(*alg))
            }
            KeyError::NoAllowedAlgorithm => {
                f.write_str("its algorithms are not among the configured `algorithms`")
            }
            KeyError::RsaModulusTooShort { bits, min } => {
                write!(f, "RSA modulus of {bits} bits is under {min}")
            }
            KeyError::RsaModulusTooLong { bits, max } => {
                write!(f, "RSA modulus of {bits} bits is over {max}")
            }
            KeyError::RsaModulusEven => f.write_str("RSA modulus is even"),
            KeyError::RsaExponentTrivial => f.write_str("RSA exponent is 0 or 1"),
            KeyError::RsaExponentEven => f.write_str("RSA exponent is even"),
            KeyError::RsaExponentTooLong { bits, max } => {
                write!(f, "RSA exponent of {bits} bits is over {max}")
            }
            KeyError::RsaExponentNot65537 => {
                f.write_str("an RSA proof key's exponent must be 65537")
            }
            KeyError::Ed25519Length(len) => write!(f, "Ed25519 key is {len} bytes, not 32"),
            KeyError::Ed25519NotOnCurve => f.write_str("Ed25519 key is not a curve point"),
            KeyError::Ed25519NotCanonical => f.write_str("Ed25519 key is not canonically encoded"),
            KeyError::Ed25519SmallOrder => f.write_str("Ed25519 key is a small-order point"),
            KeyError::Ed25519MixedOrder => {
                f.write_str("Ed25519 key is not in the prime-order subgroup")
            }
            KeyError::NotEd25519Spki => f.write_str("not an Ed25519 SubjectPublicKeyInfo"),
            KeyError::Rejected(e) => write!(f, "invalid key material: {e}"),
            KeyError::NotPem(e) => write!(f, "not a PEM block ({e})"),
            KeyError::NotPublicKeyPem(label) => write!(f, "a PEM `{label}` is not a public key"),
            KeyError::PemNeedsAlgorithm => {
                f.write_str("a PEM key needs token_signing_alg (TOKEN_SIGNING_ALG), e.g. RS256")
            }
            KeyError::NeitherPemNorJson(e) => write!(f, "neither a PEM key nor JSON ({e})"),
        }
    }
}

impl std::error::Error for KeyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            KeyError::Rejected(e) => Some(e),
            KeyError::NotPem(e) => Some(&**e),
            KeyError::NeitherPemNorJson(e) => Some(&**e),
            _ => None,
        }
    }
}
