//! Keys made at test time and tokens signed with them, byte for byte.
//!
//! Shared by the integration tests and the benchmarks. Tokens are signed
//! with aws-lc-rs directly rather than through jsonwebtoken, so that callers
//! control every byte of the header and payload (duplicate members, `crit`,
//! odd `alg`s, non-canonical base64url).

#![allow(dead_code)]

use std::time::{SystemTime, UNIX_EPOCH};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as sig, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

pub const AUDIENCE: &str = "https://api.example.test";

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs() as i64
}

/// A signing key made at test time.
pub enum TestKey {
    Rsa {
        kid: String,
        pair: sig::RsaKeyPair,
    },
    Ec {
        kid: String,
        pair: sig::EcdsaKeyPair,
        crv: &'static str,
    },
    Ed {
        kid: String,
        pair: sig::Ed25519KeyPair,
    },
    /// A shared secret (for forged `HS*` tokens).
    Hmac {
        kid: String,
        secret: Vec<u8>,
    },
}

impl TestKey {
    pub fn rsa(kid: &str) -> Self {
        let pair = sig::RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        TestKey::Rsa { kid: kid.into(), pair }
    }

    pub fn es256(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "P-256" }
    }

    pub fn es384(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "P-384" }
    }

    pub fn es512(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P521_SHA512_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "P-521" }
    }

    pub fn es256k(kid: &str) -> Self {
        let pair = sig::EcdsaKeyPair::generate(&sig::ECDSA_P256K1_SHA256_FIXED_SIGNING).unwrap();
        TestKey::Ec { kid: kid.into(), pair, crv: "secp256k1" }
    }

    pub fn ed25519(kid: &str) -> Self {
        TestKey::Ed { kid: kid.into(), pair: sig::Ed25519KeyPair::generate().unwrap() }
    }

    pub fn hmac(kid: &str, secret: &[u8]) -> Self {
        TestKey::Hmac { kid: kid.into(), secret: secret.to_vec() }
    }

    pub fn kid(&self) -> &str {
        match self {
            TestKey::Rsa { kid, .. }
            | TestKey::Ec { kid, .. }
            | TestKey::Ed { kid, .. }
            | TestKey::Hmac { kid, .. } => kid,
        }
    }

    /// The algorithm this key signs with by default.
    pub fn alg(&self) -> &'static str {
        match self {
            TestKey::Rsa { .. } => "RS256",
            TestKey::Ec { crv: "P-256", .. } => "ES256",
            TestKey::Ec { crv: "P-384", .. } => "ES384",
            TestKey::Ec { crv: "P-521", .. } => "ES512",
            TestKey::Ec { .. } => "ES256K",
            TestKey::Ed { .. } => "EdDSA",
            TestKey::Hmac { .. } => "HS256",
        }
    }

    /// The public JWK, with `kid` and `use: sig`.
    pub fn jwk(&self) -> Value {
        match self {
            TestKey::Rsa { kid, pair } => {
                let public = sig::RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                json!({"kty": "RSA", "kid": kid, "use": "sig", "n": b64(public.n), "e": b64(public.e)})
            }
            TestKey::Ec { kid, pair, crv } => {
                let point = pair.public_key().as_ref();
                let half = (point.len() - 1) / 2;
                json!({"kty": "EC", "kid": kid, "use": "sig", "crv": crv,
                       "x": b64(&point[1..1 + half]), "y": b64(&point[1 + half..])})
            }
            TestKey::Ed { kid, pair } => {
                json!({"kty": "OKP", "kid": kid, "use": "sig", "crv": "Ed25519",
                       "x": b64(pair.public_key().as_ref())})
            }
            TestKey::Hmac { kid, secret } => json!({"kty": "oct", "kid": kid, "k": b64(secret)}),
        }
    }

    /// The raw signature of `input` with `alg`.
    pub fn sign(&self, alg: &str, input: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            TestKey::Rsa { pair, .. } => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    "RS384" => &sig::RSA_PKCS1_SHA384,
                    "RS512" => &sig::RSA_PKCS1_SHA512,
                    "PS256" => &sig::RSA_PSS_SHA256,
                    "PS384" => &sig::RSA_PSS_SHA384,
                    "PS512" => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, input, &mut out).unwrap();
                out
            }
            TestKey::Ec { pair, .. } => pair.sign(&rng, input).unwrap().as_ref().to_vec(),
            TestKey::Ed { pair, .. } => pair.sign(input).as_ref().to_vec(),
            TestKey::Hmac { secret, .. } => {
                let algorithm = match alg {
                    "HS384" => aws_lc_rs::hmac::HMAC_SHA384,
                    "HS512" => aws_lc_rs::hmac::HMAC_SHA512,
                    _ => aws_lc_rs::hmac::HMAC_SHA256,
                };
                let key = aws_lc_rs::hmac::Key::new(algorithm, secret);
                aws_lc_rs::hmac::sign(&key, input).as_ref().to_vec()
            }
        }
    }

    /// A token with exactly this header and payload text, signed with `alg`.
    pub fn sign_raw(&self, alg: &str, header: &str, payload: &str) -> String {
        let input = format!("{}.{}", b64(header), b64(payload));
        let signature = self.sign(alg, input.as_bytes());
        format!("{input}.{}", b64(signature))
    }

    /// A token with the key's default `alg` and `kid`, and `claims`.
    pub fn token(&self, claims: &Value) -> String {
        self.token_with(json!({}), claims)
    }

    /// Like [`token`](Self::token), with `header` members merged over the
    /// default `{"alg", "typ", "kid"}` (`null` removes one).
    pub fn token_with(&self, header: Value, claims: &Value) -> String {
        let mut full = json!({"alg": self.alg(), "typ": "JWT", "kid": self.kid()});
        merge(&mut full, header);
        let alg = full["alg"].as_str().unwrap_or("RS256").to_owned();
        self.sign_raw(&alg, &full.to_string(), &claims.to_string())
    }
}

/// Merges `changes` over `target`; a `null` member removes the key.
pub fn merge(target: &mut Value, changes: Value) {
    let target = target.as_object_mut().unwrap();
    for (key, value) in changes.as_object().unwrap() {
        if value.is_null() {
            target.remove(key);
        } else {
            target.insert(key.clone(), value.clone());
        }
    }
}

impl TestKey {
    /// The public key as a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn spki_pem(&self) -> String {
        use aws_lc_rs::encoding::{AsDer, PublicKeyX509Der};
        let der: PublicKeyX509Der<'static> = match self {
            TestKey::Rsa { pair, .. } => pair.public_key().as_der().unwrap(),
            TestKey::Ec { pair, .. } => pair.public_key().as_der().unwrap(),
            TestKey::Ed { pair, .. } => pair.public_key().as_der().unwrap(),
            TestKey::Hmac { .. } => panic!("no public key"),
        };
        pem("PUBLIC KEY", der.as_ref())
    }

    /// An RSA public key as a PEM `RSA PUBLIC KEY` (PKCS#1).
    pub fn pkcs1_pem(&self) -> String {
        match self {
            TestKey::Rsa { pair, .. } => pem("RSA PUBLIC KEY", pair.public_key().as_ref()),
            _ => panic!("not an RSA key"),
        }
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> =
        body.as_bytes().chunks(64).map(|c| std::str::from_utf8(c).unwrap()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}
