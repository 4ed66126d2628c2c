//! Commands master queues for an agent, the set an agent receives on a long poll, and the
//! per-command acknowledgement it sends back.

use std::fmt;

use serde::{Deserialize, Serialize};

/// One operation for one cluster. `id` is assigned by master and is what an agent
/// de-duplicates on; `idempotency_key` is the client's, so a retried request is the same command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Command {
    /// Master's id for it (`cmd-…`), unique across clusters.
    pub id: String,
    /// The key that makes a retried POST the same command (per cluster and user).
    pub idempotency_key: String,
    /// The cluster whose agent runs it.
    pub cluster_id: String,
    #[serde(flatten)]
    /// What to do.
    pub kind: CommandKind,
    /// When master queued it (ms since the epoch).
    pub created_ms: i64,
    /// An agent does not start the command after this instant; master expires it then if no
    /// agent took it, or, once delivered, after [`CommandKind::run_limit`] and the queue TTL
    /// have passed since delivery with no result.
    pub expires_ms: i64,
    /// The user (token name) who asked for it.
    pub requested_by: String,
    /// That user's role when asking: the agent's own policies may depend on it (config-map
    /// values in a describe). Absent from older masters: the agent then assumes the least.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_role: Option<crate::api::Role>,
}

/// What to do, with typed arguments. On the wire: `"kind":"scale","args":{…}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum CommandKind {
    /// Delete the pod so its controller recreates it; a pod without a controller is refused
    /// unless `force`.
    RestartPod {
        /// The pod's namespace.
        namespace: String,
        /// The pod.
        name: String,
        #[serde(default, skip_serializing_if = "crate::is_false")]
        /// Also a pod no controller will recreate.
        force: bool,
    },
    /// Delete a pod.
    DeletePod {
        /// The pod's namespace.
        namespace: String,
        /// The pod.
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// Seconds the pod gets to stop (its own when absent).
        grace_seconds: Option<u32>,
    },
    /// Patch the pod template's `kubectl.kubernetes.io/restartedAt` annotation, as kubectl does.
    RolloutRestart {
        /// The deployment's namespace.
        namespace: String,
        /// The deployment.
        name: String,
    },
    /// Set a deployment's replicas through its scale subresource.
    Scale {
        /// The deployment's namespace.
        namespace: String,
        /// The deployment.
        name: String,
        /// The replicas it is set to.
        replicas: u32,
    },
    /// Set the image of one named container of a deployment.
    UpdateImage {
        /// The deployment's namespace.
        namespace: String,
        /// The deployment.
        name: String,
        /// The container whose image changes.
        container: String,
        /// The new image (a reference the distribution grammar accepts).
        image: String,
    },
    /// Mark a node unschedulable.
    Cordon {
        /// The node.
        node: String,
    },
    /// Mark a node schedulable again.
    Uncordon {
        /// The node.
        node: String,
    },
    /// Cordon, then evict every pod but DaemonSet and mirror pods through the eviction API.
    Drain {
        /// The node.
        node: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// Seconds each evicted pod gets to stop (its own when absent).
        grace_seconds: Option<u32>,
        /// Leave DaemonSet pods (their controller would put them back).
        ignore_daemonsets: bool,
        /// How long evictions may take (disruption budgets are retried until then).
        timeout_seconds: u32,
    },
    /// A pod's log (`kubectl logs`).
    PodLogs {
        /// The pod's namespace.
        namespace: String,
        /// The pod.
        name: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// The container (the pod's only one when absent).
        container: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// Only the last N lines.
        tail_lines: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// Only lines newer than this many seconds.
        since_seconds: Option<u32>,
        /// Only lines stamped at or after this instant (ms since the epoch; the API's
        /// `sinceTime`): where a follow left off.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        since_ms: Option<i64>,
        /// The run before the current one (`kubectl logs --previous`).
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        previous: bool,
        /// Each line starts with its RFC 3339 time (`--timestamps`): a follow reads its cursor
        /// from them.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        timestamps: bool,
    },
    /// The object as `kubectl describe` prints it (with its events), or as YAML or JSON.
    Describe {
        /// What kind of object.
        object: ObjectKind,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        /// Its namespace (none for nodes and namespaces).
        namespace: Option<String>,
        /// The object.
        name: String,
        #[serde(default, skip_serializing_if = "DescribeFormat::is_text")]
        /// Text, YAML or JSON.
        format: DescribeFormat,
    },
}

