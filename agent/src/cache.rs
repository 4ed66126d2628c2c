//! What the agent holds between pushes: the summary of every watched object (never the full
//! object), events not yet delivered, and each node's latest sample. Every change marks its
//! source dirty and wakes the pusher.
//!
//! Summaries are held as their JSON, encoded once when the object changes: a snapshot push then
//! copies bytes rather than cloning and re-serializing thousands of objects each time, which is
//! most of what an agent with a busy cluster would otherwise spend its CPU on.

use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use atlhyper_model::{NodeMetricsSnapshot, Source};
use serde::Serialize;
use serde_json::value::RawValue;
use tokio::sync::Notify;

use crate::outbox::{Header, Outbox, Written};

type Encoded = BTreeMap<String, Box<RawValue>>;

/// The summaries (as JSON) of one kind, keyed `namespace/name`, with the relist in progress
/// and what master is owed of them.
pub struct Kind<S> {
    items: Encoded,
    /// Objects of a relist not yet complete: they replace `items` at once when it completes.
    relist: Option<Encoded>,
    synced: bool,
    outbox: Outbox,
    summary: PhantomData<fn() -> S>,
}

impl<S> Default for Kind<S> {
    fn default() -> Self {
        Kind {
            items: BTreeMap::new(),
            relist: None,
            synced: false,
            outbox: Outbox::default(),
            summary: PhantomData,
        }
    }
}

/// How a list goes out in a push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListPush {
    /// Whole; numbered in `epoch` when master is sent numbering (deltas on).
    Whole,
    /// As deltas in `epoch`, with an empty one when `heartbeat` and nothing changed (unless the
    /// list owes a whole push: then whole).
    Deltas { heartbeat: bool },
}

fn encode<S: Serialize>(summary: &S) -> Box<RawValue> {
    serde_json::value::to_raw_value(summary).expect("a summary serializes to JSON")
}

fn same(a: &Encoded, b: &Encoded) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|((ka, va), (kb, vb))| ka == kb && va.get() == vb.get())
}

/// The summaries of the seven snapshot kinds.
pub struct Cache {
    pods: Mutex<Kind<Pod>>,
    nodes: Mutex<Kind<Node>>,
    deployments: Mutex<Kind<Deployment>>,
    services: Mutex<Kind<Service>>,
    namespaces: Mutex<Kind<Namespace>>,
    ingresses: Mutex<Kind<Ingress>>,
    configmaps: Mutex<Kind<ConfigMap>>,
    events: Mutex<PendingEvents>,
    events_synced: Mutex<bool>,
    samples: Mutex<HashMap<String, (Instant, NodeMetricsSnapshot)>>,
    /// The first unpushed change of each source.
    /// Per changed source: when it first changed since it was last pushed, and when last.
    dirty: Mutex<HashMap<Source, (Instant, Instant)>>,
    pub wake: Notify,
    pub dropped_events: AtomicU64,
    node_ttl: Duration,
}

#[derive(Default)]
struct PendingEvents {
    by_uid: HashMap<String, Event>,
    order: VecDeque<String>,
    max: usize,
}

/// One watched object's change, already summarized.
pub enum Change<S> {
    /// Added or modified.
    Apply(String, S),
    Delete(String),
    /// A relist starts: the objects that follow replace the kind when it is done.
    RelistStart,
    RelistItem(String, S),
    RelistDone,
}

impl<S> Change<S> {
    fn map<T>(self, f: impl FnOnce(S) -> T) -> Change<T> {
        match self {
            Change::Apply(key, item) => Change::Apply(key, f(item)),
            Change::Delete(key) => Change::Delete(key),
            Change::RelistStart => Change::RelistStart,
            Change::RelistItem(key, item) => Change::RelistItem(key, f(item)),
            Change::RelistDone => Change::RelistDone,
        }
    }
}

