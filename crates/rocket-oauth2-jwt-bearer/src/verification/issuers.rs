//! The trusted issuers, and which one a token belongs to: routed by its
//! exact `iss`, read before any key lookup.
//!
//! Configured issuers are fixed at launch. Those a resolver approves at run
//! time are kept in a bounded LRU with single-flight creation: concurrent
//! first tokens of one new issuer share one resolver call and one key-set
//! load, and an idle issuer is dropped.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quick_cache::sync::Cache;

use crate::keys::load::load_issuer;
use crate::settings::checked::Settings;
use crate::verification::resolver::IssuerResolver;
use crate::verification::trusted_issuer::TrustedIssuer;
use crate::words::error::{AuthError, TokenError};

/// The longest `iss` a resolver is asked about: no real issuer identifier
/// comes near, and a bound keeps the refusal cache's entries small.
const MAX_RESOLVED_ISS: usize = 512;

/// How long a resolver's refusal (or a failed load) is remembered.
const REFUSAL_TTL: Duration = Duration::from_secs(30);

/// Every trusted issuer.
pub(crate) struct Issuers {
    configured: Vec<Arc<TrustedIssuer>>,
    by_iss: HashMap<String, Arc<TrustedIssuer>>,
    dynamic: Option<Dynamic>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issuers")
            .field("configured", &self.configured.len())
            .field("dynamic", &self.dynamic.as_ref().map(|d| d.cache.len()))
            .finish()
    }
}

impl Issuers {
    pub(crate) fn new(
        configured: Vec<TrustedIssuer>,
        resolver: Option<Arc<dyn IssuerResolver>>,
        settings: &Settings,
    ) -> Self {
        let dynamic = resolver.map(|resolver| Dynamic {
            resolver,
            cache: Cache::new(settings.dynamic_issuers_max().max(1)),
            settings: Arc::new(settings.clone()),
            idle: settings.dynamic_issuer_idle(),
            epoch: Instant::now(),
        });
        Self::with(configured, dynamic)
    }

    /// Exactly one configured issuer, its keys given: the development
    /// issuer, and what benchmarks and property tests verify against.
    pub(crate) fn single(issuer: TrustedIssuer) -> Self {
        Self::with(vec![issuer], None)
    }

    fn with(configured: Vec<TrustedIssuer>, dynamic: Option<Dynamic>) -> Self {
        let configured: Vec<_> = configured.into_iter().map(Arc::new).collect();
        let mut by_iss = HashMap::new();
        for issuer in &configured {
            for iss in issuer.routes() {
                by_iss.entry(iss.to_owned()).or_insert_with(|| issuer.clone());
            }
        }
        Issuers { configured, by_iss, dynamic }
    }

    /// The configured issuers, in configuration order.
    pub(crate) fn configured(&self) -> &[Arc<TrustedIssuer>] {
        &self.configured
    }

    /// How many issuers a resolver approved are held now.
    pub(crate) fn dynamic_count(&self) -> Option<usize> {
        self.dynamic.as_ref().map(|d| d.cache.len())
    }

    /// The issuers a resolver approved that are held now.
    #[cfg(feature = "metrics")]
    pub(crate) fn dynamic(&self) -> Vec<Arc<TrustedIssuer>> {
        let Some(dynamic) = &self.dynamic else { return vec![] };
        dynamic
            .cache
            .iter()
            .filter_map(|(_, slot)| match &slot.answer {
                Answer::Trusted(issuer) => Some(issuer.clone()),
                _ => None,
            })
            .collect()
    }

    /// The issuer a token claiming `iss` belongs to. An `iss` that no
    /// configured issuer has and no resolver approves is `Unexpected 'iss'
    /// value`, and costs no network request.
    pub(crate) async fn route(&self, iss: &str) -> Result<Arc<TrustedIssuer>, AuthError> {
        if let Some(issuer) = self.by_iss.get(iss) {
            // A discovered issuer is expected under both spellings of its
            // base URL until its exact `iss` is known; then only that one.
            return match issuer.claims(iss) {
                true => Ok(issuer.clone()),
                false => Err(AuthError::InvalidToken(TokenError::Issuer)),
            };
        }
        match &self.dynamic {
            Some(dynamic) => dynamic.route(iss).await,
            None => Err(AuthError::InvalidToken(TokenError::Issuer)),
        }
    }

    /// Drops resolver issuers unused for `dynamic_issuer_idle`; the
    /// fairing's task calls it periodically.
    pub(crate) fn evict_idle(&self) {
        if let Some(dynamic) = &self.dynamic {
            dynamic.evict_idle();
        }
    }

