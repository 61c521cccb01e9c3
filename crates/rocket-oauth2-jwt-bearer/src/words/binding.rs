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
    /// A certificate-bound token (RFC 8705) from a client that presented
    /// the certificate whose SHA-256 thumbprint is `x5t_s256` (the
    /// token's `cnf.x5t#S256`).
    #[non_exhaustive]
    Certificate {
        /// base64url(SHA-256(the certificate's DER)).
        x5t_s256: String,
    },
}

impl Binding {
    /// The proof key's thumbprint, for a DPoP-bound token.
    pub fn jkt(&self) -> Option<&str> {
        match self {
            Binding::Dpop { jkt } => Some(jkt),
            Binding::Bearer | Binding::Certificate { .. } => None,
        }
    }

    /// The client certificate's thumbprint, for a certificate-bound token.
    pub fn x5t_s256(&self) -> Option<&str> {
        match self {
            Binding::Certificate { x5t_s256 } => Some(x5t_s256),
            Binding::Bearer | Binding::Dpop { .. } => None,
        }
    }

    /// Whether the token is sender-constrained (DPoP- or certificate-bound).
    pub fn is_sender_constrained(&self) -> bool {
        !matches!(self, Binding::Bearer)
    }
}
