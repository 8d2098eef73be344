//! Rules as an operator writes them (TOML), applied to claims as IdPs send them.

use serde_json::{Map, Value, json};

use super::validate_rules;
use crate::config::error::Problems;
use crate::policy::rules::{Rule, apply_rules};

fn rules_of(toml_text: &str) -> Result<Vec<Rule>, Vec<String>> {
    rules_with_preset(None, toml_text)
}

fn rules_with_preset(preset: Option<&str>, toml_text: &str) -> Result<Vec<Rule>, Vec<String>> {
    #[derive(serde::Deserialize)]
    struct Doc {
        #[serde(default)]
        claims: Vec<toml::Value>,
    }
    let doc: Doc = toml::from_str(toml_text).unwrap();
    let mut problems = Problems::default();
    let rules = validate_rules("client[0] (\"app\")", preset, doc.claims, &mut problems);
    match problems.into_result(()) {
        Ok(()) => Ok(rules),
        Err(errors) => Err(errors
            .0
            .into_iter()
            .map(|p| format!("{}: {}", p.key, p.message))
            .collect()),
    }
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => unreachable!("test claims are objects"),
    }
}

/// Applies the rules to `claims`: the resulting claims, or the refusal's text.
fn run(toml_text: &str, claims: Value) -> Result<Value, String> {
    let rules = rules_of(toml_text).unwrap_or_else(|problems| panic!("{problems:?}"));
    let mut claims = object(claims);
    apply_rules(&rules, &mut claims).map_err(|err| err.to_string())?;
    Ok(Value::Object(claims))
}

#[test]
fn each_rule_kind_does_what_it_says() {
    let cases: &[(&str, &str, Value, Value)] = &[
        (
            "rename moves",
            r#"claims = [{ rename = "nickname", to = "name" }]"#,
            json!({"sub": "u", "nickname": "Ada"}),
            json!({"sub": "u", "name": "Ada"}),
        ),
        (
            "copy keeps the source",
            r#"claims = [{ copy = "groups", to = "roles" }]"#,
            json!({"sub": "u", "groups": ["a"]}),
            json!({"sub": "u", "groups": ["a"], "roles": ["a"]}),
        ),
        (
            "drop by name and pattern",
            r#"claims = [{ drop = ["sid", "urn:zitadel:*"] }]"#,
            json!({"sub": "u", "sid": "s", "urn:zitadel:iam:user:x": 1, "urn:zitadel:iam:org:y": 2, "email": "e"}),
            json!({"sub": "u", "email": "e"}),
        ),
        (
            "drop a nested value",
            r#"claims = [{ drop = ["realm_access.roles"] }]"#,
            json!({"sub": "u", "realm_access": {"roles": ["r"], "other": 1}}),
            json!({"sub": "u", "realm_access": {"other": 1}}),
        ),
        (
            "set a static value",
            r#"claims = [{ set = "tenant", value = { name = "acme", tier = 2 } }]"#,
            json!({"sub": "u", "tenant": "old"}),
            json!({"sub": "u", "tenant": {"name": "acme", "tier": 2}}),
        ),
        (
            "default only when absent",
            r#"claims = [{ default = "locale", value = "en" }, { default = "zone", value = "UTC" }]"#,
            json!({"sub": "u", "locale": "de"}),
            json!({"sub": "u", "locale": "de", "zone": "UTC"}),
        ),
        (
            "nested source by dotted path",
            r#"claims = [{ copy = "resource_access.bookstack.roles", to = "roles" }]"#,
            json!({"sub": "u", "resource_access": {"bookstack": {"roles": ["editor"]}}}),
            json!({"sub": "u", "resource_access": {"bookstack": {"roles": ["editor"]}}, "roles": ["editor"]}),
        ),
        (
            "nested source by JSON pointer, escapes decoded",
            r#"claims = [{ rename = "/https:~1~1example.com~1claims/roles", to = "roles" }]"#,
            json!({"sub": "u", "https://example.com/claims": {"roles": ["x"]}}),
            json!({"sub": "u", "https://example.com/claims": {}, "roles": ["x"]}),
        ),
        (
            "object keys become a list",
            r#"claims = [{ rename = "urn:zitadel:iam:org:project:roles", to = "roles", keys = true }]"#,
            json!({"sub": "u", "urn:zitadel:iam:org:project:roles": {"editor": {"1": "d"}, "viewer": {"1": "d"}}}),
            json!({"sub": "u", "roles": ["editor", "viewer"]}),
        ),
        (
            "a string split by a separator",
            r#"claims = [{ rename = "groups", to = "groups", split = "," }]"#,
            json!({"sub": "u", "groups": "a, b,,c"}),
            json!({"sub": "u", "groups": ["a", "b", "c"]}),
        ),
        (
            "a list joined into a string",
            r#"claims = [{ copy = "amr", to = "amr_text", join = " " }]"#,
            json!({"sub": "u", "amr": ["pwd", "otp"]}),
            json!({"sub": "u", "amr": ["pwd", "otp"], "amr_text": "pwd otp"}),
        ),
        (
            "lowercase",
            r#"claims = [{ rename = "groups", to = "groups", lowercase = true }]"#,
            json!({"sub": "u", "groups": ["Admins", "Ops"]}),
            json!({"sub": "u", "groups": ["admins", "ops"]}),
        ),
        (
            "prefix and strip a prefix",
            r#"claims = [{ rename = "groups", to = "roles", strip_prefix = "bookstack-", prefix = "bs:" }]"#,
            json!({"sub": "u", "groups": ["bookstack-admin", "other"]}),
            json!({"sub": "u", "roles": ["bs:admin", "bs:other"]}),
        ),
        (
            "filter a list by pattern",
            r#"claims = [{ rename = "groups", to = "roles", filter = ["bookstack-*"], strip_prefix = "bookstack-" }]"#,
            json!({"sub": "u", "groups": ["bookstack-admin", "grafana-viewer", "bookstack-editor"]}),
            json!({"sub": "u", "roles": ["admin", "editor"]}),
        ),
        (
            "sub from another claim",
            r#"claims = [{ sub_from = "preferred_username" }]"#,
            json!({"sub": "29563", "preferred_username": "ada"}),
            json!({"sub": "ada", "preferred_username": "ada"}),
        ),
        (
            "sub kept when the source is missing and if_missing = keep",
            r#"claims = [{ sub_from = "preferred_username", if_missing = "keep" }]"#,
            json!({"sub": "29563"}),
            json!({"sub": "29563"}),
        ),
        (
            "keep_only lets nothing else leave, sub always stays",
            r#"claims = [{ keep_only = ["email", "roles"] }]"#,
            json!({"sub": "u", "email": "e", "roles": [], "phone": "p", "address": {}}),
            json!({"sub": "u", "email": "e", "roles": []}),
        ),
        (
            "a missing optional source is a no-op",
            r#"claims = [{ rename = "groups", to = "roles" }]"#,
            json!({"sub": "u"}),
            json!({"sub": "u"}),
        ),
    ];
    for (case, rules, input, expected) in cases {
        assert_eq!(run(rules, input.clone()).as_ref(), Ok(expected), "{case}");
    }
}

