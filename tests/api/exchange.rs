//! The happy path and the rules of the issued token.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_zitadel_token_with_five_audiences_comes_out_with_one_string_aud() {
    let app = spawn_app().await;
    let token = app.id_token(
        json!(["295633918734829312", "x@tokenbridge", "app", "y@grafana", "z@wiki"]),
        json!({ "azp": "x@tokenbridge", "name": "Ada", "nonce": "n-1", "auth_time": now() - 5, "amr": ["pwd"] }),
    );

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["issued_token_type"], ID_TOKEN);
    assert_eq!(answer.body["token_type"], "N_A");
    assert_eq!(answer.headers["cache-control"], "no-store");
    assert_eq!(answer.headers["pragma"], "no-cache");
    let claims = verify_issued(&app, answer.token(), "app").await;
    assert_eq!(claims["aud"], "app");
    assert_eq!(claims["iss"], app.base.as_str());
    assert_eq!(claims["sub"], "user-1");
    assert_eq!(claims["name"], "Ada");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(
        claims.get("azp").is_none(),
        "an azp other than the audience must not pass: {claims}"
    );
    let (header, _) = decode(answer.token());
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["typ"], "JWT");
}

#[tokio::test]
async fn the_issued_token_is_fresh_and_never_outlives_the_subject_token() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    let now = app.now();
    let short = app.id_token(
        json!("app"),
        json!({ "exp": now + 30, "jti": "upstream-jti", "at_hash": "abc", "c_hash": "def" }),
    );
    let long = app.id_token(json!("app"), json!({ "exp": now + 3600, "iat": now - 100 }));

    let from_short = app.exchange("app", &short, &[]).await;
    let from_long = app.exchange("app", &long, &[]).await;
    app.clock().advance(std::time::Duration::from_secs(10));
    let again = app.exchange("app", &long, &[]).await;

    let short_claims = verify_issued(&app, from_short.token(), "app").await;
    let long_claims = verify_issued(&app, from_long.token(), "app").await;
    let again_claims = verify_issued(&app, again.token(), "app").await;
    let issued_at = long_claims["iat"].as_i64().unwrap();
    assert_eq!(issued_at, now, "iat is the moment of issue");
    assert_eq!(
        again_claims["iat"].as_i64().unwrap(),
        now + 10,
        "iat is the moment of each issue"
    );
    assert_eq!(
        short_claims["exp"].as_i64().unwrap(),
        now + 30,
        "exp capped by the subject's exp"
    );
    assert_eq!(from_short.body["expires_in"], 30);
    assert_eq!(
        long_claims["exp"].as_i64().unwrap() - issued_at,
        300,
        "exp capped by max_ttl (5m)"
    );
    assert_eq!(from_long.body["expires_in"], 300);
    assert_ne!(short_claims["jti"], "upstream-jti");
    assert_ne!(
        long_claims["jti"], again_claims["jti"],
        "jti is fresh each time"
    );
    assert!(short_claims.get("at_hash").is_none() && short_claims.get("c_hash").is_none());
}

#[tokio::test]
async fn an_access_token_is_issued_as_at_jwt_with_bearer_type_and_client_id() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = app
        .exchange("app", &token, &[("requested_token_type", ACCESS_TOKEN)])
        .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["issued_token_type"], ACCESS_TOKEN);
    assert_eq!(answer.body["token_type"], "Bearer");
    let (header, claims) = decode(answer.token());
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["client_id"], "app");
}

#[tokio::test]
async fn a_jwt_subject_token_type_is_issued_as_jwt() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;
    let as_jwt = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", &token),
                ("subject_token_type", JWT),
            ]),
    )
    .await;

    assert_eq!(answer.body["issued_token_type"], ID_TOKEN);
    assert_eq!(as_jwt.status, 200, "{}", as_jwt.body);
    assert_eq!(as_jwt.body["issued_token_type"], JWT);
}

#[tokio::test]
async fn json_requests_and_client_secret_post_are_accepted() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    let json_body = send(app.http.post(app.url("/exchange")).json(&json!({
        "grant_type": GRANT,
        "subject_token": token,
        "subject_token_type": ID_TOKEN,
        "client_id": "app",
        "client_secret": secret_of("app"),
    })))
    .await;
    let form_post = send(app.http.post(app.url("/exchange")).form(&[
        ("grant_type", GRANT),
        ("subject_token", token.as_str()),
        ("subject_token_type", ID_TOKEN),
        ("client_id", "app"),
        ("client_secret", &secret_of("app")),
    ]))
    .await;

    assert_eq!(json_body.status, 200, "{}", json_body.body);
    assert_eq!(form_post.status, 200, "{}", form_post.body);
}

#[tokio::test]
async fn each_signing_algorithm_a_client_may_choose_verifies_against_the_published_jwks() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    for (client, alg) in [
        ("app", "RS256"),
        ("ps256", "PS256"),
        ("es256", "ES256"),
        ("eddsa", "EdDSA"),
    ] {
        let answer = app.exchange(client, &token, &[]).await;
        assert_eq!(answer.status, 200, "{client}: {}", answer.body);
        let (header, _) = decode(answer.token());
        assert_eq!(header["alg"], alg);
        let claims = verify_issued(&app, answer.token(), "app").await;
        assert_eq!(claims["sub"], "user-1", "{client}");
    }
}

#[tokio::test]
async fn every_exchange_writes_one_audit_line_with_the_decision_and_no_token() {
    let app = spawn_app().await;
    let token = app.id_token(
        json!(["a9", "app", "a8"]),
        json!({ "sub": "audit-subject-7" }),
    );

    let answer = app.exchange("app", &token, &[]).await;

    let jti = verify_issued(&app, answer.token(), "app").await["jti"]
        .as_str()
        .unwrap()
        .to_owned();
    let logs = captured_logs();
    let lines: Vec<&str> = logs.lines().filter(|line| line.contains(&jti)).collect();
    assert_eq!(lines.len(), 1, "one audit line per exchange: {lines:?}");
    let line = lines[0];
    for expected in [
        "outcome=\"issued\"",
        "client=\"app\"",
        "audit-subject-7",
        "original_aud=\"a9 app a8\"",
        "chosen_aud=\"app\"",
        app.idp.issuer(),
    ] {
        assert!(line.contains(expected), "{expected} missing from {line}");
    }
    assert!(!logs.contains(&token), "a whole token was logged");
    assert!(!logs.contains(answer.token()), "an issued token was logged");
    assert!(!logs.contains(&secret_of("app")), "a secret was logged");
}

#[tokio::test]
async fn a_refusal_logs_its_precise_reason_while_the_caller_gets_the_generic_error() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    // Expired exactly as the upstream's leeway (60 s) runs out.
    let token = app.id_token(
        json!("app"),
        json!({ "sub": "refused-subject-3", "exp": app.now() - 60 }),
    );

    let answer = app.exchange("app", &token, &[]).await;

    answer.assert_refused(400, "invalid_request");
    let description = answer.body["error_description"].as_str().unwrap();
    assert!(
        !description.contains("exp"),
        "the caller is not told which check failed: {description}"
    );
    let logs = captured_logs();
    let line = logs
        .lines()
        .find(|line| line.contains("refused-subject-3") && line.contains("outcome=\"refused\""))
        .unwrap();
    assert!(line.contains("expired"), "{line}");
}
