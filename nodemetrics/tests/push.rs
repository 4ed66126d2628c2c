//! Pushing to a local receiver that speaks the agent's endpoint, retrying while it is down, and
//! `--once --json` on this machine.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::codec::{self, ContentEncoding, Limits};
use atlhyper_nodemetrics::Config;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

type Received = Arc<Mutex<Vec<(Option<String>, NodeMetricsSnapshot)>>>;

/// The agent's `POST /ingest/node-metrics`, recording what arrives (gzip required).
async fn receiver(listener: tokio::net::TcpListener, received: Received) {
    let app = axum::Router::new().route(
        "/ingest/node-metrics",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let received = received.clone();
            async move {
                assert_eq!(headers["content-encoding"], "gzip");
                let sample: NodeMetricsSnapshot =
                    codec::decode_json(&body, ContentEncoding::Gzip, &Limits::default()).unwrap();
                let token = headers
                    .get("authorization")
                    .map(|v| v.to_str().unwrap().to_owned());
                received.lock().unwrap().push((token, sample));
                StatusCode::ACCEPTED
            }
        }),
    );
    axum::serve(listener, app).await.unwrap();
}

fn config(agent: String) -> Config {
    let mut config = Config::defaults();
    config.agent = agent;
    config.token = Some("node-token-1".to_owned());
    config.node_name = Some("node-under-test".to_owned());
    config.interval = Duration::from_millis(200);
    config.push_timeout = Duration::from_secs(1);
    config
}

#[tokio::test]
async fn samples_arrive_gzipped_with_the_token_and_resume_after_an_outage() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Reserve a port with nothing behind it yet: the agent is down.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let shutdown = tokio_util::sync::CancellationToken::new();
    let run = tokio::spawn(atlhyper_nodemetrics::run(
        config(format!("http://127.0.0.1:{port}")),
        shutdown.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(1_500)).await;

    // The agent comes up: the next pushes carry fresh samples, not a backlog.
    let received: Received = Arc::default();
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .unwrap();
    let up_at = atlhyper_nodemetrics::now_ms();
    tokio::spawn(receiver(listener, received.clone()));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while received.lock().unwrap().len() < 3 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    shutdown.cancel();
    run.await.unwrap();
    let received = received.lock().unwrap();
    assert!(
        received.len() >= 3,
        "only {} pushes after the agent came up",
        received.len()
    );
    for (token, sample) in received.iter() {
        assert_eq!(token.as_deref(), Some("Bearer node-token-1"));
        assert_eq!(sample.node, "node-under-test");
        assert!(
            sample.ts_ms >= up_at - 1_000,
            "a sample from the outage was queued"
        );
        assert!(sample.cpu.cores > 0);
    }
    // Once running again, samples carry rates over one interval.
    assert!(received.windows(2).all(|w| w[1].1.ts_ms > w[0].1.ts_ms));
}

#[test]
fn once_json_is_a_complete_plausible_sample_of_this_machine() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atlhyper-nodemetrics"))
        .args(["--once", "--json"])
        .env("NODE_NAME", "this-machine")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let sample: NodeMetricsSnapshot = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(sample.node, "this-machine");
    let cores = std::thread::available_parallelism().unwrap().get() as u32;
    assert!(
        sample.cpu.cores >= cores,
        "{} cores, nproc {cores}",
        sample.cpu.cores
    );
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap();
    let total_kb: u64 = meminfo
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(sample.memory.total_bytes, total_kb * 1024);
    assert!((0.0..=100.0).contains(&sample.cpu.usage_percent));
    assert!(!sample.filesystems.is_empty());
    assert!(sample.uptime_secs > 0);
    // Interfaces carry the kernel's names; loopback is left out.
    let dev = std::fs::read_to_string("/proc/1/net/dev").unwrap();
    for n in &sample.network {
        assert!(
            dev.contains(&format!("{}:", n.interface)),
            "{} is not a kernel name",
            n.interface
        );
        assert_ne!(n.interface, "lo");
    }
    assert!(!sample.top_memory.is_empty());

    let output = std::process::Command::new(env!("CARGO_BIN_EXE_atlhyper-nodemetrics"))
        .args(["--agent", "ftp://nope"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("--agent"));
}
