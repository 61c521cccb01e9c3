//! One JSON Web Key (or configured key) → a key that verifies signatures,
//! parsed once.
//!
//! Keys are parsed into aws-lc-rs `ParsedPublicKey`s at fetch time, one per
//! algorithm the key may verify, so a request pays only for the signature
//! check. (`jsonwebtoken::crypto::verify` rebuilds the backend key on every
//! call: about 2.8 µs of an RS256 verification's 16.6 µs; see
//! `benches/verify.rs`.) Parsing also validates the material up front: an
//! EC point off its curve is skipped at load, not failed per request.
//!
//! A JWK is refused, with the reason, unless it can safely verify tokens:
//! `use` must be `sig` and `key_ops` include `verify` when present; symmetric
//! (`oct`) keys, unknown `kty`s and curves are never used; an `alg` must fit
//! the key; and the material itself must pass [`key_checks`] (RSA sizes and
//! exponents, Ed25519 points of prime order). jsonwebtoken's
//! `DecodingKey::from_jwk` checks none of these.

use std::sync::Arc;

use aws_lc_rs::signature::{self as backend, ParsedPublicKey, RsaPublicKeyComponents};
use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::keys::key_checks;
use crate::keys::key_error::KeyError;
use crate::words::algorithms::{self, AlgSet, Algorithm, AlgorithmFamily};

/// Identifies a key by its `kid` and public material, stable across
/// refreshes: the token cache drops what a key verified once it is gone.
pub(crate) type Fingerprint = [u8; 16];

/// Public key material. (Internal: its fields need no docs.)
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub enum PublicKey<'a> {
    /// Big-endian modulus and exponent.
    Rsa { n: &'a [u8], e: &'a [u8] },
    /// An uncompressed P-256, P-384, P-521 or secp256k1 point (`04 || x || y`).
    Ec { point: &'a [u8] },
    /// A 32-byte Ed25519 public key.
    Ed25519 { x: &'a [u8] },
    /// A DER public key (SubjectPublicKeyInfo, or PKCS#1 for RSA), as in a
    /// PEM file.
    Der { der: &'a [u8] },
    /// A shared secret for HS256/384/512.
    Secret { secret: &'a [u8] },
}

/// What checks one algorithm's signatures.
enum Backend {
    Public(ParsedPublicKey),
    // Boxed: an HMAC key holds hash state for both pads (hundreds of bytes).
    Hmac(Box<hmac::Key>),
}

/// One key that can verify tokens, for a fixed set of algorithms.
pub struct VerifyingKey {
    kid: Option<String>,
    algorithms: AlgSet,
    verifiers: Vec<(Algorithm, Backend)>,
    fingerprint: Fingerprint,
}

/// The aws-lc-rs verification algorithm for a JWS `alg`, if there is one.
fn rsa_params(alg: Algorithm) -> Option<&'static backend::RsaParameters> {
    Some(match alg {
        Algorithm::RS256 => &backend::RSA_PKCS1_2048_8192_SHA256,
        Algorithm::RS384 => &backend::RSA_PKCS1_2048_8192_SHA384,
        Algorithm::RS512 => &backend::RSA_PKCS1_2048_8192_SHA512,
        Algorithm::PS256 => &backend::RSA_PSS_2048_8192_SHA256,
        Algorithm::PS384 => &backend::RSA_PSS_2048_8192_SHA384,
        Algorithm::PS512 => &backend::RSA_PSS_2048_8192_SHA512,
        _ => return None,
    })
}

fn hmac_params(alg: Algorithm) -> Option<hmac::Algorithm> {
    Some(match alg {
        Algorithm::HS256 => hmac::HMAC_SHA256,
        Algorithm::HS384 => hmac::HMAC_SHA384,
        Algorithm::HS512 => hmac::HMAC_SHA512,
        _ => return None,
    })
}

fn other_params(alg: Algorithm) -> Option<&'static dyn backend::VerificationAlgorithm> {
    Some(match alg {
        Algorithm::ES256 => &backend::ECDSA_P256_SHA256_FIXED,
        Algorithm::ES384 => &backend::ECDSA_P384_SHA384_FIXED,
        Algorithm::ES512 => &backend::ECDSA_P521_SHA512_FIXED,
        Algorithm::ES256K => &backend::ECDSA_P256K1_SHA256_FIXED,
        Algorithm::EdDSA | Algorithm::Ed25519 => &backend::ED25519,
        _ => return None,
    })
}

/// `material` after the load-time checks of [`key_checks`]: RSA integers
/// normalised, Ed25519 points (raw or in a SubjectPublicKeyInfo) checked,
/// DER RSA keys taken apart so they get the same checks as JWK ones.
enum Checked<'a> {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Borrowed(PublicKey<'a>),
}

