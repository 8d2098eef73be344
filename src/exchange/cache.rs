//! The exchange cache of a client with `cache = true`: a repeat of an exchange (the same client,
//! subject token, `subject_token_type`, requested `audience` and `requested_token_type`) is
//! answered with the token issued the first time and its remaining `expires_in`, with no
//! decryption, verification or signature.
//!
//! An entry is served only while all of these hold, else it is removed and the exchange runs
//! afresh: less than half of the issued token's lifetime has passed (so a repeat caller never
//! gets a token about to expire, and nothing outlives the issued `exp`); the key ring is in the
//! state it signed in (same signer per algorithm, same decryption keys); the upstream's keys are
//! the generation the subject token was verified with, and still usable. The cache lives on the
//! `Client`, which every config load builds anew, so a reload empties it. Refusals are never
//! kept. The key is a SHA-256 of the request's fields: the subject token itself is not kept.

use std::sync::Arc;

use aws_lc_rs::digest::{Context, SHA256};
use moka::sync::Cache;

use super::{ExchangeError, ExchangeRequest, Issued, Pipeline, Trace, decide, sign};
use crate::clients::Client;
use crate::clock::UnixTime;
use crate::metrics::CacheLookup;
use crate::oauth::TokenType;
use crate::upstream::Upstream;

/// One client's cached exchanges, at most `cache_size` of them (moka evicts the least useful).
pub(crate) struct ExchangeCache {
    entries: Cache<CacheKey, Arc<Entry>>,
}

/// The SHA-256 of the fields that make two requests the same exchange, each length-prefixed so
/// that no two different requests run together into the same bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct CacheKey([u8; 32]);

/// An issued token and what it was valid under.
struct Entry {
    access_token: Arc<str>,
    issued_token_type: TokenType,
    issued_at: UnixTime,
    expires_at: UnixTime,
    /// `KeyRing::state_generation` when it was signed.
    key_ring_state: usize,
    /// The upstream whose key verified the subject token, and that key set's generation.
    upstream: Arc<Upstream>,
    upstream_keys: u64,
    /// What the first exchange's audit line said, for the audit line of each repeat.
    audited: Audited,
}

/// The facts of the trace that a repeat's audit line shows again.
struct Audited {
    token_fingerprint: Option<String>,
    sub: Option<String>,
    original_aud: Vec<String>,
    chosen_aud: Option<String>,
    jti: Option<String>,
}

impl ExchangeCache {
    /// An empty cache for at most `size` entries.
    pub(crate) fn new(size: u64) -> ExchangeCache {
        ExchangeCache {
            entries: Cache::builder().max_capacity(size).build(),
        }
    }

    /// The exchange, answered from the cache while an entry is valid; a fresh exchange is kept
    /// when it succeeded and no key changed state while it ran.
    pub(super) async fn exchange(
        &self,
        pipeline: &Arc<Pipeline>,
        client: &Client,
        request: ExchangeRequest,
        trace: &mut Trace,
    ) -> Result<Issued, ExchangeError> {
        let key = CacheKey::of(&client.config.id, &request);
        let now = pipeline.clock.now();
        let key_ring_state = pipeline.key_ring.state_generation(now);
        let (result, found) = self.look_up(key, now, key_ring_state);
        pipeline.metrics.cache_lookup(&client.config.id, result);
        if let Some(entry) = found {
            entry.audited.fill(&entry.upstream, trace);
            return Ok(Issued {
                access_token: entry.access_token.to_string(),
                issued_token_type: entry.issued_token_type,
                expires_in: entry.expires_at - now,
            });
        }

        let decision = decide(pipeline, client, request, trace).await?;
        let (issued_token_type, expires_in) = (decision.issued_token_type, decision.expires_in);
        let (issued_at, upstream, upstream_keys) = (
            decision.issued_at,
            decision.upstream.clone(),
            decision.upstream_keys,
        );
        let access_token = sign(pipeline, decision.alg, decision.typ, decision.claims).await?;
        // A key that changed state between the look-up and the signature leaves the stamp
        // unknown: not kept, the next request stamps it right.
        let is_key_ring_unchanged =
            pipeline.key_ring.state_generation(pipeline.clock.now()) == key_ring_state;
        if let (true, Some(upstream_keys)) = (is_key_ring_unchanged, upstream_keys) {
            let entry = Entry {
                access_token: Arc::from(access_token.as_str()),
                issued_token_type,
                issued_at,
                expires_at: issued_at + expires_in,
                key_ring_state,
                upstream,
                upstream_keys,
                audited: Audited::from(&*trace),
            };
            self.entries.insert(key, Arc::new(entry));
        }
        Ok(Issued {
            access_token,
            issued_token_type,
            expires_in,
        })
    }

