//! atlhyper-nodemetrics: a node sampler lighter than node_exporter.
//!
//! [`sampler::Sampler`] reads `/proc` and `/sys` under a root ([`host::Host`]) and turns
//! counters into rates between samples; [`run`] samples every interval and pushes each
//! [`NodeMetricsSnapshot`] to the agent ([`push::Pusher`]), keeping only the newest sample while
//! the agent is away. It runs as a DaemonSet (`deploy/nodemetrics.yaml`) or in-process in
//! `atlctl demo`.

pub mod cgroup;
mod config;
pub mod fs;
pub mod host;
pub mod hwmon;
pub mod push;
pub mod rates;
pub mod sampler;

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
pub use config::Config;
use tokio_util::sync::CancellationToken;

use crate::host::Host;
use crate::push::Pusher;
use crate::sampler::{SampleOptions, Sampler};

pub use atlhyper_runtime::now_ms;

/// The sampler a configuration describes.
pub fn sampler(config: &Config) -> Sampler {
    Sampler::new(
        Host::new(&config.host_root),
        config.node(),
        SampleOptions {
            exclude_interfaces: config.exclude_interfaces.clone(),
            top_processes: config.top_processes,
        },
    )
}

/// Two samples `gap` apart, so the rates are real: what `--once` prints.
///
/// # Errors
/// When the host's `/proc/stat` or `/proc/meminfo` cannot be read.
pub async fn sample_once(
    config: &Config,
    gap: Duration,
) -> Result<NodeMetricsSnapshot, host::ReadError> {
    let mut sampler = sampler(config);
    sampler.sample(now_ms())?;
    tokio::time::sleep(gap).await;
    sampler.sample(now_ms())
}

/// Samples every interval and pushes until `shutdown`.
pub async fn run(config: Config, shutdown: CancellationToken) {
    let mut sampler = sampler(&config);
    let pusher = Pusher::new(&config.agent, config.token.clone(), config.push_timeout);
    let mut tick = tokio::time::interval(config.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut failures = 0u32;
    let mut next_push = tokio::time::Instant::now();
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        // Sampled every tick, so rates stay per interval; what is not pushed is dropped, and the
        // next push carries the newest sample: nothing queues while the agent is away.
        let sample = match sampler.sample(now_ms()) {
            Ok(sample) => sample,
            Err(e) => {
                tracing::warn!(error = %e, "sampling failed");
                continue;
            }
        };
        if tokio::time::Instant::now() < next_push {
            continue;
        }
        match pusher.push(&sample).await {
            Ok(()) => {
                if failures > 0 {
                    tracing::info!(after = failures, "pushing to the agent again");
                }
                failures = 0;
            }
            Err(e) => {
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %e, failures, "push failed; keeping the newest sample");
                }
                next_push =
                    tokio::time::Instant::now() + push::backoff(config.interval).delay(failures);
            }
        }
    }
}

/// A few lines for people (`--once` without `--json`).
pub fn summary(s: &NodeMetricsSnapshot) -> String {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let mut out = format!(
        "node {}  up {}s\ncpu {:.1}% of {} cores  load {:.2} {:.2} {:.2}\nmemory {:.1}/{:.1} GiB used  swap {:.1}/{:.1} GiB\n",
        s.node,
        s.uptime_secs,
        s.cpu.usage_percent,
        s.cpu.cores,
        s.cpu.load1,
        s.cpu.load5,
        s.cpu.load15,
        gib(s.memory.used_bytes),
        gib(s.memory.total_bytes),
        gib(s.memory.swap_used_bytes),
        gib(s.memory.swap_total_bytes),
    );
    for f in &s.filesystems {
        out.push_str(&format!(
            "fs {} ({}, {}) {:.1}/{:.1} GiB\n",
            f.mount,
            f.device,
            f.fs_type,
            gib(f.used_bytes),
            gib(f.size_bytes)
        ));
    }
    for d in &s.disks {
        out.push_str(&format!(
            "disk {} read {:.0} B/s write {:.0} B/s\n",
            d.device, d.read_bytes_per_sec, d.write_bytes_per_sec
        ));
    }
    for n in &s.network {
        out.push_str(&format!(
            "net {} rx {:.0} B/s tx {:.0} B/s\n",
            n.interface, n.rx_bytes_per_sec, n.tx_bytes_per_sec
        ));
    }
    for t in &s.temperatures {
        out.push_str(&format!("temp {} {:.1} °C\n", t.sensor, t.celsius));
    }
    for p in &s.top_cpu {
        out.push_str(&format!(
            "top cpu {} {} {:.1}%\n",
            p.pid, p.name, p.cpu_percent
        ));
    }
    out
}
