//! The in-memory store: the latest snapshot per (cluster, source), events merged by uid, and
//! per-node metric series, each bounded by TTL and a record cap.
//!
//! Locks are held only to swap or copy `Arc`s, never across I/O or `.await`: readers take
//! immutable snapshots and work on them unlocked.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::RwLock;

use atlhyper_model::api::{ClusterCounts, ClusterSummary, MetricPoint, SourceStatus};
use atlhyper_model::resources::{Event, EventType, PodPhase};
use atlhyper_model::{NodeMetricsSnapshot, Payload, Sequence, Source};

use crate::held::numbering::{Numbering, Verdict};
use crate::held::{Held, HeldList, ListChange, Listed, with_listed};

/// The list of one source of one cluster as held now. Immutable once stored: a change makes a
/// new one (its objects shared through `Arc`s).
#[derive(Debug)]
pub struct Snapshot {
    pub cluster_id: String,
    /// When the agent took the push that last changed it.
    pub ts_ms: i64,
    /// When master received that push.
    pub received_ms: i64,
    pub list: Held,
}

/// A push of a list (whole) or a delta, to apply to the list held.
#[derive(Debug)]
pub struct ListPush {
    pub cluster_id: String,
    pub ts_ms: i64,
    pub received_ms: i64,
    pub sequence: Option<Sequence>,
    pub payload: Payload,
}

/// What became of a [`ListPush`].
pub enum Outcome {
    /// Applied; what changed (`None`: nothing did).
    Applied(Option<ListChange>),
    /// Not applied: a duplicate, stale, or for a cluster no longer held.
    Ignored,
    /// Not applied: master needs the whole list (see [`Verdict::Resync`]).
    Resync { expected_seq: u64, new: bool },
}

/// A registered cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    pub id: String,
    pub name: String,
    pub created_ms: i64,
}

/// Bounds of the store.
#[derive(Debug, Clone, Copy)]
pub struct MemoryLimits {
    /// Events older than this (by last seen) are dropped.
    pub ttl_ms: i64,
    /// Metric points older than this are dropped.
    pub metrics_ttl_ms: i64,
    /// Most events, and most metric points, held.
    pub max_records: usize,
}

#[derive(Debug, Clone, Copy)]
struct PushStamp {
    received_ms: i64,
    ts_ms: i64,
    items: u64,
}

struct ClusterEntry {
    info: ClusterInfo,
    snapshots: HashMap<Source, Arc<Snapshot>>,
    /// Which deltas each list takes next (kept apart: a resync is remembered before any list).
    numbering: HashMap<Source, Numbering>,
    pushes: BTreeMap<Source, PushStamp>,
    counts: ClusterCounts,
}

#[derive(Default)]
struct EventSeries {
    by_key: HashMap<(String, String), Arc<Event>>,
    /// (last seen, cluster, uid), oldest first: what TTL and the cap drop first.
    order: BTreeSet<(i64, String, String)>,
}

struct NodeSeries {
    latest: Arc<NodeMetricsSnapshot>,
    points: VecDeque<MetricPoint>,
    /// Points up to here were dropped by the cap, so memory cannot answer for that time.
    evicted_through_ms: i64,
}

#[derive(Default)]
struct MetricSeries {
    nodes: HashMap<(String, String), NodeSeries>,
    points: usize,
}

/// How much the store holds, for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySizes {
    pub clusters: usize,
    pub snapshot_items: u64,
    pub events: usize,
    pub metric_series: usize,
    pub metric_points: usize,
}

pub struct Memory {
    limits: MemoryLimits,
    clusters: RwLock<BTreeMap<String, ClusterEntry>>,
    events: RwLock<EventSeries>,
    metrics: RwLock<MetricSeries>,
}

