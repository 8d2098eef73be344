//! The objects around the Deployment (Service, PodDisruptionBudget, HPA, NetworkPolicy), the
//! scrape annotations, and the ConfigMap's config checked against the files the pod would mount.

use super::*;

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
