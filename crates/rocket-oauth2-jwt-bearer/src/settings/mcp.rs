//! `mcp`: the scopes each Model Context Protocol operation needs, checked
//! into a table the [`McpAccess`](crate::McpAccess) guard looks
//! operations up in.

use std::collections::{BTreeMap, HashMap};

use crate::settings::config::McpConfig;
use crate::settings::scope_hierarchy::{OFFLINE_ACCESS, is_scope_token};

/// What an MCP request asks to do: its JSON-RPC `method`, and for the
/// methods that address one tool, prompt or resource, its name (or URI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Operation {
    pub method: String,
    pub name: Option<String>,
}

/// The member of `params` that names the target of `method`, for the
/// methods that have one (MCP 2026-07-28, Streamable HTTP, `Mcp-Name`).
pub(crate) fn name_member(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => Some("uri"),
        _ => None,
    }
}

/// Whether `path` is an absolute path of unreserved, sub-delim, `:`, `@`
/// and `/` characters (RFC 3986 `path-absolute`, without percent
/// escapes), other than `/` alone.
fn is_endpoint_path(path: &str) -> bool {
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b);
    path.starts_with('/') && !path.starts_with("//") && path.len() > 1 && path.bytes().all(allowed)
}

/// The checked `mcp` table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct McpScopes {
    tools: HashMap<String, Box<[String]>>,
    prompts: HashMap<String, Box<[String]>>,
    resources: HashMap<String, Box<[String]>>,
    default: Box<[String]>,
    /// `endpoint`: the MCP endpoint's path, checked.
    pub(crate) endpoint: Option<String>,
}

impl McpScopes {
    /// Checks `config`: every scope a scope token, never `offline_access`.
    /// The error names the setting (`mcp.tools.post_message`) and why.
    pub(crate) fn check(config: &McpConfig) -> Result<Self, (String, String)> {
        let scopes = |setting: String, scopes: &[String]| {
            for scope in scopes {
                if !is_scope_token(scope) {
                    let why = format!("{scope:?} is not a scope (RFC 6749 §3.3 scope-token)");
                    return Err((setting, why));
                }
                if scope == OFFLINE_ACCESS {
                    let why = format!(
                        "`{OFFLINE_ACCESS}` asks for a refresh token; it is no permission on an API"
                    );
                    return Err((setting, why));
                }
            }
            Ok(scopes.to_vec().into_boxed_slice())
        };
        let table = |kind: &str, entries: &BTreeMap<String, Vec<String>>| {
            entries
                .iter()
                .map(|(name, needs)| {
                    Ok((name.clone(), scopes(format!("mcp.{kind}.{name}"), needs)?))
                })
                .collect::<Result<HashMap<_, _>, (String, String)>>()
        };
        let endpoint = match config.endpoint.as_deref() {
            None => None,
            Some(path) if is_endpoint_path(path) => Some(path.trim_end_matches('/').to_owned()),
            Some(path) => {
                let why = format!("{path:?} is not a path like \"/mcp\" (no query, no fragment)");
                return Err(("mcp.endpoint".to_owned(), why));
            }
        };
        Ok(McpScopes {
            endpoint,
            tools: table("tools", &config.tools)?,
            prompts: table("prompts", &config.prompts)?,
            resources: table("resources", &config.resources)?,
            default: scopes("mcp.default_scopes".to_owned(), &config.default_scopes)?,
        })
    }

    /// The scopes `operation` needs: its entry in the table, else
    /// `default_scopes`.
    pub(crate) fn required(&self, operation: &Operation) -> &[String] {
        let table = match operation.method.as_str() {
            "tools/call" => &self.tools,
            "prompts/get" => &self.prompts,
            method if name_member(method) == Some("uri") => &self.resources,
            _ => return &self.default,
        };
        operation.name.as_deref().and_then(|name| table.get(name)).unwrap_or(&self.default)
    }

    /// The scopes of a request whose operation isn't known yet (no
    /// `Mcp-Method`): `default_scopes`, the least any operation needs.
    pub(crate) fn default_scopes(&self) -> &[String] {
        &self.default
    }

    /// Every scope the table names, for a warning about names missing
    /// from `scopes_supported`.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        [&self.tools, &self.prompts, &self.resources]
            .into_iter()
            .flat_map(|table| table.values())
            .chain([&self.default])
            .flat_map(|scopes| scopes.iter().map(String::as_str))
    }
}
