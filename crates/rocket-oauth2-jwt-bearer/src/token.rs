//! Verifying one access token: cheap pre-checks first, then the key, the
//! signature and the claims.
//!
//! Order matters (RFC 8725 §3.1, §3.2): size and shape, a header that is a
//! JSON object, an allowed `alg`, no `crit` — all before any key lookup, so
//! that junk can neither trigger a JWKS refetch nor reach the crypto. Only
//! then the key by `kid` (which must fit the `alg`), the signature, and last
//! the claims.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::{Deserializer, IgnoredAny};
use serde::Deserialize;

use crate::algorithms::{self, AlgSet};
use crate::cache::TokenCache;
use crate::claims::{ClaimRules, Claims, ScopeClaims};
use crate::error::TokenError;
use crate::jwks::{KeySet, KeyStore};
use crate::settings::defaults;

/// What a verifier checks tokens against.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The exact `iss` to require.
    pub issuer: String,
    /// Accepted `aud` values (any of).
    pub audiences: Vec<String>,
    /// Accepted `alg` values.
    pub algorithms: AlgSet,
    /// Allowed clock skew for `exp` and `nbf`, in seconds.
    pub clock_tolerance: f64,
    /// Longest accepted token, in bytes.
    pub max_token_size: usize,
    /// Whether `?access_token=` is accepted.
    pub allow_query_token: bool,
    /// Verified tokens remembered; 0 disables the cache.
    pub token_cache_capacity: usize,
    /// The most bytes the verified-token cache holds; 0 disables it.
    pub token_cache_max_bytes: u64,
    /// Oldest accepted token, in seconds since `iat`.
    pub max_token_age: Option<f64>,
    /// RFC 9068 profile: `typ: at+jwt` and the full set of claims.
    pub strict: bool,
    /// Which claims hold scopes.
    pub scope_claims: ScopeClaims,
}

impl Policy {
    /// A policy for `issuer` and `audiences` accepting `algorithms`, with
    /// every other field at its documented setting default.
    pub fn new(issuer: impl Into<String>, audiences: Vec<String>, algorithms: AlgSet) -> Self {
        Policy {
            issuer: issuer.into(),
            audiences,
            algorithms,
            clock_tolerance: defaults::clock_tolerance().as_secs_f64(),
            max_token_size: defaults::max_token_size(),
            allow_query_token: false,
            token_cache_capacity: defaults::token_cache_capacity(),
            token_cache_max_bytes: defaults::token_cache_max_bytes(),
            max_token_age: None,
            strict: false,
            scope_claims: ScopeClaims::default(),
        }
    }
}

/// Checks bearer tokens against a [`Policy`] and a [`KeyStore`]. Managed
/// state of the Rocket; the guards find it there.
pub struct Verifier {
    policy: Policy,
    keys: Arc<KeyStore>,
    cache: Arc<TokenCache>,
}

/// The JOSE header fields this service acts on. Unknown fields are ignored
/// (`jku`, `x5u`, `jwk`, `x5c` included: keys come only from configuration);
/// a repeated field makes the header malformed.
#[derive(Deserialize)]
struct Header {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default, deserialize_with = "present")]
    crit: bool,
}

/// `true` for any value, `null` included: `crit` only has to be there.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    IgnoredAny::deserialize(d).map(|_| true)
}

impl Verifier {
    /// A verifier of tokens under `policy` with `keys`.
    pub fn new(policy: Policy, keys: Arc<KeyStore>) -> Self {
        let cache =
            Arc::new(TokenCache::new(policy.token_cache_capacity, policy.token_cache_max_bytes));
        Verifier { policy, keys, cache }
    }

    /// What it checks tokens against.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Its key store.
    pub(crate) fn keys(&self) -> &Arc<KeyStore> {
        &self.keys
    }

    /// Its verified-token cache.
    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// Verifies `token` and returns its claims: from the cache if it was
    /// verified before and still would be, else by the full check.
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, TokenError> {
        let now = now();
        if self.cache.is_enabled() {
            if let Some(claims) = self.cache.get(token, now, &self.keys.snapshot()) {
                return Ok(claims);
            }
        }

        let (header, signed, signature) = self.precheck(token)?;
        let alg = algorithms::parse(&header.alg)
            .filter(|alg| self.policy.algorithms.contains(*alg))
            .ok_or(TokenError::AlgorithmNotAllowed)?;
        if self.policy.strict && !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(TokenError::TokenType);
        }

        let keys = self.key_set_for(header.kid.as_deref()).await?;
        let key = keys.find(header.kid.as_deref(), alg).ok_or(TokenError::NoApplicableKey)?;
        let signature = URL_SAFE_NO_PAD.decode(signature).map_err(|_| TokenError::Signature)?;
        if !key.verify(alg, signed.as_bytes(), &signature) {
            return Err(TokenError::Signature);
        }

        let payload = signed.split_once('.').map_or("", |(_, payload)| payload);
        let claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| String::from_utf8(json).ok())
            .ok_or(TokenError::MalformedClaims)?;

        let rules = ClaimRules {
            issuer: &self.policy.issuer,
            audiences: &self.policy.audiences,
            clock_tolerance: self.policy.clock_tolerance,
            now,
            max_token_age: self.policy.max_token_age,
            strict: self.policy.strict,
            scope_claims: self.policy.scope_claims,
        };
        let claims = Arc::new(rules.check(claims)?);
        self.cache.insert(token, claims.clone(), claims.valid_until(), *key.fingerprint());
        Ok(claims)
    }

    /// Size, shape and header checks. Returns the header, the signed part
    /// (`header.payload`) and the signature segment.
    fn precheck<'t>(&self, token: &'t str) -> Result<(Header, &'t str, &'t str), TokenError> {
        if token.len() > self.policy.max_token_size {
            return Err(TokenError::TooLarge);
        }

        let (signed, signature) = token.rsplit_once('.').ok_or(TokenError::Malformed)?;
        let (header, payload) = signed.split_once('.').ok_or(TokenError::Malformed)?;
        let is_segment = |s: &str| {
            !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        };
        if ![header, payload, signature].into_iter().all(is_segment) {
            return Err(TokenError::Malformed);
        }

        // Strict base64url: no padding, no non-zero trailing bits, so each
        // token has exactly one spelling.
        let header = URL_SAFE_NO_PAD.decode(header).map_err(|_| TokenError::Malformed)?;
        // A derived `Deserialize` also accepts a JSON array, field by field
        // (`["RS256"]`); RFC 7515 §4 wants an object.
        if header.trim_ascii_start().first() != Some(&b'{') {
            return Err(TokenError::Malformed);
        }
        let header: Header = serde_json::from_slice(&header).map_err(|_| TokenError::Malformed)?;
        if header.crit {
            // RFC 7515 §4.1.11: extensions listed in `crit` MUST be
            // understood, and this service understands none.
            return Err(TokenError::CriticalHeader);
        }

        Ok((header, signed, signature))
    }

    /// The key set to find `kid` in: the current one, or — when `kid` is
    /// unknown — a refetched one, at most once per cooldown.
    async fn key_set_for(&self, kid: Option<&str>) -> Result<Arc<KeySet>, TokenError> {
        let seen = self.keys.generation();
        let keys = self.keys.snapshot();
        match kid {
            Some(kid) if !keys.has_kid(kid) => {
                log::debug!("unknown kid: asking the key store for a refetch");
                self.keys.refetch_for_unknown_kid(seen).await.ok_or(TokenError::NoApplicableKey)
            }
            _ => Ok(keys),
        }
    }
}

/// RFC 9068 §2.1: `at+jwt`, or in full `application/at+jwt`, any case.
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}
