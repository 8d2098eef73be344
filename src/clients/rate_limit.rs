//! A token bucket per client: `burst` requests at once, refilled at `per_second`.

use std::sync::Mutex;
use std::time::Duration;

use crate::config::RateLimit;

/// A bucket was empty: the client, or the address's failed authentications, hit the limit.
#[derive(Debug, thiserror::Error)]
#[error("rate limit exceeded; retry after {retry_after_secs}s")]
pub struct RateLimited {
    /// Whole seconds until one token is back, at least 1: the `Retry-After` value.
    pub retry_after_secs: u64,
}

pub(crate) struct TokenBucket {
    limit: RateLimit,
    state: Mutex<BucketState>,
}

struct BucketState {
    tokens: f64,
    updated: Duration,
}

impl TokenBucket {
    pub(crate) fn new(limit: RateLimit, now: Duration) -> TokenBucket {
        TokenBucket {
            limit,
            state: Mutex::new(BucketState {
                tokens: f64::from(limit.burst),
                updated: now,
            }),
        }
    }

    /// Takes one token, or says how long until one is there. `now` is monotonic time.
    pub(crate) fn take(&self, now: Duration) -> Result<(), RateLimited> {
        self.refilled(now, true)
    }

    /// Whether a token is there, without taking it.
    pub(crate) fn check(&self, now: Duration) -> Result<(), RateLimited> {
        self.refilled(now, false)
    }

    fn refilled(&self, now: Duration, is_taking: bool) -> Result<(), RateLimited> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let elapsed = now.saturating_sub(state.updated).as_secs_f64();
        state.tokens =
            (state.tokens + elapsed * self.limit.per_second).min(f64::from(self.limit.burst));
        state.updated = now;
        if state.tokens >= 1.0 {
            if is_taking {
                state.tokens -= 1.0;
            }
            return Ok(());
        }
        let wait = (1.0 - state.tokens) / self.limit.per_second;
        Err(RateLimited {
            retry_after_secs: wait.ceil().max(1.0) as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_refused_then_refilled() {
        let bucket = TokenBucket::new(
            RateLimit {
                per_second: 0.5,
                burst: 2,
            },
            Duration::ZERO,
        );
        assert!(bucket.take(Duration::ZERO).is_ok());
        assert!(bucket.take(Duration::ZERO).is_ok());
        let refused = bucket.take(Duration::ZERO).unwrap_err();
        assert_eq!(refused.retry_after_secs, 2);
        assert!(bucket.take(Duration::from_secs(2)).is_ok());
    }
}
