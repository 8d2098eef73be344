//! The service harness: a real tokenbridge on an ephemeral loopback port (`Service`), beside the
//! demo IdP (`TestApp`, `spawn_app`), on the system clock or on a `ManualClock` a test moves; and
//! what `/exchange` answered (`Answer`).

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use tempfile::TempDir;
use tokenbridge::app::App;
use tokenbridge::clock::{ManualClock, SharedClock, SystemClock};
use tokenbridge::demo::idp::DemoIdp;
use tokenbridge::demo::mint::{IdpKey, encrypt};
use tokenbridge::jose::alg::{JweAlg, JweEnc, JwsAlg};
use tokenbridge::reload::Reloader;

use super::config::{default_policy, digest, fixture_keys_section, secret_of};
use super::keys::idp_key;
use super::logs::capture_logs;
use super::tokens::now;

pub(crate) const GRANT: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
pub(crate) const ID_TOKEN: &str = "urn:ietf:params:oauth:token-type:id_token";
pub(crate) const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";
pub(crate) const JWT: &str = "urn:ietf:params:oauth:token-type:jwt";

/// A tokenbridge on an ephemeral loopback port, stopped when dropped.
pub(crate) struct Service {
    pub base: String,
    pub http: reqwest::Client,
    /// Reloads the service from `config_path`, as SIGHUP or a changed file would.
    pub reloader: Arc<Reloader>,
    /// The config file the service started from, in `dir`.
    pub config_path: PathBuf,
    /// The telemetry listener's port, when the config has `[telemetry] listen`.
    pub telemetry_port: Option<u16>,
    /// `issuer`, `listen` and `workers`, which every config the test writes starts with.
    header: String,
    handle: actix_web::dev::ServerHandle,
    dir: TempDir,
}

impl Service {
    /// Starts with `sections` (limits, keys, upstreams, clients, fronts) after `issuer` and
    /// `listen`; `{dir}` in them names a fresh temporary directory.
    pub(crate) async fn start(sections: &str) -> Service {
        Service::start_with_clock(sections, SystemClock::shared()).await
    }

    /// Starts like `start`, with `clock` as the service's only time source.
    pub(crate) async fn start_with_clock(sections: &str, clock: SharedClock) -> Service {
        capture_logs();
        let dir = TempDir::new().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        let header = format!("issuer = \"{base}\"\nlisten = \"127.0.0.1:0\"\nworkers = 2\n");
        let config_path = dir.path().join("config.toml");
        let text = with_dir(&format!("{header}{sections}"), &dir);
        // Checked first so that a test's bad config fails with its problems, not at start.
        tokenbridge::config::parse(&text, dir.path()).unwrap_or_else(|err| panic!("{err}"));
        std::fs::write(&config_path, text).unwrap();
        let app = App::build_from_file_on(&config_path, clock, listener)
            .await
            .unwrap_or_else(|err| panic!("{err}"));
        let handle = app.handle();
        let reloader = app.reloader();
        let telemetry_port = app.telemetry_port();
        tokio::spawn(app.run_until_stopped());
        Service {
            base,
            http: reqwest::Client::builder().no_proxy().build().unwrap(),
            reloader,
            config_path,
            telemetry_port,
            header,
            handle,
            dir,
        }
    }

    /// A config file's text: the same `issuer`, `listen` and `workers` as at start, then
    /// `sections` (`{dir}` as at start).
    pub(crate) fn config_text(&self, sections: &str) -> String {
        with_dir(&format!("{}{sections}", self.header), &self.dir)
    }

