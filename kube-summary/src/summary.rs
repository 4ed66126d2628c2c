//! Kubernetes objects → the compact `model` summaries: what views, alerts and diagnosis need, in
//! base units, nothing else (no managed fields, annotations or full specs).

use std::collections::BTreeMap;

use atlhyper_model::quantity;
use atlhyper_model::resources::{
    self as m, ConditionStatus, ContainerState, EventType, IngressBackend, Labels, PodPhase,
};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerStatus, Event, LoadBalancerIngress, Namespace, Node, Pod,
    ResourceRequirements, Service,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::{ms, node_roles, pod_summary};

fn name(meta: &ObjectMeta) -> String {
    meta.name.clone().unwrap_or_default()
}

fn namespace(meta: &ObjectMeta) -> String {
    meta.namespace.clone().unwrap_or_default()
}

fn uid(meta: &ObjectMeta) -> String {
    meta.uid.clone().unwrap_or_default()
}

fn created(meta: &ObjectMeta) -> i64 {
    meta.creation_timestamp.as_ref().map_or(0, ms)
}

fn labels(meta: &ObjectMeta) -> Labels {
    meta.labels.clone().unwrap_or_default()
}

fn time(t: Option<&Time>) -> Option<i64> {
    t.map(ms)
}

fn condition_status(s: &str) -> ConditionStatus {
    match s {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    }
}

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn resources(r: Option<&ResourceRequirements>, limits: bool) -> m::Resources {
    let map = r.and_then(|r| {
        if limits {
            r.limits.as_ref()
        } else {
            r.requests.as_ref()
        }
    });
    m::Resources {
        cpu_millis: map
            .and_then(|m| m.get("cpu"))
            .and_then(|q| quantity::cpu_millis(&q.0).ok()),
        memory_bytes: map
            .and_then(|m| m.get("memory"))
            .and_then(|q| quantity::value(&q.0).ok()),
    }
}

fn container(spec: &Container, status: Option<&ContainerStatus>, init: bool) -> m::Container {
    let state = status.and_then(|s| s.state.as_ref());
    let (kind, reason, message, started_ms) = match state {
        Some(s) if s.running.is_some() => (
            ContainerState::Running,
            None,
            None,
            time(s.running.as_ref().and_then(|r| r.started_at.as_ref())),
        ),
        Some(s) if s.terminated.is_some() => {
            let t = s.terminated.as_ref().expect("checked");
            (
                ContainerState::Terminated,
                t.reason.clone(),
                t.message.clone(),
                time(t.started_at.as_ref()),
            )
        }
        Some(s) => {
            let w = s.waiting.as_ref();
            (
                ContainerState::Waiting,
                w.and_then(|w| w.reason.clone()),
                w.and_then(|w| w.message.clone()),
                None,
            )
        }
        None => (ContainerState::Waiting, None, None, None),
    };
    let last = status
        .and_then(|s| s.last_state.as_ref())
        .and_then(|s| s.terminated.as_ref())
        .map(|t| m::LastTermination {
            reason: t.reason.clone(),
            exit_code: t.exit_code,
            finished_ms: time(t.finished_at.as_ref()),
        });
    m::Container {
        name: spec.name.clone(),
        image: spec.image.clone().unwrap_or_default(),
        init,
        state: kind,
        reason,
        message,
        ready: status.is_some_and(|s| s.ready),
        restart_count: status.map_or(0, |s| s.restart_count.max(0) as u32),
        started_ms,
        last_termination: last,
        requests: resources(spec.resources.as_ref(), false),
        limits: resources(spec.resources.as_ref(), true),
    }
}

