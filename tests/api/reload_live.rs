//! Live reload through the running binary under load: twenty reloads, by SIGHUP and by the file
//! watch, adding keys, clients and an upstream and changing a secret, while exchanges run
//! without a pause, fail none of them; a broken config then leaves the last good one serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use tokenbridge::clock::SystemClock;

use serde_json::{Value, json};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::jose::alg::JwsAlg;

use crate::cli::{Serving, start_serve_logged};
use crate::helpers::*;

const RELOADS: usize = 20;
/// Exchanges run in this many loops at once, each bounded in count and by the deadline.
const LOAD_TASKS: usize = 6;
const MAX_EXCHANGES_PER_TASK: usize = 20_000;
const DEADLINE: Duration = Duration::from_secs(60);

/// RSA keys from the fixtures that a reload adds to `[[keys.signing]]`, one by one.
const ADDED_KEYS: [&str; 5] = [
    "idp-keys/idp-PS256.pem",
    "idp-keys/idp-PS384.pem",
    "idp-keys/idp-PS512.pem",
    "idp-keys/idp-RS384.pem",
    "idp-keys/idp-RS512.pem",
];

/// What the config says at one step of the test.
#[derive(Default)]
struct Step {
    added_keys: usize,
    added_clients: Vec<String>,
    /// The secret of client "rotating", by the name `secret_of` takes.
    rotating_secret: String,
    has_second_upstream: bool,
    is_broken: bool,
}

fn config_text(idp: &DemoIdp, second: &DemoIdp, step: &Step) -> String {
    let fixtures = fixture_keys().parent().unwrap().to_owned();
    let mut text = format!(
        "issuer = \"https://tokenbridge.example.com\"\nlisten = \"127.0.0.1:0\"\nworkers = 2\n\n[keys]\ndir = \"./keys\"\n\n[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"first\"\n\n",
        fixtures.join("keys/signing-RS256.pem").display()
    );
    for (index, file) in ADDED_KEYS.iter().take(step.added_keys).enumerate() {
        text.push_str(&format!(
            "[[keys.signing]]\nfile = \"{}\"\nalg = \"RS256\"\nkid = \"added-{index}\"\n\n",
            fixtures.join(file).display()
        ));
    }
    text.push_str(&format!(
        "[reload]\npoll_interval = \"200ms\"\n\n[[upstream]]\nname = \"idp\"\nissuer = \"{}\"\ndanger_allow_http = true\n\n",
        idp.issuer()
    ));
    if step.has_second_upstream {
        text.push_str(&format!(
            "[[upstream]]\nname = \"second\"\nissuer = \"{}\"\ndanger_allow_http = true\nalgorithms = [\"ES256\"]\n\n",
            second.issuer()
        ));
    }
    let mut client = |id: &str, secret_name: &str, upstream: &str| {
        text.push_str(&format!(
            "[[client]]\nid = \"{id}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"{upstream}\"]\naudiences = [\"app\"]\nrate_limit = {{ per_second = 100000, burst = 100000 }}\n\n",
            digest(secret_name)
        ));
    };
    client("app", "app", "idp");
    client("rotating", &step.rotating_secret, "idp");
    for id in &step.added_clients {
        client(id, id, "idp");
    }
    if step.has_second_upstream {
        client("second-app", "second-app", "second");
    }
    if step.is_broken {
        text.push_str("[[client]]\nid = \"broken\"\nsecret = { file = \"missing.secret\" }\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n");
    }
    text
}

fn token_from(idp: &DemoIdp, alg: JwsAlg) -> String {
    let now = now();
    idp_key(alg)
        .sign(
            &json!({"iss": idp.issuer(), "sub": "u", "aud": "app", "iat": now, "exp": now + 600}),
            &json!({}),
        )
        .unwrap()
}

async fn exchange_status(
    http: &reqwest::Client,
    port: u16,
    client: &str,
    secret: &str,
    token: &str,
) -> u16 {
    http.post(format!("http://127.0.0.1:{port}/exchange"))
        .basic_auth(client, Some(secret))
        .form(&[
            ("grant_type", GRANT),
            ("subject_token", token),
            ("subject_token_type", ID_TOKEN),
        ])
        .send()
        .await
        .map_or(0, |response| response.status().as_u16())
}

