//! `/metrics` as an operator reads it: on the telemetry listener only, counting what happened by
//! the config's names, and never with a label value a caller or a token chose.

use serde_json::json;

use crate::helpers::*;

async fn app_with_telemetry(policy: Option<String>) -> TestApp {
    spawn_app_with(Options {
        limits: TELEMETRY_LISTENER.into(),
        policy: policy.unwrap_or_else(default_policy),
        ..Options::default()
    })
    .await
}

/// A scrape as Prometheus asks for it: OpenMetrics.
async fn scrape(app: &TestApp) -> String {
    let (content_type, text) = app
        .scrape_metrics(Some(
            "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5",
        ))
        .await;
    assert!(content_type.starts_with("application/openmetrics-text"));
    text
}

#[tokio::test]
async fn exchanges_are_counted_by_client_upstream_outcome_and_error_on_the_telemetry_port_only() {
    let app = app_with_telemetry(None).await;
    let good = app.id_token(json!("app"), json!({}));
    let elsewhere = app.id_token(json!("somebody-else"), json!({}));
    for _ in 0..7 {
        assert_eq!(app.exchange("app", &good, &[]).await.status, 200);
    }
    for _ in 0..3 {
        app.exchange("app", &elsewhere, &[])
            .await
            .assert_refused(400, "invalid_target");
    }
    let wrong_secret = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some("not-the-secret-0123456789"))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", good.as_str()),
                ("subject_token_type", ID_TOKEN),
            ]),
    )
    .await;
    wrong_secret.assert_refused(401, "invalid_client");

    let text = scrape(&app).await;

    let exchanges = |client: &str, upstream: &str, outcome: &str, error: &str| {
        metric_sample(
            &text,
            &format!(
                "tokenbridge_exchanges_total{{client=\"{client}\",upstream=\"{upstream}\",outcome=\"{outcome}\",error=\"{error}\"}}"
            ),
        )
    };
    assert_eq!(exchanges("app", "idp", "issued", ""), Some(7.0), "{text}");
    assert_eq!(
        exchanges("app", "idp", "refused", "invalid_target"),
        Some(3.0)
    );
    assert_eq!(exchanges("", "", "refused", "invalid_client"), Some(1.0));
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_exchange_duration_seconds_count{client=\"app\",outcome=\"issued\"}"
        ),
        Some(7.0)
    );
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_exchange_step_duration_seconds_count{step=\"verify\"}"
        ),
        Some(10.0)
    );
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_exchange_step_duration_seconds_count{step=\"sign\"}"
        ),
        Some(7.0)
    );
    assert_eq!(
        metric_sample(&text, "tokenbridge_failed_authentications_total"),
        Some(1.0)
    );
    assert!(
        metric_sample(&text, "tokenbridge_upstream_keys{upstream=\"idp\"}")
            .is_some_and(|keys| keys > 0.0)
    );
    assert!(
        metric_sample(
            &text,
            "tokenbridge_upstream_keys_age_seconds{upstream=\"idp\"}"
        )
        .is_some()
    );
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_upstream_key_refreshes_total{upstream=\"idp\",result=\"ok\"}"
        ),
        Some(1.0)
    );
    assert!(text.contains("tokenbridge_build_info{version=\""));
    assert!(metric_sample(&text, "process_resident_memory_bytes").is_some_and(|bytes| bytes > 0.0));
    assert!(metric_sample(&text, "process_open_fds").is_some_and(|fds| fds > 0.0));
    assert!(metric_sample(&text, "process_cpu_seconds_total").is_some());
    assert!(text.ends_with("# EOF\n"));

    // Without OpenMetrics in Accept (promtool, curl): the Prometheus text format.
    let (content_type, classic) = app.scrape_metrics(None).await;
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    assert!(classic.contains("# TYPE tokenbridge_exchanges_total counter"));
    assert_eq!(
        metric_sample(
            &classic,
            "tokenbridge_exchanges_total{client=\"app\",upstream=\"idp\",outcome=\"issued\",error=\"\"}"
        ),
        Some(7.0)
    );
    assert!(!classic.contains("# EOF"));

    let port = app.telemetry_port.unwrap();
    let main_port = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(
        main_port.status(),
        404,
        "not on the main port unless configured"
    );
    let ready = app
        .http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        ready.status().as_u16(),
        app.ready_status().await,
        "the probes are on the telemetry port too"
    );
    let exchange = app
        .http
        .post(format!("http://127.0.0.1:{port}/exchange"))
        .send()
        .await
        .unwrap();
    assert_eq!(exchange.status(), 404, "nothing a client calls is on it");
}

#[tokio::test]
async fn our_keys_and_the_reloads_are_in_the_scrape() {
    let app = app_with_telemetry(None).await;
    let text = scrape(&app).await;
    let jwks = app.get_json("/.well-known/jwks.json").await;
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let alg = jwks["keys"][0]["alg"].as_str().unwrap();
    assert_eq!(
        metric_sample(
            &text,
            &format!(
                "tokenbridge_key_info{{kid=\"{kid}\",alg=\"{alg}\",use=\"sig\",state=\"active\"}}"
            )
        ),
        Some(1.0),
        "{text}"
    );
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_signing_active_until_timestamp_seconds{alg=\"RS256\"}"
        ),
        Some(f64::INFINITY)
    );
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_config_reloads_total{result=\"success\"}"
        ),
        Some(0.0)
    );
    assert_eq!(
        metric_sample(&text, "tokenbridge_config_last_reload_failed"),
        Some(0.0)
    );

    std::fs::write(&app.config_path, "not toml [").unwrap();
    app.reloader.reload().await.unwrap_err();
    let text = scrape(&app).await;
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_config_reloads_total{result=\"failure\"}"
        ),
        Some(1.0)
    );
    assert_eq!(
        metric_sample(&text, "tokenbridge_config_last_reload_failed"),
        Some(1.0)
    );
}

