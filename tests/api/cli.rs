//! The command line, run as a user would: the built binary.

use std::process::Command;

use serde_json::json;

/// `text` written as tokenbridge.toml in a fresh directory (kept alive by the returned guard).
pub(crate) fn config_file(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tokenbridge.toml");
    std::fs::write(&config, text).unwrap();
    (dir, config)
}

pub(crate) fn tokenbridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
}

#[test]
fn the_demo_shows_both_refusals_and_both_fixes_without_config_or_network() {
    let output = tokenbridge()
        .args(["demo", "--port", "0", "--no-serve"])
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(
            "REFUSED: failed to decode JWT (TypeError: encrypted JWTs cannot be decoded)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("REFUSED: Token audience value has 5 values, Expected 1"),
        "{stdout}"
    );
    assert!(
        stdout.contains("express-openid-connect on tokenbridge's token: ACCEPTED"),
        "{stdout}"
    );
    assert!(
        stdout.contains("BookStack on tokenbridge's token: ACCEPTED"),
        "{stdout}"
    );
}

#[test]
fn check_accepts_a_good_config_and_notes_keys_it_would_generate() {
    let (dir, config) = config_file(
        r#"
issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:8080"

[keys]
dir = "./keys"

[[upstream]]
name = "zitadel"
issuer = "https://zitadel.example.com"

[[client]]
id = "bookstack"
secret = { env = "TB_TEST_BOOKSTACK_SECRET" }
upstreams = ["zitadel"]
audiences = ["bookstack"]
"#,
    );

    let output = tokenbridge()
        .args(["check", "--config"])
        .arg(&config)
        .env("TB_TEST_BOOKSTACK_SECRET", "a-long-enough-secret-value")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("valid"), "{stderr}");
    assert!(
        stderr.contains("would generate") || stderr.contains("will generate"),
        "{stderr}"
    );
    assert!(!dir.path().join("keys").exists(), "check writes nothing");
}

#[test]
fn check_warns_about_a_weakening_switch_under_its_old_name() {
    let (_dir, config) = config_file(
        r#"
issuer = "https://tokenbridge.example.com"

[limits]
allow_zip = true

[[upstream]]
name = "zitadel"
issuer = "https://zitadel.example.com"
"#,
    );

    let output = tokenbridge()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: limits.allow_zip is deprecated: rename it danger_allow_zip"),
        "{stderr}"
    );
}

#[test]
fn check_reports_every_problem_at_once_with_its_key_and_fails() {
    let (_dir, config) = config_file(
        r#"
issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:8080"
colour = "blue"

[[upstream]]
name = "zitadel"
issuer = "http://zitadel.example.com"
algorithms = ["HS256"]
leeway = "soon"

[[client]]
id = "bookstack"
secret = { env = "TB_TEST_UNSET_SECRET_VARIABLE" }
upstreams = ["keycloak"]
audiences = []
"#,
    );

    let output = tokenbridge()
        .args(["check", "--config"])
        .arg(&config)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    for key in [
        "colour",
        "upstream[0] (\"zitadel\").issuer",
        "algorithms",
        "leeway",
        "secret",
        "upstreams",
        "audiences",
    ] {
        assert!(stderr.contains(key), "{key} not named in:\n{stderr}");
    }
}

#[test]
fn every_command_has_help() {
    for command in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["check", "--help"],
        vec!["demo", "--help"],
    ] {
        let output = tokenbridge().args(&command).output().unwrap();
        assert!(output.status.success(), "{command:?}");
        assert!(
            String::from_utf8_lossy(&output.stdout).contains("Usage"),
            "{command:?}"
        );
    }
}

#[test]
fn check_reads_the_config_path_from_tokenbridge_config() {
    let (_dir, config) = config_file("issuer = \"https://tb.example.com\"\n");

    let output = tokenbridge()
        .arg("check")
        .env("TOKENBRIDGE_CONFIG", &config)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    // The file was found through the variable and checked: it lacks an upstream.
    assert!(
        stderr.contains("at least one [[upstream]] is needed"),
        "{stderr}"
    );
}

#[tokio::test]
async fn serve_answers_on_its_port_and_exits_cleanly_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        r#"
issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:0"

[keys]
dir = "./keys"

