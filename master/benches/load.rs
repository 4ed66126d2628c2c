//! Load generator against the real master binary over loopback. Figures go to
//! `docs/performance.md`.
//!
//! `cargo bench -p atlhyper-master --bench load [-- SCENARIO…]` with scenarios `ingest`,
//! `schedule`, `deltas`, `sqlite`, `stream`, `rss`, `commands` (default: all). Master's CPU is read from
//! `/proc/PID/stat`, so the generator's own work does not count against it.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_testkit::percentile;
use atlhyper_testkit::process::{self, Program};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atlhyper_model::Source;
use serde_json::{Value, json};

const ADMIN: &str = "bench-admin-token-0123456789abcdef";

fn token(cluster: usize) -> String {
    format!("bench-cluster-token-{cluster:05}-0123456789")
}

fn cluster_id(cluster: usize) -> String {
    format!("c{cluster:04}")
}

use atlhyper_master::datasource::now_ms;

fn fixture(source: &str) -> Value {
    let path = format!(
        "{}/../model/tests/fixtures/{source}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An envelope of `source` for `cluster` with `n` items made from the fixture's items.
fn envelope(source: &str, cluster: &str, n: usize) -> Value {
    let mut envelope = fixture(source);
    envelope["cluster_id"] = json!(cluster);
    envelope["ts_ms"] = json!(now_ms());
    let templates = envelope["payload"]["items"].as_array().unwrap().clone();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut item = templates[i % templates.len()].clone();
            let name = format!("{}-{i}", item["name"].as_str().unwrap_or("x"));
            item["name"] = json!(name);
            if item.get("uid").is_some() {
                item["uid"] = json!(format!("{cluster}-{source}-{i}"));
            }
            if item.get("node").is_some() && source == "metrics_snapshot" {
                item["node"] = json!(format!("node-{i}"));
                item["ts_ms"] = envelope["ts_ms"].clone();
            }
            item
        })
        .collect();
    envelope["payload"]["items"] = Value::Array(items);
    envelope
}

fn gzip(value: &Value) -> (Vec<u8>, usize) {
    let json = serde_json::to_vec(value).unwrap();
    (atlhyper_model::codec::gzip(&json, 1), json.len())
}

struct Master {
    program: Program,
    url: String,
    _dir: tempfile::TempDir,
}

impl Master {
    async fn start(clusters: usize) -> Master {
        let dir = tempfile::tempdir().unwrap();
        let list: Vec<String> = (0..clusters)
            .map(|c| format!("{}={}", cluster_id(c), token(c)))
            .collect();
        let mut command = Command::new(env!("CARGO_BIN_EXE_atlhyper-master"));
        command
            .args(["--listen", "127.0.0.1:0", "--admin-token", ADMIN])
            .arg("--db")
            .arg(dir.path().join("bench.db"))
            .env("ATLHYPER_MASTER_CLUSTERS", list.join(","))
            .env("ATLHYPER_MASTER_LOG", "warn")
            .stderr(Stdio::inherit());
        let program = Program::start(command).await;
        Master {
            url: program.first_line.clone(),
            program,
            _dir: dir,
        }
    }

    /// User + system CPU seconds the master has used.
    fn cpu_seconds(&self) -> f64 {
        process::cpu_seconds(self.program.proc())
    }

    fn rss_mib(&self) -> f64 {
        process::rss_mib(self.program.proc())
    }
}

fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap()
}

async fn push(client: &reqwest::Client, url: &str, token: &str, body: Vec<u8>) -> (u16, Duration) {
    post(client, url, token, body, true).await
}

/// A JSON body to `/ingest`, gzip'd or plain (small deltas: not worth compressing in the
/// load client).
async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: Vec<u8>,
    gzip: bool,
) -> (u16, Duration) {
    let started = Instant::now();
    let mut request = client
        .post(format!("{url}/ingest"))
        .bearer_auth(token)
        .header("content-type", "application/json");
    if gzip {
        request = request.header("content-encoding", "gzip");
    }
    let status = request
        .body(body)
        .send()
        .await
        .map(|r| r.status().as_u16())
        .unwrap_or(0);
    (status, started.elapsed())
}

