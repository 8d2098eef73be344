//! The value-map rule: `map = { "<value>" = "<new value>" }` with `unmapped = "keep" | "drop"`,
//! on strings and lists, as an operator writes it.

use serde_json::{Value, json};

use super::validate_rules;
use crate::config::error::Problems;
use crate::policy::rules::apply_rules;

/// Entra ID sends groups as object ids ("groups claim", Microsoft identity platform docs).
const ADMINS: &str = "e3b9b0a5-0f5c-4d2b-8f5e-5c8a9d1e2f30";
const EDITORS: &str = "1d5e2f3a-9b8c-4d7e-a6f5-0e1d2c3b4a59";
const UNLISTED: &str = "ffffffff-0000-4000-8000-000000000000";

fn run(rule: &str, claims: Value) -> Result<Value, String> {
    let value: toml::Value = toml::from_str(&format!("rule = {rule}")).unwrap();
    let mut problems = Problems::default();
    let rules = validate_rules(
        "upstream[0] (\"entra\")",
        None,
        vec![value["rule"].clone()],
        &mut problems,
    );
    if let Err(errors) = problems.into_result(()) {
        return Err(errors
            .0
            .into_iter()
            .map(|p| p.message)
            .collect::<Vec<_>>()
            .join("; "));
    }
    let Value::Object(mut claims) = claims else {
        unreachable!("test claims are objects")
    };
    apply_rules(&rules, &mut claims).map_err(|err| err.to_string())?;
    Ok(Value::Object(claims))
}

fn groups_map(unmapped: &str) -> String {
    format!(
        r#"{{ rename = "groups", to = "groups", map = {{ "{ADMINS}" = "admins", "{EDITORS}" = "editors" }}, unmapped = "{unmapped}" }}"#
    )
}

#[test]
fn a_list_is_mapped_item_by_item_and_unmapped_items_stay_or_go_as_configured() {
    let claims = json!({ "sub": "u", "groups": [ADMINS, UNLISTED, EDITORS] });

    assert_eq!(
        run(&groups_map("drop"), claims.clone()),
        Ok(json!({ "sub": "u", "groups": ["admins", "editors"] }))
    );
    assert_eq!(
        run(&groups_map("keep"), claims),
        Ok(json!({ "sub": "u", "groups": ["admins", UNLISTED, "editors"] }))
    );
}

#[test]
fn a_string_is_mapped_and_an_unmapped_one_dropped_takes_the_claim_with_it() {
    let rule =
        r#"{ rename = "role", to = "role", map = { "Admin" = "admin" }, unmapped = "drop" }"#;
    assert_eq!(
        run(rule, json!({ "sub": "u", "role": "Admin" })),
        Ok(json!({ "sub": "u", "role": "admin" }))
    );
    assert_eq!(
        run(rule, json!({ "sub": "u", "role": "Owner" })),
        Ok(json!({ "sub": "u" }))
    );
    let kept = r#"{ copy = "role", to = "roles", map = { "Admin" = "admin" }, unmapped = "keep" }"#;
    assert_eq!(
        run(kept, json!({ "sub": "u", "role": "Owner" })),
        Ok(json!({ "sub": "u", "role": "Owner", "roles": "Owner" }))
    );
}

#[test]
fn mapping_comes_before_the_prefixes_and_case_and_the_join() {
    let rule = r#"{ rename = "roles", to = "roles", map = { "g1" = "Writer" }, unmapped = "drop", prefix = "wiki-", lowercase = true, join = "," }"#;
    assert_eq!(
        run(rule, json!({ "sub": "u", "roles": ["g1", "g2"] })),
        Ok(json!({ "sub": "u", "roles": "wiki-writer" }))
    );
}

#[test]
fn a_map_needs_an_explicit_unmapped_and_a_string_or_list_to_work_on() {
    let no_unmapped = r#"{ rename = "groups", to = "groups", map = { "a" = "b" } }"#;
    assert!(
        run(no_unmapped, json!({}))
            .unwrap_err()
            .contains("unmapped")
    );
    let bad_unmapped =
        r#"{ rename = "groups", to = "groups", map = { "a" = "b" }, unmapped = "maybe" }"#;
    assert!(
        run(bad_unmapped, json!({}))
            .unwrap_err()
            .contains("keep or drop")
    );
    let unmapped_alone = r#"{ rename = "groups", to = "groups", unmapped = "drop" }"#;
    assert!(
        run(unmapped_alone, json!({}))
            .unwrap_err()
            .contains("only with map")
    );
    let on_set = r#"{ set = "x", value = "y", map = { "a" = "b" }, unmapped = "keep" }"#;
    assert!(
        run(on_set, json!({}))
            .unwrap_err()
            .contains("does not apply to set")
    );
    let not_a_string = run(
        &groups_map("drop"),
        json!({ "sub": "u", "groups": { "a": 1 } }),
    );
    assert!(
        not_a_string
            .unwrap_err()
            .contains("map needs a string or a list")
    );
}

#[test]
fn the_rule_is_written_back_as_it_was_configured() {
    let value: toml::Value = toml::from_str(&format!("rule = {}", groups_map("drop"))).unwrap();
    let mut problems = Problems::default();
    let rules = validate_rules("u", None, vec![value["rule"].clone()], &mut problems);
    let written = rules[0].to_string();
    assert!(
        written.contains(&format!(
            r#"map = {{ "{EDITORS}" = "editors", "{ADMINS}" = "admins" }}"#
        )) && written.contains(r#"unmapped = "drop""#),
        "{written}"
    );
    // And it reads back as the same rule.
    let again: toml::Value = toml::from_str(&format!("rule = {written}")).unwrap();
    let reread = validate_rules("u", None, vec![again["rule"].clone()], &mut problems);
    assert_eq!(reread[0].kind, rules[0].kind);
}