[[upstream]]
name = "unreachable"
issuer = "https://127.0.0.1:1"
fetch_timeout = "1s"

[[client]]
id = "app"
secret = {{ sha256 = "{}" }}
upstreams = ["unreachable"]
audiences = ["app"]
"#,
        tokenbridge::oauth::SecretDigest::of(b"a-long-enough-secret-value").to_hex()
    );
    let (mut child, port) = start_serve(dir.path(), &config);

    let health = reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .unwrap()
        .status();
    let ready = reqwest::get(format!("http://127.0.0.1:{port}/readyz"))
        .await
        .unwrap()
        .status();
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();

    assert_eq!(health, 200);
    assert_eq!(ready, 503, "the only upstream is unreachable");
    assert!(status.success(), "SIGTERM stops it with exit 0: {status:?}");
    assert!(
        dir.path().join("keys/signing-RS256.pem").exists(),
        "keys generated beside the config"
    );
}

/// A config whose upstream is never fetched (explain is given the JWKS), and a client with a
/// preset and its own rules.
fn explain_setup() -> (tempfile::TempDir, std::path::PathBuf) {
    let (dir, config) = config_file(&format!(
        r#"
issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:8080"

[keys]
dir = "./keys"

[[upstream]]
name = "zitadel"
issuer = "https://zitadel.example.com"

[[client]]
id = "bookstack"
secret = {{ sha256 = "{}" }}
upstreams = ["zitadel"]
audiences = ["bookstack"]
preset = "zitadel"
claims = [{{ keep_only = ["email", "roles"] }}]
"#,
        tokenbridge::oauth::SecretDigest::of(b"a-long-enough-secret-value").to_hex()
    ));
    let key = crate::helpers::idp_key(tokenbridge::jose::alg::JwsAlg::RS256);
    std::fs::write(
        dir.path().join("jwks.json"),
        serde_json::json!({ "keys": [key.public_jwk()] }).to_string(),
    )
    .unwrap();
    let now = crate::helpers::now();
    let token = |aud: serde_json::Value, name: &str| {
        let claims = serde_json::json!({
            "iss": "https://zitadel.example.com", "sub": "295633781350334464", "aud": aud,
            "iat": now, "exp": now + 600, "email": "ada@example.com", "phone": "+1",
            "urn:zitadel:iam:org:project:roles": { "editor": { "1": "acme" } },
        });
        std::fs::write(
            dir.path().join(name),
            key.sign(&claims, &serde_json::json!({})).unwrap(),
        )
        .unwrap();
    };
    token(
        serde_json::json!(["p1", "bookstack", "x@grafana", "y@wiki", "z@api"]),
        "accepted.jwt",
    );
    token(serde_json::json!(["p1", "x@grafana"]), "refused.jwt");
    (dir, config)
}

#[test]
fn explain_walks_an_accepted_token_through_every_check_offline() {
    let (dir, config) = explain_setup();

    let output = tokenbridge()
        .args(["explain", "--client", "bookstack", "--config"])
        .arg(&config)
        .arg("--token")
        .arg(dir.path().join("accepted.jwt"))
        .arg("--jwks")
        .arg(dir.path().join("jwks.json"))
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    for expected in [
        "nested JWS header: {\"alg\":\"RS256\"",
        "claims received:",
        "ok      signature",
        "ok      time",
        "ok      audience: select = Only",
        "-> \"bookstack\"",
        "ok      claim rule: preset \"zitadel\" claims[0]: renamed urn:zitadel:iam:org:project:roles -> roles",
        "ok      claim rule: client[0] (\"bookstack\").claims[0]: kept only the allowed claims",
        "result: would issue",
        "\"roles\": [\n    \"editor\"\n  ]",
    ] {
        assert!(
            stdout.contains(expected),
            "{expected:?} missing from:\n{stdout}"
        );
    }
    let issued = stdout.split("claims that would be issued").nth(1).unwrap();
    assert!(
        !issued.contains("phone"),
        "keep_only dropped phone:\n{issued}"
    );
    assert!(!dir.path().join("keys").exists(), "explain writes no keys");
}

