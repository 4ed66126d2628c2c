//! A hostile client against the real master binary: idle sockets, h2c prefaces that go quiet,
//! connections beyond the file-descriptor limit. Master must keep serving its agents and its
//! probes, close what only holds a slot, and say so in `/metrics`, not in a flood of log lines.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

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
    let (child, url) = common::spawn_binary(&db, &log, &[], Some("ulimit -n 256")).await;
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

    let metrics = atlhyper_testkit::text(client.get(format!("{url}/metrics"))).await;
    let closed = common::metric_sum(&metrics, "atlhyper_connections_closed_total{");
    assert!(
        closed >= 100.0,
        "idle connections closed to make room are counted: {closed}\n{metrics}"
    );
    child.stop();
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

/// Who a route takes requests from.
#[derive(Clone, Copy, Debug)]
enum Who {
    Agent,
    Admin,
}

/// Every route of master that reads a request body: add a row for a new one and it is probed
/// with slow, stalled, endless and wrongly encoded bodies.
const BODY_ROUTES: &[(&str, &str, Who)] = &[
    ("POST", "/ingest", Who::Agent),
    ("POST", "/control/watch", Who::Agent),
    ("POST", "/control/ack", Who::Agent),
    ("POST", "/api/v1/admin/clusters", Who::Admin),
    ("POST", "/api/v1/admin/tokens", Who::Admin),
    ("POST", "/api/v1/clusters/c1/commands", Who::Admin),
];

fn token(who: Who) -> &'static str {
    match who {
        Who::Agent => C1_TOKEN,
        Who::Admin => common::ADMIN,
    }
}

/// Writes `head` (and then whatever `feed` sends) on a raw connection and reads the answer's
/// status line and body, or `None` if none came within `within`.
async fn raw_exchange(
    addr: &str,
    head: String,
    feed: impl AsyncFnOnce(&mut tokio::net::tcp::OwnedWriteHalf),
    within: Duration,
) -> Option<(u16, serde_json::Value)> {
    use tokio::io::AsyncReadExt as _;
    let (mut read, mut write) = TcpStream::connect(addr).await.unwrap().into_split();
    write.write_all(head.as_bytes()).await.unwrap();
    let reader = tokio::spawn(async move {
        let mut answer = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => answer.extend_from_slice(&buf[..n]),
            }
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("content-length")
                            .then(|| v.trim().parse::<usize>().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    break;
                }
            }
        }
        answer
    });
    // Feeding stops once an answer is in (as a client that reads while it writes).
    let mut reader = reader;
    let answer = tokio::time::timeout(within, async {
        tokio::select! {
            answer = &mut reader => answer,
            () = feed(&mut write) => reader.await,
        }
    })
    .await
    .ok()?
    .unwrap();
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    Some((
        status,
        serde_json::from_str(body).unwrap_or(serde_json::Value::String(body.to_owned())),
    ))
}

fn error_code(body: &serde_json::Value) -> &str {
    body["error"]["code"]
        .as_str()
        .unwrap_or("<not the JSON error shape>")
}

