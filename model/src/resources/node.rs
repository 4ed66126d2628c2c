use serde::{Deserialize, Serialize};

use super::{ConditionStatus, Labels};

/// A node: `kubectl get nodes -o wide` plus conditions, taints and capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Node {
    /// Its name.
    pub name: String,
    /// From the `node-role.kubernetes.io/<role>` labels, e.g. `control-plane`.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The `Ready` condition is `True`.
    pub ready: bool,
    /// Cordoned (`spec.unschedulable`): kubectl shows `SchedulingDisabled`.
    pub unschedulable: bool,
    #[serde(default)]
    /// `status.conditions` (Ready, MemoryPressure, …).
    pub conditions: Vec<NodeCondition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Its taints.
    pub taints: Vec<Taint>,
    /// What the node has.
    pub capacity: NodeResources,
    /// What pods may use of it.
    pub allocatable: NodeResources,
    #[serde(default)]
    /// Its addresses.
    pub addresses: Vec<NodeAddress>,
    /// Versions of what runs it.
    pub info: NodeInfo,
    /// When it was registered (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
}

/// One of `status.conditions` (Ready, MemoryPressure, DiskPressure, PIDPressure, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeCondition {
    #[serde(rename = "type")]
    /// `Ready`, `MemoryPressure`, `DiskPressure`, `PIDPressure`, `NetworkUnavailable`.
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A CamelCase reason.
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A sentence.
    pub message: Option<String>,
    /// `lastTransitionTime`: since when the condition has had this status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
}

/// `spec.taints[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Taint {
    /// The taint's key.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its value, if it has one.
    pub value: Option<String>,
    /// `NoSchedule`, `PreferNoSchedule` or `NoExecute`.
    pub effect: String,
}

/// Capacity or allocatable, in base units.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeResources {
    /// CPU in millicores.
    pub cpu_millis: u64,
    /// Memory in bytes.
    pub memory_bytes: u64,
    /// Pods it can hold.
    pub pods: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Local ephemeral storage, when the kubelet reports it.
    pub ephemeral_storage_bytes: Option<u64>,
}

/// `status.addresses[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeAddress {
    /// `InternalIP`, `ExternalIP`, `Hostname`, …
    #[serde(rename = "type")]
    pub type_: String,
    /// The address.
    pub address: String,
}

/// `status.nodeInfo`: versions of what runs the node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeInfo {
    /// The kubelet's version.
    pub kubelet_version: String,
    /// The OS image (`Ubuntu 24.04.1 LTS`).
    pub os_image: String,
    /// The kernel's version.
    pub kernel_version: String,
    /// The container runtime and its version.
    pub container_runtime: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
}