#[test]
fn explain_says_precisely_why_a_token_is_refused() {
    let (dir, config) = explain_setup();

    let output = tokenbridge()
        .args(["explain", "--client", "bookstack", "--config"])
        .arg(&config)
        .arg("--token")
        .arg("-")
        .arg("--jwks")
        .arg(dir.path().join("jwks.json"))
        .stdin(std::fs::File::open(dir.path().join("refused.jwt")).unwrap())
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success());
    assert!(stdout.contains("ok      signature"), "{stdout}");
    assert!(stdout.contains("REFUSED no audience"), "{stdout}");
    assert!(
        stdout.contains("the caller would get 400 invalid_target"),
        "{stdout}"
    );
}

#[test]
fn check_explain_prints_each_rule_with_presets_expanded() {
    let (_dir, config) = explain_setup();

    let output = tokenbridge()
        .args(["check", "--explain", "--config"])
        .arg(&config)
        .output()
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("upstream \"zitadel\": no claim rules"),
        "{stdout}"
    );
    assert!(
        stdout.contains("client \"bookstack\": 3 claim rule(s)"),
        "{stdout}"
    );
    assert!(stdout.contains("{ rename = \"urn:zitadel:iam:org:project:roles\", to = \"roles\", keys = true, overwrite = true }    # preset \"zitadel\" claims[0]"), "{stdout}");
    assert!(
        stdout.contains("{ drop = [\"urn:zitadel:iam:*\"] }"),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "{ keep_only = [\"email\", \"roles\"] }    # client[0] (\"bookstack\").claims[0]"
        ),
        "{stdout}"
    );
}

/// Starts `tokenbridge serve` with `config` (written beside a keys dir); returns it and its port.
pub(crate) fn start_serve(dir: &std::path::Path, config: &str) -> (std::process::Child, u16) {
    let serving = start_serve_logged(dir, config);
    (serving.child, serving.port)
}

/// A `tokenbridge serve` process, and every line it has logged so far.
pub(crate) struct Serving {
    pub child: std::process::Child,
    pub port: u16,
    pub logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// `start_serve`, keeping what the process logs. `config` is `dir/tokenbridge.toml`.
pub(crate) fn start_serve_logged(dir: &std::path::Path, config: &str) -> Serving {
    start_serve_logged_with(dir, config, &[])
}

/// `start_serve_logged` with `env` set for the process.
pub(crate) fn start_serve_logged_with(
    dir: &std::path::Path,
    config: &str,
    env: &[(&str, &str)],
) -> Serving {
    use std::io::{BufRead, BufReader};
    let path = dir.join("tokenbridge.toml");
    std::fs::write(&path, config).unwrap();
    let mut child = tokenbridge()
        .args(["serve", "--config"])
        .arg(&path)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    std::thread::spawn({
        let logs = logs.clone();
        move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(port) = line
                    .contains("tokenbridge is listening")
                    .then(|| {
                        line.split("port=")
                            .nth(1)?
                            .split_whitespace()
                            .next()?
                            .parse::<u16>()
                            .ok()
                    })
                    .flatten()
                {
                    let _ = port_tx.send(port);
                }
                logs.lock().unwrap().push(line);
            }
        }
    });
    let Ok(port) = port_rx.recv_timeout(std::time::Duration::from_secs(30)) else {
        let _ = child.kill();
        panic!("serve did not log its port within 30 s");
    };
    Serving { child, port, logs }
}

