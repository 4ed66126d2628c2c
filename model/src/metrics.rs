//! One node's sample, as nodemetrics takes it and the agent forwards it.

use serde::{Deserialize, Serialize};

/// Everything sampled on one node at one instant. Rates are per second over the interval since
/// the previous sample; the first sample of a process has no rates (empty lists or zeros).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeMetricsSnapshot {
    pub node: String,
    pub ts_ms: i64,
    pub cpu: CpuMetrics,
    pub memory: MemoryMetrics,
    #[serde(default)]
    pub filesystems: Vec<FilesystemMetrics>,
    #[serde(default)]
    pub disks: Vec<DiskIoMetrics>,
    #[serde(default)]
    pub network: Vec<NetworkMetrics>,
    /// Only the sensors the node has; an absent sensor is simply not listed.
    #[serde(default)]
    pub temperatures: Vec<TemperatureMetrics>,
    #[serde(default)]
    pub top_cpu: Vec<ProcessMetrics>,
    #[serde(default)]
    pub top_memory: Vec<ProcessMetrics>,
    pub uptime_secs: u64,
    /// Each pod's usage on the node, from its cgroup; by uid, since a node knows no pod names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodUsage>,
}

/// One pod's CPU and memory on its node (`kubectl top pods`'s figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PodUsage {
    pub uid: String,
    /// CPU used since the previous sample, in millicores.
    pub cpu_millicores: f64,
    /// The pod's cgroup memory, page cache included (`memory.current`).
    pub memory_bytes: u64,
}

/// CPU use in percent of the named capacity (100 % = every core busy for the total).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CpuMetrics {
    /// Logical cores.
    pub cores: u32,
    pub usage_percent: f64,
    #[serde(default)]
    pub per_core_percent: Vec<f64>,
    pub load1: f64,
    pub load5: f64,
    pub load15: f64,
}

/// Memory and swap in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemoryMetrics {
    pub total_bytes: u64,
    pub used_bytes: u64,
    /// `MemAvailable`: what can be allocated without swapping.
    pub available_bytes: u64,
    pub swap_total_bytes: u64,
    pub swap_used_bytes: u64,
}

/// One mounted real filesystem (pseudo filesystems are skipped by the sampler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FilesystemMetrics {
    pub mount: String,
    pub device: String,
    pub fs_type: String,
    pub size_bytes: u64,
    pub used_bytes: u64,
    pub available_bytes: u64,
    pub inodes_total: u64,
    pub inodes_used: u64,
}

/// IO of one block device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DiskIoMetrics {
    pub device: String,
    pub read_bytes_per_sec: f64,
    pub write_bytes_per_sec: f64,
    pub reads_per_sec: f64,
    pub writes_per_sec: f64,
}

/// Traffic of one network interface, named as the kernel names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkMetrics {
    pub interface: String,
    pub rx_bytes_per_sec: f64,
    pub tx_bytes_per_sec: f64,
    pub rx_packets_per_sec: f64,
    pub tx_packets_per_sec: f64,
    /// Cumulative counters since boot.
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TemperatureMetrics {
    pub sensor: String,
    pub celsius: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_celsius: Option<f64>,
}

/// One process among the busiest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProcessMetrics {
    pub pid: u32,
    pub name: String,
    /// Percent of one core (may exceed 100 on several cores).
    pub cpu_percent: f64,
    pub rss_bytes: u64,
}

impl NodeMetricsSnapshot {
    /// The hottest sensor, as `top nodes` shows it.
    pub fn hottest_celsius(&self) -> Option<f64> {
        self.temperatures
            .iter()
            .map(|t| t.celsius)
            .max_by(|a, b| a.total_cmp(b))
    }
}