impl CommandKind {
    /// The wire name of the kind, e.g. `restart_pod`.
    pub const fn name(&self) -> &'static str {
        match self {
            CommandKind::RestartPod { .. } => "restart_pod",
            CommandKind::DeletePod { .. } => "delete_pod",
            CommandKind::RolloutRestart { .. } => "rollout_restart",
            CommandKind::Scale { .. } => "scale",
            CommandKind::UpdateImage { .. } => "update_image",
            CommandKind::Cordon { .. } => "cordon",
            CommandKind::Uncordon { .. } => "uncordon",
            CommandKind::Drain { .. } => "drain",
            CommandKind::PodLogs { .. } => "pod_logs",
            CommandKind::Describe { .. } => "describe",
        }
    }

    /// The longest the agent lets the command run before it reports it failed: a drain its own
    /// timeout and a minute, anything else two minutes. Master gives a delivered command this
    /// long (and its queue TTL to report) before it expires it.
    pub fn run_limit(&self) -> std::time::Duration {
        match self {
            CommandKind::Drain {
                timeout_seconds, ..
            } => std::time::Duration::from_secs(u64::from(*timeout_seconds) + 60),
            _ => std::time::Duration::from_secs(120),
        }
    }

    /// Whether the command only reads (allowed even in protected namespaces).
    pub const fn is_read_only(&self) -> bool {
        matches!(
            self,
            CommandKind::PodLogs { .. } | CommandKind::Describe { .. }
        )
    }

    /// The namespace the command touches, if it is namespaced.
    pub fn namespace(&self) -> Option<&str> {
        match self {
            CommandKind::RestartPod { namespace, .. }
            | CommandKind::DeletePod { namespace, .. }
            | CommandKind::RolloutRestart { namespace, .. }
            | CommandKind::Scale { namespace, .. }
            | CommandKind::UpdateImage { namespace, .. }
            | CommandKind::PodLogs { namespace, .. } => Some(namespace),
            CommandKind::Describe { namespace, .. } => namespace.as_deref(),
            CommandKind::Cordon { .. }
            | CommandKind::Uncordon { .. }
            | CommandKind::Drain { .. } => None,
        }
    }

    /// The target as `namespace/name` or a node name, for logs, audit and messages.
    pub fn target(&self) -> String {
        match self {
            CommandKind::Cordon { node }
            | CommandKind::Uncordon { node }
            | CommandKind::Drain { node, .. } => node.clone(),
            CommandKind::RestartPod {
                namespace, name, ..
            }
            | CommandKind::DeletePod {
                namespace, name, ..
            }
            | CommandKind::RolloutRestart { namespace, name }
            | CommandKind::Scale {
                namespace, name, ..
            }
            | CommandKind::UpdateImage {
                namespace, name, ..
            }
            | CommandKind::PodLogs {
                namespace, name, ..
            } => format!("{namespace}/{name}"),
            CommandKind::Describe {
                object,
                namespace: Some(ns),
                name,
                ..
            } => {
                format!("{}/{ns}/{name}", object.as_str())
            }
            CommandKind::Describe {
                object,
                namespace: None,
                name,
                ..
            } => {
                format!("{}/{name}", object.as_str())
            }
        }
    }
}

/// What a describe answers with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum DescribeFormat {
    /// `kubectl describe`'s text: the fields that matter, conditions, an events table.
    #[default]
    Text,
    /// The object as YAML (without managedFields).
    Yaml,
    /// The object as JSON (without managedFields).
    Json,
}

impl DescribeFormat {
    /// The default: kubectl's text (left out of the JSON).
    pub fn is_text(&self) -> bool {
        *self == DescribeFormat::Text
    }
}

/// The kinds `describe` accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum ObjectKind {
    /// A pod.
    Pod,
    /// A node.
    Node,
    /// A deployment.
    Deployment,
    /// A service.
    Service,
    /// A namespace.
    Namespace,
    /// An ingress.
    Ingress,
    /// A config map.
    ConfigMap,
}

impl ObjectKind {
    /// The wire name (`config_map`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ObjectKind::Pod => "pod",
            ObjectKind::Node => "node",
            ObjectKind::Deployment => "deployment",
            ObjectKind::Service => "service",
            ObjectKind::Namespace => "namespace",
            ObjectKind::Ingress => "ingress",
            ObjectKind::ConfigMap => "config_map",
        }
    }

    /// Nodes and namespaces are cluster-scoped; the rest live in a namespace.
    pub const fn is_namespaced(self) -> bool {
        !matches!(self, ObjectKind::Node | ObjectKind::Namespace)
    }
}

/// The answer to a long poll: every undelivered command, and the queue's version now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CommandSet {
    /// The cluster the commands are for.
    pub cluster_id: String,
    /// The queue's version: a poll with this `rv` waits for a newer one.
    pub rv: u64,
    /// Every command not delivered yet (and, for this run, any it may report).
    pub commands: Vec<Command>,
}

