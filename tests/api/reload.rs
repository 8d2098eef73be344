//! Live reload in process: a good reload swaps in the new config at once and keeps what it left
//! alone (the upstream's cached keys, a client's rate-limit bucket); a bad one changes nothing
//! but the reload status, and the log names every problem.

use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

/// The demo IdP as upstream "idp" (with `upstream_extra` lines), and a client per entry: its id
/// (audience: "app") and extra lines.
fn policy(upstream_extra: &str, clients: &[(&str, &str)]) -> String {
    let mut text = format!(
        "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\n{upstream_extra}\n\n"
    );
    for (id, extra) in clients {
        text.push_str(&format!(
            "[[client]]\nid = \"{id}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n{extra}\n\n",
            digest(id)
        ));
    }
    text
}

async fn app_with(policy: String) -> TestApp {
    spawn_app_with(Options {
        policy,
        ..Options::default()
    })
    .await
}

#[tokio::test]
async fn a_client_added_by_a_reload_exchanges_at_once_and_the_unchanged_upstream_is_not_refetched()
{
    let app = app_with(policy("", &[("app", "")])).await;
    let token = app.id_token(json!("app"), json!({}));
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
    assert_eq!(app.exchange("added", &token, &[]).await.status, 401);
    let fetches = (app.idp.discovery_requests(), app.idp.jwks_requests());

    // A new client, and a leeway change, which applies to tokens and not to how keys are found.
    app.write_policy(&policy("leeway = \"30s\"", &[("app", ""), ("added", "")]));
    let summary = app.reloader.reload().await.unwrap();

    assert_eq!(summary.clients.added, ["added"]);
    assert!(summary.upstreams.changed == ["idp"] && summary.upstreams.added.is_empty());
    assert_eq!(app.exchange("added", &token, &[]).await.status, 200);
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
    assert_eq!(
        (app.idp.discovery_requests(), app.idp.jwks_requests()),
        fetches,
        "an upstream whose fetch settings did not change keeps its discovery and keys"
    );
    assert!(
        captured_logs()
            .lines()
            .any(|line| line.contains("reloaded the config") && line.contains("clients: +added"))
    );
}

#[tokio::test]
async fn an_upstream_whose_fetch_settings_change_fetches_its_keys_again_before_it_serves() {
    let app = app_with(policy("", &[("app", "")])).await;
    let jwks_fetches = app.idp.jwks_requests();

    app.write_policy(&policy("fetch_timeout = \"3s\"", &[("app", "")]));
    app.reloader.reload().await.unwrap();

    assert_eq!(app.idp.jwks_requests(), jwks_fetches + 1);
    let token = app.id_token(json!("app"), json!({}));
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
}

