//! The resource kinds `atlctl get` knows, their names and aliases, and how each prints as a
//! table row — the columns kubectl shows for the same kind.

use atlhyper_model::api::{ClusterSummary, CommandInfo, ListKind};
use atlhyper_model::human_duration;
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, IngressBackend, Namespace, Node, Pod, Service,
};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{CliError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Pods,
    Nodes,
    Deployments,
    Services,
    Namespaces,
    Ingresses,
    ConfigMaps,
    Events,
    Clusters,
    Commands,
}

impl Resource {
    pub const ALL: [Resource; 10] = [
        Resource::Pods,
        Resource::Nodes,
        Resource::Deployments,
        Resource::Services,
        Resource::Namespaces,
        Resource::Ingresses,
        Resource::ConfigMaps,
        Resource::Events,
        Resource::Clusters,
        Resource::Commands,
    ];

    /// The path under `/api/v1`, and the plural kubectl uses.
    pub const fn plural(self) -> &'static str {
        match self {
            Resource::Pods => "pods",
            Resource::Nodes => "nodes",
            Resource::Deployments => "deployments",
            Resource::Services => "services",
            Resource::Namespaces => "namespaces",
            Resource::Ingresses => "ingresses",
            Resource::ConfigMaps => "configmaps",
            Resource::Events => "events",
            Resource::Clusters => "clusters",
            Resource::Commands => "commands",
        }
    }

    const fn names(self) -> &'static [&'static str] {
        match self {
            Resource::Pods => &["pod", "po"],
            Resource::Nodes => &["node", "no"],
            Resource::Deployments => &["deployment", "deploy", "dp"],
            Resource::Services => &["service", "svc"],
            Resource::Namespaces => &["namespace", "ns"],
            Resource::Ingresses => &["ingress", "ing"],
            Resource::ConfigMaps => &["configmap", "cm"],
            Resource::Events => &["event", "ev"],
            Resource::Clusters => &["cluster"],
            Resource::Commands => &["command", "cmd"],
        }
    }

    /// Every name a kind answers to (`:` completes them in the console).
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        Resource::ALL
            .into_iter()
            .flat_map(|r| std::iter::once(r.plural()).chain(r.names().iter().copied()))
    }

    /// `pods`, `pod`, `po`, `Pods`, `pods.v1` … → [`Resource::Pods`].
    ///
    /// # Errors
    /// [`CliError::Usage`] naming what is known.
    pub fn parse(text: &str) -> Result<Self> {
        let lower = text.to_ascii_lowercase();
        let base = lower.split('.').next().unwrap_or_default();
        Resource::ALL
            .into_iter()
            .find(|r| r.plural() == base || r.names().contains(&base))
            .ok_or_else(|| {
                CliError::Usage(format!(
                    "the server doesn't have a resource type \"{text}\" (known: {})",
                    Resource::ALL.map(Resource::plural).join(", ")
                ))
            })
    }

    pub const fn namespaced(self) -> bool {
        matches!(
            self,
            Resource::Pods
                | Resource::Deployments
                | Resource::Services
                | Resource::Ingresses
                | Resource::ConfigMaps
                | Resource::Events
        )
    }
}

/// A kind atlctl prints.
pub trait Printable: Serialize + DeserializeOwned + ListKind + Clone + Send + 'static {
    const RESOURCE: Resource;
    fn name(&self) -> &str;
    fn namespace(&self) -> Option<&str> {
        None
    }
    fn headers(wide: bool) -> Vec<&'static str>;
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String>;
    /// The event this is, when it is one (`get events -w` follows the event stream).
    fn as_event(&self) -> Option<&Event> {
        None
    }
}

fn age(now_ms: i64, created_ms: i64) -> String {
    if created_ms <= 0 {
        return "<unknown>".to_owned();
    }
    human_duration(now_ms - created_ms)
}

fn or_none(text: String) -> String {
    if text.is_empty() {
        "<none>".to_owned()
    } else {
        text
    }
}

impl Printable for Pod {
    const RESOURCE: Resource = Resource::Pods;
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["NAME", "READY", "STATUS", "RESTARTS", "AGE"];
        if wide {
            h.extend(["IP", "NODE"]);
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        // kubectl adds when the last restart happened: `5 (2m ago)`.
        let last_restart = self
            .containers
            .iter()
            .filter_map(|c| c.last_termination.as_ref()?.finished_ms)
            .max();
        let restarts = match last_restart {
            Some(at) if self.restarts > 0 => {
                format!("{} ({} ago)", self.restarts, human_duration(now_ms - at))
            }
            _ => self.restarts.to_string(),
        };
        let mut c = vec![
            self.name.clone(),
            format!("{}/{}", self.ready, self.total),
            self.status.clone(),
            restarts,
            age(now_ms, self.created_ms),
        ];
        if wide {
            c.push(or_none(self.pod_ip.clone().unwrap_or_default()));
            c.push(or_none(self.node.clone().unwrap_or_default()));
        }
        c
    }
}

