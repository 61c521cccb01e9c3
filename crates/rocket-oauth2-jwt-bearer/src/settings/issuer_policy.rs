//! What an issuer's tokens must say beyond RFC 7519's claims: which
//! clients may call (`client_id`, else `azp`), whether they must name an
//! Auth0 organization and which, and whether delegated tokens (RFC 8693
//! `act`) are accepted, required, and from which actors. The `policy`
//! table, checked.

use crate::settings::config::{Delegation, Organization, PolicyConfig};

/// One issuer's checked policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct IssuerPolicy {
    /// Accepted clients; empty: any.
    pub(crate) clients: Vec<String>,
    /// Whether a token must name an organization.
    pub(crate) organization_required: bool,
    /// Accepted `org_id`s, exact.
    pub(crate) org_ids: Vec<String>,
    /// Accepted `org_name`s, lowercased (Auth0 compares them ignoring case).
    pub(crate) org_names: Vec<String>,
    pub(crate) delegation: Delegation,
    /// Accepted actors (`act.sub`); empty: any.
    pub(crate) actors: Vec<String>,
}

impl IssuerPolicy {
    /// Checks `config`; the error names the key (`clients`, ...) and why.
    pub(crate) fn check(config: &PolicyConfig) -> Result<Self, (&'static str, String)> {
        let listed =
            |key: &'static str, values: &[String]| match values.iter().any(|v| v.is_empty()) {
                true => Err((key, "contains an empty value".to_owned())),
                false => Ok(values.to_vec()),
            };
        let clients = listed("clients", &config.clients)?;
        let actors = listed("actors", &config.actors)?;
        let organizations = listed("organizations", &config.organizations)?;
        if !actors.is_empty() && config.delegation == Delegation::Forbidden {
            let why = "lists actors, but delegation is \"forbidden\"".to_owned();
            return Err(("actors", why));
        }
        // Auth0's rule: an `org_` identifier is an ID, anything else a name.
        let (org_ids, org_names): (Vec<String>, Vec<String>) =
            organizations.into_iter().partition(|o| o.starts_with("org_"));
        Ok(IssuerPolicy {
            clients,
            organization_required: config.organization == Organization::Required
                || !org_ids.is_empty()
                || !org_names.is_empty(),
            org_ids,
            org_names: org_names.into_iter().map(|n| n.to_lowercase()).collect(),
            delegation: config.delegation,
            actors,
        })
    }
}
