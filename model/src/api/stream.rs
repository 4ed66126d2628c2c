use serde::{Deserialize, Serialize};

use crate::source::Source;

/// The `data` of a `snapshot` stream event: which objects a newly received snapshot added,
/// changed or removed, by key (`namespace/name`, or `name` for nodes and namespaces).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct SnapshotChange {
    pub cluster_id: String,
    pub source: Source,
    pub ts_ms: i64,
    /// Items in the new snapshot.
    pub items: u64,
    #[serde(default)]
    pub added: Vec<String>,
    #[serde(default)]
    pub changed: Vec<String>,
    #[serde(default)]
    pub removed: Vec<String>,
}

/// The `data` of an `events` or `metrics` stream event: what one push appended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreamBatch<T> {
    pub cluster_id: String,
    pub items: Vec<T>,
}

/// The `data` of a `reset` stream event: the resume point is no longer buffered (or the client
/// fell behind); what it holds may be stale, so it should list again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct StreamReset {
    pub reason: String,
}

/// What a watched change did to an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "UPPERCASE")]
pub enum WatchEventType {
    Added,
    Modified,
    Deleted,
}

/// One line of `atlctl get -w --json` (NDJSON): `{"type":"MODIFIED","object":{…}}`, the object
/// in its single-object shape ([`super::Item`]); a deleted object as it was last seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchEvent<T> {
    #[serde(rename = "type")]
    pub type_: WatchEventType,
    pub object: T,
}
