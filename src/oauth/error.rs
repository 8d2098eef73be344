//! The RFC 6749 §5.2 / RFC 8693 §2.2.2 error codes this service answers with.

use serde::Serialize;

/// The `error` of an error answer; the description beside it is fixed, never the internal reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A malformed or oversized request, or a subject token that is refused (RFC 8693 §2.2.2).
    InvalidRequest,
    /// Client authentication failed: missing, malformed, unknown client or wrong secret.
    InvalidClient,
    /// A front's IdP answered with tokens the pipeline refuses.
    InvalidGrant,
    /// `grant_type` is not one this endpoint serves.
    UnsupportedGrantType,
    /// No audience can be chosen, or a `resource` was asked for (RFC 8693 §2.2.2).
    InvalidTarget,
    /// A `scope` was sent: tokenbridge grants none.
    InvalidScope,
    /// Over a client's or an address's rate limit; borrowed from RFC 8628 §3.5, as RFC 6749
    /// §5.2 has no rate-limit code.
    SlowDown,
    /// An upstream or its keys can't be reached just now; worth retrying.
    TemporarilyUnavailable,
    /// A failure the caller can't fix: an internal error, or a front's IdP userinfo answer that
    /// can't be verified or signed.
    ServerError,
}

impl ErrorCode {
    /// The code as the `error` member spells it (`invalid_request`).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidRequest => "invalid_request",
            ErrorCode::InvalidClient => "invalid_client",
            ErrorCode::InvalidGrant => "invalid_grant",
            ErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            ErrorCode::InvalidTarget => "invalid_target",
            ErrorCode::InvalidScope => "invalid_scope",
            ErrorCode::SlowDown => "slow_down",
            ErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            ErrorCode::ServerError => "server_error",
        }
    }
}
