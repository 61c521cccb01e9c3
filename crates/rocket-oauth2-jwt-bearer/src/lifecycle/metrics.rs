//! Prometheus metrics at `GET /metrics` (OpenMetrics text), off by default:
//! set `metrics = true`. Rocket serves a single port, so keep `/metrics`
//! off the public edge (a reverse-proxy rule, or a network policy).
//!
//! - `http_requests_total{route, outcome}`: `outcome` is `ok`, an auth
//!   failure's reason (`missing_credentials`, `expired`, `signature`,
//!   `insufficient_scope`, …) or the status code of another error;
//! - `jwks_fetches_total{issuer, result}`, `jwks_keys{issuer}`,
//!   `jwks_seconds_since_refresh{issuer}`, `jwks_failures_in_a_row{issuer}`:
//!   read from each issuer's key store at scrape time;
//! - `token_cache_lookups_total{result}`; with a resolver,
//!   `dynamic_issuers` and the resolver issuers' keys and fetches summed
//!   under `issuer="dynamic"`;
//! - `dpop_replays_refused_total`, `dpop_replay_cache_proofs`, and with a
//!   shared store `dpop_replay_store_errors_total`,
//!   `dpop_replay_store_up` and `dpop_replay_store_may_evict` (1, 0, or -1
//!   while not known). DPoP refusals count in `http_requests_total`
//!   under their fixed reasons (`dpop_signature`, `dpop_replayed`, ...).
//!
//! Label values come from fixed sets (route templates, reason codes, the
//! configured issuers), so neither a client nor a resolver's tenants can
//! grow the number of series.

use std::sync::Arc;
use std::time::SystemTime;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Registry;
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::{ContentType, Status};
use rocket::{Build, Request, Response, Rocket, State, get, routes};

use crate::possession::dpop::{Dpop, ReplayGuard};
use crate::request::respond::RecordedFailure;
use crate::verification::cache::TokenCache;
use crate::verification::issuers::Issuers;
use crate::verification::token::Verifier;
use crate::verification::trusted_issuer::TrustedIssuer;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    outcome: String,
}

/// Every metric this crate keeps, as a Prometheus [`Collector`] to
/// register in your own registry: the [`Metrics`] fairing manages one
/// (fetch it as `&State<AuthMetrics>`), counts requests into it, and reads
/// the key stores, the token cache and the replay store at each scrape.
///
/// ```rust
/// use prometheus_client::registry::Registry;
/// use rocket::State;
/// use rocket_oauth2_jwt_bearer::AuthMetrics;
///
/// #[rocket::get("/metrics")]
/// fn metrics(auth: &State<AuthMetrics>) -> String {
///     let mut registry = Registry::default();
///     registry.register_collector(Box::new(auth.inner().clone()));
///     let mut text = String::new();
///     prometheus_client::encoding::text::encode(&mut text, &registry).expect("a String");
///     text
/// }
/// ```
#[derive(Debug, Clone)]
pub struct AuthMetrics {
    requests: Family<RequestLabels, Counter>,
    auth: Option<Arc<AuthCollector>>,
}

impl AuthMetrics {
    fn new(verifier: Option<&Verifier>, dpop: Option<&Dpop>) -> Self {
        let auth = verifier.map(|verifier| {
            Arc::new(AuthCollector {
                issuers: verifier.issuers().clone(),
                cache: verifier.cache().clone(),
                replay: dpop.map(|dpop| dpop.replay().clone()),
            })
        });
        AuthMetrics { requests: Family::default(), auth }
    }

    /// Counts one answered request.
    fn observe(&self, req: &Request<'_>, res: &Response<'_>) {
        let status = res.status();
        // After a 404, `route()` is merely the last route that forwarded
        // (often the file server's catch-all).
        let route = match req.route() {
            Some(route) if status != Status::NotFound => route.uri.as_str().to_owned(),
            _ => "unmatched".to_owned(),
        };
        let outcome = if status.class().is_success() {
            "ok".to_owned()
        } else {
            match RecordedFailure::of(req) {
                Some(error) if error.status() == status => error.reason().to_owned(),
                _ => status.code.to_string(),
            }
        };
        self.requests.get_or_create(&RequestLabels { route, outcome }).inc();
    }

    /// The OpenMetrics text of every metric, alone in a registry.
    fn render(&self) -> String {
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.clone()));
        let mut text = String::new();
        // Writing to a String can't fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
        text
    }
}

