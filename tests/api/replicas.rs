//! What replicas need: no instance makes a key of its own (`keys.generate = false`).

use std::net::TcpListener;

use tokenbridge::app::App;
use tokenbridge::clock::SystemClock;

use crate::cli::tokenbridge;
use crate::helpers::*;

fn config(dir: &std::path::Path, with_front: bool) -> String {
    let mut text = format!(
        "issuer = \"https://tokenbridge.example.com\"\n\n[keys]\ndir = \"{}\"\ngenerate = false\n\n[[upstream]]\nname = \"op\"\nissuer = \"https://127.0.0.1:1\"\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"op\"]\naudiences = [\"app\"]\n",
        dir.join("keys").display(),
        digest("app")
    );
    if with_front {
        text.push_str("\n[[front]]\nclient = \"app\"\nupstream = \"op\"\n");
    }
    text
}

async fn start(path: &std::path::Path) -> Result<App, String> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    App::build_from_file_on(path, SystemClock::shared(), listener)
        .await
        .map_err(|err| err.to_string())
}

#[tokio::test]
async fn with_generate_false_a_missing_key_stops_the_start_and_check_and_nothing_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tokenbridge.toml");
    std::fs::write(&path, config(dir.path(), true)).unwrap();

    let refused = start(&path).await.err().expect("the start is refused");
    let checked = tokenbridge()
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();

    for missing in ["signing-RS256.pem", "decryption-rsa.pem"] {
        assert!(
            refused.contains("keys.generate") && refused.contains(missing),
            "{refused}"
        );
    }
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(!checked.status.success());
    assert!(
        stderr.contains("keys.generate: is false, and the signing key"),
        "{stderr}"
    );
    assert!(
        !dir.path().join("keys").exists(),
        "no key was generated, and no directory made"
    );

    // The shared files in place: the keys start; the front's state key is still missing.
    let keys = dir.path().join("keys");
    std::fs::create_dir(&keys).unwrap();
    for file in ["signing-RS256.pem", "decryption-rsa.pem"] {
        std::fs::copy(fixture_keys().join(file), keys.join(file)).unwrap();
    }
    let refused = start(&path).await.err().expect("the state key is missing");
    assert!(
        refused.contains("keys.generate") && refused.contains("front-state.key"),
        "{refused}"
    );

    std::fs::write(&path, config(dir.path(), false)).unwrap();
    let app = start(&path).await.expect("every shared key file is there");
    let handle = app.handle();
    let serving = tokio::spawn(app.run_until_stopped());
    handle.stop(false).await;
    serving.await.unwrap().unwrap();
    let files = std::fs::read_dir(&keys).unwrap().count();
    assert_eq!(files, 2, "still only the shared files");
}

/// Wrong guesses from `forwarded_for` (as a proxy on loopback would forward them), one after
/// the other: the statuses.
async fn guesses(app: &TestApp, forwarded_for: &[&str]) -> Vec<u16> {
    let token = app.id_token(serde_json::json!("app"), serde_json::json!({}));
    let mut statuses = Vec::new();
    for address in forwarded_for {
        let answer = send(
            app.http
                .post(app.url("/exchange"))
                .basic_auth("app", Some("wrong-guess-0123456789"))
                .header("x-forwarded-for", format!("6.6.6.6, {address}"))
                .form(&[
                    ("grant_type", GRANT),
                    ("subject_token", token.as_str()),
                    ("subject_token_type", ID_TOKEN),
                ]),
        )
        .await;
        statuses.push(answer.status);
    }
    statuses
}

fn limited(trusted: &str) -> Options {
    Options {
        limits: format!("[limits]\nfailed_auth = {{ per_second = 0.01, burst = 2 }}\n{trusted}"),
        ..Options::default()
    }
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_failed_auth_limit_counts_the_forwarded_client() {
    let app = spawn_app_with(limited("trusted_proxies = [\"127.0.0.0/8\"]\n")).await;

    let statuses = guesses(
        &app,
        &[
            "198.51.100.1",
            "198.51.100.1",
            "198.51.100.1",
            "198.51.100.2",
        ],
    )
    .await;

    assert_eq!(
        statuses,
        [401, 401, 429, 401],
        "each client has its own limit"
    );
    assert!(
        captured_logs()
            .lines()
            .any(|line| line.contains("tokenbridge::audit")
                && line.contains("source=\"198.51.100.1\"")),
        "the audit line names the client behind the proxy"
    );
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_address_changes_nothing() {
    let app = spawn_app_with(limited("")).await;

    let statuses = guesses(&app, &["203.0.113.11", "203.0.113.12", "203.0.113.13"]).await;

    assert_eq!(
        statuses,
        [401, 401, 429],
        "the peer is counted, whatever it forwards"
    );
    assert!(
        !captured_logs().contains("source=\"203.0.113."),
        "an untrusted X-Forwarded-For never reaches the audit line"
    );
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_front_token_audit_line_names_the_forwarded_client() {
    let app = spawn_app_with(Options {
        policy: format!(
            "{}\n[[front]]\nclient = \"app\"\nupstream = \"idp\"\n",
            default_policy()
        ),
        limits: "[limits]\ntrusted_proxies = [\"127.0.0.0/8\"]\n".to_owned(),
        ..Options::default()
    })
    .await;
    let id_token = app.id_token(serde_json::json!("app"), serde_json::json!({}));
    app.idp.answer_token(
        200,
        &serde_json::json!({ "access_token": "opaque", "token_type": "Bearer", "id_token": id_token }),
    );

    let answer = send(
        app.http
            .post(app.url("/front/app/token"))
            .basic_auth("app", Some("the-rps-own-secret"))
            .header("x-forwarded-for", "6.6.6.6, 198.51.100.77")
            .form(&[("grant_type", "authorization_code"), ("code", "c0de")]),
    )
    .await;

    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(
        captured_logs()
            .lines()
            .any(|line| line.contains("tokenbridge::audit")
                && line.contains("front token")
                && line.contains("source=\"198.51.100.77\"")),
        "the front's audit line names the client behind the proxy"
    );
}
