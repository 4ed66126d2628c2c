//! Bad pushes get a clear error and change nothing stored; slow clients are cut off; a full
//! or read-only database fails writes cleanly and keeps serving reads.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use atlhyper_testkit::process::{self, Pid};
use std::time::Duration;

use common::{ADMIN, C1_TOKEN, events, fixture, pods};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<none>")
}

fn message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or("<none>")
}

/// The tests of this file share one process: those that measure its memory run alone, the
/// others beside each other.
static MEMORY: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

#[tokio::test]
async fn bad_pushes_are_refused_precisely_and_change_nothing() {
    let _alone = MEMORY.write().await;
    let master = common::start_with(|c| {
        c.max_body_bytes = 1 << 20;
        c.max_decompressed_bytes = 16 << 20;
    })
    .await;
    let (status, _) = master.push_gzip(C1_TOKEN, &pods("c1", 10)).await;
    assert_eq!(status, 202);
    let (status, _) = master
        .push(C1_TOKEN, &events("c1", &["e0".to_owned()]))
        .await;
    assert_eq!(status, 202);
    let before = master.everything().await;

    let mut wrong_type = pods("c1", 2);
    wrong_type["payload"]["items"][1]["restarts"] = json!("many");
    let mut unknown_source = pods("c1", 1);
    unknown_source["source"] = json!("secret_list_snapshot");
    let mut wrong_version = pods("c1", 1);
    wrong_version["version"] = json!("v9");
    let mut future = pods("c1", 1);
    future["ts_ms"] = json!(common::now_ms() + 2 * 366 * 24 * 3_600_000);
    let mut bad_name = pods("c1", 1);
    bad_name["payload"]["items"][0]["namespace"] = json!("Not A Namespace");
    let mut missing = pods("c1", 1);
    missing.as_object_mut().unwrap().remove("ts_ms");
    let too_many: Vec<Value> = (0..1_100).map(|_| events("c1", &[])).collect();

    // (what, body, gzip it, status, error code, text the message holds)
    type Case = (&'static str, Vec<u8>, bool, u16, &'static str, &'static str);
    let cases: Vec<Case> = vec![
        (
            "malformed JSON",
            b"{\"version\":\"v1\",".to_vec(),
            false,
            400,
            "bad_json",
            "",
        ),
        (
            "not JSON at all",
            b"hello".to_vec(),
            false,
            400,
            "bad_json",
            "",
        ),
        (
            "wrong type",
            serde_json::to_vec(&wrong_type).unwrap(),
            true,
            400,
            "bad_json",
            "payload.items[1].restarts",
        ),
        (
            "unknown source",
            serde_json::to_vec(&unknown_source).unwrap(),
            false,
            400,
            "unknown_source",
            "secret_list_snapshot",
        ),
        (
            "wrong version",
            serde_json::to_vec(&wrong_version).unwrap(),
            false,
            400,
            "bad_version",
            "v9",
        ),
        (
            "future timestamp",
            serde_json::to_vec(&future).unwrap(),
            false,
            400,
            "invalid",
            "ts_ms",
        ),
        (
            "bad name",
            serde_json::to_vec(&bad_name).unwrap(),
            false,
            400,
            "invalid",
            "namespace",
        ),
        (
            "missing field",
            serde_json::to_vec(&missing).unwrap(),
            false,
            400,
            "bad_json",
            "ts_ms",
        ),
        (
            "huge array",
            serde_json::to_vec(&too_many).unwrap(),
            true,
            400,
            "invalid",
            "1100 envelopes",
        ),
        (
            "empty batch",
            b"[]".to_vec(),
            false,
            400,
            "invalid",
            "no envelope",
        ),
        (
            "truncated gzip",
            {
                let gz =
                    atlhyper_model::codec::gzip(&serde_json::to_vec(&pods("c1", 50)).unwrap(), 1);
                gz[..gz.len() / 2].to_vec()
            },
            true,
            400,
            "bad_gzip",
            "",
        ),
        ("not gzip at all", b"{}".to_vec(), true, 400, "bad_gzip", ""),
        (
            "oversized body",
            vec![b' '; (1 << 20) + 1],
            false,
            413,
            "payload_too_large",
            "",
        ),
    ];
    for (what, body, gzip, status, expected_code, needle) in cases {
        let body = if gzip && !matches!(what, "truncated gzip" | "not gzip at all") {
            atlhyper_model::codec::gzip(&body, 1)
        } else {
            body
        };
        let (got, answer) = master.push_bytes(C1_TOKEN, body, gzip).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(code(&answer), expected_code, "{what}: {answer}");
        assert!(message(&answer).contains(needle), "{what}: {answer}");
    }

    // A push for another cluster than the token's.
    let (status, answer) = master.push(C1_TOKEN, &pods("c2", 3)).await;
    assert_eq!((status, code(&answer)), (403, "forbidden"), "{answer}");
    let mut mixed = vec![pods("c1", 3)];
    mixed.push(pods("c2", 3));
    let (status, _) = master.push(C1_TOKEN, &json!(mixed)).await;
    assert_eq!(
        status, 403,
        "a batch with one foreign envelope is refused whole"
    );

    // Headers: encoding and media type.
    let send = |encoding: Option<&'static str>, kind: &'static str| {
        let request = master
            .client
            .post(format!("{}/ingest", master.url))
            .bearer_auth(C1_TOKEN)
            .header("content-type", kind)
            .body(serde_json::to_vec(&pods("c1", 1)).unwrap());
        let request = match encoding {
            Some(e) => request.header("content-encoding", e),
            None => request,
        };
        async move {
            let response = request.send().await.unwrap();
            (
                response.status().as_u16(),
                response.json::<Value>().await.unwrap(),
            )
        }
    };
    let (status, body) = send(Some("br"), "application/json").await;
    assert_eq!(
        (status, code(&body)),
        (415, "unsupported_encoding"),
        "{body}"
    );
    let (status, body) = send(None, "text/plain").await;
    assert_eq!(
        (status, code(&body)),
        (415, "unsupported_media_type"),
        "{body}"
    );

    // A body without a length that outgrows the cap is cut off at the cap.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..40).map(|_| Ok(vec![b' '; 64 << 10])).collect();
    let response = master
        .client
        .post(format!("{}/ingest", master.url))
        .bearer_auth(C1_TOKEN)
        .body(reqwest::Body::wrap_stream(futures::stream::iter(chunks)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);

    // A gzip bomb: 256 MiB of zeros in about 256 KiB. Refused at the 16 MiB cap; memory stays
    // near what it was.
    let bomb = atlhyper_model::codec::gzip(&vec![0u8; 256 << 20], 9);
    assert!(bomb.len() < 1 << 20, "{}", bomb.len());
    let rss = process::rss_mib(Pid::This) as u64;
    let (status, body) = master.push_bytes(C1_TOKEN, bomb, true).await;
    assert_eq!((status, code(&body)), (413, "payload_too_large"), "{body}");
    let grown = (process::rss_mib(Pid::This) as u64).saturating_sub(rss);
    assert!(grown < 48, "RSS grew {grown} MiB for a 16 MiB cap");

    assert_eq!(master.everything().await, before, "nothing stored changed");
    let (_, metrics) = master.get(ADMIN, "/metrics").await;
    let metrics = metrics.as_str().unwrap().to_owned();
    for kind in [
        "bad_json",
        "bad_gzip",
        "unknown_source",
        "bad_version",
        "invalid",
        "payload_too_large",
    ] {
        assert!(
            metrics.contains(&format!(
                "atlhyper_ingest_decode_errors_total{{kind=\"{kind}\"}}"
            )),
            "{kind} not counted"
        );
    }
    // Every answer is counted by route and status, the refusals too.
    let refused = metrics.lines().find(|l| {
        l.starts_with("atlhyper_http_requests_total{")
            && l.contains("route=\"/ingest\"")
            && l.contains("code=\"413\"")
    });
    assert!(refused.is_some(), "no 413 counted for /ingest:\n{metrics}");
    assert!(
        metrics.contains("atlhyper_http_request_seconds_count{route=\"/ingest\"}"),
        "{metrics}"
    );
}

#[tokio::test]
async fn ten_thousand_concurrent_pushes_are_all_kept() {
    let _beside = MEMORY.read().await;
    let master = common::start().await;
    // Each push is its own HTTP/1.1 request; connections are capped so client and server stay
    // within this process's file descriptors.
    let connections = std::sync::Arc::new(tokio::sync::Semaphore::new(1_000));
    let mut tasks = Vec::new();
    for i in 0..10_000 {
        let client = master.client.clone();
        let url = format!("{}/ingest", master.url);
        let body = serde_json::to_vec(&events("c1", &[format!("burst-{i}")])).unwrap();
        let connections = connections.clone();
        tasks.push(tokio::spawn(async move {
            let _slot = connections.acquire().await.unwrap();
            client
                .post(url)
                .bearer_auth(C1_TOKEN)
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .map(|r| r.status().as_u16())
                .unwrap_or(0)
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.unwrap() == 202 {
            accepted += 1;
        }
    }
    assert_eq!(accepted, 10_000);
    let (status, list) = master.get(ADMIN, "/api/v1/events?cluster=c1").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 10_000);
    let (_, clusters) = master.get(ADMIN, "/api/v1/clusters/c1").await;
    assert_eq!(clusters["counts"]["events"], 10_000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_gzip_bombs_are_decoded_a_few_at_a_time() {
    let _alone = MEMORY.write().await;
    // Large buffers mapped and unmapped whole, so the high-water mark counts the buffers alive
    // together, not what glibc's per-thread arenas keep after a busy machine spread the decodes
    // over many blocking threads.
    // SAFETY: mallopt only changes allocator parameters.
    #[allow(unsafe_code)]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
    let master = common::start_with(|c| {
        c.max_body_bytes = 1 << 20;
        c.max_decompressed_bytes = 32 << 20;
        c.max_concurrent_decodes = Some(2);
    })
    .await;
    let bomb = atlhyper_model::codec::gzip(&vec![b' '; 256 << 20], 9);
    // The 256 MiB the bomb was made from is gone: start the high-water mark from here.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let before = process::peak_rss_mib(Pid::This) as u64;
    let pushes: Vec<_> = (0..12)
        .map(|_| {
            let (client, url, bomb) = (master.client.clone(), master.url.clone(), bomb.clone());
            tokio::spawn(async move {
                client
                    .post(format!("{url}/ingest"))
                    .bearer_auth(C1_TOKEN)
                    .header("content-encoding", "gzip")
                    .body(bomb)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    .as_u16()
            })
        })
        .collect();
    for push in pushes {
        assert_eq!(push.await.unwrap(), 413);
    }
    let grown = (process::peak_rss_mib(Pid::This) as u64).saturating_sub(before);
    // Twelve at once would be 12 × 32 MiB; two at a time stay near two caps.
    eprintln!("peak RSS grew {grown} MiB");
    assert!(grown < 120, "peak RSS grew {grown} MiB");
}

#[tokio::test]
async fn slow_clients_are_cut_off() {
    let _beside = MEMORY.read().await;
    let master = common::start_with(|c| {
        c.header_timeout = Duration::from_millis(500);
        c.body_timeout = Duration::from_millis(500);
    })
    .await;
    let addr = master.url.trim_start_matches("http://").to_owned();

    // Headers trickled one byte at a time: the connection is closed.
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let started = std::time::Instant::now();
    let mut closed = false;
    for byte in b"POST /ingest HTTP/1.1\r\nHost: x\r\n"
        .iter()
        .cycle()
        .take(200)
    {
        if slow.write_all(&[*byte]).await.is_err() {
            closed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        let mut buf = [0u8; 512];
        if let Ok(Ok(n)) = tokio::time::timeout(Duration::from_millis(1), slow.read(&mut buf)).await
        {
            // 408 or a plain close.
            if n == 0 || String::from_utf8_lossy(&buf[..n]).contains("408") {
                closed = true;
                break;
            }
        }
    }
    assert!(closed, "a slowloris kept its connection");
    assert!(started.elapsed() < Duration::from_secs(5));

    // A body that stops arriving: 408 after the body deadline.
    let mut stalled = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {C1_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"version\""
    );
    stalled.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), async {
        let mut buf = [0u8; 4096];
        loop {
            match stalled.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    answer.extend_from_slice(&buf[..n]);
                    if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                        break;
                    }
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no answer to a stalled body");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");

    // The server still serves others.
    let (status, _) = master
        .push_gzip(C1_TOKEN, &fixture("node_list_snapshot", "c1"))
        .await;
    assert_eq!(status, 202);
}

#[tokio::test]
async fn a_full_database_refuses_writes_and_keeps_serving() {
    let _beside = MEMORY.read().await;
    let master = common::start_with(|c| c.db_max_bytes = 2 << 20).await;
    let (status, body) = master.push_gzip(C1_TOKEN, &pods("c1", 5)).await;
    assert_eq!(status, 202, "{body}");
    let (status, _) = master.get("", "/readyz").await;
    assert_eq!(status, 200);

    // Fill it with events until it refuses, in smaller and smaller batches, so that what room
    // is left is less than a few events (and far less than the 64 KiB `/readyz` needs).
    let mut refused = None;
    for size in [200, 20, 2] {
        for round in 0..2_000 {
            let uids: Vec<String> = (0..size)
                .map(|i| format!("fill-{size}-{round}-{i}"))
                .collect();
            let (status, body) = master.push_gzip(C1_TOKEN, &events("c1", &uids)).await;
            if status != 202 {
                refused = Some((status, body));
                break;
            }
        }
    }
    let (status, body) = refused.expect("the database never filled");
    assert_eq!((status, code(&body)), (507, "storage_full"), "{body}");
    let before = master.everything().await;

    let (status, body) = master.get("", "/readyz").await;
    assert_eq!(status, 503, "{body}");
    let more: Vec<String> = (0..2_000).map(|i| format!("more-{i}")).collect();
    let (status, body) = master.push_gzip(C1_TOKEN, &events("c1", &more)).await;
    assert_eq!(status, 507, "{body}");
    assert_eq!(
        master.everything().await,
        before,
        "a refused push changed nothing"
    );
    let (_, pods_list) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    assert_eq!(pods_list["items"].as_array().unwrap().len(), 5);
    let (status, _) = master.get("", "/healthz").await;
    assert_eq!(status, 200, "still alive");
}

/// Runs the real binary as a user that cannot write the database file.
#[tokio::test]
async fn a_read_only_database_serves_reads_and_refuses_writes() {
    let _beside = MEMORY.read().await;
    let master = common::start().await;
    let (status, _) = master.push_gzip(C1_TOKEN, &pods("c1", 3)).await;
    assert_eq!(status, 202);
    let mut master = master;
    master.running.take().unwrap().stop().await;

    let dir = master.dir.path();
    let root = std::process::Command::new("id").arg("-u").output().unwrap();
    let as_root = String::from_utf8_lossy(&root.stdout).trim() == "0";
    let mut command = if as_root {
        // Permissions do not bind root: run as nobody, who may read but not write.
        std::process::Command::new("setpriv")
    } else {
        std::process::Command::new(env!("CARGO_BIN_EXE_atlhyper-master"))
    };
    if as_root {
        command.args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_atlhyper-master"),
        ]);
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    } else {
        std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o555)).unwrap();
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o444))
            .unwrap();
    }
    command
        .args(["--listen", "127.0.0.1:0", "--db"])
        .arg(&master.db)
        .args(["--admin-token", ADMIN])
        .stderr(std::process::Stdio::piped());
    let child = process::Program::start(command).await;
    master.url = child.first_line.clone();
    assert!(master.url.starts_with("http://"), "{}", master.url);

    let (status, body) = master.get("", "/readyz").await;
    assert_eq!((status, code(&body)), (503, "storage_read_only"), "{body}");
    let (status, list) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let (status, body) = master.push_gzip(C1_TOKEN, &pods("c1", 4)).await;
    assert_eq!((status, code(&body)), (503, "storage_read_only"), "{body}");
    let (_, list) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    assert_eq!(
        list["items"].as_array().unwrap().len(),
        3,
        "the refused push is not served"
    );

    child.stop();
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
}

