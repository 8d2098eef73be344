//! An upstream's verification keys (its JWKS): fetched at start and in the background, used for
//! at most `max_key_age`, and refetched on an unknown `kid` at most once per cooldown, concurrent
//! requests sharing that one fetch. Every age, cooldown and due time is read from the `Clock`'s
//! monotonic time; moka only coalesces the concurrent refetches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use moka::future::Cache as AsyncCache;
use serde_json::{Map, Value};
use url::Url;

use super::discovery::Discovery;
use super::fetch::{FetchError, Fetcher};
use crate::clock::SharedClock;
use crate::config::UpstreamConfig;
use crate::jose::alg::JwsAlg;
use crate::jose::verify::{VerificationKey, VerificationKeySet};

/// How long the background refresh sleeps before it reads the clock again: a `ManualClock` moved
/// past a due time is noticed within this; on the system clock it costs one wake-up.
const CLOCK_POLL: Duration = Duration::from_millis(500);

/// The background refresh's first retry after a failure; each further failure doubles it.
const FIRST_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum KeyLookupError {
    #[error("no key with kid {kid:?} for {alg} in the upstream's JWKS, even after a refetch")]
    UnknownKey { kid: Option<String>, alg: JwsAlg },
    #[error("the upstream's keys are unavailable: {0}")]
    Unavailable(String),
}

/// A key set and the monotonic time it was fetched (or installed).
struct Fetched {
    set: Arc<VerificationKeySet>,
    at: Duration,
    /// Counts the key sets that differed from the one before: a refetch of the same keys keeps
    /// it, so what was verified with them stays valid (the exchange cache's stamp).
    generation: u64,
    /// The SHA-256 of the JWKS's `keys` array as served: how "the same keys" is told.
    digest: [u8; 32],
}

/// A refetch on an unknown `kid`, shared by every request that waited for it.
struct Refetch {
    outcome: Result<(), String>,
    finished_at: Duration,
}

pub struct JwksCache {
    config: UpstreamConfig,
    fetcher: Fetcher,
    clock: SharedClock,
    /// Where the `jwks_uri` comes from when the config names none.
    discovery: Arc<Discovery>,
    /// The last good key set. While the IdP is down exchanges go on with it, but never once it
    /// is older than `max_key_age`.
    current: RwLock<Option<Fetched>>,
    /// The last refetch. `or_insert_with_if` coalesces concurrent refetches into one and starts
    /// a new one only once the last has finished `refetch_cooldown` ago.
    refetch_gate: AsyncCache<(), Arc<Refetch>>,
    last_error: RwLock<Option<String>>,
    /// What the metrics count: fetches that succeeded and failed, and refetches for an unknown
    /// `kid`. Kept with the cache, so they live as long as its keys do.
    pub(crate) counts: FetchCounts,
}

/// The fetches of one key cache, counted.
#[derive(Default)]
pub(crate) struct FetchCounts {
    pub(crate) succeeded: AtomicU64,
    pub(crate) failed: AtomicU64,
    pub(crate) unknown_kid_refetches: AtomicU64,
}

impl JwksCache {
    pub fn new(
        config: &UpstreamConfig,
        fetcher: Fetcher,
        clock: SharedClock,
        discovery: Arc<Discovery>,
    ) -> JwksCache {
        JwksCache {
            config: config.clone(),
            fetcher,
            clock,
            discovery,
            current: RwLock::new(None),
            refetch_gate: AsyncCache::builder().max_capacity(1).build(),
            last_error: RwLock::new(None),
            counts: FetchCounts::default(),
        }
    }

    /// How long ago the key set in use was fetched; `None` while there is none.
    pub(crate) fn age(&self) -> Option<Duration> {
        let now = self.clock.monotonic();
        let current = self.current.read().ok()?;
        current
            .as_ref()
            .map(|fetched| now.saturating_sub(fetched.at))
    }

    /// The last good key set, unless it is older than `max_key_age`.
    pub fn current(&self) -> Option<Arc<VerificationKeySet>> {
        let now = self.clock.monotonic();
        let current = self.current.read().ok()?;
        current
            .as_ref()
            .filter(|fetched| now.saturating_sub(fetched.at) < self.config.max_key_age)
            .map(|fetched| fetched.set.clone())
    }

