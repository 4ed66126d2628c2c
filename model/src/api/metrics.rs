use serde::{Deserialize, Serialize};

use crate::metrics::NodeMetricsSnapshot;

/// The few numbers of a node sample that are kept as history (the full sample is kept only as
/// the latest): what `top nodes` graphs and alert rules look at.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricPoint {
    /// When (ms since the epoch; a bucket's start in a rollup).
    pub ts_ms: i64,
    /// CPU use, 0–100.
    pub cpu_percent: f64,
    /// Used memory in percent of total.
    pub memory_percent: f64,
    /// The 1-minute load average.
    pub load1: f64,
    /// The fullest filesystem's used space, in percent.
    pub disk_percent: f64,
    /// Summed over the node's interfaces.
    pub net_rx_bytes_per_sec: f64,
    /// Summed over the node's interfaces.
    pub net_tx_bytes_per_sec: f64,
    /// The hottest sensor; absent when the node has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature_celsius: Option<f64>,
}

impl MetricPoint {
    /// The history numbers of one sample.
    pub fn from_snapshot(s: &NodeMetricsSnapshot) -> Self {
        let percent = |part: u64, whole: u64| {
            if whole == 0 {
                0.0
            } else {
                part as f64 * 100.0 / whole as f64
            }
        };
        MetricPoint {
            ts_ms: s.ts_ms,
            cpu_percent: s.cpu.usage_percent,
            memory_percent: percent(s.memory.used_bytes, s.memory.total_bytes),
            load1: s.cpu.load1,
            disk_percent: s
                .filesystems
                .iter()
                .map(|f| percent(f.used_bytes, f.size_bytes))
                .fold(0.0, f64::max),
            net_rx_bytes_per_sec: s.network.iter().map(|n| n.rx_bytes_per_sec).sum(),
            net_tx_bytes_per_sec: s.network.iter().map(|n| n.tx_bytes_per_sec).sum(),
            temperature_celsius: s.hottest_celsius(),
        }
    }
}

/// Where a range answer comes from, finest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    /// Every sample (kept 15 minutes by default).
    Raw,
    /// One-minute averages (kept 24 hours by default).
    Minute,
    /// One-hour averages (kept 30 days by default).
    Hour,
}

/// A node's history over `[from_ms, to_ms)`, one averaged point per `step_ms` that has samples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    /// The node's cluster.
    pub cluster_id: String,
    /// The node.
    pub node: String,
    /// The first instant asked for (ms since the epoch).
    pub from_ms: i64,
    /// The end asked for (not included).
    pub to_ms: i64,
    /// Each point's width.
    pub step_ms: i64,
    /// Which table the points come from (raw, minute or hour rollups).
    pub resolution: Resolution,
    /// One point per step that has samples, oldest first.
    pub points: Vec<MetricPoint>,
}

/// A pod's latest usage, named: what `GET /api/v1/pod-metrics` and `atlctl top pods` give.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PodMetrics {
    /// The pod's namespace.
    pub namespace: String,
    /// The pod.
    pub name: String,
    /// The node it runs on.
    pub node: String,
    /// When the node's sample was taken.
    pub ts_ms: i64,
    /// CPU used since the previous sample, in millicores.
    pub cpu_millicores: f64,
    /// Its cgroup's memory, page cache included.
    pub memory_bytes: u64,
}
