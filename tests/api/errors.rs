//! Every row of the contract's error table, with the exact status and error code.

use std::time::Duration;

use serde_json::json;
use tokenbridge::demo::mint::encrypt;
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg};

use crate::helpers::*;

const GENERIC_TOKEN_REFUSAL: &str = "the subject token was refused";

#[tokio::test]
async fn a_missing_or_malformed_field_is_invalid_request() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));
    let post = |form: Vec<(&'static str, String)>| {
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&form)
    };
    let cases = [
        (
            "no subject_token",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token_type", ID_TOKEN.to_owned()),
            ],
        ),
        (
            "no subject_token_type",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", token.clone()),
            ],
        ),
        (
            "no grant_type in a form",
            vec![
                ("subject_token", token.clone()),
                ("subject_token_type", ID_TOKEN.to_owned()),
            ],
        ),
        (
            "unsupported token type",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", token.clone()),
                (
                    "subject_token_type",
                    "urn:ietf:params:oauth:token-type:saml2".to_owned(),
                ),
            ],
        ),
        (
            "unsupported requested type",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", token.clone()),
                ("subject_token_type", ID_TOKEN.to_owned()),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:refresh_token".to_owned(),
                ),
            ],
        ),
        (
            "duplicate field",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", token.clone()),
                ("subject_token", token.clone()),
                ("subject_token_type", ID_TOKEN.to_owned()),
            ],
        ),
        (
            "actor_token is not supported",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", token.clone()),
                ("subject_token_type", ID_TOKEN.to_owned()),
                ("actor_token", token.clone()),
                ("actor_token_type", ID_TOKEN.to_owned()),
            ],
        ),
        (
            "garbage subject token",
            vec![
                ("grant_type", GRANT.to_owned()),
                ("subject_token", "not.a.token".to_owned()),
                ("subject_token_type", ID_TOKEN.to_owned()),
            ],
        ),
    ];
    for (case, form) in cases {
        let answer = send(post(form)).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{case}: {}",
            answer.body
        );
    }
}

/// RFC 8693 §2.2.2 and RFC 6749 §5.2: a resource tokenbridge won't issue for is `invalid_target`,
/// a scope it won't grant `invalid_scope`; neither is ignored.
#[tokio::test]
async fn scope_is_invalid_scope_and_resource_is_invalid_target() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));
    for (field, value, error) in [
        ("scope", "openid", "invalid_scope"),
        ("resource", "https://api.example", "invalid_target"),
    ] {
        let answer = send(
            app.http
                .post(app.url("/exchange"))
                .basic_auth("app", Some(secret_of("app")))
                .form(&[
                    ("grant_type", GRANT),
                    ("subject_token", token.as_str()),
                    ("subject_token_type", ID_TOKEN),
                    (field, value),
                ]),
        )
        .await;
        answer.assert_refused(400, error);
    }
}

#[tokio::test]
async fn a_wrong_grant_type_is_unsupported_grant_type() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    let answer = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", "client_credentials"),
                ("subject_token", token.as_str()),
                ("subject_token_type", ID_TOKEN),
            ]),
    )
    .await;

    answer.assert_refused(400, "unsupported_grant_type");
}

#[tokio::test]
async fn every_crypto_failure_looks_the_same_to_the_caller() {
    let app = spawn_app().await;
    let good = app.id_token(json!("app"), json!({}));
    let recipient = app.encryption_key("RSA").await;
    // An RSA key that is not tokenbridge's.
    let someone_else = attacker_key().public_jwk().clone();
    let mut tampered_jwe = encrypt(
        &good,
        &recipient,
        JweAlg::RsaOaep256,
        JweEnc::A256Gcm,
        &json!({}),
    )
    .unwrap();
    tampered_jwe.replace_range(tampered_jwe.len() - 3.., "AAA");
    let bad_signature = {
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[2] = parts[2].chars().rev().collect();
        parts.join(".")
    };
    let cases = [
        ("tampered JWE tag", tampered_jwe),
        (
            "JWE to someone else's key",
            encrypt(
                &good,
                &someone_else,
                JweAlg::RsaOaep256,
                JweEnc::A256Gcm,
                &json!({}),
            )
            .unwrap(),
        ),
        ("bad signature", bad_signature),
        (
            "signed by a key not in the JWKS",
            app.id_token_signed(&attacker_key(), json!("app"), json!({})),
        ),
        (
            "unknown kid",
            idp_key(JwsAlg::RS256)
                .sign(
                    &app.claims(json!("app"), json!({})),
                    &json!({ "kid": "nobody" }),
                )
                .unwrap(),
        ),
    ];
    for (case, token) in cases {
        let answer = app.exchange("app", &token, &[]).await;
        answer.assert_refused(400, "invalid_request");
        assert_eq!(
            answer.body["error_description"], GENERIC_TOKEN_REFUSAL,
            "{case}"
        );
    }
}

