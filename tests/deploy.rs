//! The deployment files, checked without a container engine: docker-compose.yml against the
//! compose specification, the Dockerfile through hadolint and against the tree it copies, the
//! Keycloak realm import and tokenbridge's compose config against each other, and the
//! `tokenbridge health` probe the image's HEALTHCHECK runs, against real servers on loopback;
//! and the Kubernetes manifests (deploy/kubernetes), rendered and validated (kubernetes.rs).
//!
//! The tools (check-jsonschema, hadolint, kubernetes-validate, PyYAML) live in ./.venv, installed
//! by tests/setup.sh; kubectl is Debian's kubernetes-client.
// Tests abort on a broken fixture; that is what unwrap/panic mean here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;
#[path = "deploy/kubernetes.rs"]
mod kubernetes;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use helpers::{free_port, venv_tool};

const REALM_FILE: &str = "deploy/keycloak/tokenbridge-demo-realm.json";
const CONFIG_FILE: &str = "deploy/tokenbridge/tokenbridge.toml";
const DEMO_SCRIPT: &str = "deploy/demo/reproduce.py";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(repo().join(relative))
        .unwrap_or_else(|err| panic!("cannot read {relative}: {err}"))
}

fn run(command: &mut Command) -> Output {
    command
        .current_dir(repo())
        .output()
        .unwrap_or_else(|err| panic!("cannot run {command:?}: {err}"))
}

fn describe(output: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn yaml_as_json(relative: &str) -> Value {
    let output = run(Command::new(venv_tool("python")).args([
        "-c",
        "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)",
        relative,
    ]));
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn compose() -> Value {
    yaml_as_json("docker-compose.yml")
}

fn realm() -> Value {
    serde_json::from_str(&read(REALM_FILE)).unwrap()
}

fn config() -> toml::Table {
    read(CONFIG_FILE).parse().unwrap()
}

fn str_at<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("no string at {pointer}"))
}

fn toml_str<'a>(table: &'a toml::Table, key: &str) -> &'a str {
    table
        .get(key)
        .and_then(toml::Value::as_str)
        .unwrap_or_else(|| panic!("no string {key} in {table:?}"))
}

fn toml_tables<'a>(table: &'a toml::Table, key: &str) -> Vec<&'a toml::Table> {
    table
        .get(key)
        .and_then(toml::Value::as_array)
        .unwrap_or_else(|| panic!("no array {key}"))
        .iter()
        .map(|entry| entry.as_table().unwrap())
        .collect()
}

fn url(text: &str) -> url::Url {
    url::Url::parse(text).unwrap_or_else(|err| panic!("{text} is not a URL: {err}"))
}

/// The container ports a service publishes (`"127.0.0.1:8080:8080"` → 8080).
fn published_container_ports(service: &Value) -> Vec<u16> {
    service["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|port| {
            let text = port.as_str().expect("ports in short syntax");
            text.rsplit(':').next().unwrap().parse().unwrap()
        })
        .collect()
}

