//! The kinds kubesim serves: their discovery facts (plural, short names, verbs, scope) and, per
//! typed kind, the fields a field selector may name.

use std::borrow::Cow;
use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Endpoints, Event, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// Every kind kubesim serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceKind {
    Namespace,
    Node,
    Pod,
    Service,
    Endpoints,
    ConfigMap,
    Event,
    Deployment,
    ReplicaSet,
    DaemonSet,
    Ingress,
}

/// A subresource as discovery lists it.
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

const READ_WRITE: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

impl ResourceKind {
    pub const ALL: [ResourceKind; 11] = [
        ResourceKind::Namespace,
        ResourceKind::Node,
        ResourceKind::Pod,
        ResourceKind::Service,
        ResourceKind::Endpoints,
        ResourceKind::ConfigMap,
        ResourceKind::Event,
        ResourceKind::Deployment,
        ResourceKind::ReplicaSet,
        ResourceKind::DaemonSet,
        ResourceKind::Ingress,
    ];

    /// The API group ("" for core).
    pub const fn group(self) -> &'static str {
        match self {
            ResourceKind::Deployment | ResourceKind::ReplicaSet | ResourceKind::DaemonSet => "apps",
            ResourceKind::Ingress => "networking.k8s.io",
            _ => "",
        }
    }

    pub const fn version(self) -> &'static str {
        "v1"
    }

    /// `v1`, `apps/v1`, …
    pub const fn api_version(self) -> &'static str {
        match self.group().as_bytes() {
            b"apps" => "apps/v1",
            b"networking.k8s.io" => "networking.k8s.io/v1",
            _ => "v1",
        }
    }

    pub const fn kind(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "Namespace",
            ResourceKind::Node => "Node",
            ResourceKind::Pod => "Pod",
            ResourceKind::Service => "Service",
            ResourceKind::Endpoints => "Endpoints",
            ResourceKind::ConfigMap => "ConfigMap",
            ResourceKind::Event => "Event",
            ResourceKind::Deployment => "Deployment",
            ResourceKind::ReplicaSet => "ReplicaSet",
            ResourceKind::DaemonSet => "DaemonSet",
            ResourceKind::Ingress => "Ingress",
        }
    }

    pub const fn plural(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "namespaces",
            ResourceKind::Node => "nodes",
            ResourceKind::Pod => "pods",
            ResourceKind::Service => "services",
            ResourceKind::Endpoints => "endpoints",
            ResourceKind::ConfigMap => "configmaps",
            ResourceKind::Event => "events",
            ResourceKind::Deployment => "deployments",
            ResourceKind::ReplicaSet => "replicasets",
            ResourceKind::DaemonSet => "daemonsets",
            ResourceKind::Ingress => "ingresses",
        }
    }

    pub const fn singular(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "namespace",
            ResourceKind::Node => "node",
            ResourceKind::Pod => "pod",
            ResourceKind::Service => "service",
            ResourceKind::Endpoints => "endpoints",
            ResourceKind::ConfigMap => "configmap",
            ResourceKind::Event => "event",
            ResourceKind::Deployment => "deployment",
            ResourceKind::ReplicaSet => "replicaset",
            ResourceKind::DaemonSet => "daemonset",
            ResourceKind::Ingress => "ingress",
        }
    }

    pub const fn namespaced(self) -> bool {
        !matches!(self, ResourceKind::Namespace | ResourceKind::Node)
    }

    pub const fn short_names(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Namespace => &["ns"],
            ResourceKind::Node => &["no"],
            ResourceKind::Pod => &["po"],
            ResourceKind::Service => &["svc"],
            ResourceKind::Endpoints => &["ep"],
            ResourceKind::ConfigMap => &["cm"],
            ResourceKind::Event => &["ev"],
            ResourceKind::Deployment => &["deploy"],
            ResourceKind::ReplicaSet => &["rs"],
            ResourceKind::DaemonSet => &["ds"],
            ResourceKind::Ingress => &["ing"],
        }
    }

    /// `kubectl get all` lists the kinds in category `all`.
    pub const fn categories(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Pod
            | ResourceKind::Service
            | ResourceKind::Deployment
            | ResourceKind::ReplicaSet
            | ResourceKind::DaemonSet => &["all"],
            _ => &[],
        }
    }

    pub const fn verbs(self) -> &'static [&'static str] {
        READ_WRITE
    }

    pub const fn list_kind(self) -> &'static str {
        match self {
            ResourceKind::Namespace => "NamespaceList",
            ResourceKind::Node => "NodeList",
            ResourceKind::Pod => "PodList",
            ResourceKind::Service => "ServiceList",
            ResourceKind::Endpoints => "EndpointsList",
            ResourceKind::ConfigMap => "ConfigMapList",
            ResourceKind::Event => "EventList",
            ResourceKind::Deployment => "DeploymentList",
            ResourceKind::ReplicaSet => "ReplicaSetList",
            ResourceKind::DaemonSet => "DaemonSetList",
            ResourceKind::Ingress => "IngressList",
        }
    }

    pub fn subresources(self) -> &'static [Subresource] {
        const STATUS_VERBS: &[&str] = &["get", "patch", "update"];
        match self {
            ResourceKind::Pod => &[
                Subresource {
                    name: "status",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: STATUS_VERBS,
                },
                Subresource {
                    name: "log",
                    group: "",
                    version: "v1",
                    kind: "Pod",
                    verbs: &["get"],
                },
                Subresource {
                    name: "eviction",
                    group: "policy",
                    version: "v1",
                    kind: "Eviction",
                    verbs: &["create"],
                },
            ],
            ResourceKind::Node => &[Subresource {
                name: "status",
                group: "",
                version: "v1",
                kind: "Node",
                verbs: STATUS_VERBS,
            }],
            ResourceKind::Deployment => &[
                Subresource {
                    name: "status",
                    group: "apps",
                    version: "v1",
                    kind: "Deployment",
                    verbs: STATUS_VERBS,
                },
                Subresource {
                    name: "scale",
                    group: "autoscaling",
                    version: "v1",
                    kind: "Scale",
                    verbs: STATUS_VERBS,
                },
            ],
            ResourceKind::ReplicaSet => &[Subresource {
                name: "status",
                group: "apps",
                version: "v1",
                kind: "ReplicaSet",
                verbs: STATUS_VERBS,
            }],
            ResourceKind::DaemonSet => &[Subresource {
                name: "status",
                group: "apps",
                version: "v1",
                kind: "DaemonSet",
                verbs: STATUS_VERBS,
            }],
            _ => &[],
        }
    }

    /// The fields a field selector may name for this kind.
    pub fn selectable_fields(self) -> &'static [&'static str] {
        match self {
            ResourceKind::Pod => &[
                "metadata.name",
                "metadata.namespace",
                "spec.nodeName",
                "spec.restartPolicy",
                "spec.schedulerName",
                "spec.serviceAccountName",
                "status.phase",
                "status.podIP",
                "status.nominatedNodeName",
            ],
            ResourceKind::Node => &["metadata.name", "metadata.namespace", "spec.unschedulable"],
            ResourceKind::Namespace => &["metadata.name", "metadata.namespace", "status.phase"],
            ResourceKind::Event => &[
                "metadata.name",
                "metadata.namespace",
                "involvedObject.kind",
                "involvedObject.namespace",
                "involvedObject.name",
                "involvedObject.uid",
                "involvedObject.apiVersion",
                "involvedObject.resourceVersion",
                "involvedObject.fieldPath",
                "reason",
                "reportingComponent",
                "source",
                "type",
            ],
            ResourceKind::ReplicaSet => &["metadata.name", "metadata.namespace", "status.replicas"],
            _ => &["metadata.name", "metadata.namespace"],
        }
    }

    /// Finds a kind by group and plural (`("apps", "deployments")`).
    pub fn from_plural(group: &str, plural: &str) -> Option<ResourceKind> {
        Self::ALL
            .into_iter()
            .find(|k| k.group() == group && k.plural() == plural)
    }
}

