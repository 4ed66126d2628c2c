//! Work after a commit is never cancelled: a client that gives up while its change is being
//! committed (a slow fsync, here `--commit-delay`) leaves memory and the database agreeing.

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
