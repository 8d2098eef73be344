//! An upstream's verification keys: fetched at start and in the background, kept for a bounded
//! age, and refetched on an unknown `kid` at most once per cooldown, concurrent requests sharing
//! that one fetch.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use moka::future::Cache as AsyncCache;
use moka::sync::Cache;
use serde_json::{Map, Value};
use url::Url;

use super::fetch::{FetchError, Fetcher};
use crate::config::UpstreamConfig;
use crate::jose::alg::JwsAlg;
use crate::jose::verify::{VerificationKey, VerificationKeySet};

#[derive(Debug, thiserror::Error)]
pub enum KeyLookupError {
    #[error("no key with kid {kid:?} for {alg} in the upstream's JWKS, even after a refetch")]
    UnknownKey { kid: Option<String>, alg: JwsAlg },
    #[error("the upstream's keys are unavailable: {0}")]
    Unavailable(String),
}

/// The last refetch's outcome, shared by every request that waited for it.
type RefetchOutcome = Result<Arc<VerificationKeySet>, String>;

pub struct UpstreamKeys {
    config: UpstreamConfig,
    fetcher: Fetcher,
    /// The last good key set. Entries live `max_key_age`: while the IdP is down exchanges go on
    /// with them, but never with keys older than that.
    current: Cache<(), Arc<VerificationKeySet>>,
    /// Present for `refetch_cooldown` after a refetch: `get_with` coalesces concurrent refetches
    /// into one, and while an entry lives no new one starts.
    refetch_gate: AsyncCache<(), Arc<RefetchOutcome>>,
    /// The IdP's discovery document, once fetched and its issuer checked.
    discovery: RwLock<Option<Arc<Map<String, Value>>>>,
    last_error: RwLock<Option<String>>,
}

impl UpstreamKeys {
    pub fn new(config: &UpstreamConfig, fetcher: Fetcher) -> UpstreamKeys {
        UpstreamKeys {
            config: config.clone(),
            fetcher,
            current: Cache::builder()
                .max_capacity(1)
                .time_to_live(config.max_key_age)
                .build(),
            refetch_gate: AsyncCache::builder()
                .max_capacity(1)
                .time_to_live(config.refetch_cooldown.max(Duration::from_millis(1)))
                .build(),
            discovery: RwLock::new(None),
            last_error: RwLock::new(None),
        }
    }

    pub fn cached(&self) -> Option<Arc<VerificationKeySet>> {
        self.current.get(&())
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .read()
            .map(|error| error.clone())
            .unwrap_or_default()
    }

    /// The key set that has a candidate for (`kid`, `alg`). A known `kid` never causes a fetch;
    /// an unknown one causes at most one, shared, per cooldown.
    pub async fn keys_for(
        &self,
        kid: Option<&str>,
        alg: JwsAlg,
    ) -> Result<Arc<VerificationKeySet>, KeyLookupError> {
        let cached = self.cached();
        if let Some(set) = &cached
            && set.candidates(kid, alg).next().is_some()
        {
            return Ok(set.clone());
        }
        let outcome = self
            .refetch_gate
            .get_with((), async {
                Arc::new(self.refresh().await.map_err(|err| err.to_string()))
            })
            .await;
        // The outcome may be a refetch from before this request, inside the cooldown: the keys
        // in `current` are at least as new.
        let fresh = self.cached();
        match (fresh, outcome.as_ref()) {
            (Some(set), _) if set.candidates(kid, alg).next().is_some() => Ok(set),
            (Some(_), _) => Err(KeyLookupError::UnknownKey {
                kid: kid.map(str::to_owned),
                alg,
            }),
            (None, Err(reason)) => Err(KeyLookupError::Unavailable(reason.clone())),
            (None, Ok(_)) => Err(KeyLookupError::Unavailable("no usable keys".into())),
        }
    }

    /// Fetches discovery (once, unless `jwks_uri` is configured) and the JWKS, and on success
    /// makes the new set current.
    pub async fn refresh(&self) -> Result<Arc<VerificationKeySet>, FetchError> {
        let result = self.fetch_key_set().await;
        let error = match &result {
            Ok(set) => {
                self.current.insert((), set.clone());
                None
            }
            Err(err) => Some(err.to_string()),
        };
        if let Ok(mut last_error) = self.last_error.write() {
            *last_error = error;
        }
        result
    }

    async fn fetch_key_set(&self) -> Result<Arc<VerificationKeySet>, FetchError> {
        let jwks_uri = self.jwks_uri().await?;
        let jwks = self
            .fetcher
            .get_json(
                &jwks_uri,
                self.config.fetch_timeout,
                self.config.max_jwks_bytes,
                self.config.is_http_allowed,
            )
            .await?;
        let set = self.install_jwks(&jwks)?;
        tracing::info!(upstream = %self.config.name, keys = set.len(), "fetched the upstream's JWKS");
        Ok(set)
    }

