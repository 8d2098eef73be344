//! deploy/kubernetes, without a cluster: the example overlay rendered by `kubectl kustomize`
//! (Debian's kubernetes-client), validated by kubernetes-validate against the API schemas of
//! Kubernetes releases, then checked object by object for what running tokenbridge as stateless
//! replicas needs. The config is then run through `tokenbridge check` against the files the pod
//! would see: the rendered ConfigMap and Secrets written where the Deployment mounts them.
//!
//! The overlay's Secrets are generated from files the operator makes; here they are the test
//! keys from tests/fixtures/keys, in a copy of deploy/kubernetes in a temporary directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use super::{describe, helpers::venv_tool, read, repo, run};

// The Deployment's pod, and the objects around it (their config included).
#[path = "kubernetes/objects.rs"]
mod objects;
#[path = "kubernetes/workload.rs"]
mod workload;

/// The oldest release the manifests are for (`lifecycle.preStop.sleep` is GA from 1.32) and the
/// newest whose schemas kubernetes-validate bundles.
const KUBERNETES_VERSIONS: [&str; 2] = ["1.32.0", "1.37.0"];
/// Where the rendered objects' tokenbridge paths point inside the container.
const CONFIG_ROOT: &str = "/etc/tokenbridge/";

// ---------------------------------------------------------------- rendering

struct Rendered {
    /// `kubectl kustomize` output, as YAML.
    yaml: String,
    objects: Vec<Value>,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The files the overlay's secretGenerator reads, as an operator makes them (README
/// "Running it on Kubernetes"); the keys are the checked-in test keys.
fn make_operator_files(overlay: &Path) {
    let keys = overlay.join("keys");
    let secrets = overlay.join("secrets");
    for dir in [&keys, &secrets] {
        // A checkout where someone made real files for the example: leave them out of the test.
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).unwrap();
    }
    let fixtures = repo().join("tests/fixtures/keys");
    std::fs::copy(
        fixtures.join("signing-RS256.pem"),
        keys.join("signing-RS256.pem"),
    )
    .unwrap();
    std::fs::copy(
        fixtures.join("decryption-rsa.pem"),
        keys.join("decryption-rsa.pem"),
    )
    .unwrap();
    std::fs::write(
        keys.join("front-state.key"),
        URL_SAFE_NO_PAD.encode([7u8; 32]) + "\n",
    )
    .unwrap();
    std::fs::write(secrets.join("bookstack"), "a-kubernetes-test-client-secret").unwrap();
}

/// YAML documents → JSON values, through PyYAML in the venv.
fn parse_yaml_documents(yaml: &str) -> Vec<Value> {
    let mut child = Command::new(venv_tool("python"))
        .args([
            "-c",
            "import json, sys, yaml; json.dump([d for d in yaml.safe_load_all(sys.stdin) if d], sys.stdout)",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(yaml.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", describe(&output));
    serde_json::from_slice(&output.stdout).unwrap()
}

fn kustomize(dir: &Path) -> String {
    let mut command = Command::new("kubectl");
    command.arg("kustomize").arg(dir);
    let output = command.output().unwrap_or_else(|err| {
        panic!("cannot run kubectl ({err}): install Debian's kubernetes-client (.ci/run does)")
    });
    assert!(output.status.success(), "{}", describe(&output));
    String::from_utf8(output.stdout).unwrap()
}

fn render(overlay: &str) -> Rendered {
    let dir = tempfile::tempdir().unwrap();
    let tree = dir.path().join("kubernetes");
    copy_tree(&repo().join("deploy/kubernetes"), &tree);
    make_operator_files(&tree.join("overlays/example"));
    let yaml = kustomize(&tree.join(overlay));
    let objects = parse_yaml_documents(&yaml);
    Rendered { yaml, objects }
}

/// The example overlay, rendered once for all tests.
fn example() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| render("overlays/example"))
}

/// The base, rendered once: its ConfigMap is the config an overlay starts from.
fn base() -> &'static Rendered {
    static RENDERED: OnceLock<Rendered> = OnceLock::new();
    RENDERED.get_or_init(|| render("base"))
}

