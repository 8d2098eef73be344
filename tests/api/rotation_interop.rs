//! A key rotation in seconds, through the built binary, as relying parties that cache the JWKS
//! see it: PyJWT's `PyJWKClient` (caching on) and npm `jose`'s `createRemoteJWKSet` fetch the JWKS
//! once, before the next key activates, and then verify every token of the rotation — the new
//! key's from its activation, the retired key's until they expire — without fetching again
//! (every JWKS fetch passes a counting proxy). The retired key then leaves the JWKS by itself.
//! Needs `tests/setup.sh`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::{Value, json};
use tokenbridge::clock::rfc3339;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::keyring::commands::generate_key;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::cli::start_serve;
use crate::helpers::*;

/// Seconds after the config is written: B activates, A retires; tokens live 4 s and the
/// leeway is 1 s, so A leaves the JWKS at A_RETIRES + 5.
const B_ACTIVATES: i64 = 5;
const A_RETIRES: i64 = 7;
const A_LEAVES: i64 = A_RETIRES + 4 + 1;

/// A validator process that reads a token a line and answers a JSON line; killed when dropped.
struct LineValidator {
    name: &'static str,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl LineValidator {
    fn start(name: &'static str, mut command: Command) -> LineValidator {
        let mut child = command
            .current_dir(interop_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {name}: {err}"));
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        LineValidator {
            name,
            child,
            stdin,
            stdout,
        }
    }

    /// The validator's verdict on `token`: the `kid` it verified with, or its error.
    fn verify(&mut self, token: &str) -> Result<String, String> {
        tokio::task::block_in_place(|| {
            writeln!(self.stdin, "{token}").unwrap();
            self.stdin.flush().unwrap();
            let mut line = String::new();
            self.stdout.read_line(&mut line).unwrap();
            let verdict: Value = serde_json::from_str(&line)
                .unwrap_or_else(|_| panic!("{} answered {line:?}", self.name));
            match verdict["ok"].as_bool() {
                Some(true) => Ok(verdict["kid"].as_str().unwrap_or("").to_owned()),
                _ => Err(verdict["error"].to_string()),
            }
        })
    }
}

impl Drop for LineValidator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback HTTP proxy to tokenbridge's JWKS that counts the fetches passing it.
async fn counting_jwks_proxy(jwks_url: String) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let fetches = Arc::new(AtomicUsize::new(0));
    let counted = fetches.clone();
    tokio::spawn(async move {
        let http = reqwest::Client::builder().no_proxy().build().unwrap();
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buffer = [0u8; 1024];
            while !head.windows(4).any(|window| window == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => head.extend_from_slice(&buffer[..read]),
                }
            }
            counted.fetch_add(1, Ordering::SeqCst);
            let body = http
                .get(&jwks_url)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    });
    (url, fetches)
}

