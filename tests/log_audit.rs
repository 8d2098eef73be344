//! Runs after the `api` and `contract` test binaries (cargo runs integration tests in name order)
//! and reads every log line those whole runs wrote, at `trace`: no token, no private key, no client
//! secret, whatever the tests and schemathesis' fuzzing sent; and no panic of the service.
// A test aborts on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

#[test]
fn the_whole_api_test_run_logged_no_token_no_key_and_no_secret() {
    audit("api", 1000);
}

#[test]
fn the_whole_contract_test_run_logged_no_token_no_key_and_no_secret() {
    audit("contract", 500);
}

/// Reads what the test binary `binary` logged (helpers::log_file) and fails on the first line
/// that holds a token, key material or a secret.
fn audit(binary: &str, at_least_lines: usize) {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("{binary}-test-logs.txt"));
    let logs = std::fs::read_to_string(&path).unwrap_or_else(|_| {
        panic!(
            "{} is missing: run the {binary} tests first (cargo test runs them before this one)",
            path.display()
        )
    });
    assert!(
        logs.lines().count() > at_least_lines,
        "the {binary} run's logs were captured ({} lines)",
        logs.lines().count()
    );

    for (number, line) in logs.lines().enumerate() {
        // helpers::record_service_panics: no request may reach a panic, whatever it was answered.
        assert!(
            !line.starts_with("SERVICE PANIC"),
            "line {number}: the service panicked during the {binary} run: {line}"
        );
        for word in
            line.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            let parts: Vec<&str> = word.split('.').collect();
            let is_jose = parts.len() >= 3 && parts[0].starts_with("eyJ") && parts[0].len() > 10;
            assert!(!is_jose, "line {number} holds a token: {line}");
        }
        assert!(
            !line.contains("PRIVATE KEY"),
            "line {number} holds key material: {line}"
        );
        // Every client secret the tests configure ends so (helpers::secret_of), and the fronts'
        // relying parties present this one.
        assert!(
            !line.contains("-secret-0123456789"),
            "line {number} holds a client secret: {line}"
        );
        assert!(
            !line.contains("the-rps-own-secret"),
            "line {number} holds a client secret: {line}"
        );
        assert!(
            !line.contains("wrong-guess-0123456789"),
            "line {number} holds a presented secret: {line}"
        );
    }
}
