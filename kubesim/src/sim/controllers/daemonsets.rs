//! The DaemonSet controller: one pod per eligible node (its node selector matches and its
//! taints are tolerated), bound to that node directly.

use std::collections::HashMap;

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};
use k8s_openapi::api::core::v1::{Node, Pod, PodTemplateSpec, Toleration};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use super::events::{Recorder, Source};
use super::scheduler::tolerates;
use super::{controller_ref, controller_uid, reference};
use crate::store::World;

/// Tolerations the DaemonSet controller adds to every daemon pod.
fn default_tolerations() -> Vec<Toleration> {
    let t = |key: &str, effect: &str| Toleration {
        key: Some(key.to_owned()),
        operator: Some("Exists".to_owned()),
        effect: Some(effect.to_owned()),
        ..Toleration::default()
    };
    vec![
        t("node.kubernetes.io/not-ready", "NoExecute"),
        t("node.kubernetes.io/unreachable", "NoExecute"),
        t("node.kubernetes.io/disk-pressure", "NoSchedule"),
        t("node.kubernetes.io/memory-pressure", "NoSchedule"),
        t("node.kubernetes.io/pid-pressure", "NoSchedule"),
        t("node.kubernetes.io/unschedulable", "NoSchedule"),
    ]
}

fn eligible(node: &Node, template: &PodTemplateSpec, tolerations: &[Toleration]) -> bool {
    let spec = template.spec.clone().unwrap_or_default();
    let labels = node.metadata.labels.clone().unwrap_or_default();
    let selected = spec
        .node_selector
        .iter()
        .flatten()
        .all(|(k, v)| labels.get(k) == Some(v));
    let tolerated = node
        .spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .into_iter()
        .flatten()
        .filter(|t| t.effect != "PreferNoSchedule")
        .all(|t| tolerates(tolerations, t));
    selected && tolerated
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

pub fn step(world: &mut World, recorder: &mut Recorder, now_ms: i64) {
    let sets: Vec<_> = world.daemonsets.iter().map(|e| e.object.clone()).collect();
    if sets.is_empty() {
        return;
    }
    let nodes: Vec<_> = world.nodes.iter().map(|e| e.object.clone()).collect();
    let controller = Source {
        component: "daemonset-controller",
        host: None,
    };
    for ds in sets {
        if ds.metadata.deletion_timestamp.is_some() {
            continue;
        }
        let Some(spec) = ds.spec.clone() else {
            continue;
        };
        let ns = ds.metadata.namespace.clone().unwrap_or_default();
        let uid = ds.metadata.uid.clone().unwrap_or_default();
        let mut tolerations = spec
            .template
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.clone())
            .unwrap_or_default();
        tolerations.extend(default_tolerations());
        let mut by_node: HashMap<String, Vec<std::sync::Arc<Pod>>> = HashMap::new();
        for e in world.pods.in_namespace(&ns) {
            if controller_uid(&e.object.metadata) == Some(uid.as_str())
                && e.object.metadata.deletion_timestamp.is_none()
            {
                let node = e
                    .object
                    .spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default();
                by_node.entry(node).or_default().push(e.object.clone());
            }
        }
        let wanted: Vec<String> = nodes
            .iter()
            .filter(|n| eligible(n, &spec.template, &tolerations))
            .filter_map(|n| n.metadata.name.clone())
            .collect();
        for node in &wanted {
            if by_node.contains_key(node) {
                continue;
            }
            let ds_name = ds.metadata.name.clone().unwrap_or_default();
            let name = format!("{ds_name}-{}", world.random_suffix(5));
            let meta = spec.template.metadata.clone().unwrap_or_default();
            let mut labels = meta.labels.unwrap_or_default();
            labels.insert(
                "controller-revision-hash".to_owned(),
                "6b5c8d7f4d".to_owned(),
            );
            let mut pod_spec = spec.template.spec.clone().unwrap_or_default();
            pod_spec.node_name = Some(node.clone());
            pod_spec.tolerations = Some(tolerations.clone());
            let pod = Pod {
                metadata: ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    annotations: meta.annotations,
                    owner_references: Some(vec![controller_ref(&*ds)]),
                    ..ObjectMeta::default()
                },
                spec: Some(pod_spec),
                status: Some(k8s_openapi::api::core::v1::PodStatus {
                    phase: Some("Pending".to_owned()),
                    ..Default::default()
                }),
            };
            if world.create(pod, now_ms).is_ok() {
                recorder.record(
                    world,
                    &reference(&*ds),
                    "Normal",
                    "SuccessfulCreate",
                    &format!("Created pod: {name}"),
                    controller,
                    now_ms,
                );
            }
        }
        for (node, pods) in &by_node {
            let extra = if wanted.contains(node) { 1 } else { 0 };
            for pod in pods.iter().skip(extra) {
                let name = pod.metadata.name.clone().unwrap_or_default();
                if crate::sim::lifecycle::delete::<Pod>(world, &ns, &name, None, now_ms).is_ok() {
                    recorder.record(
                        world,
                        &reference(&*ds),
                        "Normal",
                        "SuccessfulDelete",
                        &format!("Deleted pod: {name}"),
                        controller,
                        now_ms,
                    );
                }
            }
        }
        let scheduled = wanted.iter().filter(|n| by_node.contains_key(*n)).count() as i32;
        let ready_count = wanted
            .iter()
            .filter_map(|n| by_node.get(n))
            .filter(|pods| pods.iter().any(|p| ready(p)))
            .count() as i32;
        let desired = wanted.len() as i32;
        let status = DaemonSetStatus {
            desired_number_scheduled: desired,
            current_number_scheduled: scheduled,
            number_ready: ready_count,
            number_available: Some(ready_count),
            number_unavailable: Some(desired - ready_count).filter(|n| *n > 0),
            updated_number_scheduled: Some(scheduled),
            number_misscheduled: 0,
            observed_generation: ds.metadata.generation,
            ..DaemonSetStatus::default()
        };
        if ds.status.as_ref() != Some(&status) {
            let name = ds.metadata.name.clone().unwrap_or_default();
            let _ = world.update::<DaemonSet>(&ns, &name, |d| d.status = Some(status));
        }
    }
}
