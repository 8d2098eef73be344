//! Reads every log line the whole `api` and `contract` test runs wrote, at `trace`: no token, no
//! private key, no client secret, whatever the tests and schemathesis' fuzzing sent; and no panic
//! of the service. It needs those runs to have happened first: `cargo test` runs integration test
//! binaries in name order (api, contract, deploy, log_audit), and each run records itself beside
//! its log (tests/api/helpers/logs.rs). A log that is missing, was written by a binary other than
//! the one on disk, by a binary older than its sources, or by a filtered run fails here, saying
//! what to run; it is never audited.
// A test aborts on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

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
    let logs = read_this_builds_log(binary);
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

/// The whole log of `binary`'s last run, once its run record shows that the run was complete and
/// made by the `binary` test binary of this build; panics, saying what to run, otherwise.
fn read_this_builds_log(binary: &str) -> String {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let rerun = format!(
        "run `cargo test` (all of it), or `cargo test --test {binary}` and then `cargo test --test log_audit`"
    );
    let read = |name: String| {
        let path = tmp.join(name);
        std::fs::read_to_string(&path).unwrap_or_else(|err| {
            panic!(
                "{}: {err}: the {binary} tests have not run in this target dir; {rerun}",
                path.display()
            )
        })
    };
    let logs = read(format!("{binary}-test-logs.txt"));
    let record: Value = serde_json::from_str(&read(format!("{binary}-test-run.json")))
        .unwrap_or_else(|err| panic!("the {binary} run record is unreadable ({err}); {rerun}"));

    let run = record["run"].as_str().unwrap_or_default();
    assert_eq!(
        logs.lines().next(),
        Some(format!("TEST RUN {run}").as_str()),
        "the {binary} log was not written by the run its record names; {rerun}"
    );
    let args: Vec<&str> = record["args"]
        .as_array()
        .map(|args| args.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        !is_filtered(&args),
        "the last {binary} run was started with {args:?}, so its log is partial; {rerun}"
    );

    let recorded = PathBuf::from(record["binary"].as_str().unwrap_or_default());
    let modified =
        modified_ns(&recorded).unwrap_or_else(|| panic!("{} is gone; {rerun}", recorded.display()));
    assert_eq!(
        record["modified_ns"].as_str(),
        Some(modified.to_string().as_str()),
        "{} was rebuilt after it wrote the {binary} log; {rerun}",
        recorded.display()
    );
    for source in sources_of(&recorded) {
        if let Some(source_ns) = modified_ns(&source) {
            assert!(
                source_ns <= modified,
                "{} changed after the {binary} test binary that wrote the log was built; {rerun}",
                source.display()
            );
        }
    }
    logs
}

/// Whether libtest's arguments select only some tests (a name filter, `--skip`, `--ignored`).
fn is_filtered(args: &[&str]) -> bool {
    const TAKES_A_VALUE: [&str; 6] = [
        "--test-threads",
        "--format",
        "--color",
        "--logfile",
        "--shuffle-seed",
        "-Z",
    ];
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        if TAKES_A_VALUE.contains(arg) {
            args.next();
        } else if matches!(*arg, "--skip" | "--ignored") || !arg.starts_with('-') {
            return true;
        }
    }
    false
}

/// The Rust sources an edit to which rebuilds the test binary at `binary`: its own (from the
/// dep-info file cargo writes beside it) and the library's, without the files only unit tests
/// compile (`tests.rs`, `*_tests.rs`) and the command's `main.rs`.
fn sources_of(binary: &Path) -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dep_info = std::fs::read_to_string(binary.with_extension("d")).unwrap_or_default();
    // Each source has a line `path:` of its own in the dep-info file.
    let own = dep_info
        .lines()
        .filter_map(|line| line.strip_suffix(':'))
        .filter(|path| path.ends_with(".rs"))
        .map(|path| root.join(path));
    let mut library = Vec::new();
    rust_files(&root.join("src"), &mut library);
    library.retain(|path| {
        let name = path
            .file_name()
            .and_then(|name| name.to_str())
            .unwrap_or("");
        name != "tests.rs" && !name.ends_with("_tests.rs") && *path != root.join("src/main.rs")
    });
    own.chain(library).collect()
}

fn rust_files(dir: &Path, into: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            rust_files(&path, into);
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            into.push(path);
        }
    }
}

fn modified_ns(path: &Path) -> Option<u128> {
    let modified: SystemTime = std::fs::metadata(path).ok()?.modified().ok()?;
    Some(modified.duration_since(UNIX_EPOCH).ok()?.as_nanos())
}
