//! The live stream: a push reaches a subscriber with what changed; filters; resume.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::{Duration, Instant};

use common::{ADMIN, C1_TOKEN, C2_TOKEN, SseClient, events, fixture, pods};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);

#[tokio::test]
async fn a_push_reaches_subscribers_with_its_diff() {
    let master = common::start().await;
    let mut all = SseClient::connect(&master, "", None).await;
    let mut c2_events = SseClient::connect(&master, "?cluster=c2&kind=events", None).await;

    let sent = Instant::now();
    let (status, _) = master.push_gzip(C1_TOKEN, &pods("c1", 3)).await;
    assert_eq!(status, 202);
    let first = all.next(WAIT).await.expect("a snapshot event");
    assert!(sent.elapsed() < WAIT);
    assert_eq!(first.event, "snapshot");
    let change = first.json();
    assert_eq!(change["cluster_id"], "c1");
    assert_eq!(change["source"], "pod_list_snapshot");
    assert_eq!(
        change["added"],
        json!(["shop/web-0", "shop/web-1", "shop/web-2"])
    );

    // web-2 goes, web-1 changes, web-3 comes.
    let mut next = pods("c1", 4);
    let items = next["payload"]["items"].as_array_mut().unwrap();
    items.remove(2);
    items[1]["restarts"] = json!(99);
    let (status, _) = master.push_gzip(C1_TOKEN, &next).await;
    assert_eq!(status, 202);
    let second = all.next(WAIT).await.unwrap();
    let change = second.json();
    assert_eq!(change["added"], json!(["shop/web-3"]));
    assert_eq!(change["changed"], json!(["shop/web-1"]));
    assert_eq!(change["removed"], json!(["shop/web-2"]));
    assert!(
        second.id.as_ref().unwrap().parse::<u64>().unwrap()
            > first.id.as_ref().unwrap().parse::<u64>().unwrap()
    );

    // Events for c2 reach the filtered subscriber; c1's pods did not.
    let two = events("c2", &["e1".to_owned(), "e2".to_owned()]);
    let (status, _) = master.push(C2_TOKEN, &two).await;
    assert_eq!(status, 202);
    let got = c2_events.next(WAIT).await.unwrap();
    assert_eq!(got.event, "events");
    assert_eq!(got.json()["items"].as_array().unwrap().len(), 2);
    // The same events again are not news.
    let (status, _) = master.push(C2_TOKEN, &two).await;
    assert_eq!(status, 202);
    let (status, _) = master
        .push_gzip(C2_TOKEN, &fixture("metrics_snapshot", "c2"))
        .await;
    assert_eq!(status, 202);
    assert!(c2_events.next(Duration::from_millis(300)).await.is_none());
    let events_on_all = all.next(WAIT).await.unwrap();
    assert_eq!(events_on_all.event, "events");
    let metrics_on_all = all.next(WAIT).await.unwrap();
    assert_eq!(metrics_on_all.event, "metrics");

    // Resuming after the first event replays what followed it, in order.
    let mut resumed = SseClient::connect(&master, "", first.id.as_deref()).await;
    let replayed = resumed.next(WAIT).await.unwrap();
    assert_eq!(replayed.id, second.id);
    assert_eq!(resumed.next(WAIT).await.unwrap().event, "events");
    // A resume point from nowhere: told to list again.
    let mut lost = SseClient::connect(&master, "", Some("1")).await;
    assert_eq!(lost.next(WAIT).await.unwrap().event, "reset");

    let (status, body) = master
        .get(common::ADMIN, "/api/v1/stream?kind=teapots")
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = master
        .get(common::ADMIN, "/api/v1/stream?cluster=nope")
        .await;
    assert_eq!(status, 404);
    let (status, body) = master
        .client
        .get(format!("{}/api/v1/stream", master.url))
        .bearer_auth(common::ADMIN)
        .header("last-event-id", "abc")
        .send()
        .await
        .map(|r| (r.status().as_u16(), ()))
        .unwrap();
    assert_eq!(status, 400, "{body:?}");
}

/// `GET {url}/api/v1/stream`, resuming after `last` if given.
async fn open_stream(url: &str, last: Option<&str>) -> reqwest::Response {
    let mut request = common::client()
        .get(format!("{url}/api/v1/stream"))
        .bearer_auth(common::ADMIN);
    if let Some(id) = last {
        request = request.header("last-event-id", id);
    }
    request.send().await.unwrap()
}

