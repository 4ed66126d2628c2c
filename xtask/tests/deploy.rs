//! Every manifest in `deploy/` is made of Kubernetes objects: each document deserializes into its
//! k8s-openapi type, and serializing it back loses nothing (a misspelt field would be dropped).
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment};
use k8s_openapi::api::core::v1::{Namespace, Secret, Service, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, ClusterRoleBinding};
use serde::Deserialize;
use serde_json::Value;

fn typed<T: serde::de::DeserializeOwned + serde::Serialize>(doc: &Value) -> Value {
    let object: T = serde_json::from_value(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
    serde_json::to_value(object).unwrap()
}

#[test]
fn deploy_manifests_are_kubernetes_objects() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy");
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for document in serde_yaml_ng::Deserializer::from_str(&text) {
            let doc = Value::deserialize(document).unwrap();
            if doc.is_null() {
                continue;
            }
            let kind = doc["kind"].as_str().unwrap_or_default().to_owned();
            let back = match kind.as_str() {
                "DaemonSet" => typed::<DaemonSet>(&doc),
                "Deployment" => typed::<Deployment>(&doc),
                "Service" => typed::<Service>(&doc),
                "ServiceAccount" => typed::<ServiceAccount>(&doc),
                "Secret" => typed::<Secret>(&doc),
                "Namespace" => typed::<Namespace>(&doc),
                "ClusterRole" => typed::<ClusterRole>(&doc),
                "ClusterRoleBinding" => typed::<ClusterRoleBinding>(&doc),
                other => panic!("{}: unexpected kind `{other}`", path.display()),
            };
            assert_eq!(
                back,
                doc,
                "{}: a {kind} field did not survive",
                path.display()
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no manifest found in {}", dir.display());
}

/// The agent's roles grant exactly what it uses: reads of the watched kinds, and the writes
/// its commands send — no wildcard, no secrets.
#[test]
fn the_agent_has_least_privilege() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/agent.yaml"))
            .unwrap();
    let mut granted = std::collections::BTreeSet::new();
    for document in serde_yaml_ng::Deserializer::from_str(&text) {
        let doc = Value::deserialize(document).unwrap();
        if doc["kind"] != "ClusterRole" {
            continue;
        }
        let role: ClusterRole = serde_json::from_value(doc).unwrap();
        for rule in role.rules.unwrap_or_default() {
            for group in rule.api_groups.unwrap_or_default() {
                for resource in rule.resources.clone().unwrap_or_default() {
                    for verb in &rule.verbs {
                        granted.insert(format!("{group}/{resource}:{verb}"));
                    }
                }
            }
        }
    }
    let mut wanted = std::collections::BTreeSet::new();
    for (group, resource) in [
        ("", "pods"),
        ("", "nodes"),
        ("", "services"),
        ("", "namespaces"),
        ("", "configmaps"),
        ("", "events"),
        ("apps", "deployments"),
        ("networking.k8s.io", "ingresses"),
    ] {
        for verb in ["get", "list", "watch"] {
            wanted.insert(format!("{group}/{resource}:{verb}"));
        }
    }
    for write in [
        "/pods:delete",
        "/pods/eviction:create",
        "/pods/log:get",
        "/nodes:patch",
        "apps/deployments:patch",
        "apps/deployments/scale:patch",
    ] {
        wanted.insert(write.to_owned());
    }
    assert_eq!(granted, wanted);
}
