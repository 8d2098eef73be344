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

use super::{describe, helpers::venv_tool, repo, run};

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

// ---------------------------------------------------------------- the Deployment

#[test]
fn the_deployment_runs_two_or_more_replicas_spread_over_nodes_and_zones() {
    let rendered = example();
    let deployment = one(rendered, "Deployment");
    let replicas = deployment["spec"]["replicas"].as_u64().expect("replicas");
    assert!(replicas >= 2, "{replicas} replicas");
    let spread = array(pod_spec(rendered), "/topologySpreadConstraints");
    for key in ["kubernetes.io/hostname", "topology.kubernetes.io/zone"] {
        let constraint = spread
            .iter()
            .find(|constraint| constraint["topologyKey"] == key)
            .unwrap_or_else(|| panic!("no topology spread over {key}"));
        assert!(
            labels_match(
                &constraint["labelSelector"]["matchLabels"],
                pod_labels(rendered)
            ),
            "the spread over {key} does not select tokenbridge's pods"
        );
    }
    let zone = spread
        .iter()
        .find(|constraint| constraint["topologyKey"] == "topology.kubernetes.io/zone")
        .unwrap();
    assert_eq!(
        zone["whenUnsatisfiable"], "ScheduleAnyway",
        "a cluster without zones must still schedule"
    );
}

#[test]
fn every_container_runs_non_root_read_only_without_capabilities_under_seccomp() {
    let rendered = example();
    let pod = pod_spec(rendered);
    let pod_security = &pod["securityContext"];
    assert_eq!(pod["automountServiceAccountToken"], false);
    let account = pod["serviceAccountName"]
        .as_str()
        .expect("a ServiceAccount");
    assert_ne!(account, "default", "a dedicated ServiceAccount");
    assert_eq!(
        named(rendered, "ServiceAccount", account)["automountServiceAccountToken"],
        false
    );
    for container in containers(rendered) {
        let name = &container["name"];
        let security = &container["securityContext"];
        // A container's own setting wins over the pod's (the API's rule).
        let effective = |key: &str| {
            let own = &security[key];
            if own.is_null() {
                &pod_security[key]
            } else {
                own
            }
        };
        assert_eq!(*effective("runAsNonRoot"), true, "{name}: runAsNonRoot");
        let uid = effective("runAsUser").as_u64().expect("a fixed uid");
        let gid = effective("runAsGroup").as_u64().expect("a fixed gid");
        assert!(uid > 0 && gid > 0, "{name}: runs as {uid}:{gid}");
        assert_eq!(
            effective("seccompProfile")["type"],
            "RuntimeDefault",
            "{name}: seccomp"
        );
        assert_eq!(security["readOnlyRootFilesystem"], true, "{name}");
        assert_eq!(security["allowPrivilegeEscalation"], false, "{name}");
        assert_ne!(security["privileged"], true, "{name}");
        let dropped: Vec<&Value> = array(security, "/capabilities/drop").iter().collect();
        assert!(
            dropped.contains(&&Value::from("ALL")),
            "{name}: drops {dropped:?}"
        );
        assert!(
            array(security, "/capabilities/add").is_empty(),
            "{name}: adds capabilities"
        );
        for bound in ["requests", "limits"] {
            for resource in ["cpu", "memory"] {
                assert!(
                    container["resources"][bound][resource].is_string(),
                    "{name}: no {resource} in resources.{bound}"
                );
            }
        }
    }
    // The pod's uid:gid is the image's own user, which the Secret files' mode and fsGroup are for.
    let dockerfile = super::read("Dockerfile");
    assert!(
        dockerfile.contains(&format!(
            "USER {}:{}",
            pod_security["runAsUser"], pod_security["runAsGroup"]
        )),
        "the pod's uid:gid is the image's USER"
    );
}

