//! What the exchange use case needs to run, and nothing else: made once at start, shared by
//! `/exchange`, the fronts and `explain`. Live reload replaces it whole.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::Limits;
use crate::jose::alg::JweEnc;
use crate::jose::compact::CompactLimits;
use crate::keyring::KeyRing;
use crate::metrics::Metrics;
use crate::upstream::Upstreams;

/// The exchange's world, read-only while it serves.
pub struct Pipeline {
    /// The `iss` of what `/exchange` issues; a front issues as its own.
    pub issuer: String,
    /// tokenbridge's own keys: decryption of subject tokens, signing of issued ones.
    pub key_ring: KeyRing,
    /// The trusted IdPs, found by exact issuer, with their key caches.
    pub upstreams: Upstreams,
    /// The one time source (a manual one in tests).
    pub clock: SharedClock,
    /// `[limits]`: sizes, counts and times every input is held to.
    pub limits: Limits,
    /// `limits` as the compact parser takes them, made once.
    pub compact_limits: CompactLimits,
    /// The `enc` values a JWE may use (`keys.content_encryption`).
    pub content_encryption: Vec<JweEnc>,
    /// What requests count and time; the same for the whole process, across reloads.
    pub metrics: Arc<Metrics>,
}

impl Pipeline {
    /// Made once at start; `compact_limits` is derived from `limits`.
    pub fn new(
        issuer: String,
        key_ring: KeyRing,
        upstreams: Upstreams,
        clock: SharedClock,
        limits: Limits,
        content_encryption: Vec<JweEnc>,
        metrics: Arc<Metrics>,
    ) -> Pipeline {
        Pipeline {
            issuer,
            key_ring,
            upstreams,
            clock,
            compact_limits: CompactLimits {
                max_token_bytes: limits.max_token_bytes,
                max_header_bytes: limits.max_header_bytes,
                max_json_depth: limits.max_json_depth,
                max_claims: limits.max_claims,
            },
            limits,
            content_encryption,
            metrics,
        }
    }
}
