//! One node sample: counters read now, turned into rates against the previous sample.

use std::collections::HashMap;
use std::time::Instant;

use atlhyper_model::{
    CpuMetrics, DiskIoMetrics, MemoryMetrics, NetworkMetrics, NodeMetricsSnapshot, ProcessMetrics,
};
use procfs_core::net::InterfaceDeviceStatus;
use procfs_core::process::Stat;
use procfs_core::{
    CpuTime, DiskStats, ExplicitSystemInfo, KernelStats, LoadAverage, Meminfo, Uptime,
};

use crate::host::{Host, ReadError};
use crate::rates::{self, rate};
use crate::{fs, hwmon};

/// What to report.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Interfaces to leave out: exact names, or prefixes ending in `*` (`veth*`).
    pub exclude_interfaces: Vec<String>,
    /// How many processes to list by CPU and by memory.
    pub top_processes: usize,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            exclude_interfaces: ["lo", "veth*", "cali*", "lxc*"].map(str::to_owned).to_vec(),
            top_processes: 5,
        }
    }
}

impl SampleOptions {
    fn excluded(&self, interface: &str) -> bool {
        self.exclude_interfaces
            .iter()
            .any(|p| match p.strip_suffix('*') {
                Some(prefix) => interface.starts_with(prefix),
                None => interface == p,
            })
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct CpuCounters {
    busy: u64,
    total: u64,
}

impl From<&CpuTime> for CpuCounters {
    fn from(t: &CpuTime) -> Self {
        // guest time is already inside user time.
        let idle = t.idle + t.iowait.unwrap_or(0);
        let busy = t.user
            + t.nice
            + t.system
            + t.irq.unwrap_or(0)
            + t.softirq.unwrap_or(0)
            + t.steal.unwrap_or(0);
        CpuCounters {
            busy,
            total: busy + idle,
        }
    }
}

fn cpu_percent(previous: CpuCounters, current: CpuCounters) -> f64 {
    match (
        rates::delta(previous.busy, current.busy),
        rates::delta(previous.total, current.total),
    ) {
        (Some(busy), Some(total)) if total > 0 && busy <= total => {
            busy as f64 * 100.0 / total as f64
        }
        _ => 0.0,
    }
}

#[derive(Debug, Clone, Copy)]
struct NetCounters {
    rx_bytes: u64,
    tx_bytes: u64,
    rx_packets: u64,
    tx_packets: u64,
}

#[derive(Debug, Clone, Copy)]
struct DiskCounters {
    sectors_read: u64,
    sectors_written: u64,
    reads: u64,
    writes: u64,
}

/// The counters of the previous sample.
struct Previous {
    at: Instant,
    cpu: CpuCounters,
    cores: Vec<CpuCounters>,
    net: HashMap<String, NetCounters>,
    disks: HashMap<String, DiskCounters>,
    /// pid → (start time, CPU ticks): a reused pid has another start time.
    processes: HashMap<i32, (u64, u64)>,
    pods: HashMap<String, crate::cgroup::PodCounters>,
}

/// The busiest processes, and every process's CPU counter for the next sample.
struct Busiest {
    by_cpu: Vec<ProcessMetrics>,
    by_memory: Vec<ProcessMetrics>,
    counters: HashMap<i32, (u64, u64)>,
}

/// Samples one node again and again, keeping what rates need.
pub struct Sampler {
    host: Host,
    node: String,
    options: SampleOptions,
    system: ExplicitSystemInfo,
    previous: Option<Previous>,
}

/// The kernel prints load averages with two decimals; parsed as `f32` they pick up noise.
fn hundredths(value: f32) -> f64 {
    (f64::from(value) * 100.0).round() / 100.0
}

/// Disks count in 512-byte sectors whatever their real sector size.
const SECTOR: u64 = 512;

impl Sampler {
    pub fn new(host: Host, node: impl Into<String>, options: SampleOptions) -> Self {
        Sampler {
            host,
            node: node.into(),
            options,
            system: crate::host::system_info(),
            previous: None,
        }
    }

    /// Takes a sample at `ts_ms`. The first sample has no rates (zeros, empty lists).
    ///
    /// # Errors
    /// When `/proc/stat` or `/proc/meminfo` cannot be read: without them there is no sample.
    /// Every other source is optional.
    pub fn sample(&mut self, ts_ms: i64) -> Result<NodeMetricsSnapshot, ReadError> {
        self.sample_at(ts_ms, Instant::now())
    }

    /// [`Sampler::sample`] with the instant the interval is measured to (tests pass their own).
    pub fn sample_at(
        &mut self,
        ts_ms: i64,
        now: Instant,
    ) -> Result<NodeMetricsSnapshot, ReadError> {
        let stat: KernelStats = self.host.parse_si("stat", &self.system)?;
        let memory: Meminfo = self.host.parse("meminfo")?;
        let previous = self.previous.take();
        let seconds = previous
            .as_ref()
            .map_or(0.0, |p| now.duration_since(p.at).as_secs_f64());

        let cpu_now = CpuCounters::from(&stat.total);
        let cores_now: Vec<CpuCounters> = stat.cpu_time.iter().map(CpuCounters::from).collect();
        let (usage, per_core) = match &previous {
            Some(p) => (
                cpu_percent(p.cpu, cpu_now),
                cores_now
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        p.cores
                            .get(i)
                            .map_or(0.0, |before| cpu_percent(*before, *c))
                    })
                    .collect(),
            ),
            None => (0.0, vec![0.0; cores_now.len()]),
        };
        let load = self.host.parse::<LoadAverage>("loadavg").ok();

        let (network, net_now) = self.network(previous.as_ref(), seconds);
        let (disks, disks_now) = self.disks(previous.as_ref(), seconds);
        let Busiest {
            by_cpu: top_cpu,
            by_memory: top_memory,
            counters: processes_now,
        } = self.processes(previous.as_ref(), seconds);

        let pods_now = crate::cgroup::pod_counters(&self.host);
        let pods = crate::cgroup::usage(
            &pods_now,
            previous.as_ref().map(|p| &p.pods),
            seconds * 1000.0,
        );

        let available = memory
            .mem_available
            .unwrap_or(memory.mem_free + memory.buffers + memory.cached);
        let snapshot = NodeMetricsSnapshot {
            node: self.node.clone(),
            ts_ms,
            cpu: CpuMetrics {
                cores: cores_now.len() as u32,
                usage_percent: usage,
                per_core_percent: per_core,
                load1: load.as_ref().map_or(0.0, |l| hundredths(l.one)),
                load5: load.as_ref().map_or(0.0, |l| hundredths(l.five)),
                load15: load.as_ref().map_or(0.0, |l| hundredths(l.fifteen)),
            },
            memory: MemoryMetrics {
                total_bytes: memory.mem_total,
                used_bytes: memory.mem_total.saturating_sub(available),
                available_bytes: available,
                swap_total_bytes: memory.swap_total,
                swap_used_bytes: memory.swap_total.saturating_sub(memory.swap_free),
            },
            filesystems: fs::filesystems(&self.host),
            disks,
            network,
            temperatures: hwmon::temperatures(&self.host),
            top_cpu,
            top_memory,
            uptime_secs: self
                .host
                .parse::<Uptime>("uptime")
                .map_or(0, |u| u.uptime as u64),
            pods,
        };
        self.previous = Some(Previous {
            at: now,
            cpu: cpu_now,
            cores: cores_now,
            net: net_now,
            disks: disks_now,
            processes: processes_now,
            pods: pods_now,
        });
        Ok(snapshot)
    }

