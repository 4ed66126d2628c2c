//! Master's persistence seam: every durable read and write goes through the [`Store`] trait.
//!
//! The trait speaks of what master keeps (clusters, tokens, snapshots, events, metric history,
//! commands, audit records), never of SQL: each write method is one atomic change together with
//! its audit record, so a backend commits both or neither. [`crate::sqlite::Sqlite`] is the
//! implementation today; a PostgreSQL backend for replicas implements the same trait, and every
//! feature written against it (alerts, silences, the notification log, diagnoses) needs no port.
//!
//! **Commit order.** Memory and the live stream must change in the order the database did, per
//! cluster: a push committed just before its cluster's delete must not apply after it. Methods
//! that change a cluster's data therefore take an [`AfterCommit`] step that the backend runs
//! once the change is durable, in commit order with every other step of that cluster, even if
//! the caller has gone away. [`after_commit`] makes one and hands its result back.

use atlhyper_model::api::{AuditRecord, CommandInfo, MetricPoint, Resolution, Role, TokenInfo};
use atlhyper_model::resources::Event;
use atlhyper_model::{CommandStatus, NodeMetricsSnapshot, Sequence, Source};
use futures::future::BoxFuture;
use tokio::sync::oneshot;

/// Why a stored read or write failed. Each maps to one HTTP answer.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The disk or `--db-max-bytes` is full.
    #[error("the database is full")]
    Full,
    /// The database cannot be written.
    #[error("the database is read-only")]
    ReadOnly,
    /// The store has stopped (shutting down).
    #[error("the database is closed")]
    Closed,
    /// A uniqueness rule refused the write (e.g. a cluster id that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The cluster the write is for is not registered (deleted while the request was on its
    /// way): nothing was written.
    #[error("cluster `{0}` is not registered")]
    NoCluster(String),
    #[error("database error: {0}")]
    Other(String),
}

/// What every [`Store`] method returns.
pub type StoreFuture<'a, T> = BoxFuture<'a, Result<T, StoreError>>;

/// A step run once a write is committed, in commit order per cluster (see the module docs).
pub type AfterCommit<T> = Box<dyn FnOnce(T) + Send>;

/// The audit record a write adds, made from what the write found (`None`: nothing to audit,
/// e.g. the target did not exist).
pub type AuditOf<T> = Box<dyn FnOnce(&T) -> Option<AuditRecord> + Send>;

/// An [`AfterCommit`] step that runs `apply`, and where its value arrives.
pub fn after_commit<T: 'static, U: Send + 'static>(
    apply: impl FnOnce(T) -> U + Send + 'static,
) -> (AfterCommit<T>, Applied<U>) {
    let (tx, rx) = oneshot::channel();
    let step = Box::new(move |value: T| {
        let _ = tx.send(apply(value));
    });
    (step, Applied(rx))
}

/// The value of an [`AfterCommit`] step made by [`after_commit`].
pub struct Applied<U>(oneshot::Receiver<U>);

impl<U> Applied<U> {
    /// Waits for the step (call after the write answered `Ok`).
    ///
    /// # Errors
    /// [`StoreError::Closed`] when the step was dropped unrun (the store stopped).
    pub async fn value(self) -> Result<U, StoreError> {
        self.0.await.map_err(|_| StoreError::Closed)
    }
}

/// The latest snapshot of a (cluster, source) as stored: the envelope, gzip JSON.
///
/// A numbered snapshot older than what its agent's epoch already sent (a retry that lost a
/// race) is not stored, as memory does not apply it; a stored one drops the deltas before it.
#[derive(Debug, Clone)]
pub struct StoredSnapshot {
    pub cluster_id: String,
    pub source: Source,
    pub ts_ms: i64,
    pub received_ms: i64,
    pub items: u64,
    /// Its place in the agent's numbering (`None`: an agent that does not number).
    pub sequence: Option<Sequence>,
    pub envelope_gz: Vec<u8>,
}

/// A delta as stored, until the next snapshot of its list: the envelope, gzip JSON. Every
/// delta received is kept, whatever memory made of it, so that a restart replaying them in
/// commit order reaches the same list and the same numbering.
#[derive(Debug, Clone)]
pub struct StoredDelta {
    pub cluster_id: String,
    /// The list it changes.
    pub list: Source,
    pub sequence: Sequence,
    pub ts_ms: i64,
    pub received_ms: i64,
    pub envelope_gz: Vec<u8>,
}

/// A registered cluster with its agent token's hash.
#[derive(Debug, Clone)]
pub struct ClusterRow {
    pub id: String,
    pub name: String,
    pub token_hash: String,
    pub created_ms: i64,
}

