//! The simulated cluster's objects: one table per kind, a global resourceVersion, and per kind
//! a bounded history of changes that watches replay and follow.
//!
//! Each object is kept typed (for the controllers) and serialized once per write (for the API):
//! a list is a concatenation of stored bytes, and every watcher shares the same bytes.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use bytes::Bytes;
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tokio::sync::broadcast;

use crate::kinds::{Kind, ResourceKind, field_value, labels};
use crate::selector::{FieldSelector, LabelSelector};
use crate::status::ApiError;

/// `(namespace, name)`; the namespace is empty for cluster-scoped kinds.
pub type Key = (String, String);

/// What selectors look at, computed once per write.
#[derive(Debug)]
pub struct Selectable {
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub fields: Vec<(&'static str, String)>,
}

/// Which objects a list or watch wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub namespace: Option<String>,
    pub labels: LabelSelector,
    pub fields: FieldSelector,
}

impl Filter {
    pub fn matches(&self, meta: &Selectable) -> bool {
        if let Some(ns) = &self.namespace
            && *ns != meta.namespace
        {
            return false;
        }
        self.labels.matches(&meta.labels)
            && self.fields.matches(|name| {
                meta.fields
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.clone())
                    .unwrap_or_default()
            })
    }
}

/// A watch event's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeType {
    Added,
    Modified,
    Deleted,
}

impl ChangeType {
    pub const fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

/// One write to one object, as watches see it.
#[derive(Debug)]
pub struct Change {
    pub rv: u64,
    pub type_: ChangeType,
    pub meta: Arc<Selectable>,
    /// What selectors saw before a modification: an object that starts or stops matching a
    /// watch's selector is ADDED to or DELETED from that watch, as on a real API server.
    pub previous: Option<Arc<Selectable>>,
    pub json: Bytes,
}

impl Change {
    /// The event a watch with `filter` gets for this change, if any.
    pub fn seen_through(&self, filter: &Filter) -> Option<ChangeType> {
        let now = filter.matches(&self.meta);
        match self.type_ {
            ChangeType::Modified => {
                let before = self.previous.as_ref().is_none_or(|p| filter.matches(p));
                match (before, now) {
                    (true, true) => Some(ChangeType::Modified),
                    (false, true) => Some(ChangeType::Added),
                    (true, false) => Some(ChangeType::Deleted),
                    (false, false) => None,
                }
            }
            type_ => now.then_some(type_),
        }
    }
}

/// A stored object: typed, serialized, and what selectors need.
pub struct Entry<K> {
    pub object: Arc<K>,
    pub json: Bytes,
    pub meta: Arc<Selectable>,
}

impl<K> Clone for Entry<K> {
    fn clone(&self) -> Self {
        Entry {
            object: self.object.clone(),
            json: self.json.clone(),
            meta: self.meta.clone(),
        }
    }
}

/// The bounded history of one kind's changes and the channel live watches follow.
pub struct ChangeLog {
    history: VecDeque<Arc<Change>>,
    capacity: usize,
    /// The newest resourceVersion dropped from the history: a watch from before it is too old.
    compacted_rv: u64,
    tx: broadcast::Sender<Arc<Change>>,
}

impl ChangeLog {
    fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        ChangeLog {
            history: VecDeque::with_capacity(capacity.min(1024)),
            capacity,
            compacted_rv: 0,
            tx,
        }
    }

    fn push(&mut self, change: Change) {
        let change = Arc::new(change);
        if self.history.len() == self.capacity
            && let Some(dropped) = self.history.pop_front()
        {
            self.compacted_rv = dropped.rv;
        }
        self.history.push_back(change.clone());
        // No receiver is fine: nobody is watching.
        let _ = self.tx.send(change);
    }

    /// Forgets every change up to `rv` and ends every live watch (their receivers see the
    /// channel close); a watch resuming from before `rv` gets 410.
    fn compact(&mut self, rv: u64) {
        self.history.clear();
        self.compacted_rv = rv;
        let (tx, _) = broadcast::channel(BROADCAST_CAPACITY);
        self.tx = tx;
    }