/// The next SSE block's `id:` and `event:` (keep-alive comments skipped).
async fn next_block(
    response: &mut reqwest::Response,
    text: &mut String,
) -> (Option<String>, String) {
    loop {
        if let Some(end) = text.find("\n\n") {
            let block: String = text.drain(..end + 2).collect();
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            };
            if let Some(event) = field("event:") {
                return (field("id:"), event);
            }
            continue;
        }
        let chunk = tokio::time::timeout(WAIT, response.chunk())
            .await
            .expect("an event")
            .unwrap()
            .expect("the stream stays open");
        text.push_str(&String::from_utf8_lossy(&chunk));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_resume_buffer_is_bounded_in_bytes_and_a_resumer_past_it_gets_a_reset() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("master.db"), dir.path().join("master.log"));
    let (child, url) =
        common::spawn_binary(&db, &log, &["--stream-buffer-bytes", "1048576"], None).await;
    let client = common::client();
    let push = async |round: usize| {
        // Every pod renamed each round: each change names 10,000 keys (~250 KB).
        let mut envelope = pods("c1", 5_000);
        for pod in envelope["payload"]["items"].as_array_mut().unwrap() {
            let name = pod["name"].as_str().unwrap().to_owned();
            pod["name"] = json!(format!("r{round}-{name}"));
        }
        let body = atlhyper_model::codec::gzip(&serde_json::to_vec(&envelope).unwrap(), 1);
        let status = client
            .post(format!("{url}/ingest"))
            .bearer_auth(C1_TOKEN)
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 202);
    };
    let mut watching = open_stream(&url, None).await;
    let mut text = String::new();
    let (opened_at, opened) = next_block(&mut watching, &mut text).await;
    assert_eq!(opened, "open", "a fresh stream names its position first");
    assert!(opened_at.is_some());
    push(0).await;
    let (first_id, event) = next_block(&mut watching, &mut text).await;
    assert_eq!(event, "snapshot");
    let first_id = first_id.unwrap();
    drop(watching);

    // A few changes after it: still buffered, replayed in order.
    push(1).await;
    let mut resumed = open_stream(&url, Some(&first_id)).await;
    let mut text = String::new();
    assert_eq!(next_block(&mut resumed, &mut text).await.1, "snapshot");
    drop(resumed);

    // Many more than the byte budget holds (the count budget, 10,000, would keep them all).
    for round in 2..14 {
        push(round).await;
    }
    let mut resumed = open_stream(&url, Some(&first_id)).await;
    let mut text = String::new();
    let (reset_at, event) = next_block(&mut resumed, &mut text).await;
    assert_eq!(
        event, "reset",
        "the resume point fell out of the byte budget"
    );
    drop(resumed);
    // The reset names where it left the client: resuming from there does not reset again.
    push(14).await;
    let mut again = open_stream(&url, reset_at.as_deref()).await;
    let mut text = String::new();
    assert_eq!(next_block(&mut again, &mut text).await.1, "snapshot");
    child.stop();
}

/// Many pushes of one source at once: the diffs on the stream chain, each from the list the one
/// before it left, and end at the list master serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn overlapping_replaces_publish_diffs_that_chain() {
    let master = std::sync::Arc::new(common::start().await);
    let mut stream = SseClient::connect(&master, "?cluster=c1&kind=pods", None).await;
    let mut pushes = tokio::task::JoinSet::new();
    for i in 0..48 {
        let master = master.clone();
        // Lists of different lengths: each diff adds or removes pods.
        let body = common::pods("c1", 400 + (i * 37) % 300);
        pushes.spawn(async move { master.push(C1_TOKEN, &body).await.0 });
    }
    while let Some(status) = pushes.join_next().await {
        assert_eq!(status.unwrap(), 202);
    }
    let (_, served) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    let served: std::collections::BTreeSet<String> = served["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}/{}",
                p["namespace"].as_str().unwrap(),
                p["name"].as_str().unwrap()
            )
        })
        .collect();
    let mut held = std::collections::BTreeSet::new();
    while held != served {
        let Some(event) = stream.next(Duration::from_secs(5)).await else {
            panic!(
                "the stream ended at {} pods, master serves {}",
                held.len(),
                served.len()
            );
        };
        let change = event.json();
        for key in change["removed"].as_array().unwrap() {
            assert!(
                held.remove(key.as_str().unwrap()),
                "removed {key}, never added"
            );
        }
        for key in change["added"].as_array().unwrap() {
            assert!(
                held.insert(key.as_str().unwrap().to_owned()),
                "added {key} twice"
            );
        }
        assert_eq!(
            held.len() as u64,
            change["items"].as_u64().unwrap(),
            "{}",
            event.data
        );
    }
}

