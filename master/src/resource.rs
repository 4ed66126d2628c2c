//! What master needs to know about each listed type: its source, its key, and the fields lists
//! filter, search and sort on.

use std::borrow::Cow;

use atlhyper_model::api::ListKind;
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Labels, Namespace, Node, Pod, Service,
};
use atlhyper_model::{NodeMetricsSnapshot, Source};
use serde::Serialize;

/// A value lists sort on.
#[derive(Debug, Clone, PartialEq, PartialOrd)]
pub enum SortValue<'a> {
    Int(i64),
    Text(Cow<'a, str>),
}

/// A type master lists.
pub trait Resource: Serialize + PartialEq + ListKind + Sized + Send + Sync + 'static {
    /// The source whose payload holds it.
    const SOURCE: Source;
    /// Its name in API paths and stream kinds (`pods`).
    const PLURAL: &'static str;
    /// Lives in a namespace (its key is `namespace/name`).
    const NAMESPACED: bool;
    /// The sort fields it has besides `name`, `namespace`, `age` and `status`.
    const EXTRA_SORTS: &'static [&'static str] = &[];

    fn name(&self) -> &str;
    fn namespace(&self) -> Option<&str> {
        None
    }
    fn node(&self) -> Option<&str> {
        None
    }
    /// What `status=` matches and the STATUS column shows.
    fn status(&self) -> Cow<'_, str>;
    /// Another value `status=` matches (a pod's phase).
    fn phase(&self) -> Option<&str> {
        None
    }
    fn labels(&self) -> Option<&Labels>;
    fn created_ms(&self) -> i64;
    /// Further text `q=` searches besides name, namespace, node and status.
    fn search_text(&self) -> Vec<&str> {
        Vec::new()
    }
    /// A value of one of [`Resource::EXTRA_SORTS`].
    fn extra_sort(&self, _field: &str) -> Option<SortValue<'_>> {
        None
    }

    /// `namespace/name`, or `name` for cluster-wide kinds. (Built by hand: it is made for
    /// every object of every list master takes, and `format!` costs several times as much.)
    fn key(&self) -> String {
        match self.namespace() {
            Some(ns) if Self::NAMESPACED => {
                let name = self.name();
                let mut key = String::with_capacity(ns.len() + 1 + name.len());
                key.push_str(ns);
                key.push('/');
                key.push_str(name);
                key
            }
            _ => self.name().to_owned(),
        }
    }
}

impl Resource for Pod {
    const SOURCE: Source = Source::PodListSnapshot;
    const PLURAL: &'static str = "pods";
    const NAMESPACED: bool = true;
    const EXTRA_SORTS: &'static [&'static str] = &["restarts", "node", "ready"];

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn node(&self) -> Option<&str> {
        self.node.as_deref()
    }
    fn status(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.status)
    }
    fn phase(&self) -> Option<&str> {
        Some(self.phase.as_str())
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        let mut text: Vec<&str> = self.containers.iter().map(|c| c.image.as_str()).collect();
        text.extend(self.pod_ip.as_deref());
        text.extend(self.owner.as_ref().map(|o| o.name.as_str()));
        text
    }
    fn extra_sort(&self, field: &str) -> Option<SortValue<'_>> {
        match field {
            "restarts" => Some(SortValue::Int(self.restarts.into())),
            "node" => Some(SortValue::Text(Cow::Borrowed(
                self.node.as_deref().unwrap_or(""),
            ))),
            "ready" => Some(SortValue::Int(self.ready.into())),
            _ => None,
        }
    }
}

impl Resource for Node {
    const SOURCE: Source = Source::NodeListSnapshot;
    const PLURAL: &'static str = "nodes";
    const NAMESPACED: bool = false;

    fn name(&self) -> &str {
        &self.name
    }
    fn node(&self) -> Option<&str> {
        Some(&self.name)
    }
    /// kubectl's STATUS column: `Ready`, `NotReady`, plus `,SchedulingDisabled` when cordoned.
    fn status(&self) -> Cow<'_, str> {
        let ready = if self.ready { "Ready" } else { "NotReady" };
        if self.unschedulable {
            Cow::Owned(format!("{ready},SchedulingDisabled"))
        } else {
            Cow::Borrowed(ready)
        }
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        let mut text: Vec<&str> = self.roles.iter().map(String::as_str).collect();
        text.extend(self.addresses.iter().map(|a| a.address.as_str()));
        text.push(&self.info.kubelet_version);
        text
    }
}

