//! deploy/prometheus's alert rules: promtool's check and unit tests, and what every alert carries;
//! the README's row for each.

use super::*;

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
