use serde::{Deserialize, Serialize};

use crate::source::Source;

/// What a stream event is about: the `kind` a subscriber filters on (`?kind=pods,events`).
/// On the wire, the lower-case plural of today's strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum StreamKind {
    /// Pod snapshots.
    Pods,
    /// Node snapshots.
    Nodes,
    /// Deployment snapshots.
    Deployments,
    /// Service snapshots.
    Services,
    /// Namespace snapshots.
    Namespaces,
    /// Ingress snapshots.
    Ingresses,
    /// Config map snapshots.
    Configmaps,
    /// New and updated events.
    Events,
    /// Node samples.
    Metrics,
    /// Command status changes.
    Commands,
}

impl StreamKind {
    /// Every kind, in the order the API lists them.
    pub const ALL: [StreamKind; 10] = [
        StreamKind::Pods,
        StreamKind::Nodes,
        StreamKind::Deployments,
        StreamKind::Services,
        StreamKind::Namespaces,
        StreamKind::Ingresses,
        StreamKind::Configmaps,
        StreamKind::Events,
        StreamKind::Metrics,
        StreamKind::Commands,
    ];

    /// The wire name (`pods`, `configmaps`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            StreamKind::Pods => "pods",
            StreamKind::Nodes => "nodes",
            StreamKind::Deployments => "deployments",
            StreamKind::Services => "services",
            StreamKind::Namespaces => "namespaces",
            StreamKind::Ingresses => "ingresses",
            StreamKind::Configmaps => "configmaps",
            StreamKind::Events => "events",
            StreamKind::Metrics => "metrics",
            StreamKind::Commands => "commands",
        }
    }

    /// The kind named `name`, if there is one.
    pub fn parse(name: &str) -> Option<StreamKind> {
        StreamKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// The kind a push of `source` changes.
    pub const fn of(source: Source) -> StreamKind {
        match source {
            Source::Events => StreamKind::Events,
            Source::MetricsSnapshot => StreamKind::Metrics,
            Source::PodListSnapshot | Source::PodDelta => StreamKind::Pods,
            Source::NodeListSnapshot | Source::NodeDelta => StreamKind::Nodes,
            Source::ServiceListSnapshot | Source::ServiceDelta => StreamKind::Services,
            Source::NamespaceListSnapshot | Source::NamespaceDelta => StreamKind::Namespaces,
            Source::IngressListSnapshot | Source::IngressDelta => StreamKind::Ingresses,
            Source::DeploymentListSnapshot | Source::DeploymentDelta => StreamKind::Deployments,
            Source::ConfigmapListSnapshot | Source::ConfigmapDelta => StreamKind::Configmaps,
        }
    }
}

impl std::fmt::Display for StreamKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `data` of a `snapshot` stream event: which objects a newly received snapshot added,
/// changed or removed, by key (`namespace/name`, or `name` for nodes and namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SnapshotChange {
    /// The cluster it came from.
    pub cluster_id: String,
    /// Which list it is.
    pub source: Source,
    /// When the agent took it (ms since the epoch).
    pub ts_ms: i64,
    /// Items in the new snapshot.
    pub items: u64,
    #[serde(default)]
    /// Keys that were not in the previous snapshot.
    pub added: Vec<String>,
    #[serde(default)]
    /// Keys whose summary changed.
    pub changed: Vec<String>,
    #[serde(default)]
    /// Keys that are gone.
    pub removed: Vec<String>,
}

/// The `data` of a `delta` stream event (sent to subscribers that ask with `deltas=true`, in
/// place of `snapshot`): what changed in a list, whole, so a client holding the list applies it
/// without listing again. Every change of a list comes this way, whether the agent pushed a
/// delta or a full list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct StreamDelta<T> {
    /// The cluster it came from.
    pub cluster_id: String,
    /// Which list it changed (a list source, e.g. `pod_list_snapshot`).
    pub source: Source,
    /// When the agent took it (ms since the epoch).
    pub ts_ms: i64,
    /// Objects added or changed, as lists show them.
    #[serde(default)]
    pub upserts: Vec<T>,
    /// Keys of objects gone (`namespace/name`, or `name`).
    #[serde(default)]
    pub deletes: Vec<String>,
    /// The change was too large to carry on the stream (a first list, a resync, a rename of
    /// thousands): `upserts` and `deletes` are empty and the client lists the kind again.
    #[serde(default, skip_serializing_if = "crate::is_false")]
    pub relist: bool,
}

/// The `data` of an `events` or `metrics` stream event: what one push appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreamBatch<T> {
    /// The cluster it came from.
    pub cluster_id: String,
    /// What the push appended.
    pub items: Vec<T>,
}

/// The `data` of a `reset` stream event: the resume point is no longer buffered (or the client
/// fell behind); what it holds may be stale, so it should list again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreamReset {
    /// Why, in a sentence (the resume point is no longer buffered; the client fell behind).
    pub reason: String,
}

/// What a watched change did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchEventType {
    /// A new object.
    Added,
    /// A changed object.
    Modified,
    /// A removed object.
    Deleted,
}

/// One line of `atlctl get -w --json` (NDJSON): `{"type":"MODIFIED","object":{…}}`, the object
/// in its single-object shape ([`super::Item`]); a deleted object as it was last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchEvent<T> {
    #[serde(rename = "type")]
    /// What happened to it.
    pub type_: WatchEventType,
    /// The object (its last state, for a deletion).
    pub object: T,
}

#[cfg(test)]
mod kind_tests {
    use super::*;

    #[test]
    fn stream_kinds_read_back_from_their_wire_names() {
        for kind in StreamKind::ALL {
            assert_eq!(StreamKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
        }
        assert_eq!(StreamKind::parse("node-metrics"), None);
    }
}
