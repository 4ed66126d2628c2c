//! Discovery: `/version`, `/api`, `/apis` and the resource lists, plain or aggregated
//! (kubectl 1.32 asks for aggregated discovery first; kube-rs' typed API needs none).

use axum::http::header::{ACCEPT, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::kinds::ResourceKind;

/// The Kubernetes version kubesim presents itself as.
pub const GIT_VERSION: &str = "v1.33.4";

pub async fn version() -> axum::Json<Value> {
    axum::Json(json!({
        "major": "1",
        "minor": "33",
        "gitVersion": GIT_VERSION,
        "gitCommit": "74cdb426e1a0a6e3a1b2d5d4c1f3ad2bbd6b5a1e",
        "gitTreeState": "clean",
        "buildDate": "2025-08-12T00:00:00Z",
        "goVersion": "go1.24.6",
        "compiler": "gc",
        "platform": "linux/amd64",
    }))
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn wants_aggregated(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("as=APIGroupDiscoveryList") && v.contains("v=v2"))
}

fn aggregated(body: Value) -> Response {
    let mut response = axum::Json(body).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(AGGREGATED));
    response
}

/// The served groups other than core, with their kinds.
fn groups() -> Vec<&'static str> {
    let mut groups: Vec<&'static str> = ResourceKind::ALL
        .iter()
        .map(|k| k.group())
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    groups
}

fn kinds_in(group: &str) -> impl Iterator<Item = ResourceKind> + '_ {
    ResourceKind::ALL
        .into_iter()
        .filter(move |k| k.group() == group)
}

pub async fn api_versions(headers: HeaderMap) -> Response {
    if wants_aggregated(&headers) {
        return aggregated(json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": [aggregated_group("")],
        }));
    }
    axum::Json(json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}],
    }))
    .into_response()
}

pub async fn api_groups(headers: HeaderMap) -> Response {
    if wants_aggregated(&headers) {
        return aggregated(json!({
            "kind": "APIGroupDiscoveryList",
            "apiVersion": "apidiscovery.k8s.io/v2",
            "metadata": {},
            "items": groups().into_iter().map(aggregated_group).collect::<Vec<_>>(),
        }));
    }
    let groups: Vec<Value> = groups()
        .into_iter()
        .map(|g| {
            let gv = json!({"groupVersion": format!("{g}/v1"), "version": "v1"});
            json!({"name": g, "versions": [gv.clone()], "preferredVersion": gv})
        })
        .collect();
    axum::Json(json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}))
        .into_response()
}

fn aggregated_group(group: &str) -> Value {
    let resources: Vec<Value> = kinds_in(group)
        .map(|k| {
            let subresources: Vec<Value> = k
                .subresources()
                .iter()
                .map(|s| {
                    json!({
                        "subresource": s.name,
                        "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                        "verbs": s.verbs,
                    })
                })
                .collect();
            json!({
                "resource": k.plural(),
                "responseKind": {"group": k.group(), "version": "v1", "kind": k.kind()},
                "scope": if k.namespaced() { "Namespaced" } else { "Cluster" },
                "singularResource": k.singular(),
                "verbs": k.verbs(),
                "shortNames": k.short_names(),
                "categories": k.categories(),
                "subresources": subresources,
            })
        })
        .collect();
    json!({
        "metadata": {"name": group, "creationTimestamp": null},
        "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
    })
}

/// `/api/v1` or `/apis/{group}/v1`: the plain resource list.
pub fn resource_list(group: &str) -> Value {
    let mut resources = Vec::new();
    for k in kinds_in(group) {
        resources.push(json!({
            "name": k.plural(),
            "singularName": k.singular(),
            "namespaced": k.namespaced(),
            "kind": k.kind(),
            "verbs": k.verbs(),
            "shortNames": k.short_names(),
            "categories": k.categories(),
        }));
        for s in k.subresources() {
            let mut sub = json!({
                "name": format!("{}/{}", k.plural(), s.name),
                "singularName": "",
                "namespaced": k.namespaced(),
                "kind": s.kind,
                "verbs": s.verbs,
            });
            if s.group != k.group() {
                sub["group"] = json!(s.group);
                sub["version"] = json!(s.version);
            }
            resources.push(sub);
        }
    }
    let group_version = if group.is_empty() {
        "v1".to_owned()
    } else {
        format!("{group}/v1")
    };
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    })
}

/// Whether a group is served (for `/apis/{group}/{version}`).
pub fn serves_group(group: &str) -> bool {
    groups().contains(&group)
}
