//! `[reload]`: whether the watched files are polled, and how often.

use std::time::Duration;

use super::values::duration;
use crate::config::error::Problems;
use crate::config::file::ReloadFile;
use crate::config::{ReloadConfig, defaults};

/// Polling faster than this reads the key files many times a second for no gain.
const MIN_POLL_INTERVAL: Duration = Duration::from_millis(100);

pub(super) fn validate_reload(file: ReloadFile, problems: &mut Problems) -> ReloadConfig {
    let mut poll_interval = duration(
        file.poll_interval.as_deref(),
        defaults::RELOAD_POLL_INTERVAL,
        "reload.poll_interval",
        problems,
    );
    if poll_interval < MIN_POLL_INTERVAL {
        problems.add(
            "reload.poll_interval",
            format!(
                "must be at least {}",
                humantime::format_duration(MIN_POLL_INTERVAL)
            ),
        );
        poll_interval = defaults::RELOAD_POLL_INTERVAL;
    }
    ReloadConfig {
        is_watched: file.watch.unwrap_or(defaults::RELOAD_WATCH),
        poll_interval,
    }
}
