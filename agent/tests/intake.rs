//! Node-metrics intake: good samples are kept (unknown nodes too, flagged), bad ones get a
//! clear error and change nothing.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use serde_json::{Value, json};

const INTAKE: &str = "intake-token-for-tests-0123456789";

struct Agent {
    stack: atlhyper_stack::Stack,
    url: String,
    http: reqwest::Client,
}

async fn start() -> Agent {
    let stack = atlhyper_stack::Stack::builder()
        .node_metrics(atlhyper_stack::NodeMetrics::Off)
        .agent(|config| {
            // No master: intake does not depend on it.
            config.master = "http://127.0.0.1:9".to_owned();
            // No --cluster-id: the cluster is named by its kube-system namespace's UID.
            config.cluster_id = None;
            config.intake_token = Some(INTAKE.to_owned());
            config.max_body_bytes = 64 << 10;
        })
        .start()
        .await
        .unwrap();
    let agent = stack.agent.as_ref().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !agent.cache.counts().1 && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Agent {
        url: stack.agent_url(),
        stack,
        http: reqwest::Client::new(),
    }
}

impl Agent {
    fn cache(&self) -> &atlhyper_agent::cache::Cache {
        &self.stack.agent.as_ref().unwrap().cache
    }
}

fn sample(node: &str) -> Value {
    let path = format!(
        "{}/../model/tests/fixtures/metrics_snapshot.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let envelope: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut sample = envelope["payload"]["items"][0].clone();
    sample["node"] = json!(node);
    sample["ts_ms"] = json!(atlhyper_agent::now_ms());
    sample
}

impl Agent {
    async fn post(
        &self,
        token: Option<&str>,
        body: Vec<u8>,
        encoding: Option<&str>,
    ) -> (u16, Value) {
        let mut request = self
            .http
            .post(format!("{}/ingest/node-metrics", self.url))
            .header("content-type", "application/json")
            .body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(encoding) = encoding {
            request = request.header("content-encoding", encoding);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn gzip(&self, value: &Value) -> (u16, Value) {
        let body = atlhyper_model::codec::gzip(&serde_json::to_vec(value).unwrap(), 1);
        self.post(Some(INTAKE), body, Some("gzip")).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_keeps_good_samples_and_refuses_bad_ones() {
    let agent = start().await;
    let node = agent
        .stack
        .kubesim
        .sim
        .world()
        .nodes
        .iter()
        .next()
        .unwrap()
        .object
        .metadata
        .name
        .clone()
        .unwrap();

    let (status, body) = agent.gzip(&sample(&node)).await;
    assert_eq!(status, 202, "{body}");
    assert_eq!(body["known"], true);
    let (status, body) = agent.gzip(&sample("ghost-node")).await;
    assert_eq!(status, 202, "an unknown node is kept: {body}");
    assert_eq!(body["known"], false);
    let held: Vec<String> = agent
        .cache()
        .samples()
        .into_iter()
        .map(|s| s.node)
        .collect();
    assert_eq!(held.len(), 2);
    assert!(held.contains(&node) && held.contains(&"ghost-node".to_owned()));

    let good = serde_json::to_vec(&sample(&node)).unwrap();
    let mut future = sample(&node);
    future["ts_ms"] = json!(atlhyper_agent::now_ms() + 2 * 366 * 24 * 3_600_000);
    let mut bad_name = sample(&node);
    bad_name["node"] = json!("Not A Node!");
    let bomb = atlhyper_model::codec::gzip(&vec![b' '; 64 << 20], 9);
    for (what, token, body, encoding, status, code) in [
        ("no token", None, good.clone(), None, 401, "unauthorized"),
        (
            "wrong token",
            Some("nope"),
            good.clone(),
            None,
            401,
            "unauthorized",
        ),
        (
            "malformed JSON",
            Some(INTAKE),
            b"{\"node\":".to_vec(),
            None,
            400,
            "bad_json",
        ),
        (
            "wrong type",
            Some(INTAKE),
            br#"{"node":3}"#.to_vec(),
            None,
            400,
            "bad_json",
        ),
        (
            "oversized",
            Some(INTAKE),
            vec![b' '; (64 << 10) + 1],
            None,
            413,
            "payload_too_large",
        ),
        (
            "gzip bomb",
            Some(INTAKE),
            bomb,
            Some("gzip"),
            413,
            "payload_too_large",
        ),
        (
            "truncated gzip",
            Some(INTAKE),
            atlhyper_model::codec::gzip(&good, 1)[..20].to_vec(),
            Some("gzip"),
            400,
            "bad_gzip",
        ),
        (
            "unknown encoding",
            Some(INTAKE),
            good.clone(),
            Some("br"),
            415,
            "unsupported_encoding",
        ),
        (
            "future timestamp",
            Some(INTAKE),
            serde_json::to_vec(&future).unwrap(),
            None,
            400,
            "invalid",
        ),
        (
            "bad node name",
            Some(INTAKE),
            serde_json::to_vec(&bad_name).unwrap(),
            None,
            400,
            "invalid",
        ),
    ] {
        let (got, answer) = agent.post(token, body, encoding).await;
        assert_eq!(got, status, "{what}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{what}: {answer}");
    }
    assert_eq!(
        agent.cache().samples().len(),
        2,
        "refused samples changed nothing"
    );

    // Headers read as master reads them: the scheme in any case, spaces around the token; a
    // body that says it is not JSON is refused.
    for (what, authorization, content_type, status) in [
        (
            "lower-case scheme",
            format!("bearer {INTAKE}"),
            "application/json",
            202,
        ),
        (
            "two spaces",
            format!("Bearer  {INTAKE}"),
            "application/json",
            202,
        ),
        (
            "a prefix of the token",
            format!("Bearer {}", &INTAKE[..8]),
            "application/json",
            401,
        ),
        ("text/plain", format!("Bearer {INTAKE}"), "text/plain", 415),
    ] {
        let response = agent
            .http
            .post(format!("{}/ingest/node-metrics", agent.url))
            .header("authorization", authorization)
            .header("content-type", content_type)
            .body(good.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{what}");
    }

    let metrics = atlhyper_testkit::text(agent.http.get(format!("{}/metrics", agent.url))).await;
    assert!(
        metrics.contains("atlhyper_agent_node_samples_total{outcome=\"unknown_node\"} 1"),
        "{metrics}"
    );
    assert!(metrics.contains("atlhyper_agent_objects{source=\"pod_list_snapshot\"}"));
    let health = agent
        .http
        .get(format!("{}/healthz", agent.url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    let ready = agent
        .http
        .get(format!("{}/readyz", agent.url))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503, "master was never reached");
    let body: Value = ready.json().await.unwrap();
    assert_eq!(body["error"]["code"], "master_unreachable");
    agent.stack.stop().await;
}