#[test]
fn the_deployment_probes_health_and_readiness_and_outlasts_the_drain() {
    let rendered = example();
    let container = tokenbridge_container(rendered);
    let config: toml::Table = config_text(rendered).parse().unwrap();
    let main_port = listen_port(config["listen"].as_str().unwrap());
    for (probe, path) in [
        ("livenessProbe", "/healthz"),
        ("readinessProbe", "/readyz"),
        ("startupProbe", "/healthz"),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert_eq!(
            container_port(container, &get["port"]),
            main_port,
            "{probe} probes the port tokenbridge listens on"
        );
    }

    // SIGTERM comes after preStop; tokenbridge then drains for at most 10 s.
    let pre_stop = &container["lifecycle"]["preStop"];
    let pre_stop_seconds = pre_stop["sleep"]["seconds"]
        .as_u64()
        .expect("a preStop sleep");
    assert!(pre_stop_seconds >= 5, "preStop sleeps {pre_stop_seconds} s");
    let grace = pod_spec(rendered)["terminationGracePeriodSeconds"]
        .as_u64()
        .expect("terminationGracePeriodSeconds");
    assert!(
        grace > pre_stop_seconds + 10,
        "a {grace} s grace period leaves no room for the {pre_stop_seconds} s preStop and the 10 s drain"
    );
}

#[test]
fn config_and_secrets_are_mounted_read_only_as_whole_directories() {
    let rendered = example();
    let volumes: BTreeMap<&str, &Value> = array(pod_spec(rendered), "/volumes")
        .iter()
        .map(|volume| (volume["name"].as_str().unwrap(), volume))
        .collect();
    for volume in volumes.values() {
        assert!(
            volume["configMap"].is_object() || volume["secret"].is_object(),
            "only ConfigMap and Secret volumes (tokenbridge writes nothing): {volume}"
        );
    }
    for container in containers(rendered) {
        for mount in array(container, "/volumeMounts") {
            assert_eq!(mount["readOnly"], true, "{mount}");
            // A subPath mount never sees the kubelet's update (README "Live reload").
            assert!(
                mount.get("subPath").is_none() && mount.get("subPathExpr").is_none(),
                "{mount}"
            );
        }
    }

    // Every file the config names is a key of the ConfigMap or Secret mounted at its directory.
    let container = tokenbridge_container(rendered);
    let mounted = |path: &str| -> bool {
        let (dir, file) = path.rsplit_once('/').unwrap();
        array(container, "/volumeMounts").iter().any(|mount| {
            if mount["mountPath"] != dir {
                return false;
            }
            let volume = volumes[mount["name"].as_str().unwrap()];
            let object = if let Some(map) = volume["configMap"]["name"].as_str() {
                named(rendered, "ConfigMap", map)
            } else {
                named(
                    rendered,
                    "Secret",
                    volume["secret"]["secretName"].as_str().unwrap(),
                )
            };
            object["data"].get(file).is_some()
        })
    };
    let args: Vec<&str> = array(container, "/args")
        .iter()
        .map(|arg| arg.as_str().unwrap())
        .collect();
    let config_path = args
        .windows(2)
        .find(|pair| pair[0] == "--config")
        .map(|pair| pair[1])
        .expect("serve --config");
    assert!(mounted(config_path), "{config_path} is not mounted");
    let named_paths = absolute_paths(config_text(rendered));
    assert!(named_paths.len() >= 4, "{named_paths:?}");
    for path in named_paths {
        if path == "/etc/tokenbridge/keys" {
            continue; // keys.dir: the mount itself
        }
        assert!(
            mounted(&path),
            "the config names {path}, which no volume holds"
        );
    }
}

/// The absolute paths a config names (quoted strings that start with `/`).
fn absolute_paths(config: &str) -> Vec<String> {
    config
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|text| text.starts_with('/'))
        .map(str::to_owned)
        .collect()
}

// ---------------------------------------------------------------- the other objects

