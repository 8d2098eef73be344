//! The request id and the span around each request.
//!
//! Every answer carries `X-Request-Id`: the caller's own, when it is 1 to 128 characters of
//! `A–Z a–z 0–9 - _ . :` (a UUID, a ULID, a proxy's hex id, `host:port-counter`), else 128 random
//! bits in hex. Anything else (a line break, a quote, unicode, a space, more than 128 characters)
//! is replaced, never echoed and never logged: the id goes into every log line and into a
//! response header, so it must be plain. The id is a field of the `request` span that wraps the
//! whole request, so every line logged while serving it (the audit line too) names it.
//!
//! With traces on (`telemetry::traces`), the same span becomes the request's server span: the
//! caller's W3C trace context is its parent, and it records the method, the route *pattern*
//! (`/front/{client}/token`, never the path with its values), the status and the client id once
//! it is authenticated. With traces off none of that is recorded or looked up.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use tracing::Instrument;
use tracing::field::Empty;

use crate::telemetry::traces;

/// The header, in both directions.
pub(crate) const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest caller-given id kept.
const MAX_LEN: usize = 128;

/// Names the request, wraps it in its span, and puts the id on the answer, errors included.
pub(crate) async fn tag_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| is_sane(value))
        .map_or_else(generate, str::to_owned);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        otel.name = Empty,
        otel.kind = Empty,
        otel.status_code = Empty,
        http.request.method = Empty,
        http.route = Empty,
        http.response.status_code = Empty,
        client_id = Empty,
    );
    if traces::is_enabled() {
        span.record("otel.kind", "server");
        span.record("http.request.method", request.method().as_str());
        let headers = request.headers();
        traces::continue_trace(&span, |name| {
            headers.get(name).and_then(|value| value.to_str().ok())
        });
    }
    let answer = {
        let _entered = span.enter();
        next.call(request)
    }
    .instrument(span.clone())
    .await;
    let value = HeaderValue::from_str(&id).ok();
    match answer {
        Ok(mut response) => {
            if traces::is_enabled() {
                record_answer(&span, &response);
            }
            if let Some(value) = value {
                response.headers_mut().insert(REQUEST_ID, value);
            }
            Ok(response)
        }
        // Handlers answer their own errors; one from further in is rendered here, with the id,
        // because the request (needed for a `ServiceResponse`) is gone.
        Err(err) => {
            let mut rendered = err.error_response();
            if let Some(value) = value {
                rendered.headers_mut().insert(REQUEST_ID, value);
            }
            Err(InternalError::from_response(err, rendered).into())
        }
    }
}

/// Records, on the server span, what was served; only with traces on.
fn record_answer<B>(span: &tracing::Span, response: &ServiceResponse<B>) {
    let method = response.request().method().as_str();
    // The pattern the router matched: bounded by the route table, free of request values.
    match response.request().match_pattern() {
        Some(route) => {
            span.record("otel.name", format!("{method} {route}"));
            span.record("http.route", route);
        }
        None => {
            span.record("otel.name", method);
        }
    }
    let status = response.status();
    span.record("http.response.status_code", status.as_u16());
    if status.is_server_error() {
        span.record("otel.status_code", "error");
    }
}

/// Records the authenticated client on the current request's span, with traces on; only ever a
/// configured client id (the caller's claimed id is never recorded).
pub(crate) fn record_client(client_id: &str) {
    if traces::is_enabled() {
        tracing::Span::current().record("client_id", client_id);
    }
}

/// The conservative charset and length described in the module documentation.
fn is_sane(id: &str) -> bool {
    (1..=MAX_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b':'))
}

/// 128 random bits from the system's CSPRNG, as 32 hex digits: unguessable, so an id seen in one
/// answer says nothing about another request's.
fn generate() -> String {
    let mut bytes = [0u8; 16];
    // The CSPRNG failing is the OS failing; an all-zero id then still names the request's lines.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    const HEX: &[u8; 16] = b"0123456789abcdef";
    bytes
        .iter()
        .flat_map(|byte| [byte >> 4, byte & 0x0f])
        .map(|nibble| char::from(HEX[usize::from(nibble)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{generate, is_sane};

    #[test]
    fn plain_ids_are_kept_and_anything_else_is_refused() {
        for sane in ["a", "0f8fad5b-d9cb-469f-a165-70867728950e", "edge-1:42.7_x"] {
            assert!(is_sane(sane), "{sane}");
        }
        let long = "a".repeat(129);
        for hostile in ["", "a\nb", "a b", "é", "a\"b", "a=b;c", long.as_str()] {
            assert!(!is_sane(hostile), "{hostile:?}");
        }
        assert!(is_sane(&"a".repeat(128)));
    }

    #[test]
    fn generated_ids_are_32_hex_digits_and_differ() {
        let (one, two) = (generate(), generate());
        assert_eq!(one.len(), 32);
        assert!(one.bytes().all(|byte| byte.is_ascii_hexdigit()));
        assert_ne!(one, two);
    }
}
