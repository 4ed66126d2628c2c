//! Bad requests get the Status error a real API server gives, and change nothing.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use http::{Method, Request, StatusCode};
use kubesim::sim::SimOptions;
use serde_json::Value;

use common::{Cluster, SMALL, start};

/// Sends a raw request with the cluster's token; returns status and body.
async fn send(
    cluster: &Cluster,
    method: Method,
    path: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (StatusCode, Vec<u8>) {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(body)
        .unwrap();
    let response = cluster
        .client
        .send(request.map(kube::client::Body::from))
        .await
        .unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes()
        .to_vec();
    (status, bytes)
}

fn status_body(bytes: &[u8]) -> Value {
    let v: Value = serde_json::from_slice(bytes)
        .unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(bytes)));
    assert_eq!(v["kind"], "Status", "{v}");
    assert_eq!(v["status"], "Failure", "{v}");
    v
}

/// The world's resourceVersion: unchanged means nothing was written.
fn rv(cluster: &Cluster) -> u64 {
    cluster.running.sim.world().rv()
}

async fn quiet_cluster() -> Cluster {
    // Speed 0.001: the controllers have nothing to do while the requests run.
    let cluster = start(SMALL, 0.001, SimOptions::default()).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    cluster
}

#[tokio::test]
async fn malformed_bodies_and_patches_are_400_and_change_nothing() {
    let cluster = quiet_cluster().await;
    let before = rv(&cluster);
    let (code, body) = send(
        &cluster,
        Method::POST,
        "/api/v1/namespaces/app/configmaps",
        "application/json",
        b"{\"metadata\":".to_vec(),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(status_body(&body)["reason"], "BadRequest");

    let (code, body) = send(
        &cluster,
        Method::POST,
        "/api/v1/namespaces/app/configmaps",
        "application/json",
        br#"{"kind":"Pod","apiVersion":"v1","metadata":{"name":"x"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 400, "{}", String::from_utf8_lossy(&body));

    let (code, body) = send(
        &cluster,
        Method::PATCH,
        "/apis/apps/v1/namespaces/app/deployments/web",
        "application/merge-patch+json",
        b"not json".to_vec(),
    )
    .await;
    assert_eq!(code, 400);
    status_body(&body);
    let (code, _) = send(
        &cluster,
        Method::PATCH,
        "/apis/apps/v1/namespaces/app/deployments/web",
        "application/json-patch+json",
        br#"[{"op":"remove","path":"/spec/nope"}]"#.to_vec(),
    )
    .await;
    assert_eq!(code, 400);
    let (code, body) = send(
        &cluster,
        Method::PATCH,
        "/apis/apps/v1/namespaces/app/deployments/web",
        "text/plain",
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(code, 415);
    assert_eq!(status_body(&body)["reason"], "UnsupportedMediaType");
    let (code, body) = send(
        &cluster,
        Method::PATCH,
        "/apis/apps/v1/namespaces/app/deployments/web",
        "application/merge-patch+json",
        br#"{"spec":{"replicas":"many"}}"#.to_vec(),
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(status_body(&body)["reason"], "Invalid");
    assert_eq!(rv(&cluster), before, "nothing was written");
    cluster.running.stop().await;
}

#[tokio::test]
async fn unknown_kinds_namespaces_and_names_are_404() {
    let cluster = quiet_cluster().await;
    let before = rv(&cluster);
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/secrets",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(status_body(&body)["reason"], "NotFound");
    let (code, _) = send(
        &cluster,
        Method::GET,
        "/apis/batch/v1/jobs",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 404);
    let cm = br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"x"}}"#.to_vec();
    let (code, body) = send(
        &cluster,
        Method::POST,
        "/api/v1/namespaces/nope/configmaps",
        "application/json",
        cm,
    )
    .await;
    assert_eq!(code, 404);
    assert_eq!(
        status_body(&body)["message"],
        "namespaces \"nope\" not found"
    );
    let bad_name =
        br#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"Bad_Name"}}"#.to_vec();
    let (code, body) = send(
        &cluster,
        Method::POST,
        "/api/v1/namespaces/app/configmaps",
        "application/json",
        bad_name,
    )
    .await;
    assert_eq!(code, 422);
    assert_eq!(status_body(&body)["reason"], "Invalid");
    assert_eq!(rv(&cluster), before);
    cluster.running.stop().await;
}

#[tokio::test]
async fn invalid_selectors_are_400() {
    let cluster = quiet_cluster().await;
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?labelSelector=app%3D(web",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    status_body(&body);
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?fieldSelector=spec.bogus%3Dx",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(
        status_body(&body)["message"],
        "field label not supported: spec.bogus"
    );
    let (code, _) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?limit=lots",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    let (code, _) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?limit=1&continue=zz",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    cluster.running.stop().await;
}

#[tokio::test]
async fn oversized_bodies_are_413_and_stale_updates_409() {
    let cluster = quiet_cluster().await;
    let before = rv(&cluster);
    let big = format!(
        r#"{{"apiVersion":"v1","kind":"ConfigMap","metadata":{{"name":"big"}},"data":{{"k":"{}"}}}}"#,
        "x".repeat(4 << 20)
    );
    let (code, body) = send(
        &cluster,
        Method::POST,
        "/api/v1/namespaces/app/configmaps",
        "application/json",
        big.into_bytes(),
    )
    .await;
    assert_eq!(code, 413);
    assert_eq!(status_body(&body)["reason"], "RequestEntityTooLarge");

    let stale = br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"app","resourceVersion":"1"}}"#.to_vec();
    let (code, body) = send(
        &cluster,
        Method::PUT,
        "/api/v1/namespaces/app",
        "application/json",
        stale,
    )
    .await;
    assert_eq!(code, 409);
    assert_eq!(status_body(&body)["reason"], "Conflict");
    assert_eq!(rv(&cluster), before);
    cluster.running.stop().await;
}

