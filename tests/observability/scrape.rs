//! A scrape as promtool's linter and the rules see it: `promtool check metrics`, and the sample
//! names a scrape's families stand for.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use crate::describe;

/// What `promtool check metrics` finds wrong with `text` (a scrape in the Prometheus text
/// format, which is what promtool lints): empty when it passes.
pub(crate) fn promtool_check_metrics(text: &str) -> Vec<String> {
    let mut check = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    check
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = check.wait_with_output().unwrap();
    if output.status.success() {
        Vec::new()
    } else {
        vec![describe(&output)]
    }
}

/// The sample names a scrape's families stand for: a counter `x` as `x_total`, a histogram `x`
/// as `x_bucket`, `x_count` and `x_sum`, others as named.
pub(crate) fn sample_names(scrape: &str) -> BTreeSet<String> {
    scrape
        .lines()
        .filter_map(|line| line.strip_prefix("# TYPE "))
        .flat_map(|declaration| {
            let mut words = declaration.split_whitespace();
            let name = words.next().unwrap().to_owned();
            let suffixes: &[&str] = match words.next() {
                // The Prometheus text format declares a counter by its sample's name.
                Some("counter") if name.ends_with("_total") => &[""],
                Some("counter") => &["_total"],
                Some("histogram") => &["_bucket", "_count", "_sum"],
                Some("info") => &["_info"],
                _ => &[""],
            };
            suffixes
                .iter()
                .map(|suffix| format!("{name}{suffix}"))
                .collect::<Vec<_>>()
        })
        .collect()
}
