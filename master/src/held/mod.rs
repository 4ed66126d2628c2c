//! The lists master holds in memory, one per (cluster, list source): objects sorted by key, each
//! with the `seq` that last wrote it, behind `Arc`s so that applying a delta copies pointers,
//! not objects. A full list replaces one; a delta changes one object by object (see
//! [`numbering`] for which deltas are applied). Either way the result says what changed, for
//! the live stream.

pub mod numbering;

use std::collections::BTreeMap;
use std::sync::Arc;

use atlhyper_model::Delta;
use atlhyper_model::api::{InCluster, SnapshotChange, StreamDelta};
use atlhyper_model::resources::{ConfigMap, Deployment, Ingress, Namespace, Node, Pod, Service};
use atlhyper_model::{Payload, Source};

use crate::resource::Resource;

/// One object of a held list.
#[derive(Debug)]
pub struct Entry<T> {
    pub item: Arc<T>,
    /// The push that last wrote it.
    seq: u64,
}

impl<T> Clone for Entry<T> {
    fn clone(&self) -> Self {
        Entry {
            item: self.item.clone(),
            seq: self.seq,
        }
    }
}

/// Where an object sorts: (namespace, name), the namespace empty for cluster-wide kinds. Keys
/// are compared as these pairs, never built as strings for the objects a change leaves alone.
type SortKey<'a> = (&'a str, &'a str);

fn sort_key<T: Resource>(item: &T) -> SortKey<'_> {
    // A namespace is "in" itself for filters; its key is its name alone.
    match item.namespace() {
        Some(ns) if T::NAMESPACED => (ns, item.name()),
        _ => ("", item.name()),
    }
}

/// A key as deltas name objects (`namespace/name`, or `name`) as the pair it sorts by.
fn parse_key<T: Resource>(key: &str) -> SortKey<'_> {
    match key.split_once('/') {
        Some(pair) if T::NAMESPACED => pair,
        _ => ("", key),
    }
}

/// A list of one kind, sorted by (namespace, name).
#[derive(Debug)]
pub struct HeldList<T> {
    entries: Vec<Entry<T>>,
    /// Keys deleted by a delta applied ahead of its predecessors, with its seq: an older
    /// upsert arriving late must not bring the object back.
    tombstones: BTreeMap<String, u64>,
}

impl<T> Default for HeldList<T> {
    fn default() -> Self {
        HeldList {
            entries: Vec::new(),
            tombstones: BTreeMap::new(),
        }
    }
}

/// What a change did, by key, and the objects it wrote.
pub struct Applied<T> {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
    pub upserts: Vec<Arc<T>>,
}

impl<T> Default for Applied<T> {
    fn default() -> Self {
        Applied {
            added: Vec::new(),
            changed: Vec::new(),
            removed: Vec::new(),
            upserts: Vec::new(),
        }
    }
}

impl<T: Resource> HeldList<T> {
    /// A full list, every object written at `seq`.
    pub fn from_items(items: Vec<T>, seq: u64) -> Self {
        let mut entries: Vec<Entry<T>> = items
            .into_iter()
            .map(|item| Entry {
                item: Arc::new(item),
                seq,
            })
            .collect();
        // Agents send lists in key order already; sorting what is sorted is one pass.
        entries.sort_by(|a, b| sort_key(&*a.item).cmp(&sort_key(&*b.item)));
        // A list names each object once; if an agent sent one twice, the last stands.
        entries.dedup_by(|later, earlier| {
            let same = sort_key(&*later.item) == sort_key(&*earlier.item);
            if same {
                std::mem::swap(later, earlier);
            }
            same
        });
        HeldList {
            entries,
            tombstones: BTreeMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The objects, in (namespace, name) order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.entries.iter().map(|e| &*e.item)
    }

    fn find(entries: &[Entry<T>], key: SortKey<'_>) -> Result<usize, usize> {
        entries.binary_search_by(|e| sort_key(&*e.item).cmp(&key))
    }

    /// What replacing this list by `new` changes.
    pub fn diff(&self, new: &HeldList<T>) -> Applied<T> {
        let mut applied = Applied::default();
        let (mut old, mut new) = (
            self.entries.iter().peekable(),
            new.entries.iter().peekable(),
        );
        loop {
            let order = match (old.peek(), new.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(o), Some(n)) => sort_key(&*o.item).cmp(&sort_key(&*n.item)),
            };
            match order {
                std::cmp::Ordering::Equal => {
                    let (o, n) = (old.next().expect("peeked"), new.next().expect("peeked"));
                    if o.item != n.item {
                        applied.changed.push(n.item.key());
                        applied.upserts.push(n.item.clone());
                    }
                }
                std::cmp::Ordering::Less => {
                    let o = old.next().expect("peeked");
                    applied.removed.push(o.item.key());
                }
                std::cmp::Ordering::Greater => {
                    let n = new.next().expect("peeked");
                    applied.added.push(n.item.key());
                    applied.upserts.push(n.item.clone());
                }
            }
        }
        applied
    }