/// The upstream's `leeway` when the config gives none.
const DEFAULT_LEEWAY: i64 = 60;

#[tokio::test]
async fn time_claims_are_checked_with_the_upstreams_leeway_to_the_second() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    let now = app.now();
    // Each with the reason the audit line must give: past its exp, a token is expired, within
    // the leeway or beyond it (the leeway never extends exp: nothing would be left to issue).
    let refused = [
        ("at its exp", json!({ "exp": now }), "expired at"),
        (
            "expired within the leeway",
            json!({ "exp": now - DEFAULT_LEEWAY + 1 }),
            "expired at",
        ),
        (
            "expired beyond leeway",
            json!({ "exp": now - DEFAULT_LEEWAY - 1 }),
            "expired at",
        ),
        (
            "not yet valid beyond leeway",
            json!({ "nbf": now + DEFAULT_LEEWAY + 1 }),
            "not valid before",
        ),
        (
            "issued in the future beyond leeway",
            json!({ "iat": now + DEFAULT_LEEWAY + 1 }),
            "issued in the future",
        ),
        ("no exp", json!({ "exp": null }), "claim exp is missing"),
        ("no sub", json!({ "sub": null }), "claim sub is missing"),
    ];
    for (case, extra, reason) in refused {
        let token = app.id_token(json!("app"), extra);
        let answer = app.exchange("app", &token, &[]).await;
        assert_eq!(
            (answer.status, answer.error()),
            (400, "invalid_request"),
            "{case}: {}",
            answer.body
        );
        let audit = audit_line_of(&token);
        assert!(
            audit.contains(&format!("subject token refused: {reason}")),
            "{case}: the audit line names the real reason: {audit}"
        );
    }
    let accepted = [
        ("a second before its exp", json!({ "exp": now + 1 })),
        (
            "valid from the end of the leeway",
            json!({ "nbf": now + DEFAULT_LEEWAY }),
        ),
        (
            "issued at the end of the leeway",
            json!({ "iat": now + DEFAULT_LEEWAY }),
        ),
    ];
    for (case, extra) in accepted {
        let answer = app
            .exchange("app", &app.id_token(json!("app"), extra), &[])
            .await;
        assert_eq!(answer.status, 200, "{case}: {}", answer.body);
    }
}

#[tokio::test]
async fn a_token_is_exchanged_until_the_second_of_its_exp_on_the_services_clock() {
    let app = spawn_app_with(Options {
        is_clock_manual: true,
        ..Options::default()
    })
    .await;
    let token = app.id_token(json!("app"), json!({ "exp": app.now() + 30 }));

    app.clock().advance(Duration::from_secs(29));
    let last_second = app.exchange("app", &token, &[]).await;
    app.clock().advance(Duration::from_secs(1));
    let at_exp = app.exchange("app", &token, &[]).await;

    assert_eq!(last_second.status, 200, "{}", last_second.body);
    assert_eq!(last_second.body["expires_in"], 1, "{}", last_second.body);
    at_exp.assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn a_token_from_an_untrusted_issuer_or_a_forbidden_upstream_is_refused() {
    let app = spawn_app().await;
    let untrusted = app.id_token(json!("app"), json!({ "iss": "https://evil.example" }));
    let trailing_slash = app.id_token(
        json!("app"),
        json!({ "iss": format!("{}/", app.idp.issuer()) }),
    );
    let from_idp = app.id_token(json!("app"), json!({}));

    for token in [&untrusted, &trailing_slash] {
        app.exchange("app", token, &[])
            .await
            .assert_refused(400, "invalid_request");
    }
    // "stranger" may only use the "other" upstream.
    app.exchange("stranger", &from_idp, &[])
        .await
        .assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn an_algorithm_the_upstream_does_not_allow_is_refused() {
    let policy = default_policy().replace(
        "algorithms = [\"RS256\", \"RS384\", \"RS512\", \"PS256\", \"PS384\", \"PS512\", \"ES256\", \"ES384\", \"ES512\", \"EdDSA\"]",
        "algorithms = [\"RS256\"]",
    );
    let app = spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await;
    let es256 = app.id_token_signed(&idp_key(JwsAlg::ES256), json!("app"), json!({}));
    let rs256 = app.id_token(json!("app"), json!({}));

    app.exchange("app", &es256, &[])
        .await
        .assert_refused(400, "invalid_request");
    assert_eq!(app.exchange("app", &rs256, &[]).await.status, 200);
}

#[tokio::test]
async fn no_choosable_audience_is_invalid_target() {
    let app = spawn_app().await;
    let token = app.id_token(json!(["someone-else"]), json!({}));
    let allowed = app.id_token(json!("app"), json!({}));

    app.exchange("app", &token, &[])
        .await
        .assert_refused(400, "invalid_target");
    app.exchange("app", &allowed, &[("audience", "not-allowed")])
        .await
        .assert_refused(400, "invalid_target");
}

#[tokio::test]
async fn an_unknown_client_or_a_wrong_secret_is_invalid_client_with_a_basic_challenge() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));
    let form = [
        ("grant_type", GRANT),
        ("subject_token", token.as_str()),
        ("subject_token_type", ID_TOKEN),
    ];

    let unknown = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("nobody", Some("whatever-secret-123"))
            .form(&form),
    )
    .await;
    let wrong = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some("wrong-secret-but-long"))
            .form(&form),
    )
    .await;
    let none = send(app.http.post(app.url("/exchange")).form(&form)).await;
    let both = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                form[0],
                form[1],
                form[2],
                ("client_id", "app"),
                ("client_secret", &secret_of("app")),
            ]),
    )
    .await;

    for (case, answer) in [("unknown", &unknown), ("wrong", &wrong), ("none", &none)] {
        answer.assert_refused(401, "invalid_client");
        let challenge = answer.headers["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Basic"), "{case}: {challenge}");
    }
    assert_eq!(
        unknown.body, wrong.body,
        "an unknown client and a wrong secret look the same"
    );
    assert!(
        matches!(both.status, 400 | 401),
        "two methods at once are refused: {}",
        both.body
    );
}

