//! The client side of DPoP (RFC 9449), made independently of the code
//! under test: keys generated at test time, proofs signed by jsonwebtoken
//! (`jsonwebtoken::crypto::sign` over header and claims we write byte for
//! byte), thumbprints computed by jsonwebtoken's `Jwk::thumbprint`.

#![allow(dead_code)]

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::encoding::AsDer;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{json, Value};

use super::keys::{b64, merge, now, TestKey};

/// A client's DPoP key: the test key and jsonwebtoken's signing key for it.
pub struct DpopKey {
    pub key: TestKey,
    encoding: EncodingKey,
    alg: Algorithm,
}

impl DpopKey {
    pub fn es256() -> Self {
        Self::from(TestKey::es256("dpop"))
    }

    pub fn from(key: TestKey) -> Self {
        let (encoding, alg) = match &key {
            TestKey::Rsa { pair, .. } => {
                let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(pair).unwrap();
                let pem = pem::encode(&pem::Pem::new("PRIVATE KEY", der.as_ref().to_vec()));
                (EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(), Algorithm::RS256)
            }
            TestKey::Ec { pair, crv, .. } => {
                let der = pair.to_pkcs8v1().unwrap();
                let alg = if *crv == "P-256" { Algorithm::ES256 } else { Algorithm::ES384 };
                (EncodingKey::from_ec_der(der.as_ref()), alg)
            }
            TestKey::Ed { pair, .. } => {
                (EncodingKey::from_ed_der(pair.to_pkcs8v1().unwrap().as_ref()), Algorithm::EdDSA)
            }
            TestKey::Hmac { .. } => panic!("DPoP keys are asymmetric"),
        };
        DpopKey { key, encoding, alg }
    }

    /// The public JWK a proof carries: the required members only.
    pub fn jwk(&self) -> Value {
        let mut jwk = self.key.jwk();
        merge(&mut jwk, json!({"kid": null, "use": null}));
        jwk
    }

    /// The RFC 7638 thumbprint, as jsonwebtoken computes it.
    pub fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    pub fn alg_name(&self) -> &'static str {
        self.key.alg()
    }

    /// Signs exactly `header` and `claims` (as JSON text) with `alg`.
    pub fn sign_raw(&self, alg: Algorithm, header: &str, claims: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, alg).unwrap();
        format!("{input}.{signature}")
    }

    /// A valid proof for `htm` `htu` presenting `token`.
    pub fn proof(&self, htm: &str, htu: &str, token: &str) -> String {
        self.proof_with(htm, htu, token, json!({}), json!({}))
    }

    /// A proof with `header` and `claims` members merged over the valid
    /// ones (`null` removes a member).
    pub fn proof_with(
        &self,
        htm: &str,
        htu: &str,
        token: &str,
        header: Value,
        claims: Value,
    ) -> String {
        let mut full_header = json!({"typ": "dpop+jwt", "alg": self.alg_name(), "jwk": self.jwk()});
        merge(&mut full_header, header);
        let mut full_claims = json!({
            "jti": unique_id(),
            "htm": htm,
            "htu": htu,
            "iat": now(),
            "ath": ath(token),
        });
        merge(&mut full_claims, claims);
        self.sign_raw(self.alg, &full_header.to_string(), &full_claims.to_string())
    }
}

/// base64url(SHA-256(token)).
pub fn ath(token: &str) -> String {
    b64(digest(&SHA256, token.as_bytes()))
}

/// A fresh `jti`.
pub fn unique_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("{}-{}-{}", std::process::id(), now(), NEXT.fetch_add(1, Ordering::Relaxed))
}