/// What the store needs of a typed Kubernetes object.
pub trait Kind:
    k8s_openapi::Metadata<Ty = ObjectMeta>
    + Serialize
    + DeserializeOwned
    + Clone
    + PartialEq
    + Send
    + Sync
    + 'static
{
    const RESOURCE: ResourceKind;

    /// The value of a selectable field other than `metadata.name`/`metadata.namespace`.
    fn field(&self, _name: &str) -> Option<Cow<'_, str>> {
        None
    }

    /// Whether a change from `old` to `self` changes the spec (and so bumps `generation`).
    fn spec_changed(&self, _old: &Self) -> bool {
        false
    }

    /// What the API server fills in when the object is created (a Service's ClusterIP), or why
    /// it refuses it (a 422's message).
    fn on_create(&mut self, _world: &crate::store::World) -> Result<(), String> {
        Ok(())
    }

    /// What the API server keeps from `old` when the object is replaced (a Service's
    /// ClusterIP), or why it refuses the change (a 422's message).
    fn on_update(&mut self, _old: &Self) -> Result<(), String> {
        Ok(())
    }
}

/// A selectable field of an object, metadata included; a missing field reads as "".
pub fn field_value<K: Kind>(object: &K, name: &str) -> String {
    let meta = object.metadata();
    match name {
        "metadata.name" => meta.name.clone().unwrap_or_default(),
        "metadata.namespace" => meta.namespace.clone().unwrap_or_default(),
        _ => object.field(name).map(Cow::into_owned).unwrap_or_default(),
    }
}