#[tokio::test]
async fn a_body_or_token_over_the_limit_is_413_invalid_request() {
    let app = spawn_app_with(Options {
        limits: "[limits]\nmax_body_bytes = 8192\nmax_token_bytes = 4096\n".into(),
        ..Options::default()
    })
    .await;
    let huge_body = "a".repeat(9000);
    let big_token = app.id_token(json!("app"), json!({ "padding": "p".repeat(5000) }));

    let body = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(huge_body),
    )
    .await;
    let token = app.exchange("app", &big_token, &[]).await;

    body.assert_refused(413, "invalid_request");
    token.assert_refused(413, "invalid_request");
}

#[tokio::test]
async fn too_many_requests_from_one_client_is_429_with_retry_after() {
    let app = spawn_app().await;
    let token = app.id_token(json!("app"), json!({}));

    // "limited" has a burst of 2 and refills once per 100 s.
    let first = app.exchange("limited", &token, &[]).await;
    let second = app.exchange("limited", &token, &[]).await;
    let third = app.exchange("limited", &token, &[]).await;
    let other_client = app.exchange("app", &token, &[]).await;

    assert_eq!((first.status, second.status), (200, 200));
    third.assert_refused(429, "slow_down");
    let retry_after: u64 = third.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    assert_eq!(other_client.status, 200, "the limit is per client");
}

#[tokio::test]
async fn other_methods_and_media_types_are_refused_cleanly() {
    let app = spawn_app().await;

    let get = send(app.http.get(app.url("/exchange"))).await;
    let text = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("app")))
            .header("content-type", "text/plain")
            .body("hello"),
    )
    .await;

    assert_eq!(get.status, 405);
    assert_eq!(get.headers["allow"], "POST");
    assert_eq!(get.error(), "invalid_request");
    text.assert_refused(400, "invalid_request");
}

#[tokio::test]
async fn every_endpoint_names_its_methods_when_called_with_another() {
    let app = spawn_app().await;
    let cases = [
        (reqwest::Method::POST, "/.well-known/jwks.json", "GET"),
        (
            reqwest::Method::DELETE,
            "/.well-known/encryption-keys.json",
            "GET",
        ),
        (
            reqwest::Method::PUT,
            "/.well-known/openid-configuration",
            "GET",
        ),
        (reqwest::Method::POST, "/encryption-key.pem", "GET"),
        (reqwest::Method::POST, "/healthz", "GET"),
        (reqwest::Method::PATCH, "/front/app/token", "POST"),
        (reqwest::Method::DELETE, "/front/app/userinfo", "GET, POST"),
    ];
    for (method, path, allow) in cases {
        let answer = send(app.http.request(method.clone(), app.url(path))).await;
        assert_eq!(answer.status, 405, "{method} {path}");
        assert_eq!(answer.headers["allow"], allow, "{method} {path}");
        assert_eq!(answer.error(), "invalid_request", "{method} {path}");
    }
}

/// The audit line of the exchange of `token`, found by its fingerprint.
fn audit_line_of(token: &str) -> String {
    let fingerprint = tokenbridge::telemetry::fingerprint(token);
    captured_logs()
        .lines()
        .find(|line| line.contains("tokenbridge::audit") && line.contains(&fingerprint))
        .unwrap_or_default()
        .to_owned()
}
