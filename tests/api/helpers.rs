//! The harness: a real tokenbridge on an ephemeral loopback port, a demo IdP on another, fixture
//! keys made once per run, and a log capture shared by the whole test binary.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::rsa::Rsa;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokenbridge::app::App;
use tokenbridge::clock::SystemClock;
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::IdpKey;
use tokenbridge::jose::alg::JwsAlg;
use tokenbridge::oauth::SecretDigest;

pub const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// Every client's secret in the default config: `{id}-secret-0123456789`.
pub fn secret_of(client: &str) -> String {
    format!("{client}-secret-0123456789")
}

pub fn now() -> i64 {
    tokenbridge::clock::SystemClock::shared().now()
}

/// The IdP keys, one per JWS algorithm, made once per test run (RSA generation is slow).
pub fn idp_key(alg: JwsAlg) -> Arc<IdpKey> {
    static KEYS: OnceLock<Vec<Arc<IdpKey>>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        JwsAlg::ALL
            .iter()
            .map(|&alg| Arc::new(IdpKey::generate(alg, &format!("idp-{}", alg.name())).unwrap()))
            .collect()
    });
    keys.iter().find(|key| key.alg() == alg).unwrap().clone()
}

/// A second RSA key the IdP rotates to.
pub fn rotated_idp_key() -> Arc<IdpKey> {
    static KEY: OnceLock<Arc<IdpKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(IdpKey::generate(JwsAlg::RS256, "idp-rotated").unwrap()))
        .clone()
}

/// An attacker's key: valid, but not in any configured JWKS.
pub fn attacker_key() -> Arc<IdpKey> {
    static KEY: OnceLock<Arc<IdpKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(IdpKey::generate(JwsAlg::RS256, "idp-RS256").unwrap()))
        .clone()
}

/// tokenbridge's key files (RSA decryption, P-256 decryption, signing keys), written once.
pub fn fixture_keys() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = TempDir::new().unwrap().keep();
        let rsa = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
        // PKCS#1, as many IdP exports are.
        std::fs::write(
            dir.join("decryption-rsa.pem"),
            rsa.rsa().unwrap().private_key_to_pem().unwrap(),
        )
        .unwrap();
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let ec = EcKey::generate(&group).unwrap();
        // SEC1.
        std::fs::write(
            dir.join("decryption-ec.pem"),
            ec.private_key_to_pem().unwrap(),
        )
        .unwrap();
        for alg in JwsAlg::SIGNING {
            let pem = match alg.name() {
                "RS256" | "PS256" => PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
                "ES256" => PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap(),
                _ => PKey::generate_ed25519().unwrap(),
            }
            .private_key_to_pem_pkcs8()
            .unwrap();
            std::fs::write(dir.join(format!("signing-{}.pem", alg.name())), pem).unwrap();
        }
        dir
    })
}

/// `[[keys.signing]]` entries for the fixture key of every signing algorithm tokenbridge offers.
pub fn fixture_signing_keys() -> String {
    let fixtures = fixture_keys();
    JwsAlg::SIGNING
        .iter()
        .map(|alg| {
            format!(
                "[[keys.signing]]\nfile = \"{}\"\nalg = \"{}\"\n\n",
                fixtures
                    .join(format!("signing-{}.pem", alg.name()))
                    .display(),
                alg.name()
            )
        })
        .collect()
}