/// The body of `POST /control/watch`: the queue version the agent has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct WatchRequest {
    /// The agent's cluster.
    pub cluster_id: String,
    /// The queue version the agent has seen (0 at start).
    pub rv: u64,
    /// This run of the agent (drawn at its start). A new session tells master that commands
    /// delivered to an earlier one will not be reported by it: they are settled `unknown`
    /// rather than delivered again. Absent from older agents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
}

/// The body of `POST /control/ack`: results, each settling exactly its own command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct AckBatch {
    /// The agent's cluster.
    pub cluster_id: String,
    /// One result per command.
    pub results: Vec<Ack>,
}

/// How one command ended on the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ack {
    /// The command settled.
    pub command_id: String,
    /// How it ended.
    pub status: AckStatus,
    /// What happened, in a line (an error, or what was done).
    pub message: String,
    /// Text a read command produced (logs, describe), capped by the agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// When the agent finished it (ms since the epoch).
    pub finished_ms: i64,
}

/// The agent's verdict on a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// It ran and did what it says.
    Succeeded,
    /// It ran and did not (the message says why).
    Failed,
    /// Refused by the cluster's own policy (allow-list, protected namespace) before running.
    Rejected,
}

/// Caps a command's output (`text`) so that it takes at most `max` bytes as a JSON string
/// (control characters escape to up to six), cut on a character boundary, with a marker
/// saying how much of the text went.
pub fn cap_output(text: String, max: usize) -> String {
    let escaped = |c: char| match c {
        '"' | '\\' | '\n' | '\r' | '\t' | '\u{8}' | '\u{c}' => 2,
        c if (c as u32) < 0x20 => 6,
        c => c.len_utf8(),
    };
    let mut size = 0;
    let mut end = None;
    for (at, c) in text.char_indices() {
        size += escaped(c);
        if size > max {
            end = Some(at);
            break;
        }
    }
    let Some(end) = end else {
        return text;
    };
    format!(
        "{}\n[… truncated: {} of {} bytes shown]",
        &text[..end],
        end,
        text.len()
    )
}

/// A command's life as master tracks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum CommandStatus {
    /// Waiting for the cluster's agent.
    Queued,
    /// Handed to the agent, not reported yet.
    Delivered,
    /// The agent did it.
    Succeeded,
    /// The agent tried and failed.
    Failed,
    /// The cluster's own policy refused it.
    Rejected,
    /// Not delivered or not reported in time.
    Expired,
    /// Delivered to a run of the agent that stopped before it reported: whether the command
    /// ran is not known (master does not hand it to the next run). A late report from the
    /// earlier run still settles it.
    Unknown,
}

impl CommandStatus {
    /// No further change will happen.
    pub const fn is_final(self) -> bool {
        !matches!(self, CommandStatus::Queued | CommandStatus::Delivered)
    }

    /// The wire name (`queued`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            CommandStatus::Queued => "queued",
            CommandStatus::Delivered => "delivered",
            CommandStatus::Succeeded => "succeeded",
            CommandStatus::Failed => "failed",
            CommandStatus::Rejected => "rejected",
            CommandStatus::Expired => "expired",
            CommandStatus::Unknown => "unknown",
        }
    }
}

impl From<AckStatus> for CommandStatus {
    fn from(status: AckStatus) -> Self {
        match status {
            AckStatus::Succeeded => CommandStatus::Succeeded,
            AckStatus::Failed => CommandStatus::Failed,
            AckStatus::Rejected => CommandStatus::Rejected,
        }
    }
}

impl fmt::Display for CommandStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_capped_on_a_character_boundary_with_a_marker() {
        assert_eq!(cap_output("short".into(), 10), "short");
        let capped = cap_output("ééééé".into(), 5);
        assert!(
            capped.starts_with("éé\n[… truncated: 4 of 10 bytes shown]"),
            "{capped}"
        );
    }

    #[test]
    fn output_is_capped_by_its_size_as_json_not_as_text() {
        // Control bytes escape to six characters each: 1 MiB of them is 6 MiB on the wire.
        let text = "\u{1b}".repeat(1 << 20);
        let capped = cap_output(text, 1 << 20);
        let encoded = serde_json::to_string(&capped).unwrap();
        assert!(
            encoded.len() <= (1 << 20) + 64,
            "{} bytes encoded",
            encoded.len()
        );
        assert!(capped.contains("truncated"), "marked");
        // Plain text is capped as before.
        let capped = cap_output("a".repeat(100), 10);
        assert!(
            capped.starts_with("aaaaaaaaaa\n[… truncated: 10 of 100"),
            "{capped}"
        );
    }
}
