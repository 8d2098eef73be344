//! Checks of one value that several sections share: durations, algorithm names and lists, rate
//! limits. Each reports under the key it is given and returns a usable value either way.

use std::time::Duration;

use crate::config::RateLimit;
use crate::config::defaults;
use crate::config::error::Problems;
use crate::config::file::RateLimitFile;
use crate::jose::alg::JwsAlg;

/// A humantime duration (`"30s"`, `"5m"`), or `default` when the key is absent.
pub(super) fn duration(
    value: Option<&str>,
    default: Duration,
    key: &str,
    problems: &mut Problems,
) -> Duration {
    match value {
        None => default,
        Some(text) => humantime::parse_duration(text).unwrap_or_else(|_| {
            problems.add(
                key,
                format!("{text:?} is not a duration such as \"60s\" or \"5m\""),
            );
            default
        }),
    }
}

/// An algorithm tokenbridge can sign with; without a name, the default.
pub(super) fn signing_alg(name: Option<&str>, key: &str, problems: &mut Problems) -> JwsAlg {
    match name {
        None => defaults::SIGNING_ALG,
        Some(name) => match JwsAlg::parse(name).filter(|alg| alg.is_signing_supported()) {
            Some(alg) => alg,
            None => {
                problems.add(
                    key,
                    format!(
                        "{name:?} is not a signing algorithm; use RS256, PS256, ES256 or EdDSA"
                    ),
                );
                defaults::SIGNING_ALG
            }
        },
    }
}

/// A non-empty list of algorithm names, each one `parse` knows.
pub(super) fn names_to_algs<T: Copy>(
    names: &[String],
    key: &str,
    parse: fn(&str) -> Option<T>,
    problems: &mut Problems,
) -> Vec<T> {
    if names.is_empty() {
        problems.add(key, "must not be empty");
    }
    names
        .iter()
        .filter_map(|name| {
            let parsed = parse(name);
            if parsed.is_none() {
                problems.add(key, format!("{name:?} is not a supported algorithm"));
            }
            parsed
        })
        .collect()
}

/// A token bucket whose rate and burst are both above zero.
pub(super) fn rate_limit(
    file: Option<RateLimitFile>,
    default: RateLimit,
    key: &str,
    problems: &mut Problems,
) -> RateLimit {
    let Some(limit) = file else {
        return default;
    };
    if !(limit.per_second.is_finite() && limit.per_second > 0.0) || limit.burst == 0 {
        problems.add(key, "per_second and burst must be greater than 0");
    }
    RateLimit {
        per_second: limit.per_second,
        burst: limit.burst,
    }
}