/// Pushes `pods` pods and one new event to the master at `url`; the stream id of the event.
async fn id_of_a_push(url: &str, pods_n: usize, uid: &str) -> u64 {
    let mut stream = open_stream(url, None).await;
    for body in [pods("c1", pods_n), events("c1", &[uid.to_owned()])] {
        let status = common::client()
            .post(format!("{url}/ingest"))
            .bearer_auth(C1_TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 202);
    }
    let mut text = String::new();
    loop {
        let (id, event) = next_block(&mut stream, &mut text).await;
        if event == "events" {
            return id.unwrap().parse().unwrap();
        }
    }
}

/// Master's clock steps back an hour across a restart (the real binary under `faketime`): the
/// stream's ids still only grow, so a client's old Last-Event-ID cannot skip new events, and
/// a new snapshot still replaces the one received before the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_ids_and_snapshots_keep_their_order_when_the_clock_steps_back_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (db, log) = (dir.path().join("master.db"), dir.path().join("master.log"));
    let (master, url) = common::spawn_binary(&db, &log, &[], None).await;
    let before = id_of_a_push(&url, 3, "before").await;
    master.stop();

    // `sh -c 'PREFIX; exec master …'`: the prefix execs master under faketime itself.
    let behind = r#"export FAKETIME_DONT_FAKE_MONOTONIC=1; exec faketime -f -3600s "$0" "$@""#;
    let (master, url) = common::spawn_binary(&db, &log, &[], Some(behind)).await;
    let after = id_of_a_push(&url, 5, "after").await;
    let served = atlhyper_testkit::json(
        common::client()
            .get(format!("{url}/api/v1/pods?cluster=c1"))
            .bearer_auth(ADMIN),
    )
    .await;
    // faketime runs master as its child: the whole group goes, none left behind.
    assert!(master.stop(), "master outlived its test");
    assert!(
        after > before,
        "id {after} after the restart, {before} before it"
    );
    assert_eq!(
        served["items"].as_array().map(Vec::len),
        Some(5),
        "the newest push is served"
    );
}

/// A numbered pod list of `n` pods, at `seq` of epoch `e1`.
fn numbered(n: usize, seq: u64) -> Value {
    let mut list = pods("c1", n);
    list["epoch"] = json!("e1");
    list["seq"] = json!(seq);
    list
}

/// A pod delta at `seq`: `upserts` whole pods, `deletes` keys.
fn delta(seq: u64, upserts: Vec<Value>, deletes: &[&str]) -> Value {
    let mut envelope = pods("c1", 0);
    envelope["source"] = json!("pod_delta");
    envelope["epoch"] = json!("e1");
    envelope["seq"] = json!(seq);
    envelope["payload"] = json!({"upserts": upserts, "deletes": deletes});
    envelope
}

async fn listed(master: &common::Master) -> Vec<(String, i64)> {
    let (_, list) = master.get(ADMIN, "/api/v1/pods?cluster=c1").await;
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                p["restarts"].as_i64().unwrap(),
            )
        })
        .collect()
}

