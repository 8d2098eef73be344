//! The read-only world a request sees: the exchange pipeline, and what the HTTP edge and the
//! fronts add around it.

use std::sync::Arc;

use crate::clients::{ClientRegistry, FailedAuthLimiter};
use crate::exchange::Pipeline;
use crate::front::{Forwarder, Fronts};

pub struct AppState {
    pub pipeline: Arc<Pipeline>,
    pub clients: ClientRegistry,
    pub failed_auth: FailedAuthLimiter,
    pub fronts: Fronts,
    pub forwarder: Forwarder,
    /// The discovery document, rendered once.
    pub discovery: String,
}
