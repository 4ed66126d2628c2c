//! The agent's footprint against kubesim's `large` scenario (200 nodes, 5,000 pods): the release
//! agent binary runs as its own process (its CPU from `/proc/PID/stat`, memory from
//! `/proc/PID/status`); kubesim and master run in this process. 20 pod changes a second (a
//! label patched) for `DURATION` seconds (default 300); each change is timed from its PATCH to
//! the `snapshot` event naming it on master's stream.
//!
//! `cargo bench -p atlhyper-agent --bench footprint` (`DURATION=60` for a quick look)
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_testkit::percentile;
use std::collections::HashMap;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams};
use tokio::io::AsyncBufReadExt as _;

const ADMIN: &str = "bench-admin-token-0123456789abcdef";
const TOKEN: &str = "bench-cluster-token-0123456789abcdef";

fn ticks(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit(") ")
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap()
}

fn rss_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = |key: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .unwrap()
            .parse::<f64>()
            .unwrap()
            / 1024.0
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn pushed_bytes(http: &reqwest::Client, agent: &str) -> f64 {
    let text = http
        .get(format!("{agent}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find(|l| l.starts_with("atlhyper_agent_push_bytes_total "))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::main]
async fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let duration = Duration::from_secs(
        std::env::var("DURATION")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(300),
    );
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let kubesim_config = kubesim::Config::embedded("large", &kubeconfig);
    let kubesim = kubesim::start(&kubesim_config, kubesim::sim::SimOptions::default())
        .await
        .unwrap();
    let mut master_config = atlhyper_master::Config::defaults();
    master_config.listen = "127.0.0.1:0".parse().unwrap();
    master_config.db = Some(dir.path().join("master.db"));
    master_config.admin_token = Some(ADMIN.to_owned());
    master_config.clusters = vec![format!("bench={TOKEN}")];
    let master = atlhyper_master::start(&master_config).await.unwrap();
    // kubesim's start-up burst (every pod scheduled and started, ~90,000 writes) is over
    // before the agent starts: a real cluster does not begin life under the agent.
    let settle = Duration::from_secs(
        std::env::var("SETTLE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    );
    tokio::time::sleep(settle).await;

    let mut agent = tokio::process::Command::new(env!("CARGO_BIN_EXE_atlhyper-agent"))
        .args([
            "--cluster-id",
            "bench",
            "--token",
            TOKEN,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--master")
        .arg(&master.url)
        .arg("--kubeconfig")
        .arg(&kubeconfig)
        .env("ATLHYPER_AGENT_LOG", "warn")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = agent.id().unwrap();
    let mut line = String::new();
    tokio::io::BufReader::new(agent.stdout.take().unwrap())
        .read_line(&mut line)
        .await
        .unwrap();
    let agent_url = line.trim().to_owned();
    let http = reqwest::Client::new();

    // Wait for the first full picture at master.
    let started = Instant::now();
    loop {
        let list = atlhyper_testkit::json(
            http.get(format!("{}/api/v1/clusters/bench", master.url))
                .bearer_auth(ADMIN),
        )
        .await;
        if list["counts"]["pods"].as_u64() == Some(5_000)
            && list["counts"]["nodes"].as_u64() == Some(200)
        {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "master never got the cluster: {list}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!(
        "first full picture at master {:.1} s after the agent started; agent RSS {:.1} MiB",
        started.elapsed().as_secs_f64(),
        rss_mib(pid).0
    );

    // Master's stream: when does each change arrive?
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut stream = http
        .get(format!("{}/api/v1/stream?kind=pods", master.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let listener = {
        let (sent, latencies) = (sent.clone(), latencies.clone());
        tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = stream.chunk().await {
                let now = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let block: String = buffer.drain(..end + 2).collect();
                    let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) else {
                        continue;
                    };
                    let change: serde_json::Value = serde_json::from_str(data).unwrap();
                    let mut sent = sent.lock().unwrap();
                    for key in change["changed"].as_array().into_iter().flatten() {
                        if let Some(at) = sent.remove(key.as_str().unwrap_or_default()) {
                            latencies.lock().unwrap().push(now - at);
                        }
                    }
                }
            }
        })
    };

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let client = kube::Client::try_from(
        kube::Config::from_custom_kubeconfig(kc, &Default::default())
            .await
            .unwrap(),
    )
    .unwrap();
    let pods: kube::Api<Pod> = kube::Api::all(client.clone());
    let targets: Vec<(String, String)> = pods
        .list(&ListParams::default().limit(500))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| (p.metadata.namespace.unwrap(), p.metadata.name.unwrap()))
        .collect();

    let hz = clock_ticks();
    let (cpu0, bytes0, t0) = (
        ticks(pid),
        pushed_bytes(&http, &agent_url).await,
        Instant::now(),
    );
    let mut peak_rss: f64 = 0.0;
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    let mut n = 0usize;
    while t0.elapsed() < duration {
        tick.tick().await;
        let (ns, name) = &targets[n % targets.len()];
        let patch = serde_json::json!({"metadata": {"labels": {"bench-seq": n.to_string()}}});
        sent.lock()
            .unwrap()
            .insert(format!("{ns}/{name}"), Instant::now());
        let api: kube::Api<Pod> = kube::Api::namespaced(client.clone(), ns);
        api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
        n += 1;
        if n.is_multiple_of(100) {
            peak_rss = peak_rss.max(rss_mib(pid).0);
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (ticks(pid) - cpu0) / hz / wall * 100.0;
    let bytes = pushed_bytes(&http, &agent_url).await - bytes0;
    let (rss, hwm) = rss_mib(pid);
    let mut latencies = latencies.lock().unwrap().clone();
    println!(
        "agent over {wall:.0} s with {n} pod changes ({:.0}/s) on 5,000 pods, 200 nodes: CPU {cpu:.2} % \
         of a core, RSS {rss:.1} MiB (sampled peak {:.1}, high-water {hwm:.1}), {:.0} KB pushed per minute",
        n as f64 / wall,
        peak_rss.max(rss),
        bytes / wall * 60.0 / 1e3,
    );
    if !latencies.is_empty() {
        println!(
            "change → master stream: {} of {n} seen, p50 {:?}, p99 {:?}",
            latencies.len(),
            percentile(&mut latencies, 0.5),
            percentile(&mut latencies, 0.99)
        );
    }
    listener.abort();
    let _ = agent.kill().await;
    master.stop().await;
    kubesim.stop().await;
}
