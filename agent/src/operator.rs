//! What each command does to the cluster, through kube-rs — the same requests kubectl sends.

use std::time::{Duration, Instant};

use atlhyper_model::cap_output;
use atlhyper_model::{AckStatus, CommandKind};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{Node, Pod};
use kube::Client;
use kube::api::{Api, DeleteParams, EvictParams, ListParams, LogParams, Patch, PatchParams};
use serde_json::json;

/// How a command ended: status, a one-line message, and (for reads) output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub status: AckStatus,
    pub message: String,
    pub output: Option<String>,
}

impl Outcome {
    pub fn ok(message: impl Into<String>) -> Self {
        Outcome {
            status: AckStatus::Succeeded,
            message: message.into(),
            output: None,
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Outcome {
            status: AckStatus::Failed,
            message: message.into(),
            output: None,
        }
    }

    pub fn rejected(message: impl Into<String>) -> Self {
        Outcome {
            status: AckStatus::Rejected,
            message: message.into(),
            output: None,
        }
    }
}

/// The API server's own words for a failure: `NotFound: pods "x" not found`.
pub fn explain(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(status) if !status.reason.is_empty() => {
            format!("{}: {}", status.reason, status.message)
        }
        kube::Error::Api(status) => status.message.clone(),
        other => other.to_string(),
    }
}

fn code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

/// The field manager our writes carry, as kubectl's carry `kubectl-…`.
const MANAGER: &str = "atlhyper-agent";

fn patch_params() -> PatchParams {
    PatchParams {
        field_manager: Some(MANAGER.to_owned()),
        ..PatchParams::default()
    }
}

/// Runs one command. `max_output` caps what reads return; `protected` namespaces are left
/// alone by a drain; `configmap_values` says whether a describe shows config-map values.
pub async fn execute(
    client: &Client,
    kind: &CommandKind,
    max_output: usize,
    protected: &[String],
    configmap_values: bool,
) -> Outcome {
    let result = match kind {
        CommandKind::RestartPod {
            namespace,
            name,
            force,
        } => restart_pod(client, namespace, name, *force).await,
        CommandKind::DeletePod {
            namespace,
            name,
            grace_seconds,
        } => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
            let dp = DeleteParams {
                grace_period_seconds: *grace_seconds,
                ..DeleteParams::default()
            };
            pods.delete(name, &dp)
                .await
                .map(|_| Outcome::ok(format!("pod {namespace}/{name} deleted")))
        }
        CommandKind::RolloutRestart { namespace, name } => {
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
            let now = jiff_now();
            let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                "kubectl.kubernetes.io/restartedAt": now
            }}}}});
            deployments
                .patch(name, &patch_params(), &Patch::Strategic(&patch))
                .await
                .map(|_| {
                    Outcome::ok(format!(
                        "deployment {namespace}/{name} restarted (restartedAt {now})"
                    ))
                })
        }
        CommandKind::Scale {
            namespace,
            name,
            replicas,
        } => {
            let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
            let patch = json!({"spec": {"replicas": replicas}});
            deployments
                .patch_scale(name, &patch_params(), &Patch::Merge(&patch))
                .await
                .map(|_| {
                    Outcome::ok(format!(
                        "deployment {namespace}/{name} scaled to {replicas}"
                    ))
                })
        }
        CommandKind::UpdateImage {
            namespace,
            name,
            container,
            image,
        } => update_image(client, namespace, name, container, image).await,
        CommandKind::Cordon { node } => set_unschedulable(client, node, true).await,
        CommandKind::Uncordon { node } => set_unschedulable(client, node, false).await,
        CommandKind::Drain {
            node,
            grace_seconds,
            ignore_daemonsets,
            timeout_seconds,
        } => {
            crate::drain::drain(
                client,
                node,
                *grace_seconds,
                *ignore_daemonsets,
                Duration::from_secs(u64::from(*timeout_seconds)),
                protected,
            )
            .await
        }
        CommandKind::PodLogs {
            namespace,
            name,
            container,
            tail_lines,
            since_seconds,
            since_ms,
            previous,
            timestamps,
        } => {
            let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
            // The API takes one of sinceSeconds and sinceTime: the instant, when given.
            let since_time = since_ms
                .map(k8s_openapi::jiff::Timestamp::from_millisecond)
                .transpose()
                .map_err(|e| format!("since_ms: {e}"));
            let since_time = match since_time {
                Ok(t) => t,
                Err(e) => return Outcome::failed(e),
            };
            let lp = LogParams {
                container: container.clone(),
                tail_lines: tail_lines.map(i64::from),
                since_seconds: since_seconds
                    .filter(|_| since_time.is_none())
                    .map(i64::from),
                since_time,
                previous: *previous,
                timestamps: *timestamps,
                limit_bytes: Some(max_output as i64 + 1),
                ..LogParams::default()
            };
            pods.logs(name, &lp).await.map(|text| {
                let lines = text.lines().count();
                Outcome {
                    output: Some(cap_output(text, max_output)),
                    ..Outcome::ok(format!("{lines} log lines of pod {namespace}/{name}"))
                }
            })
        }
        CommandKind::Describe {
            object,
            namespace,
            name,
            format,
        } => crate::describe::describe(
            client,
            *object,
            namespace.as_deref(),
            name,
            *format,
            configmap_values,
        )
        .await
        .map(|text| Outcome {
            output: Some(cap_output(text, max_output)),
            ..Outcome::ok(format!("described {}", kind.target()))
        }),
    };
    result.unwrap_or_else(|e| Outcome::failed(explain(&e)))
}

