//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf`
//! holds `x5t#S256` is accepted only from a client that presented that
//! certificate, compared as base64url(SHA-256(DER)) in constant time.
//!
//! The certificate comes, in this order, from Rocket's own TLS listener
//! with client certificates (the `mtls` feature and `[default.tls.mutual]`,
//! with `mandatory = false` so that clients without one still connect:
//! Rocket has then checked that it chains to `ca_certs`), or from a
//! TLS-terminating proxy, in the header named
//! by `mtls.proxy_header`, read only when the connection's peer is in
//! `trusted_proxies` (from anyone else it is ignored and logged at debug):
//! either Envoy's `X-Forwarded-Client-Cert` with exactly one element and
//! its `Cert="…"` (URL-encoded PEM) — configure the edge proxy to replace
//! the header (`SANITIZE_SET`), not to append to what the client sent — or
//! a URL-encoded PEM on its own, as nginx's `$ssl_client_escaped_cert`
//! writes it.
//!
//! With a `DPoP` request, DPoP's rules decide (as in the Express library):
//! this module only judges `Bearer`-scheme requests.

use std::borrow::Cow;

use aws_lc_rs::constant_time;
use aws_lc_rs::digest::{digest, SHA256};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rocket::http::RawStr;
use rocket::Request;
use serde::Deserialize;

use crate::binding::Binding;
use crate::claims::Claims;
use crate::dpop::target_uri::split_unquoted;
use crate::error::{AuthError, TokenError};
use crate::trusted_proxies::TrustedProxies;

/// Whether certificate-bound tokens are accepted or required
/// (`auth.mtls.mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum MtlsMode {
    /// Certificate-bound tokens with their certificate, and unbound ones.
    #[default]
    Allowed,
    /// Only certificate-bound tokens (on the `Bearer` scheme).
    Required,
    /// Certificate-bound tokens are refused, as any binding this service
    /// can't check.
    Disabled,
}

/// `[auth.mtls]` as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMtls {
    #[serde(default)]
    mode: MtlsMode,
    #[serde(default)]
    proxy_header: Option<String>,
}

/// The checked `[auth.mtls]` settings.
#[derive(Debug, Clone, Default)]
pub(crate) struct MtlsSettings {
    pub(crate) mode: MtlsMode,
    /// The header a trusted proxy puts the client certificate in.
    pub(crate) proxy_header: Option<String>,
    /// Whether Rocket's TLS listener asks for client certificates.
    pub(crate) listener: bool,
}

