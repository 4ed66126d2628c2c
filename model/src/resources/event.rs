use serde::{Deserialize, Serialize};

/// A Kubernetes event (core/v1), as `kubectl get events` and `describe` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Event {
    /// The event object's uid: the key receivers merge on.
    pub uid: String,
    /// The event's namespace.
    pub namespace: String,
    /// The event's name.
    pub name: String,
    #[serde(rename = "type")]
    /// Normal or Warning.
    pub type_: EventType,
    /// A CamelCase reason (`BackOff`, `FailedScheduling`).
    pub reason: String,
    /// What happened, in a sentence.
    pub message: String,
    /// What it is about.
    pub object: InvolvedObject,
    /// How many times the recorder saw it (aggregated events grow this, not new objects).
    pub count: u32,
    /// When it first happened (ms since the epoch).
    pub first_seen_ms: i64,
    /// When it last happened (ms since the epoch).
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
    /// Information.
    Normal,
    /// Something needs a look.
    Warning,
}

/// `involvedObject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct InvolvedObject {
    /// Its kind (`Pod`, `Node`, …).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its namespace, for a namespaced kind.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Its uid, when the event names it.
    pub uid: Option<String>,
}