fn objects_of<'a>(rendered: &'a Rendered, kind: &str) -> Vec<&'a Value> {
    rendered
        .objects
        .iter()
        .filter(|object| object["kind"] == kind)
        .collect()
}

fn one<'a>(rendered: &'a Rendered, kind: &str) -> &'a Value {
    let objects = objects_of(rendered, kind);
    assert_eq!(
        objects.len(),
        1,
        "one {kind} expected, got {}",
        objects.len()
    );
    objects[0]
}

fn named<'a>(rendered: &'a Rendered, kind: &str, name: &str) -> &'a Value {
    rendered
        .objects
        .iter()
        .find(|object| object["kind"] == kind && object["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} rendered"))
}

fn array<'a>(value: &'a Value, pointer: &str) -> &'a [Value] {
    value
        .pointer(pointer)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn pod_spec(rendered: &Rendered) -> &Value {
    &one(rendered, "Deployment")["spec"]["template"]["spec"]
}

/// Every container of the pod, init containers included.
fn containers(rendered: &Rendered) -> Vec<&Value> {
    let pod = pod_spec(rendered);
    let all: Vec<&Value> = array(pod, "/containers")
        .iter()
        .chain(array(pod, "/initContainers"))
        .collect();
    assert!(!all.is_empty(), "the pod has no containers");
    all
}

fn tokenbridge_container(rendered: &Rendered) -> &Value {
    array(pod_spec(rendered), "/containers")
        .iter()
        .find(|container| container["name"] == "tokenbridge")
        .expect("a container named tokenbridge")
}

/// A container port by name (probes and Services name them).
fn container_port(container: &Value, port: &Value) -> u64 {
    if let Some(number) = port.as_u64() {
        return number;
    }
    array(container, "/ports")
        .iter()
        .find(|entry| entry["name"] == *port)
        .and_then(|entry| entry["containerPort"].as_u64())
        .unwrap_or_else(|| panic!("no container port {port}"))
}

fn labels_match(selector: &Value, labels: &Value) -> bool {
    let wanted = selector.as_object().expect("matchLabels");
    !wanted.is_empty() && wanted.iter().all(|(key, value)| labels[key] == *value)
}

fn pod_labels(rendered: &Rendered) -> &Value {
    &one(rendered, "Deployment")["spec"]["template"]["metadata"]["labels"]
}

fn config_text(rendered: &Rendered) -> &str {
    named(rendered, "ConfigMap", "tokenbridge-config")["data"]["tokenbridge.toml"]
        .as_str()
        .expect("tokenbridge.toml in the ConfigMap")
}

fn listen_port(address: &str) -> u64 {
    address.rsplit(':').next().unwrap().parse().unwrap()
}

// ---------------------------------------------------------------- schema

#[test]
fn the_kubernetes_example_renders_and_passes_kubernetes_validate() {
    let rendered = example();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rendered.yaml");
    std::fs::write(&file, &rendered.yaml).unwrap();
    for version in KUBERNETES_VERSIONS {
        let output = run(Command::new(venv_tool("kubernetes-validate"))
            .args(["--kubernetes-version", version, "--strict", "--quiet"])
            .arg(&file));
        assert!(
            output.status.success(),
            "Kubernetes {version}: {}",
            describe(&output)
        );
    }
    let kinds: Vec<&str> = rendered
        .objects
        .iter()
        .map(|object| object["kind"].as_str().unwrap())
        .collect();
    for kind in [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "NetworkPolicy",
        "ConfigMap",
        "Secret",
        "ServiceAccount",
    ] {
        assert!(kinds.contains(&kind), "no {kind} rendered: {kinds:?}");
    }
}