#[test]
fn rules_apply_in_order() {
    let copy_then_keep =
        r#"claims = [{ copy = "groups", to = "roles" }, { keep_only = ["roles"] }]"#;
    let keep_then_copy =
        r#"claims = [{ keep_only = ["roles"] }, { copy = "groups", to = "roles" }]"#;
    let claims = json!({"sub": "u", "groups": ["g"]});

    assert_eq!(
        run(copy_then_keep, claims.clone()),
        Ok(json!({"sub": "u", "roles": ["g"]}))
    );
    assert_eq!(run(keep_then_copy, claims), Ok(json!({"sub": "u"})));
}

#[test]
fn a_required_source_that_is_missing_refuses_and_names_the_rule() {
    let required = r#"claims = [{ copy = "email", to = "mail" }, { rename = "groups", to = "roles", required = true }]"#;

    let refused = run(required, json!({"sub": "u", "email": "e"})).unwrap_err();

    assert!(
        refused.contains("client[0] (\"app\").claims[1]"),
        "{refused}"
    );
    assert!(refused.contains("groups"), "{refused}");
    let sub_from = run(
        r#"claims = [{ sub_from = "preferred_username" }]"#,
        json!({"sub": "u"}),
    )
    .unwrap_err();
    assert!(sub_from.contains("preferred_username"), "{sub_from}");
}

#[test]
fn a_rename_onto_an_existing_claim_is_refused_unless_it_says_overwrite() {
    let claims = json!({"sub": "u", "groups": ["g"], "roles": ["r"]});

    let refused = run(
        r#"claims = [{ rename = "groups", to = "roles" }]"#,
        claims.clone(),
    );
    let overwritten = run(
        r#"claims = [{ rename = "groups", to = "roles", overwrite = true }]"#,
        claims,
    );

    assert!(refused.unwrap_err().contains("overwrite"));
    assert_eq!(overwritten, Ok(json!({"sub": "u", "roles": ["g"]})));
}

#[test]
fn a_rule_writing_what_an_earlier_rule_wrote_is_refused_at_start_unless_overwrite() {
    let conflict = rules_of(
        r#"claims = [{ copy = "groups", to = "roles" }, { rename = "realm_roles", to = "roles" }]"#,
    );
    let allowed = rules_of(
        r#"claims = [{ copy = "groups", to = "roles" }, { rename = "realm_roles", to = "roles", overwrite = true }]"#,
    );

    let problems = conflict.unwrap_err();
    assert!(
        problems
            .iter()
            .any(|p| p.contains("claims[1]") && p.contains("roles")),
        "{problems:?}"
    );
    assert!(allowed.is_ok());
}

