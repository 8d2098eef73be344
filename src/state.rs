//! The read-only world a request sees.

use crate::clients::{ClientRegistry, FailedAuthLimiter};
use crate::clock::SharedClock;
use crate::config::Limits;
use crate::front::{Forwarder, Fronts};
use crate::jose::alg::JweEnc;
use crate::jose::compact::CompactLimits;
use crate::keyring::KeyRing;
use crate::upstream::Upstreams;

pub struct AppState {
    pub issuer: String,
    pub keys: KeyRing,
    pub upstreams: Upstreams,
    pub clients: ClientRegistry,
    pub failed_auth: FailedAuthLimiter,
    pub fronts: Fronts,
    pub forwarder: Forwarder,
    pub clock: SharedClock,
    pub limits: Limits,
    pub compact_limits: CompactLimits,
    pub content_encryption: Vec<JweEnc>,
    /// The discovery document, rendered once.
    pub discovery: String,
}
