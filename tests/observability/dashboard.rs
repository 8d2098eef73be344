//! deploy/grafana's dashboard: its shape, a panel for each question, every query parsed by
//! promtool, every metric one tokenbridge exports.

use super::*;

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