/// A pod as `kubectl get pods -o wide` shows it, with its containers.
pub fn pod(pod: &Pod) -> m::Pod {
    let meta = &pod.metadata;
    let printed = pod_summary(pod);
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let find = |statuses: Option<&Vec<ContainerStatus>>, name: &str| -> Option<ContainerStatus> {
        statuses?.iter().find(|s| s.name == name).cloned()
    };
    let mut containers = Vec::new();
    if let Some(spec) = spec {
        for c in spec.init_containers.iter().flatten() {
            let s = find(
                status.and_then(|s| s.init_container_statuses.as_ref()),
                &c.name,
            );
            containers.push(container(c, s.as_ref(), true));
        }
        for c in &spec.containers {
            let s = find(status.and_then(|s| s.container_statuses.as_ref()), &c.name);
            containers.push(container(c, s.as_ref(), false));
        }
    }
    let phase = match status.and_then(|s| s.phase.as_deref()) {
        Some("Pending") => PodPhase::Pending,
        Some("Running") => PodPhase::Running,
        Some("Succeeded") => PodPhase::Succeeded,
        Some("Failed") => PodPhase::Failed,
        _ => PodPhase::Unknown,
    };
    m::Pod {
        namespace: namespace(meta),
        name: name(meta),
        uid: uid(meta),
        node: spec
            .and_then(|s| s.node_name.clone())
            .filter(|n| !n.is_empty()),
        phase,
        status: printed.status,
        ready: printed.ready as u32,
        total: printed.total as u32,
        restarts: printed.restarts.max(0) as u32,
        containers,
        owner: meta
            .owner_references
            .iter()
            .flatten()
            .find(|o| o.controller == Some(true))
            .map(|o| m::OwnerRef {
                kind: o.kind.clone(),
                name: o.name.clone(),
            }),
        labels: labels(meta),
        pod_ip: status
            .and_then(|s| s.pod_ip.clone())
            .filter(|ip| !ip.is_empty()),
        qos: match status.and_then(|s| s.qos_class.as_deref()) {
            Some("Guaranteed") => Some(m::QosClass::Guaranteed),
            Some("Burstable") => Some(m::QosClass::Burstable),
            Some("BestEffort") => Some(m::QosClass::BestEffort),
            _ => None,
        },
        created_ms: created(meta),
        deletion_ms: time(meta.deletion_timestamp.as_ref()),
    }
}

fn node_resources(
    map: Option<&BTreeMap<String, k8s_openapi::apimachinery::pkg::api::resource::Quantity>>,
) -> m::NodeResources {
    let get = |key: &str| map.and_then(|m| m.get(key)).map(|q| q.0.as_str());
    m::NodeResources {
        cpu_millis: get("cpu")
            .and_then(|q| quantity::cpu_millis(q).ok())
            .unwrap_or(0),
        memory_bytes: get("memory")
            .and_then(|q| quantity::value(q).ok())
            .unwrap_or(0),
        pods: get("pods")
            .and_then(|q| quantity::value(q).ok())
            .unwrap_or(0)
            .min(u64::from(u32::MAX)) as u32,
        ephemeral_storage_bytes: get("ephemeral-storage").and_then(|q| quantity::value(q).ok()),
    }
}

/// A node: readiness, conditions, taints, capacity, addresses, versions.
pub fn node(node: &Node) -> m::Node {
    let meta = &node.metadata;
    let status = node.status.as_ref();
    let conditions: Vec<m::NodeCondition> = status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
        .map(|c| m::NodeCondition {
            type_: c.type_.clone(),
            status: condition_status(&c.status),
            reason: c.reason.clone(),
            message: c.message.clone(),
            since_ms: time(c.last_transition_time.as_ref()),
        })
        .collect();
    let info = status.and_then(|s| s.node_info.as_ref());
    m::Node {
        name: name(meta),
        roles: node_roles(node),
        ready: conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == ConditionStatus::True),
        unschedulable: node.spec.as_ref().and_then(|s| s.unschedulable) == Some(true),
        conditions,
        taints: node
            .spec
            .as_ref()
            .and_then(|s| s.taints.as_ref())
            .into_iter()
            .flatten()
            .map(|t| m::Taint {
                key: t.key.clone(),
                value: t.value.clone(),
                effect: t.effect.clone(),
            })
            .collect(),
        capacity: node_resources(status.and_then(|s| s.capacity.as_ref())),
        allocatable: node_resources(status.and_then(|s| s.allocatable.as_ref())),
        addresses: status
            .and_then(|s| s.addresses.as_ref())
            .into_iter()
            .flatten()
            .map(|a| m::NodeAddress {
                type_: a.type_.clone(),
                address: a.address.clone(),
            })
            .collect(),
        info: m::NodeInfo {
            kubelet_version: info.map(|i| i.kubelet_version.clone()).unwrap_or_default(),
            os_image: info.map(|i| i.os_image.clone()).unwrap_or_default(),
            kernel_version: info.map(|i| i.kernel_version.clone()).unwrap_or_default(),
            container_runtime: info
                .map(|i| i.container_runtime_version.clone())
                .unwrap_or_default(),
            architecture: info.map(|i| i.architecture.clone()).unwrap_or_default(),
        },
        created_ms: created(meta),
        labels: labels(meta),
    }
}

