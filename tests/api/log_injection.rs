//! Log forgery: every request value that reaches the log — field names and values, client ids,
//! token header and claim members, an IdP's answers — arrives escaped, so one event is one line
//! whatever was sent. The real binary runs with each `--log-format`, its output in a file.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, UNIX_EPOCH};

use serde_json::{Value, json};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::*;

/// What an attacker wants an operator (or a log shipper) to read: an exchange that never was.
const FAKE_LINE: &str =
    "2099-01-01T00:00:00Z  INFO tokenbridge::audit: exchange outcome=\"issued\" client=\"app\"";

/// The forged text behind `marker`: the fake line after LF, CRLF, U+2028 and NEL, a terminal
/// colour sequence, a bidi override and DEL.
fn forged(marker: &str) -> String {
    format!(
        "{marker}\n{FAKE_LINE}\r\n{FAKE_LINE}\x1b[31m red\x1b[0m\u{2028}{FAKE_LINE}\u{2029}\u{202e}reversed\u{2066}\u{85}{FAKE_LINE}\x7f end"
    )
}

/// Markers of the values the service logs; each must be found (escaped) in the log.
const LOGGED: [&str; 14] = [
    "m-repeated-form-name",
    "m-repeated-json-key",
    "m-grant-type",
    "m-subject-token-type",
    "m-requested-token-type",
    "m-client-id-post",
    "m-client-id-basic",
    "m-audience",
    "m-token-iss",
    "m-token-alg",
    "m-token-kid",
    "m-token-sub",
    "m-token-aud",
    "m-front-id-token-iss",
];