    /// The entry for `key` if it is valid at `now`; one that isn't is removed.
    fn look_up(
        &self,
        key: CacheKey,
        now: UnixTime,
        key_ring_state: usize,
    ) -> (CacheLookup, Option<Arc<Entry>>) {
        let Some(entry) = self.entries.get(&key) else {
            return (CacheLookup::Miss, None);
        };
        if entry.is_valid(now, key_ring_state) {
            return (CacheLookup::Hit, Some(entry));
        }
        self.entries.invalidate(&key);
        (CacheLookup::Stale, None)
    }
}

impl CacheKey {
    fn of(client_id: &str, request: &ExchangeRequest) -> CacheKey {
        CacheKey::of_fields([
            Some(client_id),
            Some(&request.subject_token),
            Some(request.subject_token_type.urn()),
            request.audience.as_deref(),
            request.requested_token_type.map(TokenType::urn),
        ])
    }

    /// Each field as a presence byte, then (if present) its length as 8 bytes and its bytes:
    /// an absent field differs from an empty one, and ("ab", "c") from ("a", "bc").
    fn of_fields(fields: [Option<&str>; 5]) -> CacheKey {
        let mut context = Context::new(&SHA256);
        for field in fields {
            match field {
                None => context.update(&[0]),
                Some(value) => {
                    context.update(&[1]);
                    context.update(&(value.len() as u64).to_be_bytes());
                    context.update(value.as_bytes());
                }
            }
        }
        let mut key = [0; 32];
        key.copy_from_slice(context.finish().as_ref());
        CacheKey(key)
    }
}

impl Entry {
    /// Served only before half the issued lifetime has passed (never before `iat`, should the
    /// clock go back), and while the keys are as they were.
    fn is_valid(&self, now: UnixTime, key_ring_state: usize) -> bool {
        let half_life = self.issued_at + (self.expires_at - self.issued_at) / 2;
        (self.issued_at..half_life).contains(&now)
            && key_ring_state == self.key_ring_state
            && self.upstream.jwks.generation() == Some(self.upstream_keys)
    }
}

impl From<&Trace> for Audited {
    fn from(trace: &Trace) -> Audited {
        Audited {
            token_fingerprint: trace.token_fingerprint.clone(),
            sub: trace.sub.clone(),
            original_aud: trace.original_aud.clone(),
            chosen_aud: trace.chosen_aud.clone(),
            jti: trace.jti.clone(),
        }
    }
}

impl Audited {
    /// The trace of a repeat: the first exchange's facts, marked as cached.
    fn fill(&self, upstream: &Upstream, trace: &mut Trace) {
        trace.token_fingerprint.clone_from(&self.token_fingerprint);
        trace.upstream = Some(upstream.config.issuer.clone());
        trace.sub.clone_from(&self.sub);
        trace.original_aud.clone_from(&self.original_aud);
        trace.chosen_aud.clone_from(&self.chosen_aud);
        trace.jti.clone_from(&self.jti);
        trace.is_cached = true;
    }
}

#[cfg(test)]
mod tests;