/// A deployment: replica counts, conditions, strategy, images.
pub fn deployment(d: &Deployment) -> m::Deployment {
    let meta = &d.metadata;
    let spec = d.spec.as_ref();
    let status = d.status.as_ref();
    let count = |v: Option<i32>| v.unwrap_or(0).max(0) as u32;
    let strategy = spec.and_then(|s| s.strategy.as_ref());
    m::Deployment {
        namespace: namespace(meta),
        name: name(meta),
        uid: uid(meta),
        desired: spec.and_then(|s| s.replicas).unwrap_or(1).max(0) as u32,
        ready: count(status.and_then(|s| s.ready_replicas)),
        updated: count(status.and_then(|s| s.updated_replicas)),
        available: count(status.and_then(|s| s.available_replicas)),
        unavailable: count(status.and_then(|s| s.unavailable_replicas)),
        conditions: status
            .and_then(|s| s.conditions.as_ref())
            .into_iter()
            .flatten()
            .map(|c| m::DeploymentCondition {
                type_: c.type_.clone(),
                status: condition_status(&c.status),
                reason: c.reason.clone(),
                message: c.message.clone(),
                since_ms: time(c.last_transition_time.as_ref()),
            })
            .collect(),
        strategy: match strategy.and_then(|s| s.type_.as_deref()) {
            Some("Recreate") => m::DeploymentStrategy::Recreate,
            _ => {
                let rolling = strategy.and_then(|s| s.rolling_update.as_ref());
                m::DeploymentStrategy::RollingUpdate {
                    max_surge: rolling
                        .and_then(|r| r.max_surge.as_ref())
                        .map_or_else(|| "25%".to_owned(), int_or_string),
                    max_unavailable: rolling
                        .and_then(|r| r.max_unavailable.as_ref())
                        .map_or_else(|| "25%".to_owned(), int_or_string),
                }
            }
        },
        selector: spec
            .and_then(|s| s.selector.match_labels.clone())
            .unwrap_or_default(),
        images: spec
            .and_then(|s| s.template.spec.as_ref())
            .map(|t| {
                t.containers
                    .iter()
                    .filter_map(|c| c.image.clone())
                    .collect()
            })
            .unwrap_or_default(),
        paused: spec.and_then(|s| s.paused) == Some(true),
        created_ms: created(meta),
        labels: labels(meta),
    }
}

fn lb_addresses(ingress: Option<&Vec<LoadBalancerIngress>>) -> Vec<String> {
    ingress
        .into_iter()
        .flatten()
        .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
        .collect()
}

/// A service: type, cluster and external addresses, ports, selector.
pub fn service(s: &Service) -> m::Service {
    let meta = &s.metadata;
    let spec = s.spec.as_ref();
    let mut external_ips: Vec<String> = spec
        .and_then(|s| s.external_ips.clone())
        .unwrap_or_default();
    external_ips.extend(lb_addresses(
        s.status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref()),
    ));
    m::Service {
        namespace: namespace(meta),
        name: name(meta),
        uid: uid(meta),
        type_: match spec.and_then(|s| s.type_.as_deref()) {
            Some("NodePort") => m::ServiceType::NodePort,
            Some("LoadBalancer") => m::ServiceType::LoadBalancer,
            Some("ExternalName") => m::ServiceType::ExternalName,
            _ => m::ServiceType::ClusterIP,
        },
        cluster_ip: spec
            .and_then(|s| s.cluster_ip.clone())
            .filter(|ip| !ip.is_empty() && ip != "None"),
        external_ips,
        external_name: spec.and_then(|s| s.external_name.clone()),
        ports: spec
            .and_then(|s| s.ports.as_ref())
            .into_iter()
            .flatten()
            .map(|p| m::ServicePort {
                name: p.name.clone(),
                protocol: p.protocol.clone().unwrap_or_else(|| "TCP".to_owned()),
                port: p.port.clamp(0, i32::from(u16::MAX)) as u16,
                target_port: p
                    .target_port
                    .as_ref()
                    .map_or_else(|| p.port.to_string(), int_or_string),
                node_port: p.node_port.map(|n| n.clamp(0, i32::from(u16::MAX)) as u16),
            })
            .collect(),
        selector: spec.and_then(|s| s.selector.clone()).unwrap_or_default(),
        created_ms: created(meta),
        labels: labels(meta),
    }
}

/// A namespace and its phase.
pub fn namespace_summary(ns: &Namespace) -> m::Namespace {
    let meta = &ns.metadata;
    m::Namespace {
        name: name(meta),
        uid: uid(meta),
        phase: ns
            .status
            .as_ref()
            .and_then(|s| s.phase.clone())
            .unwrap_or_else(|| "Active".to_owned()),
        labels: labels(meta),
        created_ms: created(meta),
    }
}