#[tokio::test]
async fn a_changed_secret_is_the_only_one_accepted_after_the_reload() {
    let app = app_with(policy("", &[("app", ""), ("other", "")])).await;
    let token = app.id_token(json!("app"), json!({}));
    let other = digest("other");

    // "app" now has "other"'s secret.
    let changed = policy("", &[("other", "")]).replace(
        "[[client]]",
        &format!(
            "[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{other}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n\n[[client]]"
        ),
    );
    app.write_policy(&changed);
    let summary = app.reloader.reload().await.unwrap();

    assert_eq!(summary.clients.changed, ["app"]);
    assert_eq!(app.exchange("app", &token, &[]).await.status, 401);
    let answer = send(
        app.http
            .post(app.url("/exchange"))
            .basic_auth("app", Some(secret_of("other")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token.as_str()),
                ("subject_token_type", ID_TOKEN),
            ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

#[tokio::test]
async fn an_unchanged_client_keeps_its_rate_limit_bucket_across_a_reload() {
    let limited = "rate_limit = { per_second = 0.01, burst = 2 }";
    let app = app_with(policy("", &[("app", limited)])).await;
    let token = app.id_token(json!("app"), json!({}));
    for _ in 0..2 {
        assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
    }
    app.exchange("app", &token, &[])
        .await
        .assert_refused(429, "slow_down");

    app.write_policy(&policy("", &[("app", limited), ("added", "")]));
    app.reloader.reload().await.unwrap();

    app.exchange("app", &token, &[])
        .await
        .assert_refused(429, "slow_down");
    // A changed limit is a new bucket.
    app.write_policy(&policy(
        "",
        &[("app", "rate_limit = { per_second = 0.01, burst = 3 }")],
    ));
    app.reloader.reload().await.unwrap();
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
}

#[tokio::test]
async fn a_reload_forgets_no_failed_authentication() {
    let app = spawn_app_with(Options {
        policy: policy("", &[("app", "")]),
        limits: "[limits]\nfailed_auth = { per_second = 0.01, burst = 2 }\n".into(),
        ..Options::default()
    })
    .await;
    let token = app.id_token(json!("app"), json!({}));
    let guess = || {
        send(
            app.http
                .post(app.url("/exchange"))
                .basic_auth("app", Some("wrong-guess-0123456789"))
                .form(&[
                    ("grant_type", GRANT),
                    ("subject_token", token.as_str()),
                    ("subject_token_type", ID_TOKEN),
                ]),
        )
    };
    for _ in 0..2 {
        guess().await.assert_refused(401, "invalid_client");
    }

    app.write_policy(&policy("", &[("app", ""), ("added", "")]));
    app.reloader.reload().await.unwrap();

    guess().await.assert_refused(429, "slow_down");
}

/// A request takes the state once, when it starts: one whose body is still arriving when a reload
/// removes its client finishes as the config that was current at its start says.
#[tokio::test]
async fn a_request_in_flight_during_a_reload_finishes_on_the_state_it_started_with() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = app_with(policy("", &[("app", ""), ("other", "")])).await;
    let token = app.id_token(json!("app"), json!({}));
    let body = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", GRANT)
        .append_pair("subject_token", &token)
        .append_pair("subject_token_type", ID_TOKEN)
        .finish();
    let basic = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("app:{}", secret_of("app")),
    );
    let mut stream = tokio::net::TcpStream::connect(app.base.trim_start_matches("http://"))
        .await
        .unwrap();
    let (first, rest) = body.split_at(body.len() / 2);
    stream
        .write_all(
            format!(
                "POST /exchange HTTP/1.1\r\nhost: tokenbridge\r\nauthorization: Basic {basic}\r\ncontent-type: application/x-www-form-urlencoded\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{first}",
                body.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;

    app.write_policy(&policy("", &[("other", "")]));
    app.reloader.reload().await.unwrap();
    stream.write_all(rest.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_string(&mut answer))
        .await
        .unwrap()
        .unwrap();

    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        app.exchange("app", &token, &[]).await.status,
        401,
        "a request after the reload sees the client gone"
    );
}

#[tokio::test]
async fn a_broken_config_leaves_the_old_one_serving_logs_every_problem_and_readyz_shows_it() {
    let app = app_with(policy("", &[("app", "")])).await;
    let token = app.id_token(json!("app"), json!({}));

    let broken = policy("", &[("app", "max_ttl = \"soon\""), ("added", "")]).replace(
        "danger_allow_http = true",
        "danger_allow_http = true\ncolour = \"red\"",
    );
    app.write_policy(&broken);
    let errors = app.reloader.reload().await.unwrap_err();

    let keys: Vec<&str> = errors
        .0
        .iter()
        .map(|problem| problem.key.as_str())
        .collect();
    assert!(keys.iter().any(|key| key.contains("max_ttl")), "{keys:?}");
    assert!(keys.iter().any(|key| key.contains("upstream")), "{keys:?}");
    let logs = captured_logs();
    for key in &keys {
        let logged = format!("key={:?}", key);
        assert!(
            logs.lines()
                .any(|line| line.contains("reload refused") && line.contains(&logged)),
            "the log names {key}"
        );
    }
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
    assert_eq!(app.exchange("added", &token, &[]).await.status, 401);
    let ready = app.http.get(app.url("/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        200,
        "a refused reload leaves the instance ready"
    );
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(ready["reload"]["status"], "failed");
    assert_eq!(ready["reload"]["failures"], 1);
    assert_eq!(ready["reload"]["generation"], 0);
    assert_eq!(ready["reload"]["last_failure"]["keys"], json!(keys));

    app.write_policy(&policy("", &[("app", ""), ("added", "")]));
    app.reloader.reload().await.unwrap();
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["reload"]["status"], "ok");
    assert_eq!(ready["reload"]["generation"], 1);
    assert!(ready["reload"].get("last_failure").is_none());
    assert_eq!(app.exchange("added", &token, &[]).await.status, 200);
}

#[tokio::test]
async fn a_changed_listen_address_is_reported_as_needing_a_restart() {
    let app = app_with(policy("", &[("app", "")])).await;
    let text = std::fs::read_to_string(&app.config_path).unwrap();
    std::fs::write(
        &app.config_path,
        text.replace("listen = \"127.0.0.1:0\"", "listen = \"127.0.0.1:1\""),
    )
    .unwrap();

    let summary = app.reloader.reload().await.unwrap();

    assert_eq!(summary.needs_restart, ["listen"]);
    let ready = app.get_json("/readyz").await;
    assert_eq!(ready["reload"]["needs_restart"], json!(["listen"]));
    assert!(captured_logs().lines().any(|line| line.contains("WARN")
        && line.contains("listen changed: it takes effect only after a restart")));
    let token = app.id_token(json!("app"), json!({}));
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);
}

/// The watch, as Kubernetes drives it: the config file is a symlink through `..data`, and an
/// update swaps `..data` to a new directory.
#[tokio::test]
async fn a_config_replaced_through_a_symlink_swap_is_reloaded_by_the_watch() {
    let watched = |clients: &[(&str, &str)]| {
        format!(
            "{}\n[reload]\npoll_interval = \"100ms\"\n",
            policy("", clients)
        )
    };
    let app = app_with(watched(&[("app", "")])).await;
    let token = app.id_token(json!("app"), json!({}));
    let mount = |name: &str, clients: &[(&str, &str)]| {
        let dir = app.dir().join(name);
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(dir.join("config.toml"), app.policy_text(&watched(clients))).unwrap();
        dir
    };
    let first = mount("..2026_12_03_first", &[("app", "")]);
    let second = mount("..2026_12_03_second", &[("app", ""), ("added", "")]);
    let data = app.dir().join("..data");
    std::os::unix::fs::symlink(&first, &data).unwrap();
    let link = app.dir().join("config.toml.link");
    std::os::unix::fs::symlink("..data/config.toml", &link).unwrap();
    std::fs::rename(&link, &app.config_path).unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.get_json("/readyz").await["reload"]["generation"],
        0,
        "the same content through a symlink is no change"
    );

    let swap = app.dir().join("..data_tmp");
    std::os::unix::fs::symlink(&second, &swap).unwrap();
    std::fs::rename(&swap, &data).unwrap();

    assert!(wait_for_generation(&app, 1).await, "the swap is picked up");
    assert_eq!(app.exchange("added", &token, &[]).await.status, 200);
}

