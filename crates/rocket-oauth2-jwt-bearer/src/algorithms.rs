//! A small copyable set of JWS algorithms, so that "which algorithms does
//! this key fit" and "which are allowed" are one AND on the request path.

use jsonwebtoken::{Algorithm, AlgorithmFamily};

/// Every algorithm jsonwebtoken implements, in bit order.
const ALL: [Algorithm; 12] = [
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
    Algorithm::EdDSA,
];

/// A set of [`Algorithm`]s.
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
        Self::of(family.algorithms())
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

/// Parses a JOSE `alg` name, exactly as registered (case-sensitive), among
/// the algorithms jsonwebtoken implements; `none` is never one of them.
pub fn parse(name: &str) -> Option<Algorithm> {
    ALL.into_iter().find(|alg| name_of(*alg) == name)
}

/// The registered JOSE name of `alg`.
pub(crate) fn name_of(alg: Algorithm) -> &'static str {
    match alg {
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
        Algorithm::EdDSA => "EdDSA",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for alg in ALL {
            assert_eq!(parse(name_of(alg)), Some(alg));
        }
        for name in ["none", "None", "NONE", "rs256", "ES512", "ES256K", "", "HS256 "] {
            assert_eq!(parse(name), None, "{name}");
        }
    }

    #[test]
    fn sets_intersect() {
        let rsa = AlgSet::family(AlgorithmFamily::Rsa);
        assert!(rsa.contains(Algorithm::PS512));
        assert!(!rsa.contains(Algorithm::ES256));
        let only = rsa.intersect(AlgSet::of(&[Algorithm::RS256, Algorithm::ES256]));
        assert_eq!(only.iter().collect::<Vec<_>>(), [Algorithm::RS256]);
        assert!(AlgSet::EMPTY.is_empty());
    }
}
