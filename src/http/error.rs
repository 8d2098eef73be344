//! The edge's errors and the one renderer of every error body: RFC 6749 §5.2 JSON, a fixed
//! description per kind, the status and headers HTTP needs. Nothing else writes an error body.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{
    ALLOW, CACHE_CONTROL, HeaderValue, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE,
};
use actix_web::{HttpResponse, HttpResponseBuilder};
use serde_json::json;

use crate::clients::{AuthError, RateLimited};
use crate::exchange::{ExchangeError, RequestError, TokenError};
use crate::front::FrontRefusal;
use crate::jose::JoseError;
use crate::oauth::ErrorCode;

/// How long a caller should wait when the IdP's keys are unavailable: about one refetch.
const KEYS_UNAVAILABLE_RETRY_AFTER_SECS: u64 = 5;

/// Every refusal the HTTP edge answers with.
#[derive(Debug, thiserror::Error)]
pub(crate) enum EdgeError {
    #[error(transparent)]
    Exchange(#[from] ExchangeError),
    #[error("front refused: {0:?}")]
    Front(FrontRefusal),
    #[error("request body larger than {0} bytes")]
    BodyTooLarge(usize),
    #[error("the request body did not arrive within {0:?} (limits.body_read_timeout)")]
    BodyTimeout(Duration),
    #[error("unsupported content type")]
    UnsupportedMediaType,
    /// The methods the path takes, for `Allow` (RFC 9110 §15.5.6).
    #[error("method not allowed (allowed: {0})")]
    MethodNotAllowed(&'static str),
    #[error("no such front")]
    NoSuchFront,
    #[error("no RSA encryption key is configured")]
    NoEncryptionCertificate,
}

impl From<RequestError> for EdgeError {
    fn from(err: RequestError) -> Self {
        EdgeError::Exchange(err.into())
    }
}

impl From<AuthError> for EdgeError {
    fn from(err: AuthError) -> Self {
        EdgeError::Exchange(err.into())
    }
}

impl From<RateLimited> for EdgeError {
    fn from(err: RateLimited) -> Self {
        EdgeError::Exchange(err.into())
    }
}

impl EdgeError {
    /// The RFC 6749 §5.2 code the caller gets.
    pub(crate) fn code(&self) -> ErrorCode {
        match self {
            EdgeError::Exchange(err) => err.code(),
            EdgeError::Front(refusal) => refusal.code(),
            EdgeError::BodyTooLarge(_)
            | EdgeError::BodyTimeout(_)
            | EdgeError::UnsupportedMediaType
            | EdgeError::MethodNotAllowed(_)
            | EdgeError::NoSuchFront
            | EdgeError::NoEncryptionCertificate => ErrorCode::InvalidRequest,
        }
    }

    fn description(&self) -> &'static str {
        match self {
            EdgeError::Exchange(err) => err.public_description(),
            EdgeError::Front(refusal) => refusal.description(),
            EdgeError::BodyTooLarge(_) => "the request is too large",
            EdgeError::BodyTimeout(_) => "the request body did not arrive in time",
            EdgeError::UnsupportedMediaType => "the request is missing a parameter or is malformed",
            EdgeError::MethodNotAllowed(_) => {
                "the method is not allowed here: see the Allow header"
            }
            EdgeError::NoSuchFront => "no such front",
            EdgeError::NoEncryptionCertificate => "no RSA encryption key is configured",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            EdgeError::Exchange(err) => exchange_status(err),
            EdgeError::Front(refusal) => front_status(*refusal),
            EdgeError::BodyTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            // RFC 9110 §15.5.9: the server would not wait any longer for the request.
            EdgeError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            EdgeError::UnsupportedMediaType => StatusCode::BAD_REQUEST,
            EdgeError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            EdgeError::NoSuchFront | EdgeError::NoEncryptionCertificate => StatusCode::NOT_FOUND,
        }
    }

    fn retry_after_secs(&self) -> Option<u64> {
        match self {
            EdgeError::Exchange(ExchangeError::RateLimited(limited)) => {
                Some(limited.retry_after_secs)
            }
            EdgeError::Exchange(
                ExchangeError::KeysUnavailable(_) | ExchangeError::IdpUnavailable(_),
            ) => Some(KEYS_UNAVAILABLE_RETRY_AFTER_SECS),
            _ => None,
        }
    }
}

/// The status an exchange refusal is answered with (also what `explain` reports).
pub(crate) fn exchange_status(err: &ExchangeError) -> StatusCode {
    match err {
        ExchangeError::Token(TokenError::Jose(JoseError::TooLarge)) => {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        ExchangeError::Auth(_) => StatusCode::UNAUTHORIZED,
        ExchangeError::RateLimited(_) => StatusCode::TOO_MANY_REQUESTS,
        ExchangeError::KeysUnavailable(_) | ExchangeError::IdpUnavailable(_) => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        ExchangeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        ExchangeError::Request(_) | ExchangeError::Token(_) | ExchangeError::Audience(_) => {
            StatusCode::BAD_REQUEST
        }
    }
}

fn front_status(refusal: FrontRefusal) -> StatusCode {
    match refusal {
        FrontRefusal::UnsupportedGrantType
        | FrontRefusal::TokensRefused
        | FrontRefusal::InvalidAuthorizationRequest
        | FrontRefusal::InvalidState
        | FrontRefusal::RedirectUriMismatch => StatusCode::BAD_REQUEST,
        FrontRefusal::NotRelaying => StatusCode::NOT_FOUND,
        FrontRefusal::IdpUnavailable | FrontRefusal::IdpKeysUnavailable => {
            StatusCode::SERVICE_UNAVAILABLE
        }
        // The IdP answered, but with something that can't be vouched for: a bad gateway.
        FrontRefusal::UserinfoRefused => StatusCode::BAD_GATEWAY,
        FrontRefusal::UserinfoNotSigned
        | FrontRefusal::StateNotSealed
        | FrontRefusal::LogoutNotSigned => StatusCode::INTERNAL_SERVER_ERROR,
        FrontRefusal::LogoutRequestInvalid
        | FrontRefusal::IdTokenHintRefused
        | FrontRefusal::LogoutClientMismatch
        | FrontRefusal::PostLogoutRedirectUriNotListed
        | FrontRefusal::NoIdpLogout
        | FrontRefusal::LogoutStateInvalid => StatusCode::BAD_REQUEST,
        FrontRefusal::NoBackchannelLogout => StatusCode::NOT_FOUND,
        // Back-Channel Logout §2.8: a logout that failed is a 400, which lets the OP retry.
        FrontRefusal::LogoutTokenRefused | FrontRefusal::LogoutNotRelayed => {
            StatusCode::BAD_REQUEST
        }
    }
}

/// The one renderer of refusals.
pub(crate) fn render_error(err: &EdgeError) -> HttpResponse {
    let status = err.status();
    let mut response = HttpResponse::build(status);
    no_store(&mut response);
    if status == StatusCode::UNAUTHORIZED {
        // RFC 6749 §5.2: a 401 names the scheme the client should authenticate with.
        response.insert_header((WWW_AUTHENTICATE, "Basic realm=\"tokenbridge\""));
    }
    if status == StatusCode::REQUEST_TIMEOUT {
        // RFC 9110 §15.5.9: the rest of a timed-out body may still come, so the connection
        // can't carry another request; it closes after this answer.
        response.force_close();
    }
    if let Some(seconds) = err.retry_after_secs() {
        response.insert_header((RETRY_AFTER, seconds.to_string()));
    }
    if let EdgeError::MethodNotAllowed(allow) = err {
        response.insert_header((ALLOW, HeaderValue::from_static(allow)));
    }
    response.json(json!({
        "error": err.code().as_str(),
        "error_description": err.description(),
    }))
}

/// Marks an answer that carries tokens, secrets or a refusal as never to be stored
/// (RFC 6749 §5.1, and `Pragma` for HTTP/1.0 caches).
pub(crate) fn no_store(response: &mut HttpResponseBuilder) -> &mut HttpResponseBuilder {
    response
        .insert_header((CACHE_CONTROL, "no-store"))
        .insert_header((PRAGMA, "no-cache"))
}

#[cfg(test)]
mod tests {
    use actix_web::body::to_bytes;
    use serde_json::Value;

    use super::*;
    use crate::clients::RateLimited;

    async fn rendered(err: EdgeError) -> (StatusCode, HttpResponse<Value>) {
        let response = render_error(&err);
        let status = response.status();
        let (head, body) = response.into_parts();
        let bytes = to_bytes(body).await.unwrap_or_default();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, head.set_body(json))
    }

    fn header<'a>(response: &'a HttpResponse<Value>, name: &str) -> Option<&'a str> {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    #[actix_web::test]
    async fn every_refusal_is_an_rfc_error_body_that_is_never_stored() {
        let refusals = [
            (EdgeError::BodyTooLarge(10), 413, "invalid_request"),
            (
                EdgeError::BodyTimeout(Duration::from_secs(1)),
                408,
                "invalid_request",
            ),
            (EdgeError::UnsupportedMediaType, 400, "invalid_request"),
            (EdgeError::MethodNotAllowed("POST"), 405, "invalid_request"),
            (EdgeError::NoSuchFront, 404, "invalid_request"),
            (EdgeError::NoEncryptionCertificate, 404, "invalid_request"),
            (
                EdgeError::Front(FrontRefusal::TokensRefused),
                400,
                "invalid_grant",
            ),
            (
                EdgeError::Front(FrontRefusal::UserinfoRefused),
                502,
                "server_error",
            ),
            (
                EdgeError::Front(FrontRefusal::IdTokenHintRefused),
                400,
                "invalid_request",
            ),
            (
                EdgeError::Front(FrontRefusal::StateNotSealed),
                500,
                "server_error",
            ),
            (
                EdgeError::Front(FrontRefusal::IdpUnavailable),
                503,
                "temporarily_unavailable",
            ),
            (
                EdgeError::Front(FrontRefusal::NoBackchannelLogout),
                404,
                "invalid_request",
            ),
            (
                EdgeError::Front(FrontRefusal::LogoutTokenRefused),
                400,
                "invalid_request",
            ),
            (
                EdgeError::Front(FrontRefusal::LogoutNotRelayed),
                400,
                "temporarily_unavailable",
            ),
            (
                ExchangeError::KeysUnavailable("down".into()).into(),
                503,
                "temporarily_unavailable",
            ),
            (
                ExchangeError::Internal("x".into()).into(),
                500,
                "server_error",
            ),
            (
                ExchangeError::Token(TokenError::Jose(JoseError::TooLarge)).into(),
                413,
                "invalid_request",
            ),
            (
                ExchangeError::Token(TokenError::BadSignature).into(),
                400,
                "invalid_request",
            ),
        ];
        for (err, status, code) in refusals {
            let shown = err.to_string();
            let (actual, response) = rendered(err).await;
            assert_eq!(actual.as_u16(), status, "{shown}");
            let body = response.body();
            assert_eq!(body["error"], code, "{shown}");
            assert!(body["error_description"].is_string(), "{shown}");
            assert_eq!(body.as_object().map(|object| object.len()), Some(2));
            assert_eq!(header(&response, "cache-control"), Some("no-store"));
            assert_eq!(header(&response, "pragma"), Some("no-cache"));
        }
    }