impl Printable for Node {
    const RESOURCE: Resource = Resource::Nodes;
    fn name(&self) -> &str {
        &self.name
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["NAME", "STATUS", "ROLES", "AGE", "VERSION"];
        if wide {
            h.extend([
                "INTERNAL-IP",
                "EXTERNAL-IP",
                "OS-IMAGE",
                "KERNEL-VERSION",
                "CONTAINER-RUNTIME",
            ]);
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let mut status = if self.ready { "Ready" } else { "NotReady" }.to_owned();
        if self.unschedulable {
            status.push_str(",SchedulingDisabled");
        }
        let mut c = vec![
            self.name.clone(),
            status,
            or_none(self.roles.join(",")),
            age(now_ms, self.created_ms),
            self.info.kubelet_version.clone(),
        ];
        if wide {
            let address = |kind: &str| {
                self.addresses
                    .iter()
                    .find(|a| a.type_ == kind)
                    .map_or_else(|| "<none>".to_owned(), |a| a.address.clone())
            };
            c.extend([
                address("InternalIP"),
                address("ExternalIP"),
                self.info.os_image.clone(),
                self.info.kernel_version.clone(),
                self.info.container_runtime.clone(),
            ]);
        }
        c
    }
}

impl Printable for Deployment {
    const RESOURCE: Resource = Resource::Deployments;
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"];
        if wide {
            h.extend(["IMAGES", "SELECTOR"]);
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let mut c = vec![
            self.name.clone(),
            format!("{}/{}", self.ready, self.desired),
            self.updated.to_string(),
            self.available.to_string(),
            age(now_ms, self.created_ms),
        ];
        if wide {
            c.push(or_none(self.images.join(",")));
            c.push(or_none(labels(&self.selector)));
        }
        c
    }
}

fn labels(map: &std::collections::BTreeMap<String, String>) -> String {
    map.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",")
}

impl Printable for Service {
    const RESOURCE: Resource = Resource::Services;
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec![
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE",
        ];
        if wide {
            h.push("SELECTOR");
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let ports = self
            .ports
            .iter()
            .map(|p| match p.node_port {
                Some(node_port) => format!("{}:{node_port}/{}", p.port, p.protocol),
                None => format!("{}/{}", p.port, p.protocol),
            })
            .collect::<Vec<_>>()
            .join(",");
        let external = match (&self.external_name, self.external_ips.is_empty()) {
            (Some(name), _) => name.clone(),
            (None, false) => self.external_ips.join(","),
            (None, true) => "<none>".to_owned(),
        };
        let mut c = vec![
            self.name.clone(),
            format!("{:?}", self.type_),
            or_none(self.cluster_ip.clone().unwrap_or_default()),
            external,
            or_none(ports),
            age(now_ms, self.created_ms),
        ];
        if wide {
            c.push(or_none(labels(&self.selector)));
        }
        c
    }
}

impl Printable for Namespace {
    const RESOURCE: Resource = Resource::Namespaces;
    fn name(&self) -> &str {
        &self.name
    }
    fn headers(_wide: bool) -> Vec<&'static str> {
        vec!["NAME", "STATUS", "AGE"]
    }
    fn cells(&self, now_ms: i64, _wide: bool) -> Vec<String> {
        vec![
            self.name.clone(),
            self.phase.clone(),
            age(now_ms, self.created_ms),
        ]
    }
}

impl Printable for Ingress {
    const RESOURCE: Resource = Resource::Ingresses;
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"];
        if wide {
            h.push("BACKENDS");
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let hosts: Vec<&str> = self
            .rules
            .iter()
            .map(|r| r.host.as_deref().unwrap_or("*"))
            .collect();
        let ports = if self.tls.is_empty() { "80" } else { "80, 443" };
        let mut c = vec![
            self.name.clone(),
            or_none(self.class.clone().unwrap_or_default()),
            or_none(hosts.join(",")),
            self.addresses.join(","),
            ports.to_owned(),
            age(now_ms, self.created_ms),
        ];
        if wide {
            let backends: Vec<String> = self
                .rules
                .iter()
                .flat_map(|r| &r.paths)
                .map(|p| match &p.backend {
                    IngressBackend::Service { name, port } => format!("{}→{name}:{port}", p.path),
                    IngressBackend::Resource { kind, name } => {
                        format!("{}→{kind}/{name}", p.path)
                    }
                })
                .collect();
            c.push(or_none(backends.join(",")));
        }
        c
    }
}

