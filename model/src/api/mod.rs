//! The shapes master's `/api/v1` answers with, which `atlctl --json` prints unchanged: one
//! definition for both sides.

mod admin;
mod cluster;
mod commands;
mod metrics;
mod stream;

use serde::{Deserialize, Serialize};

pub use admin::{
    AuditRecord, ClusterCreated, CreateCluster, CreateToken, IngestCount, IngestReceipt, Role,
    TokenCreated, TokenInfo, WhoAmI,
};
pub use cluster::{ClusterCounts, ClusterSummary, SourceStatus};
pub use commands::{AckOutcome, AckReceipt, CommandInfo, CreateCommand};
pub use metrics::{MetricPoint, MetricSeries, PodMetrics, Resolution};
pub use stream::{
    SnapshotChange, StreamBatch, StreamDelta, StreamKind, StreamReset, WatchEvent, WatchEventType,
};

use crate::metrics::NodeMetricsSnapshot;
use crate::resources::{ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service};

/// The `api_version` of every response shape.
pub const API_VERSION: &str = "atlhyper.io/v1";

/// A type that can be listed: names its kind (`Pod`) and list kind (`PodList`).
pub trait ListKind {
    /// The object's `kind` (`Pod`).
    const KIND: &'static str;
    /// A list's `kind` (`PodList`).
    const LIST_KIND: &'static str;
}

macro_rules! list_kinds {
    ($($ty:ty => $kind:literal, $list:literal),* $(,)?) => {
        $(impl ListKind for $ty {
            const KIND: &'static str = $kind;
            const LIST_KIND: &'static str = $list;
        })*
    };
}

list_kinds! {
    Pod => "Pod", "PodList",
    Node => "Node", "NodeList",
    Deployment => "Deployment", "DeploymentList",
    Service => "Service", "ServiceList",
    Namespace => "Namespace", "NamespaceList",
    Ingress => "Ingress", "IngressList",
    ConfigMap => "ConfigMap", "ConfigMapList",
    Event => "Event", "EventList",
    NodeMetricsSnapshot => "NodeMetrics", "NodeMetricsList",
    PodMetrics => "PodMetrics", "PodMetricsList",
    ClusterSummary => "Cluster", "ClusterList",
    TokenInfo => "Token", "TokenList",
    AuditRecord => "AuditRecord", "AuditList",
    CommandInfo => "Command", "CommandList",
}

impl<T: ListKind> ListKind for &T {
    const KIND: &'static str = T::KIND;
    const LIST_KIND: &'static str = T::LIST_KIND;
}

impl<T: ListKind> ListKind for InCluster<T> {
    const KIND: &'static str = T::KIND;
    const LIST_KIND: &'static str = T::LIST_KIND;
}

/// One object on its own: `{"api_version":"atlhyper.io/v1","kind":"Pod","cluster_id":…,
/// …the object's fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Item<T> {
    /// `atlhyper.io/v1`.
    pub api_version: String,
    /// The object's kind.
    pub kind: String,
    #[serde(flatten)]
    /// The object.
    pub object: T,
}

impl<T: ListKind> Item<T> {
    /// The object with its kind.
    pub fn new(object: T) -> Self {
        Item {
            api_version: API_VERSION.to_owned(),
            kind: T::KIND.to_owned(),
            object,
        }
    }
}

/// `{"api_version":"atlhyper.io/v1","kind":"PodList","items":[…]}`, with a cursor when there is
/// a next page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct List<T> {
    /// `atlhyper.io/v1`.
    pub api_version: String,
    /// The list's kind (`PodList`).
    pub kind: String,
    /// This page's items.
    pub items: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Where the next page starts (none: the last page).
    pub next_cursor: Option<String>,
}

impl<T: ListKind> List<T> {
    /// A complete list (no next page).
    pub fn new(items: Vec<T>) -> Self {
        List {
            api_version: API_VERSION.to_owned(),
            kind: T::LIST_KIND.to_owned(),
            items,
            next_cursor: None,
        }
    }
}

/// An object and the cluster it belongs to: `{"cluster_id":"prod-eu", …the object's fields}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InCluster<T> {
    /// The cluster it is in.
    pub cluster_id: String,
    #[serde(flatten)]
    /// The object.
    pub object: T,
}

/// Every error answer of every AtlHyper HTTP service: `{"error":{"code":…,"message":…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// `code` is stable snake_case that clients match on; `message` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ErrorDetail {
    /// A stable code to branch on (`bad_request`, `not_found`, `cluster_deleted`, …).
    pub code: String,
    /// A sentence naming the problem.
    pub message: String,
}

impl ErrorBody {
    /// An error with its code and message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Self {
        ErrorBody {
            error: ErrorDetail {
                code: code.into(),
                message: message.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::Namespace;

    #[test]
    fn list_has_the_documented_shape() {
        let ns = Namespace {
            name: "shop".into(),
            uid: "u1".into(),
            phase: "Active".into(),
            labels: Default::default(),
            created_ms: 1_764_000_000_000,
        };
        let list = List::new(vec![InCluster {
            cluster_id: "prod-eu".into(),
            object: ns,
        }]);
        let json = serde_json::to_value(&list).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "api_version": "atlhyper.io/v1",
                "kind": "NamespaceList",
                "items": [{"cluster_id": "prod-eu", "name": "shop", "uid": "u1", "phase": "Active",
                           "created_ms": 1_764_000_000_000_i64}]
            })
        );
        let back: List<InCluster<Namespace>> = serde_json::from_value(json).unwrap();
        assert_eq!(back, list);
    }
}
