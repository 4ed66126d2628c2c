//! kube-rs (the version the agent uses) against kubesim: reflectors over every served kind with
//! pagination, bookmarks, a forced 410 relist, and every write the agent sends.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{
    Api, DeleteParams, EvictParams, LogParams, Patch, PatchParams, WatchEvent, WatchParams,
};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Resource, ResourceExt};
use kubesim::sim::SimOptions;
use kubesim::store::Stored;
use serde::de::DeserializeOwned;

use common::{SMALL, start, wait_until};

/// A reflector with pages smaller than the list converges on exactly what kubesim holds.
async fn reflect<K>(cluster: &common::Cluster)
where
    K: Stored
        + Resource<DynamicType = ()>
        + DeserializeOwned
        + Clone
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = Api::all(cluster.client.clone());
    let (reader, writer) = reflector::store();
    let stream = reflector(
        writer,
        watcher(api, watcher::Config::default().page_size(3)),
    )
    .applied_objects()
    .for_each(|_| async {});
    let task = tokio::spawn(stream);
    tokio::time::timeout(Duration::from_secs(10), reader.wait_until_ready())
        .await
        .expect("reflector syncs")
        .expect("writer alive");
    let sim = cluster.running.sim.clone();
    wait_until(
        &format!("{} reflector matches kubesim", K::KIND),
        Duration::from_secs(10),
        || {
            let reader = reader.clone();
            let sim = sim.clone();
            async move {
                let mine: BTreeSet<String> = reader
                    .state()
                    .iter()
                    .map(|o| o.uid().unwrap_or_default())
                    .collect();
                let theirs: BTreeSet<String> = sim
                    .world()
                    .table::<K>()
                    .iter()
                    .map(|e| e.object.meta().uid.clone().unwrap_or_default())
                    .collect();
                mine.len() == reader.state().len() && mine == theirs
            }
        },
    )
    .await;
    task.abort();
}

#[tokio::test]
async fn reflectors_over_every_served_kind_match_kubesim() {
    let cluster = start("demo", 1.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    wait_until("the demo is populated", Duration::from_secs(20), || {
        let sim = sim.clone();
        async move {
            let world = sim.world();
            world.pods.len() >= 50 && world.events.len() >= 100 && world.replicasets.len() >= 15
        }
    })
    .await;
    reflect::<Namespace>(&cluster).await;
    reflect::<Node>(&cluster).await;
    reflect::<Pod>(&cluster).await;
    reflect::<Service>(&cluster).await;
    reflect::<Endpoints>(&cluster).await;
    reflect::<ConfigMap>(&cluster).await;
    reflect::<Event>(&cluster).await;
    reflect::<Deployment>(&cluster).await;
    reflect::<ReplicaSet>(&cluster).await;
    reflect::<DaemonSet>(&cluster).await;
    reflect::<Ingress>(&cluster).await;
    cluster.running.stop().await;
}

#[tokio::test]
async fn watches_get_bookmarks_with_kind_and_version() {
    let options = SimOptions {
        bookmark_interval: Duration::from_millis(200),
        ..SimOptions::default()
    };
    let cluster = start(SMALL, 1.0, options).await;
    let api: Api<Pod> = Api::all(cluster.client.clone());
    let list = api.list(&Default::default()).await.unwrap();
    let rv = list.metadata.resource_version.clone().unwrap();
    let mut stream = api
        .watch(&WatchParams::default().timeout(10), &rv)
        .await
        .unwrap()
        .boxed();
    let bookmark = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(event) = stream.try_next().await.unwrap() {
            if let WatchEvent::Bookmark(b) = event {
                return b;
            }
        }
        panic!("watch ended without a bookmark");
    })
    .await
    .expect("a bookmark within 5 s");
    assert!(
        bookmark.metadata.resource_version.parse::<u64>().unwrap() >= rv.parse::<u64>().unwrap()
    );
    cluster.running.stop().await;
}

