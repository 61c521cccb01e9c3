//! The `[auth.mtls]` table, checked once into [`MtlsSettings`].

use crate::settings::config::{MtlsConfig, MtlsMode};

/// The checked `[auth.mtls]` settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct MtlsSettings {
    pub(crate) mode: MtlsMode,
    /// The header a trusted proxy puts the client certificate in.
    pub(crate) proxy_header: Option<String>,
    /// Whether Rocket's TLS listener asks for client certificates.
    pub(crate) listener: bool,
}

impl MtlsConfig {
    /// Checks the values, `listener` saying whether Rocket's TLS listener
    /// asks for client certificates; an error names the setting under
    /// `auth.`.
    pub(crate) fn check(&self, listener: bool) -> Result<MtlsSettings, (&'static str, String)> {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if let Some(name) = &self.proxy_header
            && (name.is_empty() || !name.bytes().all(token))
        {
            return Err(("mtls.proxy_header", format!("{name:?} is not a header name")));
        }
        if self.mode == MtlsMode::Required && self.proxy_header.is_none() && !listener {
            let problem = "is \"required\", but no client certificate source is configured: \
                           set `auth.mtls.proxy_header` (and `auth.trusted_proxies`), or \
                           `[default.tls.mutual]` with this crate's `mtls` feature"
                .into();
            return Err(("mtls.mode", problem));
        }
        Ok(MtlsSettings { mode: self.mode, proxy_header: self.proxy_header.clone(), listener })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_needs_a_source() {
        let raw: MtlsConfig =
            serde_json::from_value(serde_json::json!({"mode": "required"})).unwrap();
        assert_eq!(raw.check(false).unwrap_err().0, "mtls.mode");
        assert!(raw.check(true).is_ok(), "the TLS listener is a source");
        let raw: MtlsConfig =
            serde_json::from_value(serde_json::json!({"proxy_header": "X Bad"})).unwrap();
        assert_eq!(raw.check(false).unwrap_err().0, "mtls.proxy_header");
    }
}
