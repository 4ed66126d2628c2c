use serde::{Deserialize, Serialize};

use crate::source::Source;

/// One cluster as master sees it: when each source last arrived, whether it went quiet, and how
/// much it holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClusterSummary {
    /// The cluster's id (what its agent pushes as `cluster_id`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// When it was registered (ms since the epoch).
    pub created_ms: i64,
    /// When master last received any push from the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_push_ms: Option<i64>,
    /// No push for longer than master's stale threshold (or never any).
    pub stale: bool,
    /// How far the agent's clock is ahead of master's (negative: behind), from the newest
    /// push: its `ts_ms` minus when master received it (so it includes the push's transit,
    /// normally well under a second). Master orders and ages pushes by its own receive time,
    /// so a skewed agent clock is shown here, not refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock_skew_ms: Option<i64>,
    /// One entry per source received so far, in the seed's schedule order.
    #[serde(default)]
    pub sources: Vec<SourceStatus>,
    /// What its latest snapshots hold.
    pub counts: ClusterCounts,
}

/// The last push of one source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SourceStatus {
    /// Which list.
    pub source: Source,
    /// When master received it.
    pub last_push_ms: i64,
    /// When the agent took it.
    pub ts_ms: i64,
    /// Milliseconds since `last_push_ms`, at the time of the answer.
    pub age_ms: i64,
    /// Items in the last push.
    pub items: u64,
    /// Older than three of the source's full-push intervals.
    pub stale: bool,
}

/// What the cluster's latest snapshots hold.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ClusterCounts {
    /// Nodes.
    pub nodes: u64,
    /// Nodes Ready.
    pub nodes_ready: u64,
    /// Pods.
    pub pods: u64,
    /// Pods Running.
    pub pods_running: u64,
    /// Pods that are neither Running with every container ready nor Completed.
    pub pods_unhealthy: u64,
    /// Deployments.
    pub deployments: u64,
    /// Services.
    pub services: u64,
    /// Namespaces.
    pub namespaces: u64,
    /// Ingresses.
    pub ingresses: u64,
    /// Config maps.
    pub configmaps: u64,
    /// Events held in memory for the cluster, and how many of them are warnings.
    pub events: u64,
    /// Warning events held.
    pub warning_events: u64,
}
