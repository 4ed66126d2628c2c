use atlhyper_model::api::SnapshotChange;
use atlhyper_model::resources::{Event, EventType, InvolvedObject, Namespace};
use atlhyper_model::{CpuMetrics, MemoryMetrics, NodeMetricsSnapshot, Payload, Source};

use super::*;

fn store(max_records: usize) -> Memory {
    let store = Memory::new(MemoryLimits {
        ttl_ms: 3_600_000,
        metrics_ttl_ms: 900_000,
        max_records,
    });
    store.add_cluster(ClusterInfo {
        id: "c1".into(),
        name: "c1".into(),
        created_ms: 0,
    });
    store
}

fn namespaces(names: &[&str]) -> Payload {
    Payload::NamespaceListSnapshot(
        names
            .iter()
            .map(|n| Namespace {
                name: (*n).into(),
                uid: format!("uid-{n}"),
                phase: "Active".into(),
                labels: Default::default(),
                created_ms: 1,
            })
            .collect(),
    )
}

fn event(uid: &str, count: u32, last_seen_ms: i64) -> Event {
    Event {
        uid: uid.into(),
        namespace: "shop".into(),
        name: format!("ev-{uid}"),
        type_: EventType::Warning,
        reason: "BackOff".into(),
        message: "m".into(),
        object: InvolvedObject {
            kind: "Pod".into(),
            namespace: Some("shop".into()),
            name: "web".into(),
            uid: None,
        },
        count,
        first_seen_ms: 0,
        last_seen_ms,
        source: None,
        host: None,
    }
}

fn sample(node: &str, ts_ms: i64) -> NodeMetricsSnapshot {
    NodeMetricsSnapshot {
        node: node.into(),
        ts_ms,
        cpu: CpuMetrics {
            cores: 2,
            usage_percent: 10.0,
            per_core_percent: vec![],
            load1: 0.1,
            load5: 0.1,
            load15: 0.1,
        },
        memory: MemoryMetrics {
            total_bytes: 100,
            used_bytes: 50,
            available_bytes: 50,
            swap_total_bytes: 0,
            swap_used_bytes: 0,
        },
        filesystems: vec![],
        disks: vec![],
        network: vec![],
        temperatures: vec![],
        top_cpu: vec![],
        top_memory: vec![],
        uptime_secs: 1,
        pods: Vec::new(),
    }
}

fn snapshot(ts_ms: i64, payload: Payload) -> ListPush {
    ListPush {
        cluster_id: "c1".into(),
        ts_ms,
        received_ms: ts_ms,
        sequence: None,
        payload,
    }
}

/// What a push changed, if it was applied and changed something.
trait Replace {
    fn replace(&self, push: ListPush) -> Option<SnapshotChange>;
}

impl Replace for Memory {
    fn replace(&self, push: ListPush) -> Option<SnapshotChange> {
        match self.apply_list(push) {
            Outcome::Applied(Some(change)) => Some(change.keys),
            _ => None,
        }
    }
}

#[test]
fn a_snapshot_replaces_only_an_older_one_and_reports_the_diff() {
    let store = store(10);
    let first = store
        .replace(snapshot(10, namespaces(&["a", "b"])))
        .unwrap();
    assert_eq!(first.added, ["a", "b"]);
    let second = store
        .replace(snapshot(20, namespaces(&["b", "c"])))
        .unwrap();
    assert_eq!(
        (second.added, second.removed),
        (vec!["c".to_owned()], vec!["a".to_owned()])
    );
    assert!(second.changed.is_empty());
    // Taken earlier than what is held: ignored.
    assert!(store.replace(snapshot(15, namespaces(&["z"]))).is_none());
    let held = store.snapshot("c1", Source::NamespaceListSnapshot).unwrap();
    assert_eq!(held.ts_ms, 20);
    // An unknown cluster's snapshot is not kept.
    let mut stray = snapshot(30, namespaces(&["x"]));
    stray.cluster_id = "nope".into();
    assert!(store.replace(stray).is_none());
    assert!(
        store
            .snapshots(Source::NamespaceListSnapshot, Some("nope"))
            .is_empty()
    );
}