fn check_material(material: PublicKey<'_>, algorithms: AlgSet) -> Result<Checked<'_>, KeyError> {
    let rsa = |n: &[u8], e: &[u8]| {
        let (n, e) = key_checks::rsa_components(n, e)?;
        Ok(Checked::Rsa { n: n.to_vec(), e: e.to_vec() })
    };
    match material {
        PublicKey::Rsa { n, e } => rsa(n, e),
        PublicKey::Der { der } if algorithms.iter().any(|alg| rsa_params(alg).is_some()) => {
            let key = aws_lc_rs::rsa::PublicKey::from_der(der).map_err(KeyError::Rejected)?;
            rsa(
                key.modulus().big_endian_without_leading_zero(),
                key.exponent().big_endian_without_leading_zero(),
            )
        }
        PublicKey::Der { der }
            if !algorithms.intersect(AlgSet::family(AlgorithmFamily::Ed)).is_empty() =>
        {
            let x = key_checks::ed25519_spki_key(der).ok_or(KeyError::NotEd25519Spki)?;
            key_checks::ed25519_point(x)?;
            Ok(Checked::Borrowed(PublicKey::Ed25519 { x }))
        }
        PublicKey::Ed25519 { x } => {
            key_checks::ed25519_point(x)?;
            Ok(Checked::Borrowed(material))
        }
        PublicKey::Ec { .. } | PublicKey::Der { .. } | PublicKey::Secret { .. } => {
            // aws-lc-rs checks that an EC point is on its curve as it parses.
            Ok(Checked::Borrowed(material))
        }
    }
}

impl VerifyingKey {
    /// Checks `material` ([`key_checks`]) and parses it for each of
    /// `algorithms`; fails if it is unsafe or invalid for any of them.
    pub fn new(
        kid: Option<String>,
        material: PublicKey<'_>,
        algorithms: AlgSet,
    ) -> Result<Self, KeyError> {
        let checked = check_material(material, algorithms)?;
        let material = match &checked {
            Checked::Rsa { n, e } => PublicKey::Rsa { n, e },
            Checked::Borrowed(material) => *material,
        };
        let mut digest = digest::Context::new(&digest::SHA256);
        digest.update(kid.as_deref().unwrap_or_default().as_bytes());
        let mut verifiers = Vec::new();
        for alg in algorithms.iter() {
            let mismatch = || KeyError::AlgorithmDoesntFit(alg);
            let invalid = KeyError::Rejected;
            let backend = match material {
                PublicKey::Rsa { n, e } => {
                    let params = rsa_params(alg).ok_or_else(mismatch)?;
                    RsaPublicKeyComponents { n, e }.to_parsed_public_key(params).map_err(invalid)?
                }
                PublicKey::Ec { point: bytes }
                | PublicKey::Ed25519 { x: bytes }
                | PublicKey::Der { der: bytes } => {
                    ParsedPublicKey::new(other_params(alg).ok_or_else(mismatch)?, bytes)
                        .map_err(invalid)?
                }
                PublicKey::Secret { secret } => {
                    let params = hmac_params(alg).ok_or_else(mismatch)?;
                    verifiers.push((alg, Backend::Hmac(Box::new(hmac::Key::new(params, secret)))));
                    continue;
                }
            };
            verifiers.push((alg, Backend::Public(backend)));
        }
        match material {
            PublicKey::Rsa { n, e } => {
                [&[0u8][..], n, e].iter().for_each(|part| digest.update(part))
            }
            PublicKey::Ec { point: bytes }
            | PublicKey::Ed25519 { x: bytes }
            | PublicKey::Der { der: bytes }
            | PublicKey::Secret { secret: bytes } => digest.update(bytes),
        }

        let mut fingerprint = [0; 16];
        fingerprint.copy_from_slice(&digest.finish().as_ref()[..16]);
        Ok(VerifyingKey { kid, algorithms, verifiers, fingerprint })
    }

    /// The key's `kid`, if it has one.
    pub(crate) fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// Its identity across refreshes.
    pub(crate) fn fingerprint(&self) -> &Fingerprint {
        &self.fingerprint
    }

    /// Whether this key may verify a token signed with `alg`.
    pub(crate) fn fits(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(alg)
    }

    /// Whether `signature` is `alg`'s valid signature of `message` under
    /// this key.
    pub(crate) fn verify(&self, alg: Algorithm, message: &[u8], signature: &[u8]) -> bool {
        match self.verifiers.iter().find(|(a, _)| *a == alg) {
            Some((_, Backend::Public(key))) => key.verify_sig(message, signature).is_ok(),
            // Constant-time comparison of the tag.
            Some((_, Backend::Hmac(key))) => hmac::verify(key, message, signature).is_ok(),
            None => false,
        }
    }
}

fn b64(value: &Value, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let text = value.get(name).and_then(Value::as_str).ok_or(KeyError::Missing(name))?;
    URL_SAFE_NO_PAD.decode(text).map_err(|_| KeyError::NotBase64url(name))
}

/// Checks one JWK and turns it into a verifying key for the algorithms it
/// fits among `allowed`.
pub(crate) fn parse_jwk(jwk: &Value, allowed: AlgSet) -> Result<VerifyingKey, KeyError> {
    let field = |name: &str| jwk.get(name).and_then(Value::as_str);
    if let Some(usage) = jwk.get("use")
        && usage.as_str() != Some("sig")
    {
        return Err(KeyError::NotForSignatures(usage.to_string()));
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops.as_array().is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Err(KeyError::NotForVerifying);
        }
    }

    let (n, e, point, x);
    let (family_algs, material) = match field("kty") {
        Some("RSA") => {
            (n, e) = (b64(jwk, "n")?, b64(jwk, "e")?);
            (AlgSet::family(AlgorithmFamily::Rsa), PublicKey::Rsa { n: &n, e: &e })
        }
        Some("EC") => {
            let (alg, size) = match field("crv") {
                Some("P-256") => (Algorithm::ES256, 32),
                Some("P-384") => (Algorithm::ES384, 48),
                Some("P-521") => (Algorithm::ES512, 66),
                Some("secp256k1") => (Algorithm::ES256K, 32),
                crv => return Err(KeyError::UnsupportedCurve(crv.map(String::from))),
            };
            let (x, y) = (b64(jwk, "x")?, b64(jwk, "y")?);
            if x.len() != size || y.len() != size {
                return Err(KeyError::CoordinatesDontFitCurve);
            }
            point = [&[0x04][..], &x, &y].concat();
            (AlgSet::of(&[alg]), PublicKey::Ec { point: &point })
        }
        Some("OKP") => {
            if field("crv") != Some("Ed25519") {
                return Err(KeyError::UnsupportedCurve(field("crv").map(String::from)));
            }
            x = b64(jwk, "x")?;
            (AlgSet::family(AlgorithmFamily::Ed), PublicKey::Ed25519 { x: &x })
        }
        Some("oct") => return Err(KeyError::Symmetric),
        kty => return Err(KeyError::UnsupportedKeyType(kty.map(String::from))),
    };

    let fits = match jwk.get("alg") {
        None => family_algs,
        Some(alg) => {
            let alg = alg.as_str().and_then(algorithms::parse).filter(|a| family_algs.contains(*a));
            match alg {
                // `EdDSA` and `Ed25519` name one algorithm for an Ed25519
                // key (RFC 9864 §2): a key labelled with either verifies both.
                Some(alg) if alg.family() == AlgorithmFamily::Ed => family_algs,
                Some(alg) => AlgSet::of(&[alg]),
                None => return Err(KeyError::AlgDoesntFitKey(jwk["alg"].to_string())),
            }
        }
    };

    let usable = fits.intersect(allowed);
    if usable.is_empty() {
        return Err(KeyError::NoAllowedAlgorithm);
    }

    let kid = jwk.get("kid").and_then(Value::as_str).map(String::from);
    VerifyingKey::new(kid, material, usable)
}

/// The DER body of a PEM public key (`PUBLIC KEY` or `RSA PUBLIC KEY`).
pub(crate) fn pem_to_der(text: &str) -> Result<Vec<u8>, KeyError> {
    let block = pem::parse(text.trim()).map_err(|e| KeyError::NotPem(Arc::new(e)))?;
    match block.tag() {
        "PUBLIC KEY" | "RSA PUBLIC KEY" => Ok(block.into_contents()),
        label => Err(KeyError::NotPublicKeyPem(label.to_owned())),
    }
}