#[test]
fn service_pdb_hpa_and_network_policy_select_tokenbridge_and_its_ports() {
    let rendered = example();
    let labels = pod_labels(rendered);
    let container = tokenbridge_container(rendered);
    let config: toml::Table = config_text(rendered).parse().unwrap();
    let main_port = listen_port(config["listen"].as_str().unwrap());
    let metrics_port = listen_port(config["telemetry"]["listen"].as_str().unwrap());

    let service = one(rendered, "Service");
    assert_eq!(service["spec"]["type"], "ClusterIP");
    assert!(labels_match(&service["spec"]["selector"], labels));
    let service_port = |name: &str| {
        array(service, "/spec/ports")
            .iter()
            .find(|port| port["name"] == name)
            .unwrap_or_else(|| panic!("no Service port {name}"))
    };
    assert_eq!(service_port("http")["port"], 80);
    assert_eq!(
        container_port(container, &service_port("http")["targetPort"]),
        main_port
    );
    assert_eq!(
        container_port(container, &service_port("metrics")["targetPort"]),
        metrics_port
    );

    let pdb = one(rendered, "PodDisruptionBudget");
    assert!(labels_match(
        &pdb["spec"]["selector"]["matchLabels"],
        labels
    ));
    let replicas = one(rendered, "Deployment")["spec"]["replicas"]
        .as_u64()
        .unwrap();
    let available_in_a_drain = match (
        pdb["spec"]["minAvailable"].as_u64(),
        pdb["spec"]["maxUnavailable"].as_u64(),
    ) {
        (Some(min), None) => min,
        (None, Some(max)) => replicas.saturating_sub(max),
        _ => panic!("the PDB sets minAvailable or maxUnavailable as a number"),
    };
    assert!(available_in_a_drain >= 1, "a drain may take every replica");

    let hpa = one(rendered, "HorizontalPodAutoscaler");
    assert_eq!(hpa["apiVersion"], "autoscaling/v2");
    assert_eq!(hpa["spec"]["scaleTargetRef"]["kind"], "Deployment");
    assert_eq!(
        hpa["spec"]["scaleTargetRef"]["name"],
        one(rendered, "Deployment")["metadata"]["name"]
    );
    let min = hpa["spec"]["minReplicas"].as_u64().expect("minReplicas");
    let max = hpa["spec"]["maxReplicas"].as_u64().unwrap();
    assert!(
        min >= 2 && min <= replicas && max > min,
        "min {min}, max {max}, replicas {replicas}"
    );
    assert!(
        array(hpa, "/spec/metrics").iter().any(|metric| {
            metric["resource"]["name"] == "cpu"
                && metric["resource"]["target"]["type"] == "Utilization"
        }),
        "the HPA scales on CPU utilisation"
    );

    let policy = one(rendered, "NetworkPolicy");
    assert!(labels_match(
        &policy["spec"]["podSelector"]["matchLabels"],
        labels
    ));
    let types: Vec<&Value> = array(policy, "/spec/policyTypes").iter().collect();
    assert!(types.contains(&&Value::from("Ingress")) && types.contains(&&Value::from("Egress")));
    // Ingress: the service port, and the metrics port from the monitoring namespace only.
    for rule in array(policy, "/spec/ingress") {
        let ports: Vec<u64> = array(rule, "/ports")
            .iter()
            .map(|port| container_port(container, &port["port"]))
            .collect();
        assert!(!ports.is_empty(), "an ingress rule open on every port");
        for port in &ports {
            assert!(
                [main_port, metrics_port].contains(port),
                "ingress to {port}"
            );
        }
        if ports.contains(&metrics_port) {
            assert!(
                array(rule, "/from")
                    .iter()
                    .all(|peer| peer["namespaceSelector"].is_object()),
                "the metrics port is open beyond the monitoring namespace"
            );
        }
    }
    // Egress: DNS to kube-dns, and the IdP's CIDR the overlay set; nothing open to all.
    let egress = array(policy, "/spec/egress");
    let dns = egress
        .iter()
        .find(|rule| array(rule, "/ports").iter().any(|port| port["port"] == 53))
        .expect("an egress rule for DNS");
    let protocols: Vec<&Value> = array(dns, "/ports")
        .iter()
        .map(|port| &port["protocol"])
        .collect();
    assert!(protocols.contains(&&Value::from("UDP")) && protocols.contains(&&Value::from("TCP")));
    assert!(
        array(dns, "/to")
            .iter()
            .all(|peer| peer["podSelector"]["matchLabels"]["k8s-app"] == "kube-dns")
    );
    for rule in egress {
        assert!(
            !array(rule, "/to").is_empty(),
            "an egress rule to anywhere: {rule}"
        );
        assert!(
            !array(rule, "/ports").is_empty(),
            "an egress rule on every port: {rule}"
        );
        if !std::ptr::eq(rule, dns) {
            for peer in array(rule, "/to") {
                let cidr = peer["ipBlock"]["cidr"]
                    .as_str()
                    .expect("the IdP by ipBlock");
                assert_ne!(cidr, "0.0.0.0/0", "egress to everywhere");
                assert!(
                    !cidr.starts_with("192.0.2."),
                    "the overlay left the base's placeholder IdP address {cidr}"
                );
            }
        }
    }
}

