//! Faults injected at run time (tests, demos): a container that crash-loops or is OOM-killed, a
//! node that stops reporting or comes under pressure, compaction of the watch history
//! (which makes every watcher relist, as an etcd compaction does), and watches gone silent.

use k8s_openapi::api::core::v1::{Node, Pod, Taint};
use serde::{Deserialize, Serialize};

use crate::scenario::FAULT_ANNOTATION;
use crate::status::{ApiError, ApiResult};
use crate::store::{World, time};

/// One fault. On the wire (`POST /sim/v1/faults`): `{"fault":"crash","namespace":…,"pod":…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// The container exits with code 1 a few seconds after each start (CrashLoopBackOff).
    Crash {
        namespace: String,
        pod: String,
        #[serde(default)]
        container: Option<String>,
    },
    /// The container is killed at its memory limit (OOMKilled, exit 137) after each start.
    Oom {
        namespace: String,
        pod: String,
        #[serde(default)]
        container: Option<String>,
    },
    /// The pod's containers behave again from their next start.
    Heal { namespace: String, pod: String },
    /// The node's kubelet stops reporting: Ready becomes Unknown, pods go unready, then are
    /// evicted after five minutes.
    NodeNotReady { node: String },
    /// The node reports again.
    NodeReady { node: String },
    /// A pressure condition (`MemoryPressure`, `DiskPressure`, `PIDPressure`) turns on or off.
    Pressure {
        node: String,
        condition: String,
        on: bool,
    },
    /// Drops the watch history and ends every watch: watchers resuming from before get 410.
    CompactHistory,
    /// Every open watch goes silent but stays open (a half-dead connection): only a client
    /// that times out its reads and watches again sees further changes.
    StallWatches,
}

fn set_pod_fault(
    world: &mut World,
    namespace: &str,
    pod: &str,
    container: Option<&str>,
    fault: Option<&str>,
) -> ApiResult<()> {
    let current = world
        .get::<Pod>(namespace, pod)
        .ok_or_else(|| ApiError::not_found("pods", pod))?;
    let names: Vec<String> = current
        .spec
        .iter()
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect();
    let target = match container {
        Some(c) if names.iter().any(|n| n == c) => Some(c.to_owned()),
        Some(c) => {
            return Err(ApiError::bad_request(format!(
                "pod {pod} has no container {c} (containers: {})",
                names.join(", ")
            )));
        }
        None => names.first().cloned(),
    };
    world.update::<Pod>(namespace, pod, |p| {
        let annotations = p.metadata.annotations.get_or_insert_default();
        match (fault, &target) {
            (Some(fault), Some(container)) => {
                annotations.insert(FAULT_ANNOTATION.to_owned(), format!("{container}={fault}"));
            }
            _ => {
                annotations.remove(FAULT_ANNOTATION);
            }
        }
    })?;
    Ok(())
}

fn set_node_condition(
    node: &mut Node,
    type_: &str,
    status: &str,
    reason: &str,
    message: &str,
    now_ms: i64,
) {
    let conditions = node
        .status
        .get_or_insert_default()
        .conditions
        .get_or_insert_default();
    if let Some(c) = conditions.iter_mut().find(|c| c.type_ == type_) {
        if c.status != status {
            c.last_transition_time = Some(time(now_ms));
        }
        c.status = status.to_owned();
        c.reason = Some(reason.to_owned());
        c.message = Some(message.to_owned());
        c.last_heartbeat_time = Some(time(now_ms));
    }
}

fn set_taint(node: &mut Node, key: &str, effect: &str, on: bool) {
    let taints = node
        .spec
        .get_or_insert_default()
        .taints
        .get_or_insert_default();
    taints.retain(|t| !(t.key == key && t.effect == effect));
    if on {
        taints.push(Taint {
            key: key.to_owned(),
            effect: effect.to_owned(),
            time_added: (effect == "NoExecute").then(|| time(0)),
            value: None,
        });
    }
}