macro_rules! kind_fields {
    ($($source:ident => $field:ident: $ty:ty;)*) => {
        /// A summary type the cache holds, and where.
        pub trait Cached: Sized + Serialize + Send + 'static {
            const SOURCE: Source;
            fn slot(cache: &Cache) -> &Mutex<Kind<Self>>;
        }
        $(
            impl Cached for $ty {
                const SOURCE: Source = Source::$source;
                fn slot(cache: &Cache) -> &Mutex<Kind<Self>> {
                    &cache.$field
                }
            }
        )*
        impl Cache {
            /// Writes a list to `out` as envelopes' JSON (comma-separated): whole or as deltas
            /// (see [`ListPush`]); what it wrote, or `None` (writing nothing) until the list's
            /// first listing is done.
            pub fn write_list(
                &self,
                source: Source,
                cluster_id: &str,
                ts_ms: i64,
                epoch: Option<&str>,
                how: ListPush,
                out: &mut Vec<u8>,
            ) -> Option<Written> {
                match source {
                    $(Source::$source => self.write_kind::<$ty>(cluster_id, ts_ms, epoch, how, out),)*
                    _ => None,
                }
            }

            /// Settles what a push of a list carried: `resync` per envelope written (master
            /// asked for the whole list), or `failed` when the push did not land.
            pub fn settle_list(&self, source: Source, written: &Written, resync: &[bool], failed: bool) {
                match source {
                    $(Source::$source => Self::settle_kind(&mut self.$field.lock().outbox, written, resync, failed),)*
                    _ => {}
                }
                // Master waits for the whole list: it goes at the next early push, not on the
                // list's schedule.
                if !failed && resync.iter().any(|r| *r) {
                    self.touch(source);
                }
            }

            /// Lists master refused for good go whole next (what it refused is not resent).
            pub fn settle_lists_refused(&self, lists: &[(Source, Written, usize)]) {
                for (source, _, _) in lists {
                    match source {
                        $(Source::$source => self.$field.lock().outbox.send_whole(),)*
                        _ => {}
                    }
                }
            }

            /// Every list goes whole next.
            pub fn send_all_whole(&self) {
                $(self.$field.lock().outbox.send_whole();)*
            }

            /// Whether a snapshot source holds the object `namespace/name` (or `name`).
            pub fn contains(&self, source: Source, key: &str) -> bool {
                match source {
                    $(Source::$source => {
                        self.$field.lock().items.contains_key(key)
                    })*
                    _ => false,
                }
            }

            /// Whether a source can be pushed: a snapshot kind once its first list is done;
            /// events and node samples always.
            pub fn is_ready(&self, source: Source) -> bool {
                match source {
                    $(Source::$source => self.$field.lock().synced,)*
                    _ => true,
                }
            }

            /// Objects held per kind, and whether every watch has listed once.
            pub fn counts(&self) -> (Vec<(Source, usize)>, bool) {
                let mut all_synced = *self.events_synced.lock();
                let mut counts = Vec::new();
                $(
                    let kind = self.$field.lock();
                    all_synced &= kind.synced;
                    counts.push((Source::$source, kind.items.len()));
                )*
                (counts, all_synced)
            }
        }
    };
}

kind_fields! {
    PodListSnapshot => pods: Pod;
    NodeListSnapshot => nodes: Node;
    DeploymentListSnapshot => deployments: Deployment;
    ServiceListSnapshot => services: Service;
    NamespaceListSnapshot => namespaces: Namespace;
    IngressListSnapshot => ingresses: Ingress;
    ConfigmapListSnapshot => configmaps: ConfigMap;
}

impl Cache {
    pub fn new(max_pending_events: usize, node_ttl: Duration) -> Self {
        Cache {
            pods: Mutex::default(),
            nodes: Mutex::default(),
            deployments: Mutex::default(),
            services: Mutex::default(),
            namespaces: Mutex::default(),
            ingresses: Mutex::default(),
            configmaps: Mutex::default(),
            events: Mutex::new(PendingEvents {
                max: max_pending_events,
                ..PendingEvents::default()
            }),
            events_synced: Mutex::new(false),
            samples: Mutex::default(),
            dirty: Mutex::default(),
            wake: Notify::new(),
            dropped_events: AtomicU64::new(0),
            node_ttl,
        }
    }

    fn write_kind<S: Cached>(
        &self,
        cluster_id: &str,
        ts_ms: i64,
        epoch: Option<&str>,
        how: ListPush,
        out: &mut Vec<u8>,
    ) -> Option<Written> {
        let mut kind = S::slot(self).lock();
        if !kind.synced {
            return None;
        }
        let Kind { items, outbox, .. } = &mut *kind;
        let header = Header {
            source: S::SOURCE,
            cluster_id,
            ts_ms,
            epoch,
        };
        Some(match (epoch, how) {
            (Some(epoch), ListPush::Deltas { heartbeat }) if !outbox.wants_whole() => {
                outbox.write_deltas(&header, epoch, heartbeat, out)
            }
            _ => outbox.write_whole(&header, items.values().map(AsRef::as_ref), items.len(), out),
        })
    }

    fn settle_kind(outbox: &mut Outbox, written: &Written, resync: &[bool], failed: bool) {
        match written {
            Written::Whole { .. } if failed => outbox.whole_failed(),
            Written::Whole { .. } => {}
            // Not landed: owed still, and resent as they were.
            Written::Deltas { .. } if failed => {}
            Written::Deltas { seqs } => {
                if resync.iter().any(|r| *r) {
                    outbox.send_whole();
                } else {
                    for seq in seqs {
                        outbox.acknowledge(*seq);
                    }
                }
            }
        }
    }

    /// Marks a source changed and wakes the pusher.
    pub fn touch(&self, source: Source) {
        let now = Instant::now();
        self.dirty
            .lock()
            .entry(source)
            .and_modify(|(_, last)| *last = now)
            .or_insert((now, now));
        self.wake.notify_one();
    }

    /// When each dirty source first changed.
    pub fn dirty(&self) -> HashMap<Source, Instant> {
        self.dirty
            .lock()
            .iter()
            .map(|(source, (first, _))| (*source, *first))
            .collect()
    }

    /// Clears a source's dirty mark if its last change came before the push was built
    /// (`built_at`); a change during the push keeps it dirty, to be pushed again at once.
    pub fn clean(&self, source: Source, built_at: Instant) {
        let mut dirty = self.dirty.lock();
        if dirty
            .get(&source)
            .is_some_and(|(_, last)| *last <= built_at)
        {
            dirty.remove(&source);
        }
    }

