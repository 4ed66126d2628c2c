//! Work after a commit is never cancelled: a client that gives up while its change is being
//! committed (a slow fsync, here `--commit-delay`) leaves memory and the database agreeing.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{ADMIN, C1_TOKEN, fixture, pods};
use serde_json::json;

/// A client that gives up after 200 ms, as a user's Ctrl-C or a proxy timeout would.
fn impatient() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_whose_client_gave_up_during_the_commit_still_reaches_memory() {
    let master = common::start_with(|c| c.commit_delay = Duration::from_millis(600)).await;
    let (viewer, viewer_id) = master.new_token("vic", "viewer").await;
    for source in ["pod_list_snapshot", "node_list_snapshot"] {
        assert_eq!(master.push(C1_TOKEN, &fixture(source, "c1")).await.0, 202);
    }
    let client = impatient();

    // Revoked by a request whose client timed out: the token must stop working.
    let gave_up = client
        .delete(format!("{}/api/v1/admin/tokens/{viewer_id}", master.url))
        .bearer_auth(ADMIN)
        .send()
        .await;
    assert!(gave_up.is_err(), "the client gave up before the commit");
    // A command queued the same way must be listed and delivered.
    let node = fixture("node_list_snapshot", "c1")["payload"]["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let gave_up = client
        .post(format!("{}/api/v1/clusters/c1/commands", master.url))
        .bearer_auth(ADMIN)
        .header("idempotency-key", "impatient-1")
        .json(&json!({"kind": "cordon", "args": {"node": node}}))
        .send()
        .await;
    assert!(gave_up.is_err());
    // A push the same way must be served.
    let body = atlhyper_model::codec::gzip(&serde_json::to_vec(&pods("c1", 7)).unwrap(), 1);
    let gave_up = client
        .post(format!("{}/ingest", master.url))
        .bearer_auth(C1_TOKEN)
        .header("content-encoding", "gzip")
        .body(body)
        .send()
        .await;
    assert!(gave_up.is_err());

    // Once the commits are done (a few seconds), memory agrees with the database.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let (status, _) = master.get(&viewer, "/api/v1/whoami").await;
    assert_eq!(status, 401, "the revoked token stopped working");
    let (_, commands) = master.get(ADMIN, "/api/v1/clusters/c1/commands").await;
    assert_eq!(
        commands["items"].as_array().map(Vec::len),
        Some(1),
        "the command is listed: {commands}"
    );
    let (status, retried) = master.command_retry(&node).await;
    assert_eq!(status, 200, "a retry finds it: {retried}");
    let (_, listed) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    assert_eq!(
        listed["items"].as_array().map(Vec::len),
        Some(7),
        "the push is served"
    );
}

impl common::Master {
    async fn command_retry(&self, node: &str) -> (u16, serde_json::Value) {
        let response = self
            .client
            .post(format!("{}/api/v1/clusters/c1/commands", self.url))
            .bearer_auth(ADMIN)
            .header("idempotency-key", "impatient-1")
            .json(&json!({"kind": "cordon", "args": {"node": node}}))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json().await.unwrap_or_default(),
        )
    }
}

/// A cluster made through the API (so a restart does not bring it back from the
/// configuration): its token.
async fn new_cluster(master: &common::Master, id: &str) -> String {
    let (status, made) = master
        .send(
            reqwest::Method::POST,
            ADMIN,
            "/api/v1/admin/clusters",
            Some(json!({"id": id})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    made["token"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_in_flight_when_its_cluster_is_deleted_leaves_nothing_behind() {
    let master = common::start_with(|c| {
        c.commit_delay = Duration::from_millis(300);
        c.poll_timeout = Duration::from_millis(500);
    })
    .await;
    let token = new_cluster(&master, "c3").await;
    for source in ["pod_list_snapshot", "node_list_snapshot"] {
        assert_eq!(master.push(&token, &fixture(source, "c3")).await.0, 202);
    }
    let node = fixture("node_list_snapshot", "c3")["payload"]["items"][0]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, queued) = master
        .send(
            reqwest::Method::POST,
            ADMIN,
            "/api/v1/clusters/c3/commands",
            Some(json!({"kind": "cordon", "args": {"node": node}})),
        )
        .await;
    assert_eq!(status, 201, "{queued}");

    // The writer is busy (a token being made); the delete queues behind it, then a push whose
    // token was checked before the delete committed.
    let master = std::sync::Arc::new(master);
    let filler = tokio::spawn({
        let master = master.clone();
        async move { master.new_token("filler", "viewer").await }
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    let delete = tokio::spawn({
        let master = master.clone();
        async move {
            master
                .send(
                    reqwest::Method::DELETE,
                    ADMIN,
                    "/api/v1/admin/clusters/c3",
                    None,
                )
                .await
        }
    });
    tokio::time::sleep(Duration::from_millis(60)).await;
    let batch = common::events("c3", &["late-1".to_owned(), "late-2".to_owned()]);
    let late_push = master
        .push(&token, &json!([batch, common::pods("c3", 9)]))
        .await;
    filler.await.unwrap();
    let (status, deleted) = delete.await.unwrap();
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        late_push.0, 401,
        "a push after the delete is refused: {late_push:?}"
    );

    let shows_c3 = |body: &serde_json::Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["cluster_id"] == "c3")
    };
    for path in ["/api/v1/events", "/api/v1/pods", "/api/v1/commands"] {
        let (_, listed) = master.get(ADMIN, path).await;
        assert!(!shows_c3(&listed), "{path} still shows c3: {listed}");
    }

    // Made again under the same id, the cluster starts empty: no old command is delivered.
    let token = new_cluster(&master, "c3").await;
    let (status, polled) = master
        .send(
            reqwest::Method::POST,
            &token,
            "/control/watch",
            Some(json!({"cluster_id": "c3", "rv": 0})),
        )
        .await;
    assert_eq!(status, 204, "nothing to deliver: {polled}");

    // Nor does a restart bring anything back.
    let mut master = std::sync::Arc::into_inner(master).unwrap();
    master.restart().await;
    for path in ["/api/v1/events", "/api/v1/pods", "/api/v1/commands"] {
        let (_, listed) = master.get(ADMIN, path).await;
        assert!(
            !shows_c3(&listed),
            "after a restart {path} shows c3: {listed}"
        );
    }
}
