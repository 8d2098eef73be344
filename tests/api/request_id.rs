//! `X-Request-Id` on every answer, echoed when the caller's is plain, in every log line of the
//! request (the audit line too), and replaced, never echoed or logged, when it is not.

use reqwest::header::HeaderValue;
use serde_json::json;

use crate::helpers::*;

fn is_generated(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

fn request_id(answer: &Answer) -> &str {
    answer
        .headers
        .get("x-request-id")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("no X-Request-Id: {:?}", answer.headers))
}

#[tokio::test]
async fn every_answer_carries_a_generated_request_id_errors_and_404s_included() {
    let app = spawn_app().await;
    let answers = [
        send(app.http.get(app.url("/healthz"))).await,
        send(app.http.get(app.url("/.well-known/jwks.json"))).await,
        send(app.http.get(app.url("/no/such/path"))).await,
        send(app.http.delete(app.url("/exchange"))).await,
        send(app.http.get(app.url("/front/nobody/authorize"))).await,
        app.exchange("app", "not-a-token", &[]).await,
    ];

    let ids: Vec<&str> = answers.iter().map(request_id).collect();
    for (id, answer) in ids.iter().zip(&answers) {
        assert!(is_generated(id), "{id:?} for a {}", answer.status);
    }
    let mut distinct = ids.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), ids.len(), "{ids:?}");
}

#[tokio::test]
async fn a_plain_incoming_id_is_echoed_and_names_the_audit_line() {
    let app = spawn_app().await;
    let id = "edge-7f3a:req.2_request-id-test";
    let token = app.id_token(json!("app"), json!({}));
    let answer = send(
        app.http
            .post(app.url("/exchange"))
            .header("x-request-id", id)
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token.as_str()),
                ("subject_token_type", ID_TOKEN),
            ]),
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(request_id(&answer), id);
    let logs = captured_logs();
    let audit = logs
        .lines()
        .find(|line| line.contains("tokenbridge::audit") && line.contains(id))
        .unwrap_or_else(|| panic!("no audit line names {id}"));
    assert!(audit.contains(&format!("request_id={id}")), "{audit}");
}

#[tokio::test]
async fn a_hostile_incoming_id_is_replaced_and_never_logged() {
    let app = spawn_app().await;
    let long = format!("too-long-{}", "x".repeat(200));
    let hostile: Vec<HeaderValue> = vec![
        HeaderValue::from_str("forged request_id=admin \"quoted\"").unwrap(),
        HeaderValue::from_bytes("unicode-\u{2028}-\u{202e}-marker".as_bytes()).unwrap(),
        HeaderValue::from_bytes(b"tab-\t-marker").unwrap(),
        HeaderValue::from_str(&long).unwrap(),
        HeaderValue::from_static(""),
    ];

    for value in &hostile {
        let answer = send(
            app.http
                .get(app.url("/front/nobody/authorize"))
                .header("x-request-id", value.clone()),
        )
        .await;
        let id = request_id(&answer);
        assert!(is_generated(id), "{value:?} answered with {id:?}");
    }
    let logs = captured_logs();
    for marker in ["request_id=admin", "-marker", &long] {
        assert!(!logs.contains(marker), "{marker:?} reached the log");
    }
}