    /// The changes after `rv`, or `None` when `rv` is older than the kept history.
    pub fn since(&self, rv: u64) -> Option<Vec<Arc<Change>>> {
        if rv < self.compacted_rv {
            return None;
        }
        let start = self.history.partition_point(|c| c.rv <= rv);
        Some(self.history.range(start..).cloned().collect())
    }

    /// The resourceVersion of the newest change of this kind (0 if none).
    pub fn last_rv(&self) -> u64 {
        self.history.back().map_or(self.compacted_rv, |c| c.rv)
    }

    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }
}

/// All objects of one kind.
pub struct Table<K> {
    objects: BTreeMap<Key, Entry<K>>,
    pub log: ChangeLog,
}

impl<K: Kind> Table<K> {
    fn new(history: usize) -> Self {
        Table {
            objects: BTreeMap::new(),
            log: ChangeLog::new(history),
        }
    }

    pub fn get(&self, namespace: &str, name: &str) -> Option<&Entry<K>> {
        self.objects.get(&(namespace.to_owned(), name.to_owned()))
    }

    /// Every object, in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Entry<K>> {
        self.objects.values()
    }

    /// The objects of one namespace.
    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Entry<K>> {
        self.objects
            .range((namespace.to_owned(), String::new())..)
            .take_while(move |((ns, _), _)| ns == namespace)
            .map(|(_, e)| e)
    }

    /// A page of matching objects after `after` (exclusive), and the key to continue from.
    pub fn page(
        &self,
        filter: &Filter,
        after: Option<&Key>,
        limit: Option<usize>,
    ) -> (Vec<&Entry<K>>, Option<Key>) {
        use std::ops::Bound;
        let start = match after {
            Some(key) => Bound::Excluded(key.clone()),
            None => match &filter.namespace {
                Some(ns) if K::RESOURCE.namespaced() => {
                    Bound::Included((ns.clone(), String::new()))
                }
                _ => Bound::Unbounded,
            },
        };
        let mut out = Vec::new();
        let mut next = None;
        for (key, entry) in self.objects.range((start, Bound::Unbounded)) {
            if let Some(ns) = &filter.namespace
                && K::RESOURCE.namespaced()
                && key.0 != *ns
            {
                break;
            }
            if !filter.matches(&entry.meta) {
                continue;
            }
            if limit.is_some_and(|l| out.len() == l) {
                next = Some(out_key(&out));
                break;
            }
            out.push(entry);
        }
        (out, next)
    }

    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }
}

fn out_key<K: Kind>(page: &[&Entry<K>]) -> Key {
    let last = page.last().expect("a full page is not empty");
    (last.meta.namespace.clone(), last.meta.name.clone())
}

/// How much history each kind keeps for watches: a watcher that falls further behind relists,
/// as it would after an API server's watch cache moved on.
pub const DEFAULT_HISTORY: usize = 1_000;

/// Changes buffered for live watchers; one that lags further is told to relist (410).
const BROADCAST_CAPACITY: usize = 1_024;

/// The whole cluster state.
pub struct World {
    rv: u64,
    /// The storage's compaction point, as etcd's: list continue tokens from before it expire.
    /// Apart from each kind's watch window, which a start-up burst moves in well under a
    /// second while a paged `kubectl get` is still reading.
    compacted_rv: u64,
    rng: StdRng,
    /// Where objects are serialized before being copied into their stored bytes.
    scratch: Vec<u8>,
    pub namespaces: Table<Namespace>,
    pub nodes: Table<Node>,
    pub pods: Table<Pod>,
    pub services: Table<Service>,
    pub endpoints: Table<Endpoints>,
    pub configmaps: Table<ConfigMap>,
    pub events: Table<Event>,
    pub deployments: Table<Deployment>,
    pub replicasets: Table<ReplicaSet>,
    pub daemonsets: Table<DaemonSet>,
    pub ingresses: Table<Ingress>,
    /// Bumped to stall every open watch (see [`World::stall_watches`]).
    pub watch_stalls: tokio::sync::watch::Sender<u64>,
}

