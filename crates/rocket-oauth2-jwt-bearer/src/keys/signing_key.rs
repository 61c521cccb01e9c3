//! An RS256 signing key made at launch, for the issuers this crate runs
//! itself: the development issuer and the test issuer. Never used to
//! verify anything but its own tokens.

use aws_lc_rs::error::Unspecified;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

/// A fresh RS256 key pair with a random `kid`.
pub(crate) struct SigningKey {
    kid: String,
    encoding: EncodingKey,
    public: RsaPublicKeyComponents<Vec<u8>>,
}

impl SigningKey {
    /// Generates one; `prefix` starts its `kid`.
    pub(crate) fn generate(prefix: &str) -> Result<Self, Unspecified> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)?;
        let pkcs8 = aws_lc_rs::encoding::AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair)?;
        // jsonwebtoken reads PKCS#8 RSA keys from PEM only.
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            STANDARD.encode(pkcs8.as_ref())
        );
        // jsonwebtoken reads back the PKCS#8 aws-lc-rs just wrote.
        let encoding = EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| Unspecified)?;
        Ok(SigningKey {
            kid: format!("{prefix}-{}", random_id::<12>()?),
            encoding,
            public: RsaPublicKeyComponents::from(pair.public_key()),
        })
    }

    /// The public key, for a verifier's key store.
    #[cfg(feature = "dev-issuer")]
    pub(crate) fn key_set(&self) -> crate::keys::jwks::KeySet {
        use crate::keys::jwk::{PublicKey, VerifyingKey};
        use crate::keys::jwks::KeySet;
        use crate::words::algorithms::{AlgSet, Algorithm};

        let material = PublicKey::Rsa { n: &self.public.n, e: &self.public.e };
        let key =
            VerifyingKey::new(Some(self.kid.clone()), material, AlgSet::of(&[Algorithm::RS256]))
                .expect("a freshly generated RSA key parses");
        KeySet::new(vec![key])
    }

    /// The public JWK Set to serve.
    pub(crate) fn jwks(&self) -> Value {
        json!({ "keys": [{
            "kty": "RSA",
            "kid": self.kid,
            "use": "sig",
            "alg": "RS256",
            "n": URL_SAFE_NO_PAD.encode(&self.public.n),
            "e": URL_SAFE_NO_PAD.encode(&self.public.e),
        }]})
    }

    /// A token with header `typ` `typ` and these claims, signed RS256.
    pub(crate) fn sign(
        &self,
        typ: &str,
        claims: &Value,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let mut header = Header::new(jsonwebtoken::Algorithm::RS256);
        header.typ = Some(typ.to_owned());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
    }
}

/// `N` random bytes, base64url.
pub(crate) fn random_id<const N: usize>() -> Result<String, Unspecified> {
    let mut bytes = [0u8; N];
    SystemRandom::new().fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}
