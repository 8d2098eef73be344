//! GETs to an IdP (discovery, JWKS): URLs from config or discovery only, https unless allowed,
//! a timeout and a body cap, through the `outbound` client.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::outbound::{self, OutboundError};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: plain http is not allowed for this upstream")]
    InsecureScheme { url: String },
    #[error(transparent)]
    Outbound(#[from] OutboundError),
    #[error("{url}: answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the body is not a JSON object")]
    NotJson { url: String },
    #[error("{0}")]
    Invalid(String),
}

/// One HTTP client for all upstreams, built once: connections are pooled.
#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
}

impl Fetcher {
    pub fn new() -> Result<Fetcher, FetchError> {
        Ok(Fetcher {
            client: outbound::client()?,
        })
    }

    /// POSTs a form with HTTP Basic client authentication and reads a JSON object answer, at
    /// most `max_bytes` of it (RFC 7662 §2.1).
    pub async fn post_form_json(
        &self,
        url: &Url,
        form: &[(&str, &str)],
        credentials: (&str, &str),
        timeout: Duration,
        max_bytes: usize,
        is_http_allowed: bool,
    ) -> Result<serde_json::Map<String, Value>, FetchError> {
        check_scheme(url, is_http_allowed)?;
        // RFC 6749 §2.3.1: the id and secret are form-encoded before they go into Basic.
        let encode =
            |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let (id, secret) = (
            encode(credentials.0),
            zeroize::Zeroizing::new(encode(credentials.1)),
        );
        let request = self
            .client
            .post(url.clone())
            .basic_auth(id, Some(secret.as_str()))
            .form(form);
        json_answer(request, url, timeout, max_bytes).await
    }

    /// GETs a JSON object, reading at most `max_bytes` of body.
    pub async fn get_json(
        &self,
        url: &Url,
        timeout: Duration,
        max_bytes: usize,
        is_http_allowed: bool,
    ) -> Result<serde_json::Map<String, Value>, FetchError> {
        check_scheme(url, is_http_allowed)?;
        json_answer(self.client.get(url.clone()), url, timeout, max_bytes).await
    }
}

fn check_scheme(url: &Url, is_http_allowed: bool) -> Result<(), FetchError> {
    if url.scheme() != "https" && !(is_http_allowed && url.scheme() == "http") {
        return Err(FetchError::InsecureScheme {
            url: url.as_str().to_owned(),
        });
    }
    Ok(())
}

/// Sends `request` and reads its answer: 200 and a JSON object of at most `max_bytes`.
async fn json_answer(
    request: reqwest::RequestBuilder,
    url: &Url,
    timeout: Duration,
    max_bytes: usize,
) -> Result<serde_json::Map<String, Value>, FetchError> {
    let shown = url.as_str().to_owned();
    let request = request
        .header("accept", "application/json")
        .timeout(timeout);
    let response = outbound::with_trace_context(request)
        .send()
        .await
        .map_err(|err| outbound::transport_error(&shown, &err))?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(FetchError::Status { url: shown, status });
    }
    let body = outbound::read_body(response, max_bytes, &shown).await?;
    match serde_json::from_slice(&body) {
        Ok(Value::Object(object)) => Ok(object),
        _ => Err(FetchError::NotJson { url: shown }),
    }
}
