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
//! either Envoy's `X-Forwarded-Client-Cert`, parsed by Envoy's grammar
//! (elements on unquoted commas, pairs on unquoted semicolons, quoted
//! values with `\"` escapes; a quote left open makes the whole header
//! unusable), of which the *last* element's one `Cert="…"` (URL-encoded
//! PEM) counts — the element the proxy in front of us wrote — or a
//! URL-encoded PEM on its own, as nginx's `$ssl_client_escaped_cert`
//! writes it. Configure the edge proxy to replace the header
//! (`SANITIZE_SET`; nginx: `proxy_set_header`): a proxy that appends
//! (`APPEND_FORWARD`) forwards what the client sent when the client had
//! no certificate. A PEM counts only as exactly one `CERTIFICATE` block,
//! with nothing but white space around it, whose DER parses as an X.509
//! certificate; anything else is "no certificate" (logged at debug).
//!
//! With a `DPoP` request, DPoP's rules decide (as in the Express library):
//! this module only judges `Bearer`-scheme requests.

use std::borrow::Cow;

use aws_lc_rs::constant_time;
use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rocket::Request;
use rocket::http::RawStr;

use crate::settings::config::MtlsMode;
use crate::settings::mtls::MtlsSettings;
use crate::settings::trusted_proxies::TrustedProxies;
use crate::verification::claims::Claims;
use crate::words::binding::Binding;
use crate::words::error::{AuthError, TokenError};
use crate::words::proxy_headers::{self, Dialect};

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
        let der = certificate_der(value);
        if der.is_none() {
            log::debug!("{name}: no certificate could be read from it");
        }
        der.map(|der| thumbprint(&der))
    }
}

/// The DER of the certificate in a proxy header value: a URL-encoded PEM,
/// or the last element of an `X-Forwarded-Client-Cert` holding one `Cert`.
fn certificate_der(value: &str) -> Option<Vec<u8>> {
    let value = value.trim();
    let escaped = if is_pem(value) {
        Cow::Borrowed(value)
    } else {
        let elements = proxy_headers::parse([value], Dialect::ClientCert).ok()?;
        Cow::Owned(elements.last()?.single("cert").ok()??.to_owned())
    };
    let text = RawStr::new(&escaped).percent_decode().ok()?;
    let text = text.trim();
    let whole_block = text.starts_with("-----BEGIN CERTIFICATE-----")
        && text.ends_with("-----END CERTIFICATE-----");
    let mut blocks = pem::parse_many(text).ok()?.into_iter();
    let (Some(block), None, true) = (blocks.next(), blocks.next(), whole_block) else {
        return None;
    };
    let der = block.into_contents();
    match x509_parser::parse_x509_certificate(&der) {
        Ok(([], _)) => Some(der),
        _ => None,
    }
}

fn is_pem(value: &str) -> bool {
    let begins =
        |prefix: &str| value.get(..prefix.len()).is_some_and(|p| p.eq_ignore_ascii_case(prefix));
    begins("-----BEGIN") || begins("%2D%2D%2D%2D%2DBEGIN")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real certificate, made now: its PEM and DER.
    fn certificate(name: &str) -> (String, Vec<u8>) {
        let key = rcgen::KeyPair::generate().unwrap();
        let params = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap();
        let certificate = params.self_signed(&key).unwrap();
        (certificate.pem(), certificate.der().to_vec())
    }

    fn escaped(text: &str) -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn xfcc(pem: &str) -> String {
        format!("By=spiffe://proxy;Hash=abc;Cert=\"{}\";Subject=\"CN=a,O=b\"", escaped(pem))
    }

    #[test]
    fn certificates_are_read_from_either_header_format() {
        let (pem, der) = certificate("client.example");
        assert_eq!(certificate_der(&escaped(&pem)), Some(der.clone()));
        assert_eq!(certificate_der(&pem), Some(der.clone()));
        assert_eq!(certificate_der(&xfcc(&pem)), Some(der.clone()));
        assert_eq!(certificate_der(&format!("  {}\n", escaped(&pem))), Some(der.clone()));
    }

    #[test]
    fn an_appending_proxy_s_element_is_the_one_used() {
        let (victim, _) = certificate("victim.example");
        let (own, own_der) = certificate("attacker.example");
        // What the client sent, then what the proxy appended.
        let appended = format!("{},{}", xfcc(&victim), xfcc(&own));
        assert_eq!(certificate_der(&appended), Some(own_der));
    }

    #[test]
    fn anything_but_one_clean_certificate_is_no_certificate() {
        let (pem, _) = certificate("client.example");
        let (other, _) = certificate("other.example");
        let smuggled = format!(
            "Cert=\"{}\";x=\",By=spiffe://proxy;Cert=\"{}\"",
            escaped(&pem),
            escaped(&other)
        );
        let not_x509 = "-----BEGIN CERTIFICATE-----\nAQIDBA==\n-----END CERTIFICATE-----\n";
        let key = "-----BEGIN PRIVATE KEY-----\nAQ==\n-----END PRIVATE KEY-----\n";
        for bad in [
            String::new(),
            "Hash=abc".into(),
            "Cert=\"junk\"".into(),
            smuggled,
            // Unterminated quote.
            format!("Cert=\"{}", escaped(&pem)),
            // Two blocks in one value; two PEMs joined by a comma.
            escaped(&format!("{pem}{other}")),
            format!("{},{}", escaped(&pem), escaped(&other)),
            format!("{pem},{other}"),
            // Junk after the PEM, or before it.
            escaped(&format!("{pem}junk")),
            format!("{}%0Ajunk", escaped(&pem)),
            escaped(&format!("junk{pem}")),
            // A PEM armouring bytes that are no certificate; a key.
            escaped(not_x509),
            escaped(key),
            // Two `Cert` pairs in the proxy's element.
            format!("Cert=\"{}\";Cert=\"{}\"", escaped(&pem), escaped(&other)),
        ] {
            assert_eq!(certificate_der(&bad), None, "{bad}");
        }
    }
}