    /// How often [`evict_idle`](Self::evict_idle) should run, if at all.
    pub(crate) fn eviction_period(&self) -> Option<Duration> {
        let dynamic = self.dynamic.as_ref()?;
        Some((dynamic.idle / 4).clamp(Duration::from_secs(1), Duration::from_secs(60)))
    }
}

/// Issuers a resolver approved, created on first use.
struct Dynamic {
    resolver: Arc<dyn IssuerResolver>,
    cache: Cache<String, Arc<Slot>>,
    settings: Arc<Settings>,
    idle: Duration,
    epoch: Instant,
}

/// What is known about one asked-about `iss`.
struct Slot {
    answer: Answer,
    /// Milliseconds since `epoch` of the last token routed here.
    last_used: AtomicU64,
}

enum Answer {
    Trusted(Arc<TrustedIssuer>),
    /// Refused by the resolver, or its loaded `iss` didn't match: 401.
    Refused {
        until: Instant,
    },
    /// The resolver or the issuer failed: 503 until then.
    Unavailable {
        until: Instant,
    },
}

impl Dynamic {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    async fn route(&self, iss: &str) -> Result<Arc<TrustedIssuer>, AuthError> {
        if iss.len() > MAX_RESOLVED_ISS || iss.is_empty() {
            return Err(AuthError::InvalidToken(TokenError::Issuer));
        }
        // At most twice: a remembered answer that expired is asked again.
        for _ in 0..2 {
            let slot = self
                .cache
                .get_or_insert_async(iss, async { Ok::<_, ()>(Arc::new(self.ask(iss).await)) })
                .await
                .map_err(|()| AuthError::IssuerUnavailable { retry_after: 1 })?;
            let now = Instant::now();
            match &slot.answer {
                Answer::Trusted(issuer) => {
                    slot.last_used.store(self.now_ms(), Ordering::Relaxed);
                    issuer.refresh_if_due();
                    return Ok(issuer.clone());
                }
                Answer::Refused { until } if now < *until => {
                    return Err(AuthError::InvalidToken(TokenError::Issuer));
                }
                Answer::Unavailable { until } if now < *until => {
                    let retry_after = (*until - now).as_secs_f64().ceil().max(1.0) as u32;
                    return Err(AuthError::IssuerUnavailable { retry_after });
                }
                _ => {
                    self.cache.remove_if(iss, |current| Arc::ptr_eq(current, &slot));
                }
            }
        }
        Err(AuthError::IssuerUnavailable { retry_after: 1 })
    }

    /// Asks the resolver about `iss` and, if approved, loads its keys.
    async fn ask(&self, iss: &str) -> Slot {
        let until = Instant::now() + REFUSAL_TTL;
        let answer = match self.resolver.resolve(iss).await {
            Ok(None) => Answer::Refused { until },
            Err(error) => {
                log::warn!("JWT auth: the issuer resolver failed: {error}");
                Answer::Unavailable { until: Instant::now() + self.settings.jwks_cooldown() }
            }
            Ok(Some(settings)) => match load_issuer(&self.settings, &settings).await {
                Ok((loaded, _)) if loaded != iss => {
                    log::warn!(
                        "JWT auth: the resolver approved {iss:?}, whose settings load issuer \
                         {loaded:?}: refusing its tokens"
                    );
                    Answer::Refused { until }
                }
                Ok((loaded, keys)) => {
                    log::info!("JWT auth: resolver issuer {loaded} loaded");
                    let issuer =
                        TrustedIssuer::loaded(settings, &self.settings.audiences, loaded, keys);
                    Answer::Trusted(Arc::new(issuer))
                }
                Err(error) => {
                    log::warn!("JWT auth: resolver issuer {iss:?} could not be loaded: {error}");
                    Answer::Unavailable { until: Instant::now() + self.settings.jwks_cooldown() }
                }
            },
        };
        Slot { answer, last_used: AtomicU64::new(self.now_ms()) }
    }

