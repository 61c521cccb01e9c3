//! What a verified token was proven to be bound to.

/// How a request proved its right to use its access token, from
/// [`BearerToken::binding`](crate::BearerToken::binding).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// A plain bearer token: whoever holds it may use it.
    Bearer,
    /// A DPoP-bound token (RFC 9449) with a valid proof, signed by the key
    /// whose RFC 7638 thumbprint is `jkt` (the token's `cnf.jkt`).
    #[non_exhaustive]
    Dpop {
        /// The key's SHA-256 thumbprint, base64url.
        jkt: String,
    },
}

impl Binding {
    /// The proof key's thumbprint, for a DPoP-bound token.
    pub fn jkt(&self) -> Option<&str> {
        match self {
            Binding::Dpop { jkt } => Some(jkt),
            Binding::Bearer => None,
        }
    }

    /// Whether the token is sender-constrained (here: DPoP-bound).
    pub fn is_sender_constrained(&self) -> bool {
        !matches!(self, Binding::Bearer)
    }
}