/// Maps a kind to its table in the [`World`].
pub trait Stored: Kind {
    fn table(world: &World) -> &Table<Self>;
    fn table_mut(world: &mut World) -> &mut Table<Self>;
}

macro_rules! stored {
    ($($ty:ty => $field:ident),* $(,)?) => {
        $(impl Stored for $ty {
            fn table(world: &World) -> &Table<Self> { &world.$field }
            fn table_mut(world: &mut World) -> &mut Table<Self> { &mut world.$field }
        })*
    };
}

stored! {
    Namespace => namespaces,
    Node => nodes,
    Pod => pods,
    Service => services,
    Endpoints => endpoints,
    ConfigMap => configmaps,
    Event => events,
    Deployment => deployments,
    ReplicaSet => replicasets,
    DaemonSet => daemonsets,
    Ingress => ingresses,
}

/// Calls a generic function with the typed kind for a [`ResourceKind`].
#[macro_export]
macro_rules! with_kind {
    (await $kind:expr, $f:ident $(:: <$($g:ty),*>)? ( $($arg:expr),* $(,)? )) => {{
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
        use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Node, Pod, Service};
        use k8s_openapi::api::networking::v1::Ingress;
        use $crate::kinds::ResourceKind as RK;
        match $kind {
            RK::Namespace => $f::<Namespace $($(, $g)*)?>($($arg),*).await,
            RK::Node => $f::<Node $($(, $g)*)?>($($arg),*).await,
            RK::Pod => $f::<Pod $($(, $g)*)?>($($arg),*).await,
            RK::Service => $f::<Service $($(, $g)*)?>($($arg),*).await,
            RK::Endpoints => $f::<Endpoints $($(, $g)*)?>($($arg),*).await,
            RK::ConfigMap => $f::<ConfigMap $($(, $g)*)?>($($arg),*).await,
            RK::Event => $f::<Event $($(, $g)*)?>($($arg),*).await,
            RK::Deployment => $f::<Deployment $($(, $g)*)?>($($arg),*).await,
            RK::ReplicaSet => $f::<ReplicaSet $($(, $g)*)?>($($arg),*).await,
            RK::DaemonSet => $f::<DaemonSet $($(, $g)*)?>($($arg),*).await,
            RK::Ingress => $f::<Ingress $($(, $g)*)?>($($arg),*).await,
        }
    }};
    ($kind:expr, $f:ident $(:: <$($g:ty),*>)? ( $($arg:expr),* $(,)? )) => {{
        use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
        use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Node, Pod, Service};
        use k8s_openapi::api::networking::v1::Ingress;
        use $crate::kinds::ResourceKind as RK;
        match $kind {
            RK::Namespace => $f::<Namespace $($(, $g)*)?>($($arg),*),
            RK::Node => $f::<Node $($(, $g)*)?>($($arg),*),
            RK::Pod => $f::<Pod $($(, $g)*)?>($($arg),*),
            RK::Service => $f::<Service $($(, $g)*)?>($($arg),*),
            RK::Endpoints => $f::<Endpoints $($(, $g)*)?>($($arg),*),
            RK::ConfigMap => $f::<ConfigMap $($(, $g)*)?>($($arg),*),
            RK::Event => $f::<Event $($(, $g)*)?>($($arg),*),
            RK::Deployment => $f::<Deployment $($(, $g)*)?>($($arg),*),
            RK::ReplicaSet => $f::<ReplicaSet $($(, $g)*)?>($($arg),*),
            RK::DaemonSet => $f::<DaemonSet $($(, $g)*)?>($($arg),*),
            RK::Ingress => $f::<Ingress $($(, $g)*)?>($($arg),*),
        }
    }};
}