/// A small gzip body is inflated where it arrives only up to a bound; one that inflates past
/// it (a push padded with a megabyte of whitespace, in about a kilobyte) is decoded again on
/// the blocking pool under the full cap and taken; padded past that cap, it is refused.
#[tokio::test]
async fn a_small_gzip_body_that_inflates_far_is_decoded_under_the_full_cap() {
    let _shared = MEMORY.read().await;
    let master = common::start_with(|c| c.max_decompressed_bytes = 16 << 20).await;
    let mut json = serde_json::to_vec(&pods("c1", 3)).unwrap();
    json.splice(1..1, std::iter::repeat_n(b' ', 1 << 20));
    let padded = atlhyper_model::codec::gzip(&json, 9);
    assert!(padded.len() < 16 << 10, "{}", padded.len());
    let (status, body) = master.push_bytes(C1_TOKEN, padded, true).await;
    assert_eq!(status, 202, "{body}");
    let (_, listed) = master.get(ADMIN, "/api/v1/pods").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(3),
        "{listed}"
    );

    // The same push padded past the 16 MiB cap.
    json.splice(1..1, std::iter::repeat_n(b' ', 16 << 20));
    let bomb = atlhyper_model::codec::gzip(&json, 9);
    let (status, body) = master.push_bytes(C1_TOKEN, bomb, true).await;
    assert_eq!((status, code(&body)), (413, "payload_too_large"), "{body}");
}
