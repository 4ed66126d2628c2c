use serde::{Deserialize, Serialize};

use super::{ConditionStatus, Labels};
use crate::is_false;

/// A deployment: `kubectl get deploy -o wide` plus conditions and strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Deployment {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// `spec.replicas`.
    pub desired: u32,
    /// Pods ready.
    pub ready: u32,
    /// Pods of the current template.
    pub updated: u32,
    /// Pods available (ready for minReadySeconds).
    pub available: u32,
    /// Pods missing for the desired count.
    pub unavailable: u32,
    #[serde(default)]
    /// `status.conditions` (Available, Progressing, ReplicaFailure).
    pub conditions: Vec<DeploymentCondition>,
    /// How it replaces pods.
    pub strategy: DeploymentStrategy,
    /// `spec.selector.matchLabels`.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub selector: Labels,
    /// The pod template's container images, in container order.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    /// Rollouts paused.
    pub paused: bool,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
}

/// One of a deployment's `status.conditions` (Available, Progressing, ReplicaFailure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeploymentCondition {
    #[serde(rename = "type")]
    /// `Available`, `Progressing` or `ReplicaFailure`.
    pub type_: String,
    /// True, False or Unknown.
    pub status: ConditionStatus,
    /// e.g. `ProgressDeadlineExceeded`, `NewReplicaSetAvailable`, `MinimumReplicasAvailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// A sentence.
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the condition last changed (ms since the epoch).
    pub since_ms: Option<i64>,
}

/// `spec.strategy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type")]
pub enum DeploymentStrategy {
    /// `maxSurge` / `maxUnavailable` as written in the spec (`25%` or a count).
    RollingUpdate {
        /// Pods above the desired count during an update (a number or a percentage).
        max_surge: String,
        /// Pods below it during an update (a number or a percentage).
        max_unavailable: String,
    },
    /// Every old pod goes before new ones start.
    Recreate,
}
