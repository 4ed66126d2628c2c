//! A push answered 202 is never lost: the real binary is killed with SIGKILL in the middle of
//! sustained ingest, restarted on the same database, and must serve every acknowledged push.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{ADMIN, C1_TOKEN, events, pods};

/// `GET url+path` as the admin, as JSON.
async fn admin_get(client: &reqwest::Client, url: &str, path: &str) -> serde_json::Value {
    client
        .get(format!("{url}{path}"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn spawn(
    db: &std::path::Path,
    log: &std::path::Path,
) -> (atlhyper_testkit::process::Program, String) {
    common::spawn_binary(db, log, &["--max-records", "1000000"], None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_ingest_loses_no_acknowledged_push() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("master.db");
    let log = dir.path().join("master.log");
    let (child, url) = spawn(&db, &log).await;
    let client = common::client();

    let acked_events: Arc<Mutex<Vec<String>>> = Arc::default();
    let acked_snapshot_ts: Arc<Mutex<i64>> = Arc::default();
    let mut pushers = Vec::new();
    for worker in 0..8 {
        let (client, url) = (client.clone(), url.clone());
        let (acked_events, acked_snapshot_ts) = (acked_events.clone(), acked_snapshot_ts.clone());
        pushers.push(tokio::spawn(async move {
            for round in 0.. {
                let uids: Vec<String> =
                    (0..20).map(|i| format!("w{worker}-r{round}-{i}")).collect();
                let (body, snapshot_ts) = if round % 5 == 0 {
                    // When it was sent: master receives it no earlier (same clock).
                    (pods("c1", 50), Some(common::now_ms()))
                } else {
                    (events("c1", &uids), None)
                };
                let bytes = atlhyper_model::codec::gzip(&serde_json::to_vec(&body).unwrap(), 1);
                let sent = client
                    .post(format!("{url}/ingest"))
                    .bearer_auth(C1_TOKEN)
                    .header("content-encoding", "gzip")
                    .body(bytes)
                    .send()
                    .await;
                match sent {
                    Ok(response) if response.status() == 202 => match snapshot_ts {
                        Some(ts) => {
                            let mut acked = acked_snapshot_ts.lock().unwrap();
                            *acked = (*acked).max(ts);
                        }
                        None => acked_events.lock().unwrap().extend(uids),
                    },
                    Ok(response) => panic!("push refused: {}", response.status()),
                    // Master is gone.
                    Err(_) => return,
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    child.stop(); // SIGKILL
    for pusher in pushers {
        pusher.await.unwrap();
    }
    let acked = acked_events.lock().unwrap().clone();
    let acked_ts = *acked_snapshot_ts.lock().unwrap();
    assert!(
        acked.len() > 1_000,
        "too little ingest to mean anything: {}",
        acked.len()
    );

    // The pod snapshot in the file was received no earlier than any acknowledged one was sent
    // (master keeps the one it received last; with concurrent pushers that need not be the
    // one taken last).
    let stored_ts: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row(
            "SELECT received_ms FROM snapshots WHERE cluster_id = 'c1' AND source = 'pod_list_snapshot'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(
        stored_ts >= acked_ts,
        "the stored pod snapshot was received at {stored_ts}, before an acknowledged one was sent at {acked_ts}"
    );

    let (child, url) = spawn(&db, &log).await;
    let list: serde_json::Value = admin_get(&client, &url, "/api/v1/events?cluster=c1").await;
    let served: std::collections::HashSet<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["uid"].as_str().unwrap())
        .collect();
    let lost: Vec<&String> = acked
        .iter()
        .filter(|u| !served.contains(u.as_str()))
        .collect();
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged events lost, e.g. {:?}",
        lost.len(),
        acked.len(),
        &lost[..lost.len().min(5)]
    );
    let cluster: serde_json::Value = admin_get(&client, &url, "/api/v1/clusters/c1").await;
    let pods_source = cluster["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["source"] == "pod_list_snapshot")
        .expect("the pod snapshot survived");
    assert_eq!(pods_source["items"], 50, "{pods_source}");
    let pods: serde_json::Value = admin_get(&client, &url, "/api/v1/pods?cluster=c1").await;
    assert_eq!(
        pods["items"].as_array().unwrap().len(),
        50,
        "the snapshot is served"
    );
    eprintln!(
        "{} acknowledged events and the latest pod snapshot survived SIGKILL",
        acked.len()
    );
    child.stop();
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("master listening"), "{logged}");
    assert!(
        !logged.contains(ADMIN) && !logged.contains(C1_TOKEN),
        "a token reached the log"
    );
}
