//! `describe`: an object as `kubectl describe` prints it — the fields that matter, its
//! conditions and an events table with ages ([`text`]) — or as YAML or JSON without
//! managedFields (`kubectl get -o yaml|json`).

mod text;
mod write;

use atlhyper_model::{DescribeFormat, ObjectKind};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use kube::api::{Api, ListParams};
use kube::{Client, Resource};
use serde::Serialize;
use serde::de::DeserializeOwned;

async fn get<K>(client: &Client, namespace: Option<&str>, name: &str) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope>,
{
    let api: Api<K> = Api::namespaced(client.clone(), namespace.unwrap_or("default"));
    let mut object = api.get(name).await?;
    object.meta_mut().managed_fields = None;
    Ok(object)
}

async fn get_cluster<K>(client: &Client, name: &str) -> Result<K, kube::Error>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    K: Resource<Scope = k8s_openapi::ClusterResourceScope>,
{
    let api: Api<K> = Api::all(client.clone());
    let mut object = api.get(name).await?;
    object.meta_mut().managed_fields = None;
    Ok(object)
}

fn encode<T: Serialize>(object: &T, format: DescribeFormat) -> String {
    let encoded = match format {
        DescribeFormat::Json => serde_json::to_string_pretty(object)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        _ => serde_yaml_ng::to_string(object).map_err(|e| e.to_string()),
    };
    encoded.unwrap_or_else(|e| format!("# cannot print it: {e}\n"))
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

/// The events about an object, oldest first.
async fn events(
    client: &Client,
    kind: &str,
    namespace: Option<&str>,
    name: &str,
) -> Result<Vec<Event>, kube::Error> {
    let mut fields = format!("involvedObject.name={name},involvedObject.kind={kind}");
    if let Some(ns) = namespace {
        fields.push_str(&format!(",involvedObject.namespace={ns}"));
    }
    let api: Api<Event> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let mut found = api
        .list(&ListParams::default().fields(&fields))
        .await?
        .items;
    found.sort_by_key(write::last_seen);
    Ok(found)
}

/// An object described; `configmap_values`: whether a config map's values are shown (else
/// its keys and their sizes).
pub async fn describe(
    client: &Client,
    object: ObjectKind,
    namespace: Option<&str>,
    name: &str,
    format: DescribeFormat,
    configmap_values: bool,
) -> Result<String, kube::Error> {
    let now = atlhyper_runtime::now_ms();
    // The object, and (for text) its events.
    macro_rules! show {
        ($object:expr, $kind:literal, $ns:expr, $text:expr) => {{
            let object = $object;
            if format != DescribeFormat::Text {
                return Ok(encode(&object, format));
            }
            let events = events(client, $kind, $ns, name).await?;
            $text(&object, &events, now)
        }};
    }
    Ok(match object {
        ObjectKind::Pod => show!(
            get::<Pod>(client, namespace, name).await?,
            "Pod",
            namespace,
            text::pod
        ),
        ObjectKind::Deployment => show!(
            get::<Deployment>(client, namespace, name).await?,
            "Deployment",
            namespace,
            text::deployment
        ),
        ObjectKind::Service => show!(
            get::<Service>(client, namespace, name).await?,
            "Service",
            namespace,
            text::service
        ),
        ObjectKind::Ingress => show!(
            get::<Ingress>(client, namespace, name).await?,
            "Ingress",
            namespace,
            text::ingress
        ),
        ObjectKind::ConfigMap => {
            let mut map = get::<ConfigMap>(client, namespace, name).await?;
            if !configmap_values {
                hide_values(&mut map);
            }
            show!(map, "ConfigMap", namespace, text::config_map)
        }
        ObjectKind::Node => {
            let node = get_cluster::<Node>(client, name).await?;
            if format != DescribeFormat::Text {
                return Ok(encode(&node, format));
            }
            let pods: Api<Pod> = Api::all(client.clone());
            let on_node = pods
                .list(&ListParams::default().fields(&format!("spec.nodeName={name}")))
                .await?
                .items;
            let events = events(client, "Node", None, name).await?;
            text::node(&node, &on_node, &events, now)
        }
        ObjectKind::Namespace => show!(
            get_cluster::<Namespace>(client, name).await?,
            "Namespace",
            None,
            text::namespace
        ),
    })
}
