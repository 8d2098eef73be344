//! Failed client authentication, limited per source address: secrets can't be guessed faster
//! than the limit allows. A blocked address is refused before its credentials are checked, so
//! the answer never tells a right guess from a wrong one.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;

use super::rate_limit::{RateLimited, TokenBucket};
use crate::config::RateLimit;

/// Failed authentications per source address, each address with its own token bucket.
pub struct FailedAuthLimiter {
    limit: RateLimit,
    /// Bounded: at most this many addresses are tracked, each forgotten after it has been quiet
    /// long enough for its bucket to refill.
    buckets: Cache<IpAddr, Arc<TokenBucket>>,
}

impl FailedAuthLimiter {
    pub(crate) fn new(limit: RateLimit) -> FailedAuthLimiter {
        let refill = Duration::from_secs_f64(f64::from(limit.burst) / limit.per_second);
        FailedAuthLimiter {
            limit,
            buckets: Cache::builder()
                .max_capacity(100_000)
                .time_to_idle(refill.max(Duration::from_secs(1)))
                .build(),
        }
    }

    /// The limit it applies: a reload keeps this limiter (and what it counted) while it stays.
    pub(crate) fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Refuses an address that has used up its failures.
    pub fn check(&self, address: IpAddr, now: Duration) -> Result<(), RateLimited> {
        match self.buckets.get(&address) {
            Some(bucket) => bucket.check(now),
            None => Ok(()),
        }
    }

    /// Counts one failed authentication from `address`.
    pub fn record_failure(&self, address: IpAddr, now: Duration) {
        let bucket = self
            .buckets
            .get_with(address, || Arc::new(TokenBucket::new(self.limit, now)));
        let _ = bucket.take(now);
    }
}
