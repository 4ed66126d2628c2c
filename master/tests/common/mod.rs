//! A master on loopback with a fresh database, a client, and push bodies built from the
//! model's fixtures.
#![allow(dead_code)]
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::Duration;

use atlhyper_master::{Config, Running};
use serde_json::{Value, json};

pub const ADMIN: &str = "admin-token-for-tests-0123456789";
pub const C1_TOKEN: &str = "c1-agent-token-0123456789abcdef";
pub const C2_TOKEN: &str = "c2-agent-token-0123456789abcdef";

pub struct Master {
    pub running: Option<Running>,
    pub url: String,
    pub db: PathBuf,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The test configuration: clusters `c1` and `c2` registered, a known admin token.
pub fn config(db: PathBuf) -> Config {
    let mut config = Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.db = Some(db);
    config.admin_token = Some(ADMIN.to_owned());
    config.clusters = vec![format!("c1={C1_TOKEN}"), format!("c2={C2_TOKEN}")];
    config
}

pub async fn start() -> Master {
    start_with(|_| {}).await
}

pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> Master {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.db");
    let mut config = config(db.clone());
    tweak(&mut config);
    let running = atlhyper_master::start(&config).await.unwrap();
    Master {
        url: running.url.clone(),
        running: Some(running),
        db,
        dir,
        client: client(),
    }
}

impl Master {
    /// Stops and starts again on the same database (a new port).
    pub async fn restart(&mut self) {
        self.running.take().unwrap().stop().await;
        let running = atlhyper_master::start(&config(self.db.clone()))
            .await
            .unwrap();
        self.url = running.url.clone();
        self.running = Some(running);
    }

    pub async fn push(&self, token: &str, body: &Value) -> (u16, Value) {
        self.push_bytes(token, serde_json::to_vec(body).unwrap(), false)
            .await
    }

    pub async fn push_gzip(&self, token: &str, body: &Value) -> (u16, Value) {
        let bytes = atlhyper_model::codec::gzip(&serde_json::to_vec(body).unwrap(), 1);
        self.push_bytes(token, bytes, true).await
    }

    pub async fn push_bytes(&self, token: &str, body: Vec<u8>, gzip: bool) -> (u16, Value) {
        let mut request = self
            .client
            .post(format!("{}/ingest", self.url))
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body);
        if gzip {
            request = request.header("content-encoding", "gzip");
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.url))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    /// A new user token made by the test admin: the token and its id.
    pub async fn new_token(&self, name: &str, role: &str) -> (String, i64) {
        let (status, made) = self
            .send(
                reqwest::Method::POST,
                ADMIN,
                "/api/v1/admin/tokens",
                Some(json!({"name": name, "role": role})),
            )
            .await;
        assert_eq!(status, 201, "{made}");
        (
            made["token"].as_str().unwrap().to_owned(),
            made["id"].as_i64().unwrap(),
        )
    }

