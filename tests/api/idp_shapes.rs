//! Tokens shaped as other IdPs document them, and the upstream settings that let tokenbridge read
//! them (issue 18). Each token is signed by a test key served as that IdP's JWKS.

use serde_json::json;

use crate::helpers::*;

/// An AWS Cognito user pool access token, claims as AWS documents them ("Understanding the access
/// token", Amazon Cognito Developer Guide): no `aud`, the app client in `client_id`,
/// `token_use: access`, groups in `cognito:groups`.
fn cognito_access_token(app: &TestApp) -> String {
    app.id_token(
        serde_json::Value::Null,
        json!({
            "aud": null,
            "email": null,
            "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "cognito:groups": ["admin"],
            "token_use": "access",
            "scope": "aws.cognito.signin.user.admin openid email",
            "auth_time": app.now() - 5,
            "client_id": "app",
            "origin_jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "event_id": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "jti": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "username": "ada",
            "version": 2,
        }),
    )
}

#[tokio::test]
async fn a_cognito_access_token_names_its_audience_in_client_id_when_the_upstream_says_so() {
    let app = spawn_app_with(only_the_demo_idp(
        "audience_claims = [\"aud\", \"client_id\"]",
    ))
    .await;
    let token = cognito_access_token(&app);

    let answer = app.exchange_typed("app", &token, ACCESS_TOKEN, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    let claims = verify_issued(&app, answer.token(), "app").await;
    assert_eq!(claims["aud"], "app");
    assert_eq!(claims["sub"], "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
}

#[tokio::test]
async fn without_audience_claims_a_token_with_no_aud_is_refused_and_client_id_is_not_read() {
    let app = spawn_app_with(only_the_demo_idp("")).await;
    let token = cognito_access_token(&app);

    let answer = app.exchange_typed("app", &token, ACCESS_TOKEN, &[]).await;

    answer.assert_refused(400, "invalid_request");
    assert!(
        captured_logs().contains("none of the audience claims"),
        "the log says which claims were tried"
    );
}

#[test]
fn explain_names_the_claim_the_audience_came_from() {
    let dir = tempfile::tempdir().unwrap();
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let config = dir.path().join("tokenbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
issuer = "https://tokenbridge.example.com"

[keys]
dir = "./keys"

[[upstream]]
name = "cognito"
issuer = "{issuer}"
audience_claims = ["aud", "client_id"]

[[client]]
id = "wiki"
secret = {{ sha256 = "{}" }}
upstreams = ["cognito"]
audiences = ["app-client"]
"#,
            tokenbridge::oauth::SecretDigest::of(b"a-long-enough-secret-value").to_hex()
        ),
    )
    .unwrap();
    let key = idp_key(tokenbridge::jose::alg::JwsAlg::RS256);
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({ "keys": [key.public_jwk()] }).to_string()).unwrap();
    let now = now();
    let claims = json!({
        "iss": issuer, "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "app-client",
        "token_use": "access", "scope": "openid", "iat": now, "exp": now + 600, "username": "ada",
    });
    let token = dir.path().join("access.jwt");
    std::fs::write(&token, key.sign(&claims, &json!({})).unwrap()).unwrap();

    let output = crate::cli::tokenbridge()
        .args([
            "explain",
            "--client",
            "wiki",
            "--token-type",
            "access-token",
            "--config",
        ])
        .arg(&config)
        .arg("--token")
        .arg(&token)
        .arg("--jwks")
        .arg(&jwks)
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("token client_id [\"app-client\"]"),
        "explain names client_id:\n{stdout}"
    );
}
