//! One node's sample, as nodemetrics takes it and the agent forwards it.

use serde::{Deserialize, Serialize};

/// Everything sampled on one node at one instant. Rates are per second over the interval since
/// the previous sample; the first sample of a process has no rates (empty lists or zeros).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NodeMetricsSnapshot {
    /// The node sampled (its Kubernetes name).
    pub node: String,
    /// When it was sampled (ms since the epoch).
    pub ts_ms: i64,
    /// CPU use and load.
    pub cpu: CpuMetrics,
    /// Memory and swap.
    pub memory: MemoryMetrics,
    #[serde(default)]
    /// Mounted filesystems (pseudo ones left out).
    pub filesystems: Vec<FilesystemMetrics>,
    #[serde(default)]
    /// Block devices' throughput.
    pub disks: Vec<DiskIoMetrics>,
    #[serde(default)]
    /// Network interfaces' throughput and errors.
    pub network: Vec<NetworkMetrics>,
    /// Only the sensors the node has; an absent sensor is simply not listed.
    #[serde(default)]
    pub temperatures: Vec<TemperatureMetrics>,
    #[serde(default)]
    /// The processes using the most CPU.
    pub top_cpu: Vec<ProcessMetrics>,
    #[serde(default)]
    /// The processes using the most memory.
    pub top_memory: Vec<ProcessMetrics>,
    /// Seconds since the node booted.
    pub uptime_secs: u64,
    /// Each pod's usage on the node, from its cgroup; by uid, since a node knows no pod names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pods: Vec<PodUsage>,
}

/// One pod's CPU and memory on its node (`kubectl top pods`'s figures).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PodUsage {
    /// The pod's uid (metadata.uid).
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
    /// All cores together, 0–100.
    pub usage_percent: f64,
    #[serde(default)]
    /// Each core, 0–100.
    pub per_core_percent: Vec<f64>,
    /// The 1-minute load average.
    pub load1: f64,
    /// The 5-minute load average.
    pub load5: f64,
    /// The 15-minute load average.
    pub load15: f64,
}

/// Memory and swap in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct MemoryMetrics {
    /// Physical memory.
    pub total_bytes: u64,
    /// In use (total minus available).
    pub used_bytes: u64,
    /// `MemAvailable`: what can be allocated without swapping.
    pub available_bytes: u64,
    /// Swap configured.
    pub swap_total_bytes: u64,
    /// Swap in use.
    pub swap_used_bytes: u64,
}

/// One mounted real filesystem (pseudo filesystems are skipped by the sampler).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct FilesystemMetrics {
    /// Where it is mounted.
    pub mount: String,
    /// The device it is mounted from.
    pub device: String,
    /// Its type (`ext4`, `xfs`, …).
    pub fs_type: String,
    /// Its size.
    pub size_bytes: u64,
    /// In use.
    pub used_bytes: u64,
    /// Free to unprivileged users.
    pub available_bytes: u64,
    /// Inodes in all.
    pub inodes_total: u64,
    /// Inodes in use.
    pub inodes_used: u64,
}

/// IO of one block device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct DiskIoMetrics {
    /// The block device (`sda`, `nvme0n1`).
    pub device: String,
    /// Bytes read per second.
    pub read_bytes_per_sec: f64,
    /// Bytes written per second.
    pub write_bytes_per_sec: f64,
    /// Reads completed per second.
    pub reads_per_sec: f64,
    /// Writes completed per second.
    pub writes_per_sec: f64,
}

/// Traffic of one network interface, named as the kernel names it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct NetworkMetrics {
    /// The interface (`eth0`).
    pub interface: String,
    /// Bytes received per second.
    pub rx_bytes_per_sec: f64,
    /// Bytes sent per second.
    pub tx_bytes_per_sec: f64,
    /// Packets received per second.
    pub rx_packets_per_sec: f64,
    /// Packets sent per second.
    pub tx_packets_per_sec: f64,
    /// Cumulative counters since boot.
    pub rx_errors: u64,
    /// Send errors (cumulative since boot).
    pub tx_errors: u64,
    /// Received packets dropped (cumulative).
    pub rx_dropped: u64,
    /// Sent packets dropped (cumulative).
    pub tx_dropped: u64,
}

/// One temperature sensor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct TemperatureMetrics {
    /// The sensor's label (`Package id 0`, `nvme Composite`).
    pub sensor: String,
    /// Its reading.
    pub celsius: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// Where the hardware calls it critical, when it says.
    pub critical_celsius: Option<f64>,
}

/// One process among the busiest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ProcessMetrics {
    /// Its process id.
    pub pid: u32,
    /// Its command name.
    pub name: String,
    /// Percent of one core (may exceed 100 on several cores).
    pub cpu_percent: f64,
    /// Resident memory.
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