/// The labels of an object (empty when it has none).
pub fn labels<K: Kind>(object: &K) -> BTreeMap<String, String> {
    object.metadata().labels.clone().unwrap_or_default()
}

fn opt(value: &Option<String>) -> Option<Cow<'_, str>> {
    value.as_deref().map(Cow::Borrowed)
}

impl Kind for Namespace {
    const RESOURCE: ResourceKind = ResourceKind::Namespace;
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "status.phase" => opt(&self.status.as_ref()?.phase),
            _ => None,
        }
    }
}

impl Kind for Node {
    const RESOURCE: ResourceKind = ResourceKind::Node;
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "spec.unschedulable" => Some(Cow::Borrowed(
                if self
                    .spec
                    .as_ref()
                    .and_then(|s| s.unschedulable)
                    .unwrap_or(false)
                {
                    "true"
                } else {
                    "false"
                },
            )),
            _ => None,
        }
    }
}

impl Kind for Pod {
    const RESOURCE: ResourceKind = ResourceKind::Pod;
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let spec = self.spec.as_ref();
        let status = self.status.as_ref();
        match name {
            "spec.nodeName" => opt(&spec?.node_name),
            "spec.restartPolicy" => opt(&spec?.restart_policy),
            "spec.schedulerName" => opt(&spec?.scheduler_name),
            "spec.serviceAccountName" => opt(&spec?.service_account_name),
            "status.phase" => opt(&status?.phase),
            "status.podIP" => opt(&status?.pod_ip),
            "status.nominatedNodeName" => opt(&status?.nominated_node_name),
            _ => None,
        }
    }
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
}

impl Kind for Service {
    const RESOURCE: ResourceKind = ResourceKind::Service;

    fn on_create(&mut self, world: &crate::store::World) -> Result<(), String> {
        let taken = world
            .services
            .iter()
            .filter_map(|e| e.object.spec.as_ref()?.cluster_ip.as_deref()?.parse().ok())
            .collect();
        allocate_cluster_ip(self, &taken)
    }

    fn on_update(&mut self, old: &Self) -> Result<(), String> {
        let Some(old_spec) = &old.spec else {
            return Ok(());
        };
        let spec = self.spec.get_or_insert_with(Default::default);
        match spec.cluster_ip.as_deref().filter(|ip| !ip.is_empty()) {
            // Left out: kept, as the API server fills it in from the stored Service.
            None => {
                spec.cluster_ip.clone_from(&old_spec.cluster_ip);
                spec.cluster_ips.clone_from(&old_spec.cluster_ips);
                if spec.ip_families.is_none() {
                    spec.ip_families.clone_from(&old_spec.ip_families);
                }
                if spec.ip_family_policy.is_none() {
                    spec.ip_family_policy.clone_from(&old_spec.ip_family_policy);
                }
                Ok(())
            }
            Some(ip) if old_spec.cluster_ip.as_deref().is_some_and(|old| old != ip) => Err(
                format!("spec.clusterIPs[0]: Invalid value: \"{ip}\": may not change once set"),
            ),
            Some(_) => Ok(()),
        }
    }
}

