//! The only place that reads the wall clock or the monotonic clock. Everything else takes its
//! time from a `Clock`: `now` for token claims, `monotonic` for every age, cooldown and due time
//! (failed-authentication limits, the upstream key age, the refetch cooldown, the background
//! refresh). Caches store and coalesce; they never decide by their own clock (moka's clock only
//! evicts what no longer matters: a failed-authentication bucket idle long enough to be full
//! again), and a timer only waits before the clock is read again, so a `ManualClock` controls
//! every decision in tests.

pub mod rfc3339;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch, as JWT `NumericDate` (RFC 7519 §2) counts them.
pub type UnixTime = i64;

/// The source of every time decision (see the module docs): `SystemClock` in the service,
/// `ManualClock` in tests and benchmarks.
pub trait Clock: Send + Sync + 'static {
    /// Wall-clock time, for token claims.
    fn now(&self) -> UnixTime;
    /// Monotonic time, for rate limits and cooldowns.
    fn monotonic(&self) -> Duration;
}

/// The one clock an app and everything it builds share, so moving a `ManualClock` moves the time
/// every request and cache sees.
pub type SharedClock = Arc<dyn Clock>;

/// The real clock.
pub struct SystemClock {
    started: Instant,
}

impl SystemClock {
    /// The system clock, whose `monotonic` counts from this call.
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

/// A clock that stands still until moved: for tests and benchmarks. It counts milliseconds, so
/// advancing it by less than a second moves `monotonic` (cooldowns are often that short) while
/// `now` moves in whole seconds, as `NumericDate` does.
pub struct ManualClock {
    millis: AtomicI64,
}

impl ManualClock {
    /// A clock standing at `now`; `monotonic` starts at the same count of seconds. In an `Arc`,
    /// so a test keeps a handle to move it while the service holds it as a `SharedClock`.
    pub fn at(now: UnixTime) -> Arc<ManualClock> {
        Arc::new(ManualClock {
            millis: AtomicI64::new(now.saturating_mul(1000)),
        })
    }

    /// Moves `now` and `monotonic` forward together, to the millisecond.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(by, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> UnixTime {
        self.millis.load(Ordering::SeqCst).div_euclid(1000)
    }

    fn monotonic(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.millis.load(Ordering::SeqCst)).unwrap_or(0))
    }
}
