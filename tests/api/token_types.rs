//! A token is what it claims to be (RFC 8725 §3.11–3.12): an access token sent as an ID token is
//! refused, whatever marks it — the header `typ` `at+jwt` (RFC 9068), Keycloak's `typ` claim
//! `Bearer`, Cognito's `token_use: access` — while the same token sent as what it is passes.

use serde_json::{Value, json};
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::*;

const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";

async fn exchange_as(app: &TestApp, token: &str, subject_token_type: &str) -> Answer {
    app.exchange_typed("app", token, subject_token_type, &[])
        .await
}

#[tokio::test]
async fn an_access_token_sent_as_an_id_token_is_refused_by_each_mark() {
    let app = spawn_app().await;
    let key = idp_key(JwsAlg::RS256);
    let marked: [(&str, Value, Value); 4] = [
        ("header typ", json!({ "typ": "at+jwt" }), json!({})),
        (
            "header typ, media type form",
            json!({ "typ": "application/at+jwt" }),
            json!({}),
        ),
        (
            "Keycloak's typ claim",
            json!({}),
            json!({ "typ": "Bearer" }),
        ),
        (
            "Cognito's token_use",
            json!({}),
            json!({ "token_use": "access" }),
        ),
    ];
    for (mark, header, extra) in marked {
        let token = key.sign(&app.claims(json!("app"), extra), &header).unwrap();

        let as_id_token = exchange_as(&app, &token, ID_TOKEN).await;
        let as_access_token = exchange_as(&app, &token, ACCESS_TOKEN).await;

        as_id_token.assert_refused(400, "invalid_request");
        assert_eq!(
            as_access_token.status, 200,
            "{mark}: sent as what it is, it passes: {}",
            as_access_token.body
        );
    }
    assert!(
        captured_logs().contains("sent as an ID token, but it is an access token"),
        "the log names the reason"
    );
}

#[tokio::test]
async fn an_id_token_marked_as_one_passes_as_an_id_token() {
    let app = spawn_app().await;
    let token = idp_key(JwsAlg::RS256)
        .sign(
            &app.claims(json!("app"), json!({ "typ": "ID" })),
            &json!({ "typ": "JWT" }),
        )
        .unwrap();

    let answer = exchange_as(&app, &token, ID_TOKEN).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
}

const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

async fn exchange_requesting(
    app: &TestApp,
    client: &str,
    token: &str,
    subject_token_type: &str,
    requested_token_type: &str,
) -> Answer {
    send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth(client, Some(secret_of(client)))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token),
                ("subject_token_type", subject_token_type),
                ("requested_token_type", requested_token_type),
            ]),
    )
    .await
}

#[tokio::test]
async fn an_id_token_is_made_from_an_access_token_only_for_a_client_configured_to() {
    let policy = format!(
        r#"{default}
[[client]]
id = "converter"
secret = {{ sha256 = "{converter}" }}
upstreams = ["idp"]
audiences = ["app"]
id_token_from_access_token = true
"#,
        default = default_policy(),
        converter = digest("converter"),
    );
    let app = spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    let key = idp_key(JwsAlg::RS256);
    let access_token = key
        .sign(
            &app.claims(json!("app"), json!({})),
            &json!({ "typ": "at+jwt" }),
        )
        .unwrap();

    let refused = exchange_requesting(&app, "app", &access_token, ACCESS_TOKEN, ID_TOKEN).await;
    let refused_as_jwt = exchange_requesting(&app, "app", &access_token, JWT, ID_TOKEN).await;
    let kept_as_access =
        exchange_requesting(&app, "app", &access_token, ACCESS_TOKEN, ACCESS_TOKEN).await;
    let converted =
        exchange_requesting(&app, "converter", &access_token, ACCESS_TOKEN, ID_TOKEN).await;

    refused.assert_refused(400, "invalid_request");
    refused_as_jwt.assert_refused(400, "invalid_request");
    assert_eq!(kept_as_access.status, 200, "{}", kept_as_access.body);
    assert_eq!(converted.status, 200, "{}", converted.body);
    assert_eq!(converted.body["issued_token_type"], ID_TOKEN);
    assert_eq!(protected_header(converted.token())["typ"], "JWT");
}