fn counts_of(counts: &mut ClusterCounts, list: &Held) {
    let n = list.len() as u64;
    match list {
        Held::Pods(pods) => {
            counts.pods = n;
            counts.pods_running =
                pods.iter().filter(|p| p.phase == PodPhase::Running).count() as u64;
            counts.pods_unhealthy = pods
                .iter()
                .filter(|p| {
                    let healthy = (p.phase == PodPhase::Running && p.ready == p.total)
                        || p.phase == PodPhase::Succeeded;
                    !healthy || p.deletion_ms.is_some()
                })
                .count() as u64;
        }
        Held::Nodes(nodes) => {
            counts.nodes = n;
            counts.nodes_ready = nodes.iter().filter(|n| n.ready).count() as u64;
        }
        Held::Deployments(_) => counts.deployments = n,
        Held::Services(_) => counts.services = n,
        Held::Namespaces(_) => counts.namespaces = n,
        Held::Ingresses(_) => counts.ingresses = n,
        Held::Configmaps(_) => counts.configmaps = n,
    }
}

/// The numbering after `push`, and the list after it with what changed — or why the push is
/// not applied.
fn next_list<T: Listed>(
    previous: Option<&Snapshot>,
    mut numbering: Numbering,
    push: ListPush,
) -> (Numbering, Result<(Snapshot, ListChange), Outcome>) {
    let empty = HeldList::default();
    let held = previous.and_then(|p| T::held(&p.list)).unwrap_or(&empty);
    let (list, applied) = if push.payload.source().is_delta() {
        let Some(sequence) = &push.sequence else {
            return (numbering, Err(Outcome::Ignored));
        };
        match numbering.admit(sequence) {
            Verdict::Apply => {}
            Verdict::Duplicate | Verdict::Stale => return (numbering, Err(Outcome::Ignored)),
            Verdict::Resync { expected_seq, new } => {
                return (numbering, Err(Outcome::Resync { expected_seq, new }));
            }
        }
        let seq = sequence.seq;
        let Some(delta) = T::from_delta(push.payload) else {
            return (numbering, Err(Outcome::Ignored));
        };
        held.apply(delta, seq, numbering.prefix())
    } else {
        // An unnumbered list is ordered by master's receive time.
        if push.sequence.is_none() && previous.is_some_and(|p| p.received_ms > push.received_ms) {
            return (numbering, Err(Outcome::Ignored));
        }
        let Some(after) = numbering.after_snapshot(push.sequence.as_ref()) else {
            return (numbering, Err(Outcome::Ignored));
        };
        numbering = after;
        let Some(items) = T::from_list(push.payload) else {
            return (numbering, Err(Outcome::Ignored));
        };
        let list = HeldList::from_items(items, numbering.base());
        let applied = held.diff(&list);
        (list, applied)
    };
    let change = ListChange::new(
        &push.cluster_id,
        T::SOURCE,
        push.ts_ms,
        list.len() as u64,
        applied,
    );
    let snapshot = Snapshot {
        cluster_id: push.cluster_id,
        ts_ms: push.ts_ms,
        received_ms: push.received_ms,
        list: T::into_held(list),
    };
    (numbering, Ok((snapshot, change)))
}

impl Memory {
    pub fn new(limits: MemoryLimits) -> Self {
        Memory {
            limits,
            clusters: RwLock::new(BTreeMap::new()),
            events: RwLock::new(EventSeries::default()),
            metrics: RwLock::new(MetricSeries::default()),
        }
    }

    pub fn limits(&self) -> MemoryLimits {
        self.limits
    }

    /// Registers a cluster (a no-op if it is known).
    pub fn add_cluster(&self, info: ClusterInfo) {
        let mut clusters = self.clusters.write();
        clusters
            .entry(info.id.clone())
            .or_insert_with(|| ClusterEntry {
                info,
                snapshots: HashMap::new(),
                numbering: HashMap::new(),
                pushes: BTreeMap::new(),
                counts: ClusterCounts::default(),
            });
    }

    /// Forgets a cluster and everything held for it.
    pub fn remove_cluster(&self, id: &str) {
        self.clusters.write().remove(id);
        let mut events = self.events.write();
        events.by_key.retain(|(cluster, _), _| cluster != id);
        events.order.retain(|(_, cluster, _)| cluster != id);
        drop(events);
        let mut metrics = self.metrics.write();
        metrics.nodes.retain(|(cluster, _), _| cluster != id);
        metrics.points = metrics.nodes.values().map(|s| s.points.len()).sum();
    }

