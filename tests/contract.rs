//! The OpenAPI contract (`openapi/tokenbridge.yaml`): the document passes openapi-spec-validator,
//! and the real service keeps it. Schemathesis (tests/contract/run.py) fuzzes every operation of a
//! healthy service, then sends the requests a fuzzer can't make (a valid signed subject token, a
//! rate-limited client, an IdP that is down or refuses) to it and to a degraded one. Every response
//! must match the document, no 5xx may appear that it doesn't list, and every status it lists must
//! have been seen.
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::{IdpKey, encrypt_like_authentik};
use tokenbridge::jose::alg::JwsAlg;

use helpers::{
    Service, digest, fixture_keys, fixture_signing_keys, idp_key, now, secret_of, venv_tool,
};

/// The whole schemathesis run may take this long before the test gives up on it.
const RUNNER_DEADLINE: Duration = Duration::from_secs(100);

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec_path() -> PathBuf {
    manifest_dir().join("openapi/tokenbridge.yaml")
}

#[test]
fn the_openapi_document_passes_openapi_spec_validator() {
    let output = Command::new(venv_tool("openapi-spec-validator"))
        .arg(spec_path())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "openapi-spec-validator refused openapi/tokenbridge.yaml:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `[keys]` with the fixture keys; `rsa_decryption` false leaves only the EC decryption key, so
/// there is no encryption certificate.
fn keys_section(rsa_decryption: bool) -> String {
    let fixtures = fixture_keys();
    let mut keys = format!("[keys]\ndir = \"{{dir}}\"\n\n{}", fixture_signing_keys());
    if rsa_decryption {
        keys.push_str(&format!(
            "[[keys.decryption]]\nfile = \"{}\"\n\n",
            fixtures.join("decryption-rsa.pem").display()
        ));
    }
    keys.push_str(&format!(
        "[[keys.decryption]]\nfile = \"{}\"\n\n",
        fixtures.join("decryption-ec.pem").display()
    ));
    keys
}

/// Limits shared by both services: failed authentications are not limited (the fuzzer sends
/// hundreds of wrong credentials from one address), bodies are small so 413 is cheap, and a
/// body that never finishes gets its 408 after a second. `/metrics` is on the main port, so the
/// contract covers it.
fn limits() -> String {
    format!(
        "[telemetry]\nmetrics_on_main_port = true\n\n[limits]\nmax_body_bytes = {MAX_BODY_BYTES}\nmax_token_bytes = 8192\nbody_read_timeout = \"{BODY_READ_TIMEOUT_SECS}s\"\nfailed_auth = {{ per_second = 1000, burst = 100000 }}\n"
    )
}

const BODY_READ_TIMEOUT_SECS: u64 = 1;

const MAX_BODY_BYTES: usize = 16384;

fn client(id: &str, upstreams: &str, audiences: &str, extra: &str) -> String {
    format!(
        "[[client]]\nid = \"{id}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [{upstreams}]\naudiences = [{audiences}]\n{extra}\n\n",
        digest(id)
    )
}

/// The healthy service: one IdP that answers, an exchange client, a client with a tiny rate
/// limit, and three fronts (one that relays the login, whose tokens pass and whose back-channel
/// logouts go to `rp`, one whose client
/// refuses them, one that answers userinfo as a JWT).
fn healthy_config(idp: &DemoIdp, rp: &str) -> String {
    let unlimited = "rate_limit = { per_second = 10000, burst = 10000 }";
    format!(
        "{limits}\n{keys}\n[[upstream]]\nname = \"idp\"\nissuer = \"{issuer}\"\ndanger_allow_http = true\n\n{app}{limited}{strict}{signed}\
         [[front]]\nclient = \"app\"\nupstream = \"idp\"\nmode = \"relay\"\nredirect_uris = [\"https://rp.example.com/callback\"]\npost_logout_redirect_uris = [\"https://rp.example.com/logged-out\"]\nbackchannel_logout_uri = \"{rp}\"\n\n\
         [[front]]\nclient = \"strict\"\nupstream = \"idp\"\n\n\
         [[front]]\nclient = \"signed\"\nupstream = \"idp\"\nuserinfo = \"jwt\"\n",
        limits = limits(),
        keys = keys_section(true),
        issuer = idp.issuer(),
        app = client("app", "\"idp\"", "\"app\"", unlimited),
        limited = client(
            "limited",
            "\"idp\"",
            "\"app\"",
            "rate_limit = { per_second = 0.01, burst = 1 }"
        ),
        // Its audience is in no token, and its rule needs a claim no token has: the front's
        // token answers 400 invalid_grant and its userinfo 502.
        strict = client(
            "strict",
            "\"idp\"",
            "\"elsewhere\"",
            "claims = [{ rename = \"groups\", to = \"roles\", required = true }]"
        ),
        signed = client("signed", "\"idp\"", "\"app\"", ""),
    )
}

/// The degraded service: one IdP down since the start (no keys, so not ready and 503s), one that
/// answers but refuses every grant and bearer token, and no RSA decryption key.
fn degraded_config(down: &DemoIdp, refusing: &DemoIdp) -> String {
    format!(
        "{limits}\n{keys}\n[[upstream]]\nname = \"down\"\nissuer = \"{down}\"\ndanger_allow_http = true\n\n\
         [[upstream]]\nname = \"refusing\"\nissuer = \"{refusing}\"\ndanger_allow_http = true\n\n{app}{refused}\
         [[front]]\nclient = \"app\"\nupstream = \"down\"\n\n\
         [[front]]\nclient = \"refused\"\nupstream = \"refusing\"\n",
        limits = limits(),
        keys = keys_section(false),
        down = down.issuer(),
        refusing = refusing.issuer(),
        app = client("app", "\"down\", \"refusing\"", "\"app\"", ""),
        refused = client("refused", "\"refusing\"", "\"app\"", ""),
    )
}

fn demo_idp() -> DemoIdp {
    DemoIdp::start(&[idp_key(JwsAlg::RS256).as_ref()]).unwrap()
}

/// An ID token as `issuer` would sign it, with `aud`.
fn id_token(key: &IdpKey, issuer: &str, aud: Value) -> String {
    let now = now();
    key.sign(
        &json!({
            "iss": issuer,
            "sub": "user-1",
            "aud": aud,
            "iat": now,
            "exp": now + 600,
            "email": "ada@example.com",
            "nonce": "n-0S6_WzA2Mj",
        }),
        &json!({}),
    )
    .unwrap()
}

/// A back-channel logout token as `issuer` would sign it, for the relying party `aud`.
fn logout_token(key: &IdpKey, issuer: &str, aud: &str) -> String {
    let now = now();
    key.sign(
        &json!({
            "iss": issuer,
            "aud": aud,
            "iat": now,
            "exp": now + 120,
            "jti": format!("contract-{now}"),
            "events": { "http://schemas.openid.net/event/backchannel-logout": {} },
            "sub": "user-1",
            "sid": "session-1",
        }),
        &json!({"typ": "logout+jwt"}),
    )
    .unwrap()
}

/// Runs tests/contract/run.py with the venv's Python, off the async threads; returns its report.
#[allow(clippy::print_stdout)]
async fn run_contract(input: &Path, report: &Path) -> Value {
    let python = venv_tool("python");
    let mut command = Command::new(python);
    command
        .arg(manifest_dir().join("tests/contract/run.py"))
        .arg(input)
        .arg(report)
        .current_dir(input.parent().unwrap())
        // No __pycache__ in the source tree.
        .env("PYTHONDONTWRITEBYTECODE", "1")
        // Nothing is fetched from elsewhere: every address the runner uses is on 127.0.0.1.
        .env("NO_PROXY", "127.0.0.1")
        .env_remove("HTTP_PROXY")
        .env_remove("HTTPS_PROXY")
        .env_remove("http_proxy")
        .env_remove("https_proxy")
        .env_remove("ALL_PROXY")
        .env_remove("all_proxy");
    let output = tokio::time::timeout(
        RUNNER_DEADLINE,
        tokio::task::spawn_blocking(move || command.output()),
    )
    .await
    .unwrap_or_else(|_| {
        panic!(
            "tests/contract/run.py ran past its deadline of {}s",
            RUNNER_DEADLINE.as_secs()
        )
    })
    .unwrap()
    .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // The runner's account (schemathesis' summary, the seed, what was observed): cargo shows it
    // for a failed test, or with --nocapture.
    println!("{log}");
    let text = std::fs::read_to_string(report).unwrap_or_else(|_| {
        panic!(
            "tests/contract/run.py wrote no report (exit {:?}; if schemathesis is missing, run tests/setup.sh):\n{log}",
            output.status.code()
        )
    });
    serde_json::from_str(&text).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_keeps_its_openapi_contract() {
    let key = idp_key(JwsAlg::RS256);

    let idp = demo_idp();
    let rp = helpers::Receiver::start().await;
    let healthy = Service::start(&healthy_config(&idp, &rp.url)).await;
    // Two audiences, as Zitadel sends: the client's rules pick "app".
    let valid = id_token(&key, idp.issuer(), json!(["app", "295633918734829312"]));
    idp.answer_token(
        200,
        &json!({
            "access_token": "an-opaque-access-token",
            "token_type": "Bearer",
            "expires_in": 300,
            "refresh_token": "an-opaque-refresh-token",
            "id_token": valid,
        }),
    );
    idp.answer_userinfo(
        200,
        "application/json",
        &json!({"sub": "user-1", "email": "ada@example.com"}).to_string(),
    );
    let encrypted = encrypt_like_authentik(&valid, &healthy.encryption_key("RSA").await).unwrap();

    let down = demo_idp();
    down.set_failing(true);
    let refusing = demo_idp();
    refusing.answer_token(401, &json!({"error": "invalid_client"}));
    let degraded = Service::start(&degraded_config(&down, &refusing)).await;

    let dir = TempDir::new().unwrap();
    let input = dir.path().join("input.json");
    let report = dir.path().join("report.json");
    let secrets = |client: &str| json!({"id": client, "secret": secret_of(client)});
    std::fs::write(
        &input,
        json!({
            "spec": spec_path(),
            "healthy": healthy.base,
            "degraded": degraded.base,
            "client": secrets("app"),
            "limited_client": secrets("limited"),
            "max_body_bytes": MAX_BODY_BYTES,
            "body_read_timeout_secs": BODY_READ_TIMEOUT_SECS,
            "tokens": {
                "valid": valid,
                "encrypted": encrypted,
                "foreign_audience": id_token(&key, idp.issuer(), json!(["someone-else"])),
                "expired": key.sign(&json!({"iss": idp.issuer(), "sub": "user-1", "aud": "app", "iat": now() - 900, "exp": now() - 600}), &json!({})).unwrap(),
                "from_down_idp": id_token(&key, down.issuer(), json!("app")),
                "logout": logout_token(&key, idp.issuer(), "app"),
            },
            "fronts": {
                "ok": "app",
                "refuses_tokens": "strict",
                "jwt_userinfo": "signed",
                "idp_down": "app",
                "idp_refuses": "refused",
                "pass_through": "strict",
                "no_backchannel_logout": "strict",
            },
        })
        .to_string(),
    )
    .unwrap();

    let report = run_contract(&input, &report).await;
    let failures: Vec<String> = report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|failure| {
            format!(
                "{} answered {}: {} failed: {}",
                failure["operation"].as_str().unwrap_or("?"),
                failure["status"],
                failure["check"].as_str().unwrap_or("?"),
                failure["message"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert!(
        failures.is_empty(),
        "the service broke the OpenAPI contract ({} failures; seed {}):\n- {}",
        failures.len(),
        report["seed"],
        failures.join("\n- ")
    );
    let missing: Vec<String> = report["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|missing| {
            format!(
                "{} {}",
                missing["operation"].as_str().unwrap_or("?"),
                missing["status"].as_str().unwrap_or("?")
            )
        })
        .collect();
    assert_eq!(
        rp.received().len(),
        1,
        "exactly the one valid logout token reached the relying party"
    );
    assert!(
        missing.is_empty(),
        "documented statuses never seen in the contract run (observed: {}):\n- {}",
        report["observed"],
        missing.join("\n- ")
    );
}