    /// The generation of the key set `current` returns; `None` while there is none. It changes
    /// only when a fetch brings keys that differ from the last ones.
    pub(crate) fn generation(&self) -> Option<u64> {
        let now = self.clock.monotonic();
        let current = self.current.read().ok()?;
        current
            .as_ref()
            .filter(|fetched| now.saturating_sub(fetched.at) < self.config.max_key_age)
            .map(|fetched| fetched.generation)
    }

    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .read()
            .map(|error| error.clone())
            .unwrap_or_default()
    }

    /// The key set that has a candidate for (`kid`, `alg`). A known `kid` never causes a fetch;
    /// an unknown one causes at most one, shared, per cooldown.
    pub async fn key_set_for(
        &self,
        kid: Option<&str>,
        alg: JwsAlg,
    ) -> Result<Arc<VerificationKeySet>, KeyLookupError> {
        if let Some(set) = self.current()
            && set.candidates(kid, alg).next().is_some()
        {
            return Ok(set);
        }
        let cooldown = self.config.refetch_cooldown;
        let refetch = self
            .refetch_gate
            .entry(())
            .or_insert_with_if(
                async {
                    self.counts
                        .unknown_kid_refetches
                        .fetch_add(1, Ordering::Relaxed);
                    let outcome = self
                        .refresh()
                        .await
                        .map(drop)
                        .map_err(|err| err.to_string());
                    Arc::new(Refetch {
                        outcome,
                        finished_at: self.clock.monotonic(),
                    })
                },
                |last| self.clock.monotonic().saturating_sub(last.finished_at) >= cooldown,
            )
            .await
            .into_value();
        // The refetch may be one from before this request, inside the cooldown: the keys in
        // `current` are at least as new.
        match (self.current(), &refetch.outcome) {
            (Some(set), _) if set.candidates(kid, alg).next().is_some() => Ok(set),
            (Some(_), _) => Err(KeyLookupError::UnknownKey {
                kid: kid.map(str::to_owned),
                alg,
            }),
            (None, Err(reason)) => Err(KeyLookupError::Unavailable(reason.clone())),
            (None, Ok(())) => Err(KeyLookupError::Unavailable("no usable keys".into())),
        }
    }

    /// Fetches the JWKS (from the configured or the discovered `jwks_uri`) and on success makes
    /// the new set current.
    pub async fn refresh(&self) -> Result<Arc<VerificationKeySet>, FetchError> {
        let result = self.fetch_key_set().await;
        let count = match result {
            Ok(_) => &self.counts.succeeded,
            Err(_) => &self.counts.failed,
        };
        count.fetch_add(1, Ordering::Relaxed);
        let error = result.as_ref().err().map(ToString::to_string);
        if let Ok(mut last_error) = self.last_error.write() {
            *last_error = error;
        }
        result
    }

    async fn fetch_key_set(&self) -> Result<Arc<VerificationKeySet>, FetchError> {
        // The discovered `jwks_uri` was judged as the document names it; only then is it routed.
        let jwks_uri = self.jwks_uri().await?;
        let jwks = self
            .fetcher
            .get_json(
                &self.config.route(&jwks_uri),
                self.config.fetch_timeout,
                self.config.max_jwks_bytes,
                self.config.is_http_allowed,
            )
            .await?;
        let set = self.install(&jwks)?;
        tracing::info!(upstream = %self.config.name, keys = set.len(), "fetched the upstream's JWKS");
        Ok(set)
    }

    async fn jwks_uri(&self) -> Result<Url, FetchError> {
        match &self.config.jwks_uri {
            Some(uri) => Ok(uri.clone()),
            None => self.discovery.jwks_uri().await,
        }
    }

    /// Parses a JWKS document and makes it current. Used by fetches, and by tools that are given
    /// the keys instead of fetching them (benchmarks, offline checks).
    pub fn install(
        &self,
        jwks: &Map<String, Value>,
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
        // serde_json writes an object's members in one order, so equal keys give equal bytes.
        let served = serde_json::to_vec(entries).unwrap_or_default();
        let mut digest = [0u8; 32];
        digest.copy_from_slice(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &served).as_ref(),
        );
        if let Ok(mut current) = self.current.write() {
            // Set and generation change under one lock: a reader never sees a generation newer
            // than the keys it is given.
            let generation = match current.as_ref() {
                Some(previous) if previous.digest == digest => previous.generation,
                Some(previous) => previous.generation.wrapping_add(1),
                None => 1,
            };
            *current = Some(Fetched {
                set: set.clone(),
                at: self.clock.monotonic(),
                generation,
                digest,
            });
        }
        Ok(set)
    }

    /// Background refresh on `RefreshSchedule`. `is_fresh` says whether the start-up fetch
    /// succeeded. Runs until aborted.
    pub async fn refresh_forever(&self, is_fresh: bool) {
        let mut schedule = RefreshSchedule::new(
            self.clock.monotonic(),
            self.config.refresh_interval,
            is_fresh,
        );
        loop {
            let wait = schedule.wait(self.clock.monotonic());
            if !wait.is_zero() {
                tokio::time::sleep(wait.min(CLOCK_POLL)).await;
                continue;
            }
            let is_success = match self.refresh().await {
                Ok(_) => true,
                Err(err) => {
                    tracing::warn!(upstream = %self.config.name, error = %err, "refreshing the upstream's keys failed; cached keys stay in use");
                    false
                }
            };
            schedule.record(self.clock.monotonic(), is_success);
        }
    }
}

/// When the background refresh is next due: `interval` after a success; after a failure sooner,
/// from `FIRST_RETRY` doubling up to `interval`, so an IdP that comes back is noticed soon and one
/// that stays down is not hammered.
struct RefreshSchedule {
    interval: Duration,
    retry: Duration,
    due: Duration,
}

impl RefreshSchedule {
    fn new(now: Duration, interval: Duration, is_fresh: bool) -> RefreshSchedule {
        RefreshSchedule {
            interval,
            retry: FIRST_RETRY,
            due: now + if is_fresh { interval } else { FIRST_RETRY },
        }
    }

    /// How long until the next refresh is due; zero once it is.
    fn wait(&self, now: Duration) -> Duration {
        self.due.saturating_sub(now)
    }

    fn record(&mut self, now: Duration, is_success: bool) {
        let next = if is_success {
            self.retry = FIRST_RETRY;
            self.interval
        } else {
            self.retry = (self.retry * 2).min(self.interval);
            self.retry
        };
        self.due = now + next;
    }
}

#[cfg(test)]
mod tests;