#[tokio::test]
async fn a_watch_from_a_compacted_version_gets_an_in_stream_410() {
    let cluster = quiet_cluster().await;
    let now = cluster.running.sim.now_ms();
    kubesim::sim::faults::apply(
        &mut cluster.running.sim.world(),
        &kubesim::sim::faults::Fault::CompactHistory,
        now,
    )
    .unwrap();
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?watch=true&resourceVersion=2",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 200, "an HTTP 410 would make kube-rs retry forever");
    let line: Value = serde_json::from_slice(body.split(|b| *b == b'\n').next().unwrap()).unwrap();
    assert_eq!(line["type"], "ERROR");
    assert_eq!(line["object"]["code"], 410);
    assert_eq!(line["object"]["reason"], "Expired");
    cluster.running.stop().await;
}

#[tokio::test]
async fn requests_without_the_token_are_401() {
    let cluster = quiet_cluster().await;
    let mut config = kube::Config::from_custom_kubeconfig(
        kube::config::Kubeconfig::from_yaml(
            &cluster
                .running
                .kubeconfig()
                .replace(&cluster.running.token, "wrong-token"),
        )
        .unwrap(),
        &Default::default(),
    )
    .await
    .unwrap();
    config.read_timeout = Some(std::time::Duration::from_secs(5));
    let client = kube::Client::try_from(config).unwrap();
    let pods: kube::Api<k8s_openapi::api::core::v1::Pod> = kube::Api::all(client);
    match pods.list(&Default::default()).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 401),
        other => panic!("expected 401, got {other:?}"),
    }
    cluster.running.stop().await;
}

#[tokio::test]
async fn a_continue_token_lives_until_compaction_not_just_the_watch_window() {
    // A watch window of 4 changes per kind; speed 0.001 keeps the controllers quiet.
    let options = SimOptions {
        history: 4,
        ..SimOptions::default()
    };
    let cluster = start(SMALL, 0.001, options).await;
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/configmaps?limit=1",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 200);
    let list: Value = serde_json::from_slice(&body).unwrap();
    let token = list["metadata"]["continue"]
        .as_str()
        .expect("a next page")
        .to_owned();
    let next_page = |token: &str| {
        let path = format!("/api/v1/configmaps?limit=1&continue={token}");
        let cluster = &cluster;
        async move { send(cluster, Method::GET, &path, "application/json", vec![]).await }
    };
    let (code, _) = next_page(&token).await;
    assert_eq!(code, 200, "a fresh token works");
    // Ten writes move the watch window past the token's version, as a start-up burst does
    // while a paged `kubectl get` reads: the token still works (etcd has not compacted).
    for i in 0..10 {
        cluster
            .running
            .sim
            .world()
            .update::<k8s_openapi::api::core::v1::ConfigMap>("app", "kube-root-ca.crt", |c| {
                c.data = Some([("round".to_owned(), i.to_string())].into());
            })
            .unwrap();
    }
    let (code, _) = next_page(&token).await;
    assert_eq!(code, 200, "a token outlives the watch window");
    let now = cluster.running.sim.now_ms();
    kubesim::sim::faults::apply(
        &mut cluster.running.sim.world(),
        &kubesim::sim::faults::Fault::CompactHistory,
        now,
    )
    .unwrap();
    let (code, body) = next_page(&token).await;
    assert_eq!(code, 410);
    assert_eq!(status_body(&body)["reason"], "Expired");
    cluster.running.stop().await;
}

#[tokio::test]
async fn exact_list_resource_versions_from_the_past_are_410() {
    let cluster = quiet_cluster().await;
    let rv = rv(&cluster);
    let (code, _) = send(
        &cluster,
        Method::GET,
        &format!("/api/v1/pods?resourceVersion={rv}&resourceVersionMatch=Exact"),
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 200);
    // A version from the future is a 504, which kube-rs retries; the unit test covers it.
    let (code, body) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?resourceVersion=2&resourceVersionMatch=Exact",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 410);
    assert_eq!(status_body(&body)["reason"], "Expired");
    let (code, _) = send(
        &cluster,
        Method::GET,
        "/api/v1/pods?resourceVersion=2&resourceVersionMatch=Bogus",
        "application/json",
        vec![],
    )
    .await;
    assert_eq!(code, 400);
    cluster.running.stop().await;
}
