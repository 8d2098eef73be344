//! Exactly one `Authorization` header: two are refused with `invalid_request`, never resolved by
//! taking one of them, on `/exchange` and on the fronts that forward it.

use reqwest::header::AUTHORIZATION;
use serde_json::json;

use crate::helpers::*;

fn basic(client: &str, secret: &str) -> String {
    let pair = format!("{client}:{secret}");
    format!(
        "Basic {}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, pair)
    )
}

#[tokio::test]
async fn exchange_refuses_two_authorization_headers_with_invalid_request_not_invalid_client() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));
    let form = [
        ("grant_type", GRANT),
        ("subject_token", token.as_str()),
        ("subject_token_type", ID_TOKEN),
    ];
    let good = basic("app", &secret_of("app"));
    let pairs = [
        (good.clone(), good.clone()),
        (good.clone(), basic("app", "wrong-guess-0123456789")),
        (basic("app", "wrong-guess-0123456789"), good.clone()),
        (good.clone(), "Bearer opaque".to_owned()),
    ];

    for (first, second) in pairs {
        let answer = send(
            app.http
                .post(app.url("/exchange"))
                .header(AUTHORIZATION, &first)
                .header(AUTHORIZATION, &second)
                .form(&form),
        )
        .await;

        answer.assert_refused(400, "invalid_request");
        assert!(answer.headers.get("www-authenticate").is_none());
    }
    let one = send(
        app.http
            .post(app.url("/exchange"))
            .header(AUTHORIZATION, &good)
            .form(&form),
    )
    .await;
    assert_eq!(one.status, 200, "{}", one.body);
}

#[tokio::test]
async fn the_fronts_refuse_two_authorization_headers_before_forwarding_anything() {
    let app = spawn_app_with(Options {
        policy: format!(
            "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
            default_policy()
        ),
        ..Options::default()
    })
    .await;
    let rp = basic("app", "the-rps-own-secret");

    let token = send(
        app.http
            .post(app.url("/front/app/token"))
            .header(AUTHORIZATION, &rp)
            .header(AUTHORIZATION, basic("other", "the-rps-own-secret"))
            .form(&[("grant_type", "authorization_code"), ("code", "c0de")]),
    )
    .await;
    let userinfo_get = send(
        app.http
            .get(app.url("/front/app/userinfo"))
            .header(AUTHORIZATION, "Bearer one")
            .header(AUTHORIZATION, "Bearer two"),
    )
    .await;
    let userinfo_post = send(
        app.http
            .post(app.url("/front/app/userinfo"))
            .header(AUTHORIZATION, "Bearer one")
            .header(AUTHORIZATION, "Bearer two")
            .form(&[("access_token", "three")]),
    )
    .await;

    token.assert_refused(400, "invalid_request");
    userinfo_get.assert_refused(400, "invalid_request");
    userinfo_post.assert_refused(400, "invalid_request");
    assert!(
        app.idp.last_token_request().is_none(),
        "nothing was forwarded to the IdP"
    );
    let one = send(
        app.http
            .post(app.url("/front/app/token"))
            .header(AUTHORIZATION, &rp)
            .form(&[("grant_type", "authorization_code"), ("code", "c0de")]),
    )
    .await;
    assert_eq!(
        app.idp
            .last_token_request()
            .map(|(_, authorization)| authorization),
        Some(Some(rp)),
        "one header is forwarded as it was ({})",
        one.body
    );
}
