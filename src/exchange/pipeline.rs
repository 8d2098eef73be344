//! What the exchange use case needs to run, and nothing else: made once at start, shared by
//! `/exchange`, the fronts and `explain`. Live reload replaces it whole.

use crate::clock::SharedClock;
use crate::config::Limits;
use crate::jose::alg::JweEnc;
use crate::jose::compact::CompactLimits;
use crate::keyring::KeyRing;
use crate::upstream::Upstreams;

pub struct Pipeline {
    /// The `iss` of what `/exchange` issues; a front issues as its own.
    pub issuer: String,
    /// tokenbridge's own keys: decryption of subject tokens, signing of issued ones.
    pub key_ring: KeyRing,
    pub upstreams: Upstreams,
    pub clock: SharedClock,
    pub limits: Limits,
    /// `limits` as the compact parser takes them, made once.
    pub compact_limits: CompactLimits,
    /// The `enc` values a JWE may use (`keys.content_encryption`).
    pub content_encryption: Vec<JweEnc>,
}

impl Pipeline {
    pub fn new(
        issuer: String,
        key_ring: KeyRing,
        upstreams: Upstreams,
        clock: SharedClock,
        limits: Limits,
        content_encryption: Vec<JweEnc>,
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
        }
    }
}
