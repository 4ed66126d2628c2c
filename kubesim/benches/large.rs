//! kubesim under the `large` scenario (200 nodes, 5,000 pods, 400 deployments): full pods list
//! latency, kube-rs reflector sync, resident memory, and watch fan-out to 10 watchers under
//! 200 changes/s. Runs the release binary as its own process so its RSS is its own.
//!
//! `cargo bench -p kubesim --bench large`; figures go to `docs/performance.md`.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_testkit::percentile;
use atlhyper_testkit::process::{self, Program};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::{WatchStreamExt, reflector, watcher};

#[tokio::main]
async fn main() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut command = Command::new(env!("CARGO_BIN_EXE_kubesim"));
    command
        .args([
            "--scenario",
            "large",
            "--listen",
            "127.0.0.1:0",
            "--log",
            "warn",
            "--kubeconfig-out",
        ])
        .arg(&kubeconfig);
    let kubesim = Program::start(command).await;
    let pid = kubesim.proc();
    let started = Instant::now();
    let kc = Kubeconfig::from_yaml(&std::fs::read_to_string(&kubeconfig).unwrap()).unwrap();
    let config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .unwrap();
    let client = kube::Client::try_from(config).unwrap();
    let pods: Api<Pod> = Api::all(client.clone());

    // Settle: every pod running.
    loop {
        let list = pods.list(&ListParams::default()).await.unwrap();
        let running = list
            .items
            .iter()
            .filter(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
            .count();
        if running == 5_000 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "large never settled ({running} running)"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "settled: 5,000 pods running {:.1} s after start",
        started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!("kubesim RSS settled: {:.1} MiB", process::rss_mib(pid));

    // Full list, as raw bytes (server + transfer, no client-side decoding).
    let mut times = Vec::new();
    let mut bytes = 0;
    for _ in 0..30 {
        let request = http::Request::get("/api/v1/pods").body(Vec::new()).unwrap();
        let t = Instant::now();
        let response = client
            .send(request.map(kube::client::Body::from))
            .await
            .unwrap();
        let body = http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes();
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        bytes = body.len();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "full pods list (5,000, {:.1} MB): p50 {:.1} ms, p99 {:.1} ms",
        bytes as f64 / 1e6,
        percentile(&mut times, 0.5),
        percentile(&mut times, 0.99)
    );

    // A kube-rs reflector (pages of 500, as kube's default) syncs.
    let mut syncs = Vec::new();
    for _ in 0..5 {
        let (reader, writer) = reflector::store::<Pod>();
        let t = Instant::now();
        let task = tokio::spawn(
            reflector(writer, watcher(pods.clone(), watcher::Config::default()))
                .applied_objects()
                .for_each(|_| async {}),
        );
        reader.wait_until_ready().await.unwrap();
        syncs.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(reader.state().len(), 5_000);
        task.abort();
    }
    syncs.sort_by(f64::total_cmp);
    println!(
        "kube-rs reflector sync of 5,000 pods: p50 {:.0} ms, max {:.0} ms",
        percentile(&mut syncs, 0.5),
        syncs[4]
    );

    // Watch fan-out: 10 watchers, 200 changes/s for 10 s, latency from the change's own stamp.
    let list = pods.list(&ListParams::default()).await.unwrap();
    let rv = list.metadata.resource_version.clone().unwrap();
    let targets: Vec<(String, String)> = list
        .items
        .iter()
        .take(2_000)
        .map(|p| {
            (
                p.metadata.namespace.clone().unwrap(),
                p.metadata.name.clone().unwrap(),
            )
        })
        .collect();
    let epoch = Instant::now();
    let received = Arc::new(AtomicU64::new(0));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let mut watchers = Vec::new();
    for _ in 0..10 {
        let api = pods.clone();
        let rv = rv.clone();
        let received = received.clone();
        let latencies = latencies.clone();
        watchers.push(tokio::spawn(async move {
            let mut stream = api
                .watch(&WatchParams::default().timeout(60), &rv)
                .await
                .unwrap()
                .boxed();
            while let Ok(Some(event)) = stream.try_next().await {
                if let WatchEvent::Modified(pod) = event
                    && let Some(sent) = pod
                        .metadata
                        .annotations
                        .as_ref()
                        .and_then(|a| a.get("bench/sent-us"))
                {
                    let sent: u64 = sent.parse().unwrap();
                    let now = epoch.elapsed().as_micros() as u64;
                    latencies
                        .lock()
                        .unwrap()
                        .push((now.saturating_sub(sent)) as f64 / 1000.0);
                    received.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let changes = 2_000;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut sent = 0;
    let mut inflight = futures::stream::FuturesUnordered::new();
    let load_start = Instant::now();
    for (ns, name) in &targets {
        tick.tick().await;
        let api: Api<Pod> = Api::namespaced(client.clone(), ns);
        let name = name.clone();
        let stamp = epoch.elapsed().as_micros().to_string();
        inflight.push(async move {
            let patch = serde_json::json!({"metadata": {"annotations": {"bench/sent-us": stamp}}});
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map(|_| ())
        });
        sent += 1;
        while inflight.len() > 50 {
            inflight.next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = inflight.next().await {
        r.unwrap();
    }
    let rate = f64::from(sent) / load_start.elapsed().as_secs_f64();
    let deadline = Instant::now() + Duration::from_secs(10);
    while received.load(Ordering::Relaxed) < (changes * 10) as u64 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let got = received.load(Ordering::Relaxed);
    let mut lat = latencies.lock().unwrap().clone();
    lat.sort_by(f64::total_cmp);
    println!(
        "watch fan-out: {sent} changes at {rate:.0}/s to 10 watchers: {got}/{} events delivered, latency p50 {:.1} ms, p99 {:.1} ms",
        changes * 10,
        percentile(&mut lat, 0.5),
        percentile(&mut lat, 0.99)
    );
    println!(
        "kubesim RSS after the load: {:.1} MiB",
        process::rss_mib(pid)
    );
    for w in watchers {
        w.abort();
    }
    kubesim.stop();
}