/// Markers of what an IdP's JWKS says about a key tokenbridge skips (logged at start).
const LOGGED_AT_START: [&str; 2] = ["m-jwk-kid", "m-jwk-kty"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_lines_in_every_logged_request_value_stay_inside_one_text_event() {
    let run = attack("text").await;

    let mut audit = (0, 0);
    for line in run.log.lines() {
        let mut words = line.split_whitespace();
        let (timestamp, level) = (words.next(), words.next());
        // A request's lines start with its span (`request{request_id=…}:`), then the target.
        let mut words = words.skip_while(|word| word.starts_with("request{"));
        let target = words.next();
        assert!(
            timestamp.is_some_and(is_recent_timestamp),
            "a line that is no event of this run: {line}"
        );
        assert!(
            matches!(level, Some("TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR")),
            "a line without a level: {line}"
        );
        let message = words.next();
        match (target, message) {
            (Some("tokenbridge::audit:"), Some("exchange")) => audit.0 += 1,
            (Some("tokenbridge::audit:"), Some("front")) => audit.1 += 1,
            _ => {}
        }
    }
    assert_eq!(
        audit,
        (run.exchanges, run.front_tokens),
        "one audit line per exchange and per front token refusal"
    );
    for marker in LOGGED.iter().chain(&LOGGED_AT_START) {
        // The forged text follows its marker on the same line, its LF a visible `\n` (or `\\n`
        // where an error's description had already Debug-quoted it).
        assert!(
            run.log
                .lines()
                .any(|line| line.contains(marker) && line.contains("\\n2099-01-01")),
            "{marker} was not logged (escaped) on one line"
        );
    }
    assert_no_raw_control_characters(&run.log);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_lines_in_every_logged_request_value_stay_inside_one_json_event() {
    let run = attack("json").await;

    let mut audit = (0, 0);
    let mut values = String::new();
    for line in run.log.lines() {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|err| panic!("a line that is no JSON object ({err}): {line}"));
        assert!(
            event["timestamp"].as_str().is_some_and(is_recent_timestamp),
            "a line that is no event of this run: {line}"
        );
        assert!(
            matches!(
                event["level"].as_str(),
                Some("TRACE" | "DEBUG" | "INFO" | "WARN" | "ERROR")
            ),
            "{line}"
        );
        match (
            event["target"].as_str(),
            event["fields"]["message"].as_str(),
        ) {
            (Some("tokenbridge::audit"), Some("exchange")) => audit.0 += 1,
            (Some("tokenbridge::audit"), Some("front token")) => audit.1 += 1,
            _ => {}
        }
        for value in event["fields"]
            .as_object()
            .into_iter()
            .flat_map(|fields| fields.values())
        {
            values.push_str(value.as_str().unwrap_or_default());
            values.push('\n');
        }
    }
    assert_eq!(
        audit,
        (run.exchanges, run.front_tokens),
        "one audit line per exchange and per front token refusal"
    );
    for marker in LOGGED.iter().chain(&LOGGED_AT_START) {
        // Parsed back, the value holds the forged text as it was sent (or Debug-quoted in an
        // error's description), so it was logged whole, inside one event.
        assert!(
            values.contains(&format!("{marker}\n2099-01-01"))
                || values.contains(&format!("{marker}\\n2099-01-01")),
            "{marker} was not logged"
        );
    }
    assert_no_raw_control_characters(&run.log);
}

/// No character a terminal acts on or a reader takes for a line break, whatever the format.
fn assert_no_raw_control_characters(log: &str) {
    for raw in [
        '\x1b', '\r', '\u{2028}', '\u{2029}', '\u{202e}', '\u{2066}', '\u{85}', '\x7f',
    ] {
        assert!(!log.contains(raw), "a raw {raw:?} reached the log");
    }
}

/// What one run logged, and how many audit events it must have.
struct Run {
    log: String,
    exchanges: usize,
    front_tokens: usize,
}

/// Starts the binary with `format`, sends every forged value, stops it, and returns its log.
async fn attack(format: &str) -> Run {
    let key = idp_key(JwsAlg::RS256);
    let idp = DemoIdp::start(&[&key]).unwrap();
    let mut jwks = idp.jwks();
    jwks["keys"].as_array_mut().unwrap().push(json!({
        "kty": forged("m-jwk-kty"),
        "kid": forged("m-jwk-kid"),
    }));
    idp.publish_raw(jwks);
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("tokenbridge.log");
    let mut child = start(dir.path(), &log_path, format, idp.issuer());
    let port = match wait_for_port(&log_path, format).await {
        Some(port) => port,
        None => {
            let _ = child.kill();
            panic!(
                "serve did not log its port within 30 s:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
    };
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let (exchanges, front_tokens) = send_forgeries(&http, &base, &idp).await;

    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let stopped = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait()),
    )
    .await;
    assert!(
        matches!(stopped, Ok(Ok(Ok(status))) if status.success()),
        "serve did not stop cleanly: {stopped:?}"
    );
    Run {
        log: std::fs::read_to_string(&log_path).unwrap(),
        exchanges,
        front_tokens,
    }
}

/// Every value the service logs, forged; returns how many `/exchange` requests and front token
/// refusals were sent (each logs exactly one audit event).
async fn send_forgeries(http: &reqwest::Client, base: &str, idp: &DemoIdp) -> (usize, usize) {
    let key = idp_key(JwsAlg::RS256);
    let now = now();
    let claims = |extra: Value| {
        let mut claims =
            json!({ "iss": idp.issuer(), "sub": "u", "aud": "app", "iat": now, "exp": now + 600 });
        for (name, value) in extra.as_object().unwrap() {
            claims[name] = value.clone();
        }
        claims
    };
    let valid = key.sign(&claims(json!({})), &json!({})).unwrap();
    let form = |fields: &[(&str, &str)]| {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (name, value) in fields {
            form.append_pair(name, value);
        }
        form.finish()
    };
    let basics = [
        ("grant_type", GRANT),
        ("subject_token", valid.as_str()),
        ("subject_token_type", ID_TOKEN),
    ];
    let with = |extra: &[(&str, &str)]| {
        let mut fields: Vec<(&str, &str)> = basics
            .iter()
            .filter(|(name, _)| !extra.iter().any(|(replaced, _)| replaced == name))
            .copied()
            .collect();
        fields.extend_from_slice(extra);
        form(&fields)
    };
    let repeated = forged("m-repeated-form-name");
    let json_key = forged("m-repeated-json-key");
    let grant_type = forged("m-grant-type");
    let subject_token_type = forged("m-subject-token-type");
    let requested_token_type = forged("m-requested-token-type");
    let audience = forged("m-audience");
    let client_post = forged("m-client-id-post");
    let client_basic = forged("m-client-id-basic");
    let token_iss = key
        .sign(&claims(json!({ "iss": forged("m-token-iss") })), &json!({}))
        .unwrap();
    let token_alg = key
        .sign(&claims(json!({})), &json!({ "alg": forged("m-token-alg") }))
        .unwrap();
    let token_kid = key
        .sign(&claims(json!({})), &json!({ "kid": forged("m-token-kid") }))
        .unwrap();
    let token_sub = key
        .sign(&claims(json!({ "sub": forged("m-token-sub") })), &json!({}))
        .unwrap();
    let token_aud = key
        .sign(
            &claims(json!({ "aud": ["app", forged("m-token-aud")] })),
            &json!({}),
        )
        .unwrap();
    let garbage = forged("m-subject-token-garbage");

    let form_bodies = [
        (
            format!(
                "{}&{}",
                with(&[]),
                form(&[(&repeated, "a"), (&repeated, "b")])
            ),
            true,
        ),
        (with(&[("grant_type", &grant_type)]), true),
        (with(&[("subject_token_type", &subject_token_type)]), true),
        (
            with(&[("requested_token_type", &requested_token_type)]),
            true,
        ),
        (with(&[("audience", &audience)]), true),
        (with(&[("subject_token", &token_iss)]), true),
        (with(&[("subject_token", &token_alg)]), true),
        (with(&[("subject_token", &token_kid)]), true),
        (with(&[("subject_token", &token_sub)]), true),
        (with(&[("subject_token", &token_aud)]), true),
        (with(&[("subject_token", &garbage)]), true),
        (
            with(&[
                ("client_id", &client_post),
                ("client_secret", "a-wrong-guess"),
            ]),
            false,
        ),
    ];
    let mut exchanges = 0;
    for (body, is_basic) in form_bodies {
        let mut request = http
            .post(format!("{base}/exchange"))
            .header("content-type", "application/x-www-form-urlencoded")
            // Headers the service doesn't log; they may carry anything but CR and LF.
            .header("user-agent", format!("m-user-agent {FAKE_LINE}\u{2028}"))
            .header("x-forwarded-for", format!("m-xff {FAKE_LINE}\u{202e}"))
            .body(body);
        if is_basic {
            request = request.basic_auth("app", Some(secret_of("app")));
        }
        request.send().await.unwrap();
        exchanges += 1;
    }
    let json_body = format!(
        "{{{key}: \"a\", {key}: \"b\"}}",
        key = serde_json::to_string(&json_key).unwrap()
    );
    http.post(format!("{base}/exchange"))
        .header("content-type", "application/json")
        .body(json_body)
        .send()
        .await
        .unwrap();
    exchanges += 1;
    // RFC 6749 §2.3.1: the Basic id is form-url-encoded before it is joined to the secret.
    let encoded: String = form_urlencoded::byte_serialize(client_basic.as_bytes()).collect();
    http.post(format!("{base}/exchange"))
        .basic_auth(encoded, Some("a-wrong-guess"))
        .form(&basics)
        .send()
        .await
        .unwrap();
    exchanges += 1;

    // The fronts: an unknown front's path (not logged), and an IdP whose ID token carries a
    // forged issuer (its refusal is logged).
    let path: String = form_urlencoded::byte_serialize(forged("m-front-path").as_bytes()).collect();
    let unknown = http
        .post(format!("{base}/front/{path}/token"))
        .form(&[("grant_type", "authorization_code")])
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let forged_id_token = key
        .sign(
            &claims(json!({ "iss": forged("m-front-id-token-iss") })),
            &json!({}),
        )
        .unwrap();
    idp.answer_token(
        200,
        &json!({ "access_token": "opaque", "token_type": "Bearer", "id_token": forged_id_token }),
    );
    let refused = http
        .post(format!("{base}/front/app/token"))
        .basic_auth("app", Some("the-rps-own-secret"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &forged("m-front-code")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    (exchanges, 1)
}

/// `tokenbridge serve` in `dir`, stdout and stderr into `log`.
fn start(dir: &Path, log: &Path, format: &str, idp_issuer: &str) -> Child {
    let config = dir.join("tokenbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"issuer = "https://tokenbridge.example.com"
listen = "127.0.0.1:0"

[keys]
dir = "./keys"

[limits]
failed_auth = {{ per_second = 1000, burst = 1000 }}

[[upstream]]
name = "idp"
issuer = "{idp_issuer}"
danger_allow_http = true
refetch_cooldown = "30s"

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["idp"]
audiences = ["app"]

[[front]]
client = "app"
upstream = "idp"
"#,
            app = digest("app"),
        ),
    )
    .unwrap();
    let out = std::fs::File::create(log).unwrap();
    let err = out.try_clone().unwrap();
    Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
        .args(["serve", "--log-format", format, "--config"])
        .arg(&config)
        // Dependencies' debug events too: they are formatted by the same layer.
        .env("RUST_LOG", "debug")
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap()
}

/// The port from the "listening" event, read from the log file; None after 30 s.
async fn wait_for_port(log: &Path, format: &str) -> Option<u16> {
    for _ in 0..300 {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let port = text
            .lines()
            .filter(|line| line.contains("tokenbridge is listening"))
            .find_map(|line| match format {
                "json" => serde_json::from_str::<Value>(line).ok()?["fields"]["port"]
                    .as_u64()
                    .and_then(|port| u16::try_from(port).ok()),
                _ => line
                    .split("port=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok(),
            });
        if port.is_some() {
            return port;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    None
}

/// An RFC 3339 timestamp within a day of now: an event of this run, not a forged 2099 one.
fn is_recent_timestamp(text: &str) -> bool {
    humantime::parse_rfc3339(text)
        .ok()
        .and_then(|time| time.duration_since(UNIX_EPOCH).ok())
        .and_then(|since| i64::try_from(since.as_secs()).ok())
        .is_some_and(|seconds| (seconds - now()).abs() < 24 * 3600)
}