    /// Applies one watched change of a snapshot kind.
    pub fn apply<S: Cached>(&self, change: Change<S>) {
        // Encoded before the lock is taken: the pusher may be waiting for it.
        let change = change.map(|item| encode(&item));
        let mut kind = S::slot(self).lock();
        let changed = match change {
            Change::Apply(key, item) => {
                let changed = kind.items.get(&key).map(|old| old.get()) != Some(item.get());
                if changed {
                    kind.outbox.record(&key, Some(&item));
                }
                kind.items.insert(key, item);
                changed
            }
            Change::Delete(key) => {
                let existed = kind.items.remove(&key).is_some();
                if existed {
                    kind.outbox.record(&key, None);
                }
                existed
            }
            Change::RelistStart => {
                kind.relist = Some(BTreeMap::new());
                false
            }
            Change::RelistItem(key, item) => {
                kind.relist
                    .get_or_insert_with(BTreeMap::new)
                    .insert(key, item);
                false
            }
            Change::RelistDone => {
                let fresh = kind.relist.take().unwrap_or_default();
                let changed = !kind.synced || !same(&fresh, &kind.items);
                kind.items = fresh;
                kind.synced = true;
                // After a relist the list goes whole: what changed while unwatched is in it.
                if changed {
                    kind.outbox.send_whole();
                }
                changed
            }
        };
        drop(kind);
        if changed {
            self.touch(S::SOURCE);
        }
    }

    /// Queues new or updated events; past the cap the oldest queued are dropped (and counted).
    pub fn add_events(&self, events: impl IntoIterator<Item = Event>) {
        let mut pending = self.events.lock();
        let mut any = false;
        for event in events {
            any = true;
            if pending
                .by_uid
                .insert(event.uid.clone(), event.clone())
                .is_none()
            {
                pending.order.push_back(event.uid);
            }
            while pending.by_uid.len() > pending.max {
                let Some(oldest) = pending.order.pop_front() else {
                    break;
                };
                if pending.by_uid.remove(&oldest).is_some() {
                    self.dropped_events.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        drop(pending);
        if any {
            self.touch(Source::Events);
        }
    }

    pub fn events_synced(&self) {
        *self.events_synced.lock() = true;
    }

    /// Takes the queued events (oldest first).
    pub fn take_events(&self) -> Vec<Event> {
        let mut pending = self.events.lock();
        let order = std::mem::take(&mut pending.order);
        let mut by_uid = std::mem::take(&mut pending.by_uid);
        order
            .into_iter()
            .filter_map(|uid| by_uid.remove(&uid))
            .collect()
    }

    /// Puts back events a failed push carried, unless a newer sighting came meanwhile.
    pub fn return_events(&self, events: Vec<Event>) {
        let newer: Vec<Event> = {
            let pending = self.events.lock();
            events
                .into_iter()
                .filter(|e| !pending.by_uid.contains_key(&e.uid))
                .collect()
        };
        self.add_events(newer);
    }

    pub fn pending_events(&self) -> usize {
        self.events.lock().by_uid.len()
    }

    /// Keeps a node's sample (the latest per node); returns whether the node is new.
    pub fn add_sample(&self, sample: NodeMetricsSnapshot) -> bool {
        let new = self
            .samples
            .lock()
            .insert(sample.node.clone(), (Instant::now(), sample))
            .is_none();
        // A node seen for the first time goes out early; later samples ride the 5 s schedule.
        if new {
            self.touch(Source::MetricsSnapshot);
        }
        new
    }

    /// The latest sample of each node heard from within the node TTL (older ones are dropped).
    pub fn samples(&self) -> Vec<NodeMetricsSnapshot> {
        let mut samples = self.samples.lock();
        samples.retain(|_, (at, _)| at.elapsed() <= self.node_ttl);
        let mut out: Vec<NodeMetricsSnapshot> = samples.values().map(|(_, s)| s.clone()).collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out
    }

    /// Whether the cluster has a node of this name (nodemetrics samples of others are kept,
    /// but flagged).
    pub fn knows_node(&self, name: &str) -> bool {
        let nodes = self.nodes.lock();
        !nodes.synced || nodes.items.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_during_an_in_flight_push_keeps_its_source_dirty() {
        let cache = Cache::new(100, Duration::from_secs(600));
        cache.touch(Source::ConfigmapListSnapshot);
        // The push's body is built now; a deletion arrives while it is in flight.
        let built_at = Instant::now();
        std::thread::sleep(Duration::from_millis(2));
        cache.touch(Source::ConfigmapListSnapshot);
        cache.clean(Source::ConfigmapListSnapshot, built_at);
        assert!(
            cache.dirty().contains_key(&Source::ConfigmapListSnapshot),
            "the later change is still to be pushed"
        );
        // Pushed after that change: clean.
        cache.clean(Source::ConfigmapListSnapshot, Instant::now());
        assert!(cache.dirty().is_empty());
    }
}
