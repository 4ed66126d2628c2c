//! `kubectl describe`'s text, for the kinds the agent describes: the same field names in the
//! same order (kubectl's `describe.go`), values aligned per block, conditions as tables, and
//! an events table whose ages read as kubectl's (`65s (x42 over 61m)`).

use std::fmt::Write as _;

use atlhyper_model::human_duration;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerState, ContainerStatus, Event, Namespace, Node, Pod, Service,
};
use k8s_openapi::api::networking::v1::Ingress;

use super::write::{
    Fields, events, head, labels_and_annotations, map_lines, meta_fields, quantities, table, time,
};

fn state_fields(f: &mut Fields, key: &str, state: Option<&ContainerState>) {
    let Some(state) = state else {
        return;
    };
    if let Some(r) = &state.running {
        f.add(key, "Running");
        if let Some(t) = &r.started_at {
            f.add("  Started", time(t));
        }
    } else if let Some(w) = &state.waiting {
        f.add(key, "Waiting");
        f.add("  Reason", w.reason.clone().unwrap_or_default());
    } else if let Some(t) = &state.terminated {
        f.add(key, "Terminated");
        f.add("  Reason", t.reason.clone().unwrap_or_default());
        f.add("  Exit Code", t.exit_code.to_string());
        if let Some(s) = &t.started_at {
            f.add("  Started", time(s));
        }
        if let Some(s) = &t.finished_at {
            f.add("  Finished", time(s));
        }
    }
}

/// A container's block: its name at `at`, its fields at 4 (kubectl nests a template's name
/// one column deeper, not its fields).
fn container(out: &mut String, c: &Container, status: Option<&ContainerStatus>, at: usize) {
    let _ = writeln!(out, "{:at$}{}:", "", c.name);
    let mut f = Fields::new(4);
    f.add("Image", c.image.clone().unwrap_or_default());
    let ports: Vec<String> = c
        .ports
        .iter()
        .flatten()
        .map(|p| {
            format!(
                "{}/{}",
                p.container_port,
                p.protocol.as_deref().unwrap_or("TCP")
            )
        })
        .collect();
    f.add(
        "Port",
        if ports.is_empty() {
            "<none>".to_owned()
        } else {
            ports.join(", ")
        },
    );
    if let Some(s) = status {
        state_fields(&mut f, "State", s.state.as_ref());
        state_fields(&mut f, "Last State", s.last_state.as_ref());
        f.add("Ready", if s.ready { "True" } else { "False" });
        f.add("Restart Count", s.restart_count.to_string());
    }
    f.write(out);
    let resources = c.resources.as_ref();
    for (title, map) in [
        ("Limits", resources.and_then(|r| r.limits.as_ref())),
        ("Requests", resources.and_then(|r| r.requests.as_ref())),
    ] {
        let values = quantities(map);
        if values.is_empty() {
            continue;
        }
        let _ = writeln!(out, "    {title}:");
        let mut f = Fields::new(6);
        for (k, v) in values {
            f.add(&k, v);
        }
        f.write(out);
    }
}

pub fn pod(pod: &Pod, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let meta = &pod.metadata;
    let spec = pod.spec.clone().unwrap_or_default();
    let status = pod.status.clone().unwrap_or_default();
    let mut f = Fields::new(0);
    meta_fields(&mut f, meta, true);
    let node = match (&spec.node_name, &status.host_ip) {
        (Some(n), Some(ip)) => format!("{n}/{ip}"),
        (Some(n), None) => n.clone(),
        _ => "<none>".to_owned(),
    };
    f.add("Node", node);
    if let Some(t) = &status.start_time {
        f.add("Start Time", time(t));
    }
    labels_and_annotations(&mut f, meta);
    let phase = if meta.deletion_timestamp.is_some() {
        "Terminating".to_owned()
    } else {
        status.phase.clone().unwrap_or_default()
    };
    f.add("Status", phase);
    if let Some(reason) = &status.reason {
        f.add("Reason", reason.clone());
    }
    f.add("IP", status.pod_ip.clone().unwrap_or_default());
    if let Some(owner) = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
    {
        f.add("Controlled By", format!("{}/{}", owner.kind, owner.name));
    }
    f.write(&mut out);
    let statuses = status.container_statuses.clone().unwrap_or_default();
    let inits = spec.init_containers.clone().unwrap_or_default();
    if !inits.is_empty() {
        out.push_str("Init Containers:\n");
        let init_statuses = status.init_container_statuses.clone().unwrap_or_default();
        for c in &inits {
            container(
                &mut out,
                c,
                init_statuses.iter().find(|s| s.name == c.name),
                2,
            );
        }
    }
    out.push_str("Containers:\n");
    for c in &spec.containers {
        container(&mut out, c, statuses.iter().find(|s| s.name == c.name), 2);
    }
    let conditions: Vec<Vec<String>> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| vec![c.type_.clone(), c.status.clone()])
        .collect();
    if !conditions.is_empty() {
        out.push_str("Conditions:\n");
        // kubectl draws no dashes under a pod's conditions.
        table(&mut out, 2, &["Type", "Status"], &conditions, false);
    }
    let mut f = Fields::new(0);
    f.add("QoS Class", status.qos_class.clone().unwrap_or_default());
    f.many("Node-Selectors", map_lines(spec.node_selector.as_ref()));
    f.write(&mut out);
    events(&mut out, evs, now_ms);
    out
}

