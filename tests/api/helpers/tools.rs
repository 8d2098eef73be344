//! Runners for the tools the tests drive: node scripts from tests/e2e and tests/interop, the
//! pinned Python tools in .venv, and a free port for a process that needs its URL first.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;

/// tests/e2e, where the npm side of the tests lives; its packages must be installed.
pub(crate) fn e2e_dir() -> PathBuf {
    installed_npm_dir("tests/e2e")
}

/// tests/interop: the independent JOSE implementations and the legacy validators.
pub(crate) fn interop_dir() -> PathBuf {
    installed_npm_dir("tests/interop")
}

fn installed_npm_dir(relative: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative);
    assert!(
        dir.join("node_modules").is_dir(),
        "{relative}/node_modules is missing: run `tests/setup.sh` first (the README's test command does)"
    );
    dir
}

/// The Python that has the pinned PyPI packages (jwcrypto, PyJWT, …) installed.
pub(crate) fn venv_python() -> PathBuf {
    venv_tool("python")
}

/// A program of the pinned Python test tools in .venv (schemathesis, hadolint, …).
pub(crate) fn venv_tool(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join(".venv/bin")
        .join(name);
    assert!(
        path.is_file(),
        "{} is missing: run `tests/setup.sh` first (the README's test command does)",
        path.display()
    );
    path
}

/// Runs a tests/e2e script to its end with `args`, off the async threads; returns the one JSON
/// line it prints.
pub(crate) async fn run_node(args: Vec<String>) -> Value {
    let mut command = Command::new("node");
    command.args(&args).current_dir(e2e_dir());
    run_to_json(command, None).await
}

/// Runs a tests/e2e script like `run_node`, killed (and the test failed) if it hasn't ended
/// within `limit`.
pub(crate) async fn run_node_within(args: Vec<String>, limit: Duration) -> Value {
    let shown = format!("node {args:?}");
    let outcome = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("node")
            .args(&args)
            .current_dir(e2e_dir())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let mut stdout = child.stdout.take().expect("stdout is piped");
        let reader = std::thread::spawn(move || {
            let mut text = Vec::new();
            let _ = stdout.read_to_end(&mut text);
            text
        });
        let tick = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        let status = loop {
            if let Some(status) = child.try_wait()? {
                break Some(status);
            }
            if waited >= limit {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(tick);
            waited += tick;
        };
        let text = reader.join().unwrap_or_default();
        Ok::<_, std::io::Error>((status, text))
    })
    .await
    .unwrap();
    let (status, stdout) = outcome.unwrap_or_else(|err| panic!("{shown} could not run: {err}"));
    let Some(status) = status else {
        panic!("{shown} did not end within {limit:?}: killed");
    };
    assert!(status.success(), "{shown} failed ({status})");
    serde_json::from_slice(&stdout)
        .unwrap_or_else(|_| panic!("{shown} printed {}", String::from_utf8_lossy(&stdout)))
}

/// Runs a program to its end with `input` on its stdin, off the async threads; returns the one
/// JSON line it prints.
pub(crate) async fn run_to_json(mut command: Command, input: Option<Value>) -> Value {
    let shown = format!("{command:?}");
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        if let Some(input) = input {
            stdin.write_all(input.to_string().as_bytes())?;
        }
        drop(stdin);
        child.wait_with_output()
    })
    .await
    .unwrap()
    .unwrap_or_else(|err| panic!("{shown} could not run: {err}"));
    assert!(
        output.status.success(),
        "{shown} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "{shown} printed {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

/// A node script from tests/e2e that prints one JSON line when ready; killed when dropped.
pub(crate) struct Node {
    child: Child,
    pub ready: Value,
}

impl Node {
    pub(crate) fn start(script: &str, config: &Value) -> Node {
        let mut child = Command::new("node")
            .arg(script)
            .arg(config.to_string())
            .current_dir(e2e_dir())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start node {script}: {err}"));
        let stdout = child.stdout.take().unwrap();
        let (line_tx, line_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = line_tx.send(line);
            }
            for _ in lines {} // keep draining so the child never blocks on a full pipe
        });
        let line = match line_rx.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!("node {script} did not get ready within 60 s");
            }
        };
        let ready = serde_json::from_str(&line)
            .unwrap_or_else(|_| panic!("node {script} printed {line:?}"));
        Node { child, ready }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago, for a process that must know its URL before it starts.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
