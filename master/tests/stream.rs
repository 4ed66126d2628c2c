//! The live stream: a push reaches a subscriber with what changed; filters; resume.

mod common;

use std::time::{Duration, Instant};

use common::{C1_TOKEN, C2_TOKEN, SseClient, events, fixture, pods};
use serde_json::json;

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
