//! `events -w` across a master restart (a new master on the same address and database): the
//! follow resumes, hears from master that the events in between are not buffered (`reset`),
//! lists again and prints what it missed, even when nothing had reached it before the drop.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncBufReadExt as _;

const ADMIN: &str = "admin-token-for-atlctl-tests-0123";
const C1: &str = "c1-agent-token-for-atlctl-tests-01";

fn config(db: &std::path::Path, listen: std::net::SocketAddr) -> atlhyper_master::Config {
    let mut config = atlhyper_master::Config::defaults();
    config.listen = listen;
    config.db = Some(db.to_owned());
    config.admin_token = Some(ADMIN.to_owned());
    config.clusters = vec![format!("c1={C1}")];
    config
}

/// One Warning event in namespace `shop`, seen now.
fn event(uid: &str) -> Value {
    let path = format!(
        "{}/../model/tests/fixtures/events.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let now = atlhyper_master::datasource::now_ms();
    let mut item = envelope["payload"]["items"][0].clone();
    item["uid"] = json!(uid);
    item["name"] = json!(format!("ev-{uid}"));
    item["namespace"] = json!("shop");
    item["first_seen_ms"] = json!(now);
    item["last_seen_ms"] = json!(now);
    envelope["payload"]["items"] = json!([item]);
    envelope["cluster_id"] = json!("c1");
    envelope["ts_ms"] = json!(now);
    envelope
}

async fn push(url: &str, body: &Value) {
    let status = reqwest::Client::new()
        .post(format!("{url}/ingest"))
        .bearer_auth(C1)
        .json(body)
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_missed_while_master_restarted_are_printed_after_it() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.db");
    let first = atlhyper_master::start(&config(&db, "127.0.0.1:0".parse().unwrap()))
        .await
        .unwrap();
    let (addr, url) = (first.addr, first.url.clone());
    push(&url, &event("before")).await;

    let mut follow = common::command(
        &url,
        Some(ADMIN),
        &dir.path().join("config.toml"),
        &["events", "-A", "-w", "--json"],
    )
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::null())
    .spawn()
    .unwrap();
    let mut lines = tokio::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut next_uid = async || -> String {
        let line = tokio::time::timeout(Duration::from_secs(15), lines.next_line())
            .await
            .expect("a line")
            .unwrap()
            .expect("the follow went on");
        let event: Value = serde_json::from_str(&line).unwrap();
        event["object"]["uid"].as_str().unwrap().to_owned()
    };
    assert_eq!(next_uid().await, "before");
    // The stream is open, and nothing has come through it yet.
    tokio::time::sleep(Duration::from_millis(500)).await;

    first.stop().await;
    let second = atlhyper_master::start(&config(&db, addr)).await.unwrap();
    // Pushed before atlctl is back (its first retry waits half a second).
    push(&second.url, &event("during")).await;
    assert_eq!(next_uid().await, "during", "the missed event is printed");
    follow.kill().await.unwrap();
    second.stop().await;
}