    pub fn has_cluster(&self, id: &str) -> bool {
        self.clusters.read().contains_key(id)
    }

    /// Records that a push of `source` arrived (for last-seen and staleness).
    pub fn stamp(
        &self,
        cluster_id: &str,
        source: Source,
        received_ms: i64,
        ts_ms: i64,
        items: u64,
    ) {
        let mut clusters = self.clusters.write();
        if let Some(entry) = clusters.get_mut(cluster_id) {
            let stamp = entry.pushes.entry(source).or_insert(PushStamp {
                received_ms,
                ts_ms,
                items,
            });
            if received_ms >= stamp.received_ms {
                *stamp = PushStamp {
                    received_ms,
                    ts_ms,
                    items,
                };
            }
        }
    }

    /// Applies a push of a list or a delta to the list held for its (cluster, list source).
    pub fn apply_list(&self, push: ListPush) -> Outcome {
        let Some(source) = push.payload.source().list() else {
            return Outcome::Ignored;
        };
        let (previous, numbering) = {
            let clusters = self.clusters.read();
            let Some(entry) = clusters.get(&push.cluster_id) else {
                return Outcome::Ignored;
            };
            (
                entry.snapshots.get(&source).cloned(),
                entry.numbering.get(&source).cloned().unwrap_or_default(),
            )
        };
        // Computed unlocked, against the list it replaces. Changes of one cluster come one at a
        // time (in commit order), so nothing else changed it meanwhile.
        let cluster_id = push.cluster_id.clone();
        let (numbering, next) = with_listed!(
            source,
            T => next_list::<T>(previous.as_deref(), numbering, push),
            _ => return Outcome::Ignored
        );
        let mut clusters = self.clusters.write();
        let Some(entry) = clusters.get_mut(&cluster_id) else {
            return Outcome::Ignored;
        };
        entry.numbering.insert(source, numbering);
        match next {
            Ok((snapshot, change)) => {
                counts_of(&mut entry.counts, &snapshot.list);
                entry.snapshots.insert(source, Arc::new(snapshot));
                Outcome::Applied((!change.is_empty()).then_some(change))
            }
            Err(outcome) => outcome,
        }
    }

    /// Merges events by uid; returns those that were new or newer than the held ones.
    pub fn merge_events(&self, cluster_id: &str, incoming: Vec<Event>, now_ms: i64) -> Vec<Event> {
        let oldest = now_ms - self.limits.ttl_ms;
        let mut fresh = Vec::new();
        let mut series = self.events.write();
        for event in incoming {
            if event.last_seen_ms < oldest {
                continue;
            }
            let key = (cluster_id.to_owned(), event.uid.clone());
            if let Some(held) = series.by_key.get(&key) {
                if (held.last_seen_ms, held.count) >= (event.last_seen_ms, event.count) {
                    continue;
                }
                let old = (held.last_seen_ms, key.0.clone(), key.1.clone());
                series.order.remove(&old);
            }
            series
                .order
                .insert((event.last_seen_ms, key.0.clone(), key.1.clone()));
            series.by_key.insert(key, Arc::new(event.clone()));
            fresh.push(event);
        }
        while series.by_key.len() > self.limits.max_records {
            let Some((_, cluster, uid)) = series.order.pop_first() else {
                break;
            };
            series.by_key.remove(&(cluster, uid));
        }
        fresh
    }

