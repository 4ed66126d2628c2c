use serde::{Deserialize, Serialize};

use super::Labels;
use crate::is_false;

/// A pod as the views show it: `kubectl get pods -o wide` plus what diagnosis needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Pod {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid (metadata.uid).
    pub uid: String,
    /// The node it is bound to; `None` while Pending and unscheduled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// `status.phase`.
    pub phase: PodPhase,
    /// The STATUS column as kubectl prints it: `Running`, `CrashLoopBackOff`, `Terminating`,
    /// `ImagePullBackOff`, `Init:0/1`, `OOMKilled`, `Completed`, …
    pub status: String,
    /// Containers ready (the `x` of kubectl's READY `x/y`).
    pub ready: u32,
    /// Containers in the pod (the `y` of READY `x/y`), init containers excluded.
    pub total: u32,
    /// Sum of the app containers' restart counts (the RESTARTS column).
    pub restarts: u32,
    #[serde(default)]
    /// Init containers first, then the app's, with their states.
    pub containers: Vec<Container>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The controller that owns it, if any.
    pub owner: Option<OwnerRef>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its IP, once it has one.
    pub pod_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its QoS class.
    pub qos: Option<QosClass>,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    /// Set once deletion was requested; the pod shows `Terminating` until it is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_ms: Option<i64>,
}

/// `status.phase`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum PodPhase {
    /// Accepted, not all containers running yet (scheduling, pulling).
    Pending,
    /// Bound to a node, a container running.
    Running,
    /// Every container ended with success.
    Succeeded,
    /// Every container ended, one in failure.
    Failed,
    /// The node stopped reporting.
    Unknown,
}

impl PodPhase {
    /// The phase as Kubernetes spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            PodPhase::Pending => "Pending",
            PodPhase::Running => "Running",
            PodPhase::Succeeded => "Succeeded",
            PodPhase::Failed => "Failed",
            PodPhase::Unknown => "Unknown",
        }
    }
}

/// `status.qosClass`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum QosClass {
    /// Requests equal limits for every container.
    Guaranteed,
    /// Some requests or limits.
    Burstable,
    /// No requests or limits.
    BestEffort,
}

/// The controller that owns a pod (`metadata.ownerReferences` with `controller: true`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct OwnerRef {
    /// The owner's kind (`ReplicaSet`, `StatefulSet`, `Job`, …).
    pub kind: String,
    /// The owner's name.
    pub name: String,
}

/// One container of a pod, with its spec's image and resources and its status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Container {
    /// The container's name.
    pub name: String,
    /// Its image.
    pub image: String,
    /// An init container (runs to completion before the app containers start).
    #[serde(default, skip_serializing_if = "is_false")]
    pub init: bool,
    /// Waiting, running or terminated.
    pub state: ContainerState,
    /// Why it is waiting or terminated (`CrashLoopBackOff`, `ImagePullBackOff`, `OOMKilled`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The kubelet's message with the reason.
    pub message: Option<String>,
    /// Its readiness probe passes.
    pub ready: bool,
    /// Times the kubelet restarted it.
    pub restart_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When its current run started (ms since the epoch).
    pub started_ms: Option<i64>,
    /// How the previous run ended; what explains a crash loop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_termination: Option<LastTermination>,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    /// What it asks for.
    pub requests: Resources,
    #[serde(default, skip_serializing_if = "Resources::is_empty")]
    /// What it may not exceed.
    pub limits: Resources,
}

/// The container state's variant (`state.waiting|running|terminated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Not started yet, or waiting to be restarted (`CrashLoopBackOff`).
    Waiting,
    /// Running.
    Running,
    /// Ended.
    Terminated,
}

/// `lastState.terminated` of a container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct LastTermination {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Why it ended (`Error`, `OOMKilled`, `Completed`).
    pub reason: Option<String>,
    /// Its exit code.
    pub exit_code: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it ended (ms since the epoch).
    pub finished_ms: Option<i64>,
}

/// CPU and memory of a container's requests or limits, in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// CPU in millicores.
    pub cpu_millis: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Memory in bytes.
    pub memory_bytes: Option<u64>,
}

impl Resources {
    /// Neither CPU nor memory is set.
    pub fn is_empty(&self) -> bool {
        self.cpu_millis.is_none() && self.memory_bytes.is_none()
    }
}
