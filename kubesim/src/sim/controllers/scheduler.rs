//! The scheduler: binds pending pods to a ready, schedulable node whose taints they tolerate and
//! that has room for their requests; otherwise the pod stays Pending with `FailedScheduling`.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{Node, Pod, PodCondition, Taint, Toleration};

use super::events::{Recorder, Source};
use super::reference;
use crate::store::{World, time};

/// How often a still-unschedulable pod gets another `FailedScheduling` (simulated ms).
const RETRY_REPORT_MS: i64 = 30_000;
/// A new pod waits this long before it is bound (the scheduler's queue).
const BIND_DELAY_MS: i64 = 300;

#[derive(Default)]
pub struct Scheduler {
    /// When each unschedulable pod (by uid) was last reported.
    reported: HashMap<String, i64>,
}

/// A container's CPU (millicores) and memory (bytes) requests, summed over the pod.
pub fn pod_requests(pod: &Pod) -> (u64, u64) {
    let mut cpu = 0;
    let mut memory = 0;
    for c in pod.spec.iter().flat_map(|s| s.containers.iter()) {
        let requests = c.resources.as_ref().and_then(|r| r.requests.as_ref());
        if let Some(q) = requests.and_then(|r| r.get("cpu")) {
            cpu += atlhyper_model::quantity::cpu_millis(&q.0).unwrap_or(0);
        }
        if let Some(q) = requests.and_then(|r| r.get("memory")) {
            memory += atlhyper_model::quantity::value(&q.0).unwrap_or(0);
        }
    }
    (cpu, memory)
}

/// Allocatable CPU (millicores) and memory (bytes) of a node.
pub fn node_allocatable(node: &Node) -> (u64, u64) {
    let alloc = node.status.as_ref().and_then(|s| s.allocatable.as_ref());
    let get = |k: &str, f: fn(&str) -> Result<u64, atlhyper_model::quantity::BadQuantity>| {
        alloc
            .and_then(|a| a.get(k))
            .and_then(|q| f(&q.0).ok())
            .unwrap_or(0)
    };
    (
        get("cpu", atlhyper_model::quantity::cpu_millis),
        get("memory", atlhyper_model::quantity::value),
    )
}

pub fn node_ready(node: &Node) -> bool {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .is_some_and(|c| c.status == "True")
}

pub(super) fn tolerates(tolerations: &[Toleration], taint: &Taint) -> bool {
    tolerations.iter().any(|t| {
        let key_ok = match t.operator.as_deref() {
            Some("Exists") => t
                .key
                .as_deref()
                .is_none_or(|k| k.is_empty() || k == taint.key),
            _ => {
                t.key.as_deref() == Some(taint.key.as_str())
                    && t.value.as_deref().unwrap_or_default()
                        == taint.value.as_deref().unwrap_or_default()
            }
        };
        key_ok
            && t.effect
                .as_deref()
                .is_none_or(|e| e.is_empty() || e == taint.effect)
    })
}

