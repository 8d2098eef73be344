//! No secret, no whole token and no private key material in any log line at any level.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn logs_hold_fingerprints_never_secrets_tokens_or_keys() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    let jws = app.id_token(json!("app"), json!({ "sub": "log-test-subject" }));
    let jwe = app.rsa_jwe(&jws).await;
    let expired = app.id_token(json!("app"), json!({ "exp": app.now() - 60 }));
    let wrong_secret = "a-wrong-but-plausible-secret-42";
    let form = [
        ("grant_type", GRANT),
        ("subject_token", jws.as_str()),
        ("subject_token_type", ID_TOKEN),
    ];

    let issued_from_jws = app.exchange("app", &jws, &[]).await;
    let issued_from_jwe = app.exchange("app", &jwe, &[]).await;
    app.exchange("app", &expired, &[])
        .await
        .assert_refused(400, "invalid_request");
    send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(wrong_secret))
            .form(&form),
    )
    .await
    .assert_refused(401, "invalid_client");
    send(app.http.post(app.url("/exchange")).form(&[
        form[0],
        form[1],
        form[2],
        ("client_id", "app"),
        ("client_secret", wrong_secret),
    ]))
    .await
    .assert_refused(401, "invalid_client");

    let logs = captured_logs();
    assert!(
        logs.contains("log-test-subject"),
        "the audit lines were captured"
    );
    let mut forbidden = vec![
        ("a subject JWS", jws.clone()),
        ("a subject JWE", jwe.clone()),
        ("an expired token", expired.clone()),
        ("an issued token", issued_from_jws.token().to_owned()),
        ("an issued token", issued_from_jwe.token().to_owned()),
        ("a wrong secret", wrong_secret.to_owned()),
    ];
    // Every token's signature alone is specific enough to find a token logged in pieces.
    for token in [&jws, issued_from_jws.token()] {
        forbidden.push((
            "a token's signature",
            token.rsplit('.').next().unwrap().to_owned(),
        ));
    }
    for client in DEFAULT_CLIENTS {
        forbidden.push(("a client secret", secret_of(client)));
    }
    for key in private_key_lines() {
        forbidden.push(("private key material", key));
    }
    for (what, text) in forbidden {
        assert!(!logs.contains(&text), "{what} appears in the logs");
    }
}

/// Base64 lines from the middle of tokenbridge's private key files.
fn private_key_lines() -> Vec<String> {
    let dir = fixture_keys();
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|entry| std::fs::read_to_string(entry.ok()?.path()).ok())
        .filter_map(|pem| pem.lines().nth(3).map(str::to_owned))
        .filter(|line| line.len() > 40)
        .collect()
}
