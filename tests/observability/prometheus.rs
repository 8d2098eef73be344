//! A real Prometheus on loopback scraping a running tokenbridge during exchanges, and promtool's
//! linter on a scrape.

use std::collections::BTreeSet;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokenbridge::clock::rfc3339;

use crate::helpers::{
    self, Options, TestApp, default_policy, fixture_keys, fixture_keys_section, free_port, send,
    spawn_app_with,
};
use crate::scrape::{promtool_check_metrics, sample_names};
use crate::{
    RULES, alert_rules, as_prometheus_gets_it, dashboard, dashboard_targets, metric_names, repo,
};

/// A Prometheus on a loopback port that scrapes one tokenbridge every second and evaluates the
/// shipped alert rules; killed when dropped, whatever the test did.
struct Prometheus {
    child: Child,
    port: u16,
    http: reqwest::Client,
    dir: TempDir,
}

impl Prometheus {
    fn scraping(target_port: u16) -> Prometheus {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let config = dir.path().join("prometheus.yml");
        std::fs::write(
            &config,
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n\
                 rule_files:\n  - {rules}\n\
                 scrape_configs:\n  - job_name: tokenbridge\n    static_configs:\n      - targets: [\"127.0.0.1:{target_port}\"]\n",
                rules = repo().join(RULES).display(),
            ),
        )
        .unwrap();
        let log = std::fs::File::create(dir.path().join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|err| {
                panic!("cannot start prometheus (Debian's prometheus package): {err}")
            });
        Prometheus {
            child,
            port,
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(2))
                .build()
                .unwrap(),
            dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// `/api/v1/{path}`'s `data`, or None while Prometheus doesn't answer with success.
    async fn api(&self, path: &str, query: &[(&str, &str)]) -> Option<Value> {
        let url = format!("http://127.0.0.1:{}/api/v1/{path}", self.port);
        // The query endpoints take their parameters as a form too; the others are GET only.
        let request = if query.is_empty() {
            self.http.get(url)
        } else {
            self.http.post(url).form(query)
        };
        let response = request.send().await.ok()?;
        let body: Value = response.json().await.ok()?;
        (body["status"] == "success").then(|| body["data"].clone())
    }

    /// The value of an instant query that yields one sample.
    async fn value(&self, promql: &str) -> Option<f64> {
        let data = self.api("query", &[("query", promql)]).await?;
        let results = data["result"].as_array()?;
        match results.as_slice() {
            [only] => only["value"][1].as_str()?.parse().ok(),
            _ => None,
        }
    }

    /// Waits, up to 20 seconds, until every query of `wanted` has its value; panics with what
    /// Prometheus said last if one hasn't.
    async fn wait_for(&mut self, wanted: &[(&str, f64)]) {
        let clock = tokenbridge::clock::SystemClock::shared();
        let deadline = clock.monotonic() + Duration::from_secs(20);
        let mut last = Vec::new();
        for _ in 0..80 {
            if clock.monotonic() > deadline {
                break;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("prometheus exited: {status}\n{}", self.log());
            }
            last.clear();
            for (promql, _) in wanted {
                last.push(self.value(promql).await);
            }
            if wanted
                .iter()
                .zip(&last)
                .all(|((_, value), got)| *got == Some(*value))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        panic!(
            "Prometheus never said {wanted:?}; last: {last:?}\n--- prometheus log\n{}",
            self.log()
        );
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The default test app with the telemetry listener, a front for "app", and a next signing key
/// (activates in a day, retires in 30), so that the scrape has every family the rules and the
/// dashboard read.
async fn app_with_telemetry() -> TestApp {
    let at = |days: i64| rfc3339::format(helpers::now() + days * 86400);
    spawn_app_with(Options {
        limits: "[telemetry]\nlisten = \"127.0.0.1:0\"\n".into(),
        keys: Some(format!(
            "{}\n[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"successor\"\nactivate_at = \"{}\"\nretire_at = \"{}\"\n",
            fixture_keys_section(),
            fixture_keys().join("signing-PS256.pem").display(),
            at(1),
            at(30),
        )),
        policy: format!(
            "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
            default_policy()
        ),
        ..Options::default()
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scraping_tokenbridge_counts_the_exchanges_it_saw() {
    let app = app_with_telemetry().await;
    let mut prometheus = Prometheus::scraping(app.telemetry_port.unwrap());
    // Scraped once before anything happened, so the counters' rise is what Prometheus sees.
    prometheus
        .wait_for(&[(r#"up{job="tokenbridge"}"#, 1.0)])
        .await;

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

    // A client over its rate limit (burst 2), a front's discovery and a code the IdP refuses.
    for _ in 0..2 {
        assert_eq!(app.exchange("limited", &good, &[]).await.status, 200);
    }
    app.exchange("limited", &good, &[])
        .await
        .assert_refused(429, "slow_down");
    let discovery = app
        .http
        .get(app.url("/front/app/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap();
    assert_eq!(discovery.status(), 200);
    let refused = send(
        app.http
            .post(app.url("/front/app/token"))
            .basic_auth("app", Some(helpers::secret_of("app")))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", "a-code-the-idp-never-issued"),
                ("redirect_uri", "https://app.example/callback"),
            ]),
    )
    .await;
    assert_eq!(refused.status, 400, "{}", refused.body);

    prometheus
        .wait_for(&[
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", outcome="issued"})"#,
                7.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", outcome="refused", error="invalid_target"})"#,
                3.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="app", upstream="idp"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_duration_seconds_count{job="tokenbridge", client="app"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_duration_seconds_bucket{job="tokenbridge", client="app", le="+Inf"})"#,
                10.0,
            ),
            (
                r#"sum(tokenbridge_exchange_step_duration_seconds_count{job="tokenbridge", step="verify"})"#,
                12.0,
            ),
            (
                r#"sum(tokenbridge_exchange_step_duration_seconds_count{job="tokenbridge", step="sign"})"#,
                9.0,
            ),
            (
                r#"sum(tokenbridge_rate_limited_total{job="tokenbridge", client="limited"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_exchanges_total{job="tokenbridge", client="limited", outcome="refused", error="slow_down"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_front_requests_total{job="tokenbridge", front="app", endpoint="discovery", outcome="ok"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_front_idp_responses_total{job="tokenbridge", front="app", endpoint="token", class="4xx"})"#,
                1.0,
            ),
            (
                r#"sum(tokenbridge_key_info{job="tokenbridge", kid="successor", use="sig", state="next"})"#,
                1.0,
            ),
        ])
        .await;
    // The exchanges took time, and less than the largest finite bucket.
    let p99 = prometheus
        .value(r#"histogram_quantile(0.99, sum by (le) (tokenbridge_exchange_duration_seconds_bucket{client="app"}))"#)
        .await
        .unwrap();
    assert!(p99 > 0.0 && p99.is_finite(), "p99 {p99}");

    // Prometheus loaded the shipped rules and evaluates every one of them without an error.
    let mut rules = Vec::new();
    for _ in 0..20 {
        let groups = prometheus.api("rules", &[]).await.unwrap();
        rules = groups["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|group| group["rules"].as_array().unwrap().clone())
            .collect();
        if rules.iter().all(|rule| rule["health"] == "ok") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(rules.len(), alert_rules().len());
    for rule in &rules {
        assert_eq!(rule["health"], "ok", "{rule}");
    }
    // One thing is wrong with this instance: the default config's upstream "other" is a closed
    // port, so it has no keys and every refresh of it fails. Its alerts are pending (they fire
    // after their for:), and no other alert is.
    let summary = |alerts: &Value| -> Vec<(String, String, String)> {
        alerts
            .as_array()
            .unwrap()
            .iter()
            .map(|alert| {
                let label = |name: &str| alert["labels"][name].as_str().unwrap_or("").to_owned();
                (
                    label("alertname"),
                    label("upstream"),
                    alert["state"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let no_keys = ("TokenbridgeUpstreamHasNoKeys", "other", "pending");
    let mut alerts = Vec::new();
    for _ in 0..20 {
        alerts = summary(&prometheus.api("alerts", &[]).await.unwrap()["alerts"]);
        if alerts.iter().any(|(name, upstream, state)| {
            (name.as_str(), upstream.as_str(), state.as_str()) == no_keys
        }) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(
        alerts.iter().any(|(name, upstream, state)| (
            name.as_str(),
            upstream.as_str(),
            state.as_str()
        ) == no_keys),
        "{alerts:?}"
    );
    for (name, upstream, state) in &alerts {
        assert!(
            [
                "TokenbridgeUpstreamHasNoKeys",
                "TokenbridgeUpstreamKeyRefreshesFailing"
            ]
            .contains(&name.as_str())
                && upstream == "other"
                && state == "pending",
            "an alert nothing here caused: {alerts:?}"
        );
    }

    // Every dashboard query runs on the live data.
    for (title, target) in dashboard_targets(&dashboard()) {
        let promql = as_prometheus_gets_it(target["expr"].as_str().unwrap());
        assert!(
            prometheus
                .api("query", &[("query", &promql)])
                .await
                .is_some(),
            "{title}: Prometheus refuses {promql}"
        );
    }
    drop(prometheus);

    // promtool's linter takes a scrape as tokenbridge serves it.
    // The Prometheus text format, which promtool lints.
    let (_, text) = app.scrape_metrics(None).await;
    let problems = promtool_check_metrics(&text);
    assert!(
        problems.is_empty(),
        "promtool check metrics: {problems:?}\n--- scrape\n{text}"
    );

    // And it has every metric the rules and the dashboard read.
    let served = sample_names(&text);
    let mut read = BTreeSet::new();
    for rule in alert_rules() {
        read.extend(metric_names(rule["expr"].as_str().unwrap()));
    }
    for (_, target) in dashboard_targets(&dashboard()) {
        read.extend(metric_names(target["expr"].as_str().unwrap()));
    }
    read.remove("up");
    let missing: Vec<&String> = read.difference(&served).collect();
    assert!(missing.is_empty(), "not in the scrape: {missing:?}\n{text}");
}
