//! Scenarios: what a simulated cluster starts with. `demo` and `large` are built in; tests
//! write their own as YAML or JSON in the same format.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{
    DaemonSet, DaemonSetSpec, Deployment, DeploymentSpec, DeploymentStrategy,
    RollingUpdateDeployment,
};
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, ContainerPort, Namespace, NamespaceStatus, Node, NodeAddress,
    NodeCondition, NodeSpec, NodeStatus, NodeSystemInfo, PodSpec, PodTemplateSpec,
    ResourceRequirements, Service, ServicePort, ServiceSpec, Taint,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule,
    IngressServiceBackend, IngressSpec, IngressTLS, ServiceBackendPort,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde::{Deserialize, Serialize};

use crate::status::ApiError;
use crate::store::{World, time};

/// The built-in `demo` scenario, as a scenario file.
const DEMO: &str = include_str!("../scenarios/demo.yaml");

/// A scenario file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub nodes: Vec<NodePlan>,
    #[serde(default)]
    pub namespaces: Vec<String>,
    #[serde(default)]
    pub deployments: Vec<DeploymentPlan>,
    #[serde(default)]
    pub daemonsets: Vec<DaemonSetPlan>,
    #[serde(default)]
    pub services: Vec<ServicePlan>,
    #[serde(default)]
    pub ingresses: Vec<IngressPlan>,
    #[serde(default)]
    pub configmaps: Vec<ConfigMapPlan>,
}

/// Nodes: one, or `count` of them named `{name}-{i}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodePlan {
    pub name: String,
    #[serde(default)]
    pub count: Option<u32>,
    #[serde(default = "default_node_cpu")]
    pub cpu: String,
    #[serde(default = "default_node_memory")]
    pub memory: String,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Conditions set true from the start: `MemoryPressure`, `DiskPressure`, `PIDPressure`.
    #[serde(default)]
    pub pressure: Vec<String>,
}

fn default_node_cpu() -> String {
    "4".to_owned()
}

fn default_node_memory() -> String {
    "16Gi".to_owned()
}

/// A deployment and its pod template's containers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeploymentPlan {
    pub namespace: String,
    pub name: String,
    #[serde(default = "one")]
    pub replicas: i32,
    pub containers: Vec<ContainerPlan>,
    /// `RollingUpdate` (default) or `Recreate`.
    #[serde(default)]
    pub strategy: Option<String>,
    #[serde(default)]
    pub progress_deadline_seconds: Option<i32>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

fn one() -> i32 {
    1
}

/// A DaemonSet: one pod on every node (tolerating every taint when `everywhere`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DaemonSetPlan {
    pub namespace: String,
    pub name: String,
    pub containers: Vec<ContainerPlan>,
    #[serde(default)]
    pub everywhere: bool,
}

