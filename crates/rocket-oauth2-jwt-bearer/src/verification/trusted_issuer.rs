//! One trusted issuer at run time: the exact `iss` its tokens carry, the
//! audiences and algorithms accepted from it, and its own key store once
//! loaded.
//!
//! Each issuer is separate on purpose: its own store, refresh, cooldown and
//! failure streak, so that one issuer down, slow or hostile never delays or
//! fails another's tokens, and no key of one ever verifies another's.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use crate::keys::jwks::KeyStore;
use crate::settings::issuer_settings::IssuerSettings;
use crate::words::algorithms::AlgSet;

/// Failed attempts to load an issuer's keys.
#[derive(Debug, Clone, Default)]
pub(crate) struct PendingLoad {
    pub(crate) failures: u32,
    /// The last attempt's reason; cleared once the keys load.
    pub(crate) last_error: Option<String>,
    /// The delay before the next attempt, for `Retry-After`.
    pub(crate) retry_in: Duration,
}

/// A configured (or resolver-approved) issuer.
#[derive(Debug)]
pub(crate) struct TrustedIssuer {
    settings: IssuerSettings,
    /// `iss` values routed here before the exact one is known.
    expected: Vec<String>,
    audiences: Vec<String>,
    /// The exact `iss`, set with the keys.
    iss: OnceLock<String>,
    keys: OnceLock<Arc<KeyStore>>,
    /// Failed attempts to load the keys, while they aren't loaded.
    pending: Mutex<PendingLoad>,
    /// A background refresh is already on its way (resolver issuers).
    refreshing: AtomicBool,
}

impl TrustedIssuer {
    /// An issuer whose keys are still to be loaded. `audiences` applies
    /// when its settings name none (a resolver's issuer).
    pub(crate) fn new(settings: IssuerSettings, audiences: &[String]) -> Self {
        let expected = settings.expected_issuers();
        let audiences = if settings.audiences.is_empty() {
            audiences.to_vec()
        } else {
            settings.audiences.clone()
        };
        TrustedIssuer {
            settings,
            expected,
            audiences,
            iss: OnceLock::new(),
            keys: OnceLock::new(),
            pending: Mutex::default(),
            refreshing: AtomicBool::new(false),
        }
    }

    /// An issuer with its keys, at once.
    pub(crate) fn loaded(
        settings: IssuerSettings,
        audiences: &[String],
        iss: String,
        keys: KeyStore,
    ) -> Self {
        let issuer = Self::new(settings, audiences);
        issuer.install(iss, keys);
        issuer
    }

    pub(crate) fn settings(&self) -> &IssuerSettings {
        &self.settings
    }

    /// The `iss` values to route here.
    pub(crate) fn routes(&self) -> impl Iterator<Item = &str> {
        self.iss
            .get()
            .map(String::as_str)
            .into_iter()
            .chain(self.expected.iter().map(String::as_str))
    }

    /// Whether a token claiming `iss` belongs to this issuer: exactly its
    /// `iss` once known, one of the expected spellings before.
    pub(crate) fn claims(&self, iss: &str) -> bool {
        match self.iss.get() {
            Some(known) => known == iss,
            None => self.expected.iter().any(|e| e == iss),
        }
    }

    /// The exact `iss`, once the keys are loaded.
    pub(crate) fn iss(&self) -> Option<&str> {
        self.iss.get().map(String::as_str)
    }

    /// What the protected-resource metadata lists for it: its exact `iss`
    /// once known, else the issuer as configured.
    pub(crate) fn metadata_name(&self) -> String {
        self.iss().map_or_else(|| self.settings.as_configured(), str::to_owned)
    }

    /// How it is named in logs, `/ready` and metrics.
    pub(crate) fn label(&self) -> String {
        self.iss().map_or_else(|| self.settings.label(), str::to_owned)
    }

    pub(crate) fn audiences(&self) -> &[String] {
        &self.audiences
    }

    pub(crate) fn allowed(&self) -> AlgSet {
        self.settings.allowed
    }

    /// Its key store, once loaded.
    pub(crate) fn keys(&self) -> Option<&Arc<KeyStore>> {
        self.keys.get()
    }

    /// Sets the exact `iss` and the loaded keys; the first call wins.
    pub(crate) fn install(&self, iss: String, keys: KeyStore) {
        let _ = self.iss.set(iss);
        if self.keys.set(Arc::new(keys)).is_ok() {
            self.pending().last_error = None;
        }
    }

    fn pending(&self) -> std::sync::MutexGuard<'_, PendingLoad> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records a failed attempt to load the keys, and when the next is.
    pub(crate) fn load_failed(&self, error: String, retry_in: Duration) {
        let mut pending = self.pending();
        pending.failures += 1;
        pending.last_error = Some(error);
        pending.retry_in = retry_in;
    }

    /// Seconds until the next attempt to load the keys, for `Retry-After`.
    pub(crate) fn retry_after(&self) -> u32 {
        self.pending().retry_in.as_secs_f64().ceil().clamp(1.0, 3600.0) as u32
    }

    /// The failed attempts to load the keys so far.
    pub(crate) fn pending_load(&self) -> PendingLoad {
        self.pending().clone()
    }

    /// Refreshes the keys in the background if they are due and no refresh
    /// is on its way: for issuers without a refresh task of their own.
    pub(crate) fn refresh_if_due(self: &Arc<Self>) {
        let Some(keys) = self.keys() else { return };
        if !keys.refresh_due() || self.refreshing.swap(true, Ordering::AcqRel) {
            return;
        }
        let issuer = self.clone();
        let keys = keys.clone();
        tokio::spawn(async move {
            let _ = keys.refresh().await;
            issuer.refreshing.store(false, Ordering::Release);
        });
    }
}
