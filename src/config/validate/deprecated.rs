//! The old names of the two `danger_*` switches: still accepted, with a warning.

use crate::config::error::Problems;
use crate::config::file::{LimitsFile, UpstreamFile};

/// Switches that weaken a check are named `danger_*`. The two that once weren't keep their old
/// names working, with a warning; setting both names is a mistake worth stopping for.
pub(super) fn deprecated_names(
    limits: &LimitsFile,
    upstreams: &[(String, UpstreamFile)],
    problems: &mut Problems,
) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut check = |key: String, old: &str, is_old: bool, is_new: bool| {
        if is_old && is_new {
            problems.add(
                format!("{key}.{old}"),
                format!("set only danger_{old}, the new name of {old}"),
            );
        } else if is_old {
            warnings.push(format!(
                "{key}.{old} is deprecated: rename it danger_{old}, which says what it does"
            ));
        }
    };
    check(
        "limits".into(),
        "allow_zip",
        limits.allow_zip,
        limits.danger_allow_zip,
    );
    for (label, upstream) in upstreams {
        check(
            label.clone(),
            "allow_jwks_on_other_host",
            upstream.allow_jwks_on_other_host,
            upstream.danger_allow_jwks_on_other_host,
        );
    }
    warnings
}
