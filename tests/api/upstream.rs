//! Trust in the upstream IdP over time: rotation, outages, refetch on unknown `kid`, readiness.

use std::time::Duration;

use serde_json::json;
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::*;

fn idp_only(cooldown: &str) -> Options {
    only_the_demo_idp(&format!("refetch_cooldown = \"{cooldown}\""))
}

#[tokio::test]
async fn keys_are_fetched_at_start_and_readyz_says_so() {
    let app = spawn_app_with(idp_only("30s")).await;

    assert_eq!(app.idp.discovery_requests(), 1);
    assert_eq!(app.idp.jwks_requests(), 1);
    assert_eq!(app.ready_status().await, 200);
    assert!(
        captured_logs()
            .lines()
            .any(|line| line.contains("WARN") && line.contains("danger_allow_http is set")),
        "plain HTTP is warned about at start"
    );
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
    let ready = app.ready_status().await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(ready, 200, "cached keys are usable keys");
}

#[tokio::test]
async fn an_idp_down_at_start_does_not_stop_the_start_and_is_fetched_on_first_use() {
    let app = spawn_app_with(Options {
        is_idp_down_at_start: true,
        ..idp_only("0s")
    })
    .await;
    let token = app.id_token(json!("app"), json!({}));

    let ready_before = app.ready_status().await;
    let while_down = app.exchange("app", &token, &[]).await;
    app.idp.set_failing(false);
    // "0s" still keeps a failed refetch's outcome for a millisecond.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let after = app.exchange("app", &token, &[]).await;
    let ready_after = app.ready_status().await;

    assert_eq!(ready_before, 503);
    assert_eq!(while_down.status, 503, "{}", while_down.body);
    assert_eq!(while_down.error(), "temporarily_unavailable");
    assert!(while_down.headers.contains_key("retry-after"));
    assert_eq!(after.status, 200, "{}\n{}", after.body, captured_logs());
    assert_eq!(ready_after, 200);
}

#[tokio::test]
async fn an_idp_answering_garbage_leaves_the_cached_keys_in_use_and_readyz_names_the_error() {
    let app = spawn_app_with(idp_only("0s")).await;
    let known = app.id_token(json!("app"), json!({}));
    let unknown = app.id_token_signed(
        &attacker_key_with_kid("not-published"),
        json!("app"),
        json!({}),
    );
    app.idp
        .publish_raw(json!({ "keys": "not a list", "garbage": [1, 2, 3] }));

    let refused = app.exchange("app", &unknown, &[]).await;
    let still_fine = app.exchange("app", &known, &[]).await;
    let ready: serde_json::Value = app
        .http
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    refused.assert_refused(400, "invalid_request");
    assert_eq!(still_fine.status, 200, "{}", still_fine.body);
    assert_eq!(ready["status"], "ready", "{ready}");
    assert!(
        ready.to_string().contains("keys array"),
        "the last error is reported: {ready}"
    );
}

#[tokio::test]
async fn keys_rotating_mid_load_serve_what_can_be_verified_and_nothing_falls_over() {
    let app = spawn_app_with(idp_only("30s")).await;
    let old = idp_key(JwsAlg::RS256);
    let new = rotated_idp_key();
    app.idp.set_delay(Duration::from_millis(100));
    app.idp.publish(&[&old, &new]);
    let tokens: Vec<String> = (0..40)
        .map(|i| {
            let key = if i % 2 == 0 { &old } else { &new };
            app.id_token_signed(key, json!("app"), json!({ "sub": format!("user-{i}") }))
        })
        .collect();

    let answers =
        futures_util::future::join_all(tokens.iter().map(|token| app.exchange("app", token, &[])))
            .await;

    for answer in &answers {
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(
        app.idp.jwks_requests(),
        2,
        "one refetch for the new kid, shared by twenty requests"
    );
}

#[tokio::test]
async fn a_slow_idp_is_cut_off_by_the_fetch_timeout() {
    let mut options = idp_only("0s");
    options.policy = options.policy.replace(
        "danger_allow_http = true",
        "danger_allow_http = true\nfetch_timeout = \"300ms\"",
    );
    let app = spawn_app_with(options).await;
    app.idp.set_delay(Duration::from_secs(3));
    let unknown = app.id_token_signed(&attacker_key_with_kid("slow-kid"), json!("app"), json!({}));
    let known = app.id_token(json!("app"), json!({}));

    let refused =
        tokio::time::timeout(Duration::from_secs(2), app.exchange("app", &unknown, &[])).await;
    let served = app.exchange("app", &known, &[]).await;

    refused
        .expect("answered before the IdP did")
        .assert_refused(400, "invalid_request");
    assert_eq!(served.status, 200);
}

#[tokio::test]
async fn a_jwks_over_the_size_or_key_count_cap_is_refused_whole() {
    for cap in ["max_jwks_bytes = 1000", "max_jwks_keys = 3"] {
        let app = spawn_app_with(only_the_demo_idp(cap)).await;
        let token = app.id_token(json!("app"), json!({}));

        let answer = app.exchange("app", &token, &[]).await;

        assert_eq!(app.ready_status().await, 503, "{cap}");
        assert_eq!(
            (answer.status, answer.error()),
            (503, "temporarily_unavailable"),
            "{cap}"
        );
    }
}

#[tokio::test]
async fn redirects_are_never_followed() {
    let app = spawn_app_with(only_the_demo_idp("jwks_uri = \"{idp}/moved\"")).await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = app.exchange("app", &token, &[]).await;

    assert_eq!(app.ready_status().await, 503);
    assert_eq!(answer.status, 503);
    assert_eq!(
        app.idp.jwks_requests(),
        0,
        "the redirect to /jwks was followed"
    );
}
