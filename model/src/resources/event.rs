use serde::{Deserialize, Serialize};

/// A Kubernetes event (core/v1), as `kubectl get events` and `describe` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// The event object's uid: the key receivers merge on.
    pub uid: String,
    pub namespace: String,
    pub name: String,
    #[serde(rename = "type")]
    pub type_: EventType,
    pub reason: String,
    pub message: String,
    pub object: InvolvedObject,
    /// How many times the recorder saw it (aggregated events grow this, not new objects).
    pub count: u32,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    /// `source.component` or `reportingController`, e.g. `kubelet`, `default-scheduler`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// The node the reporting component runs on, when it says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

/// `type`: Kubernetes only writes these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum EventType {
    Normal,
    Warning,
}

/// `involvedObject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InvolvedObject {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
}
