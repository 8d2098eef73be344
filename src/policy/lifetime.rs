//! When the issued token expires.

use std::time::Duration;

use crate::clock::UnixTime;

/// Never later than the subject token's `exp`, and capped by the client's maximum lifetime.
/// `None` when nothing of the subject token's life is left.
pub(crate) fn issued_expiry(
    now: UnixTime,
    subject_exp: UnixTime,
    max_ttl: Duration,
) -> Option<UnixTime> {
    let cap = now.saturating_add(i64::try_from(max_ttl.as_secs()).unwrap_or(i64::MAX));
    let exp = subject_exp.min(cap);
    (exp > now).then_some(exp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_the_earlier_of_subject_exp_and_max_ttl() {
        let five_minutes = Duration::from_secs(300);
        assert_eq!(issued_expiry(1000, 5000, five_minutes), Some(1300));
        assert_eq!(issued_expiry(1000, 1100, five_minutes), Some(1100));
        assert_eq!(issued_expiry(1000, 1000, five_minutes), None);
        assert_eq!(issued_expiry(1000, 900, five_minutes), None);
    }
}