    #[actix_web::test]
    async fn the_headers_each_refusal_needs() {
        let (_, limited) = rendered(
            ExchangeError::RateLimited(RateLimited {
                retry_after_secs: 7,
            })
            .into(),
        )
        .await;
        let (_, keys) = rendered(ExchangeError::KeysUnavailable("down".into()).into()).await;
        let (_, method) = rendered(EdgeError::MethodNotAllowed("GET, POST")).await;
        let (_, auth) =
            rendered(ExchangeError::Auth(crate::clients::AuthError::Missing).into()).await;
        let (_, timeout) = rendered(EdgeError::BodyTimeout(Duration::from_secs(1))).await;

        assert_eq!(header(&limited, "retry-after"), Some("7"));
        assert_eq!(header(&keys, "retry-after"), Some("5"));
        assert_eq!(header(&method, "allow"), Some("GET, POST"));
        assert_eq!(
            header(&auth, "www-authenticate"),
            Some("Basic realm=\"tokenbridge\"")
        );
        assert_eq!(
            timeout.head().connection_type(),
            actix_web::http::ConnectionType::Close
        );
    }

    #[test]
    fn no_refusal_description_names_its_precise_reason() {
        let err: EdgeError = ExchangeError::Token(TokenError::UntrustedIssuer(Some(
            "https://secret-idp.example".into(),
        )))
        .into();
        assert!(!err.description().contains("secret-idp"));
    }
}
