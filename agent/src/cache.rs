//! What the agent holds between pushes: the summary of every watched object (never the full
//! object), events not yet delivered, and each node's latest sample. Every change marks its
//! source dirty and wakes the pusher.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use atlhyper_model::{NodeMetricsSnapshot, Payload, Source};
use tokio::sync::Notify;

/// The summaries of one kind, keyed `namespace/name`, with the relist in progress.
pub struct Kind<S> {
    items: BTreeMap<String, S>,
    /// Objects of a relist not yet complete: they replace `items` at once when it completes.
    relist: Option<BTreeMap<String, S>>,
    synced: bool,
}

impl<S> Default for Kind<S> {
    fn default() -> Self {
        Kind {
            items: BTreeMap::new(),
            relist: None,
            synced: false,
        }
    }
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
    dirty: Mutex<HashMap<Source, Instant>>,
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

macro_rules! kind_fields {
    ($($source:ident => $field:ident: $ty:ty, $variant:ident;)*) => {
        /// A summary type the cache holds, and where.
        pub trait Cached: Sized + Clone + Send + 'static {
            const SOURCE: Source;
            fn slot(cache: &Cache) -> &Mutex<Kind<Self>>;
            fn payload(items: Vec<Self>) -> Payload;
        }
        $(
            impl Cached for $ty {
                const SOURCE: Source = Source::$source;
                fn slot(cache: &Cache) -> &Mutex<Kind<Self>> {
                    &cache.$field
                }
                fn payload(items: Vec<Self>) -> Payload {
                    Payload::$variant(items)
                }
            }
        )*
        impl Cache {
            /// The latest snapshot of a snapshot source, or `None` until its first list is done.
            pub fn snapshot(&self, source: Source) -> Option<Payload> {
                match source {
                    $(Source::$source => self.items::<$ty>(),)*
                    _ => None,
                }
            }

            /// Whether a source can be pushed: a snapshot kind once its first list is done;
            /// events and node samples always.
            pub fn is_ready(&self, source: Source) -> bool {
                match source {
                    $(Source::$source => self.$field.lock().expect("cache lock").synced,)*
                    _ => true,
                }
            }

            /// Objects held per kind, and whether every watch has listed once.
            pub fn counts(&self) -> (Vec<(Source, usize)>, bool) {
                let mut all_synced = *self.events_synced.lock().expect("cache lock");
                let mut counts = Vec::new();
                $(
                    let kind = self.$field.lock().expect("cache lock");
                    all_synced &= kind.synced;
                    counts.push((Source::$source, kind.items.len()));
                )*
                (counts, all_synced)
            }
        }
    };
}

kind_fields! {
    PodListSnapshot => pods: Pod, PodListSnapshot;
    NodeListSnapshot => nodes: Node, NodeListSnapshot;
    DeploymentListSnapshot => deployments: Deployment, DeploymentListSnapshot;
    ServiceListSnapshot => services: Service, ServiceListSnapshot;
    NamespaceListSnapshot => namespaces: Namespace, NamespaceListSnapshot;
    IngressListSnapshot => ingresses: Ingress, IngressListSnapshot;
    ConfigmapListSnapshot => configmaps: ConfigMap, ConfigmapListSnapshot;
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

    fn items<S: Cached>(&self) -> Option<Payload> {
        let kind = S::slot(self).lock().expect("cache lock");
        kind.synced
            .then(|| S::payload(kind.items.values().cloned().collect()))
    }

    /// Marks a source changed and wakes the pusher.
    pub fn touch(&self, source: Source) {
        self.dirty
            .lock()
            .expect("cache lock")
            .entry(source)
            .or_insert_with(Instant::now);
        self.wake.notify_one();
    }

    /// When each dirty source first changed.
    pub fn dirty(&self) -> HashMap<Source, Instant> {
        self.dirty.lock().expect("cache lock").clone()
    }

    /// Clears a source's dirty mark if it has not changed since `pushed_at`.
    pub fn clean(&self, source: Source, built_at: Instant) {
        let mut dirty = self.dirty.lock().expect("cache lock");
        if dirty.get(&source).is_some_and(|first| *first <= built_at) {
            dirty.remove(&source);
        }
    }

    /// Applies one watched change of a snapshot kind.
    pub fn apply<S: Cached + PartialEq>(&self, change: Change<S>) {
        let mut kind = S::slot(self).lock().expect("cache lock");
        let changed = match change {
            Change::Apply(key, item) => {
                let changed = kind.items.get(&key) != Some(&item);
                kind.items.insert(key, item);
                changed
            }
            Change::Delete(key) => kind.items.remove(&key).is_some(),
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
                let changed = !kind.synced || fresh != kind.items;
                kind.items = fresh;
                kind.synced = true;
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
        let mut pending = self.events.lock().expect("cache lock");
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
        *self.events_synced.lock().expect("cache lock") = true;
    }

    /// Takes the queued events (oldest first).
    pub fn take_events(&self) -> Vec<Event> {
        let mut pending = self.events.lock().expect("cache lock");
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
            let pending = self.events.lock().expect("cache lock");
            events
                .into_iter()
                .filter(|e| !pending.by_uid.contains_key(&e.uid))
                .collect()
        };
        self.add_events(newer);
    }

    pub fn pending_events(&self) -> usize {
        self.events.lock().expect("cache lock").by_uid.len()
    }

    /// Keeps a node's sample (the latest per node); returns whether the node is new.
    pub fn add_sample(&self, sample: NodeMetricsSnapshot) -> bool {
        let new = self
            .samples
            .lock()
            .expect("cache lock")
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
        let mut samples = self.samples.lock().expect("cache lock");
        samples.retain(|_, (at, _)| at.elapsed() <= self.node_ttl);
        let mut out: Vec<NodeMetricsSnapshot> = samples.values().map(|(_, s)| s.clone()).collect();
        out.sort_by(|a, b| a.node.cmp(&b.node));
        out
    }

    /// Whether the cluster has a node of this name (nodemetrics samples of others are kept,
    /// but flagged).
    pub fn knows_node(&self, name: &str) -> bool {
        let nodes = self.nodes.lock().expect("cache lock");
        !nodes.synced || nodes.items.contains_key(name)
    }
}
