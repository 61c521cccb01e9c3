//! `scope_hierarchy`: which scopes imply which, so that a token granted a
//! broader scope satisfies a check for a narrower one (MCP 2026-07-28:
//! servers "MUST account for scope hierarchies").
//!
//! The setting maps a scope to the scopes it implies:
//!
//! ```toml
//! [default.auth.scope_hierarchy]
//! "messages:admin" = ["read:messages", "write:messages"]
//! "write:messages" = ["read:messages"]
//! ```
//!
//! Implication is transitive and one-directional: `messages:admin`
//! satisfies `read:messages`; `read:messages` never satisfies
//! `messages:admin`. A cycle (`a` ⇒ `b` ⇒ `a`) would make two scopes one
//! and is refused at launch, as is `offline_access` (a refresh-token
//! request, not a permission on this API).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;

/// The scope that asks an authorization server for a refresh token: never
/// a permission of a resource server, never sent in a challenge.
pub(crate) const OFFLINE_ACCESS: &str = "offline_access";

/// The checked hierarchy: for each scope that some broader scope implies,
/// every scope that grants it, directly or through others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeHierarchy {
    granted_by: HashMap<Box<str>, Box<[Box<str>]>>,
}

/// Why `scope_hierarchy` was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HierarchyProblem {
    /// A name that is not an RFC 6749 §3.3 scope token.
    NotAScope(String),
    /// `offline_access` named in the hierarchy.
    OfflineAccess,
    /// Scopes that imply each other: the cycle, first name repeated last.
    Cycle(Vec<String>),
}

impl fmt::Display for HierarchyProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HierarchyProblem::NotAScope(name) => {
                write!(f, "{name:?} is not a scope (RFC 6749 §3.3 scope-token)")
            }
            HierarchyProblem::OfflineAccess => write!(
                f,
                "`{OFFLINE_ACCESS}` asks for a refresh token; it is no permission on an API"
            ),
            HierarchyProblem::Cycle(cycle) => {
                write!(f, "scopes imply each other in a cycle: {}", cycle.join(" ⇒ "))
            }
        }
    }
}

/// Whether `name` is an RFC 6749 §3.3 `scope-token`: one or more of
/// `%x21 / %x23-5B / %x5D-7E`.
pub(crate) fn is_scope_token(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

impl ScopeHierarchy {
    /// Checks `implies` (scope → the scopes it implies) and closes it
    /// transitively.
    pub fn check(implies: &BTreeMap<String, Vec<String>>) -> Result<Self, HierarchyProblem> {
        for name in implies.iter().flat_map(|(broad, narrow)| std::iter::once(broad).chain(narrow))
        {
            if !is_scope_token(name) {
                return Err(HierarchyProblem::NotAScope(name.clone()));
            }
            if name == OFFLINE_ACCESS {
                return Err(HierarchyProblem::OfflineAccess);
            }
        }
        if let Some(cycle) = find_cycle(implies) {
            return Err(HierarchyProblem::Cycle(cycle));
        }

        // Every scope each broader one reaches, then inverted.
        let mut granted_by: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for broad in implies.keys() {
            let mut stack: Vec<&str> = vec![broad];
            let mut seen = BTreeSet::new();
            while let Some(scope) = stack.pop() {
                for narrow in implies.get(scope).into_iter().flatten() {
                    if seen.insert(narrow.as_str()) {
                        stack.push(narrow);
                    }
                }
            }
            for narrow in seen {
                granted_by.entry(narrow).or_default().insert(broad);
            }
        }
        let granted_by = granted_by
            .into_iter()
            .map(|(narrow, by)| (narrow.into(), by.into_iter().map(Box::from).collect()))
            .collect();
        Ok(ScopeHierarchy { granted_by })
    }

    /// Whether a token holding `held` is granted `required`: it holds it, or
    /// a scope that implies it.
    pub fn grants(&self, held: &[String], required: &str) -> bool {
        held.iter().any(|h| h == required)
            || self.granted_by.get(required).is_some_and(|broader| {
                broader.iter().any(|b| held.iter().any(|h| h.as_str() == &**b))
            })
    }

    /// Whether `held` (a token's scopes, `None` without a scope claim)
    /// grants every one of `required`.
    pub(crate) fn grants_all(&self, held: Option<&[String]>, required: &[String]) -> bool {
        let held = held.unwrap_or_default();
        required.iter().all(|scope| self.grants(held, scope))
    }

    /// Every name the hierarchy mentions.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        let narrow = self.granted_by.keys().map(|n| &**n);
        let broad = self.granted_by.values().flat_map(|by| by.iter().map(|b| &**b));
        narrow.chain(broad)
    }
}

