//! An opaque token checked at the IdP (RFC 7662): one POST as tokenbridge's own client, and an
//! `active: true` answer reused until the token's `exp` or `cache_ttl`, whichever is first. The
//! cache is keyed by the token's SHA-256: the token itself is never kept.

use std::sync::Arc;

use aws_lc_rs::digest::{SHA256, digest};
use serde_json::{Map, Value};
use url::Url;

use super::discovery::Discovery;
use super::fetch::{FetchError, Fetcher};
use crate::clock::UnixTime;
use crate::config::{IntrospectionConfig, UpstreamConfig};

/// The largest introspection answer read: a few claims, like an ID token's.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Why an opaque token has no claims.
#[derive(Debug, thiserror::Error)]
pub(crate) enum IntrospectionError {
    /// The IdP could not be asked, or answered nothing usable: worth a retry.
    #[error("introspection at upstream {upstream:?} failed: {reason}")]
    Unavailable {
        /// The upstream's name.
        upstream: String,
        /// What went wrong, for the log.
        reason: String,
    },
    /// The IdP says the token is not active (unknown, expired, revoked, or not for us).
    #[error("upstream {0:?} says the token is not active")]
    Inactive(String),
}

/// A token's introspected claims, and until when they may be reused.
struct Answer {
    claims: Map<String, Value>,
    reuse_until: UnixTime,
}

/// One upstream's introspection: its settings, where its endpoint is, and recent answers.
pub(crate) struct Introspector {
    config: IntrospectionConfig,
    upstream: UpstreamConfig,
    discovery: Arc<Discovery>,
    fetcher: Fetcher,
    answers: moka::future::Cache<[u8; 32], Arc<Answer>>,
}

/// Claims from the IdP, and whether they came from the cache.
pub(crate) struct Introspected {
    pub(crate) claims: Map<String, Value>,
    pub(crate) is_cached: bool,
}

impl Introspector {
    pub(crate) fn new(
        config: IntrospectionConfig,
        upstream: &UpstreamConfig,
        discovery: Arc<Discovery>,
        fetcher: Fetcher,
    ) -> Introspector {
        let answers = moka::future::Cache::builder()
            .max_capacity(config.cache_size)
            // A bound in real time too, whatever the clock the exchange runs on says.
            .time_to_live(config.cache_ttl)
            .build();
        Introspector {
            config,
            upstream: upstream.clone(),
            discovery,
            fetcher,
            answers,
        }
    }

    /// The claims the IdP gives `token` now (or gave it within `cache_ttl`).
    pub(crate) async fn introspect(
        &self,
        token: &str,
        now: UnixTime,
    ) -> Result<Introspected, IntrospectionError> {
        let mut key = [0u8; 32];
        key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        if let Some(answer) = self.answers.get(&key).await {
            if now < answer.reuse_until {
                return Ok(Introspected {
                    claims: answer.claims.clone(),
                    is_cached: true,
                });
            }
            self.answers.invalidate(&key).await;
        }
        let mut claims = self.ask(token).await.map_err(|err| self.unavailable(err))?;
        if claims.remove("active") != Some(Value::Bool(true)) {
            return Err(IntrospectionError::Inactive(self.upstream.name.clone()));
        }
        let ttl = i64::try_from(self.config.cache_ttl.as_secs()).unwrap_or(i64::MAX);
        // Without a numeric exp the answer is not kept: the exchange refuses it anyway.
        if let Some(exp) = claims.get("exp").and_then(Value::as_i64) {
            let answer = Answer {
                claims: claims.clone(),
                reuse_until: exp.min(now.saturating_add(ttl)),
            };
            self.answers.insert(key, Arc::new(answer)).await;
        }
        Ok(Introspected {
            claims,
            is_cached: false,
        })
    }

    async fn ask(&self, token: &str) -> Result<Map<String, Value>, FetchError> {
        let endpoint: Url = match &self.config.endpoint {
            Some(endpoint) => endpoint.clone(),
            None => self.discovery.introspection_endpoint().await?,
        };
        self.fetcher
            .post_form_json(
                &self.upstream.route(&endpoint),
                &[("token", token), ("token_type_hint", "access_token")],
                (&self.config.client_id, &self.config.client_secret.0),
                self.upstream.fetch_timeout,
                MAX_ANSWER_BYTES,
                self.upstream.is_http_allowed,
            )
            .await
    }

    fn unavailable(&self, err: FetchError) -> IntrospectionError {
        IntrospectionError::Unavailable {
            upstream: self.upstream.name.clone(),
            reason: err.to_string(),
        }
    }
}
