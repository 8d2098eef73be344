//! `tokenbridge keys generate` and `keys status`, and the schedule checks of `check` and
//! `serve`, run as the built binary.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use tokenbridge::clock::rfc3339;

use crate::helpers::*;

/// Runs the binary with `args` to its end; one still running after 20 s (a `serve` that
/// started when it should have refused) is killed and reported as failed.
fn tokenbridge(args: &[&str]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    for _ in 0..200 {
        if child.try_wait().unwrap().is_some() {
            return child.wait_with_output().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    panic!(
        "tokenbridge {args:?} still ran after 20 s: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn generate(alg: &str, out: &Path) -> String {
    let output = tokenbridge(&[
        "keys",
        "generate",
        "--alg",
        alg,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn keys_generate_writes_an_owner_only_key_once_and_prints_the_kid_the_service_publishes() {
    let dir = tempfile::tempdir().unwrap();
    let signing = dir.path().join("signing.pem");
    let decryption = dir.path().join("decryption.pem");
    let signing_kid = generate("ES256", &signing);
    let decryption_kid = generate("RSA-OAEP-256", &decryption);
    for file in [&signing, &decryption] {
        let mode = std::fs::metadata(file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }

    let before = std::fs::read(&signing).unwrap();
    let again = tokenbridge(&[
        "keys",
        "generate",
        "--alg",
        "ES256",
        "--out",
        signing.to_str().unwrap(),
    ]);
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("never overwrites"));
    assert_eq!(
        std::fs::read(&signing).unwrap(),
        before,
        "the key is untouched"
    );

    let service = Service::start(&format!(
        "[keys]\ndir = \"{{dir}}\"\nsigning_alg = \"ES256\"\n[[keys.signing]]\nfile = \"{}\"\nalg = \"ES256\"\n[[keys.decryption]]\nfile = \"{}\"\n\n[[upstream]]\nname = \"op\"\nissuer = \"https://127.0.0.1:1\"\n",
        signing.display(),
        decryption.display()
    ))
    .await;
    let jwks = service.get_json("/.well-known/jwks.json").await;
    assert_eq!(jwks["keys"][0]["kid"], signing_kid.as_str());
    let encryption = service.get_json("/.well-known/encryption-keys.json").await;
    assert_eq!(encryption["keys"][0]["kid"], decryption_kid.as_str());
}

/// A config over `a.pem` and `b.pem` (RS256) in `dir` with `schedule` in their entries.
fn rotation_config(dir: &Path, a_schedule: &str, b_schedule: &str) -> std::path::PathBuf {
    for name in ["a.pem", "b.pem"] {
        if !dir.join(name).exists() {
            generate("RS256", &dir.join(name));
        }
    }
    let config = dir.join("tokenbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"issuer = "https://tb.example"
listen = "127.0.0.1:0"
[keys]
dir = "keys"
[[keys.signing]]
file = "a.pem"
alg = "RS256"
kid = "a"
{a_schedule}
[[keys.signing]]
file = "b.pem"
alg = "RS256"
kid = "b"
{b_schedule}
[[keys.decryption]]
file = "a.pem"
kid = "enc"
[[upstream]]
name = "op"
issuer = "https://127.0.0.1:1"
[[client]]
id = "app"
secret = {{ sha256 = "{digest}" }}
upstreams = ["op"]
audiences = ["app"]
"#,
            digest = digest("app")
        ),
    )
    .unwrap();
    config
}

#[test]
fn keys_status_shows_each_key_and_warns_about_an_early_activation() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let a_retires = rfc3339::format(now + 7200);
    let b_activates = rfc3339::format(now + 600);
    let config = rotation_config(
        dir.path(),
        &format!("retire_at = \"{a_retires}\""),
        &format!("activate_at = \"{b_activates}\""),
    );
    let output = tokenbridge(&["keys", "status", "--config", config.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    let lines: Vec<Vec<&str>> = stdout
        .lines()
        .map(|line| line.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        [
            "kid",
            "alg",
            "use",
            "state",
            "activate_at",
            "retire_at",
            "leaves_jwks_at"
        ]
    );
    // A leaves the JWKS after retire_at + 5m max_ttl + 5m leeway.
    let a_leaves = rfc3339::format(now + 7200 + 600);
    assert_eq!(
        lines[1],
        [
            "a",
            "RS256",
            "sig",
            "active",
            "-",
            a_retires.as_str(),
            a_leaves.as_str()
        ]
    );
    assert_eq!(
        lines[2],
        [
            "b",
            "RS256",
            "sig",
            "next",
            b_activates.as_str(),
            "-",
            "never"
        ]
    );
    assert_eq!(
        lines[3],
        ["enc", "RSA-OAEP-256", "enc", "active", "-", "-", "never"]
    );
    assert!(
        stderr.contains("warning: keys.signing[1].activate_at: key b activates at"),
        "{stderr}"
    );

    // `check` warns the same way, and the start logs it.
    let check = tokenbridge(&["check", "--config", config.to_str().unwrap()]);
    let check_stderr = String::from_utf8_lossy(&check.stderr);
    assert!(check.status.success(), "{check_stderr}");
    assert!(
        check_stderr.contains("warning: keys.signing[1].activate_at"),
        "{check_stderr}"
    );
}

#[test]
fn a_schedule_with_a_gap_is_refused_by_keys_status_check_and_serve() {
    let dir = tempfile::tempdir().unwrap();
    let now = now();
    let gap_starts = rfc3339::format(now + 3600);
    let config = rotation_config(
        dir.path(),
        &format!("retire_at = \"{gap_starts}\""),
        &format!("activate_at = \"{}\"", rfc3339::format(now + 7200)),
    );
    let config = config.to_str().unwrap();
    let expected = format!("keys.signing: no RS256 key is active from {gap_starts}");
    for args in [
        vec!["keys", "status", "--config", config],
        vec!["check", "--config", config],
        vec!["serve", "--config", config],
    ] {
        let output = tokenbridge(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {stderr}");
        assert!(stderr.contains(&expected), "{args:?}: {stderr}");
    }
    // keys status still shows where every key stands.
    let status = tokenbridge(&["keys", "status", "--config", config]);
    assert!(String::from_utf8_lossy(&status.stdout).contains("next"));
}
