//! `drain`: cordon, then evict every pod but DaemonSet and mirror pods through the eviction
//! API (a disruption budget's 429 is retried until the timeout), then wait for them to go —
//! what `kubectl drain --ignore-daemonsets` does.

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;

use crate::operator::{Outcome, evict, pods_on, set_unschedulable};

fn daemonset_pod(pod: &Pod) -> bool {
    pod.metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.kind == "DaemonSet")
}

fn mirror_pod(pod: &Pod) -> bool {
    pod.metadata
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
}

fn finished(pod: &Pod) -> bool {
    matches!(
        pod.status.as_ref().and_then(|s| s.phase.as_deref()),
        Some("Succeeded" | "Failed")
    )
}

fn key(pod: &Pod) -> String {
    format!(
        "{}/{}",
        pod.metadata.namespace.as_deref().unwrap_or_default(),
        pod.metadata.name.as_deref().unwrap_or_default()
    )
}

pub async fn drain(
    client: &Client,
    node: &str,
    grace: Option<u32>,
    ignore_daemonsets: bool,
    timeout: Duration,
    protected: &[String],
) -> Result<Outcome, kube::Error> {
    let deadline = Instant::now() + timeout;
    set_unschedulable(client, node, true).await?;
    let pods = pods_on(client, node).await?;
    let daemons: Vec<&Pod> = pods.iter().filter(|p| daemonset_pod(p)).collect();
    if !daemons.is_empty() && !ignore_daemonsets {
        return Ok(Outcome::failed(format!(
            "node {node} cordoned, but it runs DaemonSet pods ({}); drain again with \
             ignore_daemonsets",
            daemons
                .iter()
                .map(|p| key(p))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let movable: Vec<&Pod> = pods
        .iter()
        .filter(|p| !daemonset_pod(p) && !mirror_pod(p) && !finished(p))
        .collect();
    // The cluster's protected namespaces are not touched, even by a drain.
    let (kept, targets): (Vec<&Pod>, Vec<&Pod>) = movable.into_iter().partition(|p| {
        protected
            .iter()
            .any(|ns| p.metadata.namespace.as_deref() == Some(ns.as_str()))
    });
    let mut evicted = Vec::new();
    for pod in &targets {
        let namespace = pod.metadata.namespace.as_deref().unwrap_or("default");
        let name = pod.metadata.name.as_deref().unwrap_or_default();
        let api: Api<Pod> = Api::namespaced(client.clone(), namespace);
        if let Err(why) = evict(&api, name, grace, deadline).await {
            return Ok(Outcome::failed(format!(
                "node {node} cordoned; evicted {} of {} pods, then {}: {why}",
                evicted.len(),
                targets.len(),
                key(pod)
            )));
        }
        evicted.push(key(pod));
    }
    // Wait for the evicted pods to be gone from the node, as kubectl does.
    loop {
        let left: Vec<String> = pods_on(client, node)
            .await?
            .iter()
            .filter(|p| evicted.contains(&key(p)))
            .map(key)
            .collect();
        if left.is_empty() {
            break;
        }
        if Instant::now() >= deadline {
            return Ok(Outcome::failed(format!(
                "node {node} cordoned and {} pods evicted, but {} still terminating after the \
                 timeout: {}",
                evicted.len(),
                left.len(),
                left.join(", ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let mut message = format!(
        "node {node} drained: {} pods evicted, {} DaemonSet pods left in place",
        evicted.len(),
        daemons.len()
    );
    if !kept.is_empty() {
        message.push_str(&format!(
            "; {} pods of protected namespaces left running: {}",
            kept.len(),
            kept.iter().map(|p| key(p)).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(Outcome::ok(message))
}