impl Resource for Deployment {
    const SOURCE: Source = Source::DeploymentListSnapshot;
    const PLURAL: &'static str = "deployments";
    const NAMESPACED: bool = true;
    const EXTRA_SORTS: &'static [&'static str] = &["ready", "desired"];

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    /// `Available` when every desired replica is available, `Progressing` while some are
    /// missing, `Failed` when the rollout exceeded its deadline, `ScaledDown` at zero.
    fn status(&self) -> Cow<'_, str> {
        let failed = self.conditions.iter().any(|c| {
            c.type_ == "Progressing" && c.reason.as_deref() == Some("ProgressDeadlineExceeded")
        });
        Cow::Borrowed(if failed {
            "Failed"
        } else if self.desired == 0 {
            "ScaledDown"
        } else if self.available >= self.desired && self.updated >= self.desired {
            "Available"
        } else {
            "Progressing"
        })
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        self.images.iter().map(String::as_str).collect()
    }
    fn extra_sort(&self, field: &str) -> Option<SortValue<'_>> {
        match field {
            "ready" => Some(SortValue::Int(self.ready.into())),
            "desired" => Some(SortValue::Int(self.desired.into())),
            _ => None,
        }
    }
}

impl Resource for Service {
    const SOURCE: Source = Source::ServiceListSnapshot;
    const PLURAL: &'static str = "services";
    const NAMESPACED: bool = true;

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    /// The service type (`ClusterIP`, `NodePort`, …).
    fn status(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:?}", self.type_))
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        let mut text: Vec<&str> = self.cluster_ip.as_deref().into_iter().collect();
        text.extend(self.external_ips.iter().map(String::as_str));
        text
    }
}

impl Resource for Namespace {
    const SOURCE: Source = Source::NamespaceListSnapshot;
    const PLURAL: &'static str = "namespaces";
    const NAMESPACED: bool = false;

    fn name(&self) -> &str {
        &self.name
    }
    /// A namespace is its own namespace for `namespace=` filters.
    fn namespace(&self) -> Option<&str> {
        Some(&self.name)
    }
    fn status(&self) -> Cow<'_, str> {
        Cow::Borrowed(&self.phase)
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
}

impl Resource for Ingress {
    const SOURCE: Source = Source::IngressListSnapshot;
    const PLURAL: &'static str = "ingresses";
    const NAMESPACED: bool = true;

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    /// The ingress class.
    fn status(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.class.as_deref().unwrap_or(""))
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        let mut text: Vec<&str> = self
            .rules
            .iter()
            .filter_map(|r| r.host.as_deref())
            .collect();
        text.extend(self.addresses.iter().map(String::as_str));
        text
    }
}

impl Resource for ConfigMap {
    const SOURCE: Source = Source::ConfigmapListSnapshot;
    const PLURAL: &'static str = "configmaps";
    const NAMESPACED: bool = true;

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn status(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    fn created_ms(&self) -> i64 {
        self.created_ms
    }
    fn search_text(&self) -> Vec<&str> {
        self.keys.iter().map(|k| k.name.as_str()).collect()
    }
}

impl Resource for Event {
    const SOURCE: Source = Source::Events;
    const PLURAL: &'static str = "events";
    const NAMESPACED: bool = true;
    const EXTRA_SORTS: &'static [&'static str] = &["last_seen", "count", "reason"];

    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn node(&self) -> Option<&str> {
        match self.object.kind.as_str() {
            "Node" => Some(&self.object.name),
            _ => self.host.as_deref(),
        }
    }
    /// `Normal` or `Warning`.
    fn status(&self) -> Cow<'_, str> {
        Cow::Owned(format!("{:?}", self.type_))
    }
    fn labels(&self) -> Option<&Labels> {
        None
    }
    fn created_ms(&self) -> i64 {
        self.first_seen_ms
    }
    fn search_text(&self) -> Vec<&str> {
        vec![
            &self.reason,
            &self.message,
            &self.object.name,
            &self.object.kind,
        ]
    }
    fn extra_sort(&self, field: &str) -> Option<SortValue<'_>> {
        match field {
            "last_seen" => Some(SortValue::Int(self.last_seen_ms)),
            "count" => Some(SortValue::Int(self.count.into())),
            "reason" => Some(SortValue::Text(Cow::Borrowed(&self.reason))),
            _ => None,
        }
    }
}

impl Resource for NodeMetricsSnapshot {
    const SOURCE: Source = Source::MetricsSnapshot;
    const PLURAL: &'static str = "metrics";
    const NAMESPACED: bool = false;

    fn name(&self) -> &str {
        &self.node
    }
    fn node(&self) -> Option<&str> {
        Some(&self.node)
    }
    fn status(&self) -> Cow<'_, str> {
        Cow::Borrowed("")
    }
    fn labels(&self) -> Option<&Labels> {
        None
    }
    fn created_ms(&self) -> i64 {
        self.ts_ms
    }
}
