//! The columns of each kind, as the API server's printers fill them for `kubectl get`.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Event, Namespace, Node, Pod, PodSpec, PodTemplateSpec, Service,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use serde_json::{Value, json};

use super::{Printable, age, human_duration, node_roles, node_status, pod_summary};

fn none_if_empty(s: String) -> String {
    if s.is_empty() { "<none>".to_owned() } else { s }
}

fn selector_text(labels: Option<&BTreeMap<String, String>>) -> String {
    none_if_empty(
        labels
            .map(|l| {
                l.iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default(),
    )
}

fn label_selector_text(selector: &LabelSelector) -> String {
    let mut parts: Vec<String> = selector
        .match_labels
        .iter()
        .flatten()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    for expr in selector.match_expressions.iter().flatten() {
        let values = expr.values.clone().unwrap_or_default().join(",");
        parts.push(match expr.operator.as_str() {
            "In" => format!("{} in ({values})", expr.key),
            "NotIn" => format!("{} notin ({values})", expr.key),
            "Exists" => expr.key.clone(),
            _ => format!("!{}", expr.key),
        });
    }
    none_if_empty(parts.join(","))
}

/// The wide columns every workload kind ends with: CONTAINERS, IMAGES, SELECTOR.
fn workload_cells(
    template: Option<&PodTemplateSpec>,
    selector: Option<&LabelSelector>,
) -> [Value; 3] {
    let (containers, images) = containers_and_images(template);
    [
        json!(containers),
        json!(images),
        json!(selector.map_or("<none>".to_owned(), label_selector_text)),
    ]
}

fn containers_and_images(template: Option<&PodTemplateSpec>) -> (String, String) {
    let containers = template
        .and_then(|t| t.spec.as_ref())
        .map(|s: &PodSpec| s.containers.as_slice())
        .unwrap_or_default();
    (
        containers
            .iter()
            .map(|c| c.name.clone())
            .collect::<Vec<_>>()
            .join(","),
        containers
            .iter()
            .map(|c| c.image.clone().unwrap_or_default())
            .collect::<Vec<_>>()
            .join(","),
    )
}

impl Printable for Pod {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Status", "string", 0),
        ("Restarts", "string", 0),
        ("Age", "string", 0),
        ("IP", "string", 1),
        ("Node", "string", 1),
        ("Nominated Node", "string", 1),
        ("Readiness Gates", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let s = pod_summary(self);
        let restarts = match s.last_restart_ms {
            Some(last) if s.restarts != 0 => {
                format!("{} ({} ago)", s.restarts, human_duration(now_ms - last))
            }
            _ => s.restarts.to_string(),
        };
        let status = self.status.as_ref();
        vec![
            json!(self.metadata.name),
            json!(format!("{}/{}", s.ready, s.total)),
            json!(s.status),
            json!(restarts),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
            json!(none_if_empty(
                status.and_then(|s| s.pod_ip.clone()).unwrap_or_default()
            )),
            json!(none_if_empty(
                self.spec
                    .as_ref()
                    .and_then(|s| s.node_name.clone())
                    .unwrap_or_default()
            )),
            json!(none_if_empty(
                status
                    .and_then(|s| s.nominated_node_name.clone())
                    .unwrap_or_default()
            )),
            json!("<none>"),
        ]
    }
}

impl Printable for Node {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Roles", "string", 0),
        ("Age", "string", 0),
        ("Version", "string", 0),
        ("Internal-IP", "string", 1),
        ("External-IP", "string", 1),
        ("OS-Image", "string", 1),
        ("Kernel-Version", "string", 1),
        ("Container-Runtime", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let status = self.status.as_ref();
        let address = |type_: &str| {
            none_if_empty(
                status
                    .and_then(|s| s.addresses.as_ref())
                    .and_then(|a| a.iter().find(|a| a.type_ == type_))
                    .map(|a| a.address.clone())
                    .unwrap_or_default(),
            )
        };
        let info = status.and_then(|s| s.node_info.as_ref());
        let info_field = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| {
            info.map(|i| f(i).clone()).unwrap_or_default()
        };
        vec![
            json!(self.metadata.name),
            json!(node_status(self)),
            json!(none_if_empty(node_roles(self).join(","))),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
            json!(info_field(|i| &i.kubelet_version)),
            json!(address("InternalIP")),
            json!(address("ExternalIP")),
            json!(info_field(|i| &i.os_image)),
            json!(info_field(|i| &i.kernel_version)),
            json!(info_field(|i| &i.container_runtime_version)),
        ]
    }
}

impl Printable for Namespace {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Status", "string", 0),
        ("Age", "string", 0),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        vec![
            json!(self.metadata.name),
            json!(
                self.status
                    .as_ref()
                    .and_then(|s| s.phase.clone())
                    .unwrap_or_default()
            ),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ]
    }
}

impl Printable for Service {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Type", "string", 0),
        ("Cluster-IP", "string", 0),
        ("External-IP", "string", 0),
        ("Port(s)", "string", 0),
        ("Age", "string", 0),
        ("Selector", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let spec = self.spec.clone().unwrap_or_default();
        let type_ = spec.type_.clone().unwrap_or_else(|| "ClusterIP".to_owned());
        let lb: Vec<String> = self
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
            .collect();
        let mut external: Vec<String> = spec.external_ips.clone().unwrap_or_default();
        let external = match type_.as_str() {
            "ExternalName" => spec.external_name.clone().unwrap_or_default(),
            "LoadBalancer" => {
                external.extend(lb);
                if external.is_empty() {
                    "<pending>".to_owned()
                } else {
                    external.join(",")
                }
            }
            _ => none_if_empty(external.join(",")),
        };
        let ports = spec
            .ports
            .iter()
            .flatten()
            .map(|p| {
                let protocol = p.protocol.clone().unwrap_or_else(|| "TCP".to_owned());
                match p.node_port {
                    Some(np) => format!("{}:{np}/{protocol}", p.port),
                    None => format!("{}/{protocol}", p.port),
                }
            })
            .collect::<Vec<_>>()
            .join(",");
        vec![
            json!(self.metadata.name),
            json!(type_),
            json!(
                spec.cluster_ip
                    .clone()
                    .unwrap_or_else(|| "<none>".to_owned())
            ),
            json!(external),
            json!(none_if_empty(ports)),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
            json!(selector_text(spec.selector.as_ref())),
        ]
    }
}

impl Printable for Endpoints {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Endpoints", "string", 0),
        ("Age", "string", 0),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let mut all = Vec::new();
        for subset in self.subsets.iter().flatten() {
            for address in subset.addresses.iter().flatten() {
                for port in subset.ports.iter().flatten() {
                    all.push(format!("{}:{}", address.ip, port.port));
                }
            }
        }
        let text = if all.len() > 3 {
            format!("{} + {} more...", all[..3].join(","), all.len() - 3)
        } else {
            none_if_empty(all.join(","))
        };
        vec![
            json!(self.metadata.name),
            json!(text),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ]
    }
}

