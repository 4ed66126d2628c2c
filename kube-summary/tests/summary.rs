//! Summaries of real-shaped objects, of objects missing every optional field, and of objects
//! with very large metadata.

use atlhyper_kube_summary::summary;
use atlhyper_model::resources::{ContainerState, EventType, PodPhase, ServiceType};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use serde_json::json;

#[test]
fn a_crash_looping_pod_reads_as_kubectl_shows_it() {
    let pod: Pod = serde_json::from_value(json!({
        "metadata": {"name": "checkout-1", "namespace": "shop", "uid": "u1",
                     "creationTimestamp": "2026-11-25T10:00:00Z",
                     "labels": {"app": "checkout"},
                     "annotations": {"big": "x".repeat(100_000)},
                     "managedFields": [{"manager": "kubectl", "operation": "Update"}],
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "checkout-5d8f", "uid": "rs", "controller": true}]},
        "spec": {"nodeName": "worker-2", "containers": [
            {"name": "app", "image": "shop/checkout:1.9", "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"memory": "512Mi"}}},
            {"name": "envoy", "image": "envoy:1.31"}]},
        "status": {"phase": "Running", "podIP": "10.0.0.7", "qosClass": "Burstable",
            "containerStatuses": [
                {"name": "app", "image": "shop/checkout:1.9", "imageID": "", "ready": false, "restartCount": 42,
                 "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s"}},
                 "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": "2026-11-25T10:59:00Z"}}},
                {"name": "envoy", "image": "envoy:1.31", "imageID": "", "ready": true, "restartCount": 0,
                 "state": {"running": {"startedAt": "2026-11-25T10:00:05Z"}}}]}
    }))
    .unwrap();
    let s = summary::pod(&pod);
    assert_eq!(
        (s.status.as_str(), s.ready, s.total, s.restarts),
        ("CrashLoopBackOff", 1, 2, 42)
    );
    assert_eq!(s.phase, PodPhase::Running);
    assert_eq!(s.node.as_deref(), Some("worker-2"));
    assert_eq!(s.owner.as_ref().unwrap().name, "checkout-5d8f");
    let app = &s.containers[0];
    assert_eq!(app.state, ContainerState::Waiting);
    assert_eq!(app.reason.as_deref(), Some("CrashLoopBackOff"));
    assert_eq!(app.requests.cpu_millis, Some(250));
    assert_eq!(app.limits.memory_bytes, Some(512 << 20));
    assert_eq!(app.last_termination.as_ref().unwrap().exit_code, 1);
    assert_eq!(s.containers[1].state, ContainerState::Running);
    // Annotations and managed fields are not carried.
    let json = serde_json::to_string(&s).unwrap();
    assert!(json.len() < 2_000, "{} bytes", json.len());
}

#[test]
fn objects_missing_every_optional_field_summarize_without_panicking() {
    let pod = summary::pod(&Pod::default());
    assert_eq!((pod.phase, pod.ready, pod.total), (PodPhase::Unknown, 0, 0));
    assert!(pod.node.is_none() && pod.containers.is_empty());
    let node = summary::node(&Node::default());
    assert!(!node.ready && node.conditions.is_empty());
    assert_eq!(node.capacity.cpu_millis, 0);
    let deployment = summary::deployment(&Deployment::default());
    assert_eq!(deployment.desired, 1, "replicas default to 1");
    let service = summary::service(&Service::default());
    assert_eq!(service.type_, ServiceType::ClusterIP);
    assert!(service.cluster_ip.is_none());
    assert_eq!(
        summary::namespace_summary(&Namespace::default()).phase,
        "Active"
    );
    assert!(summary::ingress(&Ingress::default()).rules.is_empty());
    assert!(summary::configmap(&ConfigMap::default()).keys.is_empty());
    let event = summary::event(&Event::default());
    assert_eq!((event.type_, event.count), (EventType::Normal, 1));
}

#[test]
fn large_metadata_keeps_labels_and_drops_the_rest() {
    let labels: serde_json::Map<String, serde_json::Value> = (0..2_000)
        .map(|i| (format!("label-{i}"), json!("v")))
        .collect();
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": {"name": "big", "namespace": "ns", "labels": labels,
                     "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "y".repeat(200_000)}},
        "data": {"b.yaml": "x".repeat(300_000), "a": "1"},
        "binaryData": {"blob": "AAAA"}
    }))
    .unwrap();
    let s = summary::configmap(&cm);
    assert_eq!(s.labels.len(), 2_000);
    let keys: Vec<(&str, u64, bool)> = s
        .keys
        .iter()
        .map(|k| (k.name.as_str(), k.bytes, k.binary))
        .collect();
    assert_eq!(
        keys,
        [
            ("a", 1, false),
            ("b.yaml", 300_000, false),
            ("blob", 3, true)
        ]
    );
    let json = serde_json::to_string(&s).unwrap();
    assert!(
        !json.contains("yyyy") && !json.contains("xxxx"),
        "values and annotations are not carried"
    );
}
