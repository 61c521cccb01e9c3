//! Verifying one access token: cheap pre-checks first, then the issuer,
//! the key, the signature and the claims.
//!
//! Order matters (RFC 8725 §3.1, §3.2): size and shape, a header that is a
//! JSON object, an allowed `alg`, no `crit` — all before any key lookup, so
//! that junk can neither trigger a JWKS refetch nor reach the crypto. Then
//! the issuer, by the payload's exact `iss`: only its keys and algorithms
//! are considered from there on. Only then the key by `kid` (which must fit
//! the `alg`), the signature, and last the claims.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny};

use crate::keys::jwks::{KeySet, KeyStore};
use crate::settings::checked::Settings;
use crate::settings::config::Config;
use crate::settings::issuer_policy::IssuerPolicy;
use crate::settings::issuer_settings::{IssuerSettings, KeySource};
use crate::verification::cache::TokenCache;
use crate::verification::claims::{ClaimRules, Claims, ScopeClaims};
use crate::verification::issuer_policy::enforce;
use crate::verification::issuers::Issuers;
use crate::verification::trusted_issuer::TrustedIssuer;
use crate::words::algorithms::{self, AlgSet};
use crate::words::clock::Clock;
use crate::words::error::{AuthError, Claim, TokenError};

/// What a verifier checks every issuer's tokens against.
#[derive(Debug, Clone)]
pub struct Policy {
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

impl Default for Policy {
    /// Every field at its documented setting default.
    fn default() -> Self {
        let config = Config::default();
        Policy {
            clock_tolerance: config.clock_tolerance.as_secs_f64(),
            max_token_size: config.max_token_size,
            allow_query_token: config.allow_query_token,
            token_cache_capacity: config.token_cache_capacity,
            token_cache_max_bytes: config.token_cache_max_bytes,
            max_token_age: config.max_token_age.map(|age| age.as_secs_f64()),
            strict: config.strict,
            scope_claims: ScopeClaims::of(&config.scope_claims),
        }
    }
}

impl Policy {
    /// The policy `settings` describe.
    pub(crate) fn from_settings(settings: &Settings) -> Self {
        Policy {
            clock_tolerance: settings.clock_tolerance().as_secs_f64(),
            max_token_size: settings.max_token_size(),
            allow_query_token: settings.allow_query_token(),
            token_cache_capacity: settings.token_cache_capacity(),
            token_cache_max_bytes: settings.token_cache_max_bytes(),
            max_token_age: settings.max_token_age().map(|age| age.as_secs_f64()),
            strict: settings.strict(),
            scope_claims: settings.scope_claims,
        }
    }
}

/// Checks bearer tokens against a [`Policy`] and the trusted issuers.
/// Managed state of the Rocket; the guards find it there.
pub struct Verifier {
    policy: Policy,
    issuers: Arc<Issuers>,
    /// Every algorithm some issuer accepts: the pre-check before routing.
    algorithms: AlgSet,
    cache: Arc<TokenCache>,
    clock: Clock,
}

/// The one claim read before the signature is checked: where to route.
#[derive(Deserialize)]
struct Routing<'a> {
    #[serde(default, borrow)]
    iss: Option<&'a serde_json::value::RawValue>,
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
    /// A verifier of tokens under `policy` from `issuers`.
    pub(crate) fn new(policy: Policy, issuers: Issuers) -> Self {
        let cache =
            Arc::new(TokenCache::new(policy.token_cache_capacity, policy.token_cache_max_bytes));
        let algorithms = match issuers.dynamic_count() {
            // A resolver's issuers may accept any algorithm.
            Some(_) => AlgSet::all(),
            None => {
                issuers.configured().iter().fold(AlgSet::EMPTY, |all, i| all.union(i.allowed()))
            }
        };
        Verifier { policy, issuers: Arc::new(issuers), algorithms, cache, clock: Clock::system() }
    }

    /// Checks times against `clock` rather than the system's.
    pub(crate) fn with_clock(self, clock: Clock) -> Self {
        Verifier { clock, ..self }
    }

    /// A verifier of one issuer's tokens (`issuer`, for `audiences`, signed
    /// with `algorithms` by one of `keys`) under `policy`.
    pub fn single(
        policy: Policy,
        issuer: &str,
        audiences: Vec<String>,
        algorithms: AlgSet,
        keys: KeyStore,
    ) -> Self {
        let settings = IssuerSettings {
            source: KeySource::StaticKey { public_key: String::new(), issuer: issuer.to_owned() },
            audiences,
            allowed: algorithms,
            token_signing_alg: None,
            policy: IssuerPolicy::default(),
            setting: "auth".to_owned(),
            base_url_as_written: None,
        };
        let issuer = TrustedIssuer::loaded(settings, &[], issuer.to_owned(), keys);
        Self::new(policy, Issuers::single(issuer))
    }