impl Printable for ConfigMap {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Data", "integer", 0),
        ("Age", "string", 0),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let count = self.data.as_ref().map_or(0, BTreeMap::len)
            + self.binary_data.as_ref().map_or(0, BTreeMap::len);
        vec![
            json!(self.metadata.name),
            json!(count),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ]
    }
}

impl Printable for Event {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Last Seen", "string", 0),
        ("Type", "string", 0),
        ("Reason", "string", 0),
        ("Object", "string", 0),
        ("Subobject", "string", 1),
        ("Source", "string", 1),
        ("Message", "string", 0),
        ("First Seen", "string", 1),
        ("Count", "string", 1),
        ("Name", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let o = &self.involved_object;
        let object = format!(
            "{}/{}",
            o.kind.clone().unwrap_or_default().to_lowercase(),
            o.name.clone().unwrap_or_default()
        );
        let source = self
            .source
            .as_ref()
            .map(|s| {
                let component = s.component.clone().unwrap_or_default();
                match &s.host {
                    Some(host) => format!("{component}, {host}"),
                    None => component,
                }
            })
            .unwrap_or_default();
        vec![
            json!(age(self.last_timestamp.as_ref(), now_ms)),
            json!(self.type_.clone().unwrap_or_default()),
            json!(self.reason.clone().unwrap_or_default()),
            json!(object),
            json!(o.field_path.clone().unwrap_or_default()),
            json!(source),
            json!(self.message.clone().unwrap_or_default()),
            json!(age(self.first_timestamp.as_ref(), now_ms)),
            json!(self.count.unwrap_or(1).to_string()),
            json!(self.metadata.name),
        ]
    }
}

