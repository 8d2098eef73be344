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

/// Runs `tokenbridge explain` offline (the JWKS given as a file) for client "wiki" of an
/// upstream at `issuer` with `upstream_lines`, on a token with `claims` (`iat`, `exp` added)
/// signed by the RS256 test key; returns what it printed, after checking it would issue.
fn explain_offline(
    issuer: &str,
    upstream_lines: &str,
    audience: &str,
    claims: serde_json::Value,
    token_type: &str,
) -> String {
    let (dir, config) = crate::cli::config_file(&format!(
        r#"
issuer = "https://tokenbridge.example.com"

[keys]
dir = "./keys"

[[upstream]]
name = "idp"
issuer = "{issuer}"
{upstream_lines}

[[client]]
id = "wiki"
secret = {{ sha256 = "{}" }}
upstreams = ["idp"]
audiences = ["{audience}"]
"#,
        tokenbridge::oauth::SecretDigest::of(b"a-long-enough-secret-value").to_hex()
    ));
    let key = idp_key(tokenbridge::jose::alg::JwsAlg::RS256);
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, json!({ "keys": [key.public_jwk()] }).to_string()).unwrap();
    let mut claims = claims;
    claims["iat"] = json!(now());
    claims["exp"] = json!(now() + 600);
    let token = dir.path().join("token.jwt");
    std::fs::write(&token, key.sign(&claims, &json!({})).unwrap()).unwrap();

    let output = crate::cli::tokenbridge()
        .args([
            "explain",
            "--client",
            "wiki",
            "--token-type",
            token_type,
            "--config",
        ])
        .arg(&config)
        .arg("--token")
        .arg(&token)
        .arg("--jwks")
        .arg(&jwks)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{stdout}");
    assert!(stdout.contains("result: would issue"), "{stdout}");
    stdout
}

#[test]
fn explain_names_the_claim_the_audience_came_from() {
    let issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Example";
    let stdout = explain_offline(
        issuer,
        "audience_claims = [\"aud\", \"client_id\"]",
        "app-client",
        json!({
            "iss": issuer, "sub": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "client_id": "app-client",
            "token_use": "access", "scope": "openid", "username": "ada",
        }),
        "access-token",
    );
    assert!(
        stdout.contains("token client_id [\"app-client\"]"),
        "explain names client_id:\n{stdout}"
    );
}