    async fn jwks_uri(&self) -> Result<Url, FetchError> {
        if let Some(uri) = &self.config.jwks_uri {
            return Ok(uri.clone());
        }
        let discovery = self.discovery().await?;
        let uri = discovery
            .get("jwks_uri")
            .and_then(Value::as_str)
            .and_then(|uri| Url::parse(uri).ok())
            .ok_or_else(|| {
                FetchError::Invalid("the discovery document has no valid jwks_uri".into())
            })?;
        // A discovery document that sends us to another host for keys is refused unless the
        // operator said that host is fine: discovery must not choose whom tokenbridge trusts.
        if !self.is_on_issuer_host(&uri) && !self.config.is_jwks_on_other_host_allowed {
            return Err(FetchError::Invalid(format!(
                "the discovery document names jwks_uri {uri} on another host than the issuer; set danger_allow_jwks_on_other_host = true to accept it"
            )));
        }
        Ok(uri)
    }

    /// Whether `url` is on the issuer's host.
    pub fn is_on_issuer_host(&self, url: &Url) -> bool {
        let issuer_host = Url::parse(&self.config.issuer)
            .ok()
            .and_then(|issuer| issuer.host_str().map(str::to_owned));
        url.host_str() == issuer_host.as_deref()
    }

    /// The IdP's discovery document: fetched once (its `issuer` checked), then kept.
    pub async fn discovery(&self) -> Result<Arc<Map<String, Value>>, FetchError> {
        if let Some(document) = self.discovery.read().ok().and_then(|slot| slot.clone()) {
            return Ok(document);
        }
        let discovery_url = Url::parse(&self.config.discovery_url())
            .map_err(|err| FetchError::Invalid(format!("discovery URL: {err}")))?;
        let document = self
            .fetcher
            .get_json(
                &discovery_url,
                self.config.fetch_timeout,
                self.config.max_jwks_bytes,
                self.config.is_http_allowed,
            )
            .await?;
        // OIDC Discovery §4.3: the document's issuer must be exactly the one we asked about.
        let issuer = document.get("issuer").and_then(Value::as_str);
        if issuer != Some(self.config.issuer.as_str()) {
            return Err(FetchError::Invalid(format!(
                "discovery at {discovery_url} names issuer {issuer:?}, not {:?}",
                self.config.issuer
            )));
        }
        let document = Arc::new(document);
        if let Ok(mut slot) = self.discovery.write() {
            *slot = Some(document.clone());
        }
        Ok(document)
    }

    /// Parses a JWKS document and makes it current. Used by fetches, and by tools that are given
    /// the keys instead of fetching them (benchmarks, offline checks).
    pub fn install_jwks(
        &self,
        jwks: &serde_json::Map<String, Value>,
    ) -> Result<Arc<VerificationKeySet>, FetchError> {
        let Some(Value::Array(entries)) = jwks.get("keys") else {
            return Err(FetchError::Invalid("the JWKS has no keys array".into()));
        };
        if entries.len() > self.config.max_jwks_keys {
            return Err(FetchError::Invalid(format!(
                "the JWKS has {} keys, more than the limit of {}",
                entries.len(),
                self.config.max_jwks_keys
            )));
        }
        let mut keys = Vec::new();
        for entry in entries {
            match VerificationKey::from_jwk(entry) {
                Ok(Some(key)) => keys.push(key),
                Ok(None) => {}
                Err(err) => {
                    let kid = entry.get("kid").and_then(Value::as_str).unwrap_or("");
                    tracing::warn!(upstream = %self.config.name, kid, reason = %err, "skipped a JWK");
                }
            }
        }
        if keys.is_empty() {
            return Err(FetchError::Invalid(
                "the JWKS has no usable signature key".into(),
            ));
        }
        let set = Arc::new(VerificationKeySet::new(keys));
        self.current.insert((), set.clone());
        Ok(set)
    }

    /// Background refresh: every `refresh_interval` while the IdP answers, sooner (with backoff)
    /// while it doesn't. `is_fresh` says whether the start-up fetch succeeded. Runs until aborted.
    pub async fn refresh_forever(&self, is_fresh: bool) {
        let mut retry = Duration::from_secs(1);
        let mut wait = if is_fresh {
            self.config.refresh_interval
        } else {
            retry
        };
        loop {
            tokio::time::sleep(wait).await;
            wait = match self.refresh().await {
                Ok(_) => {
                    retry = Duration::from_secs(1);
                    self.config.refresh_interval
                }
                Err(err) => {
                    tracing::warn!(upstream = %self.config.name, error = %err, "refreshing the upstream's keys failed; cached keys stay in use");
                    retry = (retry * 2).min(self.config.refresh_interval);
                    retry
                }
            };
        }
    }
}
