//! The [`JwtAuth`] fairing: loads every issuer's keys at ignition and keeps
//! them fresh from liftoff until shutdown.
//!
//! ```rust,no_run
//! # use rocket::launch;
//! use rocket_oauth2_jwt_bearer::JwtAuth;
//!
//! #[launch]
//! fn rocket() -> _ {
//!     rocket::build().attach(JwtAuth::fairing())
//! }
//! ```
//!
//! - **Ignite**: reads the `auth` settings (or takes the ones it was built
//!   with), runs each issuer's discovery and first JWKS fetch concurrently,
//!   and manages the verifier the guards use. A failure is logged as one
//!   line naming the setting or URL and its cause (a [`LaunchError`]) and
//!   aborts launch — unless `require_keys_at_launch = false`, when the
//!   issuer is left to load in the background.
//! - **Liftoff**: spawns one task per issuer that loads its keys if they
//!   are still missing, then refreshes them every `jwks_cache_max_age`, and
//!   after a failure again with backoff, keeping the old keys meanwhile;
//!   and, with a resolver, a task evicting idle resolver issuers. They stop
//!   on shutdown.
//! - **Request**: moves `access_token` query values out of the URI before
//!   Rocket logs it, and notes a `HEAD` request's method before Rocket
//!   routes it as `GET` (a DPoP proof names `HEAD`).
//! - **Response**: marks responses to authenticated requests `no-store`,
//!   and hands out a fresh DPoP nonce when the request's was aging.

use std::fmt;
use std::sync::Arc;

use rocket::fairing::{self, Fairing, Info, Kind};
use rocket::http::Header;
use rocket::{Build, Data, Orbit, Request, Response, Rocket};

use crate::keys::launch_error::{DevIssuerError, LaunchError};
use crate::lifecycle::connect::{connect, keep_fresh, load_then_keep_fresh};
use crate::possession::dpop::{Dpop, NextNonce, SentMethod};
use crate::possession::mtls::Mtls;
use crate::request::credentials::QueryTokens;
use crate::request::guards::Authenticated;
use crate::request::resource_metadata::ResourceMetadata;
use crate::request::scope_rules::ScopeRules;
use crate::settings::checked::{ConfigError, NamedVariables, Settings};
use crate::settings::config::Config;
use crate::verification::resolver::IssuerResolver;
use crate::verification::token::Verifier;
use crate::words::clock::Clock;

/// Loads and refreshes the issuers' keys, and manages what the guards
/// verify tokens with. Attach it once; a second one replaces the first.
pub struct JwtAuth {
    settings: Source,
    resolver: Option<Arc<dyn IssuerResolver>>,
    register_catchers: bool,
    clock: Clock,
}

/// Where the fairing's settings come from.
#[derive(Debug)]
enum Source {
    /// The `auth` table of Rocket's figment, and the Express variables.
    Figment,
    /// A [`Config`] made in code, checked at ignition.
    Config(Box<Config>),
    /// Settings checked already.
    Settings(Box<Settings>),
}

impl Default for JwtAuth {
    fn default() -> Self {
        JwtAuth {
            settings: Source::Figment,
            resolver: None,
            register_catchers: true,
            clock: Clock::system(),
        }
    }
}

impl fmt::Debug for JwtAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("settings", &self.settings)
            .field("resolver", &self.resolver.is_some())
            .field("register_catchers", &self.register_catchers)
            .finish()
    }
}

impl JwtAuth {
    /// The fairing, configured from the `auth` table of Rocket's figment
    /// (`Rocket.toml`, `ROCKET_AUTH`, ...) and, as in the Express library,
    /// from the variables `ISSUER_BASE_URL`, `AUDIENCE`, `ISSUER`,
    /// `JWKS_URI`, `SECRET` and `TOKEN_SIGNING_ALG`, which override it (see
    /// [`NamedVariables`](crate::NamedVariables)).
    pub fn fairing() -> Self {
        JwtAuth::default()
    }

    /// Doesn't register the catchers that answer refusals at `/`.
    ///
    /// By default the fairing registers, at `/`, a catcher for each status
    /// a guard refuses with (400, 401, 403, 500, 503) that the app left
    /// without one there: a refusal is answered with its challenge and JSON
    /// body, any other error as Rocket would. Catchers the app registers
    /// itself, such as [`catchers()`](crate::catchers) under `/api`, take
    /// precedence either way. Without them, an app must register catchers
    /// that render refusals, or its 401s go out without `WWW-Authenticate`.
    pub fn without_catchers(mut self) -> Self {
        self.register_catchers = false;
        self
    }