#[test]
fn explain_shows_the_tenant_an_issuer_template_matched_and_its_tid_check() {
    let tenant_issuer = format!("https://login.microsoftonline.com/{TENANT}/v2.0");
    let stdout = explain_offline(
        "https://login.microsoftonline.com/common/v2.0",
        &format!(
            "issuer_templates = [\"https://login.microsoftonline.com/{{tid}}/v2.0\"]\nallowed_tenants = [\"{TENANT}\"]"
        ),
        "app",
        json!({ "iss": tenant_issuer, "tid": TENANT, "sub": "s", "aud": "app", "ver": "2.0" }),
        "id-token",
    );
    for expected in [
        format!("for allowed tenant \"{TENANT}\""),
        format!("ok      tenant: tid \"{TENANT}\" is the tenant iss names"),
    ] {
        assert!(
            stdout.contains(&expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}

/// A Google ID token, claims as Google documents them ("OpenID Connect", Google Identity: "An
/// ID token's payload"); `iss` is `https://accounts.google.com` or `accounts.google.com`.
fn google_id_token(app: &TestApp, iss: &str) -> String {
    app.id_token(
        json!("app"),
        json!({
            "iss": iss,
            "azp": "app",
            "sub": "110169484474386276334",
            "hd": "example.com",
            "email": "ada@example.com",
            "email_verified": true,
            "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
            "name": "Ada Lovelace",
            "given_name": "Ada",
            "family_name": "Lovelace",
            "locale": "en",
        }),
    )
}

#[tokio::test]
async fn an_issuer_alias_is_one_more_exact_string_for_the_same_upstream_and_keys() {
    let app = spawn_app_with(only_the_demo_idp(
        "issuer_aliases = [\"accounts.google.com\"]",
    ))
    .await;

    for iss in [
        app.idp.issuer().to_owned(),
        "accounts.google.com".to_owned(),
    ] {
        let answer = app.exchange("app", &google_id_token(&app, &iss), &[]).await;
        assert_eq!(answer.status, 200, "{iss}: {}", answer.body);
        let claims = verify_issued(&app, answer.token(), "app").await;
        assert_eq!(claims["sub"], "110169484474386276334");
    }
    // Exact strings only: no scheme added, no case folded, no slash forgiven.
    for iss in [
        "https://accounts.google.com",
        "Accounts.google.com",
        "accounts.google.com/",
    ] {
        let answer = app.exchange("app", &google_id_token(&app, iss), &[]).await;
        answer.assert_refused(400, "invalid_request");
    }
}

/// The tenants an Entra-like upstream lists, and one it doesn't.
const TENANT: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";
const OTHER_TENANT: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
const UNLISTED_TENANT: &str = "00000000-1111-2222-3333-444444444444";

/// A Microsoft Entra ID v2.0 ID token, claims as Microsoft documents them ("ID token claims
/// reference", Microsoft identity platform): `iss` `https://login.microsoftonline.com/{tid}/v2.0`
/// (here on the test IdP's origin), `tid`, `oid`, `ver`, groups as object ids.
fn entra_id_token(app: &TestApp, iss_tenant: &str, tid: &str) -> String {
    app.id_token(
        json!("app"),
        json!({
            "iss": format!("{}/{iss_tenant}/v2.0", app.idp.issuer()),
            "tid": tid,
            "oid": "00000000-0000-0000-66f3-3332eca7ea81",
            "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "ver": "2.0",
            "aio": "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY",
            "name": "Ada Lovelace",
            "preferred_username": "ada@contoso.com",
            "groups": ["e3b9b0a5-0f5c-4d2b-8f5e-5c8a9d1e2f30"],
            "uti": "Mmj4aDqmM0CP6ZyPRbVkAA",
            "rh": "0.AXkAn7K3",
        }),
    )
}

fn entra_upstream() -> Options {
    only_the_demo_idp(&format!(
        "issuer_templates = [\"{{idp}}/{{tid}}/v2.0\"]\nallowed_tenants = [\"{TENANT}\", \"{OTHER_TENANT}\"]"
    ))
}

#[tokio::test]
async fn a_tenant_issuer_is_accepted_only_for_a_listed_tenant_that_the_signed_tid_names() {
    let app = spawn_app_with(entra_upstream()).await;

    for tenant in [TENANT, OTHER_TENANT] {
        let answer = app
            .exchange("app", &entra_id_token(&app, tenant, tenant), &[])
            .await;
        assert_eq!(answer.status, 200, "{tenant}: {}", answer.body);
        let claims = verify_issued(&app, answer.token(), "app").await;
        assert_eq!(claims["tid"], tenant);
    }
    // A tenant the operator did not list.
    app.exchange(
        "app",
        &entra_id_token(&app, UNLISTED_TENANT, UNLISTED_TENANT),
        &[],
    )
    .await
    .assert_refused(400, "invalid_request");
    // A listed tenant's issuer on another tenant's token, or on a token without tid.
    app.exchange("app", &entra_id_token(&app, TENANT, OTHER_TENANT), &[])
        .await
        .assert_refused(400, "invalid_request");
    let no_tid = app.id_token(
        json!("app"),
        json!({ "iss": format!("{}/{TENANT}/v2.0", app.idp.issuer()) }),
    );
    app.exchange("app", &no_tid, &[])
        .await
        .assert_refused(400, "invalid_request");
    let logs = captured_logs();
    assert!(
        logs.contains("but tid is"),
        "the log says the tid did not match"
    );
}

#[test]
fn explain_shows_an_alias_and_what_a_value_map_and_an_overage_rule_did() {
    let stdout = explain_offline(
        "https://accounts.google.com",
        r#"issuer_aliases = ["accounts.google.com"]
claims = [{ refuse_overage = "groups" }, { rename = "groups", to = "groups", map = { "g-1" = "editors" }, unmapped = "drop" }]"#,
        "app",
        json!({ "iss": "accounts.google.com", "sub": "s", "aud": "app", "groups": ["g-1", "g-2"] }),
        "id-token",
    );
    for expected in [
        "iss is upstream \"idp\" (issuer_aliases)",
        "claim rule: upstream[0] (\"idp\").claims[1]: renamed groups -> groups",
        "\"groups\": [\n    \"editors\"\n  ]",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
}