    /// This list with `delta` (numbered `seq`) applied, object by object: a write older than
    /// the object's last (or its deletion's) is skipped. Tombstones at or below `prefix` (every
    /// delta up to it is in) are dropped.
    pub fn apply(&self, delta: Delta<T>, seq: u64, prefix: u64) -> (HeldList<T>, Applied<T>) {
        let mut entries = self.entries.clone();
        let mut tombstones = self.tombstones.clone();
        let mut applied = Applied::default();
        let newer = |at: Option<u64>| at.is_none_or(|at| seq > at);
        for item in delta.upserts {
            let key = item.key();
            if !newer(tombstones.get(&key).copied()) {
                continue;
            }
            match Self::find(&entries, sort_key(&item)) {
                Ok(i) if newer(Some(entries[i].seq)) => {
                    if *entries[i].item != item {
                        let item = Arc::new(item);
                        applied.changed.push(key);
                        applied.upserts.push(item.clone());
                        entries[i].item = item;
                    }
                    entries[i].seq = seq;
                }
                Ok(_) => {}
                Err(i) => {
                    tombstones.remove(&key);
                    let item = Arc::new(item);
                    applied.added.push(key);
                    applied.upserts.push(item.clone());
                    entries.insert(i, Entry { item, seq });
                }
            }
        }
        for key in delta.deletes {
            match Self::find(&entries, parse_key::<T>(&key)) {
                Ok(i) if newer(Some(entries[i].seq)) => {
                    entries.remove(i);
                    applied.removed.push(key.clone());
                    tombstones.insert(key, seq);
                }
                Ok(_) => {}
                Err(_) => {
                    if newer(tombstones.get(&key).copied()) {
                        tombstones.insert(key, seq);
                    }
                }
            }
        }
        tombstones.retain(|_, at| *at > prefix);
        (
            HeldList {
                entries,
                tombstones,
            },
            applied,
        )
    }

    /// Whether an object with `key` (`namespace/name`, or `name`) is held.
    pub fn contains(&self, key: &str) -> bool {
        Self::find(&self.entries, parse_key::<T>(key)).is_ok()
    }
}

/// A list a kind of object is held in, and how to reach it from the payloads that carry it.
pub trait Listed: Resource {
    fn held(list: &Held) -> Option<&HeldList<Self>>;
    fn into_held(list: HeldList<Self>) -> Held;
    /// A full list's items, if `payload` is this kind's list.
    fn from_list(payload: Payload) -> Option<Vec<Self>>;
    /// A delta, if `payload` is this kind's delta.
    fn from_delta(payload: Payload) -> Option<Delta<Self>>;
}