    /// Checks `exp`, `nbf`, `iat`, cached tokens and DPoP proofs and nonces
    /// against `clock`, not the system clock: so that a test can move time
    /// forward (see [`Clock`]).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Also trusts the issuers `resolver` approves at run time, besides the
    /// configured ones (see [`IssuerResolver`]).
    pub fn with_resolver(mut self, resolver: impl IssuerResolver) -> Self {
        self.resolver = Some(Arc::new(resolver));
        self
    }

    /// The fairing with settings checked already ([`Settings::from_config`]
    /// or [`Settings::from_figment`]); Rocket's figment is not read.
    pub fn with_settings(settings: Settings) -> Self {
        JwtAuth { settings: Source::Settings(Box::new(settings)), ..JwtAuth::default() }
    }

    /// The fairing with a [`Config`] made in code; Rocket's figment is not
    /// read. It is checked at ignition, where a bad value stops launch
    /// naming the setting.
    ///
    /// ```rust
    /// use rocket_oauth2_jwt_bearer::{Config, JwtAuth};
    ///
    /// let mut config = Config::default();
    /// config.issuer_base_url = Some("https://tenant.example.com/".into());
    /// config.audience = vec!["https://api.example.com".into()];
    /// config.dpop.nonce = true;
    /// let rocket = rocket::build().attach(JwtAuth::with_config(config));
    /// # let _ = rocket;
    /// ```
    pub fn with_config(config: Config) -> Self {
        JwtAuth { settings: Source::Config(Box::new(config)), ..JwtAuth::default() }
    }
}

#[rocket::async_trait]
impl Fairing for JwtAuth {
    fn info(&self) -> Info {
        Info {
            name: "JWT auth",
            kind: Kind::Ignite | Kind::Liftoff | Kind::Request | Kind::Response | Kind::Singleton,
        }
    }

    async fn on_ignite(&self, rocket: Rocket<Build>) -> fairing::Result {
        let settings = match &self.settings {
            Source::Settings(settings) => Ok(Settings::clone(settings)),
            Source::Config(config) => Settings::from_config(config),
            Source::Figment => {
                let figment = NamedVariables::from_env().merge_into(rocket.figment().clone());
                Settings::from_figment(&figment)
            }
        };
        let settings = match settings {
            Ok(settings) => settings,
            Err(error) => return fail(rocket, &LaunchError::Config(error)),
        };
        let profile = rocket.figment().profile().clone();
        let (rocket, verifier) = if settings.uses_dev_issuer() {
            // Settings built in code are checked as the debug profile's:
            // the Rocket's own profile decides.
            if profile != "debug" {
                let cause = DevIssuerError::Profile(profile.to_string());
                return fail(rocket, &LaunchError::DevIssuer { cause });
            }
            match dev_issuer(&rocket, &settings) {
                Ok((mount, verifier)) => (mount(rocket), verifier),
                Err(error) => return fail(rocket, &error),
            }
        } else {
            match connect(&settings, self.resolver.clone()).await {
                Ok(verifier) => (rocket, verifier),
                Err(error) => return fail(rocket, &error),
            }
        };
        let verifier = verifier.with_clock(self.clock.clone());
        let dpop =
            match Dpop::new(&settings.dpop, settings.trusted_proxies.clone(), self.clock.clone()) {
                Ok(dpop) => dpop,
                Err(problem) => {
                    let setting = "dpop.replay_store".to_owned();
                    let problem = problem.to_string();
                    let error = ConfigError::Invalid { setting, problem, origin: None };
                    return fail(rocket, &LaunchError::Config(error));
                }
            };
        let mtls = Mtls::new(&settings.mtls, settings.trusted_proxies.clone());
        let mut rocket = serve_metadata(rocket, &settings, &verifier, &mtls);
        if self.register_catchers {
            let catchers = crate::request::catchers::for_refusals(&rocket);
            rocket = rocket.register("/", catchers);
        }
        Ok(rocket
            .manage(ScopeRules::from_settings(&settings))
            .manage(verifier)
            .manage(dpop)
            .manage(mtls)
            .manage(LaunchSettings(Arc::new(settings))))
    }

