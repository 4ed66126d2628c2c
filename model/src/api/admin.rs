use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::source::Source;

/// What a user token may do. Each role includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Reads everything.
    Viewer,
    /// Also runs commands on clusters.
    Operator,
    /// Also manages clusters, users and tokens.
    Admin,
}

impl Role {
    /// The wire name (`viewer`, `operator`, `admin`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "viewer" => Ok(Role::Viewer),
            "operator" => Ok(Role::Operator),
            "admin" => Ok(Role::Admin),
            other => Err(format!(
                "unknown role `{other}` (viewer, operator or admin)"
            )),
        }
    }
}

/// `POST /api/v1/admin/clusters`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateCluster {
    /// A DNS-1123 label; the `cluster_id` its agent pushes with.
    pub id: String,
    /// For people; defaults to the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The answer to creating a cluster: the agent token is shown this once and stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterCreated {
    /// The cluster's id.
    pub id: String,
    /// Its display name.
    pub name: String,
    /// When it was registered (ms since the epoch).
    pub created_ms: i64,
    /// The agent's token: shown this once.
    pub token: String,
}

/// `POST /api/v1/admin/tokens`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateToken {
    /// Who the token is for; shown in the audit log.
    pub name: String,
    /// What it may do.
    pub role: Role,
}

/// A user token as listed: never the secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenInfo {
    /// The token's id (what the audit records).
    pub id: i64,
    /// Who it is for.
    pub name: String,
    /// What it may do.
    pub role: Role,
    /// When it was made (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// When it was revoked, if it was.
    pub revoked_ms: Option<i64>,
}

/// The answer to creating a user token: the secret is shown this once and stored hashed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCreated {
    #[serde(flatten)]
    /// The token as listed.
    pub info: TokenInfo,
    /// The secret: shown this once.
    pub token: String,
}

/// `GET /api/v1/whoami`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WhoAmI {
    /// The token's name.
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// One audited action: who did what to what, and how it ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// The record's id.
    pub id: i64,
    /// When (ms since the epoch).
    pub ts_ms: i64,
    /// The token's name (`admin`, `alice`, `cluster:prod-eu`).
    pub actor: String,
    /// The acting user token's id (names are for people; the id is what acted). None for an
    /// agent or an offline action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<i64>,
    /// e.g. `create_cluster`, `revoke_token`.
    pub action: String,
    /// What it acted on (a cluster, a token id, a command).
    pub target: String,
    /// `ok`, `denied` or `failed`.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// More, in a sentence.
    pub detail: Option<String>,
}

/// The `202` answer to a push: what was stored, per envelope, in the batch's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngestReceipt {
    /// One count per envelope accepted.
    pub accepted: Vec<IngestCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
/// What one envelope stored.
pub struct IngestCount {
    /// The envelope's cluster.
    pub cluster_id: String,
    /// Its source.
    pub source: Source,
    /// Items it carried.
    pub items: u64,
    /// This delta was not applied: one before it went missing (or master holds another epoch's
    /// list). The agent sends the list whole; its further deltas are ignored until then.
    #[serde(default, skip_serializing_if = "crate::is_false")]
    pub resync: bool,
    /// With `resync`: the `seq` master was missing (0: it holds no list of this epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_seq: Option<u64>,
}