impl Collector for AuthMetrics {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        self.requests.encode(encoder.encode_descriptor(
            "http_requests",
            "Requests by route and outcome",
            None,
            self.requests.metric_type(),
        )?)?;
        match &self.auth {
            Some(auth) => auth.encode(encoder),
            None => Ok(()),
        }
    }
}

/// Reads the issuers' key stores and the token cache on each scrape.
#[derive(Debug)]
struct AuthCollector {
    issuers: Arc<Issuers>,
    cache: Arc<TokenCache>,
    replay: Option<Arc<ReplayGuard>>,
}

/// One `issuer` label's figures.
struct IssuerFigures {
    label: String,
    keys: usize,
    fetches_ok: u64,
    fetches_failed: u64,
    failures_in_a_row: u32,
    last_success: Option<SystemTime>,
}

impl IssuerFigures {
    fn of(label: String, issuers: &[Arc<TrustedIssuer>]) -> Self {
        let mut figures = IssuerFigures {
            label,
            keys: 0,
            fetches_ok: 0,
            fetches_failed: 0,
            failures_in_a_row: 0,
            last_success: None,
        };
        for issuer in issuers {
            match issuer.keys() {
                Some(keys) => {
                    let freshness = keys.freshness();
                    figures.keys += keys.snapshot().len();
                    figures.fetches_ok += freshness.fetches_ok;
                    figures.fetches_failed += freshness.fetches_failed;
                    figures.failures_in_a_row =
                        figures.failures_in_a_row.max(freshness.failures_in_a_row);
                    figures.last_success = match (figures.last_success, freshness.last_success) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                None => {
                    let failures = issuer.pending_load().failures;
                    figures.fetches_failed += u64::from(failures);
                    figures.failures_in_a_row = figures.failures_in_a_row.max(failures);
                }
            }
        }
        figures
    }
}

impl Collector for AuthCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let mut all: Vec<IssuerFigures> = self
            .issuers
            .configured()
            .iter()
            .map(|issuer| IssuerFigures::of(issuer.label(), std::slice::from_ref(issuer)))
            .collect();
        if let Some(count) = self.issuers.dynamic_count() {
            all.push(IssuerFigures::of("dynamic".into(), &self.issuers.dynamic()));
            let gauge = ConstGauge::new(count as i64);
            gauge.encode(encoder.encode_descriptor(
                "dynamic_issuers",
                "Issuers a resolver approved, held now",
                None,
                gauge.metric_type(),
            )?)?;
        }

        let mut fetches = encoder.encode_descriptor(
            "jwks_fetches",
            "JWKS fetches by issuer and result",
            None,
            ConstCounter::new(0u64).metric_type(),
        )?;
        for figures in &all {
            for (result, count) in [("ok", figures.fetches_ok), ("error", figures.fetches_failed)] {
                let labels = [("issuer", figures.label.as_str()), ("result", result)];
                ConstCounter::new(count).encode(fetches.encode_family(&labels)?)?;
            }
        }

        let mut keys = encoder.encode_descriptor(
            "jwks_keys",
            "Usable keys loaded, by issuer",
            None,
            ConstGauge::new(0i64).metric_type(),
        )?;
        for figures in &all {
            let labels = [("issuer", figures.label.as_str())];
            ConstGauge::new(figures.keys as i64).encode(keys.encode_family(&labels)?)?;
        }

        let mut failing = encoder.encode_descriptor(
            "jwks_failures_in_a_row",
            "Failed fetches since the last success, by issuer",
            None,
            ConstGauge::new(0i64).metric_type(),
        )?;
        for figures in &all {
            let labels = [("issuer", figures.label.as_str())];
            let gauge = ConstGauge::new(i64::from(figures.failures_in_a_row));
            gauge.encode(failing.encode_family(&labels)?)?;
        }

        let mut ages = encoder.encode_descriptor(
            "jwks_seconds_since_refresh",
            "Seconds since the issuer's key set was last fetched successfully",
            None,
            ConstGauge::new(0.0f64).metric_type(),
        )?;
        for figures in &all {
            if let Some(last) = figures.last_success {
                let age = SystemTime::now().duration_since(last).map_or(0.0, |d| d.as_secs_f64());
                let labels = [("issuer", figures.label.as_str())];
                ConstGauge::new(age).encode(ages.encode_family(&labels)?)?;
            }
        }