/// An ingress with its rules spelled out.
pub fn ingress(i: &Ingress) -> m::Ingress {
    let meta = &i.metadata;
    let spec = i.spec.as_ref();
    m::Ingress {
        namespace: namespace(meta),
        name: name(meta),
        uid: uid(meta),
        class: spec.and_then(|s| s.ingress_class_name.clone()).or_else(|| {
            meta.annotations
                .as_ref()
                .and_then(|a| a.get("kubernetes.io/ingress.class").cloned())
        }),
        rules: spec
            .and_then(|s| s.rules.as_ref())
            .into_iter()
            .flatten()
            .map(|r| m::IngressRule {
                host: r.host.clone().filter(|h| !h.is_empty()),
                paths: r
                    .http
                    .as_ref()
                    .map(|h| {
                        h.paths
                            .iter()
                            .map(|p| m::IngressPath {
                                path: p.path.clone().unwrap_or_else(|| "/".to_owned()),
                                path_type: p.path_type.clone(),
                                backend: match (&p.backend.service, &p.backend.resource) {
                                    (Some(s), _) => IngressBackend::Service {
                                        name: s.name.clone(),
                                        port: s
                                            .port
                                            .as_ref()
                                            .and_then(|port| {
                                                port.number
                                                    .map(|n| n.to_string())
                                                    .or_else(|| port.name.clone())
                                            })
                                            .unwrap_or_default(),
                                    },
                                    (None, Some(r)) => IngressBackend::Resource {
                                        kind: r.kind.clone(),
                                        name: r.name.clone(),
                                    },
                                    (None, None) => IngressBackend::Service {
                                        name: String::new(),
                                        port: String::new(),
                                    },
                                },
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect(),
        tls: spec
            .and_then(|s| s.tls.as_ref())
            .into_iter()
            .flatten()
            .map(|t| m::IngressTls {
                hosts: t.hosts.clone().unwrap_or_default(),
                secret_name: t.secret_name.clone(),
            })
            .collect(),
        addresses: i
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|lb| lb.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
            .collect(),
        created_ms: created(meta),
        labels: labels(meta),
    }
}

/// A config map: its keys and their sizes, never the values.
pub fn configmap(c: &ConfigMap) -> m::ConfigMap {
    let meta = &c.metadata;
    let mut keys: Vec<m::ConfigMapKey> = c
        .data
        .iter()
        .flatten()
        .map(|(k, v)| m::ConfigMapKey {
            name: k.clone(),
            bytes: v.len() as u64,
            binary: false,
        })
        .chain(
            c.binary_data
                .iter()
                .flatten()
                .map(|(k, v)| m::ConfigMapKey {
                    name: k.clone(),
                    bytes: v.0.len() as u64,
                    binary: true,
                }),
        )
        .collect();
    keys.sort_by(|a, b| a.name.cmp(&b.name));
    m::ConfigMap {
        namespace: namespace(meta),
        name: name(meta),
        uid: uid(meta),
        keys,
        created_ms: created(meta),
        labels: labels(meta),
    }
}

/// An event: `kubectl get events` and `describe` fields, old- and new-style timestamps.
pub fn event(e: &Event) -> m::Event {
    let meta = &e.metadata;
    let event_time = e.event_time.as_ref().map(|t| t.0.as_millisecond());
    let first = time(e.first_timestamp.as_ref())
        .or(event_time)
        .unwrap_or_else(|| created(meta));
    let last = time(e.last_timestamp.as_ref())
        .or_else(|| {
            e.series
                .as_ref()
                .and_then(|s| s.last_observed_time.as_ref())
                .map(|t| t.0.as_millisecond())
        })
        .or(event_time)
        .unwrap_or(first);
    m::Event {
        uid: uid(meta),
        namespace: namespace(meta),
        name: name(meta),
        type_: if e.type_.as_deref() == Some("Warning") {
            EventType::Warning
        } else {
            EventType::Normal
        },
        reason: e.reason.clone().unwrap_or_default(),
        message: e.message.clone().unwrap_or_default(),
        object: m::InvolvedObject {
            kind: e.involved_object.kind.clone().unwrap_or_default(),
            namespace: e.involved_object.namespace.clone(),
            name: e.involved_object.name.clone().unwrap_or_default(),
            uid: e.involved_object.uid.clone(),
        },
        count: e
            .count
            .or_else(|| e.series.as_ref().and_then(|s| s.count))
            .unwrap_or(1)
            .max(1) as u32,
        first_seen_ms: first,
        last_seen_ms: last.max(first),
        source: e
            .source
            .as_ref()
            .and_then(|s| s.component.clone())
            .or_else(|| e.reporting_component.clone())
            .filter(|s| !s.is_empty()),
        host: e.source.as_ref().and_then(|s| s.host.clone()),
    }
}