#[tokio::test]
async fn forced_410_makes_the_reflector_relist_without_losing_or_duplicating_pods() {
    let cluster = start(SMALL, 5.0, SimOptions::default()).await;
    let api: Api<Pod> = Api::all(cluster.client.clone());
    let (reader, writer) = reflector::store();
    let inits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = inits.clone();
    let stream = watcher(api.clone(), watcher::Config::default().page_size(2))
        .inspect_ok(move |e| {
            if matches!(e, watcher::Event::Init) {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
        .reflect(writer)
        .for_each(|_| async {});
    let task = tokio::spawn(stream);
    reader.wait_until_ready().await.unwrap();
    let watched = reader.clone();
    wait_until(
        "the reflector sees the three pods",
        Duration::from_secs(10),
        move || {
            let reader = watched.clone();
            async move { reader.state().len() == 3 }
        },
    )
    .await;
    let sim = cluster.running.sim.clone();
    let pods_now = |sim: &std::sync::Arc<kubesim::sim::Sim>| -> BTreeSet<String> {
        sim.world()
            .pods
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone())
            .collect()
    };

    // Compact: every watch ends and old versions are gone. Then change the pods.
    let now = sim.now_ms();
    kubesim::sim::faults::apply(
        &mut sim.world(),
        &kubesim::sim::faults::Fault::CompactHistory,
        now,
    )
    .unwrap();
    let victim = reader.state()[0].name_any();
    let in_app: Api<Pod> = Api::namespaced(cluster.client.clone(), "app");
    in_app
        .delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();

    wait_until(
        "reflector relists and matches",
        Duration::from_secs(15),
        || {
            let reader = reader.clone();
            let sim = sim.clone();
            let inits = inits.clone();
            async move {
                let mine: Vec<String> = reader
                    .state()
                    .iter()
                    .map(|p| p.uid().unwrap_or_default())
                    .collect();
                let unique: BTreeSet<String> = mine.iter().cloned().collect();
                inits.load(std::sync::atomic::Ordering::SeqCst) >= 2
                    && unique.len() == mine.len()
                    && unique == pods_now(&sim)
                    && !mine.is_empty()
            }
        },
    )
    .await;
    assert!(reader.state().iter().all(|p| p.name_any() != victim));
    task.abort();
    cluster.running.stop().await;
}

#[tokio::test]
async fn every_write_the_agent_sends_is_served() {
    let cluster = start(SMALL, 5.0, SimOptions::default()).await;
    let client = cluster.client.clone();
    let pods: Api<Pod> = Api::namespaced(client.clone(), "app");
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "app");
    let nodes: Api<Node> = Api::all(client.clone());
    wait_until("three running pods", Duration::from_secs(15), || {
        let pods = pods.clone();
        async move {
            let list = pods.list(&Default::default()).await.unwrap();
            list.items.len() == 3
                && list
                    .items
                    .iter()
                    .all(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        }
    })
    .await;
    let names: Vec<String> = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .map(|p| p.name_any())
        .collect();

    // Logs, tail and all: once the web server has served a few requests, the last two lines.
    wait_until("two log lines", Duration::from_secs(10), || {
        let pods = pods.clone();
        let name = names[0].clone();
        async move {
            let all = pods.logs(&name, &LogParams::default()).await.unwrap();
            all.lines().count() >= 3
        }
    })
    .await;
    let text = pods
        .logs(
            &names[0],
            &LogParams {
                tail_lines: Some(2),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.contains("HTTP/1.1"), "{text}");

    // Graceful delete: the pod comes back with a deletionTimestamp.
    let deleted = pods
        .delete(&names[0], &DeleteParams::default())
        .await
        .unwrap();
    let pod = deleted.left().expect("a graceful delete returns the pod");
    assert!(pod.metadata.deletion_timestamp.is_some());

    // Eviction (kube-rs sends no kind).
    let status = pods
        .evict(&names[1], &EvictParams::default())
        .await
        .unwrap();
    assert_eq!(status.code, 201);

    // Rollout restart (merge patch of the template annotation).
    let restarted = deployments.restart("web").await.unwrap();
    let annotations = restarted
        .spec
        .unwrap()
        .template
        .metadata
        .unwrap()
        .annotations
        .unwrap();
    assert!(annotations.contains_key("kube.kubernetes.io/restartedAt"));

    // Scale subresource.
    let scale = deployments
        .patch_scale(
            "web",
            &PatchParams::default(),
            &Patch::Merge(serde_json::json!({"spec": {"replicas": 5}})),
        )
        .await
        .unwrap();
    assert_eq!(scale.spec.unwrap().replicas, Some(5));
    let d = deployments.get("web").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(5));

    // Set one container's image (strategic merge, as kubectl set image sends).
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:1.28"}]}}}});
    let d = deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    assert_eq!(
        d.spec.unwrap().template.spec.unwrap().containers[0]
            .image
            .as_deref(),
        Some("nginx:1.28")
    );

    // Cordon and uncordon.
    let node = nodes.cordon("worker-001").await.unwrap();
    assert_eq!(node.spec.unwrap().unschedulable, Some(true));
    let node = nodes.uncordon("worker-001").await.unwrap();
    assert_ne!(node.spec.unwrap().unschedulable, Some(true));

    // A missing object is a 404 Status.
    match pods.get("no-such-pod").await {
        Err(kube::Error::Api(status)) => {
            assert_eq!(status.code, 404);
            assert_eq!(status.reason, "NotFound");
        }
        other => panic!("expected 404, got {other:?}"),
    }
    cluster.running.stop().await;
}

#[tokio::test]
async fn objects_entering_and_leaving_a_selector_are_added_and_deleted_for_that_watch() {
    let cluster = start(SMALL, 5.0, SimOptions::default()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "app");
    wait_until("three pods", Duration::from_secs(10), || {
        let pods = pods.clone();
        async move { pods.list(&Default::default()).await.unwrap().items.len() == 3 }
    })
    .await;
    let name = pods.list(&Default::default()).await.unwrap().items[0].name_any();
    let mut stream = pods
        .watch(
            &WatchParams::default().labels("tier=canary").timeout(20),
            "0",
        )
        .await
        .unwrap()
        .boxed();
    let label = |value: Option<&str>| {
        Patch::Merge(serde_json::json!({"metadata": {"labels": {"tier": value}}}))
    };
    pods.patch(&name, &PatchParams::default(), &label(Some("canary")))
        .await
        .unwrap();
    pods.patch(&name, &PatchParams::default(), &label(None))
        .await
        .unwrap();
    let mut seen = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while seen.len() < 2 {
            match stream
                .try_next()
                .await
                .unwrap()
                .expect("the watch stays open")
            {
                WatchEvent::Added(p) => seen.push(("ADDED", p.name_any())),
                WatchEvent::Deleted(p) => seen.push(("DELETED", p.name_any())),
                WatchEvent::Modified(p) => seen.push(("MODIFIED", p.name_any())),
                _ => {}
            }
        }
    })
    .await
    .expect("two events");
    assert_eq!(seen, [("ADDED", name.clone()), ("DELETED", name)]);
    cluster.running.stop().await;
}