/// A Kubernetes timestamp from milliseconds since the epoch (the API shows whole seconds).
pub fn time(ms: i64) -> Time {
    Time(Timestamp::from_second(ms.div_euclid(1000)).expect("simulated time is within range"))
}

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

impl World {
    pub fn new(seed: u64, history: usize) -> Self {
        World {
            rv: 1,
            compacted_rv: 0,
            rng: StdRng::seed_from_u64(seed),
            scratch: Vec::new(),
            namespaces: Table::new(history),
            nodes: Table::new(history),
            pods: Table::new(history),
            services: Table::new(history),
            endpoints: Table::new(history),
            configmaps: Table::new(history),
            events: Table::new(history),
            deployments: Table::new(history),
            replicasets: Table::new(history),
            daemonsets: Table::new(history),
            ingresses: Table::new(history),
            watch_stalls: tokio::sync::watch::Sender::new(0),
        }
    }

    /// The current resourceVersion.
    pub fn rv(&self) -> u64 {
        self.rv
    }

    /// The last compaction's resourceVersion (0 before any).
    pub fn compacted_rv(&self) -> u64 {
        self.compacted_rv
    }

    pub fn rng(&mut self) -> &mut StdRng {
        &mut self.rng
    }

    /// `n` characters as Kubernetes' name generator draws them.
    pub fn random_suffix(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(NAME_ALPHABET[self.rng.random_range(0..NAME_ALPHABET.len())]))
            .collect()
    }

    /// A random (v4-shaped) uid.
    pub fn uid(&mut self) -> String {
        let a: u128 = self.rng.random();
        let hex = format!("{a:032x}");
        format!(
            "{}-{}-4{}-a{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[13..16],
            &hex[17..20],
            &hex[20..32]
        )
    }

    pub fn table<K: Stored>(&self) -> &Table<K> {
        K::table(self)
    }

    pub fn get<K: Stored>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        K::table(self)
            .get(namespace, name)
            .map(|e| e.object.clone())
    }

    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn store<K: Stored>(&mut self, mut object: K, type_: ChangeType) -> Arc<K> {
        let rv = self.next_rv();
        object.metadata_mut().resource_version = Some(rv.to_string());
        let meta = Arc::new(Selectable {
            namespace: object.metadata().namespace.clone().unwrap_or_default(),
            name: object.metadata().name.clone().unwrap_or_default(),
            labels: labels(&object),
            fields: K::RESOURCE
                .selectable_fields()
                .iter()
                .map(|f| (*f, field_value(&object, f)))
                .collect(),
        });
        // Serialized into a reused buffer and copied at its exact length: a `Vec` grown by
        // doubling keeps up to twice the bytes for as long as the object lives.
        self.scratch.clear();
        serde_json::to_writer(&mut self.scratch, &object).expect("k8s objects serialize");
        let json = Bytes::copy_from_slice(&self.scratch);
        let object = Arc::new(object);
        let key = (meta.namespace.clone(), meta.name.clone());
        let table = K::table_mut(self);
        let previous = match type_ {
            ChangeType::Modified => table.objects.get(&key).map(|e| e.meta.clone()),
            _ => None,
        };
        table.log.push(Change {
            rv,
            type_,
            meta: meta.clone(),
            previous,
            json: json.clone(),
        });
        if type_ == ChangeType::Deleted {
            table.objects.remove(&key);
        } else {
            table.objects.insert(
                key,
                Entry {
                    object: object.clone(),
                    json,
                    meta,
                },
            );
        }
        object
    }

    /// Creates an object: fills uid, creation time, generation; names it from `generateName`.
    ///
    /// # Errors
    /// 409 AlreadyExists, 404 when its namespace does not exist, 422 for a bad name.
    pub fn create<K: Stored>(&mut self, mut object: K, now_ms: i64) -> Result<Arc<K>, ApiError> {
        let plural = K::RESOURCE.plural();
        let meta = object.metadata_mut();
        if meta.name.as_deref().unwrap_or_default().is_empty() {
            match meta.generate_name.clone() {
                Some(prefix) if !prefix.is_empty() => {
                    let name = format!("{prefix}{}", self.random_suffix(5));
                    object.metadata_mut().name = Some(name);
                }
                _ => {
                    return Err(ApiError::invalid(
                        plural,
                        "",
                        "metadata.name: Required value: name or generateName is required",
                    ));
                }
            }
        }
        let name = object.metadata().name.clone().unwrap_or_default();
        if let Err(reason) = atlhyper_model::validate::dns1123_subdomain(&name) {
            return Err(ApiError::invalid(
                plural,
                &name,
                format!("metadata.name: Invalid value: \"{name}\": {reason}"),
            ));
        }
        let namespace = if K::RESOURCE.namespaced() {
            let ns = object
                .metadata()
                .namespace
                .clone()
                .unwrap_or_else(|| "default".to_owned());
            if self.namespaces.get("", &ns).is_none() {
                return Err(ApiError::not_found("namespaces", &ns));
            }
            object.metadata_mut().namespace = Some(ns.clone());
            ns
        } else {
            object.metadata_mut().namespace = None;
            String::new()
        };
        if K::table(self).get(&namespace, &name).is_some() {
            return Err(ApiError::already_exists(plural, &name));
        }
        object
            .on_create(self)
            .map_err(|message| ApiError::invalid(plural, &name, message))?;
        let uid = self.uid();
        let meta = object.metadata_mut();
        meta.uid = Some(uid);
        meta.creation_timestamp = Some(time(now_ms));
        meta.managed_fields = None;
        meta.deletion_timestamp = None;
        meta.generation = Some(1);
        Ok(self.store(object, ChangeType::Added))
    }

    /// Replaces an object (PUT, or the result of a patch). A `resourceVersion` in the new object
    /// must match the stored one; uid and creation time cannot change.
    ///
    /// # Errors
    /// 404 when it does not exist, 409 Conflict on a stale resourceVersion.
    pub fn replace<K: Stored>(&mut self, mut object: K) -> Result<Arc<K>, ApiError> {
        let plural = K::RESOURCE.plural();
        let namespace = object.metadata().namespace.clone().unwrap_or_default();
        let name = object.metadata().name.clone().unwrap_or_default();
        let Some(current) = K::table(self).get(&namespace, &name) else {
            return Err(ApiError::not_found(plural, &name));
        };
        let current = current.object.clone();
        let current_meta = current.metadata();
        if let Some(rv) = &object.metadata().resource_version
            && Some(rv) != current_meta.resource_version.as_ref()
        {
            return Err(ApiError::conflict(plural, &name));
        }
        object
            .on_update(&current)
            .map_err(|message| ApiError::invalid(plural, &name, message))?;
        let generation =
            current_meta.generation.unwrap_or(1) + i64::from(object.spec_changed(&current));
        let meta = object.metadata_mut();
        meta.uid = current_meta.uid.clone();
        meta.creation_timestamp = current_meta.creation_timestamp.clone();
        meta.generation = Some(generation);
        meta.managed_fields = None;
        if meta.deletion_timestamp.is_none() {
            meta.deletion_timestamp = current_meta.deletion_timestamp.clone();
        }
        // Nothing changed: no write, no event (as the API server does for no-op updates).
        meta.resource_version = current_meta.resource_version.clone();
        if object == *current {
            return Ok(current);
        }
        Ok(self.store(object, ChangeType::Modified))
    }

    /// Changes an object in place through `change`; writes only if something changed.
    ///
    /// # Errors
    /// 404 when it does not exist.
    pub fn update<K: Stored>(
        &mut self,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut K),
    ) -> Result<Arc<K>, ApiError> {
        let Some(current) = K::table(self).get(namespace, name) else {
            return Err(ApiError::not_found(K::RESOURCE.plural(), name));
        };
        let mut object = (*current.object).clone();
        change(&mut object);
        self.replace(object)
    }

    /// Removes an object now.
    ///
    /// # Errors
    /// 404 when it does not exist.
    pub fn delete<K: Stored>(&mut self, namespace: &str, name: &str) -> Result<Arc<K>, ApiError> {
        let Some(current) = K::table(self).get(namespace, name) else {
            return Err(ApiError::not_found(K::RESOURCE.plural(), name));
        };
        let object = (*current.object).clone();
        Ok(self.store(object, ChangeType::Deleted))
    }

    /// Every open watch stops sending (no events, no bookmarks) but stays open, as over a
    /// connection gone half-dead; watches started afterwards are served normally.
    pub fn stall_watches(&mut self) {
        self.watch_stalls.send_modify(|n| *n += 1);
    }

    /// Drops the watch history of every kind and ends every watch, as a compaction followed by
    /// an API server restart would: clients resuming from an older version must relist.
    pub fn compact_history(&mut self) {
        let rv = self.next_rv();
        self.compacted_rv = rv;
        fn compact<K: Stored>(world: &mut World, rv: u64) {
            K::table_mut(world).log.compact(rv);
        }
        for kind in ResourceKind::ALL {
            crate::with_kind!(kind, compact(self, rv));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn named<K: Kind + Default>(namespace: Option<&str>, name: &str) -> K {
        let mut object = K::default();
        *object.metadata_mut() = ObjectMeta {
            name: Some(name.to_owned()),
            namespace: namespace.map(str::to_owned),
            ..Default::default()
        };
        object
    }

    #[test]
    fn a_created_service_gets_a_free_cluster_ip_or_the_free_one_it_asks_for() {
        use k8s_openapi::api::core::v1::ServiceSpec;
        let mut world = World::new(1, 3);
        world
            .create(named::<Namespace>(None, "default"), 0)
            .unwrap();
        let service = |name: &str, ip: Option<&str>, type_: Option<&str>| {
            let mut s = named::<Service>(Some("default"), name);
            s.spec = Some(ServiceSpec {
                cluster_ip: ip.map(str::to_owned),
                type_: type_.map(str::to_owned),
                ..Default::default()
            });
            s
        };
        let ip = |s: &Service| s.spec.as_ref().unwrap().cluster_ip.clone();
        let first = world.create(service("a", None, None), 0).unwrap();
        assert_eq!(ip(&first).as_deref(), Some("10.96.0.1"));
        assert_eq!(
            first.spec.as_ref().unwrap().cluster_ips,
            Some(vec!["10.96.0.1".to_owned()])
        );
        let asked = world
            .create(service("b", Some("10.96.0.2"), None), 0)
            .unwrap();
        assert_eq!(ip(&asked).as_deref(), Some("10.96.0.2"));
        let next = world.create(service("c", Some(""), None), 0).unwrap();
        assert_eq!(
            ip(&next).as_deref(),
            Some("10.96.0.3"),
            "the lowest free one"
        );
        let headless = world.create(service("d", Some("None"), None), 0).unwrap();
        assert_eq!(ip(&headless).as_deref(), Some("None"));
        let external = world
            .create(service("e", None, Some("ExternalName")), 0)
            .unwrap();
        assert_eq!(ip(&external), None);

        let taken = world
            .create(service("f", Some("10.96.0.2"), None), 0)
            .unwrap_err();
        assert_eq!(taken.code, 422);
        assert!(
            taken.message.contains("provided IP is already allocated"),
            "{}",
            taken.message
        );
        let outside = world
            .create(service("g", Some("192.168.0.1"), None), 0)
            .unwrap_err();
        assert!(
            outside.message.contains("not in the valid range"),
            "{}",
            outside.message
        );
        assert!(
            world.services.get("default", "f").is_none(),
            "a refused one is not stored"
        );

        // Replaced without its ClusterIP: kept. With another one: refused.
        let mut again = service("a", None, None);
        again.spec.as_mut().unwrap().session_affinity = Some("ClientIP".to_owned());
        let kept = world.replace(again).unwrap();
        assert_eq!(ip(&kept).as_deref(), Some("10.96.0.1"));
        assert_eq!(
            kept.spec.as_ref().unwrap().session_affinity.as_deref(),
            Some("ClientIP")
        );
        let moved = world
            .replace(service("a", Some("10.96.0.9"), None))
            .unwrap_err();
        assert_eq!(moved.code, 422);
        assert!(
            moved.message.contains("may not change once set"),
            "{}",
            moved.message
        );
    }

    #[test]
    fn writes_bump_the_global_resource_version_and_log_changes() {
        let mut world = World::new(1, 3);
        world
            .create(named::<Namespace>(None, "default"), 0)
            .unwrap();
        let pod = world
            .create(named::<Pod>(Some("default"), "p1"), 0)
            .unwrap();
        let rv1: u64 = pod
            .metadata
            .resource_version
            .as_ref()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(rv1, world.rv());
        assert!(pod.metadata.uid.is_some());

        let err = world
            .create(named::<Pod>(Some("default"), "p1"), 0)
            .unwrap_err();
        assert_eq!(err.reason, "AlreadyExists");
        let err = world
            .create(named::<Pod>(Some("nope"), "p2"), 0)
            .unwrap_err();
        assert_eq!(err.code, 404);

        // A no-op update writes nothing.
        world.update::<Pod>("default", "p1", |_| {}).unwrap();
        assert_eq!(world.rv(), rv1);
        world
            .update::<Pod>("default", "p1", |p| {
                p.metadata.labels = Some([("a".into(), "b".into())].into())
            })
            .unwrap();
        assert_eq!(world.rv(), rv1 + 1);

        // A stale resourceVersion conflicts.
        let mut stale = (*pod).clone();
        stale.metadata.labels = Some([("x".into(), "y".into())].into());
        assert_eq!(world.replace(stale).unwrap_err().reason, "Conflict");

        world.delete::<Pod>("default", "p1").unwrap();
        let changes = world.pods.log.since(0).unwrap();
        let types: Vec<_> = changes.iter().map(|c| c.type_).collect();
        assert_eq!(
            types,
            [ChangeType::Added, ChangeType::Modified, ChangeType::Deleted]
        );
    }

    #[test]
    fn history_is_bounded_and_old_versions_expire() {
        let mut world = World::new(1, 2);
        world
            .create(named::<Namespace>(None, "default"), 0)
            .unwrap();
        for i in 0..5 {
            world
                .create(named::<Pod>(Some("default"), &format!("p{i}")), 0)
                .unwrap();
        }
        let compacted = world.pods.log.compacted_rv();
        assert!(compacted > 0);
        assert!(world.pods.log.since(compacted - 1).is_none());
        assert_eq!(world.pods.log.since(compacted).unwrap().len(), 2);
    }

    #[test]
    fn pages_follow_key_order_and_filters() {
        let mut world = World::new(1, 100);
        for ns in ["a", "b"] {
            world.create(named::<Namespace>(None, ns), 0).unwrap();
            for i in 0..3 {
                world
                    .create(named::<Pod>(Some(ns), &format!("p{i}")), 0)
                    .unwrap();
            }
        }
        let all = Filter::default();
        let (page, next) = world.pods.page(&all, None, Some(4));
        assert_eq!(page.len(), 4);
        let next = next.unwrap();
        assert_eq!(next, ("b".to_owned(), "p0".to_owned()));
        let (rest, none) = world.pods.page(&all, Some(&next), Some(4));
        assert_eq!(rest.len(), 2);
        assert!(none.is_none());

        let in_b = Filter {
            namespace: Some("b".into()),
            ..Filter::default()
        };
        let (page, _) = world.pods.page(&in_b, None, None);
        assert_eq!(page.len(), 3);
        assert!(page.iter().all(|e| e.meta.namespace == "b"));
    }
}
