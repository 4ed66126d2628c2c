use serde::{Deserialize, Serialize};

use super::Labels;

/// A namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Namespace {
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    /// `Active` or `Terminating`.
    pub phase: String,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
}

/// A config map: its keys and their sizes, never its values (they may hold anything).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfigMap {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    #[serde(default)]
    /// Its keys and their sizes (values are not pushed).
    pub keys: Vec<ConfigMapKey>,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
}

/// One key of `data` or `binaryData`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ConfigMapKey {
    /// The key.
    pub name: String,
    /// The size of its value.
    pub bytes: u64,
    /// From `binaryData` rather than `data`.
    #[serde(default, skip_serializing_if = "crate::is_false")]
    pub binary: bool,
}
