//! The authorization schemes: which one a request used, and which ones the
//! service accepts (`dpop.mode`).

use serde::{Deserialize, Serialize};

/// The authorization scheme a request used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scheme {
    /// `Bearer` (or the `access_token` query parameter).
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// Which authorization schemes the guards accept (`auth.dpop.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DpopMode {
    /// `Bearer` and `DPoP` both (the default, as in the Express library).
    #[default]
    Allowed,
    /// `DPoP` only: a `Bearer` request is answered with a DPoP challenge.
    Required,
    /// `Bearer` only: `DPoP` is then an unknown scheme.
    Disabled,
}