async fn reload_status(http: &reqwest::Client, port: u16) -> Value {
    let ready: Value = http
        .get(format!("http://127.0.0.1:{port}/readyz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    ready["reload"].clone()
}

/// Waits (at most about 10 s) until the reload status passes `generation` or records a failure after
/// `failures`; returns the status.
async fn next_reload(http: &reqwest::Client, port: u16, generation: u64, failures: u64) -> Value {
    for _ in 0..500 {
        let status = reload_status(http, port).await;
        let is_done = status["generation"].as_u64() > Some(generation)
            || status["failures"].as_u64() > Some(failures);
        if is_done {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    reload_status(http, port).await
}

fn write_atomically(path: &std::path::Path, text: &str) {
    let next = path.with_extension("next");
    std::fs::write(&next, text).unwrap();
    std::fs::rename(&next, path).unwrap();
}

/// Stops the process however the test ends.
struct Stopping(Serving);

impl Drop for Stopping {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

fn hang_up(serving: &Serving) {
    let status = std::process::Command::new("kill")
        .args(["-HUP", &serving.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

// Multi-threaded: the demo IdPs and the load keep running while the test waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_reloads_under_load_fail_no_exchange() {
    let idp = DemoIdp::start(&[&idp_key(JwsAlg::RS256)]).unwrap();
    let second = DemoIdp::start(&[&idp_key(JwsAlg::ES256)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut step = Step {
        rotating_secret: "rotating".into(),
        ..Step::default()
    };
    let serving = Stopping(start_serve_logged(
        dir.path(),
        &config_text(&idp, &second, &step),
    ));
    let serving = &serving.0;
    let port = serving.port;
    let config_path = dir.path().join("tokenbridge.toml");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let token = token_from(&idp, JwsAlg::RS256);
    let second_token = token_from(&second, JwsAlg::ES256);
    assert_eq!(
        exchange_status(&http, port, "app", &secret_of("app"), &token).await,
        200
    );

    let is_done = Arc::new(AtomicBool::new(false));
    let succeeded = Arc::new(AtomicUsize::new(0));
    let failed = Arc::new(AtomicUsize::new(0));
    // One clock: each system clock's monotonic time starts at its own creation.
    let clock = SystemClock::shared();
    let started = clock.monotonic();
    let load: Vec<_> = (0..LOAD_TASKS)
        .map(|_| {
            let (http, token) = (http.clone(), token.clone());
            let (is_done, succeeded, failed) = (is_done.clone(), succeeded.clone(), failed.clone());
            let clock = clock.clone();
            tokio::spawn(async move {
                for _ in 0..MAX_EXCHANGES_PER_TASK {
                    if is_done.load(Ordering::Relaxed) || clock.monotonic() - started > DEADLINE {
                        break;
                    }
                    match exchange_status(&http, port, "app", &secret_of("app"), &token).await {
                        200 => succeeded.fetch_add(1, Ordering::Relaxed),
                        _ => failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            })
        })
        .collect();

    // SIGHUP alone reloads, even with nothing changed.
    hang_up(serving);
    let status = next_reload(&http, port, 0, 0).await;
    assert_eq!(status["generation"], 1, "{status}");
    let mut generation = 1;

    for reload in 0..RELOADS {
        // Exchanges run on the previous state for a while before each reload; and a signal's
        // reload may have a watch's next to it (or the other way round), over the same file:
        // that one is over before the next step is written.
        tokio::time::sleep(Duration::from_millis(500)).await;
        generation = reload_status(&http, port).await["generation"]
            .as_u64()
            .unwrap_or(generation);
        match reload % 4 {
            0 => step.added_keys = (step.added_keys + 1).min(ADDED_KEYS.len()),
            1 => step.added_clients.push(format!("added-{reload}")),
            2 => step.rotating_secret = format!("rotating-{reload}"),
            _ => step.has_second_upstream = !step.has_second_upstream,
        }
        write_atomically(&config_path, &config_text(&idp, &second, &step));
        // Even reloads by signal, odd ones by the watch alone.
        if reload % 2 == 0 {
            hang_up(serving);
        }
        let status = next_reload(&http, port, generation, 0).await;
        assert_eq!(status["status"], "ok", "reload {reload}: {status}");
        let reached = status["generation"].as_u64().unwrap();
        assert!(
            reached > generation,
            "reload {reload} did not happen: {status}"
        );
        generation = reached;

        // What this reload added works at once.
        match reload % 4 {
            0 => {
                let jwks: Value = http
                    .get(format!("http://127.0.0.1:{port}/.well-known/jwks.json"))
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                let kid = format!("added-{}", step.added_keys - 1);
                assert!(
                    jwks["keys"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|key| key["kid"] == kid),
                    "{kid} is published: {jwks}"
                );
            }
            1 => {
                let id = step.added_clients.last().unwrap();
                assert_eq!(
                    exchange_status(&http, port, id, &secret_of(id), &token).await,
                    200,
                    "client {id}, added by reload {reload}"
                );
            }
            2 => {
                let secret = secret_of(&step.rotating_secret);
                assert_eq!(
                    exchange_status(&http, port, "rotating", &secret, &token).await,
                    200
                );
            }
            _ => {
                let expected = if step.has_second_upstream { 200 } else { 401 };
                assert_eq!(
                    exchange_status(
                        &http,
                        port,
                        "second-app",
                        &secret_of("second-app"),
                        &second_token
                    )
                    .await,
                    expected,
                    "the second upstream's client, after reload {reload}"
                );
            }
        }
    }

    // A broken config: refused, logged with its key, and the last good config serves on.
    step.is_broken = true;
    write_atomically(&config_path, &config_text(&idp, &second, &step));
    hang_up(serving);
    let status = next_reload(&http, port, generation, 0).await;
    assert_eq!(status["status"], "failed", "{status}");
    assert_eq!(status["generation"].as_u64(), Some(generation));
    let last = step.added_clients.last().unwrap();
    assert_eq!(
        exchange_status(&http, port, last, &secret_of(last), &token).await,
        200
    );

    is_done.store(true, Ordering::Relaxed);
    for task in load {
        task.await.unwrap();
    }
    let logs = serving.logs.lock().unwrap().join("\n");

    let (succeeded, failed) = (
        succeeded.load(Ordering::Relaxed),
        failed.load(Ordering::Relaxed),
    );
    eprintln!(
        "{succeeded} exchanges during {generation} reloads in {:?}",
        clock.monotonic() - started
    );
    assert_eq!(
        failed,
        0,
        "{failed} of {} exchanges failed",
        succeeded + failed
    );
    assert!(succeeded > 100, "the load ran: {succeeded} exchanges");
    assert!(
        logs.lines()
            .any(|line| line.contains("reload refused") && line.contains("broken")),
        "the refused reload names the key: {logs}"
    );
    assert!(logs.contains("SIGHUP: reloading the config"));
    assert!(logs.contains("a watched file changed: reloading the config"));
}