fn limit_hits(metrics: &str, limit: &str) -> f64 {
    common::metric_sum(
        metrics,
        &format!("atlhyper_limit_hits_total{{limit=\"{limit}\"}}"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_body_route_refuses_slow_endless_and_encoded_bodies_in_json() {
    let master = common::start_with(|c| {
        c.body_timeout = Duration::from_millis(400);
        c.max_body_bytes = 1 << 20;
        c.max_decompressed_bytes = 16 << 20;
    })
    .await;
    let addr = master.url.trim_start_matches("http://").to_owned();
    for &(method, path, who) in BODY_ROUTES {
        let base = format!(
            "{method} {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\
             content-type: application/json\r\n",
            token(who)
        );

        // Declared, then stalled after a few bytes: 408 within the body deadline.
        let started = std::time::Instant::now();
        let answer = raw_exchange(
            &addr,
            format!("{base}content-length: 1000\r\n\r\n{{\"a\""),
            async |_| tokio::time::sleep(Duration::from_secs(10)).await,
            Duration::from_secs(3),
        )
        .await;
        let (status, body) =
            answer.unwrap_or_else(|| panic!("{method} {path}: no answer to a stalled body"));
        assert_eq!(
            (status, error_code(&body)),
            (408, "request_timeout"),
            "{method} {path}: stalled body: {body}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{method} {path}"
        );

        // Trickled at a byte every 100 ms: still 408 (a deadline for the whole body).
        let answer = raw_exchange(
            &addr,
            format!("{base}content-length: 1000\r\n\r\n"),
            async |w| {
                for _ in 0..100 {
                    if w.write_all(b" ").await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Duration::from_secs(3),
        )
        .await;
        let (status, body) =
            answer.unwrap_or_else(|| panic!("{method} {path}: no answer to a trickle"));
        assert_eq!(
            (status, error_code(&body)),
            (408, "request_timeout"),
            "{method} {path}"
        );

        // Endless (chunked, no length): 413 in the JSON shape long before it ends.
        let answer = raw_exchange(
            &addr,
            format!("{base}transfer-encoding: chunked\r\n\r\n"),
            async |w| {
                let chunk = format!("10000\r\n{}\r\n", " ".repeat(0x10000));
                for _ in 0..(64 << 20) / 0x10000 {
                    if w.write_all(chunk.as_bytes()).await.is_err() {
                        return;
                    }
                }
            },
            Duration::from_secs(10),
        )
        .await;
        let (status, body) =
            answer.unwrap_or_else(|| panic!("{method} {path}: no answer to an endless body"));
        assert_eq!(
            (status, error_code(&body)),
            (413, "payload_too_large"),
            "{method} {path}"
        );

        // A declared length past the route's cap: 413 before any of it is read.
        let answer = raw_exchange(
            &addr,
            format!("{base}content-length: 1000000000\r\n\r\n"),
            async |_| {},
            Duration::from_secs(3),
        )
        .await;
        let (status, body) = answer.unwrap();
        assert_eq!(
            (status, error_code(&body)),
            (413, "payload_too_large"),
            "{method} {path}"
        );

        // gzip where only /ingest takes it: 415, not a JSON error about garbage.
        if path != "/ingest" {
            let gz = atlhyper_model::codec::gzip(b"{}", 1);
            let answer = raw_exchange(
                &addr,
                format!(
                    "{base}content-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                    gz.len()
                ),
                async |w| w.write_all(&gz).await.unwrap(),
                Duration::from_secs(3),
            )
            .await;
            let (status, body) = answer.unwrap();
            assert_eq!(
                (status, error_code(&body)),
                (415, "unsupported_media_type"),
                "{method} {path}"
            );
        }
    }

    // axum's and hyper's own refusals come in the same JSON shape.
    let bad_utf8 = raw_exchange(
        &addr,
        format!(
            "GET /api/v1/clusters/%FF%FE HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\n\r\n",
            common::ADMIN
        ),
        async |_| {},
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(
        (bad_utf8.0, error_code(&bad_utf8.1)),
        (400, "bad_request"),
        "{bad_utf8:?}"
    );
    let long_uri = raw_exchange(
        &addr,
        format!(
            "GET /api/v1/pods?q={} HTTP/1.1\r\nhost: x\r\n\r\n",
            "a".repeat(20_000)
        ),
        async |_| {},
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!((long_uri.0, error_code(&long_uri.1)), (414, "uri_too_long"));
    let big_headers = raw_exchange(
        &addr,
        format!(
            "GET /healthz HTTP/1.1\r\nhost: x\r\nx-junk: {}\r\n\r\n",
            "a".repeat(100_000)
        ),
        async |_| {},
        Duration::from_secs(3),
    )
    .await
    .unwrap();
    assert_eq!(
        (big_headers.0, error_code(&big_headers.1)),
        (431, "headers_too_large")
    );

    // An ack of 10 MiB (1 MiB of control-byte log output escapes to about that) is read whole.
    let output: String = "\u{1b}[0m".repeat(600_000);
    let ack = serde_json::json!({"cluster_id": "c1", "results": [{
        "command_id": "cmd-none", "status": "succeeded", "message": "", "output": output,
        "finished_ms": common::now_ms(),
    }]});
    let (status, body) = master
        .send(reqwest::Method::POST, C1_TOKEN, "/control/ack", Some(ack))
        .await;
    assert_ne!(
        status, 413,
        "a 10 MiB ack is within the 16 MiB meant: {body}"
    );

    let (_, metrics) = master.get(common::ADMIN, "/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    assert!(limit_hits(&metrics, "body_timeout") >= 12.0, "{metrics}");
    assert!(limit_hits(&metrics, "body_too_large") >= 12.0, "{metrics}");
}
