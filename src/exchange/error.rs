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
    /// Malformed, oversized, undecryptable, or a JOSE header tokenbridge refuses.
    #[error(transparent)]
    Jose(#[from] JoseError),
    /// The JWE's plaintext is another JWE, not the JWS it must carry.
    #[error("a JWE nested in a JWE is refused")]
    NestedJwe,
    /// The (unverified) `iss`, if any, names no configured upstream.
    #[error("issuer {0:?} is not a configured upstream")]
    UntrustedIssuer(Option<String>),
    /// `iss` is a listed tenant's issuer, but the signed `tid` names another tenant or none.
    #[error("iss is the issuer of tenant {tenant:?}, but tid is {tid:?}")]
    WrongTenant {
        /// The tenant `iss` names.
        tenant: String,
        /// The token's `tid`.
        tid: Option<String>,
    },
    /// An opaque token sent as anything but an access token (ID tokens are JWTs).
    #[error("an opaque token can only be an access token")]
    OpaqueNotAccessToken,
    /// Not a JWT, and not made of the characters an access token is (RFC 6750 §2.1).
    #[error("neither a JWT nor an opaque access token")]
    NotAToken,
    /// The upstream's introspection says the token is not active.
    #[error("upstream {0:?} says the token is not active")]
    Inactive(String),
    /// The introspection answer's `token_type` is not an access token's (`Bearer`, `DPoP`).
    #[error("the introspection answer's token_type is {0:?}, not an access token's")]
    NotAnAccessToken(Option<String>),
    /// The introspection answer's `iss` is not the upstream that was asked.
    #[error("the introspection answer names issuer {0:?}, not the upstream that was asked")]
    IntrospectedIssuer(Option<String>),
    /// The token's upstream is not among the client's `upstreams` (or not the front's own).
    #[error("client {client:?} may not exchange tokens from upstream {upstream:?}")]
    UpstreamNotAllowed {
        /// The client id (or the front's client).
        client: String,
        /// The upstream's name.
        upstream: String,
    },
    /// The JWS `alg` is one tokenbridge knows but not in the upstream's `algorithms`.
    #[error("{alg} is not among upstream {upstream:?}'s algorithms")]
    AlgorithmNotAllowed {
        /// The header's `alg`.
        alg: String,
        /// The upstream's name.
        upstream: String,
    },
    /// No key of the upstream's JWKS fits the token's `kid` and `alg`, even after a refetch.
    #[error(transparent)]
    Key(KeyLookupError),
    /// No candidate key verifies the signature.
    #[error("the signature does not verify")]
    BadSignature,
    /// A required claim (`exp`, `sub`, `aud`) or a time claim is missing or of the wrong type.
    #[error("claim {0} is missing or has the wrong type")]
    Claim(&'static str),
    /// `exp` is not after now (the leeway never extends it).
    #[error("expired at {exp}, now {now}")]
    Expired {
        /// The token's `exp`, Unix seconds.
        exp: i64,
        /// Now, Unix seconds.
        now: i64,
    },
    /// `nbf` is later than now plus the leeway.
    #[error("not valid before {nbf}, now {now}")]
    NotYetValid {
        /// The token's `nbf`, Unix seconds.
        nbf: i64,
        /// Now, Unix seconds.
        now: i64,
    },
    /// `iat` is later than now plus the leeway.
    #[error("issued in the future at {iat}, now {now}")]
    IssuedInFuture {
        /// The token's `iat`, Unix seconds.
        iat: i64,
        /// Now, Unix seconds.
        now: i64,
    },
    /// Sent as `id_token` but marked as an access token; the payload says which mark.
    #[error("sent as an ID token, but it is an access token ({0})")]
    NotAnIdToken(&'static str),
    /// An ID token was requested for an access token, and the client doesn't allow that.
    #[error(
        "an ID token is not issued from an access token for this client (id_token_from_access_token)"
    )]
    IdTokenFromAccessToken,
    /// The issued `exp` (capped by the subject's and `max_ttl`) would not be after now.
    #[error("no lifetime left to issue")]
    NoLifetimeLeft,
    /// A claim rule refused the token (a required claim missing, a value of the wrong shape).
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The audience claim holds more values than `limits.max_aud_values`.
    #[error("the audience claim has {0} values, more than limits.max_aud_values")]
    TooManyAudiences(usize),
    /// The token carries none of the upstream's `audience_claims`.
    #[error("none of the audience claims {0:?} is present")]
    NoAudience(Vec<String>),
    /// The first audience claim present is not a string or a list of strings.
    #[error("audience claim {0:?} is not a string or a list of strings")]
    AudienceClaim(String),
    /// The issued claims would pass `limits.max_issued_claims` or `max_issued_bytes`.
    #[error("the issued token would have {0}, over the limit")]
    IssuedTooLarge(String),
}

/// Why an exchange was refused: each kind has its RFC error code and fixed description.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    /// The request's parameters are missing, repeated, unknown or unsupported.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// The client could not be authenticated.
    #[error(transparent)]
    Auth(#[from] AuthError),
    /// The client, or the caller's address after failed authentications, is over its limit.
    #[error(transparent)]
    RateLimited(#[from] RateLimited),
    /// The subject token was refused.
    #[error("subject token refused: {0}")]
    Token(#[from] TokenError),
    /// No single audience allowed for the client could be chosen.
    #[error("no audience: {0}")]
    Audience(#[from] AudienceError),
    /// The upstream's keys are unknown (none cached and the fetch failed): worth a retry.
    #[error("{0}")]
    KeysUnavailable(String),
    /// The IdP could not answer about an opaque token (introspection): worth a retry.
    #[error("{0}")]
    IdpUnavailable(String),
    /// tokenbridge failed (no randomness, a task that died, no signing key).
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
    /// The RFC 6749 §5.2 / RFC 8693 §2.2.2 error code the caller gets.
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
            ExchangeError::KeysUnavailable(_) | ExchangeError::IdpUnavailable(_) => {
                ErrorCode::TemporarilyUnavailable
            }
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
            ExchangeError::IdpUnavailable(_) => "the identity provider is unavailable; retry later",
            ExchangeError::Internal(_) => "the token could not be issued",
        }
    }
}