pub fn deployment(d: &Deployment, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let meta = &d.metadata;
    let spec = d.spec.clone().unwrap_or_default();
    let status = d.status.clone().unwrap_or_default();
    let mut f = Fields::new(0);
    meta_fields(&mut f, meta, true);
    if let Some(t) = &meta.creation_timestamp {
        f.add("CreationTimestamp", time(t));
    }
    labels_and_annotations(&mut f, meta);
    f.add(
        "Selector",
        map_lines(spec.selector.match_labels.as_ref()).join(","),
    );
    f.add(
        "Replicas",
        format!(
            "{} desired | {} updated | {} total | {} available | {} unavailable",
            spec.replicas.unwrap_or(1),
            status.updated_replicas.unwrap_or(0),
            status.replicas.unwrap_or(0),
            status.available_replicas.unwrap_or(0),
            status.unavailable_replicas.unwrap_or(0)
        ),
    );
    let strategy = spec.strategy.clone().unwrap_or_default();
    f.add(
        "StrategyType",
        strategy
            .type_
            .clone()
            .unwrap_or_else(|| "RollingUpdate".to_owned()),
    );
    f.add(
        "MinReadySeconds",
        spec.min_ready_seconds.unwrap_or(0).to_string(),
    );
    if let Some(r) = &strategy.rolling_update {
        let v = |q: &Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>| match q {
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i)) => {
                i.to_string()
            }
            Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s)) => s.clone(),
            None => "25%".to_owned(),
        };
        f.add(
            "RollingUpdateStrategy",
            format!(
                "{} max unavailable, {} max surge",
                v(&r.max_unavailable),
                v(&r.max_surge)
            ),
        );
    }
    f.write(&mut out);
    out.push_str("Pod Template:\n");
    let template = spec.template;
    let mut f = Fields::new(2);
    f.many(
        "Labels",
        map_lines(template.metadata.as_ref().and_then(|m| m.labels.as_ref())),
    );
    f.write(&mut out);
    out.push_str("  Containers:\n");
    for c in template.spec.iter().flat_map(|s| &s.containers) {
        container(&mut out, c, None, 3);
    }
    let conditions: Vec<Vec<String>> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| {
            vec![
                c.type_.clone(),
                c.status.clone(),
                c.reason.clone().unwrap_or_default(),
            ]
        })
        .collect();
    if !conditions.is_empty() {
        out.push_str("Conditions:\n");
        table(
            &mut out,
            2,
            &["Type", "Status", "Reason"],
            &conditions,
            true,
        );
    }
    events(&mut out, evs, now_ms);
    out
}

pub fn node(node: &Node, pods: &[Pod], evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let meta = &node.metadata;
    let spec = node.spec.clone().unwrap_or_default();
    let status = node.status.clone().unwrap_or_default();
    let mut f = Fields::new(0);
    meta_fields(&mut f, meta, false);
    let roles = atlhyper_kube_summary::node_roles(node);
    f.add(
        "Roles",
        if roles.is_empty() {
            "<none>".to_owned()
        } else {
            roles.join(",")
        },
    );
    labels_and_annotations(&mut f, meta);
    if let Some(t) = &meta.creation_timestamp {
        f.add("CreationTimestamp", time(t));
    }
    let taints: Vec<String> = spec
        .taints
        .iter()
        .flatten()
        .map(|t| match &t.value {
            Some(v) => format!("{}={v}:{}", t.key, t.effect),
            None => format!("{}:{}", t.key, t.effect),
        })
        .collect();
    f.many("Taints", taints);
    f.add(
        "Unschedulable",
        if spec.unschedulable.unwrap_or(false) {
            "true"
        } else {
            "false"
        },
    );
    f.write(&mut out);
    let conditions: Vec<Vec<String>> = status
        .conditions
        .iter()
        .flatten()
        .map(|c| {
            vec![
                c.type_.clone(),
                c.status.clone(),
                c.last_heartbeat_time.as_ref().map(time).unwrap_or_default(),
                c.reason.clone().unwrap_or_default(),
                c.message.clone().unwrap_or_default(),
            ]
        })
        .collect();
    out.push_str("Conditions:\n");
    table(
        &mut out,
        2,
        &["Type", "Status", "LastHeartbeatTime", "Reason", "Message"],
        &conditions,
        true,
    );
    out.push_str("Addresses:\n");
    let mut f = Fields::new(2);
    for a in status.addresses.iter().flatten() {
        f.add(&a.type_, a.address.clone());
    }
    f.write(&mut out);
    for (title, map) in [
        ("Capacity", status.capacity.as_ref()),
        ("Allocatable", status.allocatable.as_ref()),
    ] {
        let _ = writeln!(out, "{title}:");
        let mut f = Fields::new(2);
        for (k, v) in quantities(map) {
            f.add(&k, v);
        }
        f.write(&mut out);
    }
    if let Some(info) = &status.node_info {
        out.push_str("System Info:\n");
        let mut f = Fields::new(2);
        f.add("Kernel Version", info.kernel_version.clone());
        f.add("OS Image", info.os_image.clone());
        f.add("Operating System", info.operating_system.clone());
        f.add("Architecture", info.architecture.clone());
        f.add(
            "Container Runtime Version",
            info.container_runtime_version.clone(),
        );
        f.add("Kubelet Version", info.kubelet_version.clone());
        f.write(&mut out);
    }
    if let Some(cidr) = &spec.pod_cidr {
        let mut f = Fields::new(0);
        f.add("PodCIDR", cidr.clone());
        f.write(&mut out);
    }
    let running: Vec<&Pod> = pods
        .iter()
        .filter(|p| {
            !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
        })
        .collect();
    let _ = writeln!(
        out,
        "Non-terminated Pods:          ({} in total)",
        running.len()
    );
    let rows: Vec<Vec<String>> = running
        .iter()
        .map(|p| {
            vec![
                p.metadata.namespace.clone().unwrap_or_default(),
                p.metadata.name.clone().unwrap_or_default(),
                p.metadata
                    .creation_timestamp
                    .as_ref()
                    .map_or_else(String::new, |t| {
                        human_duration(now_ms - t.0.as_millisecond())
                    }),
            ]
        })
        .collect();
    if !rows.is_empty() {
        table(&mut out, 2, &["Namespace", "Name", "Age"], &rows, true);
    }
    events(&mut out, evs, now_ms);
    out
}

