//! `GET /metrics` (OpenMetrics text) when `metrics = true`, off by
//! default: the app's own route and setting, serving the auth crate's
//! [`AuthMetrics`] collector (requests by route and outcome, key sets, the
//! token cache, the DPoP replay store). Rocket serves a single port, so
//! keep `/metrics` off the public edge (a reverse-proxy rule, or a network
//! policy).

use prometheus_client::registry::Registry;
use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::ContentType;
use rocket::{Build, Rocket, State, get, routes};
use rocket_oauth2_jwt_bearer::{AuthMetrics, Metrics};

use crate::config::source_of;

/// Reads `metrics` and, when it is on, mounts `/metrics`.
#[derive(Debug, Default)]
pub struct MetricsRoute {
    _private: (),
}

impl MetricsRoute {
    /// The fairing; attach it after `JwtAuth`. With `metrics = true` it
    /// attaches the crate's counting fairing and mounts the route; with
    /// `false` nothing counts, so requests cost nothing more.
    pub fn fairing() -> Self {
        MetricsRoute::default()
    }
}

#[rocket::async_trait]
impl Fairing for MetricsRoute {
    fn info(&self) -> Info {
        Info { name: "Metrics route", kind: Kind::Ignite | Kind::Singleton }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let enabled = match rocket.figment().find_value("metrics") {
            Err(_) => false,
            Ok(value) => match value.to_bool() {
                Some(enabled) => enabled,
                None => {
                    let from = source_of(rocket.figment(), "metrics");
                    log::error!("invalid setting `metrics` (from {from}): expected true or false");
                    return Err(rocket);
                }
            },
        };
        Ok(match enabled {
            true => rocket.attach(Metrics::collector()).mount("/", routes![metrics]),
            false => rocket,
        })
    }
}

#[get("/metrics")]
fn metrics(auth: &State<AuthMetrics>) -> (ContentType, String) {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(auth.inner().clone()));
    let mut text = String::new();
    // Writing to a String can't fail.
    let _ = prometheus_client::encoding::text::encode(&mut text, &registry);
    let openmetrics = ContentType::new("application", "openmetrics-text")
        .with_params([("version", "1.0.0"), ("charset", "utf-8")]);
    (openmetrics, text)
}
