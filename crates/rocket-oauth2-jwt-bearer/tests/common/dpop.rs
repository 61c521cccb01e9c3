//! The client side of DPoP (RFC 9449), made independently of the code
//! under test: keys generated at test time, proofs signed by jsonwebtoken
//! (`jsonwebtoken::crypto::sign` over header and claims we write byte for
//! byte) or, for ES512 and ES256K, which jsonwebtoken lacks, by RustCrypto's
//! `p521` and `k256`; thumbprints computed by jsonwebtoken's `Jwk::thumbprint`.

#![allow(dead_code)]

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::encoding::AsDer;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

use super::keys::{TestKey, b64, merge, now};

/// Who signs: jsonwebtoken, or RustCrypto for the curves it lacks.
enum Signer {
    Jwt { encoding: EncodingKey, alg: Algorithm },
    P521(p521::ecdsa::SigningKey),
    K256(k256::ecdsa::SigningKey),
}

/// A client's DPoP key (also usable as an issuer's key for tokens).
pub struct DpopKey {
    /// The aws-lc-rs key it was made from, for the jsonwebtoken algorithms.
    pub key: Option<TestKey>,
    signer: Signer,
    jwk: Value,
    alg: &'static str,
}

fn random_scalar<const N: usize>() -> [u8; N] {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; N];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes).unwrap();
    bytes
}

impl DpopKey {
    pub fn es256() -> Self {
        Self::from(TestKey::es256("dpop"))
    }

    /// A P-521 key made and used by RustCrypto's `p521`.
    pub fn es512() -> Self {
        let mut scalar = random_scalar::<66>();
        scalar[0] &= 0x01; // below the group order's 521 bits
        let signing = p521::ecdsa::SigningKey::from_slice(&scalar).unwrap();
        let point = p521::ecdsa::VerifyingKey::from(&signing).to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "P-521", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
        DpopKey { key: None, signer: Signer::P521(signing), jwk, alg: "ES512" }
    }

    /// A secp256k1 key made and used by RustCrypto's `k256`.
    pub fn es256k() -> Self {
        let signing = k256::ecdsa::SigningKey::from_slice(&random_scalar::<32>()).unwrap();
        let point = signing.verifying_key().to_encoded_point(false);
        let jwk = json!({"kty": "EC", "crv": "secp256k1", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
        DpopKey { key: None, signer: Signer::K256(signing), jwk, alg: "ES256K" }
    }

    pub fn from(key: TestKey) -> Self {
        let (encoding, jwt_alg) = match &key {
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
        let mut jwk = key.jwk();
        merge(&mut jwk, json!({"kid": null, "use": null}));
        let alg = key.alg();
        DpopKey { key: Some(key), signer: Signer::Jwt { encoding, alg: jwt_alg }, jwk, alg }
    }

    /// The public JWK a proof carries: the required members only.
    pub fn jwk(&self) -> Value {
        self.jwk.clone()
    }

    /// The RFC 7638 thumbprint, as jsonwebtoken computes it; for the
    /// curves it doesn't know (P-521, secp256k1), by the RFC's recipe here.
    pub fn jkt(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap_or_else(|_| {
            let member = |name: &str| self.jwk[name].as_str().unwrap().to_owned();
            let canonical = format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member("crv"),
                member("x"),
                member("y")
            );
            b64(digest(&SHA256, canonical.as_bytes()))
        })
    }

    pub fn alg_name(&self) -> &'static str {
        self.alg
    }

    /// Signs exactly `header` and `claims` (as JSON text) with the key's
    /// algorithm.
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        use p521::ecdsa::signature::Signer as _;

        let input = format!("{}.{}", b64(header), b64(claims));
        let signature = match &self.signer {
            Signer::Jwt { encoding, alg } => {
                jsonwebtoken::crypto::sign(input.as_bytes(), encoding, *alg).unwrap()
            }
            // Each hashes the input itself: SHA-512 for P-521, SHA-256 for secp256k1.
            Signer::P521(key) => {
                let signature: p521::ecdsa::Signature = key.sign(input.as_bytes());
                b64(signature.to_bytes())
            }
            Signer::K256(key) => {
                let signature: k256::ecdsa::Signature = key.sign(input.as_bytes());
                b64(signature.to_bytes())
            }
        };
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
        self.sign_raw(&full_header.to_string(), &full_claims.to_string())
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