pub fn service(s: &Service, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let spec = s.spec.clone().unwrap_or_default();
    let mut f = head(&s.metadata, true);
    f.add("Selector", map_lines(spec.selector.as_ref()).join(","));
    f.add(
        "Type",
        spec.type_.clone().unwrap_or_else(|| "ClusterIP".to_owned()),
    );
    f.add(
        "IP",
        spec.cluster_ip.clone().unwrap_or_else(|| "None".to_owned()),
    );
    for p in spec.ports.iter().flatten() {
        let name = p.name.clone().unwrap_or_else(|| "<unset>".to_owned());
        let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
        f.add("Port", format!("{name}  {}/{protocol}", p.port));
        if let Some(t) = &p.target_port {
            let t = match t {
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(i) => i.to_string(),
                k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String(s) => s.clone(),
            };
            f.add("TargetPort", format!("{t}/{protocol}"));
        }
        if let Some(n) = p.node_port {
            f.add("NodePort", format!("{name}  {n}/{protocol}"));
        }
    }
    f.add(
        "Session Affinity",
        spec.session_affinity
            .clone()
            .unwrap_or_else(|| "None".to_owned()),
    );
    f.write(&mut out);
    events(&mut out, evs, now_ms);
    out
}

pub fn namespace(ns: &Namespace, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let mut f = head(&ns.metadata, false);
    f.add(
        "Status",
        ns.status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Active".to_owned()),
    );
    f.write(&mut out);
    out.push_str("\nNo resource quota.\n\nNo LimitRange resource.\n");
    events(&mut out, evs, now_ms);
    out
}

pub fn ingress(i: &Ingress, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let spec = i.spec.clone().unwrap_or_default();
    let mut f = head(&i.metadata, true);
    f.add(
        "Ingress Class",
        spec.ingress_class_name
            .clone()
            .unwrap_or_else(|| "<none>".to_owned()),
    );
    f.write(&mut out);
    out.push_str("Rules:\n");
    let backend = |b: &k8s_openapi::api::networking::v1::IngressBackend| match &b.service {
        Some(s) => {
            let port = s.port.as_ref().map_or_else(String::new, |p| {
                p.number
                    .map(|n| n.to_string())
                    .or_else(|| p.name.clone())
                    .unwrap_or_default()
            });
            format!("{}:{port}", s.name)
        }
        None => "<resource>".to_owned(),
    };
    let mut rows = Vec::new();
    for rule in spec.rules.iter().flatten() {
        let host = rule.host.clone().unwrap_or_else(|| "*".to_owned());
        for path in rule.http.iter().flat_map(|h| &h.paths) {
            rows.push(vec![
                host.clone(),
                path.path.clone().unwrap_or_else(|| "/".to_owned()),
                backend(&path.backend),
            ]);
        }
    }
    table(&mut out, 2, &["Host", "Path", "Backends"], &rows, true);
    events(&mut out, evs, now_ms);
    out
}

pub fn config_map(c: &ConfigMap, evs: &[Event], now_ms: i64) -> String {
    let mut out = String::new();
    let f = head(&c.metadata, true);
    f.write(&mut out);
    out.push_str("\nData\n====\n");
    for (k, v) in c.data.iter().flatten() {
        let _ = writeln!(out, "{k}:\n----\n{v}\n");
    }
    out.push_str("\nBinaryData\n====\n");
    for (k, v) in c.binary_data.iter().flatten() {
        let _ = writeln!(out, "{k}: {} bytes", v.0.len());
    }
    out.push('\n');
    events(&mut out, evs, now_ms);
    out
}