/// Applies a fault.
///
/// # Errors
/// 404 for an unknown pod or node, 400 for an unknown container or condition.
pub fn apply(world: &mut World, fault: &Fault, now_ms: i64) -> ApiResult<()> {
    match fault {
        Fault::Crash {
            namespace,
            pod,
            container,
        } => set_pod_fault(world, namespace, pod, container.as_deref(), Some("crash")),
        Fault::Oom {
            namespace,
            pod,
            container,
        } => set_pod_fault(world, namespace, pod, container.as_deref(), Some("oom")),
        Fault::Heal { namespace, pod } => set_pod_fault(world, namespace, pod, None, None),
        Fault::NodeNotReady { node } => {
            world.update::<Node>("", node, |n| {
                for type_ in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
                    set_node_condition(
                        n,
                        type_,
                        "Unknown",
                        "NodeStatusUnknown",
                        "Kubelet stopped posting node status.",
                        now_ms,
                    );
                }
                set_taint(n, "node.kubernetes.io/unreachable", "NoSchedule", true);
                set_taint(n, "node.kubernetes.io/unreachable", "NoExecute", true);
            })?;
            Ok(())
        }
        Fault::NodeReady { node } => {
            world.update::<Node>("", node, |n| {
                set_node_condition(
                    n,
                    "Ready",
                    "True",
                    "KubeletReady",
                    "kubelet is posting ready status",
                    now_ms,
                );
                for (type_, reason, message) in [
                    (
                        "MemoryPressure",
                        "KubeletHasSufficientMemory",
                        "kubelet has sufficient memory available",
                    ),
                    (
                        "DiskPressure",
                        "KubeletHasNoDiskPressure",
                        "kubelet has no disk pressure",
                    ),
                    (
                        "PIDPressure",
                        "KubeletHasSufficientPID",
                        "kubelet has sufficient PID available",
                    ),
                ] {
                    let unknown = n
                        .status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .and_then(|cs| cs.iter().find(|c| c.type_ == type_))
                        .is_some_and(|c| c.status == "Unknown");
                    if unknown {
                        set_node_condition(n, type_, "False", reason, message, now_ms);
                    }
                }
                set_taint(n, "node.kubernetes.io/unreachable", "NoSchedule", false);
                set_taint(n, "node.kubernetes.io/unreachable", "NoExecute", false);
            })?;
            Ok(())
        }
        Fault::Pressure {
            node,
            condition,
            on,
        } => {
            let (taint, reason_on, message_on, reason_off, message_off) = match condition.as_str() {
                "MemoryPressure" => (
                    "node.kubernetes.io/memory-pressure",
                    "KubeletHasInsufficientMemory",
                    "kubelet has insufficient memory available",
                    "KubeletHasSufficientMemory",
                    "kubelet has sufficient memory available",
                ),
                "DiskPressure" => (
                    "node.kubernetes.io/disk-pressure",
                    "KubeletHasDiskPressure",
                    "kubelet has disk pressure",
                    "KubeletHasNoDiskPressure",
                    "kubelet has no disk pressure",
                ),
                "PIDPressure" => (
                    "node.kubernetes.io/pid-pressure",
                    "KubeletHasInsufficientPID",
                    "kubelet has insufficient PID available",
                    "KubeletHasSufficientPID",
                    "kubelet has sufficient PID available",
                ),
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown condition {other} (MemoryPressure, DiskPressure, PIDPressure)"
                    )));
                }
            };
            world.update::<Node>("", node, |n| {
                if *on {
                    set_node_condition(n, condition, "True", reason_on, message_on, now_ms);
                } else {
                    set_node_condition(n, condition, "False", reason_off, message_off, now_ms);
                }
                set_taint(n, taint, "NoSchedule", *on);
            })?;
            Ok(())
        }
        Fault::CompactHistory => {
            world.compact_history();
            Ok(())
        }
        Fault::StallWatches => {
            world.stall_watches();
            Ok(())
        }
    }
}
