//! Garbage collection (dependents of deleted owners, contents of terminating namespaces) and
//! the node lifecycle controller (pods on a node that stopped reporting become unready, then
//! are evicted).

use std::collections::HashSet;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;

use super::events::{Recorder, Source};
use super::reference;
use super::scheduler::set_condition;
use crate::store::{Stored, World};

/// How long pods tolerate a not-ready node before eviction (the default tolerationSeconds).
const EVICTION_AFTER_MS: i64 = 300_000;

fn orphans<K: Stored>(world: &World, owners: &HashSet<String>) -> Vec<(String, String)> {
    world
        .table::<K>()
        .iter()
        .filter(|e| {
            e.object
                .metadata()
                .owner_references
                .as_ref()
                .is_some_and(|refs| {
                    refs.iter()
                        .filter(|r| r.controller == Some(true))
                        .any(|r| !owners.contains(&r.uid))
                })
        })
        .map(|e| (e.meta.namespace.clone(), e.meta.name.clone()))
        .collect()
}

fn clear_namespace<K: Stored>(world: &mut World, namespace: &str, now_ms: i64) -> usize {
    let names: Vec<String> = world
        .table::<K>()
        .in_namespace(namespace)
        .map(|e| e.meta.name.clone())
        .collect();
    for name in &names {
        let _ = crate::sim::lifecycle::delete::<K>(world, namespace, name, Some(0), now_ms);
    }
    names.len()
}

pub fn collect(world: &mut World, _recorder: &mut Recorder, now_ms: i64) {
    let mut owners: HashSet<String> = HashSet::new();
    owners.extend(
        world
            .daemonsets
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone()),
    );
    owners.extend(
        world
            .deployments
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone()),
    );
    owners.extend(
        world
            .replicasets
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone()),
    );
    owners.extend(
        world
            .nodes
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone()),
    );
    for (ns, name) in orphans::<ReplicaSet>(world, &owners) {
        let _ = world.delete::<ReplicaSet>(&ns, &name);
    }
    for (ns, name) in orphans::<Pod>(world, &owners) {
        let terminating = world
            .get::<Pod>(&ns, &name)
            .is_some_and(|p| p.metadata.deletion_timestamp.is_some());
        if !terminating {
            let _ = crate::sim::lifecycle::delete::<Pod>(world, &ns, &name, None, now_ms);
        }
    }

    let terminating: Vec<String> = world
        .namespaces
        .iter()
        .filter(|e| e.object.metadata.deletion_timestamp.is_some())
        .map(|e| e.meta.name.clone())
        .collect();
    for ns in terminating {
        let left = clear_namespace::<Deployment>(world, &ns, now_ms)
            + clear_namespace::<DaemonSet>(world, &ns, now_ms)
            + clear_namespace::<ReplicaSet>(world, &ns, now_ms)
            + clear_namespace::<Pod>(world, &ns, now_ms)
            + clear_namespace::<Service>(world, &ns, now_ms)
            + clear_namespace::<Endpoints>(world, &ns, now_ms)
            + clear_namespace::<ConfigMap>(world, &ns, now_ms)
            + clear_namespace::<Ingress>(world, &ns, now_ms)
            + clear_namespace::<Event>(world, &ns, now_ms);
        if left == 0 {
            let _ = world.delete::<Namespace>("", &ns);
        }
    }
}

pub fn node_lifecycle(world: &mut World, recorder: &mut Recorder, now_ms: i64) {
    let down: Vec<(String, i64)> = world
        .nodes
        .iter()
        .filter_map(|e| {
            let ready = e
                .object
                .status
                .as_ref()?
                .conditions
                .as_ref()?
                .iter()
                .find(|c| c.type_ == "Ready")?
                .clone();
            (ready.status != "True").then(|| {
                let since = ready
                    .last_transition_time
                    .map_or(now_ms, |t| t.0.as_millisecond());
                (e.meta.name.clone(), since)
            })
        })
        .collect();
    let controller = Source {
        component: "node-controller",
        host: None,
    };
    for (node, since) in down {
        let pods: Vec<(String, String)> = world
            .pods
            .iter()
            .filter(|e| e.object.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(&node))
            .map(|e| (e.meta.namespace.clone(), e.meta.name.clone()))
            .collect();
        for (ns, name) in pods {
            let Some(pod) = world.get::<Pod>(&ns, &name) else {
                continue;
            };
            let ready = pod
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
                .map(|c| c.status.clone());
            if ready.as_deref() != Some("False") {
                let _ = world.update::<Pod>(&ns, &name, |p| {
                    let status = p.status.get_or_insert_default();
                    for c in status.container_statuses.iter_mut().flatten() {
                        c.ready = false;
                    }
                    set_condition(
                        status.conditions.get_or_insert_default(),
                        "Ready",
                        "False",
                        Some("NodeNotReady"),
                        None,
                        now_ms,
                    );
                });
                recorder.record(
                    world,
                    &reference(&*pod),
                    "Warning",
                    "NodeNotReady",
                    "Node is not ready",
                    controller,
                    now_ms,
                );
            }
            if now_ms - since >= EVICTION_AFTER_MS && pod.metadata.deletion_timestamp.is_none() {
                let _ = crate::sim::lifecycle::delete::<Pod>(world, &ns, &name, None, now_ms);
                recorder.record(
                    world,
                    &reference(&*pod),
                    "Normal",
                    "TaintManagerEviction",
                    &format!("Marking for deletion Pod {ns}/{name}"),
                    controller,
                    now_ms,
                );
            }
        }
    }
}
