//! DPoP-bound access tokens on the resource server (RFC 9449 §7): the
//! `DPoP` scheme, its proof, the binding to the token's `cnf.jkt`,
//! server nonces and replay detection.
//!
//! A DPoP request is checked in this order: exactly one `DPoP` header
//! field (400 otherwise); the target URI, which needs a `public_url` or a
//! well-formed `Host` (400 otherwise); the proof's form ([`proof::parse`]:
//! 401 `invalid_dpop_proof`); the access token, as a bearer token would be
//! (401 `invalid_token`, from the token cache when it was verified
//! before); then the proof's key, signature and claims; its key's
//! thumbprint against the token's `cnf.jkt`, compared in constant time
//! (401 `invalid_token`); the nonce, when nonces are on (401
//! `use_dpop_nonce` with a fresh one); and last the replay check, so that
//! only a proof that passed everything else is recorded. The token comes
//! before the proof's crypto so that a request without a valid token costs
//! no more than a bearer request: the proof key is the client's choice
//! (up to RSA-4096), the token's key the issuer's. Nothing of the proof or
//! the binding is cached: each request proves possession anew.

mod nonce;
pub(crate) mod proof;
pub(crate) mod proof_keys;
#[cfg(feature = "redis")]
mod redis_store;
mod replay;
pub(crate) mod replay_cache;
pub(crate) mod target_uri;

use std::sync::Arc;

use aws_lc_rs::constant_time;
use rocket::Request;
use rocket::http::Method;

use crate::settings::config::DpopMode;
use crate::settings::dpop::DpopSettings;
use crate::settings::trusted_proxies::TrustedProxies;
use crate::verification::claims::Claims;
use crate::words::algorithms;
use crate::words::binding::Binding;
use crate::words::clock::Clock;
use crate::words::error::{AuthError, ProofError, RequestError, TokenError};
use nonce::Nonces;
use proof::{Proof, ProofRules};
use proof_keys::ProofKeys;
use replay::Refusal;
pub(crate) use replay::{ReplayGuard, StoreUrlError};

/// A proof whose form passed, waiting for its token's claims.
pub(crate) struct PendingProof<'r> {
    parsed: proof::ParsedProof<'r>,
    target: String,
    now: f64,
}

/// A fresh nonce for the answer to this request (`DPoP-Nonce`), set by
/// the fairing's response callback.
#[derive(Debug, Clone, Default)]
pub(crate) struct NextNonce(pub(crate) Option<String>);

/// The method the client sent. Rocket answers `HEAD` with the `GET` route,
/// switching the request's method to `GET` before routing, while the proof
/// names `HEAD`; the fairing records it before that happens.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SentMethod(Method);

impl SentMethod {
    /// Records `req`'s method, before routing.
    pub(crate) fn record(req: &Request<'_>) {
        if req.method() == Method::Head {
            req.local_cache(|| SentMethod(Method::Head));
        }
    }

    fn of(req: &Request<'_>) -> Method {
        req.local_cache(|| SentMethod(req.method())).0
    }
}

/// The DPoP side of the verifier: managed state of the Rocket, next to
/// the verifier.
pub(crate) struct Dpop {
    settings: DpopSettings,
    proxies: TrustedProxies,
    nonces: Option<Nonces>,
    replay: Arc<ReplayGuard>,
    keys: ProofKeys,
    /// The `algs` of the `DPoP` challenge (RFC 9449 §7.1).
    algs: String,
    clock: Clock,
}

impl Dpop {
    /// DPoP as `settings` describe it, trusting forwarding headers from
    /// `proxies`; the error says what is wrong with the replay store.
    pub(crate) fn new(
        settings: &DpopSettings,
        proxies: TrustedProxies,
        clock: Clock,
    ) -> Result<Self, StoreUrlError> {
        let nonces = settings
            .nonce
            .then(|| Nonces::new(settings.nonce_secret.as_ref(), settings.nonce_lifetime));
        let algs: Vec<&str> = settings.algorithms.iter().map(algorithms::name_of).collect();
        Ok(Dpop {
            replay: Arc::new(ReplayGuard::new(settings)?),
            settings: settings.clone(),
            proxies,
            nonces,
            keys: ProofKeys::default(),
            algs: algs.join(" "),
            clock,
        })
    }

    /// `dpop.mode`.
    pub(crate) fn mode(&self) -> DpopMode {
        self.settings.mode
    }

    /// The proof algorithms, space-separated.
    pub(crate) fn algs(&self) -> &str {
        &self.algs
    }

    /// Replay detection, for metrics and readiness.
    pub(crate) fn replay(&self) -> &Arc<ReplayGuard> {
        &self.replay
    }

    /// The `DPoP` header of `req`: `None` without one, an error for two
    /// fields or a list (a compact JWS never holds a comma).
    fn proof_header<'r>(req: &'r Request<'_>) -> Result<Option<&'r str>, AuthError> {
        let mut fields = req.headers().get("DPoP");
        match (fields.next(), fields.next()) {
            (None, _) => Ok(None),
            (Some(proof), None) if !proof.contains(',') => Ok(Some(proof.trim())),
            _ => Err(AuthError::InvalidRequest(RequestError::RepeatedProof)),
        }
    }

