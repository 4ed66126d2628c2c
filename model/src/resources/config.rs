use serde::{Deserialize, Serialize};

use super::Labels;

/// A namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Namespace {
    pub name: String,
    pub uid: String,
    /// `Active` or `Terminating`.
    pub phase: String,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
    pub created_ms: i64,
}

/// A config map: its keys and their sizes, never its values (they may hold anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfigMap {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    #[serde(default)]
    pub keys: Vec<ConfigMapKey>,
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    pub labels: Labels,
}

/// One key of `data` or `binaryData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfigMapKey {
    pub name: String,
    pub bytes: u64,
    /// From `binaryData` rather than `data`.
    #[serde(default, skip_serializing_if = "crate::is_false")]
    pub binary: bool,
}
