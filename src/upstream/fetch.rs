//! Outbound HTTP to an IdP: URLs from config only, no redirects, timeouts and a body cap.

use std::time::Duration;

use serde_json::Value;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: plain http is not allowed for this upstream")]
    InsecureScheme { url: String },
    #[error("{url}: {reason}")]
    Transport { url: String, reason: String },
    #[error("{url}: answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: the body is larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
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

/// The HTTP client for every outbound request: redirects are never followed (one could lead to
/// a host the config never named), connecting is bounded.
pub fn outbound_client() -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .user_agent(concat!("tokenbridge/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|err| FetchError::Invalid(format!("cannot build the HTTP client: {err}")))
}

/// A response body, read only up to `max_bytes`: a larger declared or actual body is refused
/// before it is held.
pub async fn read_capped_body(
    mut response: reqwest::Response,
    max_bytes: usize,
    shown: &str,
) -> Result<Vec<u8>, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: shown.to_owned(),
        limit: max_bytes,
    };
    if response
        .content_length()
        .is_some_and(|len| len > max_bytes as u64)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|err| transport_error(shown, &err))?
    {
        if body.len() + chunk.len() > max_bytes {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub fn transport_error(shown: &str, err: &reqwest::Error) -> FetchError {
    FetchError::Transport {
        url: shown.to_owned(),
        reason: if err.is_timeout() {
            "timed out".into()
        } else {
            err.to_string()
        },
    }
}

impl Fetcher {
    pub fn new() -> Result<Fetcher, FetchError> {
        Ok(Fetcher {
            client: outbound_client()?,
        })
    }

    /// GETs a JSON object, reading at most `max_bytes` of body.
    pub async fn get_json(
        &self,
        url: &Url,
        timeout: Duration,
        max_bytes: usize,
        is_http_allowed: bool,
    ) -> Result<serde_json::Map<String, Value>, FetchError> {
        let shown = url.as_str().to_owned();
        if url.scheme() != "https" && !(is_http_allowed && url.scheme() == "http") {
            return Err(FetchError::InsecureScheme { url: shown });
        }
        let response = self
            .client
            .get(url.clone())
            .header("accept", "application/json")
            .timeout(timeout)
            .send()
            .await
            .map_err(|err| transport_error(&shown, &err))?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { url: shown, status });
        }
        let body = read_capped_body(response, max_bytes, &shown).await?;
        match serde_json::from_slice(&body) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(FetchError::NotJson { url: shown }),
        }
    }
}
