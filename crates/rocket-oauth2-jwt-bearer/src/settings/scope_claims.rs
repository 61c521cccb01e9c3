//! [`ScopeClaims`]: which claims grant scopes (`scope_claims`).

/// Which claims hold scopes (`scope_claims`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScopeClaims {
    /// `scope` grants scopes.
    pub scope: bool,
    /// `scp` grants scopes.
    pub scp: bool,
    /// `permissions` grants scopes.
    pub permissions: bool,
}

impl ScopeClaims {
    /// From claim names; unknown names are ignored (settings check them).
    pub fn of(names: &[String]) -> Self {
        let has = |name: &str| names.iter().any(|n| n == name);
        ScopeClaims { scope: has("scope"), scp: has("scp"), permissions: has("permissions") }
    }
}

impl Default for ScopeClaims {
    fn default() -> Self {
        ScopeClaims { scope: true, scp: false, permissions: false }
    }
}