macro_rules! held_kinds {
    ($($variant:ident($ty:ty) = $list:ident / $delta:ident,)*) => {
        /// A held list of any kind.
        #[derive(Debug)]
        pub enum Held {
            $($variant(HeldList<$ty>),)*
        }

        $(impl Listed for $ty {
            fn held(list: &Held) -> Option<&HeldList<Self>> {
                match list {
                    Held::$variant(list) => Some(list),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
            fn into_held(list: HeldList<Self>) -> Held {
                Held::$variant(list)
            }
            fn from_list(payload: Payload) -> Option<Vec<Self>> {
                match payload {
                    Payload::$list(items) => Some(items),
                    _ => None,
                }
            }
            fn from_delta(payload: Payload) -> Option<Delta<Self>> {
                match payload {
                    Payload::$delta(delta) => Some(delta),
                    _ => None,
                }
            }
        })*

        impl Held {
            /// Objects held.
            pub fn len(&self) -> usize {
                match self {
                    $(Held::$variant(list) => list.len(),)*
                }
            }

            pub fn is_empty(&self) -> bool {
                self.len() == 0
            }
        }

    };
}

held_kinds! {
    Pods(Pod) = PodListSnapshot / PodDelta,
    Nodes(Node) = NodeListSnapshot / NodeDelta,
    Services(Service) = ServiceListSnapshot / ServiceDelta,
    Namespaces(Namespace) = NamespaceListSnapshot / NamespaceDelta,
    Ingresses(Ingress) = IngressListSnapshot / IngressDelta,
    Deployments(Deployment) = DeploymentListSnapshot / DeploymentDelta,
    Configmaps(ConfigMap) = ConfigmapListSnapshot / ConfigmapDelta,
}

/// Runs `$body` with the type `$T` bound to the item type of the list of `$source` (a list or
/// delta source), or evaluates `$other` for events and node samples.
macro_rules! with_listed {
    ($source:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $source.list() {
            Some(atlhyper_model::Source::PodListSnapshot) => {
                type $T = atlhyper_model::resources::Pod;
                $body
            }
            Some(atlhyper_model::Source::NodeListSnapshot) => {
                type $T = atlhyper_model::resources::Node;
                $body
            }
            Some(atlhyper_model::Source::ServiceListSnapshot) => {
                type $T = atlhyper_model::resources::Service;
                $body
            }
            Some(atlhyper_model::Source::NamespaceListSnapshot) => {
                type $T = atlhyper_model::resources::Namespace;
                $body
            }
            Some(atlhyper_model::Source::IngressListSnapshot) => {
                type $T = atlhyper_model::resources::Ingress;
                $body
            }
            Some(atlhyper_model::Source::DeploymentListSnapshot) => {
                type $T = atlhyper_model::resources::Deployment;
                $body
            }
            Some(atlhyper_model::Source::ConfigmapListSnapshot) => {
                type $T = atlhyper_model::resources::ConfigMap;
                $body
            }
            _ => $other,
        }
    };
}

pub(crate) use with_listed;

/// What one change of a list means to the live stream: the `snapshot` event's keys (for
/// clients that list again) and the `delta` event's objects (for those that apply it),
/// serialized only when published (a restart replaying stored pushes publishes nothing).
pub struct ListChange {
    pub keys: SnapshotChange,
    delta: Box<dyn FnOnce(usize) -> String + Send>,
}

impl ListChange {
    pub fn new<T: Listed>(
        cluster_id: &str,
        source: Source,
        ts_ms: i64,
        items: u64,
        applied: Applied<T>,
    ) -> ListChange {
        let (cluster, removed, upserts) = (
            cluster_id.to_owned(),
            applied.removed.clone(),
            applied.upserts,
        );
        let delta = Box::new(move |max_bytes: usize| {
            let mut delta = StreamDelta {
                cluster_id: cluster.clone(),
                source,
                ts_ms,
                upserts: upserts
                    .iter()
                    .map(|item| InCluster {
                        cluster_id: cluster.clone(),
                        object: &**item,
                    })
                    .collect(),
                deletes: removed,
                relist: false,
            };
            let json = serde_json::to_string(&delta).expect("serializes");
            if json.len() <= max_bytes {
                return json;
            }
            delta.upserts.clear();
            delta.deletes.clear();
            delta.relist = true;
            serde_json::to_string(&delta).expect("serializes")
        });
        ListChange {
            keys: SnapshotChange {
                cluster_id: cluster_id.to_owned(),
                source,
                ts_ms,
                items,
                added: applied.added,
                changed: applied.changed,
                removed: applied.removed,
            },
            delta,
        }
    }

    /// The `snapshot` event's keys and the `delta` event's data: a [`StreamDelta`] of the
    /// objects as lists show them, or, past `max_bytes`, one that asks the client to list again
    /// (whole objects must not push the stream's buffer out).
    pub fn delta_json(self, max_bytes: usize) -> (SnapshotChange, String) {
        let json = (self.delta)(max_bytes);
        (self.keys, json)
    }

    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.keys.added.is_empty() && self.keys.changed.is_empty() && self.keys.removed.is_empty()
    }
}

#[cfg(test)]
mod tests;