#[test]
fn the_pods_are_annotated_for_scraping_the_telemetry_listener() {
    let rendered = example();
    let annotations = &one(rendered, "Deployment")["spec"]["template"]["metadata"]["annotations"];
    let config: toml::Table = config_text(rendered).parse().unwrap();
    let metrics_port = listen_port(config["telemetry"]["listen"].as_str().unwrap());
    assert_eq!(annotations["prometheus.io/scrape"], "true");
    assert_eq!(annotations["prometheus.io/path"], "/metrics");
    assert_eq!(
        annotations["prometheus.io/port"],
        metrics_port.to_string(),
        "the annotated port is [telemetry] listen's"
    );
    assert_eq!(
        container_port(tokenbridge_container(rendered), &Value::from("metrics")),
        metrics_port
    );
}

// ---------------------------------------------------------------- the config, checked

/// Writes what the pod would see under `root`: each mounted ConfigMap's and Secret's keys as
/// files in its mount path, with the config's paths moved under `root` too. Returns the config
/// file's path.
fn materialise(rendered: &Rendered, config_map: &Value, root: &Path) -> std::path::PathBuf {
    let container = tokenbridge_container(rendered);
    let volumes = array(pod_spec(rendered), "/volumes");
    for mount in array(container, "/volumeMounts") {
        let volume = volumes
            .iter()
            .find(|volume| volume["name"] == mount["name"])
            .unwrap();
        let dir = root.join(mount["mountPath"].as_str().unwrap().trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap();
        if volume["configMap"].is_object() {
            for (file, text) in config_map["data"].as_object().unwrap() {
                let text = text.as_str().unwrap().replace(
                    &format!("\"{CONFIG_ROOT}"),
                    &format!("\"{}{CONFIG_ROOT}", root.display()),
                );
                std::fs::write(dir.join(file), text).unwrap();
            }
        } else {
            let secret = named(
                rendered,
                "Secret",
                volume["secret"]["secretName"].as_str().unwrap(),
            );
            for (file, encoded) in secret["data"].as_object().unwrap() {
                let encoded: String = encoded.as_str().unwrap().split_whitespace().collect();
                std::fs::write(dir.join(file), STANDARD.decode(encoded).unwrap()).unwrap();
            }
        }
    }
    root.join("etc/tokenbridge/config/tokenbridge.toml")
}

fn check(config: &Path) -> std::process::Output {
    run(Command::new(env!("CARGO_BIN_EXE_tokenbridge"))
        .args(["check", "--config"])
        .arg(config))
}

#[test]
fn the_configmaps_config_sets_generate_false_and_passes_tokenbridge_check_on_the_mounts() {
    let overlay = example();
    for (name, config_map) in [
        (
            "overlays/example",
            named(overlay, "ConfigMap", "tokenbridge-config"),
        ),
        ("base", named(base(), "ConfigMap", "tokenbridge-config")),
    ] {
        let text = config_map["data"]["tokenbridge.toml"].as_str().unwrap();
        let config: toml::Table = text.parse().unwrap();
        assert_eq!(
            config["keys"]["generate"].as_bool(),
            Some(false),
            "{name}: replicas must not generate keys of their own"
        );
        assert_eq!(config["listen"].as_str(), Some("0.0.0.0:8080"), "{name}");
        assert_eq!(
            config["telemetry"]["listen"].as_str(),
            Some("0.0.0.0:9090"),
            "{name}"
        );

        let dir = tempfile::tempdir().unwrap();
        let file = materialise(overlay, config_map, dir.path());
        let rewritten = std::fs::read_to_string(&file).unwrap();
        assert!(
            !rewritten.contains(&format!("\"{CONFIG_ROOT}")),
            "{name}: a path outside {CONFIG_ROOT}: {rewritten}"
        );
        // tokenbridge's own parser, then the whole check `serve` runs on the files.
        tokenbridge::config::parse(&rewritten, file.parent().unwrap())
            .unwrap_or_else(|err| panic!("{name}: {err}"));
        let output = check(&file);
        assert!(output.status.success(), "{name}: {}", describe(&output));

        // Without a shared key file the start stops: no replica makes a key of its own.
        let state_key = dir.path().join("etc/tokenbridge/keys/front-state.key");
        std::fs::remove_file(&state_key).unwrap();
        let output = check(&file);
        assert!(!output.status.success(), "{name}: {}", describe(&output));
        assert!(
            String::from_utf8_lossy(&output.stderr).contains("keys.generate"),
            "{name}: {}",
            describe(&output)
        );
    }
}
