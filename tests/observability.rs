//! What operators watch tokenbridge with, checked with the tools they use: deploy/prometheus's
//! alert rules through `promtool check rules` and their unit tests through `promtool test rules`;
//! the Grafana dashboard's shape and every one of its queries parsed by promtool; every metric the
//! rules and the dashboard name is one tokenbridge exports.
//!
//! promtool and prometheus come from Debian's `prometheus` package (.ci/run installs it); PyYAML
//! from ./.venv (tests/setup.sh).
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use helpers::venv_tool;

const RULES: &str = "deploy/prometheus/tokenbridge-alerts.yml";
const RULES_TESTS: &str = "deploy/prometheus/tokenbridge-alerts.test.yml";
const DASHBOARD: &str = "deploy/grafana/tokenbridge-dashboard.json";

/// The metrics of issue 15's metric list, as a query names them: counters with `_total`,
/// histograms by their base name (a query adds `_bucket`, `_count` or `_sum`).
const EXPORTED: &[&str] = &[
    "tokenbridge_exchanges_total",
    "tokenbridge_exchange_duration_seconds",
    "tokenbridge_exchange_step_duration_seconds",
    "tokenbridge_front_requests_total",
    "tokenbridge_front_idp_responses_total",
    "tokenbridge_upstream_key_refreshes_total",
    "tokenbridge_upstream_unknown_kid_refetches_total",
    "tokenbridge_upstream_keys",
    "tokenbridge_upstream_keys_age_seconds",
    "tokenbridge_key_info",
    "tokenbridge_key_activate_timestamp_seconds",
    "tokenbridge_key_retire_timestamp_seconds",
    "tokenbridge_signing_active_until_timestamp_seconds",
    "tokenbridge_config_reloads_total",
    "tokenbridge_config_last_reload_success_timestamp_seconds",
    "tokenbridge_config_last_reload_failed",
    "tokenbridge_rate_limited_total",
    "tokenbridge_failed_auth_blocked_total",
    "tokenbridge_failed_authentications_total",
    "tokenbridge_build_info",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_virtual_memory_bytes",
    "process_open_fds",
    "process_max_fds",
    "process_start_time_seconds",
];

const HISTOGRAMS: &[&str] = &[
    "tokenbridge_exchange_duration_seconds",
    "tokenbridge_exchange_step_duration_seconds",
];

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative))
        .unwrap_or_else(|err| panic!("cannot read {relative}: {err}"))
}

fn run(command: &mut Command) -> Output {
    command.current_dir(repo()).output().unwrap_or_else(|err| {
        panic!("cannot run {command:?} (is Debian's prometheus package installed?): {err}")
    })
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn promtool(args: &[&str]) -> Output {
    run(Command::new("promtool").args(args))
}

fn yaml_as_json(relative: &str) -> Value {
    let output = run(Command::new(venv_tool("python")).args([
        "-c",
        "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        relative,
    ]));
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn alert_rules() -> Vec<Value> {
    yaml_as_json(RULES)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|group| group["rules"].as_array().unwrap().clone())
        .collect()
}

fn dashboard() -> Value {
    serde_json::from_str(&read(DASHBOARD)).unwrap()
}

/// Every query target of the dashboard's panels, with the panel's title.
fn dashboard_targets(dashboard: &Value) -> Vec<(String, Value)> {
    dashboard["panels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|panel| {
            let title = panel["title"].as_str().unwrap().to_owned();
            panel["targets"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |target| (title.clone(), target.clone()))
        })
        .collect()
}

/// A dashboard query as Prometheus would receive it: Grafana's variables replaced by the values
/// "All" and the default rate interval give them.
fn as_prometheus_gets_it(expr: &str) -> String {
    expr.replace("$__rate_interval", "1m")
        .replace("$job", ".*")
        .replace("$instance", ".*")
        .replace("$client", ".*")
}

/// The metric names a PromQL expression reads: the identifiers of tokenbridge's and the process'
/// families, and `up`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut word = String::new();
    let mut in_string = false;
    for character in expr.chars().chain([' ']) {
        if character == '"' {
            in_string = !in_string;
        }
        if !in_string && (character.is_ascii_alphanumeric() || character == '_') {
            word.push(character);
            continue;
        }
        if word.starts_with("tokenbridge_") || word.starts_with("process_") || word == "up" {
            names.insert(std::mem::take(&mut word));
        }
        word.clear();
    }
    names
}

/// `name` without a histogram's series suffix, if it has one of a histogram we export.
fn family_of(name: &str) -> &str {
    for suffix in ["_bucket", "_count", "_sum"] {
        if let Some(base) = name.strip_suffix(suffix)
            && HISTOGRAMS.contains(&base)
        {
            return base;
        }
    }
    name
}