    /// Everything the API shows, for before/after comparisons.
    pub async fn everything(&self) -> Value {
        let mut all = serde_json::Map::new();
        for path in [
            "/api/v1/pods",
            "/api/v1/nodes",
            "/api/v1/deployments",
            "/api/v1/services",
            "/api/v1/namespaces",
            "/api/v1/ingresses",
            "/api/v1/configmaps",
            "/api/v1/events",
            "/api/v1/node-metrics",
        ] {
            let (status, body) = self.get(ADMIN, path).await;
            assert_eq!(status, 200, "{path}: {body}");
            all.insert(path.to_owned(), body);
        }
        let (_, clusters) = self.get(ADMIN, "/api/v1/clusters").await;
        let counts: Vec<Value> = clusters["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| json!([c["id"], c["counts"], c["sources"].as_array().unwrap().len()]))
            .collect();
        all.insert("clusters".to_owned(), Value::Array(counts));
        Value::Object(all)
    }
}

/// Starts the real `atlhyper-master` binary on a loopback port with the test clusters and
/// admin token, logging at debug to `log`; its child and URL. `shell` runs it through
/// `sh -c 'SHELL; exec master ARGS'` (to set a `ulimit` first, say).
pub async fn spawn_binary(
    db: &std::path::Path,
    log: &std::path::Path,
    args: &[&str],
    shell: Option<&str>,
) -> (atlhyper_testkit::process::Program, String) {
    let master = env!("CARGO_BIN_EXE_atlhyper-master");
    let mut command = match shell {
        Some(prefix) => {
            let mut c = std::process::Command::new("sh");
            c.arg("-c")
                .arg(format!("{prefix}; exec \"$0\" \"$@\""))
                .arg(master);
            c
        }
        None => std::process::Command::new(master),
    };
    command
        .args(["--listen", "127.0.0.1:0", "--admin-token", ADMIN])
        .arg("--cluster")
        .arg(format!("c1={C1_TOKEN}"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("ATLHYPER_MASTER_LOG", "debug")
        .stderr(std::fs::File::create(log).unwrap());
    let program = atlhyper_testkit::process::Program::start(command).await;
    let url = program.first_line.clone();
    (program, url)
}

/// The sum of every sample in a Prometheus text `metrics` whose line starts with `prefix`
/// (a name, or a name and some of its labels).
pub fn metric_sum(metrics: &str, prefix: &str) -> f64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

pub fn now_ms() -> i64 {
    atlhyper_master::datasource::now_ms()
}

/// A fixture envelope of `source`, for `cluster`, taken now.
pub fn fixture(source: &str, cluster: &str) -> Value {
    let path = format!(
        "{}/../model/tests/fixtures/{source}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    envelope["cluster_id"] = json!(cluster);
    envelope["ts_ms"] = json!(now_ms());
    if source == "metrics_snapshot" {
        for item in envelope["payload"]["items"].as_array_mut().unwrap() {
            item["ts_ms"] = json!(now_ms());
        }
    }
    envelope
}

/// A pod list of `n` pods made from the fixture's first pod (`shop/web-0` …).
pub fn pods(cluster: &str, n: usize) -> Value {
    let mut envelope = fixture("pod_list_snapshot", cluster);
    let template = envelope["payload"]["items"][0].clone();
    let items: Vec<Value> = (0..n)
        .map(|i| {
            let mut pod = template.clone();
            pod["name"] = json!(format!("web-{i}"));
            pod["uid"] = json!(format!("uid-{cluster}-{i}"));
            pod["restarts"] = json!(i % 7);
            pod
        })
        .collect();
    envelope["payload"]["items"] = Value::Array(items);
    envelope
}

/// An events envelope of events with the given uids, seen now.
pub fn events(cluster: &str, uids: &[String]) -> Value {
    let mut envelope = fixture("events", cluster);
    let template = envelope["payload"]["items"][0].clone();
    let now = now_ms();
    let items: Vec<Value> = uids
        .iter()
        .map(|uid| {
            let mut event = template.clone();
            event["uid"] = json!(uid);
            event["name"] = json!(format!("ev-{uid}"));
            event["first_seen_ms"] = json!(now);
            event["last_seen_ms"] = json!(now);
            event
        })
        .collect();
    envelope["payload"]["items"] = Value::Array(items);
    envelope
}

/// Polls `check` until it holds or `timeout` passes.
pub async fn wait_until<F, Fut>(timeout: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One Server-Sent Event.
#[derive(Debug, Clone, Default)]
pub struct Sse {
    pub id: Option<String>,
    pub event: String,
    pub data: String,
}

impl Sse {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.data).unwrap()
    }
}

/// A connected stream client that parses events as they arrive.
pub struct SseClient {
    response: reqwest::Response,
    buffer: String,
}

impl SseClient {
    pub async fn connect(master: &Master, query: &str, last_event_id: Option<&str>) -> Self {
        let mut request = master
            .client
            .get(format!("{}/api/v1/stream{query}", master.url))
            .bearer_auth(ADMIN)
            .timeout(Duration::from_secs(3600));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/event-stream")
        );
        let mut client = SseClient {
            response,
            buffer: String::new(),
        };
        if last_event_id.is_none() {
            // A fresh stream starts by naming its position.
            let open = client.next(Duration::from_secs(5)).await.expect("open");
            assert_eq!(open.event, "open");
            assert!(open.id.is_some(), "{open:?}");
        }
        client
    }

    /// The next event (comments such as keep-alives skipped), or `None` after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Sse> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Sse {
                    event: "message".to_owned(),
                    ..Sse::default()
                };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.event = v.trim().to_owned();
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        if !event.data.is_empty() {
                            event.data.push('\n');
                        }
                        event.data.push_str(v.strip_prefix(' ').unwrap_or(v));
                        any = true;
                    }
                }
                if any {
                    return Some(event);
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.response.chunk()).await;
            match chunk {
                Ok(Ok(Some(bytes))) => self.buffer.push_str(&String::from_utf8_lossy(&bytes)),
                _ => return None,
            }
        }
    }
}
