//! A scrape as promtool's linter and the rules see it: `promtool check metrics` with the one
//! finding OpenMetrics always draws set aside, and the sample names a scrape's families stand for.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Output, Stdio};

use crate::describe;

/// What `promtool check metrics` finds wrong with `text`, as `openmetrics_counter_artifacts_removed`
/// leaves it: empty when the scrape passes.
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
    openmetrics_counter_artifacts_removed(text, &output)
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

/// What `promtool check metrics` found wrong with `scrape`, less the one thing it says of every
/// OpenMetrics counter. promtool lints the Prometheus text format (0.0.4): where OpenMetrics
/// declares a counter `x` (`# HELP x`, `# TYPE x counter`) whose samples are `x_total`, it reads
/// `x_total` as a family of its own without help (its linter does this to every OpenMetrics
/// exposition, and `prometheus-client` writes only OpenMetrics). Anything else — input it cannot
/// read (exit 1), a naming or unit problem, a counter truly without help — stays.
fn openmetrics_counter_artifacts_removed(scrape: &str, output: &Output) -> Vec<String> {
    match output.status.code() {
        Some(0) => return Vec::new(),
        // promtool's exit code for lint problems, where 1 is input it cannot read.
        Some(3) => {}
        _ => return vec![describe(output)],
    }
    let declares = |line: String| scrape.lines().any(|own| own == line);
    let helps = |prefix: String| scrape.lines().any(|own| own.starts_with(&prefix));
    String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter(|line| {
            let is_artifact = line
                .strip_suffix(" no help text")
                .and_then(|name| name.strip_suffix("_total"))
                .is_some_and(|family| {
                    declares(format!("# TYPE {family} counter"))
                        && helps(format!("# HELP {family} "))
                });
            !is_artifact
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn of_promtool_check_metrics_only_the_openmetrics_counter_naming_is_forgiven() {
    let scrape = "# HELP a_things Things.\n# TYPE a_things counter\na_things_total 1\n\
                  # TYPE b_things counter\nb_things_total 1\n# EOF\n";
    let problems = |stderr: &str, code: i32| {
        let output = Output {
            status: std::os::unix::process::ExitStatusExt::from_raw(code << 8),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        };
        openmetrics_counter_artifacts_removed(scrape, &output)
    };
    assert!(problems("", 0).is_empty());
    assert!(problems("a_things_total no help text\n", 3).is_empty());
    // b_things has no HELP at all: a real finding.
    assert_eq!(problems("b_things_total no help text\n", 3).len(), 1);
    assert_eq!(
        problems(
            "a_things_total no help text\nc_ms use base unit \"seconds\" instead of \"milliseconds\"\n",
            3
        ),
        ["c_ms use base unit \"seconds\" instead of \"milliseconds\""]
    );
    assert_eq!(
        problems("error while linting: text format parsing error", 1).len(),
        1
    );
}