#[tokio::test]
async fn following_logs_streams_new_lines() {
    use futures::AsyncBufReadExt;
    let cluster = start(SMALL, 5.0, SimOptions::default()).await;
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "app");
    wait_until("a running pod", Duration::from_secs(10), || {
        let pods = pods.clone();
        async move {
            pods.list(&Default::default())
                .await
                .unwrap()
                .items
                .iter()
                .any(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        }
    })
    .await;
    let pod = pods
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running"))
        .unwrap();
    let stream = pods
        .log_stream(
            &pod.name_any(),
            &LogParams {
                follow: true,
                tail_lines: Some(1),
                ..LogParams::default()
            },
        )
        .await
        .unwrap();
    let mut lines = stream.lines();
    let mut got = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while got.len() < 4 {
            got.push(
                lines
                    .try_next()
                    .await
                    .unwrap()
                    .expect("the stream stays open"),
            );
        }
    })
    .await
    .expect("new lines keep coming while following");
    assert!(got[1..].iter().all(|l| l.contains("HTTP/1.1")), "{got:?}");
    cluster.running.stop().await;
}

#[tokio::test]
async fn a_stalled_watch_goes_silent_while_a_new_watch_is_served() {
    let cluster = start(SMALL, 0.001, SimOptions::default()).await;
    let maps: Api<ConfigMap> = Api::namespaced(cluster.client.clone(), "app");
    let named = |name: &str| {
        let mut map = ConfigMap::default();
        map.metadata.name = Some(name.to_owned());
        map
    };
    let created = maps
        .create(&Default::default(), &named("before"))
        .await
        .unwrap();
    let from = created.resource_version().unwrap();
    let mut old = maps
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();

    let now = cluster.running.sim.now_ms();
    kubesim::sim::faults::apply(
        &mut cluster.running.sim.world(),
        &kubesim::sim::faults::Fault::StallWatches,
        now,
    )
    .unwrap();
    maps.create(&Default::default(), &named("after"))
        .await
        .unwrap();

    let silent = tokio::time::timeout(Duration::from_secs(1), old.next()).await;
    assert!(silent.is_err(), "the stalled watch still sent {silent:?}");
    let mut new = maps
        .watch(&WatchParams::default(), &from)
        .await
        .unwrap()
        .boxed();
    let event = tokio::time::timeout(Duration::from_secs(5), new.next())
        .await
        .expect("a new watch is served")
        .unwrap()
        .unwrap();
    match event {
        WatchEvent::Added(map) => assert_eq!(map.name_any(), "after"),
        other => panic!("expected ADDED after, got {other:?}"),
    }
    cluster.running.stop().await;
}
