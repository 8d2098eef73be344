//! The Deployment: replicas and their spread, the hardening of every container, the probes and the
//! shutdown window, and the read-only directory mounts.

use super::*;

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
    let dockerfile = read("Dockerfile");
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
