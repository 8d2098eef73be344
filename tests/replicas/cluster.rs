//! Three real `tokenbridge serve` processes on fixed loopback ports, sharing one key directory
//! (`keys.generate = false`) and one config, behind a real HAProxy running
//! deploy/haproxy/haproxy.cfg unchanged, with its environment variables pointing at them.

use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tempfile::TempDir;
use tokenbridge::clock::SharedClock;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::jose::alg::JwsAlg;

use crate::helpers::{digest, fixture_keys, idp_key};

/// Where the relying party behind the front says its login ends.
pub(crate) const RP_CALLBACK: &str = "http://127.0.0.1:9/callback";

/// The check timing the test gives HAProxy: a dead replica is down within
/// fastinter × (fall − 1) + inter, about 0.3–0.5 s.
const CHECK_ENV: [(&str, &str); 4] = [
    ("TB_CHECK_INTER", "200ms"),
    ("TB_CHECK_FAST", "100ms"),
    ("TB_CHECK_FALL", "2"),
    ("TB_CHECK_RISE", "2"),
];

/// One `tokenbridge serve` process, killed when dropped.
pub(crate) struct Replica {
    pub port: u16,
    config: PathBuf,
    child: Option<Child>,
}

impl Replica {
    fn start(config: PathBuf, port: u16) -> Replica {
        let mut replica = Replica {
            port,
            config,
            child: None,
        };
        replica.restart();
        replica
    }

    /// Starts the process (again) on its port, and waits until it says it listens.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "replica {} still runs", self.port);
        let mut child = Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
            .args(["serve", "--config"])
            .arg(&self.config)
            .env("RUST_LOG", "warn,tokenbridge=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (listening_tx, listening_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("tokenbridge is listening") {
                    let _ = listening_tx.send(());
                }
            }
        });
        self.child = Some(child);
        assert!(
            listening_rx.recv_timeout(Duration::from_secs(20)).is_ok(),
            "replica {} did not listen within 20 s",
            self.port
        );
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// SIGTERM, then waits (at most 15 s) for the drained process to exit; its exit status.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        let mut child = self.child.take().unwrap();
        let sent = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
        for _ in 0..300 {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("replica {} did not exit within 15 s of SIGTERM", self.port);
    }

    /// SIGKILL: gone at once, whatever it had in flight.
    pub(crate) fn kill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// HAProxy in the foreground (`-db`), killed when dropped; its log goes to `log`.
struct Haproxy {
    child: Child,
    log: PathBuf,
}

impl Drop for Haproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo IdP, three replicas and HAProxy. Everything stops when it is dropped.
pub(crate) struct Cluster {
    pub idp: DemoIdp,
    pub replicas: Vec<Replica>,
    /// HAProxy's public URL, which is the replicas' `issuer`.
    pub balancer: String,
    pub http: reqwest::Client,
    pub clock: SharedClock,
    stats: String,
    haproxy: Haproxy,
    _dir: TempDir,
}

impl Cluster {
    pub(crate) async fn start(clock: SharedClock) -> Cluster {
        Cluster::start_with(clock, "", false).await
    }

    /// `start`, with `limits` (a `[limits]` section) in every replica's config, and, when
    /// `is_proxy_protocol`, the replicas reading a PROXY header HAProxy sends (`TB_SEND_PROXY`).
    pub(crate) async fn start_with(
        clock: SharedClock,
        limits: &str,
        is_proxy_protocol: bool,
    ) -> Cluster {
        let idp = DemoIdp::start(&[&idp_key(JwsAlg::RS256)]).unwrap();
        let dir = TempDir::new().unwrap();
        let keys = shared_keys(dir.path());
        // Held together while chosen, so no two are the same port: HAProxy binds with
        // SO_REUSEPORT, so a repeated port is no bind error, only requests to the wrong frontend.
        let held: Vec<std::net::TcpListener> = (0..5)
            .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap())
            .collect();
        let mut chosen = held
            .iter()
            .map(|listener| listener.local_addr().unwrap().port());
        let (balancer_port, stats_port) = (chosen.next().unwrap(), chosen.next().unwrap());
        let ports: Vec<u16> = chosen.collect();
        drop(held);
        let balancer = format!("http://127.0.0.1:{balancer_port}");

        let replicas = ports
            .iter()
            .enumerate()
            .map(|(index, &port)| {
                let path = dir.path().join(format!("replica-{}.toml", index + 1));
                let top = if is_proxy_protocol {
                    "proxy_protocol = true\n"
                } else {
                    ""
                };
                let replica = config(&balancer, port, &keys, idp.issuer());
                let text = format!("{top}{replica}\n{limits}");
                std::fs::write(&path, text).unwrap();
                // Blocks until it listens: off the async threads, which serve the demo IdP.
                tokio::task::block_in_place(|| Replica::start(path, port))
            })
            .collect();