/// Whether a pod still holds resources on its node.
pub fn is_active(pod: &Pod) -> bool {
    !matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

impl Scheduler {
    pub fn step(&mut self, world: &mut World, recorder: &mut Recorder, now_ms: i64) {
        let pending: Vec<(String, String)> = world
            .pods
            .iter()
            .filter(|e| {
                let p = &e.object;
                p.spec.as_ref().is_some_and(|s| s.node_name.is_none())
                    && p.metadata.deletion_timestamp.is_none()
                    && p.metadata
                        .creation_timestamp
                        .as_ref()
                        .is_none_or(|t| now_ms - t.0.as_millisecond() >= BIND_DELAY_MS)
            })
            .map(|e| (e.meta.namespace.clone(), e.meta.name.clone()))
            .collect();
        self.reported.retain(|uid, _| {
            world
                .pods
                .iter()
                .any(|e| e.object.metadata.uid.as_ref() == Some(uid))
        });
        if pending.is_empty() {
            return;
        }

        // What is already requested on each node.
        let mut used: BTreeMap<String, (u64, u64, u32)> = BTreeMap::new();
        for e in world.pods.iter() {
            if let Some(node) = e.object.spec.as_ref().and_then(|s| s.node_name.clone())
                && is_active(&e.object)
            {
                let (cpu, memory) = pod_requests(&e.object);
                let slot = used.entry(node).or_default();
                slot.0 += cpu;
                slot.1 += memory;
                slot.2 += 1;
            }
        }
        let nodes: Vec<_> = world.nodes.iter().map(|e| e.object.clone()).collect();

        for (namespace, name) in pending {
            let Some(pod) = world.get::<Pod>(&namespace, &name) else {
                continue;
            };
            let (cpu, memory) = pod_requests(&pod);
            let tolerations = pod
                .spec
                .as_ref()
                .and_then(|s| s.tolerations.clone())
                .unwrap_or_default();
            let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
            let mut best: Option<(f64, String)> = None;
            for node in &nodes {
                let node_name = node.metadata.name.clone().unwrap_or_default();
                let spec = node.spec.clone().unwrap_or_default();
                let untolerated = spec
                    .taints
                    .iter()
                    .flatten()
                    .find(|t| t.effect != "PreferNoSchedule" && !tolerates(&tolerations, t));
                if !node_ready(node) {
                    *reasons
                        .entry("node(s) were not ready".to_owned())
                        .or_default() += 1;
                    continue;
                }
                if spec.unschedulable == Some(true) {
                    *reasons
                        .entry("node(s) were unschedulable".to_owned())
                        .or_default() += 1;
                    continue;
                }
                if let Some(t) = untolerated {
                    let reason = format!(
                        "node(s) had untolerated taint {{{}: {}}}",
                        t.key,
                        t.value.clone().unwrap_or_default()
                    );
                    *reasons.entry(reason).or_default() += 1;
                    continue;
                }
                let (alloc_cpu, alloc_mem) = node_allocatable(node);
                let (used_cpu, used_mem, count) = used.get(&node_name).copied().unwrap_or_default();
                if used_cpu + cpu > alloc_cpu {
                    *reasons.entry("Insufficient cpu".to_owned()).or_default() += 1;
                    continue;
                }
                if used_mem + memory > alloc_mem {
                    *reasons.entry("Insufficient memory".to_owned()).or_default() += 1;
                    continue;
                }
                if count >= 110 {
                    *reasons.entry("Too many pods".to_owned()).or_default() += 1;
                    continue;
                }
                // Least allocated first, as the default scoring prefers.
                let score = (used_cpu + cpu) as f64 / alloc_cpu.max(1) as f64
                    + (used_mem + memory) as f64 / alloc_mem.max(1) as f64;
                if best.as_ref().is_none_or(|(s, _)| score < *s) {
                    best = Some((score, node_name));
                }
            }
            let pod_ref = reference(&*pod);
            let scheduler = Source {
                component: "default-scheduler",
                host: None,
            };
            match best {
                Some((_, node_name)) => {
                    let slot = used.entry(node_name.clone()).or_default();
                    slot.0 += cpu;
                    slot.1 += memory;
                    slot.2 += 1;
                    let _ = world.update::<Pod>(&namespace, &name, |p| {
                        p.spec.get_or_insert_default().node_name = Some(node_name.clone());
                        let status = p.status.get_or_insert_default();
                        set_condition(
                            status.conditions.get_or_insert_default(),
                            "PodScheduled",
                            "True",
                            None,
                            None,
                            now_ms,
                        );
                    });
                    recorder.record(
                        world,
                        &pod_ref,
                        "Normal",
                        "Scheduled",
                        &format!("Successfully assigned {namespace}/{name} to {node_name}"),
                        scheduler,
                        now_ms,
                    );
                    self.reported
                        .remove(pod.metadata.uid.as_deref().unwrap_or_default());
                }
                None => {
                    let detail: Vec<String> = reasons
                        .iter()
                        .map(|(reason, n)| format!("{n} {reason}"))
                        .collect();
                    let message = format!(
                        "0/{} nodes are available: {}. preemption: 0/{} nodes are available: {} \
                         Preemption is not helpful for scheduling.",
                        nodes.len(),
                        detail.join(", "),
                        nodes.len(),
                        nodes.len()
                    );
                    let _ = world.update::<Pod>(&namespace, &name, |p| {
                        let status = p.status.get_or_insert_default();
                        status.phase = Some("Pending".to_owned());
                        set_condition(
                            status.conditions.get_or_insert_default(),
                            "PodScheduled",
                            "False",
                            Some("Unschedulable"),
                            Some(&message),
                            now_ms,
                        );
                    });
                    let uid = pod.metadata.uid.clone().unwrap_or_default();
                    let due = self
                        .reported
                        .get(&uid)
                        .is_none_or(|last| now_ms - last >= RETRY_REPORT_MS);
                    if due {
                        self.reported.insert(uid, now_ms);
                        recorder.record(
                            world,
                            &pod_ref,
                            "Warning",
                            "FailedScheduling",
                            &message,
                            scheduler,
                            now_ms,
                        );
                    }
                }
            }
        }
    }
}

/// Sets a pod condition, keeping its transition time when the status does not change.
pub fn set_condition(
    conditions: &mut Vec<PodCondition>,
    type_: &str,
    status: &str,
    reason: Option<&str>,
    message: Option<&str>,
    now_ms: i64,
) {
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status {
            c.status = status.to_owned();
            c.last_transition_time = Some(time(now_ms));
        }
        c.reason = reason.map(str::to_owned);
        c.message = message.map(str::to_owned);
        return;
    }
    conditions.push(PodCondition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.map(str::to_owned),
        message: message.map(str::to_owned),
        last_transition_time: Some(time(now_ms)),
        last_probe_time: None,
        ..PodCondition::default()
    });
}