/// A user token: what is shown of it, and its hash.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub info: TokenInfo,
    pub token_hash: String,
}

/// A token to store.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub name: String,
    pub role: Role,
    pub token_hash: String,
    pub created_ms: i64,
}

/// The last push of a (cluster, source).
#[derive(Debug, Clone)]
pub struct PushRow {
    pub cluster_id: String,
    pub source: Source,
    pub received_ms: i64,
    pub ts_ms: i64,
    pub items: u64,
}

/// What revoking a token found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now: the hash it had and its name.
    Done { token_hash: String, name: String },
    /// No live token has that id.
    NotFound,
    /// It is the last live admin token, so it stays.
    LastAdmin,
}

/// Which audit records to read: each set field must match (`action` and `target` as prefixes).
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub actor: Option<String>,
    pub action: Option<String>,
    pub target: Option<String>,
    pub outcome: Option<String>,
}

/// How long each kind of row is kept.
#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub events_ms: i64,
    pub raw_ms: i64,
    pub minute_ms: i64,
    pub hour_ms: i64,
    /// Settled commands: by age (as the queue forgets them) and by count.
    pub commands_ms: i64,
    pub max_commands: usize,
    /// Audit records: by age and by count.
    pub audit_ms: i64,
    pub max_audit: usize,
}

/// What master reloads at start: commands with their queue version, and each cluster's
/// queue version.
pub type LoadedCommands = (Vec<(u64, CommandInfo)>, Vec<(String, u64)>);

/// A node's history to read at one resolution.
#[derive(Debug, Clone)]
pub struct MetricRange {
    pub cluster_id: String,
    pub node: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: i64,
    pub resolution: Resolution,
}

/// One thing a push writes.
#[derive(Debug, Clone)]
pub enum IngestWrite {
    /// The last push of a (cluster, source): when received, the agent's time, how many items
    /// (`None`: as before, for a delta that keeps its list fresh).
    Stamp {
        cluster_id: String,
        source: Source,
        received_ms: i64,
        ts_ms: i64,
        items: Option<u64>,
    },
    /// A snapshot source's latest list (kept unless a later-received one is stored).
    Snapshot(StoredSnapshot),
    /// A delta of a list.
    Delta(StoredDelta),
    /// Events, merged by uid.
    Events {
        cluster_id: String,
        events: Vec<Event>,
    },
    /// Node samples: the latest per node and the raw history.
    Metrics {
        cluster_id: String,
        samples: Vec<NodeMetricsSnapshot>,
    },
}

/// A command moving from one status to another, with the audit record of the move. A backend
/// applies it only if the stored command is still in `from` (a concurrent change wins
/// otherwise, and the record is not written).
#[derive(Debug, Clone)]
pub struct CommandTransition {
    pub info: CommandInfo,
    pub from: CommandStatus,
    pub audit: AuditRecord,
}