/// Sleeps until the system clock reads `t0 + offset` seconds (a bounded wait).
async fn wait_until(t0: i64, offset: i64) {
    let target = t0 + offset;
    for _ in 0..200 {
        if now() >= target {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the clock never reached t0 + {offset}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn caching_relying_parties_verify_a_whole_rotation_from_the_jwks_they_fetched_before_it() {
    let idp = DemoIdp::start(&[&idp_key(JwsAlg::RS256)]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    generate_key("RS256", &dir.path().join("a.pem")).unwrap();
    let b = generate_key("RS256", &dir.path().join("b.pem"))
        .unwrap()
        .kid;
    let port = free_port();
    let issuer = format!("http://127.0.0.1:{port}");
    let t0 = now();
    let config = format!(
        r#"issuer = "{issuer}"
listen = "127.0.0.1:{port}"
[keys]
dir = "./keys"
retire_leeway = "1s"
[[keys.signing]]
file = "a.pem"
alg = "RS256"
kid = "key-a"
retire_at = "{a_retires}"
[[keys.signing]]
file = "b.pem"
alg = "RS256"
activate_at = "{b_activates}"
[limits]
jwks_max_age = "1s"
[[upstream]]
name = "idp"
issuer = "{idp}"
danger_allow_http = true
[[client]]
id = "app"
secret = {{ sha256 = "{digest}" }}
upstreams = ["idp"]
audiences = ["app"]
max_ttl = "4s"
"#,
        a_retires = rfc3339::format(t0 + A_RETIRES),
        b_activates = rfc3339::format(t0 + B_ACTIVATES),
        idp = idp.issuer(),
        digest = digest("app"),
    );
    let _server = KillOnDrop(start_serve(dir.path(), &config).0);
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let jwks_url = format!("{issuer}/.well-known/jwks.json");
    let published = |jwks: Value| -> Vec<String> {
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|key| key["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let issue = || {
        let http = http.clone();
        let issuer = issuer.clone();
        let idp_issuer = idp.issuer().to_owned();
        async move {
            let now = now();
            let subject = idp_key(JwsAlg::RS256)
                .sign(
                    &json!({ "iss": idp_issuer, "sub": "u", "aud": "app", "iat": now, "exp": now + 600 }),
                    &json!({}),
                )
                .unwrap();
            let answer = send(
                http.post(format!("{issuer}/exchange"))
                    .basic_auth("app", Some(secret_of("app")))
                    .form(&[
                        ("grant_type", GRANT),
                        ("subject_token", subject.as_str()),
                        ("subject_token_type", ID_TOKEN),
                    ]),
            )
            .await;
            let token = answer.token().to_owned();
            let kid = decode(&token).0["kid"].as_str().unwrap().to_owned();
            (token, kid)
        }
    };

    let (proxy_url, fetches) = counting_jwks_proxy(jwks_url.clone()).await;
    let rp = json!({ "jwks_uri": proxy_url, "issuer": issuer, "audience": "app" }).to_string();
    let mut node = Command::new("node");
    node.arg("rotation_validator.mjs").arg(&rp);
    let mut python = Command::new(venv_python());
    python.arg("pyjwt_rotation_validator.py").arg(&rp);
    let mut validators = [
        LineValidator::start("jose createRemoteJWKSet", node),
        LineValidator::start("PyJWT PyJWKClient", python),
    ];

    // Before B activates: A signs; each relying party fetches the JWKS (A and B) once.
    let kids = published(
        http.get(&jwks_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert!(
        kids.contains(&b) && kids.contains(&"key-a".to_owned()),
        "{kids:?}"
    );
    let (by_a, kid) = issue().await;
    assert_eq!(kid, "key-a");
    assert!(
        now() < t0 + B_ACTIVATES,
        "the start took too long for the schedule"
    );
    for validator in &mut validators {
        assert_eq!(
            validator.verify(&by_a),
            Ok("key-a".into()),
            "{}",
            validator.name
        );
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "one JWKS fetch per relying party"
    );

    // A second before B activates, A signs its last token (it lives 4 s).
    wait_until(t0, B_ACTIVATES - 1).await;
    let (last_by_a, kid) = issue().await;
    assert_eq!(kid, "key-a");

    // From B's activation every token is B's, and verifies from the cached JWKS.
    wait_until(t0, B_ACTIVATES).await;
    let mut issued_by_b = 0;
    while now() < t0 + A_RETIRES {
        let (token, kid) = issue().await;
        assert_eq!(kid, b, "B signs every token from its activate_at");
        for validator in &mut validators {
            assert_eq!(
                validator.verify(&token),
                Ok(b.clone()),
                "{}",
                validator.name
            );
        }
        issued_by_b += 1;
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    assert!(issued_by_b >= 3, "{issued_by_b}");

    // A is retired: its last token still verifies until it expires, then fails as expired.
    assert_eq!(issue().await.1, b);
    for validator in &mut validators {
        assert_eq!(
            validator.verify(&last_by_a),
            Ok("key-a".into()),
            "{}",
            validator.name
        );
    }
    wait_until(t0, B_ACTIVATES - 1 + 4 + 1).await;
    for validator in &mut validators {
        let verdict = validator.verify(&last_by_a);
        assert!(verdict.is_err(), "{}: {verdict:?}", validator.name);
    }
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        2,
        "no relying party fetched the JWKS again during the rotation"
    );

    // retire_at + max_ttl + leeway: A leaves the JWKS by itself.
    let kids = published(
        http.get(&jwks_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert!(
        kids.contains(&"key-a".to_owned()),
        "A stays while its tokens may live: {kids:?}"
    );
    wait_until(t0, A_LEAVES).await;
    let kids = published(
        http.get(&jwks_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap(),
    );
    assert_eq!(kids, [b], "A left the JWKS");
}

/// The served binary, stopped however the test ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
