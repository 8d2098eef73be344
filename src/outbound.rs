//! Outbound HTTP: the one client builder every outbound request uses (an IdP's discovery and
//! JWKS, a front's forwarded calls, the `health` probe), and reading its answers with the cap.
//!
//! The client speaks TLS through rustls (reqwest's `rustls` feature: no OpenSSL, no system TLS
//! library), never follows a redirect (one could lead to a host the config never named: URLs
//! come from config or discovery only), and bounds connecting by `CONNECT_TIMEOUT`. Every request
//! sets its own overall timeout, which covers reading the body too.

use std::time::Duration;

use futures_util::stream;

use crate::capped::{CappedError, read_capped};
use crate::telemetry::traces;

/// How long connecting (TCP and TLS) may take, whatever the request's overall timeout.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an outbound request failed. The URL in each is the one the caller asked to be shown.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// reqwest could not build the client (its TLS backend failed to start, say); holds
    /// reqwest's message.
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    /// No status came back (connect, TLS, timeout), or the body broke off while it was read.
    #[error("{url}: {reason}")]
    Transport {
        /// The URL as shown in logs and errors.
        url: String,
        /// `timed out`, or reqwest's description of the failure.
        reason: String,
    },
    /// The body's `Content-Length`, or the bytes actually sent, passed the cap.
    #[error("{url}: the body is larger than {limit} bytes")]
    TooLarge {
        /// The URL as shown in logs and errors.
        url: String,
        /// The cap, in bytes.
        limit: usize,
    },
}

/// A client for outbound requests, as the module documentation describes. Connections are
/// pooled per client: build one and clone it.
pub fn client() -> Result<reqwest::Client, OutboundError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(CONNECT_TIMEOUT)
        .user_agent(concat!("tokenbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| OutboundError::Build(err.to_string()))
}

/// `request` with the W3C trace context (`traceparent`, `tracestate`) of the span it is sent
/// from, so that the IdP's trace joins the caller's; unchanged when traces are off or the span
/// is in no trace (a background refresh).
pub fn with_trace_context(mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    for (name, value) in traces::outgoing_headers() {
        request = request.header(name, value);
    }
    request
}

/// A response's body, read only up to `max_bytes` (`capped::read_capped`). `shown` names the URL
/// in errors.
pub async fn read_body(
    response: reqwest::Response,
    max_bytes: usize,
    shown: &str,
) -> Result<Vec<u8>, OutboundError> {
    let declared = response.content_length();
    let chunks = stream::unfold(response, |mut response| async move {
        response
            .chunk()
            .await
            .transpose()
            .map(|chunk| (chunk, response))
    });
    read_capped(declared, chunks, max_bytes)
        .await
        .map_err(|err| match err {
            CappedError::TooLarge => OutboundError::TooLarge {
                url: shown.to_owned(),
                limit: max_bytes,
            },
            CappedError::Stream(err) => transport_error(shown, &err),
        })
}

/// A request that failed before a status came back (or while its body was read).
pub fn transport_error(shown: &str, err: &reqwest::Error) -> OutboundError {
    OutboundError::Transport {
        url: shown.to_owned(),
        reason: if err.is_timeout() {
            TIMED_OUT.into()
        } else {
            err.to_string()
        },
    }
}

/// The `reason` of a transport error that was a timeout.
const TIMED_OUT: &str = "timed out";

impl OutboundError {
    /// Whether no answer came within the timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, OutboundError::Transport { reason, .. } if reason == TIMED_OUT)
    }
}
