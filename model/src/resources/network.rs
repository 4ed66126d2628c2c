use serde::{Deserialize, Serialize};

use super::Labels;

/// A service: `kubectl get svc -o wide`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Service {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    #[serde(rename = "type")]
    /// `spec.type`.
    pub type_: ServiceType,
    /// `None` for a headless service (`clusterIP: None`) and for `ExternalName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster_ip: Option<String>,
    /// `spec.externalIPs` plus the load balancer's ingress IPs or hostnames.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ips: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The DNS name an `ExternalName` service points at.
    pub external_name: Option<String>,
    #[serde(default)]
    /// Its ports.
    pub ports: Vec<ServicePort>,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// The pods it sends to (empty: none chosen by labels).
    pub selector: Labels,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
}

/// `spec.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ServiceType {
    /// A virtual IP inside the cluster.
    ClusterIP,
    /// Also a port on every node.
    NodePort,
    /// Also an external load balancer.
    LoadBalancer,
    /// A DNS alias, no proxying.
    ExternalName,
}

/// `spec.ports[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct ServicePort {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The port's name (needed when there are several).
    pub name: Option<String>,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    /// The service's port.
    pub port: u16,
    /// A port number or a named container port, as written in the spec.
    pub target_port: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The port on every node (`NodePort`, `LoadBalancer`).
    pub node_port: Option<u16>,
}

/// An ingress (networking.k8s.io/v1): `kubectl get ing`, with its rules spelled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Ingress {
    /// Its namespace.
    pub namespace: String,
    /// Its name.
    pub name: String,
    /// Its uid.
    pub uid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// `spec.ingressClassName`.
    pub class: Option<String>,
    #[serde(default)]
    /// Hosts and paths, in order.
    pub rules: Vec<IngressRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    /// Hosts served over TLS.
    pub tls: Vec<IngressTls>,
    /// The load balancer's addresses (IPs or hostnames).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub addresses: Vec<String>,
    /// When it was created (ms since the epoch).
    pub created_ms: i64,
    #[serde(default, skip_serializing_if = "Labels::is_empty")]
    /// Its labels.
    pub labels: Labels,
}

/// One host's rules; `host` is `None` for the catch-all rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngressRule {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The host matched (any when absent).
    pub host: Option<String>,
    #[serde(default)]
    /// Its paths.
    pub paths: Vec<IngressPath>,
}

/// `http.paths[]` of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngressPath {
    /// The path matched (`/` when absent in the object).
    pub path: String,
    /// `Prefix`, `Exact` or `ImplementationSpecific`.
    pub path_type: String,
    /// Where it goes.
    pub backend: IngressBackend,
}

/// Where an ingress path sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum IngressBackend {
    /// A service port, by number or by name.
    Service {
        /// The service.
        name: String,
        /// Its port: a number or the port's name.
        port: String,
    },
    /// A custom resource backend.
    Resource {
        /// The resource's kind.
        kind: String,
        /// The resource.
        name: String,
    },
}

/// `spec.tls[]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct IngressTls {
    #[serde(default)]
    /// The hosts the certificate covers.
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The secret holding the certificate.
    pub secret_name: Option<String>,
}
