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

#[tokio::test]
async fn idle_connections_close_but_held_streams_and_long_polls_do_not() {
    use tokio::io::AsyncReadExt as _;
    let master = common::start_with(|c| {
        c.header_timeout = Duration::from_millis(500);
        c.idle_timeout = Duration::from_millis(500);
        c.poll_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = master.url.trim_start_matches("http://").to_owned();

    // Nothing sent: closed once the header timeout has passed since the accept.
    let mut silent = TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(matches!(read, Ok(Ok(0))), "closed without a word: {read:?}");
    assert!(started.elapsed() >= Duration::from_millis(400));

    // One request, then quiet: closed after the idle timeout.
    let mut keep_alive = TcpStream::connect(&addr).await.unwrap();
    keep_alive
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), keep_alive.read_to_end(&mut answer))
        .await
        .expect("the idle keep-alive connection is closed");
    assert!(closed.is_ok());
    assert!(String::from_utf8_lossy(&answer).starts_with("HTTP/1.1 200"));

    // A stream held well past both timeouts still delivers.
    let mut stream = common::SseClient::connect(&master, "?kind=pods", None).await;
    let poll = tokio::spawn({
        let (client, url) = (master.client.clone(), master.url.clone());
        async move {
            client
                .post(format!("{url}/control/watch"))
                .bearer_auth(C1_TOKEN)
                .json(&serde_json::json!({"cluster_id": "c1", "rv": 0}))
                .send()
                .await
                .map(|r| r.status().as_u16())
        }
    });
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let (status, _) = master.push(C1_TOKEN, &pods("c1", 2)).await;
    assert_eq!(status, 202);
    let event = stream.next(Duration::from_secs(5)).await;
    assert!(
        event.is_some(),
        "the stream outlived the idle timeout and delivered"
    );
    assert_eq!(
        poll.await.unwrap().unwrap(),
        204,
        "the long poll was held to its own timeout"
    );
}