// Multi-threaded: the demo IdP must keep serving while this thread waits for the binary to start.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_an_in_flight_exchange_finish_then_exits_0() {
    use crate::helpers::*;
    let idp =
        tokenbridge::demo::idp::DemoIdp::start(&[&idp_key(tokenbridge::jose::alg::JwsAlg::RS256)])
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "issuer = \"https://tokenbridge.example.com\"\nlisten = \"127.0.0.1:0\"\n\n[keys]\ndir = \"./keys\"\n\n[[upstream]]\nname = \"idp\"\nissuer = \"{}\"\ndanger_allow_http = true\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n",
        idp.issuer(),
        tokenbridge::oauth::SecretDigest::of(secret_of("app").as_bytes()).to_hex()
    );
    let (mut child, port) = start_serve(dir.path(), &config);
    // The IdP rotates and turns slow: the next exchange waits ~1.5 s on the refetch.
    let rotated = rotated_idp_key();
    idp.publish(&[&rotated]);
    idp.set_delay(std::time::Duration::from_millis(1500));
    let now = now();
    let token = rotated
        .sign(
            &json!({ "iss": idp.issuer(), "sub": "u", "aud": "app", "iat": now, "exp": now + 600 }),
            &json!({}),
        )
        .unwrap();
    let fetches_before = idp.jwks_requests();
    let in_flight = tokio::spawn(async move {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/exchange"))
            // No idle keep-alive connection left for the graceful stop to wait out.
            .header("connection", "close")
            .basic_auth("app", Some(secret_of("app")))
            .form(&[
                ("grant_type", GRANT),
                ("subject_token", token.as_str()),
                ("subject_token_type", ID_TOKEN),
            ])
            .send()
            .await
            .map(|response| response.status().as_u16())
    });

    // SIGTERM once the exchange is waiting on the IdP's (slow) JWKS answer: it is in flight.
    for _ in 0..200 {
        if idp.jwks_requests() > fetches_before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        idp.jwks_requests() > fetches_before,
        "the exchange never reached the IdP"
    );
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let answered = in_flight.await.unwrap();
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();

    assert_eq!(answered.unwrap(), 200, "the in-flight exchange finished");
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_key_file_that_fails_to_load_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("broken.pem"),
        "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let config = dir.path().join("tokenbridge.toml");
    std::fs::write(
        &config,
        format!(
            "issuer = \"https://tb.example.com\"\nlisten = \"127.0.0.1:0\"\n\n[keys]\ndir = \"./keys\"\n\n[[keys.signing]]\nfile = \"broken.pem\"\nalg = \"RS256\"\n\n[[upstream]]\nname = \"idp\"\nissuer = \"https://127.0.0.1:1\"\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\n",
            tokenbridge::oauth::SecretDigest::of(b"a-long-enough-secret-value").to_hex()
        ),
    )
    .unwrap();

    let output = tokenbridge()
        .args(["serve", "--config"])
        .arg(&config)
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(
        stderr.contains("keys.signing[0]") && stderr.contains("broken.pem"),
        "{stderr}"
    );
    assert!(!String::from_utf8_lossy(&output.stdout).contains("listening"));
}

const WITH_A_RELAY_FRONT: &str = r#"
issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:8080"

[keys]
dir = "./keys"

[[upstream]]
name = "idp"
issuer = "https://idp.example.com"

[[client]]
id = "mirotalk"
secret = { env = "TB_TEST_SECRET" }
upstreams = ["idp"]
audiences = ["mirotalk"]

[[front]]
client = "mirotalk"
upstream = "idp"
mode = "relay"
redirect_uris = ["https://mirotalk.example.com/callback"]
"#;

#[test]
fn check_notes_the_fronts_state_key_it_would_generate_and_refuses_a_bad_one() {
    let (dir, config) = config_file(WITH_A_RELAY_FRONT);
    let check = || {
        tokenbridge()
            .args(["check", "--config"])
            .arg(&config)
            .env("TB_TEST_SECRET", "a-long-enough-secret-value")
            .output()
            .unwrap()
    };

    let missing = check();
    std::fs::create_dir_all(dir.path().join("keys")).unwrap();
    std::fs::write(dir.path().join("keys/front-state.key"), "too-short\n").unwrap();
    let bad = check();

    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(missing.status.success(), "{stderr}");
    assert!(
        stderr
            .contains("front-state.key does not exist: serve will generate the fronts' state key"),
        "{stderr}"
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("keys.front_state_key") && stderr.contains("32 bytes"),
        "{stderr}"
    );
}

#[test]
fn a_relay_front_without_redirect_uris_stops_the_check_naming_the_key() {
    let (_dir, config) = config_file(&WITH_A_RELAY_FRONT.replace(
        "redirect_uris = [\"https://mirotalk.example.com/callback\"]",
        "post_logout_redirect_uris = [\"not a url\"]",
    ));

    let output = tokenbridge()
        .args(["check", "--config"])
        .arg(&config)
        .env("TB_TEST_SECRET", "a-long-enough-secret-value")
        .output()
        .unwrap();

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("front[0].redirect_uris"), "{stderr}");
    assert!(
        stderr.contains("front[0].post_logout_redirect_uris"),
        "{stderr}"
    );
}