        if self.cache.is_enabled() {
            let (hits, misses) = self.cache.hits_and_misses();
            let mut lookups = encoder.encode_descriptor(
                "token_cache_lookups",
                "Verified-token cache lookups by result",
                None,
                ConstCounter::new(0u64).metric_type(),
            )?;
            for (result, count) in [("hit", hits), ("miss", misses)] {
                ConstCounter::new(count).encode(lookups.encode_family(&[("result", result)])?)?;
            }
        }

        if let Some(replay) = &self.replay {
            let counter = ConstCounter::new(replay.replays());
            counter.encode(encoder.encode_descriptor(
                "dpop_replays_refused",
                "DPoP proofs refused as used before",
                None,
                counter.metric_type(),
            )?)?;
            let gauge = ConstGauge::new(replay.cached() as i64);
            gauge.encode(encoder.encode_descriptor(
                "dpop_replay_cache_proofs",
                "DPoP proofs held by this process's replay cache",
                None,
                gauge.metric_type(),
            )?)?;
            if let Some(failing) = replay.store_failing() {
                let counter = ConstCounter::new(replay.store_errors());
                counter.encode(encoder.encode_descriptor(
                    "dpop_replay_store_errors",
                    "Failed commands to the shared DPoP replay store",
                    None,
                    counter.metric_type(),
                )?)?;
                let gauge = ConstGauge::new(i64::from(!failing));
                gauge.encode(encoder.encode_descriptor(
                    "dpop_replay_store_up",
                    "Whether the shared DPoP replay store answered its last command",
                    None,
                    gauge.metric_type(),
                )?)?;
                // -1 while not known.
                let gauge = ConstGauge::new(replay.store_may_evict().map_or(-1, i64::from));
                gauge.encode(encoder.encode_descriptor(
                    "dpop_replay_store_may_evict",
                    "Whether the shared DPoP replay store may drop records before they expire",
                    None,
                    gauge.metric_type(),
                )?)?;
            }
        }
        Ok(())
    }
}

#[get("/metrics")]
fn metrics(metrics: &State<AuthMetrics>) -> (ContentType, String) {
    let openmetrics = ContentType::new("application", "openmetrics-text")
        .with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    (openmetrics, metrics.render())
}

/// Counts requests and manages [`AuthMetrics`]. Attach it after
/// [`JwtAuth`](crate::JwtAuth), whose key stores it reads.
///
/// [`Metrics::fairing`] also serves them at `GET /metrics` when the
/// top-level setting `metrics = true`; an app with its own `/metrics`
/// attaches [`Metrics::collector`] and registers the managed
/// [`AuthMetrics`] in its own registry.
///
/// ```rust
/// use rocket_oauth2_jwt_bearer::{JwtAuth, Metrics};
///
/// let rocket = rocket::build().attach(JwtAuth::fairing()).attach(Metrics::fairing());
/// ```
#[derive(Debug, Default)]
pub struct Metrics {
    /// Only the collector: no route, no `metrics` setting.
    collector_only: bool,
}

impl Metrics {
    /// The fairing with its `/metrics` route, under the `metrics` setting.
    pub fn fairing() -> Metrics {
        Metrics::default()
    }

    /// The fairing without a route: it always counts, and manages the
    /// [`AuthMetrics`] your own `/metrics` route registers.
    pub fn collector() -> Metrics {
        Metrics { collector_only: true }
    }
}

#[rocket::async_trait]
impl Fairing for Metrics {
    fn info(&self) -> Info {
        Info { name: "Metrics", kind: Kind::Ignite | Kind::Response | Kind::Singleton }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        if self.collector_only {
            let metrics = AuthMetrics::new(rocket.state::<Verifier>(), rocket.state::<Dpop>());
            return Ok(rocket.manage(metrics));
        }
        let enabled = match rocket.figment().find_value("metrics") {
            Err(_) => false,
            Ok(value) => match value.to_bool() {
                Some(enabled) => enabled,
                None => {
                    let from = rocket.figment().find_metadata("metrics").map_or_else(
                        || "an unknown source".to_owned(),
                        |metadata| metadata.name.to_string(),
                    );
                    log::error!("invalid setting `metrics` (from {from}): expected true or false");
                    return Err(rocket);
                }
            },
        };
        if !enabled {
            return Ok(rocket);
        }

        let metrics = AuthMetrics::new(rocket.state::<Verifier>(), rocket.state::<Dpop>());
        Ok(rocket.manage(metrics).mount("/", routes![metrics]))
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        if let Some(metrics) = req.rocket().state::<AuthMetrics>() {
            metrics.observe(req, res);
        }
    }
}
