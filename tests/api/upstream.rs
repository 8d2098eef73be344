//! Trust in the upstream IdP over time: rotation, outages, refetch on unknown `kid`, readiness.

use std::time::Duration;

use serde_json::json;
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::*;

/// Only the demo IdP, so readiness depends on it alone.
fn idp_only(cooldown: &str) -> Options {
    let policy = format!(
        r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true
refetch_cooldown = "{cooldown}"

[[client]]
id = "app"
secret = {{ sha256 = "{digest}" }}
upstreams = ["idp"]
audiences = ["app"]
"#,
        digest = tokenbridge::oauth::SecretDigest::of(secret_of("app").as_bytes()).to_hex(),
    );
    Options {
        policy,
        ..Options::default()
    }
}

#[tokio::test]
async fn keys_are_fetched_at_start_and_readyz_says_so() {
    let app = spawn_app_with(idp_only("30s")).await;

    assert_eq!(app.idp.discovery_requests(), 1);
    assert_eq!(app.idp.jwks_requests(), 1);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

#[tokio::test]
async fn a_known_kid_never_causes_a_fetch() {
    let app = spawn_app_with(idp_only("0s")).await;
    let token = app.id_token(json!("app"), json!({}));

    for _ in 0..5 {
        assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
    }

    assert_eq!(app.idp.jwks_requests(), 1);
}

#[tokio::test]
async fn key_rotation_at_the_idp_is_picked_up_without_restart() {
    let app = spawn_app_with(idp_only("30s")).await;
    let rotated = rotated_idp_key();
    app.idp.publish(&[&rotated]);
    let token = app.id_token_signed(&rotated, json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        app.idp.jwks_requests(),
        2,
        "one refetch for the unknown kid"
    );
}

#[tokio::test]
async fn concurrent_requests_with_an_unknown_kid_share_one_refetch_and_respect_the_cooldown() {
    let app = spawn_app_with(idp_only("30s")).await;
    app.idp.set_delay(Duration::from_millis(200));
    let stranger = attacker_key_with_kid("not-yet-published");
    let token = app.id_token_signed(&stranger, json!("app"), json!({}));

    let answers =
        futures_util::future::join_all((0..16).map(|_| app.exchange("app", &token, &[]))).await;
    let later = app.exchange("app", &token, &[]).await;

    for answer in answers.iter().chain([&later]) {
        answer.assert_refused(400, "invalid_request");
    }
    assert_eq!(
        app.idp.jwks_requests(),
        2,
        "sixteen requests, one refetch, none during the cooldown"
    );
}

#[tokio::test]
async fn after_the_cooldown_an_unknown_kid_may_refetch_again() {
    let app = spawn_app_with(idp_only("200ms")).await;
    let token = app.id_token_signed(&attacker_key_with_kid("unknown-1"), json!("app"), json!({}));

    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_request");
    tokio::time::sleep(Duration::from_millis(400)).await;
    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_request");

    assert_eq!(app.idp.jwks_requests(), 3);
}

#[tokio::test]
async fn when_the_idp_goes_down_exchanges_go_on_with_cached_keys() {
    let app = spawn_app_with(idp_only("0s")).await;
    let token = app.id_token(json!("app"), json!({}));
    app.idp.set_failing(true);

    let answer = app.exchange("app", &token, &[]).await;
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(ready.status(), 200, "cached keys are usable keys");
}

#[tokio::test]
async fn an_idp_down_at_start_does_not_stop_the_start_and_is_fetched_on_first_use() {
    let app = spawn_app_with(Options {
        is_idp_down_at_start: true,
        ..idp_only("0s")
    })
    .await;
    let token = app.id_token(json!("app"), json!({}));

    let ready_before = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status();
    let while_down = app.exchange("app", &token, &[]).await;
    app.idp.set_failing(false);
    // "0s" still keeps a failed refetch's outcome for a millisecond.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = app.exchange("app", &token, &[]).await;
    let ready_after = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .status();

    assert_eq!(ready_before, 503);
    assert_eq!(while_down.status, 503, "{}", while_down.body);
    assert_eq!(while_down.error(), "temporarily_unavailable");
    assert!(while_down.headers.contains_key("retry-after"));
    assert_eq!(after.status, 200, "{}\n{}", after.body, captured_logs());
    assert_eq!(ready_after, 200);
}

fn attacker_key_with_kid(kid: &str) -> tokenbridge::demo::mint::IdpKey {
    tokenbridge::demo::mint::IdpKey::generate(JwsAlg::RS256, kid).unwrap()
}
