//! The presets of the IdPs beyond Zitadel, Keycloak and Authentik, on their documented tokens
//! (`fixtures/README.md` cites each source): what comes out is what BookStack and
//! express-openid-connect read, `sub`, `email`, `name`, `preferred_username`, and groups and
//! roles as string lists.

use serde_json::{Map, Value, json};

use super::validate_rules;
use crate::config::error::Problems;
use crate::policy::rules::apply_rules;

fn fixture(name: &str) -> Map<String, Value> {
    let text = match name {
        "entra" => include_str!("fixtures/entra-id-token.json"),
        "entra-overage" => include_str!("fixtures/entra-overage-id-token.json"),
        "cognito" => include_str!("fixtures/cognito-id-token.json"),
        "cognito-access" => include_str!("fixtures/cognito-access-token.json"),
        "google" => include_str!("fixtures/google-id-token.json"),
        "okta" => include_str!("fixtures/okta-id-token.json"),
        "auth0" => include_str!("fixtures/auth0-id-token.json"),
        other => unreachable!("no fixture {other}"),
    };
    match serde_json::from_str(text).unwrap() {
        Value::Object(claims) => claims,
        _ => unreachable!("fixtures are objects"),
    }
}

/// The preset, then `own_rules` (a TOML array of inline tables), on the fixture.
fn through(
    preset: &str,
    own_rules: &str,
    fixture_name: &str,
) -> Result<Map<String, Value>, String> {
    let doc: toml::Value = toml::from_str(&format!("claims = [{own_rules}]")).unwrap();
    let own = doc["claims"].as_array().unwrap().clone();
    let mut problems = Problems::default();
    let rules = validate_rules("upstream[0] (\"idp\")", Some(preset), own, &mut problems);
    if let Err(errors) = problems.into_result(()) {
        panic!("{errors:?}");
    }
    let mut claims = fixture(fixture_name);
    apply_rules(&rules, &mut claims).map_err(|err| err.to_string())?;
    Ok(claims)
}

fn picked(claims: &Map<String, Value>, names: &[&str]) -> Value {
    Value::Object(
        names
            .iter()
            .filter_map(|name| Some((name.to_string(), claims.get(*name)?.clone())))
            .collect(),
    )
}

const LEGACY_READS: [&str; 6] = [
    "sub",
    "email",
    "name",
    "preferred_username",
    "groups",
    "roles",
];

#[test]
fn entra_keeps_the_standard_claims_and_drops_entras_own() {
    let groups_named = r#"{ rename = "groups", to = "groups", map = { "e3b9b0a5-0f5c-4d2b-8f5e-5c8a9d1e2f30" = "wiki-admins" }, unmapped = "drop" }"#;
    let claims = through("entra", groups_named, "entra").unwrap();

    assert_eq!(
        picked(&claims, &LEGACY_READS),
        json!({
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "email": "ada@contoso.com",
            "name": "Ada Lovelace",
            "preferred_username": "ada@contoso.onmicrosoft.com",
            "groups": ["wiki-admins"],
            "roles": ["Wiki.Editor"],
        })
    );
    for gone in ["aio", "uti", "rh", "wids", "xms_tpl"] {
        assert!(!claims.contains_key(gone), "{gone} left: {claims:?}");
    }
}

#[test]
fn entra_refuses_a_groups_overage_instead_of_issuing_no_groups() {
    let refused = through("entra", "", "entra-overage").unwrap_err();
    assert!(
        refused.contains("preset \"entra\"")
            && refused.contains("groups overage")
            && refused.contains("_claim_names"),
        "{refused}"
    );
    // The implicit flow's form of it.
    let mut problems = Problems::default();
    let rules = validate_rules("u", Some("entra"), Vec::new(), &mut problems);
    let mut flagged = fixture("entra-overage");
    flagged.remove("_claim_names");
    flagged.insert("hasgroups".into(), json!(true));
    let refused = apply_rules(&rules, &mut flagged).unwrap_err().to_string();
    assert!(refused.contains("hasgroups is true"), "{refused}");
}

#[test]
fn cognito_gives_its_groups_as_groups_and_roles_and_the_user_name() {
    let id = through("cognito", "", "cognito").unwrap();
    assert_eq!(
        picked(&id, &LEGACY_READS),
        json!({
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "preferred_username": "ada",
            "groups": ["wiki-editors", "admins"],
            "roles": ["wiki-editors", "admins"],
        })
    );
    assert!(
        id.keys().all(|name| !name.starts_with("cognito:")),
        "{id:?}"
    );
    assert!(!id.contains_key("token_use"));

    let access = through("cognito", "", "cognito-access").unwrap();
    assert_eq!(access["preferred_username"], "ada");
    assert_eq!(access["groups"], json!(["wiki-editors", "admins"]));
}

#[test]
fn google_names_the_user_by_email() {
    let claims = through("google", "", "google").unwrap();
    assert_eq!(
        picked(&claims, &LEGACY_READS),
        json!({
            "sub": "10769150350006150715113082367",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "preferred_username": "ada@example.com",
        })
    );
}

#[test]
fn a_preset_never_replaces_a_claim_the_token_already_has() {
    let mut with_username = fixture("google");
    with_username.insert("preferred_username".into(), json!("ada.l"));
    let mut problems = Problems::default();
    let rules = validate_rules("u", Some("google"), Vec::new(), &mut problems);
    apply_rules(&rules, &mut with_username).unwrap();
    assert_eq!(with_username["preferred_username"], "ada.l");
}

#[test]
fn keep_existing_and_overwrite_contradict_each_other() {
    let doc: toml::Value = toml::from_str(
        r#"claims = [{ copy = "a", to = "b", overwrite = true, keep_existing = true }]"#,
    )
    .unwrap();
    let mut problems = Problems::default();
    validate_rules(
        "u",
        None,
        doc["claims"].as_array().unwrap().clone(),
        &mut problems,
    );
    let errors = problems.into_result(()).unwrap_err();
    assert!(errors.0[0].message.contains("contradict"), "{errors:?}");
}

#[test]
fn okta_gives_groups_as_roles_too_and_drops_its_own_claims() {
    let claims = through("okta", "", "okta").unwrap();
    assert_eq!(
        picked(&claims, &LEGACY_READS),
        json!({
            "sub": "00uid4BxXw6I6TV4m0g3",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "preferred_username": "ada@example.com",
            "groups": ["Everyone", "Wiki Editors"],
            "roles": ["Everyone", "Wiki Editors"],
        })
    );
    assert!(!claims.contains_key("ver") && !claims.contains_key("idp"));
}

#[test]
fn auth0_names_the_user_by_nickname_and_a_namespaced_claim_moves_by_json_pointer() {
    let roles = r#"{ rename = "/https:~1~1example.com~1roles", to = "roles" }"#;
    let claims = through("auth0", roles, "auth0").unwrap();
    assert_eq!(
        picked(&claims, &LEGACY_READS),
        json!({
            "sub": "auth0|6372b3b2a3d4e2c0f1a2b3c4",
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "preferred_username": "ada",
            "roles": ["editor"],
        })
    );
    assert!(!claims.contains_key("https://example.com/roles"));
}