impl Printable for Deployment {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Ready", "string", 0),
        ("Up-to-date", "integer", 0),
        ("Available", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let desired = self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        let status = self.status.clone().unwrap_or_default();
        let wide = workload_cells(
            self.spec.as_ref().map(|s| &s.template),
            self.spec.as_ref().map(|s| &s.selector),
        );
        let mut cells = vec![
            json!(self.metadata.name),
            json!(format!("{}/{desired}", status.ready_replicas.unwrap_or(0))),
            json!(status.updated_replicas.unwrap_or(0)),
            json!(status.available_replicas.unwrap_or(0)),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ];
        cells.extend(wide);
        cells
    }
}

impl Printable for ReplicaSet {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let status = self.status.clone().unwrap_or_default();
        let wide = workload_cells(
            self.spec.as_ref().and_then(|s| s.template.as_ref()),
            self.spec.as_ref().map(|s| &s.selector),
        );
        let mut cells = vec![
            json!(self.metadata.name),
            json!(self.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)),
            json!(status.replicas),
            json!(status.ready_replicas.unwrap_or(0)),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ];
        cells.extend(wide);
        cells
    }
}

impl Printable for DaemonSet {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Desired", "integer", 0),
        ("Current", "integer", 0),
        ("Ready", "integer", 0),
        ("Up-to-date", "integer", 0),
        ("Available", "integer", 0),
        ("Node Selector", "string", 0),
        ("Age", "string", 0),
        ("Containers", "string", 1),
        ("Images", "string", 1),
        ("Selector", "string", 1),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let status = self.status.clone().unwrap_or_default();
        let wide = workload_cells(
            self.spec.as_ref().map(|s| &s.template),
            self.spec.as_ref().map(|s| &s.selector),
        );
        let node_selector = self
            .spec
            .as_ref()
            .and_then(|s| s.template.spec.as_ref())
            .and_then(|s| s.node_selector.as_ref());
        let mut cells = vec![
            json!(self.metadata.name),
            json!(status.desired_number_scheduled),
            json!(status.current_number_scheduled),
            json!(status.number_ready),
            json!(status.updated_number_scheduled.unwrap_or(0)),
            json!(status.number_available.unwrap_or(0)),
            json!(selector_text(node_selector)),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ];
        cells.extend(wide);
        cells
    }
}

impl Printable for Ingress {
    const COLUMNS: &'static [(&'static str, &'static str, u8)] = &[
        ("Name", "string", 0),
        ("Class", "string", 0),
        ("Hosts", "string", 0),
        ("Address", "string", 0),
        ("Ports", "string", 0),
        ("Age", "string", 0),
    ];

    fn cells(&self, now_ms: i64) -> Vec<Value> {
        let spec = self.spec.clone().unwrap_or_default();
        let hosts: Vec<String> = spec
            .rules
            .iter()
            .flatten()
            .map(|r| r.host.clone().unwrap_or_else(|| "*".to_owned()))
            .collect();
        let hosts = if hosts.len() > 4 {
            format!("{} + {} more...", hosts[..4].join(","), hosts.len() - 4)
        } else if hosts.is_empty() {
            "*".to_owned()
        } else {
            hosts.join(",")
        };
        let address: Vec<String> = self
            .status
            .as_ref()
            .and_then(|s| s.load_balancer.as_ref())
            .and_then(|l| l.ingress.as_ref())
            .into_iter()
            .flatten()
            .filter_map(|i| i.ip.clone().or_else(|| i.hostname.clone()))
            .collect();
        let ports = if spec.tls.as_ref().is_some_and(|t| !t.is_empty()) {
            "80, 443"
        } else {
            "80"
        };
        vec![
            json!(self.metadata.name),
            json!(none_if_empty(
                spec.ingress_class_name.clone().unwrap_or_default()
            )),
            json!(hosts),
            json!(address.join(",")),
            json!(ports),
            json!(age(self.metadata.creation_timestamp.as_ref(), now_ms)),
        ]
    }
}
