//! What operators watch tokenbridge with, checked with the tools they use: deploy/prometheus's
//! alert rules through `promtool check rules` and their unit tests through `promtool test rules`;
//! the Grafana dashboard's shape and every one of its queries parsed by promtool; every metric the
//! rules and the dashboard name is one tokenbridge exports; and a real Prometheus scraping a
//! running tokenbridge during exchanges, whose HTTP API must count what happened.
//!
//! promtool and prometheus come from Debian's `prometheus` package (.ci/run installs it); PyYAML
//! from ./.venv (tests/setup.sh).
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../api/helpers/mod.rs"]
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

mod dashboard;
mod prometheus;
mod rules;
mod scrape;
