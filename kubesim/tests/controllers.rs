//! The simulated cluster behaves like one: replaced pods, rollouts, scaling, image-pull
//! failures, crash loops and nodes that stop reporting.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, Patch, PatchParams};
use kubesim::sim::faults::Fault;
use kubesim::sim::{Sim, SimOptions};

use common::{SMALL, start, wait_until};

fn web_pods(sim: &Sim) -> Vec<Arc<Pod>> {
    sim.world()
        .pods
        .in_namespace("app")
        .filter(|e| e.object.metadata.deletion_timestamp.is_none())
        .map(|e| e.object.clone())
        .collect()
}

fn uids(pods: &[Arc<Pod>]) -> BTreeSet<String> {
    pods.iter().filter_map(|p| p.metadata.uid.clone()).collect()
}

fn ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

async fn settled(sim: &Arc<Sim>, n: usize) {
    let sim = sim.clone();
    wait_until(
        &format!("{n} ready web pods"),
        Duration::from_secs(30),
        move || {
            let sim = sim.clone();
            async move {
                let pods = web_pods(&sim);
                pods.len() == n && pods.iter().all(|p| ready(p))
            }
        },
    )
    .await;
}

fn events_for(sim: &Sim, pod: &str) -> Vec<(String, String)> {
    sim.world()
        .events
        .iter()
        .filter(|e| e.object.involved_object.name.as_deref() == Some(pod))
        .map(|e| {
            (
                e.object.reason.clone().unwrap_or_default(),
                e.object.message.clone().unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_deleted_pod_of_a_deployment_is_replaced() {
    let cluster = start(SMALL, 10.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let before = web_pods(&sim);
    let victim = before[0].metadata.name.clone().unwrap();
    let owner = before[0].metadata.owner_references.clone();
    let pods: Api<Pod> = Api::namespaced(cluster.client.clone(), "app");
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap();
    settled(&sim, 3).await;
    let after = web_pods(&sim);
    assert!(
        after
            .iter()
            .all(|p| p.metadata.name.as_deref() != Some(victim.as_str()))
    );
    assert_eq!(uids(&after).intersection(&uids(&before)).count(), 2);
    assert!(
        after.iter().all(|p| p.metadata.owner_references == owner),
        "same ReplicaSet"
    );
    cluster.running.stop().await;
}

#[tokio::test]
async fn rollout_restart_replaces_every_pod_exactly_once() {
    let cluster = start(SMALL, 10.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let before = uids(&web_pods(&sim));
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "app");
    deployments.restart("web").await.unwrap();
    let watched = sim.clone();
    wait_until(
        "three new ready pods, none old",
        Duration::from_secs(60),
        move || {
            let sim = watched.clone();
            let before = before.clone();
            async move {
                let pods = web_pods(&sim);
                pods.len() == 3 && pods.iter().all(|p| ready(p)) && uids(&pods).is_disjoint(&before)
            }
        },
    )
    .await;
    // Exactly three pods were created by the new ReplicaSet: none replaced twice.
    let created = {
        let world = sim.world();
        let new_rs: Vec<_> = world
            .replicasets
            .in_namespace("app")
            .filter(|e| e.object.spec.as_ref().and_then(|s| s.replicas) == Some(3))
            .map(|e| e.meta.name.clone())
            .collect();
        assert_eq!(new_rs.len(), 1);
        world
            .events
            .iter()
            .filter(|e| e.object.reason.as_deref() == Some("SuccessfulCreate"))
            .filter(|e| e.object.involved_object.name.as_deref() == Some(new_rs[0].as_str()))
            .count()
    };
    assert_eq!(created, 3);
    cluster.running.stop().await;
}

#[tokio::test]
async fn scaling_three_to_five_to_one() {
    let cluster = start(SMALL, 10.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "app");
    for n in [5, 1] {
        let patch = Patch::Merge(serde_json::json!({"spec": {"replicas": n}}));
        deployments
            .patch_scale("web", &PatchParams::default(), &patch)
            .await
            .unwrap();
        settled(&sim, n as usize).await;
        let watched = sim.clone();
        wait_until(
            "deployment status catches up",
            Duration::from_secs(10),
            || {
                let sim = watched.clone();
                async move {
                    let d = sim.world().get::<Deployment>("app", "web").unwrap();
                    d.status.as_ref().and_then(|s| s.ready_replicas) == Some(n)
                }
            },
        )
        .await;
    }
    cluster.running.stop().await;
}

#[tokio::test]
async fn a_bad_image_gives_image_pull_back_off_with_events() {
    let cluster = start(SMALL, 10.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let deployments: Api<Deployment> = Api::namespaced(cluster.client.clone(), "app");
    let patch = serde_json::json!({"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:does-not-exist"}]}}}});
    deployments
        .patch("web", &PatchParams::default(), &Patch::Strategic(patch))
        .await
        .unwrap();
    let watched = sim.clone();
    wait_until(
        "a pod in ImagePullBackOff",
        Duration::from_secs(30),
        move || {
            let sim = watched.clone();
            async move {
                web_pods(&sim)
                    .iter()
                    .any(|p| kubesim::api::table::pod_summary(p).status == "ImagePullBackOff")
            }
        },
    )
    .await;
    let stuck = web_pods(&sim)
        .into_iter()
        .find(|p| kubesim::api::table::pod_summary(p).status == "ImagePullBackOff")
        .unwrap();
    let events = events_for(&sim, stuck.metadata.name.as_deref().unwrap());
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "Failed" && m.contains("nginx:does-not-exist")),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "BackOff" && m.contains("Back-off pulling image")),
        "{events:?}"
    );
    // The rollout stalls: old pods keep serving.
    assert!(web_pods(&sim).iter().filter(|p| ready(p)).count() >= 2);
    cluster.running.stop().await;
}

