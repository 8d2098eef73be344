//! `{front}/backchannel-logout` refuses, with 400 (404 without a back-channel URI) and nothing
//! sent to the relying party, every token that fails one check of Back-Channel Logout §2.6: each
//! token here is good but for that one check.

use serde_json::json;
use tokenbridge::jose::alg::JwsAlg;

use crate::front_backchannel::{EVENT, world};
use crate::helpers::*;

#[tokio::test]
async fn a_replayed_jti_is_refused() {
    let world = world().await;
    let token = world.logout_token(json!({}));
    let same_jti = world.logout_token(json!({ "jti": decode(&token).1["jti"] }));

    assert_eq!(world.post("bookstack", &token).await.status, 200);
    let replayed = world.post("bookstack", &same_jti).await;

    replayed.assert_refused(400, "invalid_request");
    assert_eq!(world.rp.received().len(), 1);
}

#[tokio::test]
async fn a_forged_signature_is_refused() {
    let world = world().await;
    let forged = attacker_key()
        .sign(&world.claims(json!({})), &json!({"typ": "logout+jwt"}))
        .unwrap();
    world.assert_refused(&forged).await;
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let world = world().await;
    world
        .assert_refused(&world.logout_token(json!({"aud": ["mirotalk", "grafana"]})))
        .await;
}

#[tokio::test]
async fn a_token_with_a_nonce_is_refused_and_the_log_says_why_without_the_token() {
    let world = world().await;
    let token = world.logout_token(json!({"nonce": "n-1"}));
    world.assert_refused(&token).await;
    let logs = captured_logs();
    assert!(
        logs.lines()
            .any(|line| line.contains("logout token was refused") && line.contains("nonce")),
        "no reason logged"
    );
    assert!(!logs.contains(&token));
}

#[tokio::test]
async fn a_token_without_the_logout_event_is_refused() {
    let world = world().await;
    world
        .assert_refused(&world.logout_token(json!({"events": null})))
        .await;
    world
        .assert_refused(&world.logout_token(json!({"events": { (EVENT): "yes" }})))
        .await;
}

#[tokio::test]
async fn a_token_with_neither_sub_nor_sid_is_refused() {
    let world = world().await;
    world
        .assert_refused(&world.logout_token(json!({"sub": null, "sid": null})))
        .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let world = world().await;
    let now = world.app.now();
    world
        .assert_refused(&world.logout_token(json!({"iat": now - 300, "exp": now - 1})))
        .await;
}

#[tokio::test]
async fn a_token_typed_as_another_kind_of_jwt_is_refused() {
    let world = world().await;
    let id_token_typed = idp_key(JwsAlg::RS256)
        .sign(&world.claims(json!({})), &json!({}))
        .unwrap();
    assert_eq!(protected_header(&id_token_typed)["typ"], "JWT");
    world.assert_refused(&id_token_typed).await;
}

#[tokio::test]
async fn a_token_from_the_clients_other_upstream_is_refused() {
    let world = world().await;
    let claims = world.claims(json!({"iss": world.other.issuer()}));
    let token = world
        .other_key
        .sign(&claims, &json!({"typ": "logout+jwt"}))
        .unwrap();
    world.assert_refused(&token).await;
}

#[tokio::test]
async fn the_form_must_hold_one_logout_token_and_the_front_a_backchannel_uri() {
    let world = world().await;
    let token = world.logout_token(json!({}));
    let url = world.app.url("/front/bookstack/backchannel-logout");

    let twice = send(
        world
            .app
            .http
            .post(&url)
            .form(&[("logout_token", &token), ("logout_token", &token)]),
    )
    .await;
    let missing = send(world.app.http.post(&url).form(&[("token", &token)])).await;
    let as_json = send(
        world
            .app
            .http
            .post(&url)
            .json(&json!({"logout_token": token})),
    )
    .await;
    let no_uri = world.post("mirotalk", &token).await;
    let no_front = world.post("nobody", &token).await;

    for refused in [&twice, &missing, &as_json] {
        refused.assert_refused(400, "invalid_request");
    }
    no_uri.assert_refused(404, "invalid_request");
    no_front.assert_refused(404, "invalid_request");
    assert!(world.rp.received().is_empty());
}