    fn network(
        &self,
        previous: Option<&Previous>,
        seconds: f64,
    ) -> (Vec<NetworkMetrics>, HashMap<String, NetCounters>) {
        let Ok(InterfaceDeviceStatus(devices)) = self.host.parse_ns("net/dev") else {
            return (Vec::new(), HashMap::new());
        };
        let mut out = Vec::new();
        let mut now = HashMap::new();
        for (name, d) in devices {
            if self.options.excluded(&name) {
                continue;
            }
            let counters = NetCounters {
                rx_bytes: d.recv_bytes,
                tx_bytes: d.sent_bytes,
                rx_packets: d.recv_packets,
                tx_packets: d.sent_packets,
            };
            // An interface that just appeared has no rate yet; one that went is not reported.
            if let Some(before) = previous.and_then(|p| p.net.get(&name)) {
                out.push(NetworkMetrics {
                    interface: name.clone(),
                    rx_bytes_per_sec: rate(
                        before.rx_bytes,
                        counters.rx_bytes,
                        seconds,
                        rates::MAX_NET_BYTES_PER_SEC,
                    ),
                    tx_bytes_per_sec: rate(
                        before.tx_bytes,
                        counters.tx_bytes,
                        seconds,
                        rates::MAX_NET_BYTES_PER_SEC,
                    ),
                    rx_packets_per_sec: rate(
                        before.rx_packets,
                        counters.rx_packets,
                        seconds,
                        rates::MAX_PACKETS_PER_SEC,
                    ),
                    tx_packets_per_sec: rate(
                        before.tx_packets,
                        counters.tx_packets,
                        seconds,
                        rates::MAX_PACKETS_PER_SEC,
                    ),
                    rx_errors: d.recv_errs,
                    tx_errors: d.sent_errs,
                    rx_dropped: d.recv_drop,
                    tx_dropped: d.sent_drop,
                });
            }
            now.insert(name, counters);
        }
        out.sort_by(|a, b| a.interface.cmp(&b.interface));
        (out, now)
    }