/// Labels come only from the config: a token's claims, a presented client id, an unknown front
/// in the path and a request path never become a label value (or a new series).
#[tokio::test]
async fn no_label_value_comes_from_a_token_a_caller_or_a_path() {
    let app = app_with_telemetry(Some(format!(
        "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
        default_policy()
    )))
    .await;
    let hostile_round = |round: &'static str| {
        let app = &app;
        async move {
            let hostile = format!("evil{round}\\\"}}label{{x=\"1");
            let token = app.id_token(
                json!([hostile, "app"]),
                json!({"sub": hostile, "iss": format!("https://evil-issuer{round}.example"), "email": hostile}),
            );
            app.exchange("app", &token, &[]).await;
            let forged = app.id_token(json!(hostile), json!({"sub": hostile}));
            app.exchange("app", &forged, &[]).await;
            let presented = send(
                app.http
                    .post(app.url("/exchange"))
                    .basic_auth(
                        format!("evil-client-id{round}"),
                        Some("whatever-secret-0123456789"),
                    )
                    .form(&[
                        ("grant_type", GRANT),
                        ("subject_token", forged.as_str()),
                        ("subject_token_type", ID_TOKEN),
                    ]),
            )
            .await;
            presented.assert_refused(401, "invalid_client");
            for path in [
                format!("/front/evil-front-name{round}/token"),
                "/front/app/token".to_owned(),
                format!("/metrics-evil-path{round}"),
            ] {
                app.http.post(app.url(&path)).send().await.unwrap();
            }
        }
    };
    hostile_round("-1").await;
    let after_one_round = scrape(&app).await;
    hostile_round("-2").await;
    let text = scrape(&app).await;

    for chosen_by_caller in [
        "evil",
        "evil-issuer",
        "evil-client-id",
        "evil-front-name",
        "metrics-evil-path",
        "ada@example.com",
        "user-1",
    ] {
        assert!(
            !text.contains(chosen_by_caller),
            "{chosen_by_caller:?} reached the scrape:\n{text}"
        );
    }
    let is_configured = |client: &str| client.is_empty() || DEFAULT_CLIENTS.contains(&client);
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        if let Some(start) = line.find("client=\"") {
            let value = &line[start + 8..];
            let value = &value[..value.find('"').unwrap()];
            assert!(is_configured(value), "client label {value:?} in {line}");
        }
        if let Some(start) = line.find("front=\"") {
            let value = &line[start + 7..];
            let value = &value[..value.find('"').unwrap()];
            assert!(
                ["", "app"].contains(&value),
                "front label {value:?} in {line}"
            );
        }
    }
    assert_eq!(
        metric_sample(
            &text,
            "tokenbridge_front_requests_total{front=\"\",endpoint=\"token\",outcome=\"refused\"}"
        ),
        Some(2.0),
        "the unknown front is counted, without its name"
    );
    assert!(
        metric_sample(
            &text,
            "tokenbridge_front_requests_total{front=\"app\",endpoint=\"token\",outcome=\"refused\"}"
        )
        .is_some()
    );
    let series = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| line.rsplit_once(' ').map(|(series, _)| series.to_owned()))
            .filter(|series| !series.starts_with("process_"))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    };
    assert_eq!(
        series(&text),
        series(&after_one_round),
        "other hostile values made no new series"
    );
}

#[tokio::test]
async fn a_fronts_requests_and_the_idps_answers_are_counted_by_class() {
    let app = app_with_telemetry(Some(format!(
        "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\nfetch_timeout = \"1s\"\n\n\
         [[client]]\nid = \"bookstack\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"bookstack\"]\n\n\
         [[front]]\nclient = \"bookstack\"\nupstream = \"idp\"\n",
        digest("bookstack")
    )))
    .await;
    let token_request = || {
        send(
            app.http
                .post(app.url("/front/bookstack/token"))
                .basic_auth("bookstack", Some("the-rps-own-secret"))
                .header("content-type", "application/x-www-form-urlencoded")
                .body("grant_type=authorization_code&code=c0de&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb"),
        )
    };
    app.idp
        .answer_token(400, &json!({ "error": "invalid_grant" }));
    assert_eq!(token_request().await.status, 400);
    app.idp
        .answer_token(500, &json!({ "error": "server_error" }));
    token_request()
        .await
        .assert_refused(503, "temporarily_unavailable");
    app.idp.set_delay(std::time::Duration::from_millis(1500));
    token_request()
        .await
        .assert_refused(503, "temporarily_unavailable");

    let text = scrape(&app).await;

    let idp = |class: &str| {
        metric_sample(
            &text,
            &format!(
                "tokenbridge_front_idp_responses_total{{front=\"bookstack\",endpoint=\"token\",class=\"{class}\"}}"
            ),
        )
    };
    assert_eq!(idp("4xx"), Some(1.0), "{text}");
    assert_eq!(idp("5xx"), Some(1.0));
    assert_eq!(idp("timeout"), Some(1.0));
    let front = |outcome: &str| {
        metric_sample(
            &text,
            &format!(
                "tokenbridge_front_requests_total{{front=\"bookstack\",endpoint=\"token\",outcome=\"{outcome}\"}}"
            ),
        )
    };
    assert_eq!(front("ok"), Some(1.0), "the IdP's refusal is passed on");
    assert_eq!(front("upstream_error"), Some(2.0));
}
