//! The log capture shared by a whole test binary: every line of the service's own subscriber at
//! `trace`, in memory for the tests and in a file for tests/log_audit.rs, with a record of the run
//! that wrote it; and a panic hook that records the service's panics there.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::UNIX_EPOCH;

use serde_json::json;

/// Every log line of this test binary, for tests that look for what was (or wasn't) logged.
pub(crate) fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

/// This test binary's log file, where every log line of the run also goes: `api-test-logs.txt`
/// for the api tests, which tests/log_audit.rs reads; other binaries that share these helpers
/// write their own.
pub(crate) fn log_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}-test-logs.txt", env!("CARGO_CRATE_NAME")))
}

/// Beside the log file: which run wrote it (`api-test-run.json`), so that tests/log_audit.rs can
/// refuse a log that is missing, stale, or from a filtered run instead of auditing it.
fn run_record_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}-test-run.json", env!("CARGO_CRATE_NAME")))
}

/// Starts the log file with a line naming this run, and records the run: its id, this test
/// binary's path and modification time, and the arguments it was started with (a filter means a
/// partial log).
fn start_log_file() -> std::fs::File {
    let binary = std::env::current_exe().unwrap();
    let modified_ns = std::fs::metadata(&binary)
        .unwrap()
        .modified()
        .unwrap()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let started = tokenbridge::clock::SystemClock::shared().now();
    let run = format!("{started}-{}", std::process::id());
    let mut file = std::fs::File::create(log_file()).unwrap();
    writeln!(file, "TEST RUN {run}").unwrap();
    let record = json!({
        "run": run,
        "binary": binary,
        "modified_ns": modified_ns.to_string(),
        "args": std::env::args().skip(1).collect::<Vec<_>>(),
    });
    std::fs::write(run_record_file(), record.to_string()).unwrap();
    file
}

static LOG_FILE: OnceLock<Mutex<std::fs::File>> = OnceLock::new();

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(bytes);
        if let Some(file) = LOG_FILE.get() {
            file.lock().unwrap().write_all(bytes)?;
        }
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// A panic anywhere but in a test's own code (the service, a library under it) goes into the log
/// file as a `SERVICE PANIC` line, which tests/log_audit.rs refuses: a request that reaches a
/// panic is a failed run even when the test that sent it only looked at the status.
fn record_service_panics() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location();
        let is_test_code = location.is_some_and(|location| location.file().starts_with("tests/"));
        if !is_test_code {
            let at = location.map_or_else(String::new, |location| location.to_string());
            let payload = info.payload();
            let message = payload
                .downcast_ref::<&str>()
                .copied()
                .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
                .unwrap_or("?");
            let line = format!("SERVICE PANIC at {at}: {}\n", message);
            LOGS.lock()
                .unwrap_or_else(|err| err.into_inner())
                .extend_from_slice(line.as_bytes());
            if let Some(file) = LOG_FILE.get() {
                let _ = file
                    .lock()
                    .unwrap_or_else(|err| err.into_inner())
                    .write_all(line.as_bytes());
            }
        }
        default_hook(info);
    }));
}

pub(super) fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = LOG_FILE.set(Mutex::new(start_log_file()));
        record_service_panics();
        // The service's own subscriber (the same escaping), at trace, into the capture.
        let _ = tracing_subscriber::util::SubscriberInitExt::try_init(
            tokenbridge::telemetry::subscriber(
                tokenbridge::telemetry::LogFormat::Text,
                tracing_subscriber::EnvFilter::new("trace"),
                false,
                || Capture,
            ),
        );
    });
}