    /// Whether a `Bearer`-scheme request may go on to its token check:
    /// not when DPoP is required, and not with a proof beside it (a client
    /// mixing up schemes; RFC 9449 §7.2 wants it refused, not ignored).
    pub(crate) fn admit_bearer(&self, req: &Request<'_>) -> Result<(), AuthError> {
        match self.mode() {
            DpopMode::Required => Err(AuthError::DpopRequired),
            DpopMode::Allowed if Self::proof_header(req)?.is_some() => {
                Err(AuthError::InvalidRequest(RequestError::ProofWithBearer))
            }
            DpopMode::Allowed | DpopMode::Disabled => Ok(()),
        }
    }

    /// The first half of a `DPoP`-scheme request's checks, before its
    /// token is verified: exactly one proof, and the proof's form (see the
    /// module docs). The caller verifies the token, then calls
    /// [`bind`](Self::bind) with its claims.
    pub(crate) fn precheck<'r>(&self, req: &'r Request<'_>) -> Result<PendingProof<'r>, AuthError> {
        let proof =
            Self::proof_header(req)?.ok_or(AuthError::InvalidDpopProof(ProofError::Missing))?;
        let now = self.clock.unix_seconds();
        let target = self.target(req)?;
        let parsed =
            proof::parse(proof, self.settings.algorithms).map_err(AuthError::InvalidDpopProof)?;
        Ok(PendingProof { parsed, target, now })
    }

    /// The second half, once `token` verified as `claims`: the proof's
    /// key, signature and claims, its key against the token's `cnf.jkt`,
    /// the nonce, and the replay check. The binding proven, or why not.
    pub(crate) async fn bind(
        &self,
        req: &Request<'_>,
        pending: PendingProof<'_>,
        token: &str,
        claims: &Claims,
    ) -> Result<Binding, AuthError> {
        let PendingProof { parsed, target, now } = pending;
        let proof = parsed
            .verify(&self.rules(req, &target, Some(token), now))
            .map_err(AuthError::InvalidDpopProof)?;

        let jkt = claims.jkt().ok_or(AuthError::InvalidToken(TokenError::NotDpopBound))?;
        if constant_time::verify_slices_are_equal(jkt.as_bytes(), proof.jkt.as_bytes()).is_err() {
            return Err(AuthError::InvalidToken(TokenError::KeyBinding));
        }

        if let Some(nonce) = self.accept(&proof, now).await? {
            req.local_cache(|| NextNonce(Some(nonce)));
        }
        Ok(Binding::Dpop { jkt: proof.jkt })
    }

    /// The request's target URI, which the proof's `htu` must name.
    fn target(&self, req: &Request<'_>) -> Result<String, AuthError> {
        let public_url = self.settings.public_url.as_deref();
        target_uri::of_request(req, public_url, &self.proxies)
            .map_err(|unknown| AuthError::InvalidRequest(unknown.into()))
    }

    /// What a proof of `req` for `target` is checked against.
    fn rules<'a>(
        &'a self,
        req: &Request<'_>,
        target: &'a str,
        access_token: Option<&'a str>,
        now: f64,
    ) -> ProofRules<'a> {
        ProofRules {
            algorithms: self.settings.algorithms,
            method: SentMethod::of(req).as_str(),
            target,
            access_token,
            now,
            iat_offset: self.settings.iat_offset.as_secs_f64(),
            iat_leeway: self.settings.iat_leeway.as_secs_f64(),
            keys: &self.keys,
        }
    }

    /// The checks of a proof that passed every other: nonce, then replay.
    /// Returns the nonce to hand out with the answer, when the proof's is
    /// getting old (RFC 9449 §9 lets any answer carry a fresh one).
    async fn accept(&self, proof: &Proof, now: f64) -> Result<Option<String>, AuthError> {
        let seconds = now as i64;
        let mut next = None;
        if let Some(nonces) = &self.nonces {
            let now = seconds as u64;
            match proof.nonce.as_deref().and_then(|nonce| nonces.age(nonce, now)) {
                None => return Err(AuthError::UseDpopNonce { nonce: nonces.issue(now) }),
                Some(age) if nonces.is_aging(age) => next = Some(nonces.issue(now)),
                Some(_) => {}
            }
        }
        self.record(proof, seconds).await?;
        Ok(next)
    }

    /// Records `proof` as used, or says why it can't be accepted.
    async fn record(&self, proof: &Proof, seconds: i64) -> Result<(), AuthError> {
        self.replay.check(proof, seconds).await.map_err(|refusal| match refusal {
            Refusal::Replayed => AuthError::InvalidDpopProof(ProofError::Replayed),
            Refusal::BeyondWatermark => AuthError::InvalidDpopProof(ProofError::BeyondReplayWindow),
            Refusal::StoreUnavailable => AuthError::ReplayStoreUnavailable { retry_after: 1 },
        })
    }

    /// For the development issuer's token endpoint (RFC 9449 §5): the
    /// thumbprint of the key whose proof came with the request, `None`
    /// without a `DPoP` header. The proof is checked as a resource
    /// request's is, without `ath` (there is no access token yet) and
    /// without a nonce (the nonces are this resource server's).
    #[cfg(feature = "dev-issuer")]
    pub(crate) async fn token_request_key(
        &self,
        req: &Request<'_>,
    ) -> Result<Option<String>, AuthError> {
        let Some(proof) = Self::proof_header(req)? else { return Ok(None) };
        let now = self.clock.unix_seconds();
        let target = self.target(req)?;
        let proof = proof::verify(proof, &self.rules(req, &target, None, now))
            .map_err(AuthError::InvalidDpopProof)?;
        self.record(&proof, now as i64).await?;
        Ok(Some(proof.jkt))
    }
}
