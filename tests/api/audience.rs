//! Each audience mode with 0, 1 and 5 matching `aud` values, a requested audience, and rewrite.

use serde_json::{Value, json};

use crate::helpers::*;

const NONE_MATCH: [&str; 3] = ["x1", "x2", "x3"];
const ONE_MATCHES: [&str; 5] = ["x1", "x2", "a3", "x4", "x5"];
/// All five allowed, in the reverse of the clients' order.
const FIVE_MATCH: [&str; 5] = ["a5", "a4", "a3", "a2", "a1"];

async fn chosen(
    app: &TestApp,
    client: &str,
    aud: &[&str],
    audience: Option<&str>,
) -> Result<String, (u16, String)> {
    let token = app.id_token(json!(aud), json!({}));
    let extra: Vec<(&str, &str)> = audience
        .map(|audience| ("audience", audience))
        .into_iter()
        .collect();
    let answer = app.exchange(client, &token, &extra).await;
    if answer.status != 200 {
        return Err((answer.status, answer.error().to_owned()));
    }
    let (_, claims) = decode(answer.token());
    match claims["aud"].clone() {
        Value::String(aud) => Ok(aud),
        other => panic!("aud is not one string: {other}"),
    }
}

fn invalid_target() -> Result<String, (u16, String)> {
    Err((400, "invalid_target".into()))
}

#[tokio::test]
async fn only_takes_exactly_one_allowed_value_and_refuses_ambiguity() {
    let app = spawn_app().await;

    assert_eq!(
        chosen(&app, "only", &NONE_MATCH, None).await,
        invalid_target()
    );
    assert_eq!(
        chosen(&app, "only", &ONE_MATCHES, None).await,
        Ok("a3".into())
    );
    assert_eq!(
        chosen(&app, "only", &FIVE_MATCH, None).await,
        invalid_target()
    );
    // A requested audience narrows the choice to one.
    assert_eq!(
        chosen(&app, "only", &FIVE_MATCH, Some("a4")).await,
        Ok("a4".into())
    );
}

#[tokio::test]
async fn first_follows_the_clients_order() {
    let app = spawn_app().await;

    assert_eq!(
        chosen(&app, "first", &NONE_MATCH, None).await,
        invalid_target()
    );
    assert_eq!(
        chosen(&app, "first", &ONE_MATCHES, None).await,
        Ok("a3".into())
    );
    assert_eq!(
        chosen(&app, "first", &FIVE_MATCH, None).await,
        Ok("a1".into())
    );
    assert_eq!(
        chosen(&app, "first", &FIVE_MATCH, Some("a2")).await,
        Ok("a2".into())
    );
}

#[tokio::test]
async fn requested_needs_an_allowed_audience_that_the_token_has() {
    let app = spawn_app().await;

    let unnamed = chosen(&app, "requested", &FIVE_MATCH, None).await;
    assert!(matches!(unnamed, Err((400, _))), "{unnamed:?}");
    assert_eq!(
        chosen(&app, "requested", &NONE_MATCH, Some("a1")).await,
        invalid_target()
    );
    assert_eq!(
        chosen(&app, "requested", &ONE_MATCHES, Some("a3")).await,
        Ok("a3".into())
    );
    assert_eq!(
        chosen(&app, "requested", &ONE_MATCHES, Some("a1")).await,
        invalid_target()
    );
    assert_eq!(
        chosen(&app, "requested", &FIVE_MATCH, Some("a5")).await,
        Ok("a5".into())
    );
}

#[tokio::test]
async fn a_requested_audience_outside_the_allowlist_or_the_token_is_never_emitted() {
    let app = spawn_app().await;

    for client in ["only", "first", "requested"] {
        assert_eq!(
            chosen(&app, client, &["x1", "a1"], Some("x1")).await,
            invalid_target(),
            "{client}"
        );
        assert_eq!(
            chosen(&app, client, &["a1"], Some("a2")).await,
            invalid_target(),
            "{client}"
        );
    }
}

#[tokio::test]
async fn rewrite_maps_the_tokens_audience_to_the_emitted_one() {
    let app = spawn_app().await;
    let zitadel = [
        "295633918734829312",
        "295634102486564608@bookstack",
        "x@grafana",
        "y@wiki",
        "z@api",
    ];

    assert_eq!(
        chosen(&app, "rewriter", &zitadel, None).await,
        Ok("bookstack".into())
    );
    assert_eq!(
        chosen(&app, "rewriter", &["bookstack"], None).await,
        invalid_target(),
        "the output value is not an input audience"
    );
}

#[tokio::test]
async fn a_single_string_aud_is_taken_as_one_value() {
    let app = spawn_app().await;
    let token = app.id_token(json!("a2"), json!({}));

    let answer = app.exchange("first", &token, &[]).await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(decode(answer.token()).1["aud"], "a2");
}