#[tokio::test]
async fn an_injected_crash_loops_with_back_off_and_heals() {
    let cluster = start(SMALL, 20.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let pod = web_pods(&sim)[0].metadata.name.clone().unwrap();
    let now = sim.now_ms();
    let fault = Fault::Crash {
        namespace: "app".into(),
        pod: pod.clone(),
        container: None,
    };
    kubesim::sim::faults::apply(&mut sim.world(), &fault, now).unwrap();
    let watched = sim.clone();
    let name = pod.clone();
    wait_until(
        "CrashLoopBackOff with two restarts",
        Duration::from_secs(30),
        move || {
            let sim = watched.clone();
            let name = name.clone();
            async move {
                let p = sim.world().get::<Pod>("app", &name).unwrap();
                let s = kubesim::api::table::pod_summary(&p);
                s.restarts >= 2 && (s.status == "CrashLoopBackOff" || s.status == "Running")
            }
        },
    )
    .await;
    let p = sim.world().get::<Pod>("app", &pod).unwrap();
    let last = p
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0]
        .last_state
        .clone()
        .unwrap();
    assert_eq!(last.terminated.as_ref().unwrap().exit_code, 1);
    let events = events_for(&sim, &pod);
    assert!(
        events
            .iter()
            .any(|(r, m)| r == "BackOff" && m.contains("Back-off restarting failed container web"))
    );

    let now = sim.now_ms();
    let heal = Fault::Heal {
        namespace: "app".into(),
        pod: pod.clone(),
    };
    kubesim::sim::faults::apply(&mut sim.world(), &heal, now).unwrap();
    let watched = sim.clone();
    wait_until(
        "healed pod runs and stays ready",
        Duration::from_secs(40),
        move || {
            let sim = watched.clone();
            let name = pod.clone();
            async move {
                let p = sim.world().get::<Pod>("app", &name).unwrap();
                kubesim::api::table::pod_summary(&p).status == "Running" && ready(&p)
            }
        },
    )
    .await;
    cluster.running.stop().await;
}

#[tokio::test]
async fn a_node_that_stops_reporting_makes_its_pods_unready() {
    let cluster = start(SMALL, 10.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    settled(&sim, 3).await;
    let node = web_pods(&sim)[0]
        .spec
        .as_ref()
        .unwrap()
        .node_name
        .clone()
        .unwrap();
    let now = sim.now_ms();
    kubesim::sim::faults::apply(
        &mut sim.world(),
        &Fault::NodeNotReady { node: node.clone() },
        now,
    )
    .unwrap();
    let watched = sim.clone();
    let n = node.clone();
    wait_until(
        "pods on the node unready",
        Duration::from_secs(10),
        move || {
            let sim = watched.clone();
            let n = n.clone();
            async move {
                web_pods(&sim)
                    .iter()
                    .filter(|p| {
                        p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(n.as_str())
                    })
                    .all(|p| !ready(p))
            }
        },
    )
    .await;
    let table_status = {
        let world = sim.world();
        let n = world
            .get::<k8s_openapi::api::core::v1::Node>("", &node)
            .unwrap();
        kubesim::api::table::node_status(&n)
    };
    assert_eq!(table_status, "Unknown");
    let now = sim.now_ms();
    kubesim::sim::faults::apply(&mut sim.world(), &Fault::NodeReady { node }, now).unwrap();
    settled(&sim, 3).await;
    cluster.running.stop().await;
}
