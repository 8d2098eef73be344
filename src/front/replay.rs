//! The `jti`s of the logout tokens a front has taken (Back-Channel Logout §2.6 step 7: "the RP
//! MAY verify that the same jti value has not been recently received"), each kept until the
//! token can no longer be used. Per replica: a token replayed to another replica is not caught
//! there.

use std::time::{Duration, Instant};

use moka::Expiry;
use moka::sync::Cache;

use crate::clock::UnixTime;

/// At most this many `jti`s are remembered per front; only the IdP's signed tokens are
/// remembered, so reaching it takes that many logouts within a token's lifetime.
const MAX_REMEMBERED: u64 = 100_000;

/// `(upstream, jti)` → how long to remember it. A clone shares the same memory.
#[derive(Clone)]
pub(crate) struct SeenJtis {
    seen: Cache<(String, String), Duration>,
}

/// Each entry lives for the duration stored with it.
struct UntilUnusable;

impl Expiry<(String, String), Duration> for UntilUnusable {
    fn expire_after_create(
        &self,
        _key: &(String, String),
        remembered_for: &Duration,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(*remembered_for)
    }
}

impl SeenJtis {
    pub(crate) fn new() -> SeenJtis {
        SeenJtis {
            seen: Cache::builder()
                .max_capacity(MAX_REMEMBERED)
                .expire_after(UntilUnusable)
                .build(),
        }
    }

    /// Records `jti` of `upstream`; `false` when it was recorded before and is still
    /// remembered. It is remembered until `until` plus `leeway` seconds past `now`.
    pub(crate) fn is_first_use(
        &self,
        upstream: &str,
        jti: &str,
        until: UnixTime,
        now: UnixTime,
        leeway: u64,
    ) -> bool {
        let seconds = u64::try_from(until.saturating_sub(now)).unwrap_or(0);
        let remembered_for = Duration::from_secs(seconds.saturating_add(leeway).max(1));
        self.seen
            .entry((upstream.to_owned(), jti.to_owned()))
            .or_insert(remembered_for)
            .is_fresh()
    }

    /// Forgets `jti` again: the relying party didn't take the logout, so the IdP may send the
    /// same token once more (Back-Channel Logout §2.8).
    pub(crate) fn forget(&self, upstream: &str, jti: &str) {
        self.seen.invalidate(&(upstream.to_owned(), jti.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jti_is_taken_once_per_upstream_until_forgotten() {
        let seen = SeenJtis::new();
        assert!(seen.is_first_use("idp", "j-1", 200, 100, 30));
        assert!(!seen.is_first_use("idp", "j-1", 200, 100, 30));
        assert!(seen.is_first_use("other", "j-1", 200, 100, 30));
        assert!(seen.is_first_use("idp", "j-2", 200, 100, 30));
        seen.forget("idp", "j-1");
        assert!(seen.is_first_use("idp", "j-1", 200, 100, 30));
    }
}
