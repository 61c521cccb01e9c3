//! The JWS algorithms this crate verifies, and a small copyable set of
//! them, so that "which algorithms does this key fit" and "which are
//! allowed" are one AND on the request path.
//!
//! Its own enum rather than jsonwebtoken's: verification goes through
//! aws-lc-rs directly, which also has ES512 (P-521) and ES256K (secp256k1,
//! RFC 8812), and jsonwebtoken has neither; and RFC 9864's fully specified
//! `Ed25519`, which deprecates the polymorphic `EdDSA` (both verify with
//! the same Ed25519 keys here: it is the only EdDSA curve supported).

use std::fmt;

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize, Serializer};

/// A JWS `alg` (RFC 7518 §3.1, RFC 8037, RFC 8812, RFC 9864), as the
/// `algorithms` settings name it. Never `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC with SHA-256 (a shared `secret`).
    HS256,
    /// HMAC with SHA-384 (a shared `secret`).
    HS384,
    /// HMAC with SHA-512 (a shared `secret`).
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// ECDSA on secp256k1 with SHA-256 (RFC 8812).
    ES256K,
    /// EdDSA (RFC 8037); this crate verifies it on Ed25519 keys.
    EdDSA,
    /// Ed25519, RFC 9864's fully specified name for EdDSA on Ed25519.
    Ed25519,
}

/// The kinds of key an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AlgorithmFamily {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

/// Every algorithm, in bit order.
const ALL: [Algorithm; 15] = [
    Algorithm::HS256,
    Algorithm::HS384,
    Algorithm::HS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::ES256K,
    Algorithm::EdDSA,
    Algorithm::Ed25519,
];

impl Algorithm {
    /// The registered JOSE name, e.g. `RS256`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::ES256K => "ES256K",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::Ed25519 => "Ed25519",
        }
    }

    /// The kind of key it needs.
    pub fn family(self) -> AlgorithmFamily {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => AlgorithmFamily::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => AlgorithmFamily::Rsa,
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 | Algorithm::ES256K => {
                AlgorithmFamily::Ec
            }
            Algorithm::EdDSA | Algorithm::Ed25519 => AlgorithmFamily::Ed,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// By its exact registered name, as in settings: `algorithms = ["RS256"]`.
impl Serialize for Algorithm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Algorithm {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        parse(&name).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|alg| alg.name()).collect();
            de::Error::custom(format_args!(
                "unknown algorithm {name:?}, expected one of {}",
                names.join(", ")
            ))
        })
    }
}

impl AlgorithmFamily {
    /// The family's algorithms.
    pub fn algorithms(self) -> impl Iterator<Item = Algorithm> {
        ALL.into_iter().filter(move |alg| alg.family() == self)
    }
}

/// A set of `Algorithm`s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlgSet(u16);

impl AlgSet {
    /// No algorithm.
    pub const EMPTY: AlgSet = AlgSet(0);

    fn bit(alg: Algorithm) -> u16 {
        ALL.iter().position(|a| *a == alg).map_or(0, |i| 1 << i)
    }

    /// These algorithms.
    pub fn of(algs: &[Algorithm]) -> Self {
        AlgSet(algs.iter().fold(0, |bits, alg| bits | Self::bit(*alg)))
    }

    /// A family's algorithms.
    pub fn family(family: AlgorithmFamily) -> Self {
        AlgSet(family.algorithms().fold(0, |bits, alg| bits | Self::bit(alg)))
    }

    /// Whether `alg` is in the set.
    pub fn contains(self, alg: Algorithm) -> bool {
        self.0 & Self::bit(alg) != 0
    }

    /// Every algorithm.
    pub fn all() -> Self {
        Self::of(&ALL)
    }

    /// The algorithms in either set.
    pub fn union(self, other: AlgSet) -> Self {
        AlgSet(self.0 | other.0)
    }

    /// The algorithms in both sets.
    pub fn intersect(self, other: AlgSet) -> Self {
        AlgSet(self.0 & other.0)
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The algorithms, in a fixed order.
    pub fn iter(self) -> impl Iterator<Item = Algorithm> {
        ALL.into_iter().filter(move |alg| self.contains(*alg))
    }
}

/// Parses a JOSE `alg` name, exactly as registered (case-sensitive);
/// `none` is never one of them.
pub fn parse(name: &str) -> Option<Algorithm> {
    ALL.into_iter().find(|alg| alg.name() == name)
}

/// The registered JOSE name of `alg`.
pub(crate) fn name_of(alg: Algorithm) -> &'static str {
    alg.name()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in ALL {
            assert_eq!(parse(name_of(alg)), Some(alg));
            let json = serde_json::to_string(alg.name()).unwrap();
            assert_eq!(serde_json::from_str::<Algorithm>(&json).unwrap(), alg);
        }
        for name in ["none", "None", "NONE", "rs256", "es512", "ES256k", "", "HS256 ", "ES521"] {
            assert_eq!(parse(name), None, "{name}");
        }
        let error = serde_json::from_str::<Algorithm>("\"RS257\"").unwrap_err().to_string();
        assert!(error.contains("unknown algorithm \"RS257\"") && error.contains("ES256K"));
    }

    #[test]
    fn sets_intersect() {
        let rsa = AlgSet::family(AlgorithmFamily::Rsa);
        assert!(rsa.contains(Algorithm::PS512));
        assert!(!rsa.contains(Algorithm::ES256));
        let only = rsa.intersect(AlgSet::of(&[Algorithm::RS256, Algorithm::ES256]));
        assert_eq!(only.iter().collect::<Vec<_>>(), [Algorithm::RS256]);
        assert!(AlgSet::EMPTY.is_empty());
        let ec = AlgSet::family(AlgorithmFamily::Ec);
        assert_eq!(
            ec.iter().collect::<Vec<_>>(),
            [Algorithm::ES256, Algorithm::ES384, Algorithm::ES512, Algorithm::ES256K]
        );
    }
}