    fn disks(
        &self,
        previous: Option<&Previous>,
        seconds: f64,
    ) -> (Vec<DiskIoMetrics>, HashMap<String, DiskCounters>) {
        let Ok(DiskStats(stats)) = self.host.parse::<DiskStats>("diskstats") else {
            return (Vec::new(), HashMap::new());
        };
        let devices = self.host.block_devices();
        let mut out = Vec::new();
        let mut now = HashMap::new();
        for d in stats.into_iter().filter(|d| devices.contains(&d.name)) {
            let counters = DiskCounters {
                sectors_read: d.sectors_read,
                sectors_written: d.sectors_written,
                reads: d.reads,
                writes: d.writes,
            };
            if let Some(before) = previous.and_then(|p| p.disks.get(&d.name)) {
                let bytes = |b: u64, a: u64| {
                    rate(
                        b.saturating_mul(SECTOR),
                        a.saturating_mul(SECTOR),
                        seconds,
                        rates::MAX_DISK_BYTES_PER_SEC,
                    )
                };
                out.push(DiskIoMetrics {
                    device: d.name.clone(),
                    read_bytes_per_sec: bytes(before.sectors_read, counters.sectors_read),
                    write_bytes_per_sec: bytes(before.sectors_written, counters.sectors_written),
                    reads_per_sec: rate(
                        before.reads,
                        counters.reads,
                        seconds,
                        rates::MAX_DISK_OPS_PER_SEC,
                    ),
                    writes_per_sec: rate(
                        before.writes,
                        counters.writes,
                        seconds,
                        rates::MAX_DISK_OPS_PER_SEC,
                    ),
                });
            }
            now.insert(d.name, counters);
        }
        (out, now)
    }

    /// The busiest processes by CPU (over the interval) and by resident memory.
    fn processes(&self, previous: Option<&Previous>, seconds: f64) -> Busiest {
        let mut all = Vec::new();
        let mut now = HashMap::new();
        let ticks = self.system.ticks_per_second as f64;
        for pid in self.host.pids().unwrap_or_default() {
            // A process may end between listing and reading: skip it.
            let Ok(stat) = self.host.parse::<Stat>(&format!("{pid}/stat")) else {
                continue;
            };
            let used = stat.utime + stat.stime;
            let cpu = previous
                .and_then(|p| p.processes.get(&pid))
                .filter(|(started, _)| *started == stat.starttime)
                .and_then(|(_, before)| rates::delta(*before, used))
                .filter(|_| seconds > 0.0 && ticks > 0.0)
                .map_or(0.0, |d| d as f64 / ticks / seconds * 100.0);
            now.insert(pid, (stat.starttime, used));
            all.push(ProcessMetrics {
                pid: pid as u32,
                name: stat.comm,
                cpu_percent: cpu,
                rss_bytes: stat.rss.saturating_mul(self.system.page_size),
            });
        }
        let n = self.options.top_processes;
        let mut by_memory = all.clone();
        by_memory.sort_by(|a, b| b.rss_bytes.cmp(&a.rss_bytes).then(a.pid.cmp(&b.pid)));
        by_memory.truncate(n);
        let mut by_cpu = if previous.is_some() { all } else { Vec::new() };
        by_cpu.retain(|p| p.cpu_percent > 0.0);
        by_cpu.sort_by(|a, b| {
            b.cpu_percent
                .total_cmp(&a.cpu_percent)
                .then(a.pid.cmp(&b.pid))
        });
        by_cpu.truncate(n);
        Busiest {
            by_cpu,
            by_memory,
            counters: now,
        }
    }
}
