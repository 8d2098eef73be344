//! The read-only world a request sees: the exchange pipeline, and what the HTTP edge and the
//! fronts add around it; and `LiveState`, which holds the current one and lets a reload swap it.

use std::sync::{Arc, Mutex, PoisonError};

use arc_swap::ArcSwap;

use crate::clients::{ClientRegistry, FailedAuthLimiter};
use crate::config::TrustedProxies;
use crate::exchange::Pipeline;
use crate::front::{Forwarder, Fronts};
use crate::reload::ReloadStatus;

/// Made at start and by each good reload; handlers only read it.
pub struct AppState {
    /// What the exchange use case runs on.
    pub pipeline: Arc<Pipeline>,
    /// The clients allowed to call `/exchange`, with their rate limits.
    pub clients: ClientRegistry,
    /// Refuses an address after repeated failed authentications (`limits.failed_auth`). Shared
    /// with the next state while the limit is unchanged, so a reload forgets no failure.
    pub failed_auth: Arc<FailedAuthLimiter>,
    pub(crate) fronts: Fronts,
    pub(crate) forwarder: Forwarder,
    /// `limits.trusted_proxies`: whose `X-Forwarded-For` names the client.
    pub(crate) trusted_proxies: TrustedProxies,
    /// The discovery document, rendered once.
    pub discovery: String,
}

/// The state requests are served from, and how the last reload went. A request takes the current
/// state once, at its start, and finishes on it whatever a reload swaps in meanwhile.
pub struct LiveState {
    current: ArcSwap<AppState>,
    reload: Mutex<ReloadStatus>,
}

impl LiveState {
    pub(crate) fn new(state: Arc<AppState>, reload: ReloadStatus) -> LiveState {
        LiveState {
            current: ArcSwap::new(state),
            reload: Mutex::new(reload),
        }
    }

    /// The state a request starting now is served from.
    pub fn current(&self) -> Arc<AppState> {
        self.current.load_full()
    }

    pub(crate) fn swap(&self, state: Arc<AppState>) {
        self.current.store(state);
    }

    /// How the reloads have gone so far.
    pub fn reload_status(&self) -> ReloadStatus {
        self.reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn update_reload_status(&self, update: impl FnOnce(&mut ReloadStatus)) {
        update(&mut self.reload.lock().unwrap_or_else(PoisonError::into_inner));
    }
}