/// Deltas change the held list object by object and reach `deltas=true` subscribers whole;
/// a retry changes nothing, a gap is answered `resync` inside a 202, a delta without its
/// numbering is refused, and a restart serves the merged list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deltas_merge_stream_whole_objects_resync_on_a_gap_and_survive_a_restart() {
    let mut master = common::start().await;
    let (status, _) = master.push_gzip(C1_TOKEN, &numbered(3, 10)).await;
    assert_eq!(status, 202);
    let mut deltas = SseClient::connect(&master, "?kind=pods&deltas=true", None).await;
    let mut keys = SseClient::connect(&master, "?kind=pods", None).await;

    // web-1 restarts 42 times, web-2 goes, web-9 comes.
    let list = pods("c1", 10);
    let mut changed = list["payload"]["items"][1].clone();
    changed["restarts"] = json!(42);
    let added = list["payload"]["items"][9].clone();
    let change = delta(11, vec![changed, added], &["shop/web-2"]);
    // As plain JSON: master stores it gzipped as received, and the restart below replays it.
    let (status, receipt) = master.push(C1_TOKEN, &change).await;
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["accepted"][0].get("resync"), None, "{receipt}");
    let event = deltas.next(WAIT).await.expect("a delta event");
    assert_eq!(event.event, "delta");
    let data = event.json();
    assert_eq!(data["source"], "pod_list_snapshot");
    assert_eq!(data["deletes"], json!(["shop/web-2"]));
    let upserts: Vec<(&str, &str, i64)> = data["upserts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["cluster_id"].as_str().unwrap(),
                p["name"].as_str().unwrap(),
                p["restarts"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(upserts, [("c1", "web-1", 42), ("c1", "web-9", 2)]);
    let old_style = keys.next(WAIT).await.expect("a snapshot event");
    assert_eq!(
        old_style.event, "snapshot",
        "old clients still hear snapshot events"
    );
    assert_eq!(old_style.json()["changed"], json!(["shop/web-1"]));
    let merged = vec![
        ("web-0".to_owned(), 0),
        ("web-1".to_owned(), 42),
        ("web-9".to_owned(), 2),
    ];
    assert_eq!(listed(&master).await, merged);

    // The same delta again (a retry) changes nothing and is not streamed.
    let (status, _) = master.push_gzip(C1_TOKEN, &change).await;
    assert_eq!(status, 202);
    assert!(deltas.next(Duration::from_millis(300)).await.is_none());

    // A restart replays the snapshot and the deltas kept since…
    master.restart().await;
    assert_eq!(listed(&master).await, merged);
    // …and the numbering: the next delta in line still applies.
    let (status, receipt) = master
        .push_gzip(C1_TOKEN, &delta(12, vec![], &["shop/web-9"]))
        .await;
    assert_eq!(status, 202);
    assert_eq!(receipt["accepted"][0].get("resync"), None, "{receipt}");
    let merged = vec![("web-0".to_owned(), 0), ("web-1".to_owned(), 42)];
    assert_eq!(listed(&master).await, merged);

    // A delta far past the next (one went missing): 202, with `resync` for that envelope only.
    let far = delta(12 + 65, vec![], &["shop/web-0"]);
    let batch = json!([far, events("c1", &["e1".to_owned()])]);
    let (status, receipt) = master.push_gzip(C1_TOKEN, &batch).await;
    assert_eq!(status, 202, "{receipt}");
    assert_eq!(receipt["accepted"][0]["resync"], true, "{receipt}");
    assert_eq!(receipt["accepted"][0]["expected_seq"], 13, "{receipt}");
    assert_eq!(receipt["accepted"][1].get("resync"), None, "{receipt}");
    assert_eq!(
        listed(&master).await,
        merged,
        "the delta after the gap was not applied"
    );
    // Until the list comes whole, deltas wait; the resync is counted once.
    let (_, receipt) = master.push_gzip(C1_TOKEN, &delta(13, vec![], &[])).await;
    assert_eq!(receipt["accepted"][0]["resync"], true, "{receipt}");
    let metrics =
        atlhyper_testkit::text(master.client.get(format!("{}/metrics", master.url))).await;
    assert_eq!(
        common::metric_sum(&metrics, "atlhyper_delta_resyncs_total{cluster=\"c1\"}"),
        1.0
    );
    let (status, _) = master.push_gzip(C1_TOKEN, &numbered(2, 80)).await;
    assert_eq!(status, 202);
    let (_, receipt) = master
        .push_gzip(C1_TOKEN, &delta(81, vec![], &["shop/web-1"]))
        .await;
    assert_eq!(receipt["accepted"][0].get("resync"), None, "{receipt}");
    assert_eq!(listed(&master).await, vec![("web-0".to_owned(), 0)]);

    // `deltas` is a yes or no.
    let (status, body) = master.get(ADMIN, "/api/v1/stream?deltas=maybe").await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("deltas"),
        "{body}"
    );

    // Numbering is required of a delta.
    let mut bare = delta(82, vec![], &[]);
    bare.as_object_mut().unwrap().remove("epoch");
    bare.as_object_mut().unwrap().remove("seq");
    let (status, body) = master.push_gzip(C1_TOKEN, &bare).await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("epoch"),
        "{body}"
    );
}
