use serde::{Deserialize, Serialize};

use crate::command::{Command, CommandKind, CommandStatus};

/// The body of `POST /api/v1/clusters/{id}/commands`: `{"kind":"scale","args":{…}}`. A client
/// that may retry sends an `Idempotency-Key` header: the same key gives the same command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CreateCommand {
    #[serde(flatten)]
    /// What to do (`kind` and `args` on the wire).
    pub kind: CommandKind,
}

/// A command as master tracks it: what was asked, and how far it got. What `GET …/commands`
/// answers (`{"api_version":…,"kind":"Command","command":{…},"status":…}`) and the stream's
/// `command` events carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommandInfo {
    /// What was asked (its `kind` is the command's: `restart_pod`, …).
    pub command: Command,
    /// Where it stands.
    pub status: CommandStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When the agent took it (ms since the epoch).
    pub delivered_ms: Option<i64>,
    /// The run (session) of the agent it was delivered to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_to: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it was settled (ms since the epoch).
    pub finished_ms: Option<i64>,
    /// The agent's (or master's, for expiry) one-line account of the outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// What a read command produced (logs, describe), capped with a truncation marker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The answer to `POST /control/ack`: how each result was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckReceipt {
    /// One outcome per result.
    pub settled: Vec<AckOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
/// How master took one result.
pub struct AckOutcome {
    /// The command the result was for.
    pub command_id: String,
    /// `settled`, or `duplicate` when the command had already been settled (the first
    /// result stands).
    pub outcome: String,
}
