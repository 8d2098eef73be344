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

#[path = "api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;

use tokenbridge::clock::rfc3339;

use helpers::{
    Options, TestApp, default_policy, fixture_keys, fixture_keys_section, free_port, send,
    spawn_app_with, venv_tool,
};

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

// ---------------------------------------------------------------- a real Prometheus

/// A Prometheus on a loopback port that scrapes one tokenbridge every second and evaluates the
/// shipped alert rules; killed when dropped, whatever the test did.
struct Prometheus {
    child: Child,
    port: u16,
    http: reqwest::Client,
    dir: TempDir,
}

impl Prometheus {
    fn scraping(target_port: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: tokenbridge\n    static_configs:\n      - targets: [\"127.0.0.1:{target_port}\"]\n",
                rules = repo().join(RULES).display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start prometheus (Debian's prometheus package): {err}")
            });
        Prometheus {
            child,
            port,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `/api/v1/{path}`'s `data`, or None while Prometheus doesn't answer with success.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Option<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/{path}", self.port);
        // The query endpoints take their parameters as a form too; the others are GET only.
        let request = if query.is_empty() {
            self.http.get(url)
        } else {
            self.http.post(url).form(query)
        };
        let response = request.send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    /// The value of an instant query that yields one sample.
    async fn value(&self, promql: &str) -> Option<f64> {
        let data = self.api("query", &[("query", promql)]).await?;
        let results = data["result"].as_array()?;
        match results.as_slice() {
            [only] => only["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Waits, up to 20 seconds, until every query of `wanted` has its value; panics with what
    /// Prometheus said last if one hasn't.
    async fn wait_for(&mut self, wanted: &[(&str, f64)]) {
        let mut last = Vec::new();
        for _ in 0..80 {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited: {status}\n{}", self.log());
            }
            last.clear();
            for (promql, _) in wanted {
                last.push(self.value(promql).await);
            }
            if wanted
                .iter()
                .zip(&last)
                .all(|((_, value), got)| *got == Some(*value))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "Prometheus never said {wanted:?}; last: {last:?}\n--- prometheus log\n{}",
            self.log()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default test app with the telemetry listener, a front for "app", and a next signing key
/// (activates in a day, retires in 30), so that the scrape has every family the rules and the
/// dashboard read.
async fn app_with_telemetry() -> TestApp {
    let at = |days: i64| rfc3339::format(helpers::now() + days * 86400);
    spawn_app_with(Options {
        limits: "[telemetry]\nlisten = \"127.0.0.1:0\"\n".into(),
        keys: Some(format!(
            "{}\n[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"successor\"\nactivate_at = \"{}\"\nretire_at = \"{}\"\n",
            fixture_keys_section(),
            fixture_keys().join("signing-PS256.pem").display(),
            at(1),
            at(30),
        )),
        policy: format!(
            "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
            default_policy()
        ),
        ..Options::default()
    })
    .await
}

async fn scrape(app: &TestApp) -> String {
    let port = app.telemetry_port.expect("the telemetry listener runs");
    let response = app
        .http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.text().await.unwrap()
}

/// The sample names a scrape's families stand for: a counter `x` as `x_total`, a histogram `x`
/// as `x_bucket`, `x_count` and `x_sum`, others as named.
fn sample_names(scrape: &str) -> BTreeSet<String> {
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scraping_tokenbridge_counts_the_exchanges_it_saw() {
    let app = app_with_telemetry().await;
    let mut prometheus = Prometheus::scraping(app.telemetry_port.unwrap());
    // Scraped once before anything happened, so the counters' rise is what Prometheus sees.
    prometheus
        .wait_for(&[(r#"up{job="tokenbridge"}"#, 1.0)])
        .await;

    let good = app.id_token(json!("app"), json!({}));
    let elsewhere = app.id_token(json!("somebody-else"), json!({}));
    for _ in 0..7 {
        assert_eq!(app.exchange("app", &good, &[]).await.status, 200);
    }
    for _ in 0..3 {
        app.exchange("app", &elsewhere, &[])
            .await
            .assert_refused(400, "invalid_target");
    }

    // A client over its rate limit (burst 2), a front's discovery and a code the IdP refuses.
    for _ in 0..2 {
        assert_eq!(app.exchange("limited", &good, &[]).await.status, 200);
    }
    app.exchange("limited", &good, &[])
        .await
        .assert_refused(429, "slow_down");
    let discovery = app
        .http
        .get(app.url("/front/app/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    let refused = send(
        app.http
            .post(app.url("/front/app/token"))
            .basic_auth("app", Some(helpers::secret_of("app")))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "a-code-the-idp-never-issued"),
                ("redirect_uri", "https://app.example/callback"),
            ]),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    prometheus
        .wait_for(&[
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", outcome="issued"})"#,
                7.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", outcome="refused", error="invalid_target"})"#,
                3.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", upstream="idp"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_duration_seconds_count{job="tokenbridge", client="app"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_duration_seconds_bucket{job="tokenbridge", client="app", le="+Inf"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_step_duration_seconds_count{job="tokenbridge", step="verify"})"#,
                12.0,
            ),
            (
                r#"sum(tokenbridge_exchange_step_duration_seconds_count{job="tokenbridge", step="sign"})"#,
                9.0,
            ),
            (
                r#"sum(tokenbridge_rate_limited_total{job="tokenbridge", client="limited"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="limited", outcome="refused", error="slow_down"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_front_requests_total{job="tokenbridge", front="app", endpoint="discovery", outcome="ok"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_front_idp_responses_total{job="tokenbridge", front="app", endpoint="token", class="4xx"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_key_info{job="tokenbridge", kid="successor", use="sig", state="next"})"#,
                1.0,
            ),
        ])
        .await;
    // The exchanges took time, and less than the largest finite bucket.
    let p99 = prometheus
        .value(r#"histogram_quantile(0.99, sum by (le) (tokenbridge_exchange_duration_seconds_bucket{client="app"}))"#)
        .await
        .unwrap();
    assert!(p99 > 0.0 && p99.is_finite(), "p99 {p99}");

    // Prometheus loaded the shipped rules and evaluates every one of them without an error.
    let mut rules = Vec::new();
    for _ in 0..20 {
        let groups = prometheus.api("rules", &[]).await.unwrap();
        rules = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().unwrap().clone())
            .collect();
        if rules.iter().all(|rule| rule["health"] == "ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(rules.len(), alert_rules().len());
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    // One thing is wrong with this instance: the default config's upstream "other" is a closed
    // port, so it has no keys and every refresh of it fails. Its alerts are pending (they fire
    // after their for:), and no other alert is.
    let summary = |alerts: &Value| -> Vec<(String, String, String)> {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|alert| {
                let label = |name: &str| alert["labels"][name].as_str().unwrap_or("").to_owned();
                (
                    label("alertname"),
                    label("upstream"),
                    alert["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let no_keys = ("TokenbridgeUpstreamHasNoKeys", "other", "pending");
    let mut alerts = Vec::new();
    for _ in 0..20 {
        alerts = summary(&prometheus.api("alerts", &[]).await.unwrap()["alerts"]);
        if alerts.iter().any(|(name, upstream, state)| {
            (name.as_str(), upstream.as_str(), state.as_str()) == no_keys
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        alerts.iter().any(|(name, upstream, state)| (
            name.as_str(),
            upstream.as_str(),
            state.as_str()
        ) == no_keys),
        "{alerts:?}"
    );
    for (name, upstream, state) in &alerts {
        assert!(
            [
                "TokenbridgeUpstreamHasNoKeys",
                "TokenbridgeUpstreamKeyRefreshesFailing"
            ]
            .contains(&name.as_str())
                && upstream == "other"
                && state == "pending",
            "an alert nothing here caused: {alerts:?}"
        );
    }

    // Every dashboard query runs on the live data.
    for (title, target) in dashboard_targets(&dashboard()) {
        let promql = as_prometheus_gets_it(target["expr"].as_str().unwrap());
        assert!(
            prometheus
                .api("query", &[("query", &promql)])
                .await
                .is_some(),
            "{title}: Prometheus refuses {promql}"
        );
    }
    drop(prometheus);

    // promtool's linter takes a scrape as tokenbridge serves it.
    let text = scrape(&app).await;
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
    let problems = openmetrics_counter_artifacts_removed(&text, &output);
    assert!(
        problems.is_empty(),
        "promtool check metrics: {problems:?}\n{}\n--- scrape\n{text}",
        describe(&output)
    );

    // And it has every metric the rules and the dashboard read.
    let served = sample_names(&text);
    let mut read = BTreeSet::new();
    for rule in alert_rules() {
        read.extend(metric_names(rule["expr"].as_str().unwrap()));
    }
    for (_, target) in dashboard_targets(&dashboard()) {
        read.extend(metric_names(target["expr"].as_str().unwrap()));
    }
    read.remove("up");
    let missing: Vec<&String> = read.difference(&served).collect();
    assert!(missing.is_empty(), "not in the scrape: {missing:?}\n{text}");
}
