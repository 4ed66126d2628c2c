//! Deltas: what changed in a list since the agent's previous push of it, and the numbering that
//! lets master apply each exactly once and notice one that went missing.
//!
//! **Numbering.** An agent draws a random `epoch` when it starts. Within an epoch, each list's
//! pushes — full snapshots and deltas alike — carry `seq`, one more than the previous push of
//! that list. A full snapshot is the resync point: master holds the list as of its `seq`, and a
//! delta numbered at or below it is stale (a retry that lost a race with the snapshot) and is
//! ignored. Counting on through snapshots rather than restarting at each keeps that true when an
//! old delta arrives late, behind the snapshot that followed it.
//!
//! **Order and gaps.** A delta one past the last applied is applied; one further ahead (its
//! predecessor still on its way) is applied too, object by object: each object remembers the
//! `seq` that last wrote it, and an older write never replaces a newer one. A delta more than
//! [`REORDER_WINDOW`] ahead of the last contiguous one means one was lost: master answers
//! `resync` for it and ignores that list's deltas until the agent sends a full snapshot. An agent
//! asked to resync sends the list whole before any further delta of it (deltas it sent before
//! learning of the resync are older than that snapshot, and master drops them as stale).

use serde::{Deserialize, Serialize};

/// How far ahead of the last contiguous delta a delta may arrive and still be applied; further
/// means one was lost. An agent never has more than this many deltas of one list unacknowledged.
pub const REORDER_WINDOW: u64 = 64;

/// Where a push stands in its agent's numbering (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Sequence {
    /// Drawn at random when the agent starts: a new epoch is a new run, not a replay.
    pub epoch: String,
    /// One more than the previous push of the same list in this epoch.
    pub seq: u64,
}

/// What changed in a list: the objects added or changed, whole, and the keys of those gone
/// (`namespace/name`, or `name` for nodes and namespaces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(bound(deserialize = "T: Deserialize<'de>"))]
pub struct Delta<T> {
    /// Objects added or changed, as the list holds them.
    #[serde(default)]
    pub upserts: Vec<T>,
    /// Keys of objects gone.
    #[serde(default)]
    pub deletes: Vec<String>,
}

impl<T> Default for Delta<T> {
    fn default() -> Self {
        Delta {
            upserts: Vec::new(),
            deletes: Vec::new(),
        }
    }
}

impl<T> Delta<T> {
    /// Objects and keys it carries.
    pub fn len(&self) -> usize {
        self.upserts.len() + self.deletes.len()
    }

    /// It carries nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