#[test]
fn master_s_receive_time_orders_snapshots_not_the_agent_s_clock() {
    let store = store(10);
    // The agent's clock ran ten minutes ahead, then was corrected.
    let mut ahead = snapshot(1_000 + 600_000, namespaces(&["a"]));
    ahead.received_ms = 1_000;
    store.replace(ahead).unwrap();
    let mut corrected = snapshot(2_000, namespaces(&["b"]));
    corrected.received_ms = 2_000;
    let change = store.replace(corrected).expect("the newer push wins");
    assert_eq!(change.added, ["b"]);
    let held = store.snapshot("c1", Source::NamespaceListSnapshot).unwrap();
    assert_eq!((held.ts_ms, held.received_ms), (2_000, 2_000));
    // One received earlier (a push that overtook it) does not.
    let mut late = snapshot(3_000, namespaces(&["c"]));
    late.received_ms = 1_500;
    assert!(store.replace(late).is_none());

    store.stamp(
        "c1",
        Source::NamespaceListSnapshot,
        5_000,
        5_000 + 600_000,
        1,
    );
    let summary = &store.summaries(5_000, 60_000)[0];
    assert_eq!(summary.clock_skew_ms, Some(600_000));
}

#[test]
fn events_merge_by_uid_and_stay_within_the_cap_and_ttl() {
    let store = store(3);
    let now = 10_000_000;
    let fresh = store.merge_events(
        "c1",
        vec![event("a", 1, now - 10), event("b", 1, now - 5)],
        now,
    );
    assert_eq!(fresh.len(), 2);
    // The same sighting again is not news; a later one replaces it (count grows).
    assert!(
        store
            .merge_events("c1", vec![event("a", 1, now - 10)], now)
            .is_empty()
    );
    assert_eq!(
        store
            .merge_events("c1", vec![event("a", 4, now - 1)], now)
            .len(),
        1
    );
    let held = store.events(Some("c1"));
    assert_eq!(held.len(), 2, "never duplicated");
    assert_eq!(
        held.last().unwrap().1.count,
        4,
        "oldest first: a was seen last"
    );
    // Past the cap the oldest go.
    store.merge_events("c1", vec![event("c", 1, now), event("d", 1, now)], now);
    let uids: Vec<String> = store
        .events(None)
        .iter()
        .map(|(_, e)| e.uid.clone())
        .collect();
    assert_eq!(uids, ["a", "c", "d"]);
    // Older than the TTL: refused on arrival, removed by cleanup.
    assert!(
        store
            .merge_events("c1", vec![event("old", 1, now - 4_000_000)], now)
            .is_empty()
    );
    store.cleanup(now + 3_600_000);
    assert_eq!(store.events(None).len(), 2);
    store.cleanup(now + 3_600_001);
    assert!(store.events(None).is_empty());
}

#[test]
fn metric_points_stay_within_the_cap_and_say_what_memory_covers() {
    let store = store(4);
    let now = 10_000_000;
    for i in 0..6 {
        store.append_metrics("c1", &[sample("n1", now - 60_000 + i * 5_000)]);
    }
    assert_eq!(store.sizes().metric_points, 4);
    assert_eq!(store.latest_metrics(None)[0].1.ts_ms, now - 60_000 + 25_000);
    // The two oldest were dropped by the cap: memory cannot answer from before them.
    assert!(
        store
            .metric_points("c1", "n1", now - 60_000, now, now)
            .is_none()
    );
    let points = store
        .metric_points("c1", "n1", now - 50_000, now, now)
        .unwrap();
    assert_eq!(points.len(), 4);
    // Older than the metrics TTL: never from memory.
    assert!(
        store
            .metric_points("c1", "n1", now - 1_000_000, now, now)
            .is_none()
    );
    // A repeated timestamp replaces; a late one is put in order.
    store.append_metrics("c1", &[sample("n1", now - 35_000)]);
    assert_eq!(store.sizes().metric_points, 4);
    store.cleanup(now + 900_000 - 40_000);
    assert_eq!(store.sizes().metric_points, 2);
}

#[test]
fn summaries_show_staleness_per_source() {
    let store = store(10);
    let now = 10_000_000;
    assert!(store.summaries(now, 60_000)[0].stale, "never pushed");
    store.stamp("c1", Source::Events, now - 1_000, now - 1_100, 3);
    store.stamp(
        "c1",
        Source::PodListSnapshot,
        now - 100_000,
        now - 100_000,
        7,
    );
    let summary = &store.summaries(now, 60_000)[0];
    assert!(!summary.stale);
    assert_eq!(summary.last_push_ms, Some(now - 1_000));
    let pods = summary
        .sources
        .iter()
        .find(|s| s.source == Source::PodListSnapshot)
        .unwrap();
    assert!(pods.stale, "25 s interval, 100 s old");
    assert_eq!(pods.items, 7);
    assert!(!summary.sources[0].stale);
    assert!(store.summaries(now + 61_000, 60_000)[0].stale);
}
