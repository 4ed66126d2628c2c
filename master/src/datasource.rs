//! The one way to read master's data. The API handlers read through [`Reader`] (and alerts, AI
//! diagnosis and the web UI will too); nothing else touches the store or the database to read.

use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::api::{
    AuditRecord, ClusterSummary, MetricPoint, MetricSeries, Resolution, TokenInfo,
};
use atlhyper_model::resources::Event;
use atlhyper_model::{NodeMetricsSnapshot, Source};
use futures::future::BoxFuture;

use crate::memory::{Memory, Snapshot};
use crate::store::{AuditFilter, MetricRange, Store, StoreError};

/// Why a read could not be answered.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A node's history request: `[from_ms, to_ms)` in `step_ms` buckets (`None`: about 300 points).
#[derive(Debug, Clone)]
pub struct RangeQuery {
    pub cluster_id: String,
    pub node: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub step_ms: Option<i64>,
}

/// Most points one range answer may hold (as Prometheus).
pub const MAX_POINTS: i64 = 11_000;

/// Everything master's consumers read.
pub trait Reader: Send + Sync {
    /// Milliseconds since the Unix epoch, as master counts them.
    fn now_ms(&self) -> i64;
    fn clusters(&self) -> Vec<ClusterSummary>;
    /// Whether the cluster is registered.
    fn has_cluster(&self, id: &str) -> bool;
    fn cluster(&self, id: &str) -> Option<ClusterSummary> {
        self.clusters().into_iter().find(|c| c.id == id)
    }
    /// The latest snapshot of `source` of each cluster (or of one).
    fn snapshots(&self, source: Source, cluster: Option<&str>) -> Vec<Arc<Snapshot>>;
    /// Events held, oldest first, with their cluster.
    fn events(&self, cluster: Option<&str>) -> Vec<(String, Arc<Event>)>;
    /// Each node's latest full sample, with its cluster.
    fn latest_metrics(&self, cluster: Option<&str>) -> Vec<(String, Arc<NodeMetricsSnapshot>)>;
    /// A node's history, from memory, raw rows or rollups, whichever covers the range.
    fn metric_range(&self, query: RangeQuery) -> BoxFuture<'_, Result<MetricSeries, ReadError>>;
    /// Audit records, newest first.
    fn audit(
        &self,
        limit: usize,
        before_id: Option<i64>,
        filter: AuditFilter,
    ) -> BoxFuture<'_, Result<Vec<AuditRecord>, ReadError>>;
    /// User tokens (never their secrets).
    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, ReadError>>;
}

/// How long each resolution is kept, and when a cluster counts as stale.
#[derive(Debug, Clone, Copy)]
pub struct Horizons {
    pub metrics_ttl: Duration,
    pub minute_rollup_ttl: Duration,
    pub stale_after: Duration,
}

/// The reader over master's store and database.
pub struct DataSource {
    memory: Arc<Memory>,
    store: Arc<dyn Store>,
    horizons: Horizons,
}

impl DataSource {
    pub fn new(memory: Arc<Memory>, store: Arc<dyn Store>, horizons: Horizons) -> Self {
        DataSource {
            memory,
            store,
            horizons,
        }
    }
}

/// Master's receive time for pushes: the wall clock, but never behind the latest receipt
/// (seeded from the database at start), so a wall clock stepped back (across a restart, or
/// by NTP) cannot make a new snapshot look older than the one it replaces.
#[derive(Debug, Default)]
pub struct ReceiveClock(std::sync::atomic::AtomicI64);

impl ReceiveClock {
    pub fn new(latest_receipt_ms: i64) -> Self {
        ReceiveClock(std::sync::atomic::AtomicI64::new(latest_receipt_ms))
    }

    /// Now, or the latest receipt if the wall clock is behind it.
    pub fn stamp(&self) -> i64 {
        let now = now_ms();
        let before = self.0.fetch_max(now, std::sync::atomic::Ordering::AcqRel);
        before.max(now)
    }
}

pub use atlhyper_runtime::now_ms;