/// Every JWS algorithm an upstream may be allowed, as a TOML array's items.
pub fn every_jws_alg() -> String {
    JwsAlg::ALL
        .iter()
        .map(|alg| format!("{:?}", alg.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The upstream and client sections every test app has, unless a test gives its own.
pub fn default_policy() -> String {
    let all_algs = every_jws_alg();
    format!(
        r#"
[[upstream]]
name = "idp"
issuer = "{{idp}}"
danger_allow_http = true
algorithms = [{all_algs}]
refetch_cooldown = "30s"

[[upstream]]
name = "other"
issuer = "https://127.0.0.1:1"

[[client]]
id = "app"
secret = {{ sha256 = "{app}" }}
upstreams = ["idp"]
audiences = ["app"]
# The mutation test sends hundreds of requests.
rate_limit = {{ per_second = 1000, burst = 1000 }}

[[client]]
id = "only"
secret = {{ sha256 = "{only}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "only"

[[client]]
id = "first"
secret = {{ sha256 = "{first}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "first"

[[client]]
id = "requested"
secret = {{ sha256 = "{requested}" }}
upstreams = ["idp"]
audiences = ["a1", "a2", "a3", "a4", "a5"]
select = "requested"

[[client]]
id = "rewriter"
secret = {{ sha256 = "{rewriter}" }}
upstreams = ["idp"]
audiences = ["295634102486564608@bookstack"]
rewrite = {{ "295634102486564608@bookstack" = "bookstack" }}

[[client]]
id = "stranger"
secret = {{ sha256 = "{stranger}" }}
upstreams = ["other"]
audiences = ["app"]

[[client]]
id = "ps256"
secret = {{ sha256 = "{ps256}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "PS256"

[[client]]
id = "es256"
secret = {{ sha256 = "{es256}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "ES256"

[[client]]
id = "eddsa"
secret = {{ sha256 = "{eddsa}" }}
upstreams = ["idp"]
audiences = ["app"]
signing_alg = "EdDSA"

[[client]]
id = "limited"
secret = {{ sha256 = "{limited}" }}
upstreams = ["idp"]
audiences = ["app"]
rate_limit = {{ per_second = 0.01, burst = 2 }}
"#,
        app = digest("app"),
        only = digest("only"),
        first = digest("first"),
        requested = digest("requested"),
        rewriter = digest("rewriter"),
        stranger = digest("stranger"),
        ps256 = digest("ps256"),
        es256 = digest("es256"),
        eddsa = digest("eddsa"),
        limited = digest("limited"),
    )
}

/// Only the demo IdP as upstream (with `upstream_extra` lines) and one client, "app", so that
/// readiness and fetch counts depend on the demo IdP alone.
pub fn only_the_demo_idp(upstream_extra: &str) -> Options {
    Options {
        policy: format!(
            "[[upstream]]\nname = \"idp\"\nissuer = \"{{idp}}\"\ndanger_allow_http = true\n{upstream_extra}\n\n[[client]]\nid = \"app\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"idp\"]\naudiences = [\"app\"]\nrate_limit = {{ per_second = 1000, burst = 1000 }}\n",
            digest("app")
        ),
        ..Options::default()
    }
}

/// The SHA-256 of `client`'s test secret, as its config entry holds it.
pub fn digest(client: &str) -> String {
    SecretDigest::of(secret_of(client).as_bytes()).to_hex()
}

/// A tokenbridge on an ephemeral loopback port, stopped when dropped.
pub struct Service {
    pub base: String,
    pub http: reqwest::Client,
    handle: actix_web::dev::ServerHandle,
    _dir: TempDir,
}

impl Service {
    /// Starts with `sections` (limits, keys, upstreams, clients, fronts) after `issuer` and
    /// `listen`; `{dir}` in them names a fresh temporary directory.
    pub async fn start(sections: &str) -> Service {
        capture_logs();
        let dir = TempDir::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let config = format!(
            "issuer = \"{base}\"\nlisten = \"127.0.0.1:0\"\nworkers = 2\n{}",
            sections.replace("{dir}", &dir.path().display().to_string())
        );
        let config =
            tokenbridge::config::parse(&config, dir.path()).unwrap_or_else(|err| panic!("{err}"));
        let app = App::build_on(config, SystemClock::shared(), listener)
            .await
            .unwrap();
        let handle = app.handle();
        tokio::spawn(app.run_until_stopped());
        Service {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            handle,
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The public JWK of tokenbridge's encryption key of this `kty`.
    pub async fn encryption_key(&self, kty: &str) -> Value {
        let jwks: Value = self.get_json("/.well-known/encryption-keys.json").await;
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kty"] == kty)
            .cloned()
            .unwrap()
    }

    /// `/readyz`'s status code.
    pub async fn ready_status(&self) -> u16 {
        self.http
            .get(self.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        self.http
            .get(self.url(path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A form exchange as `client` with Basic authentication.
    pub async fn exchange(&self, client: &str, token: &str, extra: &[(&str, &str)]) -> Answer {
        let mut form = vec![
            ("grant_type", GRANT),
            ("subject_token", token),
            ("subject_token_type", ID_TOKEN),
        ];
        form.extend_from_slice(extra);
        let request = self
            .http
            .post(self.url("/exchange"))
            .basic_auth(client, Some(secret_of(client)))
            .form(&form);
        send(request).await
    }

    /// Starts beside an IdP at `idp_issuer` (upstream "op", fetched on first use), with one
    /// client per name (audience: its own name) and, if asked, a front for each.
    pub async fn beside(idp_issuer: &str, clients: &[&str], with_fronts: bool) -> Service {
        let mut sections = format!(
            "[keys]\ndir = \"{{dir}}\"\n\n[[upstream]]\nname = \"op\"\nissuer = \"{idp_issuer}\"\ndanger_allow_http = true\n\n"
        );
        for client in clients {
            sections.push_str(&format!(
                "[[client]]\nid = \"{client}\"\nsecret = {{ sha256 = \"{}\" }}\nupstreams = [\"op\"]\naudiences = [\"{client}\"]\n\n",
                digest(client)
            ));
            if with_fronts {
                sections.push_str(&format!(
                    "[[front]]\nclient = \"{client}\"\nupstream = \"op\"\n\n"
                ));
            }
        }
        Service::start(&sections).await
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move { handle.stop(false).await });
        }
    }
}

/// A service with the demo IdP as its upstream; the service's own helpers are reached through it.
pub struct TestApp {
    pub idp: DemoIdp,
    service: Service,
}

impl std::ops::Deref for TestApp {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

pub struct Options {
    /// The policy sections; `{idp}` is replaced by the demo IdP's issuer.
    pub policy: String,
    /// Extra top-level TOML (limits) placed before the sections.
    pub limits: String,
    pub is_idp_down_at_start: bool,
    /// Replaces the whole `[keys]` section (fixture keys by default).
    pub keys: Option<String>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            policy: default_policy(),
            limits: String::new(),
            is_idp_down_at_start: false,
            keys: None,
        }
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    let keys: Vec<Arc<IdpKey>> = JwsAlg::ALL.iter().map(|&alg| idp_key(alg)).collect();
    let idp = DemoIdp::start(&keys.iter().map(Arc::as_ref).collect::<Vec<_>>()).unwrap();
    idp.set_failing(options.is_idp_down_at_start);

    let fixtures = fixture_keys();
    let signing = fixture_signing_keys();
    let keys = options.keys.unwrap_or_else(|| {
        format!(
            r#"
[keys]
dir = "{{dir}}"
decryption_algs = ["RSA-OAEP", "RSA-OAEP-256", "ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"]

{signing}
[[keys.decryption]]
file = "{rsa}"

[[keys.decryption]]
file = "{ec}"
"#,
            rsa = fixtures.join("decryption-rsa.pem").display(),
            ec = fixtures.join("decryption-ec.pem").display(),
        )
    });
    let service = Service::start(&format!(
        "{limits}\n{keys}\n{policy}\n",
        limits = options.limits,
        policy = options.policy.replace("{idp}", idp.issuer()),
    ))
    .await;
    TestApp { idp, service }
}

/// What `/exchange` answered.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub fn token(&self) -> &str {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {} {}", self.status, self.body))
    }

    pub fn assert_refused(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, error),
            "body: {}",
            self.body
        );
        assert!(self.body.get("access_token").is_none());
    }
}

impl TestApp {
    /// An ID token from the demo IdP: `iss`, `sub`, `aud`, `iat`, `exp` filled in, then `extra`.
    pub fn id_token(&self, aud: Value, extra: Value) -> String {
        self.id_token_signed(&idp_key(JwsAlg::RS256), aud, extra)
    }

    pub fn id_token_signed(&self, key: &IdpKey, aud: Value, extra: Value) -> String {
        key.sign(&self.claims(aud, extra), &json!({})).unwrap()
    }

    pub fn claims(&self, aud: Value, extra: Value) -> Value {
        let now = now();
        let mut claims = json!({
            "iss": self.idp.issuer(),
            "sub": "user-1",
            "aud": aud,
            "iat": now,
            "exp": now + 600,
            "email": "ada@example.com",
        });
        if let (Value::Object(claims), Value::Object(extra)) = (&mut claims, extra) {
            for (name, value) in extra {
                if value.is_null() {
                    claims.remove(&name);
                } else {
                    claims.insert(name, value);
                }
            }
        }
        claims
    }
}

pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

/// The header and claims of a compact JWS, unverified.
pub fn decode(token: &str) -> (Value, Value) {
    (json_part(token, 0), json_part(token, 1))
}

/// The protected header of a compact JWS or JWE.
pub fn protected_header(token: &str) -> Value {
    json_part(token, 0)
}

fn json_part(token: &str, index: usize) -> Value {
    use base64::Engine;
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

/// Verifies an issued token against tokenbridge's published JWKS with jsonwebtoken (not our
/// verifier), requiring our issuer and the single audience; returns the claims.
pub async fn verify_issued(app: &TestApp, token: &str, audience: &str) -> Value {
    use jsonwebtoken::{DecodingKey, Validation, decode_header, jwk::JwkSet};
    let jwks: JwkSet =
        serde_json::from_value(app.get_json("/.well-known/jwks.json").await).unwrap();
    let header = decode_header(token).unwrap();
    let kid = header.kid.clone().unwrap();
    let jwk = jwks
        .find(&kid)
        .unwrap_or_else(|| panic!("kid {kid} is not in the JWKS"));
    let key = DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[&app.base]);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    let claims = jsonwebtoken::decode::<Value>(token, &key, &validation)
        .unwrap()
        .claims;
    assert!(
        claims["aud"].is_string(),
        "aud must be one string: {claims}"
    );
    claims
}

/// tests/e2e, where the npm side of the tests lives; its packages must be installed.
pub fn e2e_dir() -> PathBuf {
    installed_npm_dir("tests/e2e")
}

/// tests/interop: the independent JOSE implementations and the legacy validators.
pub fn interop_dir() -> PathBuf {
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
pub fn venv_python() -> PathBuf {
    venv_tool("python")
}

/// A program of the pinned Python test tools in .venv (schemathesis, hadolint, …).
pub fn venv_tool(name: &str) -> PathBuf {
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
pub async fn run_node(args: Vec<String>) -> Value {
    let mut command = Command::new("node");
    command.args(&args).current_dir(e2e_dir());
    run_to_json(command, None).await
}

/// Runs a program to its end with `input` on its stdin, off the async threads; returns the one
/// JSON line it prints.
pub async fn run_to_json(mut command: Command, input: Option<Value>) -> Value {
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
pub struct Node {
    child: Child,
    pub ready: Value,
}

impl Node {
    pub fn start(script: &str, config: &Value) -> Node {
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
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every log line of this test binary, for tests that look for what was (or wasn't) logged.
pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct Capture;

/// Every log line of the run also goes here. This test binary's log file: `api-test-logs.txt` for the api tests, which tests/log_audit.rs
/// reads; other binaries that share these helpers write their own.
pub fn log_file() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}-test-logs.txt", env!("CARGO_CRATE_NAME")))
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

fn capture_logs() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let _ = LOG_FILE.set(Mutex::new(std::fs::File::create(log_file()).unwrap()));
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
