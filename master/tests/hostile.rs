//! A hostile client against the real master binary: idle sockets, h2c prefaces that go quiet,
//! connections beyond the file-descriptor limit. Master must keep serving its agents and its
//! probes, close what only holds a slot, and say so in `/metrics`, not in a flood of log lines.

mod common;

use std::time::Duration;

use common::{C1_TOKEN, pods};
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpStream;

/// Opens `n` connections that send nothing (every 8th sends the h2c preface and goes quiet).
async fn idle_sockets(addr: &str, n: usize) -> Vec<TcpStream> {
    let mut sockets = Vec::with_capacity(n);
    for i in 0..n {
        match TcpStream::connect(addr).await {
            Ok(mut socket) => {
                if i % 8 == 0 {
                    let _ = socket
                        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
                        .await;
                }
                sockets.push(socket);
            }
            // The backlog is full: that is master's business; keep going.
            Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
        }
    }
    sockets
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_sockets_beyond_the_fd_limit_do_not_stop_healthz_or_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("master.db"), dir.path().join("master.log"));
    let (mut child, url) = common::spawn_binary(&db, &log, &[], Some("ulimit -n 256")).await;
    let addr = url.trim_start_matches("http://").to_owned();
    // Each request on a fresh connection, as a new agent or a probe would make it.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    let mut held = idle_sockets(&addr, 300).await;
    for round in 0..5 {
        let health = client.get(format!("{url}/healthz")).send().await;
        assert!(
            matches!(&health, Ok(r) if r.status() == 200),
            "round {round}: /healthz with {} idle sockets open: {health:?}",
            held.len()
        );
        let bytes = atlhyper_model::codec::gzip(&serde_json::to_vec(&pods("c1", 5)).unwrap(), 1);
        let push = client
            .post(format!("{url}/ingest"))
            .bearer_auth(C1_TOKEN)
            .header("content-encoding", "gzip")
            .body(bytes)
            .send()
            .await;
        assert!(
            matches!(&push, Ok(r) if r.status() == 202),
            "round {round}: /ingest with {} idle sockets open: {push:?}",
            held.len()
        );
        // The attacker keeps opening more.
        held.extend(idle_sockets(&addr, 60).await);
    }

    let metrics = client
        .get(format!("{url}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let closed: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("atlhyper_connections_closed_total{"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert!(
        closed >= 100.0,
        "idle connections closed to make room are counted: {closed}\n{metrics}"
    );
    child.kill().unwrap();
    child.wait().unwrap();
    drop(held);
    let logged = std::fs::read_to_string(&log).unwrap();
    let warnings = logged.lines().filter(|l| l.contains("WARN")).count();
    assert!(
        warnings <= 5,
        "accept failures are logged at a bounded rate, not per attempt: {warnings} WARN lines"
    );
}