#[test]
fn protected_claims_cannot_be_written_by_any_rule() {
    for protected in [
        "iss", "aud", "exp", "iat", "nbf", "jti", "azp", "at_hash", "c_hash",
    ] {
        let attempts = [
            format!(r#"claims = [{{ rename = "x", to = "{protected}" }}]"#),
            format!(r#"claims = [{{ copy = "x", to = "{protected}" }}]"#),
            format!(r#"claims = [{{ set = "{protected}", value = "x" }}]"#),
            format!(r#"claims = [{{ default = "{protected}", value = "x" }}]"#),
            format!(r#"claims = [{{ drop = ["{protected}"] }}]"#),
        ];
        for attempt in attempts {
            let problems = rules_of(&attempt).unwrap_err();
            assert!(
                problems.iter().any(|p| p.contains("claims[0]")
                    && p.contains(protected)
                    && p.contains("protected")),
                "{attempt}: {problems:?}"
            );
        }
    }
}

#[test]
fn malformed_rules_are_refused_with_their_key() {
    let cases = [
        (r#"claims = [{ to = "x" }]"#, "exactly one"),
        (
            r#"claims = [{ rename = "a", copy = "b", to = "x" }]"#,
            "exactly one",
        ),
        (r#"claims = [{ rename = "a" }]"#, "needs `to`"),
        (r#"claims = [{ set = "a" }]"#, "needs `value`"),
        (
            r#"claims = [{ drop = ["a"], keys = true }]"#,
            "does not apply",
        ),
        (
            r#"claims = [{ rename = "a..b", to = "x" }]"#,
            "not a claim name",
        ),
        (
            r#"claims = [{ sub_from = "a", if_missing = "maybe" }]"#,
            "if_missing",
        ),
        (
            r#"claims = [{ rename = "a", to = "x", colour = "blue" }]"#,
            "colour",
        ),
    ];
    for (rules, expected) in cases {
        let problems = rules_of(rules).unwrap_err();
        assert!(
            problems
                .iter()
                .any(|p| p.starts_with("client[0] (\"app\").claims[0]") && p.contains(expected)),
            "{rules}: {problems:?}"
        );
    }
    let unknown = rules_with_preset(Some("nosuch"), "").unwrap_err();
    assert!(
        unknown[0].contains("preset") && unknown[0].contains("zitadel"),
        "{unknown:?}"
    );
}

/// Fixtures mirror what each IdP emits; see src/config/rules/fixtures/README.md.
fn fixture(name: &str) -> Map<String, Value> {
    let text = match name {
        "zitadel" => include_str!("fixtures/zitadel-id-token.json"),
        "keycloak" => include_str!("fixtures/keycloak-id-token.json"),
        _ => include_str!("fixtures/authentik-id-token.json"),
    };
    object(serde_json::from_str(text).unwrap())
}

fn through_preset(preset: &str, own_rules: &str) -> Map<String, Value> {
    let rules = rules_with_preset(Some(preset), own_rules).unwrap();
    let mut claims = fixture(preset);
    apply_rules(&rules, &mut claims).unwrap();
    claims
}

#[test]
fn the_zitadel_preset_makes_roles_a_list_and_drops_zitadels_own_claims() {
    let claims = through_preset("zitadel", "");

    assert_eq!(claims["roles"], json!(["admin", "editor"]));
    assert!(
        claims.keys().all(|name| !name.starts_with("urn:zitadel:")),
        "{claims:?}"
    );
    assert_eq!(claims["preferred_username"], "ada@acme.zitadel.cloud");
}

#[test]
fn the_keycloak_preset_takes_the_realm_roles() {
    let claims = through_preset("keycloak", "");

    assert_eq!(
        claims["roles"],
        json!(["offline_access", "uma_authorization", "bookstack-editor"])
    );
    for gone in [
        "realm_access",
        "resource_access",
        "allowed-origins",
        "session_state",
        "typ",
    ] {
        assert!(!claims.contains_key(gone), "{gone}");
    }
    assert_eq!(claims["email"], "ada@example.com");
}

#[test]
fn every_preset_keeps_sid_for_back_channel_logout() {
    for preset in crate::policy::presets::names() {
        let rules = rules_with_preset(Some(preset), "").unwrap();
        let mut claims = fixture(preset);
        claims.insert("sid".into(), json!("session-42"));
        apply_rules(&rules, &mut claims).unwrap();
        assert_eq!(claims.get("sid"), Some(&json!("session-42")), "{preset}");
    }
}

#[test]
fn the_keycloak_preset_extended_with_client_roles() {
    let claims = through_preset(
        "keycloak",
        r#"claims = [{ copy = "realm_access.roles", to = "realm_roles" }]"#,
    );
    // The preset ran first and dropped realm_access, so the own rule had nothing to copy.
    assert!(!claims.contains_key("realm_roles"));

    let mut claims = fixture("keycloak");
    let own_first =
        rules_of(r#"claims = [{ copy = "resource_access.bookstack.roles", to = "client_roles" }]"#)
            .unwrap();
    apply_rules(&own_first, &mut claims).unwrap();
    assert_eq!(claims["client_roles"], json!(["admin"]));
}

#[test]
fn the_authentik_preset_gives_groups_as_roles_too() {
    let claims = through_preset("authentik", "");

    assert_eq!(
        claims["roles"],
        json!(["authentik Admins", "mirotalk-hosts"])
    );
    assert_eq!(claims["groups"], claims["roles"]);
    assert!(!claims.contains_key("ak_proxy"));
}