        let log = dir.path().join("haproxy.log");
        let mut command = Command::new("haproxy");
        command
            .arg("-f")
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/haproxy/haproxy.cfg"))
            .arg("-db")
            .env("TB_LISTEN", format!("127.0.0.1:{balancer_port}"))
            .env("TB_STATS", format!("127.0.0.1:{stats_port}"))
            .envs(CHECK_ENV)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::inherit());
        for (index, port) in ports.iter().enumerate() {
            command.env(format!("TB{}", index + 1), format!("127.0.0.1:{port}"));
        }
        if is_proxy_protocol {
            command.env("TB_SEND_PROXY", "1");
        }
        let child = command.spawn().unwrap_or_else(|err| {
            panic!("cannot run haproxy (is Debian's haproxy installed?): {err}")
        });

        let cluster = Cluster {
            idp,
            replicas,
            balancer,
            http: reqwest::Client::builder()
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            clock,
            stats: format!("http://127.0.0.1:{stats_port}/stats;csv"),
            haproxy: Haproxy { child, log },
            _dir: dir,
        };
        for index in 0..3 {
            cluster.wait_for_state(index, "UP").await;
        }
        cluster
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.balancer)
    }

    /// What HAProxy's stats say of replica `index` (`UP`, `DOWN`, `UP 1/2`, …).
    pub(crate) async fn state(&self, index: usize) -> String {
        let Ok(response) = self.http.get(&self.stats).send().await else {
            return "no stats".into();
        };
        let csv = response.text().await.unwrap_or_default();
        let prefix = format!("tokenbridge,tb{},", index + 1);
        csv.lines()
            .find(|line| line.starts_with(&prefix))
            .and_then(|line| line.split(',').nth(17))
            .unwrap_or("unknown")
            .to_owned()
    }

    /// Polls the stats (every 20 ms, at most 10 s) until replica `index` is in `state`; how long
    /// that took.
    pub(crate) async fn wait_for_state(&self, index: usize, state: &str) -> Duration {
        let from = self.clock.monotonic();
        for _ in 0..500 {
            if self.state(index).await == state {
                return self.clock.monotonic() - from;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "HAProxy did not mark tb{} {state} within 10 s (it says {}); its log:\n{}",
            index + 1,
            self.state(index).await,
            self.haproxy_log()
        );
    }

    /// Polls a replica's own /readyz (every 50 ms, at most 10 s) until it is 200.
    pub(crate) async fn wait_until_ready(&self, index: usize) {
        let url = self.replicas[index].url("/readyz");
        for _ in 0..200 {
            if let Ok(response) = self.http.get(&url).send().await
                && response.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("replica {} was not ready within 10 s", index + 1);
    }

    /// The last 40 lines HAProxy logged, for a failure's message.
    pub(crate) fn haproxy_log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut file) = std::fs::File::open(&self.haproxy.log) {
            let _ = file.read_to_string(&mut text);
        }
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// A subject token from the demo IdP for the client `app`, valid for ten minutes.
    pub(crate) fn subject_token(&self) -> Arc<String> {
        let now = self.clock.now();
        let claims = serde_json::json!({
            "iss": self.idp.issuer(), "sub": "user-1", "aud": "app",
            "iat": now, "exp": now + 600, "email": "ada@example.com",
        });
        Arc::new(
            idp_key(JwsAlg::RS256)
                .sign(&claims, &serde_json::json!({}))
                .unwrap(),
        )
    }
}

/// The one key directory every replica reads: the fixture signing and decryption keys and a
/// fresh front state key (32 random bytes, base64url, mode 0600), as an operator lays it out.
fn shared_keys(dir: &Path) -> PathBuf {
    let keys = dir.join("keys");
    std::fs::create_dir(&keys).unwrap();
    for file in ["signing-RS256.pem", "decryption-rsa.pem"] {
        std::fs::copy(fixture_keys().join(file), keys.join(file)).unwrap();
    }
    let mut random = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .unwrap()
        .read_exact(&mut random)
        .unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(keys.join("front-state.key"))
        .and_then(|mut file| {
            std::io::Write::write_all(
                &mut file,
                (URL_SAFE_NO_PAD.encode(random) + "\n").as_bytes(),
            )
        })
        .unwrap();
    keys
}

/// The replicas' config: the same for all but `listen`.
fn config(balancer: &str, port: u16, keys: &Path, idp: &str) -> String {
    format!(
        r#"issuer = "{balancer}"
listen = "127.0.0.1:{port}"
workers = 1

[keys]
dir = "{keys}"
generate = false

[[upstream]]
name = "op"
issuer = "{idp}"
danger_allow_http = true

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["op"]
audiences = ["app"]
rate_limit = {{ per_second = 10000, burst = 10000 }}

[[client]]
id = "bookstack"
secret = {{ sha256 = "{bookstack}" }}
upstreams = ["op"]
audiences = ["bookstack"]

[[front]]
client = "bookstack"
upstream = "op"
mode = "relay"
redirect_uris = ["{RP_CALLBACK}"]
"#,
        keys = keys.display(),
        app = digest("app"),
        bookstack = digest("bookstack"),
    )
}
