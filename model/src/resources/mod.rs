//! Compact summaries of Kubernetes objects: what the views, alerts and diagnosis need, in base
//! units (bytes, millicores, milliseconds since the Unix epoch), never whole API objects.

mod config;
mod event;
mod network;
mod node;
mod pod;
mod workload;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use config::{ConfigMap, ConfigMapKey, Namespace};
pub use event::{Event, EventType, InvolvedObject};
pub use network::{
    Ingress, IngressBackend, IngressPath, IngressRule, IngressTls, Service, ServicePort,
    ServiceType,
};
pub use node::{Node, NodeAddress, NodeCondition, NodeInfo, NodeResources, Taint};
pub use pod::{
    Container, ContainerState, LastTermination, OwnerRef, Pod, PodPhase, QosClass, Resources,
};
pub use workload::{Deployment, DeploymentCondition, DeploymentStrategy};

/// Labels or selectors: sorted, so output and hashing are stable.
pub type Labels = BTreeMap<String, String>;

/// A condition's status as Kubernetes reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ConditionStatus {
    /// It holds.
    True,
    /// It does not hold.
    False,
    /// Not known (the node stopped reporting).
    Unknown,
}