/// The service CIDR ClusterIPs come from: the API server's default, 10.96.0.0/12.
const SERVICE_CIDR: (std::net::Ipv4Addr, u32) = (std::net::Ipv4Addr::new(10, 96, 0, 0), 12);

/// Gives a new Service its ClusterIP as the API server does: the one asked for when it is in
/// the range and free, else the lowest free one; none for ExternalName, `None` stays headless.
fn allocate_cluster_ip(
    service: &mut Service,
    taken: &std::collections::HashSet<std::net::Ipv4Addr>,
) -> Result<(), String> {
    let spec = service.spec.get_or_insert_with(Default::default);
    if spec.type_.as_deref() == Some("ExternalName") {
        return Ok(());
    }
    let asked = spec
        .cluster_ip
        .clone()
        .or_else(|| spec.cluster_ips.as_ref()?.first().cloned())
        .filter(|ip| !ip.is_empty());
    let (base, prefix) = SERVICE_CIDR;
    let size = 1u32 << (32 - prefix);
    let ip = match asked.as_deref() {
        Some("None") => "None".to_owned(),
        Some(text) => {
            let invalid = |why: String| {
                format!("spec.clusterIPs: Invalid value: []string{{\"{text}\"}}: {why}")
            };
            let ip: std::net::Ipv4Addr = text
                .parse()
                .map_err(|_| invalid("must be a valid IP address".to_owned()))?;
            if u32::from(ip) & !(size - 1) != u32::from(base) {
                return Err(invalid(format!(
                    "failed to allocate IP {text}: the provided IP ({text}) is not in the valid \
                     range. The range of valid IPs is {base}/{prefix}"
                )));
            }
            if taken.contains(&ip) {
                return Err(invalid(format!(
                    "failed to allocate IP {text}: provided IP is already allocated"
                )));
            }
            ip.to_string()
        }
        None => (1..size - 1)
            .map(|n| std::net::Ipv4Addr::from(u32::from(base) + n))
            .find(|ip| !taken.contains(ip))
            .ok_or("spec.clusterIPs: Internal error: range is full")?
            .to_string(),
    };
    spec.cluster_ips = Some(vec![ip.clone()]);
    spec.cluster_ip = Some(ip);
    spec.type_.get_or_insert_with(|| "ClusterIP".to_owned());
    spec.ip_families
        .get_or_insert_with(|| vec!["IPv4".to_owned()]);
    spec.ip_family_policy
        .get_or_insert_with(|| "SingleStack".to_owned());
    Ok(())
}

impl Kind for Endpoints {
    const RESOURCE: ResourceKind = ResourceKind::Endpoints;
}

impl Kind for ConfigMap {
    const RESOURCE: ResourceKind = ResourceKind::ConfigMap;
}

impl Kind for Event {
    const RESOURCE: ResourceKind = ResourceKind::Event;
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let o = &self.involved_object;
        match name {
            "involvedObject.kind" => opt(&o.kind),
            "involvedObject.namespace" => opt(&o.namespace),
            "involvedObject.name" => opt(&o.name),
            "involvedObject.uid" => opt(&o.uid),
            "involvedObject.apiVersion" => opt(&o.api_version),
            "involvedObject.resourceVersion" => opt(&o.resource_version),
            "involvedObject.fieldPath" => opt(&o.field_path),
            "reason" => opt(&self.reason),
            "reportingComponent" => opt(&self.reporting_component),
            "source" => opt(&self.source.as_ref()?.component),
            "type" => opt(&self.type_),
            _ => None,
        }
    }
}

impl Kind for Deployment {
    const RESOURCE: ResourceKind = ResourceKind::Deployment;
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
}

impl Kind for ReplicaSet {
    const RESOURCE: ResourceKind = ResourceKind::ReplicaSet;
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        match name {
            "status.replicas" => Some(Cow::Owned(
                self.status.as_ref().map_or(0, |s| s.replicas).to_string(),
            )),
            _ => None,
        }
    }
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
}

impl Kind for DaemonSet {
    const RESOURCE: ResourceKind = ResourceKind::DaemonSet;
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
}

impl Kind for Ingress {
    const RESOURCE: ResourceKind = ResourceKind::Ingress;
    fn spec_changed(&self, old: &Self) -> bool {
        self.spec != old.spec
    }
}
