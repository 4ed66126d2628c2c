//! Simulated node load: each node's CPU, memory, disk and network follow the pods bound to it,
//! with noise, and are pushed to an agent as AtlHyper `NodeMetricsSnapshot`s — what the
//! nodemetrics DaemonSet would send from a real node.

use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::codec;
use atlhyper_model::{
    CpuMetrics, DiskIoMetrics, FilesystemMetrics, MemoryMetrics, NetworkMetrics,
    NodeMetricsSnapshot, PodUsage, ProcessMetrics, TemperatureMetrics,
};
use k8s_openapi::api::core::v1::Node;
use rand::{Rng, SeedableRng};
use tokio_util::sync::CancellationToken;

use super::Sim;
use crate::sim::controllers::scheduler_requests;
use crate::store::World;

const GIB: u64 = 1 << 30;

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// One node's sample at `now_ms`, derived from its pods; `rng` adds the noise.
pub fn snapshot(
    world: &World,
    node: &Node,
    now_ms: i64,
    rng: &mut impl Rng,
) -> NodeMetricsSnapshot {
    let name = node.metadata.name.clone().unwrap_or_default();
    let seed = hash(&name);
    let capacity = node.status.as_ref().and_then(|s| s.capacity.as_ref());
    let cores = capacity
        .and_then(|c| c.get("cpu"))
        .and_then(|q| atlhyper_model::quantity::cpu_millis(&q.0).ok())
        .map_or(4, |m| (m / 1000).max(1)) as u32;
    let total_memory = capacity
        .and_then(|c| c.get("memory"))
        .and_then(|q| atlhyper_model::quantity::value(&q.0).ok())
        .unwrap_or(16 * GIB);
    let pressure = node
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c.type_ == "MemoryPressure" && c.status == "True")
        });

    let mut cpu_millis = 150.0 + 100.0 * rng.random::<f64>(); // kubelet, containerd, the OS
    let mut memory = (GIB + GIB / 4) as f64;
    let mut processes: Vec<ProcessMetrics> = Vec::new();
    let mut pods = 0u32;
    let mut usage_by_pod = Vec::new();
    for e in world.pods.iter() {
        let pod = &e.object;
        if pod.spec.as_ref().and_then(|s| s.node_name.as_deref()) != Some(name.as_str()) {
            continue;
        }
        let running = pod.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
        if !running {
            continue;
        }
        pods += 1;
        let (cpu, mem) = scheduler_requests(pod);
        let used_cpu = cpu.max(20) as f64 * (0.3 + 0.9 * rng.random::<f64>());
        let used_mem = mem.max(32 << 20) as f64 * (0.7 + 0.4 * rng.random::<f64>());
        cpu_millis += used_cpu;
        memory += used_mem;
        if let Some(uid) = &pod.metadata.uid {
            usage_by_pod.push(PodUsage {
                uid: uid.clone(),
                cpu_millicores: used_cpu,
                memory_bytes: used_mem as u64,
            });
        }
        let process = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .map(|c| c.name.clone())
            .unwrap_or_default();
        processes.push(ProcessMetrics {
            pid: 1000 + (hash(&e.meta.name) % 60_000) as u32,
            name: process,
            cpu_percent: used_cpu / 10.0,
            rss_bytes: used_mem as u64,
        });
    }
    if pressure {
        memory = memory.max(total_memory as f64 * 0.93);
    }
    let capacity_millis = f64::from(cores) * 1000.0;
    let usage = (cpu_millis / capacity_millis * 100.0).clamp(0.0, 100.0);
    let per_core = (0..cores)
        .map(|_| (usage * (0.7 + 0.6 * rng.random::<f64>())).clamp(0.0, 100.0))
        .collect();
    let used_memory = (memory as u64).min(total_memory);
    processes.push(ProcessMetrics {
        pid: 911,
        name: "kubelet".to_owned(),
        cpu_percent: 3.0 + 4.0 * rng.random::<f64>(),
        rss_bytes: 96 << 20,
    });
    processes.push(ProcessMetrics {
        pid: 702,
        name: "containerd".to_owned(),
        cpu_percent: 1.0 + 2.0 * rng.random::<f64>(),
        rss_bytes: 64 << 20,
    });
    let mut top_cpu = processes.clone();
    top_cpu.sort_by(|a, b| b.cpu_percent.total_cmp(&a.cpu_percent));
    top_cpu.truncate(5);
    let mut top_memory = processes;
    top_memory.sort_by_key(|p| std::cmp::Reverse(p.rss_bytes));
    top_memory.truncate(5);

    let root_size = 100 * GIB;
    let root_used = root_size / 100 * (25 + seed % 40) + u64::from(pods) * (200 << 20);
    let traffic = f64::from(pods) * 40_000.0 * (0.5 + rng.random::<f64>());
    let created_ms = node
        .metadata
        .creation_timestamp
        .as_ref()
        .map_or(now_ms, |t| t.0.as_millisecond());
    NodeMetricsSnapshot {
        node: name,
        ts_ms: now_ms,
        cpu: CpuMetrics {
            cores,
            usage_percent: usage,
            per_core_percent: per_core,
            load1: cpu_millis / 1000.0 * (0.9 + 0.3 * rng.random::<f64>()),
            load5: cpu_millis / 1000.0,
            load15: cpu_millis / 1000.0 * 0.95,
        },
        memory: MemoryMetrics {
            total_bytes: total_memory,
            used_bytes: used_memory,
            available_bytes: total_memory - used_memory,
            swap_total_bytes: 0,
            swap_used_bytes: 0,
        },
        filesystems: vec![FilesystemMetrics {
            mount: "/".to_owned(),
            device: "/dev/nvme0n1p1".to_owned(),
            fs_type: "ext4".to_owned(),
            size_bytes: root_size,
            used_bytes: root_used.min(root_size),
            available_bytes: root_size - root_used.min(root_size),
            inodes_total: 6_553_600,
            inodes_used: 400_000 + u64::from(pods) * 9_000,
        }],
        disks: vec![DiskIoMetrics {
            device: "nvme0n1".to_owned(),
            read_bytes_per_sec: traffic * 0.2,
            write_bytes_per_sec: traffic * 0.6,
            reads_per_sec: traffic / 40_000.0,
            writes_per_sec: traffic / 12_000.0,
        }],
        network: vec![
            NetworkMetrics {
                interface: "ens5".to_owned(),
                rx_bytes_per_sec: traffic,
                tx_bytes_per_sec: traffic * 0.7,
                rx_packets_per_sec: traffic / 900.0,
                tx_packets_per_sec: traffic / 1100.0,
                rx_errors: 0,
                tx_errors: 0,
                rx_dropped: seed % 20,
                tx_dropped: 0,
            },
            NetworkMetrics {
                interface: "cni0".to_owned(),
                rx_bytes_per_sec: traffic * 0.4,
                tx_bytes_per_sec: traffic * 0.4,
                rx_packets_per_sec: traffic / 2000.0,
                tx_packets_per_sec: traffic / 2000.0,
                rx_errors: 0,
                tx_errors: 0,
                rx_dropped: 0,
                tx_dropped: 0,
            },
        ],
        temperatures: vec![
            TemperatureMetrics {
                sensor: "coretemp Package id 0".to_owned(),
                celsius: 38.0 + usage * 0.45,
                critical_celsius: Some(100.0),
            },
            TemperatureMetrics {
                sensor: "nvme Composite".to_owned(),
                celsius: 34.0 + (seed % 10) as f64,
                critical_celsius: Some(84.85),
            },
        ],
        top_cpu,
        top_memory,
        uptime_secs: ((now_ms - created_ms).max(0) / 1000) as u64 + 3_600 + seed % 86_400,
        pods: usage_by_pod,
    }
}