    /// Appends node samples; each becomes its node's latest when it is newer.
    pub fn append_metrics(&self, cluster_id: &str, samples: &[NodeMetricsSnapshot]) {
        let mut series = self.metrics.write();
        for sample in samples {
            let point = MetricPoint::from_snapshot(sample);
            let key = (cluster_id.to_owned(), sample.node.clone());
            let node = series.nodes.entry(key).or_insert_with(|| NodeSeries {
                latest: Arc::new(sample.clone()),
                points: VecDeque::new(),
                evicted_through_ms: i64::MIN,
            });
            if sample.ts_ms >= node.latest.ts_ms {
                node.latest = Arc::new(sample.clone());
            }
            let added = match node.points.back() {
                None => {
                    node.points.push_back(point);
                    true
                }
                Some(last) if last.ts_ms < point.ts_ms => {
                    node.points.push_back(point);
                    true
                }
                Some(_) => match node.points.binary_search_by_key(&point.ts_ms, |p| p.ts_ms) {
                    Ok(i) => {
                        node.points[i] = point;
                        false
                    }
                    Err(i) => {
                        node.points.insert(i, point);
                        true
                    }
                },
            };
            let mut evicted = false;
            if added && series.points >= self.limits.max_records {
                // Over the cap: the series that grows gives up its oldest point.
                let node = series
                    .nodes
                    .get_mut(&(cluster_id.to_owned(), sample.node.clone()))
                    .expect("just inserted");
                if let Some(dropped) = node.points.pop_front() {
                    node.evicted_through_ms = node.evicted_through_ms.max(dropped.ts_ms);
                    evicted = true;
                }
            }
            if added && !evicted {
                series.points += 1;
            }
        }
    }

    /// Puts history points read back from the database into the series of nodes whose latest
    /// sample is held (a restart).
    pub fn restore_points(&self, points: Vec<(String, String, MetricPoint)>) {
        let mut series = self.metrics.write();
        for (cluster, node, point) in points {
            if series.points >= self.limits.max_records {
                break;
            }
            let Some(node) = series.nodes.get_mut(&(cluster, node)) else {
                continue;
            };
            if let Err(i) = node.points.binary_search_by_key(&point.ts_ms, |p| p.ts_ms) {
                node.points.insert(i, point);
                series.points += 1;
            }
        }
    }

    /// The latest snapshot of (cluster, source).
    pub fn snapshot(&self, cluster_id: &str, source: Source) -> Option<Arc<Snapshot>> {
        let clusters = self.clusters.read();
        clusters.get(cluster_id)?.snapshots.get(&source).cloned()
    }

    /// The latest snapshot of `source` of every cluster (or of one), in cluster order.
    pub fn snapshots(&self, source: Source, cluster: Option<&str>) -> Vec<Arc<Snapshot>> {
        let clusters = self.clusters.read();
        clusters
            .values()
            .filter(|c| cluster.is_none_or(|id| c.info.id == id))
            .filter_map(|c| c.snapshots.get(&source).cloned())
            .collect()
    }

    /// Events held, oldest first, with their cluster.
    pub fn events(&self, cluster: Option<&str>) -> Vec<(String, Arc<Event>)> {
        let series = self.events.read();
        series
            .order
            .iter()
            .filter(|(_, c, _)| cluster.is_none_or(|id| c == id))
            .filter_map(|(_, c, uid)| {
                series
                    .by_key
                    .get(&(c.clone(), uid.clone()))
                    .map(|e| (c.clone(), e.clone()))
            })
            .collect()
    }

    /// The latest full sample of every node (of one cluster, or all), with its cluster.
    pub fn latest_metrics(&self, cluster: Option<&str>) -> Vec<(String, Arc<NodeMetricsSnapshot>)> {
        let series = self.metrics.read();
        let mut latest: Vec<(String, Arc<NodeMetricsSnapshot>)> = series
            .nodes
            .iter()
            .filter(|((c, _), _)| cluster.is_none_or(|id| c == id))
            .map(|((c, _), s)| (c.clone(), s.latest.clone()))
            .collect();
        latest.sort_by(|a, b| (&a.0, &a.1.node).cmp(&(&b.0, &b.1.node)));
        latest
    }

    /// A node's points in `[from_ms, to_ms)`, or `None` when memory does not hold the whole
    /// range (older than the metrics TTL, or dropped by the cap).
    pub fn metric_points(
        &self,
        cluster_id: &str,
        node: &str,
        from_ms: i64,
        to_ms: i64,
        now_ms: i64,
    ) -> Option<Vec<MetricPoint>> {
        if from_ms < now_ms - self.limits.metrics_ttl_ms {
            return None;
        }
        let series = self.metrics.read();
        let node = series
            .nodes
            .get(&(cluster_id.to_owned(), node.to_owned()))?;
        if node.evicted_through_ms >= from_ms {
            return None;
        }
        Some(
            node.points
                .iter()
                .filter(|p| p.ts_ms >= from_ms && p.ts_ms < to_ms)
                .copied()
                .collect(),
        )
    }