    fn evict_idle(&self) {
        let now = self.now_ms();
        let idle = self.idle.as_millis() as u64;
        self.cache
            .retain(|_, slot| now.saturating_sub(slot.last_used.load(Ordering::Relaxed)) < idle);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::jwks::{KeySet, KeyStore};
    use crate::settings::config::{Config, IssuerConfig, Secret};
    use crate::settings::issuer_settings::IssuerSettings;
    use crate::words::algorithms::Algorithm;
    use std::sync::atomic::AtomicUsize;

    struct Counting {
        asked: AtomicUsize,
    }

    #[rocket::async_trait]
    impl IssuerResolver for Counting {
        async fn resolve(
            &self,
            iss: &str,
        ) -> Result<Option<IssuerSettings>, crate::verification::resolver::ResolveError> {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if iss == "https://down.example.com/" {
                return Err("the tenant database is down".into());
            }
            Ok(None)
        }
    }

    /// A configured issuer with a static (empty) key set.
    fn config() -> Config {
        Config {
            issuer: Some("https://configured.example.com/".into()),
            public_key: Some(r#"{"keys":[]}"#.into()),
            audience: vec!["api".into()],
            ..Config::default()
        }
    }

    fn settings() -> Settings {
        Settings::from_config(&config()).unwrap()
    }

    #[tokio::test]
    async fn refusals_are_remembered_and_failures_are_503() {
        let resolver = Arc::new(Counting { asked: AtomicUsize::new(0) });
        let settings = settings();
        let configured = TrustedIssuer::loaded(
            settings.issuers()[0].clone(),
            &settings.audiences,
            "https://configured.example.com/".into(),
            KeyStore::fixed(KeySet::new(vec![])),
        );
        let issuers = Issuers::new(vec![configured], Some(resolver.clone()), &settings);

        assert!(issuers.route("https://configured.example.com/").await.is_ok());
        for _ in 0..3 {
            let refused = issuers.route("https://unknown.example.com/").await.unwrap_err();
            assert_eq!(refused, AuthError::InvalidToken(TokenError::Issuer));
        }
        assert_eq!(resolver.asked.load(Ordering::SeqCst), 1, "asked once, remembered");

        let down = issuers.route("https://down.example.com/").await.unwrap_err();
        assert!(matches!(down, AuthError::IssuerUnavailable { .. }), "{down:?}");

        let long = format!("https://{}.example.com/", "a".repeat(600));
        assert!(issuers.route(&long).await.is_err());
        assert_eq!(
            resolver.asked.load(Ordering::SeqCst),
            2,
            "an overlong iss is never asked about"
        );
    }

    /// Approves one issuer, with a static key: no network.
    struct Static;

    #[rocket::async_trait]
    impl IssuerResolver for Static {
        async fn resolve(
            &self,
            iss: &str,
        ) -> Result<Option<IssuerSettings>, crate::verification::resolver::ResolveError> {
            let secret = |issuer: &str| {
                IssuerSettings::from_config(&IssuerConfig {
                    issuer: Some(issuer.into()),
                    secret: Some(Secret::new("0123456789abcdef0123456789abcdef")),
                    token_signing_alg: Some(Algorithm::HS256),
                    ..IssuerConfig::default()
                })
            };
            Ok(Some(match iss {
                "https://tenant.example.com/" => secret(iss)?,
                // Approved, but its settings describe another issuer.
                "https://mismatch.example.com/" => secret("https://other.example.com/")?,
                // Approved, and nothing listens there.
                "http://127.0.0.1:1/" => IssuerSettings::from_config(&IssuerConfig::discover(iss))?,
                _ => return Ok(None),
            }))
        }
    }

    #[tokio::test]
    async fn idle_resolver_issuers_are_evicted() {
        let config = Config { dynamic_issuer_idle: Duration::from_millis(50), ..config() };
        let settings = Settings::from_config(&config).unwrap();
        let issuers = Issuers::new(vec![], Some(Arc::new(Static)), &settings);
        let issuer = issuers.route("https://tenant.example.com/").await.unwrap();
        assert_eq!(issuer.iss(), Some("https://tenant.example.com/"));
        assert_eq!(issuer.audiences(), ["api"], "the table's audience applies");
        assert_eq!(issuers.dynamic_count(), Some(1));

        issuers.evict_idle();
        assert_eq!(issuers.dynamic_count(), Some(1), "used just now");
        tokio::time::sleep(Duration::from_millis(100)).await;
        issuers.evict_idle();
        assert_eq!(issuers.dynamic_count(), Some(0));
    }

    #[tokio::test]
    async fn an_approved_issuer_that_loads_another_iss_or_none_is_not_trusted() {
        let config = Config { jwks_timeout: Duration::from_secs(1), ..config() };
        let settings = Settings::from_config(&config).unwrap();
        let issuers = Issuers::new(vec![], Some(Arc::new(Static)), &settings);

        let refused = issuers.route("https://mismatch.example.com/").await.unwrap_err();
        assert_eq!(refused, AuthError::InvalidToken(TokenError::Issuer));
        let down = issuers.route("http://127.0.0.1:1/").await.unwrap_err();
        let AuthError::IssuerUnavailable { retry_after } = down else { panic!("{down:?}") };
        assert!((1..=30).contains(&retry_after), "{retry_after}");
        assert_eq!(issuers.dynamic_count(), Some(2), "both answers remembered");
    }
}