/// Gzip pod lists of 1,000 pods from 50 clusters, 16 pushes in flight, for 15 s.
async fn ingest() {
    let clusters = 50;
    let master = Master::start(clusters).await;
    let bodies: Vec<(String, Vec<u8>, usize)> = (0..clusters)
        .map(|c| {
            let (gz, raw) = gzip(&envelope("pod_list_snapshot", &cluster_id(c), 1_000));
            (token(c), gz, raw)
        })
        .collect();
    let bodies = Arc::new(bodies);
    let client = client();
    let (bytes, pushes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let cpu_before = master.cpu_seconds();
    let started = Instant::now();
    let run = Duration::from_secs(15);
    let mut workers = Vec::new();
    for w in 0..16 {
        let (bodies, client, url) = (bodies.clone(), client.clone(), master.url.clone());
        let (bytes, pushes) = (bytes.clone(), pushes.clone());
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = w;
            while started.elapsed() < run {
                let (token, body, raw) = &bodies[i % bodies.len()];
                let (status, took) = push(&client, &url, token, body.clone()).await;
                assert_eq!(status, 202);
                latencies.push(took);
                bytes.fetch_add(*raw as u64, Ordering::Relaxed);
                pushes.fetch_add(1, Ordering::Relaxed);
                i += 16;
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for w in workers {
        latencies.extend(w.await.unwrap());
    }
    let wall = started.elapsed().as_secs_f64();
    let cpu = master.cpu_seconds() - cpu_before;
    let mb = bytes.load(Ordering::Relaxed) as f64 / 1e6;
    println!(
        "ingest: {} pushes of 1,000-pod lists ({:.0} KB JSON, {:.0} KB gzip) in {wall:.1} s: \
         {:.0} MB/s of JSON, master CPU {:.2} cores → {:.0} MB/s per core; 202 p50 {:?} p99 {:?}",
        pushes.load(Ordering::Relaxed),
        bodies[0].2 as f64 / 1e3,
        bodies[0].1.len() as f64 / 1e3,
        mb / wall,
        cpu / wall,
        mb / cpu,
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
}

/// 500 clusters × 1,000 pods (10 nodes, 100 deployments, …) on the seed's schedule for 60 s.
async fn schedule() {
    let clusters = 500;
    let master = Master::start(clusters).await;
    let sizes = [
        (Source::Events, 20),
        (Source::MetricsSnapshot, 10),
        (Source::PodListSnapshot, 1_000),
        (Source::NodeListSnapshot, 10),
        (Source::ServiceListSnapshot, 100),
        (Source::NamespaceListSnapshot, 10),
        (Source::IngressListSnapshot, 20),
        (Source::DeploymentListSnapshot, 100),
        (Source::ConfigmapListSnapshot, 100),
    ];
    let client = client();
    let run = Duration::from_secs(60);
    let pushed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (source, n) in sizes {
        // One body per cluster and source, made once; clusters start spread over the interval.
        let bodies: Vec<Vec<u8>> = (0..clusters)
            .map(|c| gzip(&envelope(source.as_str(), &cluster_id(c), n)).0)
            .collect();
        let interval = source.default_interval();
        for (c, body) in bodies.into_iter().enumerate() {
            let (client, url, pushed) = (client.clone(), master.url.clone(), pushed.clone());
            let offset = interval.mul_f64(c as f64 / clusters as f64);
            tasks.push(tokio::spawn(async move {
                tokio::time::sleep(offset).await;
                let started = Instant::now();
                let mut tick = tokio::time::interval(interval);
                let mut latencies = Vec::new();
                while started.elapsed() < run {
                    tick.tick().await;
                    let (status, took) = push(&client, &url, &token(c), body.clone()).await;
                    assert_eq!(status, 202, "{source}");
                    latencies.push(took);
                    pushed.fetch_add(1, Ordering::Relaxed);
                }
                latencies
            }));
        }
    }
    // Measure the last 50 s, once every cluster has started.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu_before, at) = (master.cpu_seconds(), Instant::now());
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let cpu = (master.cpu_seconds() - cpu_before) / at.elapsed().as_secs_f64();
    println!(
        "schedule: 500 clusters × 1,000 pods on the seed schedule ({} pushes in 60 s): master \
         uses {:.2} cores, RSS {:.0} MiB; 202 p50 {:?} p99 {:?}",
        pushed.load(Ordering::Relaxed),
        cpu,
        master.rss_mib(),
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
}

/// 500 clusters × 1,000 pods, each with 5 pod changes a second pushed as deltas, for 60 s:
/// master's CPU and the 202's latency. Each cluster pushes as an agent does: every 200 ms, the
/// changes due since its last push in one delta (more than one when the last push took longer),
/// waiting for each answer. The bodies are put together from pods serialized once (no serde and
/// no gzip per push: the load client shares the two cores with master), sent as plain JSON.
async fn deltas() {
    let clusters = 500;
    let master = Master::start(clusters).await;
    let client = client();
    let list = envelope("pod_list_snapshot", &cluster_id(0), 1_000);
    // Each pod as JSON, split where its restart count goes.
    let template: Vec<(String, String)> = list["payload"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|pod| {
            let mut pod = pod.clone();
            pod["restarts"] = json!(7_654_321);
            let text = pod.to_string();
            let (head, tail) = text.split_once("7654321").unwrap();
            (head.to_owned(), tail.to_owned())
        })
        .collect();
    // Each cluster's list first, whole and numbered (seq 1).
    let mut whole = Vec::new();
    for c in 0..clusters {
        let mut list = envelope("pod_list_snapshot", &cluster_id(c), 1_000);
        list["epoch"] = json!("bench");
        list["seq"] = json!(1);
        whole.push((token(c), gzip(&list).0));
    }
    let whole = Arc::new(tokio::sync::Mutex::new(whole));
    let mut loaders = Vec::new();
    for _ in 0..16 {
        let (whole, client, url) = (whole.clone(), client.clone(), master.url.clone());
        loaders.push(tokio::spawn(async move {
            while let Some((token, body)) = whole.lock().await.pop() {
                assert_eq!(push(&client, &url, &token, body).await.0, 202);
            }
        }));
    }
    for l in loaders {
        l.await.unwrap();
    }
    let run = Duration::from_secs(60);
    // `DELTAS_GZIP=1`: bodies gzip'd per push, as an agent sends them (costs the client more).
    let gzip = std::env::var("DELTAS_GZIP").is_ok_and(|v| v == "1");
    let pushed = Arc::new(AtomicU64::new(0));
    let changed = Arc::new(AtomicU64::new(0));
    let template = Arc::new(template);
    let mut tasks = Vec::new();
    for c in 0..clusters {
        let (client, url, pushed, changed, template) = (
            client.clone(),
            master.url.clone(),
            pushed.clone(),
            changed.clone(),
            template.clone(),
        );
        let offset = Duration::from_millis(200).mul_f64(c as f64 / clusters as f64);
        let (id, token) = (cluster_id(c), token(c));
        tasks.push(tokio::spawn(async move {
            tokio::time::sleep(offset).await;
            let started = Instant::now();
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut latencies = Vec::new();
            let (mut seq, mut done) = (1u64, 0u64);
            while started.elapsed() < run {
                tick.tick().await;
                // Five changes a second since the start, less those already pushed.
                let due = (started.elapsed().as_secs_f64() * 5.0) as u64 + 1;
                let count = due.saturating_sub(done).max(1);
                seq += 1;
                let mut body = format!(
                    r#"{{"version":"v1","cluster_id":"{id}","source":"pod_delta","ts_ms":{},"epoch":"bench","seq":{seq},"payload":{{"upserts":["#,
                    now_ms()
                );
                for k in 0..count {
                    let change = done + k;
                    let (head, tail) = &template[change as usize % template.len()];
                    if k > 0 {
                        body.push(',');
                    }
                    body.push_str(head);
                    body.push_str(&change.to_string());
                    body.push_str(tail);
                }
                body.push_str(r#"],"deletes":[]}}"#);
                let (status, took) = if gzip {
                    let gz = atlhyper_model::codec::gzip(body.as_bytes(), 1);
                    post(&client, &url, &token, gz, true).await
                } else {
                    post(&client, &url, &token, body.into_bytes(), false).await
                };
                assert_eq!(status, 202);
                latencies.push(took);
                done += count;
                pushed.fetch_add(1, Ordering::Relaxed);
                changed.fetch_add(count, Ordering::Relaxed);
            }
            latencies
        }));
    }
    // Measure the last 50 s, once every cluster has started.
    tokio::time::sleep(Duration::from_secs(10)).await;
    let (cpu_before, at) = (master.cpu_seconds(), Instant::now());
    let changed_at_10s = changed.load(Ordering::Relaxed);
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let cpu = (master.cpu_seconds() - cpu_before) / at.elapsed().as_secs_f64();
    let rate =
        (changed.load(Ordering::Relaxed) - changed_at_10s) as f64 / at.elapsed().as_secs_f64();
    let metrics = atlhyper_testkit::text(client.get(format!("{}/metrics", master.url))).await;
    let resyncs: f64 = metrics
        .lines()
        .filter(|l| l.starts_with("atlhyper_delta_resyncs_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    println!(
        "deltas: 500 clusters × 1,000 pods, 5 pod changes a second each ({} delta pushes in 60 s, \
         {:.0} changes/s applied over the last 50 s of 2,500 asked, {} resyncs): master uses {:.2} \
         cores, RSS {:.0} MiB; 202 p50 {:?} p99 {:?}",
        pushed.load(Ordering::Relaxed),
        rate,
        resyncs as u64,
        cpu,
        master.rss_mib(),
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
}

/// Raw metric rows through the database writer, 1,000 rows per write: first as fast as 64
/// writers can go, then paced at 200,000 rows/s to see how long a write waits at that load.
async fn sqlite() {
    use atlhyper_master::sqlite::{Sqlite, ops};
    use atlhyper_model::api::MetricPoint;
    let dir = tempfile::tempdir().unwrap();
    let commits: Arc<std::sync::Mutex<Vec<(usize, Duration)>>> = Arc::default();
    let seen = commits.clone();
    let db = Sqlite::open(&dir.path().join("rows.db"), 0, move |jobs, took| {
        seen.lock().unwrap().push((jobs, took))
    })
    .unwrap();
    let rows_per_write = 1_000;
    let run = Duration::from_secs(10);
    // (writers, pause between writes of one writer: none = flat out)
    for (writers, pace) in [(64, None), (20, Some(Duration::from_millis(100)))] {
        let started = Instant::now();
        let rows = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for w in 0..writers {
            let (db, rows) = (db.clone(), rows.clone());
            tasks.push(tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut ts = now_ms() - 600_000;
                // Writers spread over the pace, as independent agents would be.
                let mut tick = pace.map(|p| {
                    let first = tokio::time::Instant::now() + p.mul_f64(w as f64 / writers as f64);
                    tokio::time::interval_at(first, p)
                });
                while started.elapsed() < run {
                    if let Some(tick) = tick.as_mut() {
                        tick.tick().await;
                    }
                    let points: Vec<MetricPoint> = (0..rows_per_write)
                        .map(|i| MetricPoint {
                            ts_ms: ts + i as i64,
                            cpu_percent: 12.5,
                            memory_percent: 40.0,
                            load1: 0.7,
                            disk_percent: 55.0,
                            net_rx_bytes_per_sec: 1e5,
                            net_tx_bytes_per_sec: 2e4,
                            temperature_celsius: Some(51.0),
                        })
                        .collect();
                    ts += rows_per_write as i64;
                    let began = Instant::now();
                    db.write(move |ctx| {
                        let id = ops::ensure_series(ctx, "bench", &format!("node-{w}"))?;
                        ops::insert_points(ctx, id, &points)
                    })
                    .await
                    .unwrap();
                    latencies.push(began.elapsed());
                    rows.fetch_add(rows_per_write as u64, Ordering::Relaxed);
                }
                latencies
            }));
        }
        let mut latencies = Vec::new();
        for task in tasks {
            latencies.extend(task.await.unwrap());
        }
        let wall = started.elapsed().as_secs_f64();
        let mut groups = std::mem::take(&mut *commits.lock().unwrap());
        let mut took: Vec<Duration> = groups.iter().map(|g| g.1).collect();
        let jobs: usize = groups.iter().map(|g| g.0).sum();
        println!(
            "  {} commits, {:.1} writes each, commit p50 {:?} p99 {:?}",
            groups.len(),
            jobs as f64 / groups.len() as f64,
            percentile(&mut took, 0.5),
            percentile(&mut took, 0.99)
        );
        groups.clear();
        println!(
            "sqlite ({}): {:.0} raw metric rows/s (group commit, synchronous=FULL, {writers} \
             writers × {rows_per_write} rows); write answered p50 {:?} p99 {:?}",
            if pace.is_some() { "paced" } else { "flat out" },
            rows.load(Ordering::Relaxed) as f64 / wall,
            percentile(&mut latencies, 0.5),
            percentile(&mut latencies, 0.99),
        );
    }
    db.close().await;
}

/// Push → SSE subscriber latency: a 100-pod list every 20 ms for 10 s.
async fn stream() {
    let master = Master::start(1).await;
    let client = client();
    let mut response = client
        .get(format!("{}/api/v1/stream?kind=pods", master.url))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    let sent: Arc<std::sync::Mutex<std::collections::HashMap<i64, Instant>>> = Arc::default();
    let pusher = {
        let (client, url, sent) = (client.clone(), master.url.clone(), sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let base = now_ms();
            for i in 0..500 {
                tick.tick().await;
                let mut body = envelope("pod_list_snapshot", &cluster_id(0), 100);
                // A distinct pod and timestamp per push: each is a change, recognised on arrival.
                body["payload"]["items"][0]["name"] = json!(format!("marker-{i}"));
                let ts = base + i;
                body["ts_ms"] = json!(ts);
                sent.lock().unwrap().insert(ts, Instant::now());
                let (status, _) = push(&client, &url, &token(0), gzip(&body).0).await;
                assert_eq!(status, 202);
            }
        })
    };
    let mut latencies = Vec::new();
    let mut buffer = String::new();
    while latencies.len() < 500 {
        let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(Duration::from_secs(5), response.chunk()).await
        else {
            break;
        };
        let arrived = Instant::now();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                let change: Value = serde_json::from_str(data).unwrap();
                if let Some(at) = sent.lock().unwrap().get(&change["ts_ms"].as_i64().unwrap()) {
                    latencies.push(arrived - *at);
                }
            }
        }
    }
    pusher.await.unwrap();
    println!(
        "stream: {} pushes of 100-pod lists → SSE subscriber: p50 {:?} p99 {:?} (from the \
         push's send to the event's arrival)",
        latencies.len(),
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
}

/// Resident memory with 100 clusters × 1,000 pods loaded.
async fn rss() {
    let clusters = 100;
    let master = Master::start(clusters).await;
    let idle = master.rss_mib();
    let client = client();
    for c in 0..clusters {
        let (body, _) = gzip(&envelope("pod_list_snapshot", &cluster_id(c), 1_000));
        let (status, _) = push(&client, &master.url, &token(c), body).await;
        assert_eq!(status, 202);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    println!(
        "rss: master at {idle:.0} MiB idle, {:.0} MiB with 100 clusters × 1,000 pods loaded",
        master.rss_mib()
    );
}

/// 1,000 commands queued across 100 clusters, then one poll per cluster; then 100 waiting
/// polls woken by a new command each.
async fn commands() {
    let clusters = 100;
    let master = Master::start(clusters).await;
    let client = client();
    for c in 0..clusters {
        let (body, _) = gzip(&envelope("node_list_snapshot", &cluster_id(c), 4));
        assert_eq!(push(&client, &master.url, &token(c), body).await.0, 202);
    }
    let node = envelope("node_list_snapshot", &cluster_id(0), 4)["payload"]["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let create = |c: usize| {
        let (client, url, node) = (client.clone(), master.url.clone(), node.clone());
        async move {
            let started = Instant::now();
            let response = client
                .post(format!("{url}/api/v1/clusters/{}/commands", cluster_id(c)))
                .bearer_auth(ADMIN)
                .json(&json!({"kind": "cordon", "args": {"node": node}}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 201);
            started.elapsed()
        }
    };
    let started = Instant::now();
    let mut created = Vec::new();
    for round in 0..10 {
        let batch: Vec<_> = (0..clusters).map(|c| tokio::spawn(create(c))).collect();
        for b in batch {
            created.push(b.await.unwrap());
        }
        let _ = round;
    }
    let create_wall = started.elapsed();
    let poll = |c: usize, rv: u64| {
        let (client, url) = (client.clone(), master.url.clone());
        async move {
            let started = Instant::now();
            let response = client
                .post(format!("{url}/control/watch"))
                .bearer_auth(token(c))
                .json(&json!({"cluster_id": cluster_id(c), "rv": rv}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200);
            let set: Value = response.json().await.unwrap();
            (started.elapsed(), set)
        }
    };
    let started = Instant::now();
    let polls: Vec<_> = (0..clusters).map(|c| tokio::spawn(poll(c, 0))).collect();
    let mut latencies = Vec::new();
    let mut versions = Vec::new();
    for p in polls {
        let (took, set) = p.await.unwrap();
        assert_eq!(
            set["commands"].as_array().unwrap().len(),
            10,
            "not all in one poll"
        );
        latencies.push(took);
        versions.push(set["rv"].as_u64().unwrap());
    }
    let poll_wall = started.elapsed();
    println!(
        "commands: 1,000 created across {clusters} clusters in {:.2} s (p50 {:?}, p99 {:?}); \
         delivered with one poll per cluster, all {clusters} polls in {:.0} ms (p50 {:?}, p99 {:?})",
        create_wall.as_secs_f64(),
        percentile(&mut created, 0.5),
        percentile(&mut created, 0.99),
        poll_wall.as_secs_f64() * 1000.0,
        percentile(&mut latencies, 0.5),
        percentile(&mut latencies, 0.99),
    );
    // Waiting polls, woken by a new command each.
    let waiting: Vec<_> = (0..clusters)
        .map(|c| tokio::spawn(poll(c, versions[c])))
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let woken_at = Instant::now();
    for c in 0..clusters {
        tokio::spawn(create(c));
    }
    let mut woken = Vec::new();
    for w in waiting {
        w.await.unwrap();
        woken.push(woken_at.elapsed());
    }
    let last = *woken.iter().max().unwrap();
    println!(
        "commands: {clusters} held polls answered after a new command each: last at {last:?} \
         (p50 {:?})",
        percentile(&mut woken, 0.5),
    );
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let wants = |name: &str| args.is_empty() || args.iter().any(|a| a == name);
    if wants("ingest") {
        ingest().await;
    }
    if wants("sqlite") {
        sqlite().await;
    }
    if wants("stream") {
        stream().await;
    }
    if wants("rss") {
        rss().await;
    }
    if wants("schedule") {
        schedule().await;
    }
    if wants("commands") {
        commands().await;
    }
    if wants("deltas") {
        deltas().await;
    }
}
