//! kubesim pushes each simulated node's metrics, gzip'd and with the token, in the model's
//! format, to an agent's `/ingest/node-metrics`.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::codec::{self, ContentEncoding, Limits};
use axum::http::{HeaderMap, StatusCode};
use kubesim::sim::SimOptions;
use tokio::sync::mpsc;

/// A stand-in agent intake: checks the token, decodes and validates, hands snapshots over.
async fn receiver(token: &'static str) -> (String, mpsc::UnboundedReceiver<NodeMetricsSnapshot>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = axum::Router::new().route(
        "/ingest/node-metrics",
        axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let tx = tx.clone();
            async move {
                let auth = headers.get("authorization").and_then(|v| v.to_str().ok());
                if auth != Some(&format!("Bearer {token}")) {
                    return StatusCode::UNAUTHORIZED;
                }
                let encoding = ContentEncoding::from_header(
                    headers
                        .get("content-encoding")
                        .and_then(|v| v.to_str().ok()),
                )
                .unwrap();
                assert_eq!(encoding, ContentEncoding::Gzip);
                let snapshot: NodeMetricsSnapshot =
                    codec::decode_json(&body, encoding, &Limits::default()).unwrap();
                let now = snapshot.ts_ms;
                atlhyper_model::validate::node_metrics(&snapshot, &Limits::default(), now).unwrap();
                let _ = tx.send(snapshot);
                StatusCode::ACCEPTED
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, rx)
}

#[tokio::test]
async fn every_node_reports_plausible_metrics_that_follow_its_pods() {
    let (url, mut rx) = receiver("node-token").await;
    let options = SimOptions {
        node_metrics_interval: Duration::from_millis(200),
        ..SimOptions::default()
    };
    let cluster = common::start_with(
        "demo",
        1.0,
        options,
        &[
            "--push-node-metrics",
            &url,
            "--node-metrics-token",
            "node-token",
        ],
    )
    .await;
    let mut latest: BTreeMap<String, NodeMetricsSnapshot> = BTreeMap::new();
    tokio::time::timeout(Duration::from_secs(20), async {
        while latest.len() < 5 || latest.values().any(|s| s.top_cpu.len() < 3) {
            let s = rx.recv().await.expect("pushes keep coming");
            latest.insert(s.node.clone(), s);
        }
    })
    .await
    .expect("all five nodes report, with their pods running");
    for (node, s) in &latest {
        assert_eq!(s.cpu.cores, 4, "{node}");
        assert_eq!(s.cpu.per_core_percent.len(), 4, "{node}");
        assert!(
            s.cpu.usage_percent > 0.0 && s.cpu.usage_percent <= 100.0,
            "{node}"
        );
        assert!(s.memory.used_bytes <= s.memory.total_bytes, "{node}");
        assert!(s.network.iter().any(|n| n.interface == "ens5"), "{node}");
        assert!(
            s.temperatures
                .iter()
                .all(|t| t.celsius > 20.0 && t.celsius < 100.0),
            "{node}"
        );
    }
    let pressured = &latest["worker-3"];
    assert!(
        pressured.memory.used_bytes as f64 >= 0.9 * pressured.memory.total_bytes as f64,
        "the node under memory pressure shows it"
    );
    cluster.running.stop().await;
}

#[tokio::test]
async fn an_unreachable_agent_does_not_stop_the_cluster() {
    let options = SimOptions {
        node_metrics_interval: Duration::from_millis(100),
        ..SimOptions::default()
    };
    let cluster = common::start_with(
        common::SMALL,
        1.0,
        options,
        &["--push-node-metrics", "http://127.0.0.1:9"],
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(cluster.client.clone());
    assert!(pods.list(&Default::default()).await.is_ok());
    cluster.running.stop().await;
}
