//! Why an exchange was refused, precisely (for the log), and which RFC error code and fixed
//! description the caller gets. The HTTP status is the edge's (`http::error`).

use crate::clients::{AuthError, RateLimited};
use crate::jose::JoseError;
use crate::oauth::ErrorCode;
use crate::policy::audience::AudienceError;
use crate::policy::rules::RuleError;
use crate::upstream::KeyLookupError;

use super::request::RequestError;

/// What is wrong with the subject token. The caller learns only that it was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error(transparent)]
    Jose(#[from] JoseError),
    #[error("a JWE nested in a JWE is refused")]
    NestedJwe,
    #[error("issuer {0:?} is not a configured upstream")]
    UntrustedIssuer(Option<String>),
    #[error("client {client:?} may not exchange tokens from upstream {upstream:?}")]
    UpstreamNotAllowed { client: String, upstream: String },
    #[error("{alg} is not among upstream {upstream:?}'s algorithms")]
    AlgorithmNotAllowed { alg: String, upstream: String },
    #[error(transparent)]
    Key(KeyLookupError),
    #[error("the signature does not verify")]
    BadSignature,
    #[error("claim {0} is missing or has the wrong type")]
    Claim(&'static str),
    #[error("expired at {exp}, now {now}")]
    Expired { exp: i64, now: i64 },
    #[error("not valid before {nbf}, now {now}")]
    NotYetValid { nbf: i64, now: i64 },
    #[error("issued in the future at {iat}, now {now}")]
    IssuedInFuture { iat: i64, now: i64 },
    #[error("sent as an ID token, but it is an access token ({0})")]
    NotAnIdToken(&'static str),
    #[error(
        "an ID token is not issued from an access token for this client (id_token_from_access_token)"
    )]
    IdTokenFromAccessToken,
    #[error("no lifetime left to issue")]
    NoLifetimeLeft,
    #[error(transparent)]
    Rule(#[from] RuleError),
    #[error("aud has {0} values, more than limits.max_aud_values")]
    TooManyAudiences(usize),
    #[error("the issued token would have {0}, over the limit")]
    IssuedTooLarge(String),
}

#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error(transparent)]
    Request(#[from] RequestError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    #[error("subject token refused: {0}")]
    Token(#[from] TokenError),
    #[error("no audience: {0}")]
    Audience(#[from] AudienceError),
    #[error("{0}")]
    KeysUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<JoseError> for ExchangeError {
    fn from(err: JoseError) -> Self {
        ExchangeError::Token(TokenError::Jose(err))
    }
}

impl From<KeyLookupError> for ExchangeError {
    fn from(err: KeyLookupError) -> Self {
        match err {
            KeyLookupError::Unavailable(reason) => ExchangeError::KeysUnavailable(reason),
            unknown @ KeyLookupError::UnknownKey { .. } => {
                ExchangeError::Token(TokenError::Key(unknown))
            }
        }
    }
}

impl ExchangeError {
    pub fn code(&self) -> ErrorCode {
        match self {
            ExchangeError::Request(RequestError::UnsupportedGrantType(_)) => {
                ErrorCode::UnsupportedGrantType
            }
            ExchangeError::Request(RequestError::UnsupportedScope) => ErrorCode::InvalidScope,
            ExchangeError::Request(RequestError::UnsupportedResource) => ErrorCode::InvalidTarget,
            ExchangeError::Request(_) | ExchangeError::Token(_) => ErrorCode::InvalidRequest,
            ExchangeError::Auth(_) => ErrorCode::InvalidClient,
            ExchangeError::RateLimited(_) => ErrorCode::SlowDown,
            ExchangeError::Audience(_) => ErrorCode::InvalidTarget,
            ExchangeError::KeysUnavailable(_) => ErrorCode::TemporarilyUnavailable,
            ExchangeError::Internal(_) => ErrorCode::ServerError,
        }
    }

    /// The description the caller sees: fixed per kind of failure, never the precise reason.
    pub fn public_description(&self) -> &'static str {
        match self {
            ExchangeError::Request(RequestError::UnsupportedGrantType(_)) => {
                "only token exchange is supported"
            }
            ExchangeError::Request(RequestError::UnsupportedScope) => "no scope is issued here",
            ExchangeError::Request(RequestError::UnsupportedResource) => {
                "no token is issued for a resource here; name the audience instead"
            }
            ExchangeError::Request(_) => "the request is missing a parameter or is malformed",
            ExchangeError::Token(TokenError::Jose(JoseError::TooLarge)) => {
                "the request is too large"
            }
            ExchangeError::Token(TokenError::IdTokenFromAccessToken) => {
                "no ID token is issued from an access token for this client"
            }
            ExchangeError::Token(_) => "the subject token was refused",
            ExchangeError::Auth(_) => "client authentication failed",
            ExchangeError::RateLimited(_) => "too many requests; retry later",
            ExchangeError::Audience(_) => "no audience allowed for this client could be chosen",
            ExchangeError::KeysUnavailable(_) => {
                "the identity provider's keys are unavailable; retry later"
            }
            ExchangeError::Internal(_) => "the token could not be issued",
        }
    }
}