fn published_host_ports(compose: &Value) -> BTreeSet<u16> {
    compose["services"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|service| {
            service["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|port| {
                    let parts: Vec<&str> = port.as_str().unwrap().split(':').collect();
                    parts[parts.len() - 2].parse::<u16>().unwrap()
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

fn bind_mount_target(service: &Value, source: &str) -> String {
    service["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find_map(|volume| {
            let mut parts = volume.split(':');
            (parts.next() == Some(source)).then(|| parts.next().unwrap().to_owned())
        })
        .unwrap_or_else(|| panic!("no volume from {source} in {service}"))
}

// ---------------------------------------------------------------- compose and Dockerfile lint

#[test]
fn the_compose_file_matches_the_compose_specification() {
    let output = run(Command::new(venv_tool("check-jsonschema")).args([
        "--builtin-schema",
        "vendor.compose-spec",
        "docker-compose.yml",
    ]));
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn the_dockerfile_passes_hadolint_and_every_ignored_rule_says_why() {
    let output = run(Command::new(venv_tool("hadolint")).args([
        "--config",
        ".hadolint.yaml",
        "--no-color",
        "Dockerfile",
    ]));
    // hadolint's default threshold fails on any finding, info level included.
    assert!(output.status.success(), "{}", describe(&output));

    let settings = read(".hadolint.yaml");
    let lines: Vec<&str> = settings.lines().collect();
    for (index, line) in lines.iter().enumerate() {
        if line.trim_start().starts_with("- DL") || line.trim_start().starts_with("- SC") {
            let previous = lines[..index]
                .last()
                .map(|line| line.trim_start())
                .unwrap_or("");
            assert!(
                previous.starts_with('#'),
                ".hadolint.yaml ignores {} without a comment saying why",
                line.trim()
            );
        }
    }
}

#[test]
fn the_dockerfile_is_multi_stage_pinned_non_root_and_health_checked() {
    let dockerfile = read("Dockerfile");
    let froms: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("FROM "))
        .collect();
    assert_eq!(froms.len(), 2, "a builder and a runtime stage: {froms:?}");
    for from in &froms {
        let image = from.split_whitespace().next().unwrap();
        let (_, tag) = image
            .split_once(':')
            .unwrap_or_else(|| panic!("{image} has no tag"));
        assert!(
            tag.starts_with(|c: char| c.is_ascii_digit()) && tag.contains('.'),
            "{image} is not pinned to a version"
        );
    }

    // The builder's toolchain is at least the crate's rust-version.
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let rust_version = manifest["package"]["rust-version"].as_str().unwrap();
    let builder_tag = froms[0]
        .strip_prefix("rust:")
        .expect("the builder is an official rust image")
        .split('-')
        .next()
        .unwrap();
    let version =
        |text: &str| -> Vec<u32> { text.split('.').map(|n| n.parse().unwrap()).collect() };
    assert!(
        version(builder_tag) >= version(rust_version),
        "rust:{builder_tag} is older than rust-version {rust_version}"
    );
    assert!(
        dockerfile.contains("cargo build --release --locked"),
        "the build must use the lock file"
    );

    let runtime = dockerfile.split("\nFROM ").nth(2).unwrap();
    let user = runtime
        .lines()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("the runtime stage sets USER");
    assert!(
        !["root", "0", "0:0"].contains(&user.trim()),
        "runs as {user}"
    );
    assert!(
        runtime.contains("HEALTHCHECK") && runtime.contains("\"health\""),
        "the runtime stage's HEALTHCHECK runs `tokenbridge health`"
    );
}

#[test]
fn the_dockerfile_copies_files_that_exist_and_that_dockerignore_keeps() {
    let dockerfile = read("Dockerfile");
    let dockerignore = read(".dockerignore");
    let patterns: Vec<&str> = dockerignore
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    let sources: Vec<&str> = dockerfile
        .lines()
        .filter_map(|line| line.strip_prefix("COPY "))
        .filter(|args| !args.starts_with("--from"))
        .flat_map(|args| {
            let words: Vec<&str> = args.split_whitespace().collect();
            words[..words.len() - 1].to_vec()
        })
        .collect();
    assert!(sources.contains(&"Cargo.lock"), "{sources:?}");
    for source in sources {
        assert!(
            repo().join(source).exists(),
            "the Dockerfile copies {source}, which does not exist"
        );
        // .dockerignore is an allowlist: everything is excluded, then the build's inputs are
        // let back in. Each copied path must be let back in.
        assert!(
            patterns.contains(&format!("!{source}").as_str()),
            ".dockerignore does not let {source} into the build context"
        );
    }
    for excluded in ["target", "node_modules", ".venv", "fuzz/target", "keys"] {
        assert!(
            patterns.iter().any(|pattern| pattern.contains(excluded)),
            ".dockerignore should name {excluded}"
        );
    }
}

#[test]
fn the_lock_file_is_current_so_the_images_locked_build_can_resolve() {
    // `cargo build --release --locked` in the Dockerfile fails if Cargo.lock is stale; this is
    // that part of the build, without compiling.
    let output =
        run(Command::new(env!("CARGO")).args(["metadata", "--locked", "--format-version", "1"]));
    assert!(output.status.success(), "{}", describe(&output));
}

// ---------------------------------------------------------------- the realm and the config

#[test]
fn the_realm_encrypts_mirotalks_id_tokens_to_tokenbridge_and_adds_audiences() {
    let realm = realm();
    assert_eq!(str_at(&realm, "/realm"), "tokenbridge-demo");
    let clients = realm["clients"].as_array().unwrap();
    let client = |id: &str| {
        clients
            .iter()
            .find(|client| client["clientId"] == id)
            .unwrap_or_else(|| panic!("no client {id} in the realm"))
    };

    let mirotalk = client("mirotalk");
    let attributes = &mirotalk["attributes"];
    assert_eq!(
        attributes["id.token.encrypted.response.alg"],
        "RSA-OAEP-256"
    );
    let enc = attributes["id.token.encrypted.response.enc"]
        .as_str()
        .unwrap();
    assert!(
        [
            "A128CBC-HS256",
            "A192CBC-HS384",
            "A256CBC-HS512",
            "A128GCM",
            "A192GCM",
            "A256GCM"
        ]
        .contains(&enc),
        "{enc} is not a content encryption tokenbridge accepts"
    );
    assert_eq!(attributes["use.jwks.url"], "true");
    let jwks_url = url(attributes["jwks.url"].as_str().unwrap());
    assert_eq!(jwks_url.path(), "/.well-known/encryption-keys.json");

    let bookstack = client("bookstack");
    assert!(
        bookstack["attributes"]
            .get("id.token.encrypted.response.alg")
            .is_none(),
        "BookStack's tokens stay signed only, so its failure is the audience count"
    );

    for client in [mirotalk, bookstack] {
        let extra: Vec<&str> = client["protocolMappers"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|mapper| {
                mapper["protocolMapper"] == "oidc-audience-mapper"
                    && mapper["config"]["id.token.claim"] == "true"
            })
            .map(|mapper| str_at(mapper, "/config/included.custom.audience"))
            .collect();
        assert!(
            extra.len() >= 2,
            "{}: at least two extra audiences in the ID token, got {extra:?}",
            client["clientId"]
        );
        assert!(!extra.contains(&client["clientId"].as_str().unwrap()));
        assert_eq!(client["publicClient"], false);
        assert_eq!(
            client["directAccessGrantsEnabled"], true,
            "the demo's login"
        );
        assert_eq!(client["standardFlowEnabled"], true, "a browser login");
    }
}

#[test]
fn the_compose_config_passes_tokenbridge_check() {
    let output = run(Command::new(env!("CARGO_BIN_EXE_tokenbridge")).args([
        "check",
        "--config",
        CONFIG_FILE,
    ]));
    assert!(output.status.success(), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("the configuration is valid (1 upstream, 2 clients)"),
        "{stderr}"
    );
}

#[test]
fn compose_the_config_and_the_realm_name_the_same_hosts_ports_issuers_and_clients() {
    let compose = compose();
    let config = config();
    let realm = realm();
    let services = &compose["services"];
    let keycloak = &services["keycloak"];
    let tokenbridge = &services["tokenbridge"];
    let demo = &services["demo"];

    // Keycloak: a pinned image in dev mode, importing the realm file.
    let image = str_at(keycloak, "/image");
    let version = image
        .strip_prefix("quay.io/keycloak/keycloak:")
        .expect("the official Keycloak image");
    assert!(
        version.split('.').count() == 3 && version.split('.').all(|n| n.parse::<u32>().is_ok()),
        "Keycloak pinned to x.y.z, got {version}"
    );
    let command: Vec<&str> = keycloak["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|word| word.as_str().unwrap())
        .collect();
    assert_eq!(command, ["start-dev", "--import-realm"]);
    let import = bind_mount_target(keycloak, &format!("./{REALM_FILE}"));
    assert!(
        import.starts_with("/opt/keycloak/data/import/") && import.ends_with(".json"),
        "{import}"
    );

    // One Keycloak issuer everywhere: KC_HOSTNAME + /realms/<realm>.
    let hostname = url(str_at(keycloak, "/environment/KC_HOSTNAME"));
    let keycloak_issuer = format!(
        "{}/realms/{}",
        hostname.as_str().trim_end_matches('/'),
        str_at(&realm, "/realm")
    );
    let upstreams = toml_tables(&config, "upstream");
    assert_eq!(upstreams.len(), 1);
    assert_eq!(toml_str(upstreams[0], "issuer"), keycloak_issuer);
    assert_eq!(
        str_at(demo, "/environment/KEYCLOAK_ISSUER"),
        keycloak_issuer
    );
    // ... reachable under that name from the containers (a network alias) and the host (the
    // same port published, *.localhost resolving to loopback in browsers).
    let keycloak_host = hostname.host_str().unwrap();
    let aliases = keycloak["networks"]["default"]["aliases"]
        .as_array()
        .unwrap();
    assert!(
        aliases.iter().any(|alias| alias == keycloak_host),
        "{keycloak_host} is not a network alias of keycloak"
    );
    assert!(keycloak_host.ends_with(".localhost"), "{keycloak_host}");
    let keycloak_port = hostname.port_or_known_default().unwrap();
    assert_eq!(
        str_at(keycloak, "/environment/KC_HTTP_PORT"),
        keycloak_port.to_string()
    );
    assert_eq!(published_container_ports(keycloak), [keycloak_port]);
    assert!(published_host_ports(&compose).contains(&keycloak_port));

    // tokenbridge: its issuer is the service's name and the port it listens on and publishes;
    // Keycloak fetches the encryption key from there.
    let issuer = url(toml_str(&config, "issuer"));
    assert_eq!(issuer.host_str(), Some("tokenbridge"));
    let listen_port: u16 = toml_str(&config, "listen")
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(issuer.port_or_known_default(), Some(listen_port));
    assert_eq!(published_container_ports(tokenbridge), [listen_port]);
    assert_eq!(
        str_at(demo, "/environment/TOKENBRIDGE_URL"),
        toml_str(&config, "issuer")
    );
    let clients = realm["clients"].as_array().unwrap();
    let mirotalk = clients
        .iter()
        .find(|client| client["clientId"] == "mirotalk")
        .unwrap();
    assert_eq!(
        str_at(mirotalk, "/attributes/jwks.url"),
        format!(
            "{}/.well-known/encryption-keys.json",
            toml_str(&config, "issuer")
        )
    );

    // The config file is mounted where the image's CMD reads it; the keys directory is a named
    // volume.
    let config_target = bind_mount_target(tokenbridge, &format!("./{CONFIG_FILE}"));
    assert!(
        read("Dockerfile").contains(&format!("\"--config\", \"{config_target}\"")),
        "the image's CMD reads {config_target}"
    );
    let keys_dir = config["keys"]["dir"].as_str().unwrap();
    let keys_volume = tokenbridge["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .find(|volume| volume.ends_with(&format!(":{keys_dir}")))
        .unwrap_or_else(|| panic!("no volume at {keys_dir}"));
    let volume_name = keys_volume.split(':').next().unwrap();
    assert!(
        compose["volumes"].get(volume_name).is_some(),
        "{volume_name} is a named volume"
    );
    assert!(
        read("Dockerfile").contains(keys_dir),
        "the image creates {keys_dir} for the unprivileged user"
    );

    // Clients: each realm client is a tokenbridge client with a front; its audience rule keeps
    // exactly its own client id, never the extra audiences.
    let config_clients = toml_tables(&config, "client");
    let fronts: Vec<&str> = toml_tables(&config, "front")
        .into_iter()
        .map(|front| toml_str(front, "client"))
        .collect();
    for client in clients {
        let id = client["clientId"].as_str().unwrap();
        let entry = config_clients
            .iter()
            .find(|entry| toml_str(entry, "id") == id)
            .unwrap_or_else(|| panic!("realm client {id} has no [[client]] in the config"));
        let audiences: Vec<&str> = entry["audiences"]
            .as_array()
            .unwrap()
            .iter()
            .map(|aud| aud.as_str().unwrap())
            .collect();
        assert_eq!(audiences, [id]);
        assert!(fronts.contains(&id), "no [[front]] for {id}");

        // The demo's secrets are the realm's (Keycloak) and the config's (sha256, /exchange).
        let upper = id.to_uppercase();
        assert_eq!(
            str_at(demo, &format!("/environment/{upper}_KEYCLOAK_SECRET")),
            str_at(client, "/secret")
        );
        let exchange_secret = str_at(demo, &format!("/environment/{upper}_EXCHANGE_SECRET"));
        let digest = openssl::sha::sha256(exchange_secret.as_bytes());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(
            entry["secret"]["sha256"].as_str(),
            Some(hex.as_str()),
            "{id}"
        );

        // Redirect URIs are for the relying party run on the host (docs/compose.md): on
        // localhost, on a port no compose service takes.
        for redirect in client["redirectUris"].as_array().unwrap() {
            let redirect = url(redirect.as_str().unwrap());
            assert_eq!(redirect.host_str(), Some("localhost"));
            assert!(
                !published_host_ports(&compose)
                    .contains(&redirect.port_or_known_default().unwrap()),
                "{redirect} collides with a port compose publishes"
            );
        }
    }
    let user = &realm["users"][0];
    assert_eq!(
        str_at(demo, "/environment/DEMO_USERNAME"),
        str_at(user, "/username")
    );
    assert_eq!(
        str_at(demo, "/environment/DEMO_PASSWORD"),
        str_at(user, "/credentials/0/value")
    );
    let demo_script = bind_mount_target(demo, "./deploy/demo");
    let demo_command: Vec<&str> = demo["command"]
        .as_array()
        .unwrap()
        .iter()
        .map(|word| word.as_str().unwrap())
        .collect();
    assert!(demo_command.contains(&format!("{demo_script}/reproduce.py").as_str()));

    // Start order: Keycloak healthy → tokenbridge (whose readiness needs Keycloak's keys)
    // healthy → the demo.
    assert!(keycloak["healthcheck"]["test"].is_array());
    assert!(tokenbridge["healthcheck"]["test"].is_array());
    assert_eq!(
        str_at(tokenbridge, "/depends_on/keycloak/condition"),
        "service_healthy"
    );
    for dependency in ["keycloak", "tokenbridge"] {
        assert_eq!(
            str_at(demo, &format!("/depends_on/{dependency}/condition")),
            "service_healthy"
        );
    }
    assert_eq!(str_at(tokenbridge, "/build/dockerfile"), "Dockerfile");
}

#[test]
fn the_demo_scripts_legacy_checks_give_the_applications_messages() {
    let output = run(Command::new(venv_tool("python")).args([DEMO_SCRIPT, "--self-test"]));
    assert!(output.status.success(), "{}", describe(&output));
}

// ---------------------------------------------------------------- tokenbridge health

fn tokenbridge() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
}

/// The status of GET `path` on loopback, or None while nothing answers.
fn status_of(port: u16, path: &str) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.split_whitespace().nth(1)?.parse().ok()
}

/// A child process killed when the test ends, passed or failed.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

// A deadline and a stopwatch for child processes are real time, not the service's clock.
#[allow(clippy::disallowed_methods)]
fn wait_until_serving(server: &mut Server, port: u16) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while status_of(port, "/healthz") != Some(200) {
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("the server exited early: {status}");
        }
        assert!(Instant::now() < deadline, "no answer on port {port}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn health(url: &str, timeout: &str) -> Output {
    tokenbridge()
        .args(["health", "--url", url, "--timeout", timeout])
        .env_remove("TOKENBRIDGE_HEALTH_URL")
        .output()
        .unwrap()
}

#[test]
fn health_exits_0_when_a_running_tokenbridge_is_ready() {
    // The demo serves tokenbridge with its two loopback IdPs up, so it is ready.
    let port = free_port();
    let mut server = Server(
        tokenbridge()
            .args(["demo", "--port", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_serving(&mut server, port);
    assert_eq!(status_of(port, "/readyz"), Some(200));

    let output = health(&format!("http://127.0.0.1:{port}/readyz"), "3s");
    assert!(output.status.success(), "{}", describe(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("\"status\":\"ready\""), "{stdout}");
}

#[test]
fn health_exits_1_when_tokenbridge_serves_but_its_upstream_has_no_keys() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let closed = free_port();
    let config = dir.path().join("tokenbridge.toml");
    std::fs::write(
        &config,
        format!(
            r#"
issuer = "http://127.0.0.1:{port}"
listen = "127.0.0.1:{port}"

[keys]
dir = "keys"

[[upstream]]
name = "down"
issuer = "http://127.0.0.1:{closed}"
danger_allow_http = true
"#
        ),
    )
    .unwrap();
    let mut server = Server(
        tokenbridge()
            .args(["serve", "--config"])
            .arg(&config)
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until_serving(&mut server, port);

    let output = health(&format!("http://127.0.0.1:{port}/readyz"), "3s");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("answered HTTP 503") && stderr.contains("not_ready"),
        "{stderr}"
    );

    // Liveness is another URL: the process serves.
    let output = health(&format!("http://127.0.0.1:{port}/healthz"), "3s");
    assert!(output.status.success(), "{}", describe(&output));
}

#[test]
fn health_exits_1_against_a_closed_port() {
    let closed = free_port();
    let output = health(&format!("http://127.0.0.1:{closed}/readyz"), "3s");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains(&format!("127.0.0.1:{closed}")),
        "{}",
        describe(&output)
    );
}

#[test]
fn health_exits_1_within_its_timeout_when_the_server_never_answers() {
    // Connections are accepted by the kernel's backlog, and nothing ever answers: without the
    // timeout the probe would wait forever, so its "timed out" is the proof that it gave up.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let output = health(&format!("http://127.0.0.1:{port}/readyz"), "500ms");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("timed out"),
        "{}",
        describe(&output)
    );
    drop(silent);
}

#[test]
fn health_refuses_a_url_it_cannot_probe() {
    let output = health("ftp://127.0.0.1/readyz", "1s");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
    let output = health("not a url", "1s");
    assert_eq!(output.status.code(), Some(1), "{}", describe(&output));
}
