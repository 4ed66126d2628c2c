use serde::{Deserialize, Serialize};

use super::{ConditionStatus, Labels};
use crate::is_false;

/// A deployment: `kubectl get deploy -o wide` plus conditions and strategy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Deployment {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// `spec.replicas`.
    pub desired: u32,
    pub ready: u32,
    pub updated: u32,
    pub available: u32,
    pub unavailable: u32,
    #[serde(default)]
    pub conditions: Vec<DeploymentCondition>,
    pub strategy: DeploymentStrategy,
    /// `spec.selector.matchLabels`.
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub selector: Labels,
    /// The pod template's container images, in container order.
    #[serde(default)]
    pub images: Vec<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub paused: bool,
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

/// One of a deployment's `status.conditions` (Available, Progressing, ReplicaFailure).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DeploymentCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: ConditionStatus,
    /// e.g. `ProgressDeadlineExceeded`, `NewReplicaSetAvailable`, `MinimumReplicasAvailable`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since_ms: Option<i64>,
}

/// `spec.strategy`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type")]
pub enum DeploymentStrategy {
    /// `maxSurge` / `maxUnavailable` as written in the spec (`25%` or a count).
    RollingUpdate {
        max_surge: String,
        max_unavailable: String,
    },
    Recreate,
}