    /// What it checks tokens against.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The trusted issuers.
    pub(crate) fn issuers(&self) -> &Arc<Issuers> {
        &self.issuers
    }

    /// Its verified-token cache.
    pub fn cache(&self) -> &Arc<TokenCache> {
        &self.cache
    }

    /// Verifies `token` and returns its claims: from the cache if it was
    /// verified before and still would be, else by the full check. Fails
    /// with 401 `invalid_token`, or 503 while the token's issuer has no
    /// keys yet.
    pub async fn verify(&self, token: &str) -> Result<Arc<Claims>, AuthError> {
        let now = self.clock.unix_seconds();
        if self.cache.is_enabled()
            && let Some(claims) = self.cache.get(token, now)
        {
            return Ok(claims);
        }
        let invalid = AuthError::InvalidToken;

        let (header, signed, signature) = self.precheck(token).map_err(invalid)?;
        let alg = algorithms::parse(&header.alg)
            .filter(|alg| self.algorithms.contains(*alg))
            .ok_or(invalid(TokenError::AlgorithmNotAllowed))?;
        if self.policy.strict && !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(invalid(TokenError::TokenType));
        }

        let payload = signed.split_once('.').map_or("", |(_, payload)| payload);
        let claims = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|json| String::from_utf8(json).ok())
            .ok_or(invalid(TokenError::MalformedClaims))?;
        let issuer = self.issuers.route(&routing_iss(&claims)?).await?;
        if !issuer.allowed().contains(alg) {
            return Err(invalid(TokenError::AlgorithmNotAllowed));
        }
        let (Some(store), Some(iss)) = (issuer.keys(), issuer.iss()) else {
            return Err(AuthError::IssuerUnavailable { retry_after: issuer.retry_after() });
        };

        let keys = key_set_for(store, header.kid.as_deref()).await.map_err(invalid)?;
        let key =
            keys.find(header.kid.as_deref(), alg).ok_or(invalid(TokenError::NoApplicableKey))?;
        let signature =
            URL_SAFE_NO_PAD.decode(signature).map_err(|_| invalid(TokenError::Signature))?;
        if !key.verify(alg, signed.as_bytes(), &signature) {
            return Err(invalid(TokenError::Signature));
        }

        let rules = ClaimRules {
            issuer: iss,
            audiences: issuer.audiences(),
            clock_tolerance: self.policy.clock_tolerance,
            now,
            max_token_age: self.policy.max_token_age,
            strict: self.policy.strict,
            scope_claims: self.policy.scope_claims,
        };
        let claims = rules.check(claims).map_err(invalid)?;
        enforce(&issuer.settings().policy, &claims).map_err(invalid)?;
        let claims = Arc::new(claims.with_token(token));
        let fingerprint = *key.fingerprint();
        self.cache.insert(token, claims.clone(), claims.valid_until(), fingerprint, store.clone());
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
}

/// The `iss` to route a token by, from its not yet verified claims: a
/// string, or the claim error the full check would give.
fn routing_iss(claims: &str) -> Result<String, AuthError> {
    let invalid = AuthError::InvalidToken;
    if claims.trim_ascii_start().as_bytes().first() != Some(&b'{') {
        return Err(invalid(TokenError::MalformedClaims));
    }
    let routing: Routing<'_> =
        serde_json::from_str(claims).map_err(|_| invalid(TokenError::MalformedClaims))?;
    let raw = routing.iss.ok_or(invalid(TokenError::MissingClaim(Claim::Iss)))?;
    match serde_json::from_str::<Option<String>>(raw.get()) {
        Ok(Some(iss)) => Ok(iss),
        Ok(None) => Err(invalid(TokenError::MissingClaim(Claim::Iss))),
        Err(_) => Err(invalid(TokenError::InvalidClaim(Claim::Iss))),
    }
}

/// The key set to find `kid` in: the current one, or — when `kid` is
/// unknown — a refetched one, at most once per cooldown.
async fn key_set_for(keys: &KeyStore, kid: Option<&str>) -> Result<Arc<KeySet>, TokenError> {
    let seen = keys.generation();
    let snapshot = keys.snapshot();
    match kid {
        Some(kid) if !snapshot.has_kid(kid) => {
            log::debug!("unknown kid: asking the key store for a refetch");
            keys.refetch_for_unknown_kid(seen).await.ok_or(TokenError::NoApplicableKey)
        }
        _ => Ok(snapshot),
    }
}

/// RFC 9068 §2.1: `at+jwt`, or in full `application/at+jwt`, any case.
fn is_access_token_type(typ: &str) -> bool {
    typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")
}
