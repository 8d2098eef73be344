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

impl Fetcher {
    pub fn new() -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            // A redirect could lead the fetch to a host the config never named.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .user_agent(concat!("tokenbridge/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| FetchError::Invalid(format!("cannot build the HTTP client: {err}")))?;
        Ok(Fetcher { client })
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
        let transport = |err: reqwest::Error| FetchError::Transport {
            url: shown.clone(),
            reason: if err.is_timeout() {
                "timed out".into()
            } else {
                err.to_string()
            },
        };
        let mut response = self
            .client
            .get(url.clone())
            .header("accept", "application/json")
            .timeout(timeout)
            .send()
            .await
            .map_err(transport)?;
        let status = response.status().as_u16();
        if status != 200 {
            return Err(FetchError::Status { url: shown, status });
        }
        if response
            .content_length()
            .is_some_and(|len| len > max_bytes as u64)
        {
            return Err(FetchError::TooLarge {
                url: shown,
                limit: max_bytes,
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            if body.len() + chunk.len() > max_bytes {
                return Err(FetchError::TooLarge {
                    url: shown,
                    limit: max_bytes,
                });
            }
            body.extend_from_slice(&chunk);
        }
        match serde_json::from_slice(&body) {
            Ok(Value::Object(object)) => Ok(object),
            _ => Err(FetchError::NotJson { url: shown }),
        }
    }
}
