//! Claim rules through the whole service: presets, keep_only, required sources, size limits.

use serde_json::json;

use crate::helpers::*;

fn policy(clients: &str) -> Options {
    let digest = |id: &str| tokenbridge::oauth::SecretDigest::of(secret_of(id).as_bytes()).to_hex();
    let clients = clients
        .replace("{bookstack}", &digest("bookstack"))
        .replace("{wiki}", &digest("wiki"))
        .replace("{strict}", &digest("strict"));
    Options {
        policy: format!(
            "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\n{clients}"
        ),
        ..Options::default()
    }
}

const CLIENTS: &str = r#"
[[client]]
id = "bookstack"
secret = { sha256 = "{bookstack}" }
upstreams = ["idp"]
audiences = ["295634102486564608@bookstack"]
rewrite = { "295634102486564608@bookstack" = "bookstack" }
preset = "zitadel"
claims = [{ keep_only = ["email", "name", "preferred_username", "roles"] }]

[[client]]
id = "wiki"
secret = { sha256 = "{wiki}" }
upstreams = ["idp"]
audiences = ["wiki"]
preset = "keycloak"
claims = [{ sub_from = "preferred_username" }]

[[client]]
id = "strict"
secret = { sha256 = "{strict}" }
upstreams = ["idp"]
audiences = ["strict"]
claims = [{ rename = "groups", to = "roles", required = true }]
"#;

#[tokio::test]
async fn a_zitadel_token_comes_out_with_one_aud_and_roles_as_a_list() {
    let app = spawn_app_with(policy(CLIENTS)).await;
    let token = app.id_token(
        json!(["295634102486564608@bookstack", "295633918734829312", "a@grafana", "b@wiki", "c@api"]),
        json!({
            "name": "Ada", "phone_number": "+1 555",
            "urn:zitadel:iam:org:project:roles": { "editor": { "1": "acme" }, "admin": { "1": "acme" } },
            "urn:zitadel:iam:user:resourceowner:id": "1",
        }),
    );

    let answer = app.exchange("bookstack", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let claims = verify_issued(&app, answer.token(), "bookstack").await;
    assert_eq!(claims["aud"], "bookstack");
    let mut roles: Vec<&str> = claims["roles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    roles.sort_unstable();
    assert_eq!(roles, ["admin", "editor"]);
    assert!(
        claims.get("phone_number").is_none(),
        "keep_only lets nothing unnamed leave"
    );
    assert!(
        claims
            .as_object()
            .unwrap()
            .keys()
            .all(|name| !name.starts_with("urn:zitadel"))
    );
}

#[tokio::test]
async fn a_keycloak_tokens_realm_roles_come_out_as_roles_with_sub_from_the_username() {
    let app = spawn_app_with(policy(CLIENTS)).await;
    let token = app.id_token(
        json!("wiki"),
        json!({ "preferred_username": "ada", "realm_access": { "roles": ["wiki-editor"] }, "session_state": "s" }),
    );

    let answer = app.exchange("wiki", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let claims = verify_issued(&app, answer.token(), "wiki").await;
    assert_eq!(claims["roles"], json!(["wiki-editor"]));
    assert_eq!(claims["sub"], "ada");
    assert!(claims.get("realm_access").is_none() && claims.get("session_state").is_none());
}

#[tokio::test]
async fn a_missing_required_source_refuses_with_invalid_request_and_the_log_names_the_rule() {
    let app = spawn_app_with(policy(CLIENTS)).await;
    let token = app.id_token(json!("strict"), json!({ "sub": "no-groups-subject" }));

    let answer = app.exchange("strict", &token, &[]).await;

    answer.assert_refused(400, "invalid_request");
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains("no-groups-subject") && line.contains("refused"))
        .unwrap();
    assert!(
        line.contains("claims[0]") && line.contains("groups"),
        "{line}"
    );
}

#[tokio::test]
async fn an_issued_token_over_the_size_limits_is_refused() {
    let app = spawn_app_with(Options {
        limits: "[limits]\nmax_issued_claims = 12\nmax_issued_bytes = 2048\n".into(),
        ..policy(CLIENTS)
    })
    .await;
    let many = app.id_token(
        json!("strict"),
        json!(
            (0..20)
                .map(|i| (format!("c{i}"), json!(i)))
                .chain([("groups".to_owned(), json!([]))])
                .collect::<serde_json::Map<_, _>>()
        ),
    );
    let big = app.id_token(json!("strict"), json!({ "groups": ["g".repeat(3000)] }));
    let fine = app.id_token(json!("strict"), json!({ "groups": ["g"] }));

    app.exchange("strict", &many, &[])
        .await
        .assert_refused(400, "invalid_request");
    app.exchange("strict", &big, &[])
        .await
        .assert_refused(400, "invalid_request");
    assert_eq!(app.exchange("strict", &fine, &[]).await.status, 200);
    assert!(captured_logs().contains("limits.max_issued_bytes"));
}
