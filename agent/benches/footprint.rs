//! The agent's footprint against kubesim's `large` scenario (200 nodes, 5,000 pods): the release
//! agent binary runs as its own process (its CPU from `/proc/PID/stat`, memory from
//! `/proc/PID/status`); kubesim and master run in this process. 20 pod changes a second (a
//! label patched) for `DURATION` seconds (default 300); each change is timed from its PATCH to
//! the `snapshot` event naming it on master's stream.
//!
//! `cargo bench -p atlhyper-agent --bench footprint` (`DURATION=60` for a quick look)
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use atlhyper_testkit::percentile;
use atlhyper_testkit::process::{Program, cpu_seconds, peak_rss_mib, rss_mib};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{ListParams, Patch, PatchParams};

const ADMIN: &str = "bench-admin-token-0123456789abcdef";
const TOKEN: &str = "bench-cluster-token-0123456789abcdef";

async fn pushed_bytes(http: &reqwest::Client, agent: &str) -> f64 {
    let text = atlhyper_testkit::text(http.get(format!("{agent}/metrics"))).await;
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
    let stack = atlhyper_stack::Stack::builder()
        .scenario("large")
        .cluster_id("bench")
        .admin_token(ADMIN)
        .cluster_token(TOKEN)
        .node_metrics(atlhyper_stack::NodeMetrics::Off)
        .without_agent()
        .start()
        .await
        .unwrap();
    let master_url = stack.master_url();
    // kubesim's start-up burst (every pod scheduled and started, ~90,000 writes) is over
    // before the agent starts: a real cluster does not begin life under the agent.
    let settle = Duration::from_secs(
        std::env::var("SETTLE")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30),
    );
    tokio::time::sleep(settle).await;

    let mut command = Command::new(env!("CARGO_BIN_EXE_atlhyper-agent"));
    command
        .args([
            "--cluster-id",
            "bench",
            "--token",
            TOKEN,
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--master")
        .arg(&master_url)
        .arg("--kubeconfig")
        .arg(&stack.kubeconfig)
        .env("ATLHYPER_AGENT_LOG", "warn");
    let agent = Program::start(command).await;
    let agent_url = agent.first_line.clone();
    let pid = agent.proc();
    let http = reqwest::Client::new();

    // Wait for the first full picture at master.
    let started = Instant::now();
    loop {
        let list = atlhyper_testkit::json(
            http.get(format!("{}/api/v1/clusters/bench", master_url))
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
        rss_mib(pid)
    );

    // Master's stream: when does each change arrive?
    let sent: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let latencies: Arc<Mutex<Vec<Duration>>> = Arc::default();
    let mut stream = http
        .get(format!("{}/api/v1/stream?kind=pods", master_url))
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

    let client = stack.kube_client().await.unwrap();
    let pods: kube::Api<Pod> = kube::Api::all(client.clone());
    let targets: Vec<(String, String)> = pods
        .list(&ListParams::default().limit(500))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| (p.metadata.namespace.unwrap(), p.metadata.name.unwrap()))
        .collect();

    let (cpu0, bytes0, t0) = (
        cpu_seconds(pid),
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
            peak_rss = peak_rss.max(rss_mib(pid));
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (cpu_seconds(pid) - cpu0) / wall * 100.0;
    let bytes = pushed_bytes(&http, &agent_url).await - bytes0;
    let (rss, hwm) = (rss_mib(pid), peak_rss_mib(pid));
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
    agent.stop();
    stack.stop().await;
}