/// A container; `fault` makes it misbehave: `crash` (exits 1 after a few seconds), `oom`
/// (killed at its memory limit).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerPlan {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub cpu_limit: Option<String>,
    #[serde(default)]
    pub memory_limit: Option<String>,
    #[serde(default)]
    pub port: Option<i32>,
    #[serde(default)]
    pub fault: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePlan {
    pub namespace: String,
    pub name: String,
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer`, `ExternalName`.
    #[serde(default)]
    pub type_: Option<String>,
    /// `port` or `port:targetPort`.
    #[serde(default)]
    pub ports: Vec<String>,
    /// Defaults to `app: <name>`.
    #[serde(default)]
    pub selector: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub headless: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressPlan {
    pub namespace: String,
    pub name: String,
    pub host: String,
    pub service: String,
    pub port: i32,
    #[serde(default)]
    pub tls: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigMapPlan {
    pub namespace: String,
    pub name: String,
    #[serde(default)]
    pub data: BTreeMap<String, String>,
}

/// Why a scenario cannot be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read scenario file {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("scenario file {path} is not valid: {message}")]
    Parse { path: String, message: String },
    #[error("scenario object rejected: {}", .0.message)]
    Rejected(ApiError),
}

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn meta(namespace: Option<&str>, name: &str, labels: BTreeMap<String, String>) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: namespace.map(str::to_owned),
        labels: (!labels.is_empty()).then_some(labels),
        ..ObjectMeta::default()
    }
}

impl Scenario {
    /// A scenario by name (`demo`, `large`) or from a YAML/JSON file.
    ///
    /// # Errors
    /// [`ScenarioError`] when the file cannot be read or parsed.
    pub fn load(name_or_path: &str, seed: u64) -> Result<Scenario, ScenarioError> {
        match name_or_path {
            "demo" => Ok(Scenario::demo()),
            "large" => Ok(Scenario::large(seed)),
            path => {
                let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                serde_yaml_ng::from_str(&text).map_err(|e| ScenarioError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })
            }
        }
    }

    /// One control-plane and four workers, six namespaces, fifteen deployments (about sixty
    /// pods), with one crash-looping pod, one image-pull failure, one pending pod and one node
    /// under memory pressure: `scenarios/demo.yaml`, built in.
    pub fn demo() -> Scenario {
        serde_yaml_ng::from_str(DEMO).expect("scenarios/demo.yaml is a scenario (tested)")
    }

    /// 200 nodes, 5,000 pods, 400 deployments across 20 namespaces.
    pub fn large(seed: u64) -> Scenario {
        let namespaces: Vec<String> = (0..20).map(|i| format!("team-{i:02}")).collect();
        let images = [
            "nginx:1.27",
            "registry.example.com/api:2.1",
            "registry.example.com/worker:1.4",
            "redis:7.4",
        ];
        let deployments = (0..400)
            .map(|i| {
                // 100 deployments of 5 pods and 300 of ~15: 500 + 4,500 = 5,000 pods.
                let replicas = if i < 100 { 5 } else { 15 };
                let image = images[((i as u64 + seed) % 4) as usize];
                DeploymentPlan {
                    namespace: namespaces[i % 20].clone(),
                    name: format!("svc-{i:03}"),
                    replicas,
                    containers: vec![ContainerPlan {
                        name: "app".to_owned(),
                        image: image.to_owned(),
                        cpu: Some("50m".to_owned()),
                        memory: Some("64Mi".to_owned()),
                        cpu_limit: None,
                        memory_limit: Some("128Mi".to_owned()),
                        port: Some(8080),
                        fault: None,
                    }],
                    strategy: None,
                    progress_deadline_seconds: None,
                    labels: BTreeMap::new(),
                }
            })
            .collect();
        Scenario {
            nodes: vec![NodePlan {
                name: "node".to_owned(),
                count: Some(200),
                cpu: "16".to_owned(),
                memory: "64Gi".to_owned(),
                roles: Vec::new(),
                labels: BTreeMap::new(),
                pressure: Vec::new(),
            }],
            namespaces,
            deployments,
            ..Scenario::default()
        }
    }

    /// Creates the scenario's objects in the world (controllers then bring it to life).
    ///
    /// # Errors
    /// [`ScenarioError::Rejected`] when an object is invalid (a bad name, say).
    pub fn apply(&self, world: &mut World, now_ms: i64) -> Result<(), ScenarioError> {
        let rejected = ScenarioError::Rejected;
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"]
            .into_iter()
            .map(str::to_owned)
            .chain(self.namespaces.iter().cloned())
        {
            if world.get::<Namespace>("", &ns).is_some() {
                continue;
            }
            world
                .create(
                    Namespace {
                        metadata: meta(None, &ns, labels(&[("kubernetes.io/metadata.name", &ns)])),
                        status: Some(NamespaceStatus {
                            phase: Some("Active".to_owned()),
                            ..NamespaceStatus::default()
                        }),
                        ..Namespace::default()
                    },
                    now_ms,
                )
                .map_err(rejected)?;
        }
        let mut index = 0;
        for plan in &self.nodes {
            let names: Vec<String> = match plan.count {
                Some(n) => (1..=n).map(|i| format!("{}-{i:03}", plan.name)).collect(),
                None => vec![plan.name.clone()],
            };
            for name in names {
                index += 1;
                world
                    .create(node(plan, &name, index, now_ms), now_ms)
                    .map_err(rejected)?;
            }
        }
        for plan in &self.deployments {
            world.create(deployment(plan), now_ms).map_err(rejected)?;
        }
        for plan in &self.daemonsets {
            world.create(daemonset(plan), now_ms).map_err(rejected)?;
        }
        let control_planes: Vec<std::sync::Arc<Node>> = world
            .nodes
            .iter()
            .filter(|e| {
                e.meta
                    .labels
                    .contains_key("node-role.kubernetes.io/control-plane")
            })
            .map(|e| e.object.clone())
            .collect();
        for node in control_planes {
            for pod in static_pods(&node) {
                world.create(pod, now_ms).map_err(rejected)?;
            }
        }
        for (i, plan) in self.services.iter().enumerate() {
            world.create(service(plan, i), now_ms).map_err(rejected)?;
        }
        for plan in &self.ingresses {
            world.create(ingress(plan), now_ms).map_err(rejected)?;
        }
        for plan in &self.configmaps {
            let map = ConfigMap {
                metadata: meta(Some(&plan.namespace), &plan.name, BTreeMap::new()),
                data: Some(plan.data.clone()),
                ..ConfigMap::default()
            };
            world.create(map, now_ms).map_err(rejected)?;
        }
        // Every namespace has the cluster's root CA config map, as on a real cluster.
        let namespaces: Vec<String> = world
            .namespaces
            .iter()
            .map(|e| e.meta.name.clone())
            .collect();
        for ns in namespaces {
            if world.get::<ConfigMap>(&ns, "kube-root-ca.crt").is_none() {
                let map = ConfigMap {
                    metadata: meta(Some(&ns), "kube-root-ca.crt", BTreeMap::new()),
                    data: Some(labels(&[(
                        "ca.crt",
                        "-----BEGIN CERTIFICATE-----\nMIIBkubesimCA\n-----END CERTIFICATE-----\n",
                    )])),
                    ..ConfigMap::default()
                };
                world.create(map, now_ms).map_err(rejected)?;
            }
        }
        Ok(())
    }
}

fn condition(type_: &str, status: bool, reason: &str, message: &str, now_ms: i64) -> NodeCondition {
    NodeCondition {
        type_: type_.to_owned(),
        status: if status { "True" } else { "False" }.to_owned(),
        reason: Some(reason.to_owned()),
        message: Some(message.to_owned()),
        last_heartbeat_time: Some(time(now_ms)),
        last_transition_time: Some(time(now_ms)),
    }
}

/// Node conditions as a kubelet reports them; `pressure` names the ones that are true.
pub fn node_conditions(pressure: &[String], ready: bool, now_ms: i64) -> Vec<NodeCondition> {
    let p = |name: &str| pressure.iter().any(|x| x == name);
    vec![
        if p("MemoryPressure") {
            condition(
                "MemoryPressure",
                true,
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available",
                now_ms,
            )
        } else {
            condition(
                "MemoryPressure",
                false,
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available",
                now_ms,
            )
        },
        if p("DiskPressure") {
            condition(
                "DiskPressure",
                true,
                "KubeletHasDiskPressure",
                "kubelet has disk pressure",
                now_ms,
            )
        } else {
            condition(
                "DiskPressure",
                false,
                "KubeletHasNoDiskPressure",
                "kubelet has no disk pressure",
                now_ms,
            )
        },
        if p("PIDPressure") {
            condition(
                "PIDPressure",
                true,
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available",
                now_ms,
            )
        } else {
            condition(
                "PIDPressure",
                false,
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available",
                now_ms,
            )
        },
        if ready {
            condition(
                "Ready",
                true,
                "KubeletReady",
                "kubelet is posting ready status",
                now_ms,
            )
        } else {
            condition(
                "Ready",
                false,
                "KubeletNotReady",
                "container runtime network not ready: NetworkReady=false",
                now_ms,
            )
        },
    ]
}

/// The taints a node's conditions and cordon imply, as the node lifecycle controller sets them.
pub fn condition_taints(pressure: &[String]) -> Vec<Taint> {
    let taint = |key: &str| Taint {
        key: key.to_owned(),
        effect: "NoSchedule".to_owned(),
        ..Taint::default()
    };
    let mut taints = Vec::new();
    for (condition, key) in [
        ("MemoryPressure", "node.kubernetes.io/memory-pressure"),
        ("DiskPressure", "node.kubernetes.io/disk-pressure"),
        ("PIDPressure", "node.kubernetes.io/pid-pressure"),
    ] {
        if pressure.iter().any(|p| p == condition) {
            taints.push(taint(key));
        }
    }
    taints
}

fn node(plan: &NodePlan, name: &str, index: usize, now_ms: i64) -> Node {
    let mut node_labels = labels(&[
        ("kubernetes.io/hostname", name),
        ("kubernetes.io/os", "linux"),
        ("kubernetes.io/arch", "amd64"),
        ("beta.kubernetes.io/os", "linux"),
        ("beta.kubernetes.io/arch", "amd64"),
        (
            "topology.kubernetes.io/zone",
            ["zone-a", "zone-b", "zone-c"][index % 3],
        ),
    ]);
    for role in &plan.roles {
        node_labels.insert(format!("node-role.kubernetes.io/{role}"), String::new());
    }
    node_labels.extend(plan.labels.clone());
    let mut taints = condition_taints(&plan.pressure);
    if plan.roles.iter().any(|r| r == "control-plane") {
        taints.push(Taint {
            key: "node-role.kubernetes.io/control-plane".to_owned(),
            effect: "NoSchedule".to_owned(),
            ..Taint::default()
        });
    }
    let memory_bytes = atlhyper_model::quantity::value(&plan.memory).unwrap_or(16 << 30);
    let cpu_millis = atlhyper_model::quantity::cpu_millis(&plan.cpu).unwrap_or(4000);
    let capacity: BTreeMap<String, Quantity> = [
        ("cpu", plan.cpu.clone()),
        ("memory", format!("{}Ki", memory_bytes / 1024)),
        ("pods", "110".to_owned()),
        ("ephemeral-storage", "101445540Ki".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Quantity(v)))
    .collect();
    let allocatable: BTreeMap<String, Quantity> = [
        ("cpu", format!("{}m", cpu_millis.saturating_sub(100))),
        (
            "memory",
            format!("{}Ki", memory_bytes.saturating_sub(512 << 20) / 1024),
        ),
        ("pods", "110".to_owned()),
        ("ephemeral-storage", "93492209510".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), Quantity(v)))
    .collect();
    let octet2 = index / 250;
    let octet3 = index % 250 + 2;
    Node {
        metadata: meta(None, name, node_labels),
        spec: Some(NodeSpec {
            pod_cidr: Some(format!("10.244.{}.0/24", index % 256)),
            taints: (!taints.is_empty()).then_some(taints),
            ..NodeSpec::default()
        }),
        status: Some(NodeStatus {
            capacity: Some(capacity),
            allocatable: Some(allocatable),
            conditions: Some(node_conditions(&plan.pressure, true, now_ms)),
            addresses: Some(vec![
                NodeAddress {
                    type_: "InternalIP".to_owned(),
                    address: format!("192.168.{octet2}.{octet3}"),
                },
                NodeAddress {
                    type_: "Hostname".to_owned(),
                    address: name.to_owned(),
                },
            ]),
            node_info: Some(NodeSystemInfo {
                architecture: "amd64".to_owned(),
                boot_id: format!("{index:08x}-5b0c-4c1e-9a1d-000000000000"),
                container_runtime_version: "containerd://1.7.24".to_owned(),
                kernel_version: "6.8.0-49-generic".to_owned(),
                kube_proxy_version: String::new(),
                kubelet_version: crate::api::GIT_VERSION.to_owned(),
                machine_id: format!("{index:032x}"),
                operating_system: "linux".to_owned(),
                os_image: "Ubuntu 24.04.1 LTS".to_owned(),
                system_uuid: format!("{index:08x}-0000-4000-8000-000000000000"),
                ..NodeSystemInfo::default()
            }),
            ..NodeStatus::default()
        }),
    }
}

fn quantities(cpu: &Option<String>, memory: &Option<String>) -> Option<BTreeMap<String, Quantity>> {
    let mut map = BTreeMap::new();
    if let Some(cpu) = cpu {
        map.insert("cpu".to_owned(), Quantity(cpu.clone()));
    }
    if let Some(memory) = memory {
        map.insert("memory".to_owned(), Quantity(memory.clone()));
    }
    (!map.is_empty()).then_some(map)
}

/// The annotation that carries a container's fault (`crash`, `oom`) in the pod template.
pub const FAULT_ANNOTATION: &str = "kubesim.atlhyper.io/fault";

/// The annotation that makes a pod's eviction fail: `blocked` answers 429 as a disruption
/// budget would, `error` answers 500 as a failing API server would.
pub const EVICTION_ANNOTATION: &str = "kubesim.atlhyper.io/eviction";

/// The control plane's static pods, as the kubelet mirrors them into the API.
fn static_pods(node: &Node) -> Vec<k8s_openapi::api::core::v1::Pod> {
    let node_name = node.metadata.name.clone().unwrap_or_default();
    [
        ("etcd", "registry.k8s.io/etcd:3.5.16-0", "100m", "100Mi"),
        (
            "kube-apiserver",
            "registry.k8s.io/kube-apiserver:v1.33.4",
            "250m",
            "512Mi",
        ),
        (
            "kube-controller-manager",
            "registry.k8s.io/kube-controller-manager:v1.33.4",
            "200m",
            "128Mi",
        ),
        (
            "kube-scheduler",
            "registry.k8s.io/kube-scheduler:v1.33.4",
            "100m",
            "64Mi",
        ),
    ]
    .into_iter()
    .map(|(component, image, cpu, memory)| {
        let plan = ContainerPlan {
            name: component.to_owned(),
            image: image.to_owned(),
            cpu: Some(cpu.to_owned()),
            memory: Some(memory.to_owned()),
            cpu_limit: None,
            memory_limit: None,
            port: None,
            fault: None,
        };
        let mut meta = meta(
            Some("kube-system"),
            &format!("{component}-{node_name}"),
            labels(&[("component", component), ("tier", "control-plane")]),
        );
        meta.annotations = Some(labels(&[
            ("kubernetes.io/config.mirror", "4f2d8e1c0b9a"),
            ("kubernetes.io/config.source", "file"),
        ]));
        meta.owner_references = Some(vec![
            k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference {
                api_version: "v1".to_owned(),
                kind: "Node".to_owned(),
                name: node_name.clone(),
                uid: node.metadata.uid.clone().unwrap_or_default(),
                controller: Some(true),
                block_owner_deletion: None,
            },
        ]);
        k8s_openapi::api::core::v1::Pod {
            metadata: meta,
            spec: Some(PodSpec {
                containers: vec![container(&plan)],
                node_name: Some(node_name.clone()),
                host_network: Some(true),
                priority_class_name: Some("system-node-critical".to_owned()),
                restart_policy: Some("Always".to_owned()),
                tolerations: Some(vec![k8s_openapi::api::core::v1::Toleration {
                    operator: Some("Exists".to_owned()),
                    effect: Some("NoExecute".to_owned()),
                    ..Default::default()
                }]),
                ..PodSpec::default()
            }),
            status: None,
        }
    })
    .collect()
}

fn container(c: &ContainerPlan) -> Container {
    Container {
        name: c.name.clone(),
        image: Some(c.image.clone()),
        image_pull_policy: Some("IfNotPresent".to_owned()),
        ports: c.port.map(|p| {
            vec![ContainerPort {
                container_port: p,
                name: Some("http".to_owned()),
                protocol: Some("TCP".to_owned()),
                ..ContainerPort::default()
            }]
        }),
        resources: Some(ResourceRequirements {
            requests: quantities(&c.cpu, &c.memory),
            limits: quantities(&c.cpu_limit, &c.memory_limit),
            ..ResourceRequirements::default()
        }),
        termination_message_path: Some("/dev/termination-log".to_owned()),
        termination_message_policy: Some("File".to_owned()),
        ..Container::default()
    }
}

fn daemonset(plan: &DaemonSetPlan) -> DaemonSet {
    let pod_labels = labels(&[("app", &plan.name)]);
    DaemonSet {
        metadata: meta(Some(&plan.namespace), &plan.name, pod_labels.clone()),
        spec: Some(DaemonSetSpec {
            selector: LabelSelector {
                match_labels: Some(pod_labels.clone()),
                match_expressions: None,
            },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers: plan.containers.iter().map(container).collect(),
                    tolerations: plan.everywhere.then(|| {
                        vec![k8s_openapi::api::core::v1::Toleration {
                            operator: Some("Exists".to_owned()),
                            ..Default::default()
                        }]
                    }),
                    restart_policy: Some("Always".to_owned()),
                    ..PodSpec::default()
                }),
            },
            ..DaemonSetSpec::default()
        }),
        status: None,
    }
}

fn deployment(plan: &DeploymentPlan) -> Deployment {
    let mut pod_labels = labels(&[("app", &plan.name)]);
    pod_labels.extend(plan.labels.clone());
    let faults: Vec<String> = plan
        .containers
        .iter()
        .filter_map(|c| c.fault.as_ref().map(|f| format!("{}={f}", c.name)))
        .collect();
    let annotations =
        (!faults.is_empty()).then(|| labels(&[(FAULT_ANNOTATION, &faults.join(","))]));
    let containers = plan.containers.iter().map(container).collect();
    let strategy = match plan.strategy.as_deref() {
        Some("Recreate") => DeploymentStrategy {
            type_: Some("Recreate".to_owned()),
            rolling_update: None,
        },
        _ => DeploymentStrategy {
            type_: Some("RollingUpdate".to_owned()),
            rolling_update: Some(RollingUpdateDeployment {
                max_surge: Some(IntOrString::String("25%".to_owned())),
                max_unavailable: Some(IntOrString::String("25%".to_owned())),
            }),
        },
    };
    let mut deployment_labels = labels(&[("app", &plan.name)]);
    deployment_labels.extend(plan.labels.clone());
    Deployment {
        metadata: meta(Some(&plan.namespace), &plan.name, deployment_labels),
        spec: Some(DeploymentSpec {
            replicas: Some(plan.replicas),
            selector: LabelSelector {
                match_labels: Some(labels(&[("app", &plan.name)])),
                match_expressions: None,
            },
            strategy: Some(strategy),
            progress_deadline_seconds: Some(plan.progress_deadline_seconds.unwrap_or(600)),
            revision_history_limit: Some(10),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta {
                    labels: Some(pod_labels),
                    annotations,
                    ..ObjectMeta::default()
                }),
                spec: Some(PodSpec {
                    containers,
                    restart_policy: Some("Always".to_owned()),
                    termination_grace_period_seconds: Some(30),
                    dns_policy: Some("ClusterFirst".to_owned()),
                    scheduler_name: Some("default-scheduler".to_owned()),
                    service_account_name: Some("default".to_owned()),
                    ..PodSpec::default()
                }),
            },
            ..DeploymentSpec::default()
        }),
        status: None,
    }
}

fn service(plan: &ServicePlan, index: usize) -> Service {
    let type_ = plan.type_.clone().unwrap_or_else(|| "ClusterIP".to_owned());
    let ports = plan
        .ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let (port, target) = p.split_once(':').unwrap_or((p, p));
            let port: i32 = port.parse().unwrap_or(80);
            ServicePort {
                name: (plan.ports.len() > 1).then(|| format!("port-{i}")),
                port,
                protocol: Some("TCP".to_owned()),
                target_port: Some(
                    target
                        .parse::<i32>()
                        .map_or_else(|_| IntOrString::String(target.to_owned()), IntOrString::Int),
                ),
                node_port: matches!(type_.as_str(), "NodePort" | "LoadBalancer")
                    .then(|| 30_000 + ((index * 7 + i) % 2_000) as i32),
                ..ServicePort::default()
            }
        })
        .collect();
    let cluster_ip = if plan.headless {
        "None".to_owned()
    } else {
        format!("10.96.{}.{}", index / 200, 10 + index % 200)
    };
    let selector = plan
        .selector
        .clone()
        .unwrap_or_else(|| labels(&[("app", &plan.name)]));
    let load_balancer =
        (type_ == "LoadBalancer").then(|| k8s_openapi::api::core::v1::ServiceStatus {
            load_balancer: Some(k8s_openapi::api::core::v1::LoadBalancerStatus {
                ingress: Some(vec![k8s_openapi::api::core::v1::LoadBalancerIngress {
                    ip: Some(format!("203.0.113.{}", 10 + index % 200)),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        });
    Service {
        metadata: meta(
            Some(&plan.namespace),
            &plan.name,
            labels(&[("app", &plan.name)]),
        ),
        spec: Some(ServiceSpec {
            type_: Some(type_),
            cluster_ip: Some(cluster_ip.clone()),
            cluster_ips: Some(vec![cluster_ip]),
            ports: Some(ports),
            selector: Some(selector),
            session_affinity: Some("None".to_owned()),
            ..ServiceSpec::default()
        }),
        status: load_balancer,
    }
}

fn ingress(plan: &IngressPlan) -> Ingress {
    Ingress {
        metadata: meta(Some(&plan.namespace), &plan.name, BTreeMap::new()),
        spec: Some(IngressSpec {
            ingress_class_name: Some("nginx".to_owned()),
            rules: Some(vec![IngressRule {
                host: Some(plan.host.clone()),
                http: Some(HTTPIngressRuleValue {
                    paths: vec![HTTPIngressPath {
                        path: Some("/".to_owned()),
                        path_type: "Prefix".to_owned(),
                        backend: IngressBackend {
                            service: Some(IngressServiceBackend {
                                name: plan.service.clone(),
                                port: Some(ServiceBackendPort {
                                    number: Some(plan.port),
                                    name: None,
                                }),
                            }),
                            resource: None,
                        },
                    }],
                }),
            }]),
            tls: plan.tls.then(|| {
                vec![IngressTLS {
                    hosts: Some(vec![plan.host.clone()]),
                    secret_name: Some(format!("{}-tls", plan.name)),
                }]
            }),
            ..IngressSpec::default()
        }),
        status: Some(k8s_openapi::api::networking::v1::IngressStatus {
            load_balancer: Some(
                k8s_openapi::api::networking::v1::IngressLoadBalancerStatus {
                    ingress: Some(vec![
                        k8s_openapi::api::networking::v1::IngressLoadBalancerIngress {
                            ip: Some("203.0.113.10".to_owned()),
                            ..Default::default()
                        },
                    ]),
                },
            ),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_has_the_promised_shape() {
        let demo = Scenario::demo();
        assert_eq!(demo.nodes.len(), 5);
        assert_eq!(demo.deployments.len(), 15);
        let pods: i32 = demo.deployments.iter().map(|d| d.replicas).sum();
        assert!((35..=70).contains(&pods), "{pods} pods");
        let mut world = World::new(1, 100);
        demo.apply(&mut world, 1_795_608_000_000).unwrap();
        assert_eq!(world.nodes.len(), 5);
        assert_eq!(world.deployments.len(), 15);
    }

    #[test]
    fn large_has_5000_pods_on_200_nodes() {
        let large = Scenario::large(1);
        let pods: i32 = large.deployments.iter().map(|d| d.replicas).sum();
        assert_eq!(pods, 5_000);
        assert_eq!(large.deployments.len(), 400);
        assert_eq!(large.nodes[0].count, Some(200));
    }

    #[test]
    fn scenario_files_parse_and_unknown_keys_are_refused() {
        let yaml = "nodes:\n- name: n1\nnamespaces: [a]\ndeployments:\n- namespace: a\n  name: web\n  replicas: 2\n  containers:\n  - name: web\n    image: nginx:1.27\n";
        let scenario: Scenario = serde_yaml_ng::from_str(yaml).unwrap();
        assert_eq!(scenario.deployments[0].replicas, 2);
        assert!(serde_yaml_ng::from_str::<Scenario>("nodez: []").is_err());
    }
}

#[cfg(test)]
mod demo_file {
    use super::Scenario;

    #[test]
    fn the_built_in_demo_is_the_scenario_file_users_can_copy() {
        let demo = Scenario::demo();
        assert_eq!(demo.nodes.len(), 5);
        assert_eq!(demo.deployments.len(), 15);
        let checkout = demo
            .deployments
            .iter()
            .find(|d| d.name == "checkout")
            .expect("shop/checkout");
        assert_eq!(checkout.containers[0].fault.as_deref(), Some("crash"));
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/demo.yaml");
        let file = Scenario::load(path, 0).expect("--scenario scenarios/demo.yaml");
        assert_eq!(
            serde_json::to_value(&file).expect("JSON"),
            serde_json::to_value(&demo).expect("JSON")
        );
    }
}
