//! The read-only world a request sees: the exchange pipeline, and what the HTTP edge and the
//! fronts add around it.

use std::sync::Arc;

use crate::clients::{ClientRegistry, FailedAuthLimiter};
use crate::exchange::Pipeline;
use crate::front::{Forwarder, Fronts};

/// Made once at start by `app::build_state`; handlers only read it.
pub struct AppState {
    /// What the exchange use case runs on.
    pub pipeline: Arc<Pipeline>,
    /// The clients allowed to call `/exchange`, with their rate limits.
    pub clients: ClientRegistry,
    /// Refuses an address after repeated failed authentications (`limits.failed_auth`).
    pub failed_auth: FailedAuthLimiter,
    pub(crate) fronts: Fronts,
    pub(crate) forwarder: Forwarder,
    /// The discovery document, rendered once.
    pub discovery: String,
}