impl Printable for ConfigMap {
    const RESOURCE: Resource = Resource::ConfigMaps;
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(_wide: bool) -> Vec<&'static str> {
        vec!["NAME", "DATA", "AGE"]
    }
    fn cells(&self, now_ms: i64, _wide: bool) -> Vec<String> {
        vec![
            self.name.clone(),
            self.keys.len().to_string(),
            age(now_ms, self.created_ms),
        ]
    }
}

impl Printable for Event {
    const RESOURCE: Resource = Resource::Events;
    fn as_event(&self) -> Option<&Event> {
        Some(self)
    }
    fn name(&self) -> &str {
        &self.name
    }
    fn namespace(&self) -> Option<&str> {
        Some(&self.namespace)
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
        if wide {
            h.extend(["SOURCE", "FIRST SEEN", "COUNT", "NAME"]);
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let mut c = vec![
            human_duration(now_ms - self.last_seen_ms),
            format!("{:?}", self.type_),
            self.reason.clone(),
            format!(
                "{}/{}",
                self.object.kind.to_ascii_lowercase(),
                self.object.name
            ),
            self.message.replace('\n', " "),
        ];
        if wide {
            c.extend([
                self.source.clone().unwrap_or_default(),
                human_duration(now_ms - self.first_seen_ms),
                self.count.to_string(),
                self.name.clone(),
            ]);
        }
        c
    }
}

impl Printable for ClusterSummary {
    const RESOURCE: Resource = Resource::Clusters;
    // A cluster is named by its id: what `--cluster` takes.
    #[allow(clippy::misnamed_getters)]
    fn name(&self) -> &str {
        &self.id
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec![
            "NAME",
            "STATUS",
            "LAST PUSH",
            "NODES",
            "PODS",
            "UNHEALTHY",
            "WARNINGS",
            "AGE",
        ];
        if wide {
            h.push("CLOCK SKEW");
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let mut cells = vec![
            self.id.clone(),
            if self.stale { "Stale" } else { "Live" }.to_owned(),
            self.last_push_ms.map_or_else(
                || "never".to_owned(),
                |t| format!("{} ago", human_duration(now_ms - t)),
            ),
            format!("{}/{}", self.counts.nodes_ready, self.counts.nodes),
            format!("{}/{}", self.counts.pods_running, self.counts.pods),
            self.counts.pods_unhealthy.to_string(),
            self.counts.warning_events.to_string(),
            age(now_ms, self.created_ms),
        ];
        if wide {
            // The agent's clock against master's: `+10m` ahead, `-3s` behind.
            cells.push(self.clock_skew_ms.map_or_else(
                || "<none>".to_owned(),
                |ms| {
                    let sign = if ms < 0 { "-" } else { "+" };
                    format!("{sign}{}", human_duration(ms.abs()))
                },
            ));
        }
        cells
    }
}

impl Printable for CommandInfo {
    const RESOURCE: Resource = Resource::Commands;
    fn name(&self) -> &str {
        &self.command.id
    }
    fn headers(wide: bool) -> Vec<&'static str> {
        let mut h = vec!["ID", "CLUSTER", "KIND", "TARGET", "STATUS", "BY", "AGE"];
        if wide {
            h.push("MESSAGE");
        }
        h
    }
    fn cells(&self, now_ms: i64, wide: bool) -> Vec<String> {
        let c = &self.command;
        let mut cells = vec![
            c.id.clone(),
            c.cluster_id.clone(),
            c.kind.name().to_owned(),
            c.kind.target(),
            self.status.to_string(),
            c.requested_by.clone(),
            age(now_ms, c.created_ms),
        ];
        if wide {
            cells.push(self.message.clone().unwrap_or_default());
        }
        cells
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_parse_by_plural_singular_and_short_name() {
        for (text, kind) in [
            ("pods", Resource::Pods),
            ("po", Resource::Pods),
            ("Pod", Resource::Pods),
            ("no", Resource::Nodes),
            ("deploy", Resource::Deployments),
            ("deployments.apps", Resource::Deployments),
            ("svc", Resource::Services),
            ("ns", Resource::Namespaces),
            ("ing", Resource::Ingresses),
            ("cm", Resource::ConfigMaps),
            ("ev", Resource::Events),
            ("clusters", Resource::Clusters),
            ("cmd", Resource::Commands),
        ] {
            assert_eq!(Resource::parse(text).unwrap(), kind, "{text}");
        }
        let e = Resource::parse("widgets").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.to_string().contains("\"widgets\""), "{e}");
    }
}