/// Pushes every node's sample to an agent (`{url}/ingest/node-metrics`) every `interval` until
/// `shutdown` (except the nodes named in `except`, which report for themselves); a failed push
/// is logged and retried at the next interval, never queued.
pub async fn push(
    sim: Arc<Sim>,
    url: String,
    token: Option<String>,
    interval: Duration,
    seed: u64,
    except: Vec<String>,
    shutdown: CancellationToken,
) {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
    {
        Ok(client) => client,
        Err(e) => {
            tracing::error!(error = %e, "cannot build the node-metrics HTTP client");
            return;
        }
    };
    let endpoint = format!("{}/ingest/node-metrics", url.trim_end_matches('/'));
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = sim.now_ms();
        let snapshots: Vec<NodeMetricsSnapshot> = {
            let world = sim.world();
            world
                .nodes
                .iter()
                .filter(|e| {
                    !except
                        .iter()
                        .any(|n| e.object.metadata.name.as_ref() == Some(n))
                })
                .map(|e| snapshot(&world, &e.object, now, &mut rng))
                .collect()
        };
        for s in snapshots {
            let body = codec::encode_gzip(&s, codec::DEFAULT_GZIP_LEVEL);
            let mut request = client
                .post(&endpoint)
                .header("content-type", "application/json")
                .header("content-encoding", "gzip")
                .body(body);
            if let Some(token) = &token {
                request = request.bearer_auth(token);
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    tracing::warn!(node = %s.node, status = %r.status(), "agent refused node metrics")
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot reach the agent for node metrics");
                    break;
                }
            }
        }
    }
}
