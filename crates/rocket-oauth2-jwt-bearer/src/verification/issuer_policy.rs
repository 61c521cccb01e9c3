//! Enforcing an issuer's `policy` on a token's verified claims: its client,
//! its organization, its delegation chain. Each failure is 401
//! `invalid_token` with a fixed reason: the token is not one this API
//! accepts from that issuer.

use crate::settings::config::Delegation;
use crate::settings::issuer_policy::IssuerPolicy;
use crate::verification::claims::Claims;
use crate::words::error::{Claim, TokenError};

/// Whether `claims` satisfy `policy`.
pub(crate) fn enforce(policy: &IssuerPolicy, claims: &Claims) -> Result<(), TokenError> {
    if !policy.clients.is_empty() {
        let client = claims.client().ok_or(TokenError::MissingClaim(Claim::ClientId))?;
        if !policy.clients.iter().any(|allowed| allowed == client) {
            return Err(TokenError::UnexpectedClaim(Claim::ClientId));
        }
    }

    if policy.organization_required {
        let (id, name) = (claims.org_id(), claims.org_name());
        if id.is_none() && name.is_none() {
            return Err(TokenError::MissingClaim(Claim::OrgId));
        }
        let listed = !policy.org_ids.is_empty() || !policy.org_names.is_empty();
        let id_listed = id.is_some_and(|id| policy.org_ids.iter().any(|o| o == id));
        let name_listed = name.is_some_and(|name| policy.org_names.contains(&name.to_lowercase()));
        if listed && !id_listed && !name_listed {
            let claim = if policy.org_ids.is_empty() { Claim::OrgName } else { Claim::OrgId };
            return Err(TokenError::UnexpectedClaim(claim));
        }
    }

    let chain = claims.delegation_chain();
    match policy.delegation {
        Delegation::Forbidden if !chain.is_empty() => return Err(TokenError::Delegated),
        Delegation::Required if chain.is_empty() => {
            return Err(TokenError::MissingClaim(Claim::Act));
        }
        _ => {}
    }
    let unlisted = |subject: &str| !policy.actors.iter().any(|a| a == subject);
    if !policy.actors.is_empty() && chain.iter().any(|actor| unlisted(&actor.subject)) {
        return Err(TokenError::UnexpectedClaim(Claim::Act));
    }
    Ok(())
}
