//! `[limits]`: size caps (each above zero, the token's within the body's), time limits and the
//! failed-authentication rate.

use super::values::{duration, rate_limit};
use crate::config::error::Problems;
use crate::config::file::LimitsFile;
use crate::config::{Limits, TrustedProxies, defaults};

pub(super) fn validate_limits(file: LimitsFile, problems: &mut Problems) -> Limits {
    let defaults = defaults::LIMITS;
    let failed_auth = rate_limit(
        file.failed_auth,
        defaults.failed_auth,
        "limits.failed_auth",
        problems,
    );
    let mut positive = |value: Option<usize>, default: usize, key: &str| match value {
        Some(0) => {
            problems.add(key, "must be greater than 0");
            default
        }
        Some(value) => value,
        None => default,
    };
    let limits = Limits {
        max_body_bytes: positive(
            file.max_body_bytes,
            defaults.max_body_bytes,
            "limits.max_body_bytes",
        ),
        max_token_bytes: positive(
            file.max_token_bytes,
            defaults.max_token_bytes,
            "limits.max_token_bytes",
        ),
        max_header_bytes: positive(
            file.max_header_bytes,
            defaults.max_header_bytes,
            "limits.max_header_bytes",
        ),
        failed_auth,
        is_zip_allowed: file.danger_allow_zip || file.allow_zip,
        max_inflated_bytes: positive(
            file.max_inflated_bytes,
            defaults.max_inflated_bytes,
            "limits.max_inflated_bytes",
        ),
        max_json_depth: positive(
            file.max_json_depth,
            defaults.max_json_depth,
            "limits.max_json_depth",
        ),
        max_claims: positive(file.max_claims, defaults.max_claims, "limits.max_claims"),
        max_aud_values: positive(
            file.max_aud_values,
            defaults.max_aud_values,
            "limits.max_aud_values",
        ),
        max_issued_claims: positive(
            file.max_issued_claims,
            defaults.max_issued_claims,
            "limits.max_issued_claims",
        ),
        max_issued_bytes: positive(
            file.max_issued_bytes,
            defaults.max_issued_bytes,
            "limits.max_issued_bytes",
        ),
        jwks_max_age: duration(
            file.jwks_max_age.as_deref(),
            defaults.jwks_max_age,
            "limits.jwks_max_age",
            problems,
        ),
        body_read_timeout: duration(
            file.body_read_timeout.as_deref(),
            defaults.body_read_timeout,
            "limits.body_read_timeout",
            problems,
        ),
    };
    if limits.body_read_timeout.is_zero() {
        problems.add(
            "limits.body_read_timeout",
            "must be longer than 0s: no body could be read",
        );
    }
    if limits.max_token_bytes > limits.max_body_bytes {
        problems.add(
            "limits.max_token_bytes",
            "must not exceed limits.max_body_bytes",
        );
    }
    limits
}

/// `limits.trusted_proxies`: each entry an address (`10.0.0.7`) or a CIDR (`10.0.0.0/8`).
pub(super) fn validate_trusted_proxies(
    entries: Option<Vec<String>>,
    problems: &mut Problems,
) -> TrustedProxies {
    let mut nets = Vec::new();
    for (index, entry) in entries.unwrap_or_default().iter().enumerate() {
        let parsed = entry
            .parse::<ipnet::IpNet>()
            .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from));
        match parsed {
            Ok(net) => nets.push(net.trunc()),
            Err(_) => problems.add(
                format!("limits.trusted_proxies[{index}]"),
                format!("{entry:?} is not an address or a CIDR such as 10.0.0.0/8"),
            ),
        }
    }
    TrustedProxies(nets)
}
