//! What scope checks consult besides the token: the `scope_hierarchy` and
//! the `mcp` table ([`ScopeRules`], managed by the fairing), and the scopes
//! a route's guard needs, kept for its 401 ([`ScopeHint`]), and whether the
//! route is the MCP endpoint ([`McpRoute`]).

use std::borrow::Cow;
use std::sync::Arc;

use rocket::Request;

use crate::settings::checked::Settings;
use crate::settings::mcp::McpScopes;
use crate::settings::scope_hierarchy::ScopeHierarchy;

/// The checked scope settings, shared by every scope guard.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeRules {
    pub(crate) hierarchy: Arc<ScopeHierarchy>,
    pub(crate) mcp: Arc<McpScopes>,
}

impl ScopeRules {
    /// The rules `settings` describe.
    pub(crate) fn from_settings(settings: &Settings) -> Self {
        ScopeRules {
            hierarchy: Arc::new(settings.scope_hierarchy.clone()),
            mcp: Arc::new(settings.mcp.clone()),
        }
    }

    /// The rules the fairing manages, if it is attached.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> Option<&'r ScopeRules> {
        req.rocket().state::<ScopeRules>()
    }
}

/// Marks a request to the MCP endpoint: its challenges point at the
/// endpoint's own metadata when it has some (`mcp.endpoint`).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct McpRoute(bool);

impl McpRoute {
    /// Marks `req`.
    pub(crate) fn mark(req: &Request<'_>) {
        req.local_cache(|| McpRoute(true));
    }

    /// Whether `req` was marked.
    pub(crate) fn of(req: &Request<'_>) -> bool {
        req.local_cache(McpRoute::default).0
    }
}

/// The scopes the guard of this request's route needs, space-separated:
/// its 401 names them (MCP 2026-07-28). Never `offline_access`: launch
/// refuses it in a guard (its Sentinel) and in `[auth.mcp]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct ScopeHint(Option<Cow<'static, str>>);

impl ScopeHint {
    /// Keeps `scopes` for this request's challenges; the first guard to
    /// record wins.
    pub(crate) fn record(req: &Request<'_>, scopes: impl FnOnce() -> Cow<'static, str>) {
        req.local_cache(|| ScopeHint(Some(scopes())));
    }

    /// The scopes recorded for `req`, if any.
    pub(crate) fn of<'r>(req: &'r Request<'_>) -> Option<&'r str> {
        req.local_cache(ScopeHint::default).0.as_deref()
    }
}
