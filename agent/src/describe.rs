//! `describe`: the object as YAML (without managedFields) and its recent events, like
//! `kubectl describe` in spirit.

use atlhyper_model::ObjectKind;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

async fn yaml<K>(
    client: &Client,
    namespace: Option<&str>,
    name: &str,
) -> Result<(String, String), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace.unwrap_or("default"));
    let mut object = api.get(name).await?;
    object.meta_mut().managed_fields = None;
    Ok((K::kind(&()).into_owned(), to_yaml(&object)))
}

async fn cluster_yaml<K>(client: &Client, name: &str) -> Result<(String, String), kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
    K: Resource<Scope = k8s_openapi::ClusterResourceScope>,
{
    let api: Api<K> = Api::all(client.clone());
    let mut object = api.get(name).await?;
    object.meta_mut().managed_fields = None;
    Ok((K::kind(&()).into_owned(), to_yaml(&object)))
}

fn to_yaml<T: Serialize>(object: &T) -> String {
    serde_yaml_ng::to_string(object).unwrap_or_else(|e| format!("# cannot print as YAML: {e}\n"))
}

/// Replaces each value of a config map with its size (the keys stay): what a describe shows
/// to those the cluster's `--configmap-values` policy does not show values to.
fn hide_values(map: &mut ConfigMap) {
    for value in map.data.iter_mut().flat_map(|d| d.values_mut()) {
        *value = format!("<hidden: {} bytes (--configmap-values)>", value.len());
    }
    if let Some(binary) = map.binary_data.take() {
        let data = map.data.get_or_insert_with(Default::default);
        for (key, value) in binary {
            data.insert(
                key,
                format!(
                    "<hidden: {} bytes of binaryData (--configmap-values)>",
                    value.0.len()
                ),
            );
        }
    }
}

/// The object as YAML and its recent events; `configmap_values`: whether a config map's
/// values are shown (else its keys and their sizes).
pub async fn describe(
    client: &Client,
    object: ObjectKind,
    namespace: Option<&str>,
    name: &str,
    configmap_values: bool,
) -> Result<String, kube::Error> {
    let (kind, text) = match object {
        ObjectKind::Pod => yaml::<Pod>(client, namespace, name).await?,
        ObjectKind::Deployment => yaml::<Deployment>(client, namespace, name).await?,
        ObjectKind::Service => yaml::<Service>(client, namespace, name).await?,
        ObjectKind::Ingress => yaml::<Ingress>(client, namespace, name).await?,
        ObjectKind::ConfigMap => {
            let api: Api<ConfigMap> =
                Api::namespaced(client.clone(), namespace.unwrap_or("default"));
            let mut map = api.get(name).await?;
            map.metadata.managed_fields = None;
            if !configmap_values {
                hide_values(&mut map);
            }
            ("ConfigMap".to_owned(), to_yaml(&map))
        }
        ObjectKind::Node => cluster_yaml::<Node>(client, name).await?,
        ObjectKind::Namespace => cluster_yaml::<Namespace>(client, name).await?,
    };
    let mut fields = format!("involvedObject.name={name},involvedObject.kind={kind}");
    if let Some(ns) = namespace {
        fields.push_str(&format!(",involvedObject.namespace={ns}"));
    }
    let events: Api<Event> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut found = events
        .list(&ListParams::default().fields(&fields))
        .await?
        .items;
    found.sort_by_key(last_seen);
    let mut out = text;
    out.push_str("---\nEvents:\n");
    if found.is_empty() {
        out.push_str("  <none>\n");
    }
    for e in found.iter().rev().take(20).rev() {
        out.push_str(&format!(
            "  {}  {}  {}  x{}  {}\n",
            last_seen(e).map_or_else(|| "-".to_owned(), |t| t.to_string()),
            e.type_.as_deref().unwrap_or("-"),
            e.reason.as_deref().unwrap_or("-"),
            e.count.unwrap_or(1),
            e.message.as_deref().unwrap_or("").replace('\n', " ")
        ));
    }
    Ok(out)
}

fn last_seen(e: &Event) -> Option<k8s_openapi::jiff::Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}