/// Averages points into `step_ms` buckets aligned on `from_ms` (temperature: the maximum), as
/// the database does for rows.
pub fn bucket(points: &[MetricPoint], from_ms: i64, step_ms: i64) -> Vec<MetricPoint> {
    let mut out: Vec<(MetricPoint, f64)> = Vec::new();
    for p in points {
        let start = from_ms + (p.ts_ms - from_ms).div_euclid(step_ms) * step_ms;
        match out.last_mut() {
            Some((acc, n)) if acc.ts_ms == start => {
                acc.cpu_percent += p.cpu_percent;
                acc.memory_percent += p.memory_percent;
                acc.load1 += p.load1;
                acc.disk_percent += p.disk_percent;
                acc.net_rx_bytes_per_sec += p.net_rx_bytes_per_sec;
                acc.net_tx_bytes_per_sec += p.net_tx_bytes_per_sec;
                acc.temperature_celsius = match (acc.temperature_celsius, p.temperature_celsius) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                };
                *n += 1.0;
            }
            _ => out.push((MetricPoint { ts_ms: start, ..*p }, 1.0)),
        }
    }
    out.into_iter()
        .map(|(mut p, n)| {
            p.cpu_percent /= n;
            p.memory_percent /= n;
            p.load1 /= n;
            p.disk_percent /= n;
            p.net_rx_bytes_per_sec /= n;
            p.net_tx_bytes_per_sec /= n;
            p
        })
        .collect()
}

impl Reader for DataSource {
    fn now_ms(&self) -> i64 {
        now_ms()
    }

    fn clusters(&self) -> Vec<ClusterSummary> {
        self.memory
            .summaries(self.now_ms(), self.horizons.stale_after.as_millis() as i64)
    }

    fn has_cluster(&self, id: &str) -> bool {
        self.memory.has_cluster(id)
    }

    fn snapshots(&self, source: Source, cluster: Option<&str>) -> Vec<Arc<Snapshot>> {
        self.memory.snapshots(source, cluster)
    }

    fn events(&self, cluster: Option<&str>) -> Vec<(String, Arc<Event>)> {
        self.memory.events(cluster)
    }

    fn latest_metrics(&self, cluster: Option<&str>) -> Vec<(String, Arc<NodeMetricsSnapshot>)> {
        self.memory.latest_metrics(cluster)
    }

    fn metric_range(&self, q: RangeQuery) -> BoxFuture<'_, Result<MetricSeries, ReadError>> {
        Box::pin(async move {
            if q.to_ms <= q.from_ms {
                return Err(ReadError::BadRequest(format!(
                    "`to` ({}) must be after `from` ({})",
                    q.to_ms, q.from_ms
                )));
            }
            if !self.memory.has_cluster(&q.cluster_id) {
                return Err(ReadError::NotFound(format!(
                    "cluster `{}` is not registered",
                    q.cluster_id
                )));
            }
            let now = self.now_ms();
            let age = |d: Duration| now - d.as_millis() as i64;
            let resolution = if q.from_ms >= age(self.horizons.metrics_ttl) {
                Resolution::Raw
            } else if q.from_ms >= age(self.horizons.minute_rollup_ttl) {
                Resolution::Minute
            } else {
                Resolution::Hour
            };
            let grain = match resolution {
                Resolution::Raw => 1_000,
                Resolution::Minute => 60_000,
                Resolution::Hour => 3_600_000,
            };
            let span = q.to_ms - q.from_ms;
            let step = q.step_ms.unwrap_or_else(|| (span / 300).max(1)).max(grain);
            if span / step > MAX_POINTS {
                return Err(ReadError::BadRequest(format!(
                    "{} points requested, at most {MAX_POINTS}: raise `step`",
                    span / step
                )));
            }
            let in_memory = (resolution == Resolution::Raw)
                .then(|| {
                    self.memory
                        .metric_points(&q.cluster_id, &q.node, q.from_ms, q.to_ms, now)
                })
                .flatten();
            let points = match in_memory {
                Some(points) => bucket(&points, q.from_ms, step),
                None => {
                    self.store
                        .metric_range(MetricRange {
                            cluster_id: q.cluster_id.clone(),
                            node: q.node.clone(),
                            from_ms: q.from_ms,
                            to_ms: q.to_ms,
                            step_ms: step,
                            resolution,
                        })
                        .await?
                }
            };
            if points.is_empty() && !self.memory.has_node_metrics(&q.cluster_id, &q.node) {
                return Err(ReadError::NotFound(format!(
                    "no samples of node `{}` in cluster `{}`",
                    q.node, q.cluster_id
                )));
            }
            Ok(MetricSeries {
                cluster_id: q.cluster_id,
                node: q.node,
                from_ms: q.from_ms,
                to_ms: q.to_ms,
                step_ms: step,
                resolution,
                points,
            })
        })
    }

    fn audit(
        &self,
        limit: usize,
        before_id: Option<i64>,
        filter: AuditFilter,
    ) -> BoxFuture<'_, Result<Vec<AuditRecord>, ReadError>> {
        Box::pin(async move { Ok(self.store.audit_records(limit, before_id, filter).await?) })
    }

    fn tokens(&self) -> BoxFuture<'_, Result<Vec<TokenInfo>, ReadError>> {
        Box::pin(async move {
            let rows = self.store.tokens().await?;
            Ok(rows.into_iter().map(|r| r.info).collect())
        })
    }
}