impl RawMtls {
    /// Checks the values, `listener` saying whether Rocket's TLS listener
    /// asks for client certificates; an error names the setting under
    /// `auth.`.
    pub(crate) fn check(&self, listener: bool) -> Result<MtlsSettings, (&'static str, String)> {
        let token = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if let Some(name) = &self.proxy_header {
            if name.is_empty() || !name.bytes().all(token) {
                return Err(("mtls.proxy_header", format!("{name:?} is not a header name")));
            }
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

/// The certificate side of the verifier: managed state of the Rocket.
#[derive(Debug)]
pub(crate) struct Mtls {
    settings: MtlsSettings,
    proxies: TrustedProxies,
}

impl Mtls {
    /// As `settings` describe it, believing proxies in `proxies`.
    pub(crate) fn new(settings: &MtlsSettings, proxies: TrustedProxies) -> Self {
        Mtls { settings: settings.clone(), proxies }
    }

    /// Whether certificate-bound tokens can be accepted at all: a source
    /// is configured and the mode isn't `disabled`.
    pub(crate) fn accepts_bound_tokens(&self) -> bool {
        let source = self.settings.proxy_header.is_some() || self.settings.listener;
        self.settings.mode != MtlsMode::Disabled && source
    }

    /// The binding of a `Bearer`-scheme request presenting `claims`, or
    /// why it is refused.
    pub(crate) async fn bind(
        &self,
        req: &Request<'_>,
        claims: &Claims,
    ) -> Result<Binding, AuthError> {
        let refuse = |error| Err(AuthError::InvalidToken(error));
        let Some(bound) = claims.x5t_s256() else {
            return match self.settings.mode {
                MtlsMode::Required => refuse(TokenError::NotCertificateBound),
                _ => Ok(Binding::Bearer),
            };
        };
        if self.settings.mode == MtlsMode::Disabled {
            return refuse(TokenError::SenderConstrained);
        }
        let Some(presented) = self.presented(req).await else {
            return refuse(TokenError::CertificateMissing);
        };
        match constant_time::verify_slices_are_equal(bound.as_bytes(), presented.as_bytes()) {
            Ok(()) => Ok(Binding::Certificate { x5t_s256: presented }),
            Err(_) => refuse(TokenError::CertificateBinding),
        }
    }

    /// The thumbprint of the client certificate `req` came with, if any.
    async fn presented(&self, req: &Request<'_>) -> Option<String> {
        let thumbprint = |der: &[u8]| URL_SAFE_NO_PAD.encode(digest(&SHA256, der));
        #[cfg(feature = "mtls")]
        if self.settings.listener {
            use rocket::mtls::Certificate;
            use rocket::outcome::Outcome;
            if let Outcome::Success(certificate) = req.guard::<Certificate<'_>>().await {
                return Some(thumbprint(certificate.as_bytes()));
            }
        }
        let name = self.settings.proxy_header.as_deref()?;
        let mut values = req.headers().get(name);
        let (value, None) = (values.next()?, values.next()) else {
            log::debug!("{name}: more than one field; no client certificate taken");
            return None;
        };
        if !self.proxies.trusts(req.remote().map(|peer| peer.ip())) {
            log::debug!("{name} from a peer that isn't a trusted proxy: ignored");
            return None;
        }
        let der = certificate_der(value.trim());
        if der.is_none() {
            log::debug!("{name}: no certificate could be read from it");
        }
        der.map(|der| thumbprint(&der))
    }
}

/// The DER of the certificate in a proxy header value: a URL-encoded PEM,
/// or an `X-Forwarded-Client-Cert` with one element holding `Cert`.
fn certificate_der(value: &str) -> Option<Vec<u8>> {
    let pem_text = if is_pem(value) {
        Cow::Borrowed(value)
    } else {
        let mut elements = split_unquoted(value);
        let (element, None) = (elements.next()?, elements.next()) else { return None };
        let cert = element.split(';').find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("cert").then_some(value)
        })?;
        let cert = cert.strip_prefix('"').and_then(|c| c.strip_suffix('"')).unwrap_or(cert);
        Cow::Owned(cert.to_owned())
    };
    let decoded = RawStr::new(&pem_text).percent_decode().ok()?;
    let block = pem::parse(decoded.trim()).ok()?;
    (block.tag() == "CERTIFICATE").then(|| block.into_contents())
}

fn is_pem(value: &str) -> bool {
    let begins =
        |prefix: &str| value.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    begins("-----BEGIN") || begins("%2D%2D%2D%2D%2DBEGIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEM: &str = "-----BEGIN CERTIFICATE-----\nAQIDBA==\n-----END CERTIFICATE-----\n";

    fn escaped(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[test]
    fn certificates_are_read_from_either_header_format() {
        assert_eq!(certificate_der(&escaped(PEM)), Some(vec![1, 2, 3, 4]));
        assert_eq!(certificate_der(PEM), Some(vec![1, 2, 3, 4]));
        let xfcc =
            format!("By=spiffe://proxy;Hash=abc;Cert=\"{}\";Subject=\"CN=a,O=b\"", escaped(PEM));
        assert_eq!(certificate_der(&xfcc), Some(vec![1, 2, 3, 4]));
        // Two elements: which one is the client's can't be told.
        assert_eq!(certificate_der(&format!("{xfcc},{xfcc}")), None);
        for bad in [
            "",
            "Hash=abc",
            "Cert=\"junk\"",
            &escaped("-----BEGIN PRIVATE KEY-----\nAQ==\n-----END PRIVATE KEY-----\n"),
        ] {
            assert_eq!(certificate_der(bad), None, "{bad}");
        }
    }

    #[test]
    fn required_needs_a_source() {
        let raw: RawMtls = serde_json::from_value(serde_json::json!({"mode": "required"})).unwrap();
        assert_eq!(raw.check(false).unwrap_err().0, "mtls.mode");
        assert!(raw.check(true).is_ok(), "the TLS listener is a source");
        let raw: RawMtls =
            serde_json::from_value(serde_json::json!({"proxy_header": "X Bad"})).unwrap();
        assert_eq!(raw.check(false).unwrap_err().0, "mtls.proxy_header");
    }
}
