//! The only place that reads the wall clock. Everything else takes `now` as an input.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as JWT `NumericDate` (RFC 7519 §2) counts them.
pub type UnixTime = i64;

pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time, for token claims.
    fn now(&self) -> UnixTime;
    /// Monotonic time, for rate limits and cooldowns.
    fn monotonic(&self) -> Duration;
}

pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    #[allow(clippy::disallowed_methods)]
    pub fn shared() -> SharedClock {
        Arc::new(SystemClock {
            started: Instant::now(),
        })
    }
}

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> UnixTime {
        // A clock set before 1970 is a broken host; treating it as the epoch makes every token
        // look not-yet-valid instead of panicking.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |elapsed| {
                i64::try_from(elapsed.as_secs()).unwrap_or(i64::MAX)
            })
    }

    #[allow(clippy::disallowed_methods)]
    fn monotonic(&self) -> Duration {
        self.started.elapsed()
    }
}

/// A clock that stands still until moved: for tests and benchmarks.
pub struct ManualClock {
    seconds: AtomicI64,
}

impl ManualClock {
    pub fn at(now: UnixTime) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            seconds: AtomicI64::new(now),
        })
    }

    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_secs()).unwrap_or(i64::MAX);
        self.seconds.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.seconds.load(Ordering::SeqCst)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_secs(u64::try_from(self.now()).unwrap_or(0))
    }
}