/// A cycle in `implies`, if there is one: its scopes in order, the first
/// repeated at the end.
fn find_cycle(implies: &BTreeMap<String, Vec<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        Open,
        Done,
    }
    fn visit<'a>(
        scope: &'a str,
        implies: &'a BTreeMap<String, Vec<String>>,
        marks: &mut HashMap<&'a str, Mark>,
        path: &mut Vec<&'a str>,
    ) -> Option<Vec<String>> {
        match marks.get(scope) {
            Some(Mark::Done) => return None,
            Some(Mark::Open) => {
                let start = path.iter().position(|s| *s == scope).unwrap_or(0);
                let mut cycle: Vec<String> = path[start..].iter().map(|s| s.to_string()).collect();
                cycle.push(scope.to_owned());
                return Some(cycle);
            }
            None => {}
        }
        marks.insert(scope, Mark::Open);
        path.push(scope);
        for narrow in implies.get(scope).into_iter().flatten() {
            if let Some(cycle) = visit(narrow, implies, marks, path) {
                return Some(cycle);
            }
        }
        path.pop();
        marks.insert(scope, Mark::Done);
        None
    }

    let mut marks = HashMap::new();
    implies.keys().find_map(|scope| visit(scope, implies, &mut marks, &mut Vec::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hierarchy(pairs: &[(&str, &[&str])]) -> Result<ScopeHierarchy, HierarchyProblem> {
        let implies = pairs
            .iter()
            .map(|(broad, narrow)| {
                (broad.to_string(), narrow.iter().map(|s| s.to_string()).collect())
            })
            .collect();
        ScopeHierarchy::check(&implies)
    }

    fn held(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_broader_scope_grants_the_narrower_ones_transitively_never_the_reverse() {
        let h = hierarchy(&[
            ("messages:admin", &["write:messages"]),
            ("write:messages", &["read:messages"]),
        ])
        .unwrap();
        assert!(h.grants(&held(&["messages:admin"]), "read:messages"), "transitive");
        assert!(h.grants(&held(&["messages:admin"]), "write:messages"));
        assert!(h.grants(&held(&["write:messages"]), "read:messages"));
        assert!(h.grants(&held(&["read:messages"]), "read:messages"), "itself");
        // The negative direction: a reversed rule would be an escalation.
        assert!(!h.grants(&held(&["read:messages"]), "write:messages"));
        assert!(!h.grants(&held(&["read:messages"]), "messages:admin"));
        assert!(!h.grants(&held(&["write:messages"]), "messages:admin"));
        assert!(!h.grants(&held(&[]), "read:messages"));
        assert!(!h.grants(&held(&["messages:admin2"]), "read:messages"), "exact names only");
        assert!(!h.grants(&held(&["messages"]), "read:messages"));
    }

    #[test]
    fn cycles_are_refused_naming_them() {
        let cycle = hierarchy(&[("a", &["b"]), ("b", &["c"]), ("c", &["a"])]).unwrap_err();
        assert_eq!(cycle, HierarchyProblem::Cycle(held(&["a", "b", "c", "a"])));
        assert!(cycle.to_string().contains("a ⇒ b ⇒ c ⇒ a"), "{cycle}");
        let itself = hierarchy(&[("a", &["a"])]).unwrap_err();
        assert_eq!(itself, HierarchyProblem::Cycle(held(&["a", "a"])));
        // A diamond is no cycle.
        assert!(hierarchy(&[("a", &["b", "c"]), ("b", &["d"]), ("c", &["d"])]).is_ok());
    }

    #[test]
    fn names_must_be_scope_tokens_and_never_offline_access() {
        for bad in ["", "a b", "quote\"", "back\\slash", "é"] {
            let problem = hierarchy(&[("admin", &[bad])]).unwrap_err();
            assert_eq!(problem, HierarchyProblem::NotAScope(bad.to_owned()));
        }
        assert_eq!(hierarchy(&[("offline_access", &["a"])]), Err(HierarchyProblem::OfflineAccess));
        assert_eq!(hierarchy(&[("a", &["offline_access"])]), Err(HierarchyProblem::OfflineAccess));
    }
}
