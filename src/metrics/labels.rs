//! The fixed label values the hot path reports with, each with its name in a scrape.

/// What a look-up in a client's exchange cache found
/// (`tokenbridge_exchange_cache_lookups_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheLookup {
    /// A valid entry: answered without any key operation.
    Hit,
    /// No entry.
    Miss,
    /// An entry no longer valid (past half its lifetime, or a key changed): removed.
    Stale,
}

impl CacheLookup {
    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            CacheLookup::Hit => "hit",
            CacheLookup::Miss => "miss",
            CacheLookup::Stale => "stale",
        }
    }
}

/// A pipeline step that is timed (`tokenbridge_exchange_step_duration_seconds{step}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PipelineStep {
    /// Opening a JWE subject token.
    Decrypt,
    /// Checking the subject token's signature and claims.
    Verify,
    /// Signing the issued token.
    Sign,
}

impl PipelineStep {
    /// The label value, and the name of the tracing span around the step.
    pub fn name(self) -> &'static str {
        match self {
            PipelineStep::Decrypt => "decrypt",
            PipelineStep::Verify => "verify",
            PipelineStep::Sign => "sign",
        }
    }
}

/// What an opaque token's introspection came to (`tokenbridge_introspections_total{result}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntrospectionResult {
    /// An earlier `active: true` answer, reused.
    Cached,
    /// The IdP answered `active: true` now.
    Active,
    /// The IdP answered `active: false`.
    Inactive,
    /// The IdP could not be asked, or answered nothing usable.
    Unavailable,
}

impl IntrospectionResult {
    /// The label value.
    pub fn name(self) -> &'static str {
        match self {
            IntrospectionResult::Cached => "cached",
            IntrospectionResult::Active => "active",
            IntrospectionResult::Inactive => "inactive",
            IntrospectionResult::Unavailable => "unavailable",
        }
    }
}