    async fn on_liftoff(&self, rocket: &Rocket<Orbit>) {
        let (Some(verifier), Some(LaunchSettings(settings))) =
            (rocket.state::<Verifier>(), rocket.state::<LaunchSettings>())
        else {
            return;
        };
        // One task per configured issuer: one issuer's slow fetch never
        // holds up another's refresh.
        for issuer in verifier.issuers().configured() {
            let (shutdown, settings, issuer) =
                (rocket.shutdown(), settings.clone(), issuer.clone());
            tokio::spawn(async move {
                let work = async {
                    match issuer.keys() {
                        Some(keys) => keep_fresh(keys.clone()).await,
                        None => load_then_keep_fresh(settings, issuer.clone()).await,
                    }
                };
                tokio::select! {
                    _ = shutdown => log::debug!("JWKS refresh task of {} stopped", issuer.label()),
                    _ = work => {}
                }
            });
        }
        if let Some(period) = verifier.issuers().eviction_period() {
            let issuers = verifier.issuers().clone();
            let shutdown = rocket.shutdown();
            tokio::spawn(async move {
                let sweep = async {
                    loop {
                        tokio::time::sleep(period).await;
                        issuers.evict_idle();
                    }
                };
                tokio::select! {
                    _ = shutdown => {}
                    _ = sweep => {}
                }
            });
        }
    }

    async fn on_request(&self, req: &mut Request<'_>, _: &mut Data<'_>) {
        QueryTokens::redact(req);
        SentMethod::record(req);
    }

    async fn on_response<'r>(&self, req: &'r Request<'_>, res: &mut Response<'r>) {
        let authenticated = req.local_cache(|| None::<Authenticated>).is_some();
        if authenticated && res.status().class().is_success() {
            res.set_header(Header::new("Cache-Control", "no-store"));
        }
        if let (true, Some(nonce)) = (authenticated, &req.local_cache(NextNonce::default).0) {
            res.set_header(Header::new("DPoP-Nonce", nonce.clone()));
        }
    }
}

/// The settings the fairing launched with, for its liftoff tasks.
struct LaunchSettings(Arc<Settings>);

/// Mounts the RFC 9728 metadata when there is a `resource` to describe:
/// the configured one, or the local service under the development issuer.
fn serve_metadata(
    rocket: Rocket<Build>,
    settings: &Settings,
    verifier: &Verifier,
    mtls: &Mtls,
) -> Rocket<Build> {
    let resource = &settings.resource;
    let identifier = match (&resource.identifier, settings.uses_dev_issuer()) {
        (Some(identifier), _) => identifier.clone(),
        (None, true) => {
            let port = rocket.figment().extract_inner::<u16>("port").unwrap_or(0);
            format!("http://127.0.0.1:{port}")
        }
        (None, _) => {
            log::info!(
                "JWT auth: no `auth.resource` set, so no protected-resource metadata (RFC 9728)"
            );
            return rocket;
        }
    };
    let query_tokens = verifier.policy().allow_query_token;
    let mcp = settings.mcp.endpoint.as_deref();
    match ResourceMetadata::new(&identifier, resource, mcp, query_tokens, &settings.dpop, mtls) {
        Some(metadata) => {
            log::info!("JWT auth: protected-resource metadata at {}", metadata.url());
            if let Some(url) = metadata.mcp_url() {
                log::info!("JWT auth: the MCP endpoint's protected-resource metadata at {url}");
            }
            rocket.manage(metadata).mount("/", ResourceMetadata::routes())
        }
        None => rocket,
    }
}

/// Logs why launch stops, once, and stops it.
#[allow(clippy::result_large_err)] // Rocket's own `fairing::Result`.
fn fail(rocket: Rocket<Build>, error: &LaunchError) -> fairing::Result {
    log::error!("JWT auth: {error}");
    Err(rocket)
}

/// Mounts what a verifier needs served from the Rocket itself.
type Mount = Box<dyn FnOnce(Rocket<Build>) -> Rocket<Build>>;

/// The development issuer: its key, used directly (no HTTP), and its
/// routes, to mount.
#[cfg(feature = "dev-issuer")]
fn dev_issuer(
    rocket: &Rocket<Build>,
    settings: &Settings,
) -> Result<(Mount, Verifier), LaunchError> {
    let audience =
        settings.audiences.first().map_or(crate::settings::checked::DEV_AUDIENCE, |a| a.as_str());
    let dev = crate::beside::dev_issuer::generate_for(rocket, audience)
        .map_err(|cause| LaunchError::DevIssuer { cause })?;
    let (iss, keys) = dev.identity();
    let issuer = crate::verification::trusted_issuer::TrustedIssuer::loaded(
        settings.issuers[0].clone(),
        &settings.audiences,
        iss,
        crate::keys::jwks::KeyStore::fixed(keys),
    );
    let issuers = crate::verification::issuers::Issuers::single(issuer);
    let verifier =
        Verifier::new(crate::verification::token::Policy::from_settings(settings), issuers);
    Ok((Box::new(move |rocket| dev.mount(rocket)), verifier))
}

#[cfg(not(feature = "dev-issuer"))]
fn dev_issuer(_: &Rocket<Build>, _: &Settings) -> Result<(Mount, Verifier), LaunchError> {
    Err(LaunchError::DevIssuer { cause: DevIssuerError::NotBuilt })
}