// ---------------------------------------------------------------- the alert rules

#[test]
fn the_alert_rules_pass_promtool_check_rules() {
    let output = promtool(&["check", "rules", RULES]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn the_alert_rules_pass_their_promtool_unit_tests() {
    let output = promtool(&["test", "rules", RULES_TESTS]);
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn every_alert_waits_has_a_severity_and_says_what_happened() {
    let rules = alert_rules();
    let names: BTreeSet<&str> = rules
        .iter()
        .map(|rule| rule["alert"].as_str().unwrap())
        .collect();
    for wanted in [
        "TokenbridgeDown",
        "TokenbridgeUpstreamHasNoKeys",
        "TokenbridgeUpstreamKeysStale",
        "TokenbridgeUpstreamKeyRefreshesFailing",
        "TokenbridgeRefusalRateHigh",
        "TokenbridgeSigningKeyWithoutSuccessor",
        "TokenbridgeConfigReloadFailed",
        "TokenbridgeExchangeLatencyHigh",
    ] {
        assert!(names.contains(wanted), "no alert {wanted} in {names:?}");
    }
    for rule in &rules {
        let name = rule["alert"].as_str().unwrap();
        let wait = rule["for"].as_str().unwrap_or("");
        assert!(
            humantime::parse_duration(wait).is_ok_and(|wait| !wait.is_zero()),
            "{name} fires on one evaluation: give it a for:"
        );
        let severity = rule["labels"]["severity"].as_str().unwrap_or("");
        assert!(
            ["critical", "warning", "info"].contains(&severity),
            "{name}: severity {severity:?}"
        );
        for annotation in ["summary", "description"] {
            assert!(
                rule["annotations"][annotation]
                    .as_str()
                    .is_some_and(|text| !text.trim().is_empty()),
                "{name} has no {annotation}"
            );
        }
    }
    let names: Vec<&str> = rules
        .iter()
        .map(|rule| rule["alert"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), BTreeSet::from_iter(&names).len(), "{names:?}");
}

#[test]
fn every_alert_is_unit_tested_both_firing_and_silent() {
    let tests = yaml_as_json(RULES_TESTS);
    assert_eq!(
        tests["rule_files"],
        json!(["tokenbridge-alerts.yml"]),
        "the unit tests must load the shipped rules"
    );
    let mut firing = BTreeSet::new();
    let mut silent = BTreeSet::new();
    for test in tests["tests"].as_array().unwrap() {
        for case in test["alert_rule_test"].as_array().into_iter().flatten() {
            let name = case["alertname"].as_str().unwrap().to_owned();
            let expected = case["exp_alerts"].as_array().map_or(0, Vec::len);
            if expected == 0 {
                silent.insert(name);
            } else {
                firing.insert(name);
            }
        }
    }
    for rule in alert_rules() {
        let name = rule["alert"].as_str().unwrap();
        assert!(firing.contains(name), "no unit test where {name} fires");
        assert!(
            silent.contains(name),
            "no unit test where {name} stays silent"
        );
    }
}

#[test]
fn the_readme_says_what_every_alert_means_and_what_to_do() {
    let readme = read("README.md");
    let section = readme
        .split_once("### Alerts and dashboard")
        .map(|(_, rest)| rest)
        .unwrap_or_else(|| panic!("README has no \"Alerts and dashboard\" section"));
    for rule in alert_rules() {
        let name = rule["alert"].as_str().unwrap();
        assert!(
            section.contains(&format!("| `{name}` |")),
            "README's alert table has no row for {name}"
        );
    }
}

// ---------------------------------------------------------------- the dashboard

#[test]
fn the_dashboard_is_a_grafana_dashboard_over_a_chosen_prometheus_job_and_instance() {
    let dashboard = dashboard();
    assert!(dashboard["schemaVersion"].as_u64().unwrap() >= 36);
    assert_eq!(dashboard["uid"], "tokenbridge");
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let variable = |name: &str| {
        variables
            .iter()
            .find(|variable| variable["name"] == name)
            .unwrap_or_else(|| panic!("no variable {name}"))
    };
    assert_eq!(variable("DS_PROMETHEUS")["type"], "datasource");
    assert_eq!(variable("DS_PROMETHEUS")["query"], "prometheus");
    for name in ["job", "instance"] {
        assert_eq!(variable(name)["type"], "query");
        assert_eq!(variable(name)["datasource"]["uid"], "${DS_PROMETHEUS}");
    }

    let panels = dashboard["panels"].as_array().unwrap();
    let ids: Vec<u64> = panels
        .iter()
        .map(|panel| panel["id"].as_u64().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        BTreeSet::from_iter(&ids).len(),
        "panel ids repeat"
    );
    for panel in panels {
        let title = panel["title"].as_str().unwrap();
        for key in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][key].is_u64(), "{title}: no gridPos.{key}");
        }
        if panel["type"] != "row" {
            assert_eq!(panel["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
            assert!(
                !panel["targets"].as_array().unwrap().is_empty(),
                "{title} queries nothing"
            );
        }
    }
    for (title, target) in dashboard_targets(&dashboard) {
        let expr = target["expr"].as_str().unwrap();
        assert_eq!(target["datasource"]["uid"], "${DS_PROMETHEUS}", "{title}");
        assert!(
            expr.contains(r#"job=~"$job""#) && expr.contains(r#"instance=~"$instance""#),
            "{title}: {expr} ignores the job and instance chosen"
        );
    }
}

#[test]
fn the_dashboard_has_a_panel_for_each_thing_an_operator_asks() {
    let dashboard = dashboard();
    let exprs: Vec<String> = dashboard_targets(&dashboard)
        .into_iter()
        .map(|(_, target)| target["expr"].as_str().unwrap().to_owned())
        .collect();
    let reads = |needle: &str| exprs.iter().any(|expr| expr.contains(needle));
    for needle in [
        "sum by (outcome) (rate(tokenbridge_exchanges_total",
        "sum by (error) (rate(tokenbridge_exchanges_total",
        "histogram_quantile(0.5, sum by (le) (rate(tokenbridge_exchange_duration_seconds_bucket",
        "histogram_quantile(0.99, sum by (le) (rate(tokenbridge_exchange_duration_seconds_bucket",
        "sum by (step, le) (rate(tokenbridge_exchange_step_duration_seconds_bucket",
        "sum by (front, endpoint, outcome) (rate(tokenbridge_front_requests_total",
        "sum by (front, endpoint, class) (rate(tokenbridge_front_idp_responses_total",
        "tokenbridge_upstream_keys{",
        "tokenbridge_upstream_keys_age_seconds",
        "tokenbridge_key_info",
        "tokenbridge_signing_active_until_timestamp_seconds",
        "tokenbridge_config_reloads_total",
        "tokenbridge_rate_limited_total",
        "tokenbridge_failed_authentications_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
    ] {
        assert!(reads(needle), "no panel reads {needle}");
    }
}

#[test]
fn every_dashboard_query_parses_as_promql() {
    // promtool parses every expression of a rules file: the dashboard's queries become recording
    // rules (JSON is YAML), so a typo in any of them fails here, offline.
    let rules: Vec<Value> = dashboard_targets(&dashboard())
        .iter()
        .enumerate()
        .map(|(index, (title, target))| {
            json!({
                "record": format!("dashboard:query_{index}"),
                "expr": as_prometheus_gets_it(target["expr"].as_str().unwrap()),
                "labels": { "panel": title },
            })
        })
        .collect();
    let count = rules.len();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("dashboard-queries.yml");
    let groups = json!({ "groups": [{ "name": "dashboard", "rules": rules }] });
    std::fs::write(&file, groups.to_string()).unwrap();

    let output = promtool(&["check", "rules", file.to_str().unwrap()]);
    assert!(output.status.success(), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!("{count} rules found")),
        "{}",
        describe(&output)
    );
}

#[test]
fn every_metric_the_rules_and_the_dashboard_read_is_one_tokenbridge_exports() {
    let mut used = BTreeSet::new();
    for rule in alert_rules() {
        used.extend(metric_names(rule["expr"].as_str().unwrap()));
    }
    for (_, target) in dashboard_targets(&dashboard()) {
        used.extend(metric_names(target["expr"].as_str().unwrap()));
    }
    assert!(
        used.contains("tokenbridge_exchange_duration_seconds_bucket"),
        "{used:?}"
    );
    for name in &used {
        assert!(
            name == "up" || EXPORTED.contains(&family_of(name)),
            "{name} is not a metric tokenbridge exports"
        );
    }
}

#[test]
fn metric_names_reads_identifiers_outside_strings() {
    let names = metric_names(
        r#"sum by (le) (rate(tokenbridge_a_bucket{x="tokenbridge_b"}[5m])) / up - process_c"#,
    );
    assert_eq!(
        names,
        BTreeSet::from(["tokenbridge_a_bucket", "up", "process_c"].map(String::from))
    );
}
