//! The `act` claim of a delegated token (RFC 8693 §4.1): who is acting for
//! the token's subject, and the actors before them.
//!
//! ```json
//! { "sub": "user-1", "act": { "sub": "agent-7", "client_id": "mcp-client",
//!                             "act": { "sub": "orchestrator" } } }
//! ```
//!
//! The outermost `act` is the current actor; each nested `act` is the one
//! that delegated to it. Only identity members are read (`sub`, and
//! `client_id` and `iss` where present): RFC 8693 says the others carry no
//! meaning there.

use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::words::error::{Claim, TokenError};

/// The longest delegation chain accepted: deeper `act` nesting is refused
/// (401 `invalid_token`) rather than walked.
pub const MAX_ACTORS: usize = 8;

/// One actor of a delegation chain.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Actor {
    /// `sub`: who acts.
    pub subject: String,
    /// `client_id`, when present: the client the actor used.
    pub client_id: Option<String>,
    /// `iss`, when present: who issued the actor's identity.
    pub issuer: Option<String>,
}

/// The chain `act` describes, current actor first; empty without `act`.
/// An `act` that is not an object, an actor without a string `sub`, or
/// non-string `client_id` / `iss` is `Invalid 'act' claim type`; more than
/// [`MAX_ACTORS`] actors is refused too.
pub(crate) fn actors(raw: Option<&RawValue>) -> Result<Vec<Actor>, TokenError> {
    let Some(raw) = raw else { return Ok(Vec::new()) };
    let invalid = TokenError::InvalidClaim(Claim::Act);
    let mut next: Value = serde_json::from_str(raw.get()).map_err(|_| invalid)?;
    let mut chain = Vec::new();
    loop {
        let Value::Object(mut members) = next else { return Err(invalid) };
        if chain.len() == MAX_ACTORS {
            return Err(TokenError::DelegationTooDeep);
        }
        let subject = match members.remove("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => sub,
            _ => return Err(invalid),
        };
        let optional = |members: &mut Map<String, Value>, name| match members.remove(name) {
            None => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(invalid),
        };
        let client_id = optional(&mut members, "client_id")?;
        let issuer = optional(&mut members, "iss")?;
        chain.push(Actor { subject, client_id, issuer });
        match members.remove("act") {
            Some(prior) => next = prior,
            None => return Ok(chain),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Value) -> Result<Vec<Actor>, TokenError> {
        let raw = RawValue::from_string(value.to_string()).unwrap();
        actors(Some(&raw))
    }

    #[test]
    fn the_chain_is_read_current_actor_first() {
        let chain = parse(json!({"sub": "agent", "client_id": "c", "iss": "https://i",
            "act": {"sub": "orchestrator", "exp": 5}}))
        .unwrap();
        assert_eq!(chain.len(), 2);
        assert_eq!(chain[0].subject, "agent");
        assert_eq!(chain[0].client_id.as_deref(), Some("c"));
        assert_eq!(chain[0].issuer.as_deref(), Some("https://i"));
        assert_eq!(chain[1].subject, "orchestrator");
        assert_eq!(actors(None).unwrap(), []);
    }

    #[test]
    fn malformed_actors_are_invalid() {
        let invalid = Err(TokenError::InvalidClaim(Claim::Act));
        for bad in [
            json!("agent"),
            json!(["agent"]),
            json!({}),
            json!({"sub": ""}),
            json!({"sub": 5}),
            json!({"sub": "a", "client_id": 1}),
            json!({"sub": "a", "iss": null}),
            json!({"sub": "a", "act": "b"}),
            json!({"sub": "a", "act": {"client_id": "b"}}),
        ] {
            assert_eq!(parse(bad.clone()), invalid, "{bad}");
        }
    }

    #[test]
    fn chains_longer_than_the_cap_are_refused() {
        let nested = |depth: usize| {
            (1..depth).fold(
                json!({"sub": "a0"}),
                |inner, i| json!({"sub": format!("a{i}"), "act": inner}),
            )
        };
        assert_eq!(parse(nested(MAX_ACTORS)).unwrap().len(), MAX_ACTORS);
        assert_eq!(parse(nested(MAX_ACTORS + 1)), Err(TokenError::DelegationTooDeep));
    }
}