/// Master's durable state. See the module docs; every method is one atomic change or read.
pub trait Store: Send + Sync + 'static {
    /// Where the data lives, for logs (a path or a URL without credentials).
    fn location(&self) -> String;

    // Reads made at start, to fill memory.

    /// Every registered cluster.
    fn clusters(&self) -> StoreFuture<'_, Vec<ClusterRow>>;
    /// Every user token, live and revoked.
    fn tokens(&self) -> StoreFuture<'_, Vec<TokenRow>>;
    /// The latest snapshot of every (cluster, source).
    fn snapshots(&self) -> StoreFuture<'_, Vec<StoredSnapshot>>;
    /// The deltas kept since each list's snapshot, in the order they were committed.
    fn deltas(&self) -> StoreFuture<'_, Vec<StoredDelta>>;
    /// The last push of every (cluster, source).
    fn pushes(&self) -> StoreFuture<'_, Vec<PushRow>>;
    /// The newest `limit` events seen since `since_ms`, oldest first, with their cluster.
    fn events(&self, since_ms: i64, limit: usize) -> StoreFuture<'_, Vec<(String, Event)>>;
    /// Each node's latest full sample, with its cluster.
    fn latest_metrics(&self) -> StoreFuture<'_, Vec<(String, NodeMetricsSnapshot)>>;
    /// Raw history since `since_ms` (at most `limit`, the newest), oldest first, with cluster
    /// and node.
    fn raw_points(
        &self,
        since_ms: i64,
        limit: usize,
    ) -> StoreFuture<'_, Vec<(String, String, MetricPoint)>>;
    /// Every command of a registered cluster created at or after `since_ms`, and every one not
    /// yet final, with its queue version; and each cluster's queue version.
    fn commands(&self, since_ms: i64) -> StoreFuture<'_, LoadedCommands>;
    /// The end of the stream ids reserved so far.
    fn stream_reservation(&self) -> StoreFuture<'_, u64>;
    /// The latest receive time of any stored push (master's clock), 0 when none.
    fn latest_receipt(&self) -> StoreFuture<'_, i64>;

    // Reads on demand.

    /// A node's history in `[from_ms, to_ms)`, averaged per `step_ms`, oldest first.
    fn metric_range(&self, range: MetricRange) -> StoreFuture<'_, Vec<MetricPoint>>;
    /// Audit records, newest first, older than `before_id` when given.
    fn audit_records(
        &self,
        limit: usize,
        before_id: Option<i64>,
        filter: AuditFilter,
    ) -> StoreFuture<'_, Vec<AuditRecord>>;
    /// One command by id.
    fn command(&self, id: String) -> StoreFuture<'_, Option<CommandInfo>>;
    /// The command `user` queued in `cluster_id` under idempotency key `key`, if kept.
    fn command_by_key(
        &self,
        cluster_id: String,
        user: String,
        key: String,
    ) -> StoreFuture<'_, Option<CommandInfo>>;

    // Writes.

    /// Writes one push of a registered cluster ([`StoreError::NoCluster`] otherwise: nothing
    /// written), then runs `after`.
    fn ingest(
        &self,
        cluster_id: String,
        writes: Vec<IngestWrite>,
        after: AfterCommit<()>,
    ) -> StoreFuture<'_, ()>;
    /// Registers a new cluster ([`StoreError::Conflict`] when the id exists).
    fn create_cluster(&self, row: ClusterRow, audit: AuditRecord) -> StoreFuture<'_, ()>;
    /// Registers a cluster, or gives an existing one this token (clusters from configuration).
    fn upsert_cluster(&self, row: ClusterRow) -> StoreFuture<'_, ()>;
    /// Deletes a cluster and everything stored of it; `true` when it existed. `after` gets that.
    fn delete_cluster(
        &self,
        id: String,
        audit: AuditOf<bool>,
        after: AfterCommit<bool>,
    ) -> StoreFuture<'_, bool>;
    /// Stores a token ([`StoreError::Conflict`] when a live token has the name); its id.
    fn create_token(&self, token: NewToken, audit: AuditOf<i64>) -> StoreFuture<'_, i64>;
    /// Revokes a live token at `now_ms` unless it is the last live admin token; the check and
    /// the change are one transaction, so two admins revoking each other cannot both win.
    fn revoke_token(
        &self,
        id: i64,
        now_ms: i64,
        audit: AuditOf<Revoked>,
    ) -> StoreFuture<'_, Revoked>;
    /// Adds an audit record on its own (a refused request); its id.
    fn audit(&self, record: AuditRecord) -> StoreFuture<'_, i64>;
    /// Stores a new command of a registered cluster at queue version `seq`, then runs `after`.
    fn queue_command(
        &self,
        info: CommandInfo,
        seq: u64,
        audit: AuditRecord,
        after: AfterCommit<()>,
    ) -> StoreFuture<'_, ()>;
    /// Applies each transition of one cluster's commands that still holds; `after` gets the
    /// commands that moved.
    fn advance_commands(
        &self,
        cluster_id: String,
        moves: Vec<CommandTransition>,
        after: AfterCommit<Vec<CommandInfo>>,
    ) -> StoreFuture<'_, ()>;

    // Upkeep.

    /// Deletes what outlived its retention; how many rows.
    fn purge(&self, now_ms: i64, keep: Retention) -> StoreFuture<'_, usize>;
    /// Computes the minute and hour metric rollups due by `now_ms`; how many rows.
    fn rollup(&self, now_ms: i64) -> StoreFuture<'_, usize>;
    /// Reserves stream ids from `max(now_us, reserved)` for `block` ids; the first.
    fn stream_ids_from(&self, now_us: u64, block: u64) -> StoreFuture<'_, u64>;
    /// Extends the reservation of stream ids through `until` (never shrinks it).
    fn reserve_stream_ids_through(&self, until: u64) -> StoreFuture<'_, ()>;
    /// Whether a write with room for a typical push commits now (for `/readyz`).
    fn probe(&self) -> StoreFuture<'_, ()>;
    /// Commits what is queued and stops; later calls fail with [`StoreError::Closed`].
    fn close(&self) -> BoxFuture<'_, ()>;
}