    /// The temporary directory `{dir}` names.
    pub(crate) fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The public JWK of tokenbridge's encryption key of this `kty`.
    pub(crate) async fn encryption_key(&self, kty: &str) -> Value {
        let jwks: Value = self.get_json("/.well-known/encryption-keys.json").await;
        jwks["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|key| key["kty"] == kty)
            .cloned()
            .unwrap()
    }

    /// `jws` as the usual JWE subject token: RSA-OAEP-256 and A256GCM to tokenbridge's RSA
    /// encryption key, no extra header members.
    pub(crate) async fn rsa_jwe(&self, jws: &str) -> String {
        encrypt(
            jws,
            &self.encryption_key("RSA").await,
            JweAlg::RsaOaep256,
            JweEnc::A256Gcm,
            &json!({}),
        )
        .unwrap()
    }

    /// `/metrics` from the telemetry listener, asking for `accept` (`None`: what promtool and
    /// curl get): the `Content-Type` and the text. The scrape must succeed.
    pub(crate) async fn scrape_metrics(&self, accept: Option<&str>) -> (String, String) {
        let port = self.telemetry_port.expect("the telemetry listener runs");
        let mut request = self.http.get(format!("http://127.0.0.1:{port}/metrics"));
        if let Some(accept) = accept {
            request = request.header("accept", accept);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        (content_type, response.text().await.unwrap())
    }

    /// `/readyz`'s status code.
    pub(crate) async fn ready_status(&self) -> u16 {
        self.http
            .get(self.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub(crate) async fn get_json(&self, path: &str) -> Value {
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
    pub(crate) async fn exchange(
        &self,
        client: &str,
        token: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        self.exchange_typed(client, token, ID_TOKEN, extra).await
    }

    /// `exchange` with another `subject_token_type`.
    pub(crate) async fn exchange_typed(
        &self,
        client: &str,
        token: &str,
        subject_token_type: &str,
        extra: &[(&str, &str)],
    ) -> Answer {
        let mut form = vec![
            ("grant_type", GRANT),
            ("subject_token", token),
            ("subject_token_type", subject_token_type),
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
    pub(crate) async fn beside(idp_issuer: &str, clients: &[&str], with_fronts: bool) -> Service {
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

fn with_dir(text: &str, dir: &TempDir) -> String {
    text.replace("{dir}", &dir.path().display().to_string())
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
pub(crate) struct TestApp {
    pub idp: DemoIdp,
    service: Service,
    /// The limits and keys sections the app started with, which `write_policy` keeps.
    limits_and_keys: String,
    /// The service's clock when the test asked for a manual one.
    clock: Option<Arc<ManualClock>>,
}

impl std::ops::Deref for TestApp {
    type Target = Service;

    fn deref(&self) -> &Service {
        &self.service
    }
}

pub(crate) struct Options {
    /// The policy sections; `{idp}` is replaced by the demo IdP's issuer.
    pub policy: String,
    /// Extra top-level TOML (limits) placed before the sections.
    pub limits: String,
    pub is_idp_down_at_start: bool,
    /// Replaces the whole `[keys]` section (fixture keys by default).
    pub keys: Option<String>,
    /// The service runs on a `ManualClock`, set to the real time at start, that stands still
    /// until the test moves it (`TestApp::clock`); otherwise on the system clock.
    pub is_clock_manual: bool,
    /// The demo IdP names this issuer instead of its loopback address; `{idp_loopback}` in the
    /// policy is where it really listens.
    pub idp_public_issuer: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            policy: default_policy(),
            limits: String::new(),
            is_idp_down_at_start: false,
            keys: None,
            is_clock_manual: false,
            idp_public_issuer: None,
        }
    }
}

pub(crate) async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub(crate) async fn spawn_app_with(options: Options) -> TestApp {
    let keys: Vec<Arc<IdpKey>> = JwsAlg::ALL.iter().map(|&alg| idp_key(alg)).collect();
    let keys: Vec<&IdpKey> = keys.iter().map(Arc::as_ref).collect();
    let idp = match options.idp_public_issuer {
        Some(issuer) => DemoIdp::start_behind(&keys, issuer),
        None => DemoIdp::start(&keys),
    }
    .unwrap();
    idp.set_failing(options.is_idp_down_at_start);

    let keys = options.keys.unwrap_or_else(fixture_keys_section);
    let clock = options.is_clock_manual.then(|| ManualClock::at(now()));
    let limits_and_keys = format!("{}\n{keys}\n", options.limits);
    let sections = format!(
        "{limits_and_keys}{policy}\n",
        policy = options
            .policy
            .replace("{idp}", idp.issuer())
            .replace("{idp_loopback}", &idp.loopback_origin()),
    );
    let service = match &clock {
        Some(clock) => Service::start_with_clock(&sections, clock.clone()).await,
        None => Service::start(&sections).await,
    };
    TestApp {
        idp,
        service,
        limits_and_keys,
        clock,
    }
}

/// What `/exchange` answered.
pub(crate) struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub(crate) fn error(&self) -> &str {
        self.body["error"].as_str().unwrap_or("")
    }

    pub(crate) fn token(&self) -> &str {
        self.body["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("no token: {} {}", self.status, self.body))
    }

    pub(crate) fn assert_refused(&self, status: u16, error: &str) {
        assert_eq!(
            (self.status, self.error()),
            (status, error),
            "body: {}",
            self.body
        );
        assert!(self.body.get("access_token").is_none());
    }
}

pub(crate) async fn send(request: reqwest::RequestBuilder) -> Answer {
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

impl TestApp {
    /// Replaces the config file's policy (upstreams, clients, fronts; `{idp}` is the demo IdP),
    /// keeping the limits and keys the app started with.
    pub(crate) fn write_policy(&self, policy: &str) {
        std::fs::write(&self.config_path, self.policy_text(policy)).unwrap();
    }

    /// What `write_policy` writes.
    pub(crate) fn policy_text(&self, policy: &str) -> String {
        self.config_text(&format!(
            "{}{}\n",
            self.limits_and_keys,
            policy.replace("{idp}", self.idp.issuer())
        ))
    }

    /// The service's manual clock; the app must have been started with `is_clock_manual`.
    pub(crate) fn clock(&self) -> &ManualClock {
        self.clock
            .as_deref()
            .expect("start the app with Options { is_clock_manual: true, .. }")
    }

    /// The service's now: its manual clock's, else the system clock's.
    pub(crate) fn now(&self) -> i64 {
        self.clock
            .as_ref()
            .map_or_else(now, |clock| tokenbridge::clock::Clock::now(clock.as_ref()))
    }
}

/// The `[telemetry]` section that starts the telemetry listener (where `/metrics` is served) on a
/// free port, for `Options::limits`.
pub(crate) const TELEMETRY_LISTENER: &str = "[telemetry]\nlisten = \"127.0.0.1:0\"\n";

/// The value of the sample whose name and labels are exactly `series` (labels in the order the
/// scrape writes them), in a scrape's text.
pub(crate) fn metric_sample(scrape: &str, series: &str) -> Option<f64> {
    scrape.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.split_whitespace().next()?.parse().ok()
    })
}