    /// Whether master has ever held samples of this node.
    pub fn has_node_metrics(&self, cluster_id: &str, node: &str) -> bool {
        let series = self.metrics.read();
        series
            .nodes
            .contains_key(&(cluster_id.to_owned(), node.to_owned()))
    }

    /// Every cluster as the API shows it.
    pub fn summaries(&self, now_ms: i64, stale_after_ms: i64) -> Vec<ClusterSummary> {
        let mut events: HashMap<String, (u64, u64)> = HashMap::new();
        {
            let series = self.events.read();
            for ((cluster, _), event) in &series.by_key {
                let entry = events.entry(cluster.clone()).or_default();
                entry.0 += 1;
                if event.type_ == EventType::Warning {
                    entry.1 += 1;
                }
            }
        }
        let clusters = self.clusters.read();
        clusters
            .values()
            .map(|entry| {
                let sources: Vec<SourceStatus> = Source::SCHEDULED
                    .iter()
                    .filter_map(|source| {
                        let stamp = entry.pushes.get(source)?;
                        let age_ms = (now_ms - stamp.received_ms).max(0);
                        Some(SourceStatus {
                            source: *source,
                            last_push_ms: stamp.received_ms,
                            ts_ms: stamp.ts_ms,
                            age_ms,
                            items: stamp.items,
                            stale: age_ms > 3 * source.default_interval().as_millis() as i64,
                        })
                    })
                    .collect();
                let newest = entry.pushes.values().max_by_key(|s| s.received_ms);
                let last_push_ms = newest.map(|s| s.received_ms);
                let mut counts = entry.counts;
                let (total, warnings) = events.get(&entry.info.id).copied().unwrap_or_default();
                counts.events = total;
                counts.warning_events = warnings;
                ClusterSummary {
                    id: entry.info.id.clone(),
                    name: entry.info.name.clone(),
                    created_ms: entry.info.created_ms,
                    last_push_ms,
                    stale: last_push_ms.is_none_or(|t| now_ms - t > stale_after_ms),
                    clock_skew_ms: newest.map(|s| s.ts_ms - s.received_ms),
                    sources,
                    counts,
                }
            })
            .collect()
    }

    /// Drops events past the TTL, metric points past the metrics TTL, and nodes with no sample
    /// within the TTL.
    pub fn cleanup(&self, now_ms: i64) {
        let oldest_event = now_ms - self.limits.ttl_ms;
        {
            let mut series = self.events.write();
            while series
                .order
                .first()
                .is_some_and(|(seen, _, _)| *seen < oldest_event)
            {
                let (_, cluster, uid) = series.order.pop_first().expect("checked");
                series.by_key.remove(&(cluster, uid));
            }
        }
        let oldest_point = now_ms - self.limits.metrics_ttl_ms;
        let mut series = self.metrics.write();
        series
            .nodes
            .retain(|_, node| node.latest.ts_ms >= oldest_event);
        for node in series.nodes.values_mut() {
            while node.points.front().is_some_and(|p| p.ts_ms < oldest_point) {
                node.points.pop_front();
            }
        }
        series.points = series.nodes.values().map(|s| s.points.len()).sum();
    }

    pub fn sizes(&self) -> MemorySizes {
        let (clusters, snapshot_items) = {
            let clusters = self.clusters.read();
            let items = clusters
                .values()
                .flat_map(|c| c.snapshots.values())
                .map(|s| s.list.len() as u64)
                .sum();
            (clusters.len(), items)
        };
        let events = self.events.read().by_key.len();
        let metrics = self.metrics.read();
        MemorySizes {
            clusters,
            snapshot_items,
            events,
            metric_series: metrics.nodes.len(),
            metric_points: metrics.points,
        }
    }
}

#[cfg(test)]
mod tests;