#[tokio::test]
async fn a_changed_secret_file_is_reloaded_by_the_watch() {
    let secrets = tempfile::TempDir::new().unwrap();
    let secret_file = secrets.path().join("app.secret");
    std::fs::write(&secret_file, format!("{}\n", secret_of("app"))).unwrap();
    let app = app_with(format!(
        "{}\n[reload]\npoll_interval = \"100ms\"\n",
        policy("", &[("app", "")]).replace(
            &format!("{{ sha256 = \"{}\" }}", digest("app")),
            &format!("{{ file = \"{}\" }}", secret_file.display()),
        )
    ))
    .await;
    let token = app.id_token(json!("app"), json!({}));
    assert_eq!(app.exchange("app", &token, &[]).await.status, 200);

    std::fs::write(&secret_file, secret_of("other")).unwrap();

    assert!(
        wait_for_generation(&app, 1).await,
        "the secret file is watched"
    );
    assert_eq!(app.exchange("app", &token, &[]).await.status, 401);
}

/// Waits (at most 5 s) until the reload generation reaches `generation`.
async fn wait_for_generation(app: &TestApp, generation: u64) -> bool {
    for _ in 0..100 {
        if app.get_json("/readyz").await["reload"]["generation"] == generation {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Step 2 of the rotation runbook without a restart: the next key is published by a reload, the
/// summary says so, and the schedule is warned about for that key only (the keys already
/// published were warned about when they were).
#[tokio::test]
async fn a_key_published_by_a_reload_is_summed_up_and_its_early_activation_warned_about() {
    let keys = |next: &str| {
        format!(
            "[keys]\ndir = \"{{dir}}\"\n{}{next}",
            fixture_signing_keys()
        )
    };
    let soon = tokenbridge::clock::rfc3339::format(now() + 600);
    let early = format!(
        "[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"reloaded-early\"\nactivate_at = \"{soon}\"\n\n",
        fixture_keys().join("signing-PS256.pem").display()
    );
    let upstream = "[[upstream]]\nname = \"op\"\nissuer = \"https://127.0.0.1:1\"\n";
    let service = Service::start(&format!("{}{upstream}", keys(""))).await;

    std::fs::write(
        &service.config_path,
        service.config_text(&format!("{}{upstream}", keys(&early))),
    )
    .unwrap();
    let summary = service.reloader.reload().await.unwrap();

    assert_eq!(summary.keys.added, ["reloaded-early (sig): next"]);
    let jwks = service.get_json("/.well-known/jwks.json").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|key| key["kid"] == "reloaded-early")
    );
    let warned = |kid: &str| {
        captured_logs()
            .lines()
            .filter(|line| line.contains(&format!("key {kid} activates at")))
            .count()
    };
    assert_eq!(warned("reloaded-early"), 1);

    // Reloaded again unchanged: the key is no longer new, so it is not warned about again.
    service.reloader.reload().await.unwrap();
    assert_eq!(warned("reloaded-early"), 1);
}

/// Kubernetes may update a ConfigMap before the Secret holding the key file it names: the
/// refused reload watches that file, and its arrival reloads.
#[tokio::test]
async fn a_key_file_that_arrives_after_the_config_naming_it_is_reloaded_by_the_watch() {
    let keys = |extra: &str| {
        format!(
            "[keys]\ndir = \"{{dir}}\"\n{}{extra}\n[reload]\npoll_interval = \"100ms\"\n\n[[upstream]]\nname = \"op\"\nissuer = \"https://127.0.0.1:1\"\n",
            fixture_signing_keys()
        )
    };
    let service = Service::start(&keys("")).await;
    let late = service.dir().join("late.pem");
    let named = format!(
        "[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"arrived-late\"\n",
        late.display()
    );

    std::fs::write(&service.config_path, service.config_text(&keys(&named))).unwrap();
    let mut refused = false;
    for _ in 0..100 {
        let reload = service.get_json("/readyz").await["reload"].clone();
        if reload["failures"] == 1 {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(refused, "the config naming a missing file is refused");
    std::fs::copy(fixture_keys().join("signing-PS256.pem"), &late).unwrap();

    let mut reloaded = false;
    for _ in 0..100 {
        if service.get_json("/readyz").await["reload"]["generation"] == 1 {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "the file's arrival retried the reload");
    let jwks = service.get_json("/.well-known/jwks.json").await;
    assert!(
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|key| key["kid"] == "arrived-late")
    );
}