/// RFC 3339 now, as kubectl writes `restartedAt`.
fn jiff_now() -> String {
    use k8s_openapi::jiff::Timestamp;
    let now = Timestamp::now();
    Timestamp::from_second(now.as_second())
        .unwrap_or(now)
        .to_string()
}

async fn restart_pod(
    client: &Client,
    namespace: &str,
    name: &str,
    force: bool,
) -> Result<Outcome, kube::Error> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), namespace);
    let pod = pods.get(name).await?;
    let owner = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| format!("{} {}", o.kind, o.name));
    if owner.is_none() && !force {
        return Ok(Outcome::failed(format!(
            "pod {namespace}/{name} has no controller: deleting it would not bring it back \
             (use delete-pod, or force)"
        )));
    }
    pods.delete(name, &DeleteParams::default()).await?;
    Ok(Outcome::ok(match owner {
        Some(owner) => format!("pod {namespace}/{name} deleted; {owner} recreates it"),
        None => format!("pod {namespace}/{name} deleted (it had no controller)"),
    }))
}

async fn update_image(
    client: &Client,
    namespace: &str,
    name: &str,
    container: &str,
    image: &str,
) -> Result<Outcome, kube::Error> {
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let deployment = deployments.get(name).await?;
    let names: Vec<String> = deployment
        .spec
        .iter()
        .filter_map(|s| s.template.spec.as_ref())
        .flat_map(|s| s.containers.iter().map(|c| c.name.clone()))
        .collect();
    if !names.iter().any(|n| n == container) {
        return Ok(Outcome::failed(format!(
            "deployment {namespace}/{name} has no container `{container}` (containers: {})",
            names.join(", ")
        )));
    }
    let patch = json!({"spec": {"template": {"spec": {"containers": [
        {"name": container, "image": image}
    ]}}}});
    deployments
        .patch(name, &patch_params(), &Patch::Strategic(&patch))
        .await?;
    Ok(Outcome::ok(format!(
        "deployment {namespace}/{name}: container {container} set to {image}"
    )))
}

pub(crate) async fn set_unschedulable(
    client: &Client,
    node: &str,
    on: bool,
) -> Result<Outcome, kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    let patch = json!({"spec": {"unschedulable": on}});
    nodes
        .patch(node, &patch_params(), &Patch::Merge(&patch))
        .await?;
    Ok(Outcome::ok(if on {
        format!("node {node} cordoned")
    } else {
        format!("node {node} uncordoned")
    }))
}

/// Evicts one pod, retrying while a disruption budget says no (429) until `deadline`.
pub(crate) async fn evict(
    pods: &Api<Pod>,
    name: &str,
    grace: Option<u32>,
    deadline: Instant,
) -> Result<(), String> {
    let ep = EvictParams {
        delete_options: Some(DeleteParams {
            grace_period_seconds: grace,
            ..DeleteParams::default()
        }),
        ..EvictParams::default()
    };
    loop {
        match pods.evict(name, &ep).await {
            Ok(_) => return Ok(()),
            Err(e) if code(&e) == Some(404) => return Ok(()),
            Err(e) if code(&e) == Some(429) && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(explain(&e)),
        }
    }
}

/// The pods on a node.
pub(crate) async fn pods_on(client: &Client, node: &str) -> Result<Vec<Pod>, kube::Error> {
    let pods: Api<Pod> = Api::all(client.clone());
    let lp = ListParams::default().fields(&format!("spec.nodeName={node}"));
    Ok(pods.list(&lp).await?.items)
}
