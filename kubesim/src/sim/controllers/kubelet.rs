//! The kubelets of every node: pull images, start containers, report readiness, crash and
//! restart them with back-off when a fault says so, stop them on deletion, and report all of it
//! in the pod's status and events as a real kubelet does.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    ContainerState, ContainerStateRunning, ContainerStateTerminated, ContainerStateWaiting,
    ContainerStatus, HostIP, Pod, PodIP, PodStatus,
};

use super::events::{Recorder, Source};
use super::reference;
use super::scheduler::{node_ready, set_condition};
use crate::scenario::FAULT_ANNOTATION;
use crate::store::{World, time};

const READY_DELAY_MS: i64 = 1_500;
const STOP_DELAY_MS: i64 = 1_000;
const MAX_BACKOFF_MS: i64 = 300_000;

/// Whether a registry would serve this image. Tags that say they do not exist do not.
pub fn image_pullable(image: &str) -> bool {
    let tag = image.rsplit_once(':').map_or("latest", |(_, t)| t);
    let tag = if tag.contains('/') { "latest" } else { tag };
    ![
        "does-not-exist",
        "nonexistent",
        "invalid",
        "bad",
        "broken",
        "missing",
    ]
    .iter()
    .any(|w| tag.contains(w))
}

fn hash(text: &str) -> u64 {
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[derive(Debug, Clone)]
struct Ended {
    exit_code: i32,
    reason: &'static str,
    started_ms: i64,
    finished_ms: i64,
}

#[derive(Debug, Clone)]
enum Stage {
    Creating {
        until: i64,
    },
    PullFailed {
        until: i64,
    },
    PullBackOff {
        until: i64,
    },
    Running {
        started: i64,
        ready_at: i64,
        end: Option<(i64, i32, &'static str)>,
    },
    /// Just exited: shown as terminated (`Error`, `OOMKilled`) until the back-off starts.
    Exited {
        until: i64,
        backoff_ms: i64,
    },
    CrashBackOff {
        until: i64,
        backoff_ms: i64,
    },
}

/// How long an exited container shows as terminated before `CrashLoopBackOff`.
const EXITED_MS: i64 = 2_000;

#[derive(Debug, Clone)]
struct ContainerRuntime {
    name: String,
    image: String,
    stage: Stage,
    restarts: i32,
    pull_failures: u32,
    pulled: bool,
    last: Option<Ended>,
}

#[derive(Debug)]
struct PodRuntime {
    bound_ms: i64,
    ip: String,
    containers: Vec<ContainerRuntime>,
    stopping_since: Option<i64>,
    /// The resourceVersion last seen, and when something is next due: a pod that did not
    /// change and has nothing due is skipped.
    seen_rv: Option<String>,
    due_ms: i64,
}

#[derive(Default)]
pub struct Kubelet {
    pods: HashMap<String, PodRuntime>,
}

/// The faults a pod carries: container name → `crash` / `oom`.
fn faults(pod: &Pod) -> BTreeMap<String, String> {
    pod.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(FAULT_ANNOTATION))
        .map(|spec| {
            spec.split(',')
                .filter_map(|pair| pair.split_once('='))
                .map(|(c, f)| (c.trim().to_owned(), f.trim().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn run_end(fault: Option<&str>, seed: u64, now: i64) -> Option<(i64, i32, &'static str)> {
    match fault {
        Some("crash") => Some((now + 4_000 + (seed % 3_000) as i64, 1, "Error")),
        Some("oom") => Some((now + 10_000 + (seed % 5_000) as i64, 137, "OOMKilled")),
        _ => None,
    }
}

fn backoff(n: u32) -> i64 {
    (10_000_i64 << n.saturating_sub(1).min(10)).min(MAX_BACKOFF_MS)
}

/// The next instant something happens to a container after `now` (`i64::MAX`: nothing).
fn due(stage: &Stage, now: i64) -> i64 {
    let candidates = match stage {
        Stage::Creating { until }
        | Stage::PullFailed { until }
        | Stage::PullBackOff { until }
        | Stage::CrashBackOff { until, .. }
        | Stage::Exited { until, .. } => [*until, i64::MAX],
        Stage::Running { ready_at, end, .. } => [*ready_at, end.map_or(i64::MAX, |e| e.0)],
    };
    candidates
        .into_iter()
        .filter(|t| *t > now)
        .min()
        .unwrap_or(i64::MAX)
}

impl Kubelet {
    pub fn step(&mut self, world: &mut World, recorder: &mut Recorder, now_ms: i64) {
        let live: std::collections::HashSet<String> = world
            .pods
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone())
            .collect();
        self.pods.retain(|uid, _| live.contains(uid));

        let work: Vec<(String, String)> = world
            .pods
            .iter()
            .filter(|e| {
                let p = &e.object;
                let Some(node) = p.spec.as_ref().and_then(|s| s.node_name.as_ref()) else {
                    return false;
                };
                let node_up = world
                    .nodes
                    .get("", node)
                    .is_some_and(|n| node_ready(&n.object));
                let runtime = p.metadata.uid.as_ref().and_then(|u| self.pods.get(u));
                node_up
                    && runtime.is_none_or(|r| {
                        r.seen_rv != p.metadata.resource_version || now_ms >= r.due_ms
                    })
            })
            .map(|e| (e.meta.namespace.clone(), e.meta.name.clone()))
            .collect();
        for (namespace, name) in work {
            self.sync(world, recorder, &namespace, &name, now_ms);
        }
    }

    fn sync(
        &mut self,
        world: &mut World,
        recorder: &mut Recorder,
        namespace: &str,
        name: &str,
        now_ms: i64,
    ) {
        let Some(pod) = world.get::<Pod>(namespace, name) else {
            return;
        };
        let uid = pod.metadata.uid.clone().unwrap_or_default();
        let spec = pod.spec.clone().unwrap_or_default();
        let node_name = spec.node_name.clone().unwrap_or_default();
        let node = world.nodes.get("", &node_name).map(|e| e.object.clone());
        let kubelet = Source {
            component: "kubelet",
            host: Some(&node_name),
        };
        let pod_ref = reference(&*pod);
        let mut events: Vec<(&'static str, &'static str, String)> = Vec::new();

        let runtime = self.pods.entry(uid.clone()).or_insert_with(|| {
            let third = node
                .as_ref()
                .and_then(|n| n.spec.as_ref()?.pod_cidr.clone())
                .and_then(|cidr| cidr.split('.').nth(2).map(str::to_owned))
                .unwrap_or_else(|| "0".to_owned());
            PodRuntime {
                bound_ms: now_ms,
                ip: format!("10.244.{third}.{}", 2 + hash(&uid) % 250),
                containers: spec
                    .containers
                    .iter()
                    .map(|c| ContainerRuntime {
                        name: c.name.clone(),
                        image: c.image.clone().unwrap_or_default(),
                        stage: Stage::Creating {
                            until: now_ms
                                + 800
                                + (hash(&format!("{uid}{}", c.name)) % 2_000) as i64,
                        },
                        restarts: 0,
                        pull_failures: 0,
                        pulled: false,
                        last: None,
                    })
                    .collect(),
                stopping_since: None,
                seen_rv: None,
                due_ms: now_ms,
            }
        });

        // Deletion: stop the containers, then the pod is gone.
        if pod.metadata.deletion_timestamp.is_some() {
            let since = *runtime.stopping_since.get_or_insert_with(|| {
                for c in &runtime.containers {
                    if matches!(c.stage, Stage::Running { .. }) {
                        events.push((
                            "Normal",
                            "Killing",
                            format!("Stopping container {}", c.name),
                        ));
                    }
                }
                now_ms
            });
            let deadline = pod
                .metadata
                .deletion_timestamp
                .as_ref()
                .map_or(now_ms, |t| t.0.as_millisecond());
            for (type_, reason, message) in events {
                recorder.record(world, &pod_ref, type_, reason, &message, kubelet, now_ms);
            }
            if now_ms >= since + STOP_DELAY_MS || now_ms >= deadline {
                let _ = world.delete::<Pod>(namespace, name);
                self.pods.remove(&uid);
            } else if let Some(r) = self.pods.get_mut(&uid) {
                r.due_ms = since + STOP_DELAY_MS;
            }
            return;
        }

        let faults = faults(&pod);
        for c in &mut runtime.containers {
            let fault = faults.get(&c.name).map(String::as_str);
            let seed = hash(&format!("{uid}{}{}", c.name, c.restarts));
            // Advance through every transition that is due by now.
            loop {
                let next = match &c.stage {
                    Stage::Running {
                        started,
                        ready_at,
                        end: Some(_),
                    } if fault.is_none() => {
                        // Healed: the container keeps running.
                        Stage::Running {
                            started: *started,
                            ready_at: *ready_at,
                            end: None,
                        }
                    }
                    Stage::Creating { until } if now_ms >= *until => {
                        if !c.pulled {
                            events.push((
                                "Normal",
                                "Pulling",
                                format!("Pulling image \"{}\"", c.image),
                            ));
                        }
                        if image_pullable(&c.image) {
                            if !c.pulled {
                                events.push((
                                    "Normal",
                                    "Pulled",
                                    format!(
                                        "Successfully pulled image \"{}\" in 1.{}s (1.{}s including waiting). Image size: {} bytes.",
                                        c.image,
                                        seed % 9,
                                        seed % 9,
                                        20_000_000 + seed % 80_000_000
                                    ),
                                ));
                            }
                            c.pulled = true;
                            events.push((
                                "Normal",
                                "Created",
                                format!("Created container: {}", c.name),
                            ));
                            events.push((
                                "Normal",
                                "Started",
                                format!("Started container {}", c.name),
                            ));
                            Stage::Running {
                                started: *until,
                                ready_at: *until + READY_DELAY_MS,
                                end: run_end(fault, seed, *until),
                            }
                        } else {
                            c.pull_failures += 1;
                            events.push((
                                "Warning",
                                "Failed",
                                format!(
                                    "Failed to pull image \"{0}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{0}\": failed to resolve reference \"{0}\": {0}: not found",
                                    c.image
                                ),
                            ));
                            events.push(("Warning", "Failed", "Error: ErrImagePull".to_owned()));
                            Stage::PullFailed {
                                until: *until + 2_000,
                            }
                        }
                    }
                    Stage::PullFailed { until } if now_ms >= *until => {
                        events.push((
                            "Normal",
                            "BackOff",
                            format!("Back-off pulling image \"{}\"", c.image),
                        ));
                        events.push(("Warning", "Failed", "Error: ImagePullBackOff".to_owned()));
                        Stage::PullBackOff {
                            until: *until + backoff(c.pull_failures),
                        }
                    }
                    Stage::PullBackOff { until } if now_ms >= *until => {
                        Stage::Creating { until: *until }
                    }
                    Stage::Running {
                        started,
                        end: Some((at, exit_code, reason)),
                        ..
                    } if now_ms >= *at => {
                        c.restarts += 1;
                        c.last = Some(Ended {
                            exit_code: *exit_code,
                            reason,
                            started_ms: *started,
                            finished_ms: *at,
                        });
                        let backoff_ms = backoff(c.restarts as u32);
                        events.push((
                            "Warning",
                            "BackOff",
                            format!(
                                "Back-off restarting failed container {} in pod {name}_{namespace}({uid})",
                                c.name
                            ),
                        ));
                        Stage::Exited {
                            until: *at + EXITED_MS,
                            backoff_ms,
                        }
                    }
                    Stage::Exited { until, backoff_ms } if now_ms >= *until => {
                        Stage::CrashBackOff {
                            until: *until - EXITED_MS + *backoff_ms,
                            backoff_ms: *backoff_ms,
                        }
                    }
                    Stage::Running {
                        started,
                        ready_at,
                        end: None,
                    } if fault.is_some() => {
                        // A fault injected into a running container strikes soon.
                        Stage::Running {
                            started: *started,
                            ready_at: *ready_at,
                            end: run_end(fault, seed, now_ms.max(*started)),
                        }
                    }
                    Stage::CrashBackOff { until, .. } if now_ms >= *until => {
                        events.push((
                            "Normal",
                            "Pulled",
                            format!("Container image \"{}\" already present on machine", c.image),
                        ));
                        events.push((
                            "Normal",
                            "Created",
                            format!("Created container: {}", c.name),
                        ));
                        events.push(("Normal", "Started", format!("Started container {}", c.name)));
                        let seed = hash(&format!("{uid}{}{}", c.name, c.restarts));
                        Stage::Running {
                            started: *until,
                            ready_at: *until + READY_DELAY_MS,
                            end: run_end(fault, seed, *until),
                        }
                    }
                    _ => break,
                };
                c.stage = next;
            }
        }

        let status = render(&pod, runtime, node.as_deref(), now_ms);
        runtime.due_ms = runtime
            .containers
            .iter()
            .map(|c| due(&c.stage, now_ms))
            .filter(|d| *d > now_ms)
            .min()
            .unwrap_or(i64::MAX);
        for (type_, reason, message) in events {
            recorder.record(world, &pod_ref, type_, reason, &message, kubelet, now_ms);
        }
        let updated = world.update::<Pod>(namespace, name, |p| p.status = Some(status));
        if let (Ok(updated), Some(r)) = (updated, self.pods.get_mut(&uid)) {
            r.seen_rv = updated.metadata.resource_version.clone();
        }
    }
}

fn qos(pod: &Pod) -> &'static str {
    let containers = pod
        .spec
        .as_ref()
        .map(|s| s.containers.as_slice())
        .unwrap_or_default();
    let mut any = false;
    let mut guaranteed = true;
    for c in containers {
        let r = c.resources.clone().unwrap_or_default();
        let requests = r.requests.unwrap_or_default();
        let limits = r.limits.unwrap_or_default();
        any |= !requests.is_empty() || !limits.is_empty();
        for key in ["cpu", "memory"] {
            let limit = limits.get(key);
            let request = requests.get(key).or(limit);
            if limit.is_none() || request != limit {
                guaranteed = false;
            }
        }
    }
    match (any, guaranteed) {
        (false, _) => "BestEffort",
        (true, true) => "Guaranteed",
        (true, false) => "Burstable",
    }
}

fn render(
    pod: &Pod,
    runtime: &PodRuntime,
    node: Option<&k8s_openapi::api::core::v1::Node>,
    now_ms: i64,
) -> PodStatus {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let namespace = pod.metadata.namespace.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let mut status = pod.status.clone().unwrap_or_default();
    // Exact capacities: the status is stored for the pod's lifetime, 5,000 times over.
    let mut statuses = Vec::with_capacity(runtime.containers.len());
    let mut unready = Vec::new();
    let mut ever_started = false;
    for c in &runtime.containers {
        let container_id = format!(
            "containerd://{:016x}{:016x}",
            hash(&format!("{uid}{}{}", c.name, c.restarts)),
            hash(&c.name)
        );
        let waiting = |reason: &str, message: Option<String>| ContainerState {
            waiting: Some(ContainerStateWaiting {
                reason: Some(reason.to_owned()),
                message,
            }),
            ..ContainerState::default()
        };
        let (state, ready, started) = match &c.stage {
            Stage::Creating { .. } if c.pull_failures > 0 => (
                waiting(
                    "ImagePullBackOff",
                    Some(format!("Back-off pulling image \"{}\"", c.image)),
                ),
                false,
                false,
            ),
            Stage::Creating { .. } => (waiting("ContainerCreating", None), false, false),
            Stage::PullFailed { .. } => (
                waiting(
                    "ErrImagePull",
                    Some(format!(
                        "failed to pull and unpack image \"{0}\": failed to resolve reference \"{0}\": not found",
                        c.image
                    )),
                ),
                false,
                false,
            ),
            Stage::PullBackOff { .. } => (
                waiting(
                    "ImagePullBackOff",
                    Some(format!(
                        "Back-off pulling image \"{}\": ErrImagePull: not found",
                        c.image
                    )),
                ),
                false,
                false,
            ),
            Stage::Running {
                started, ready_at, ..
            } => (
                ContainerState {
                    running: Some(ContainerStateRunning {
                        started_at: Some(time(*started)),
                    }),
                    ..ContainerState::default()
                },
                now_ms >= *ready_at,
                true,
            ),
            Stage::Exited { .. } => {
                let ended = c.last.as_ref().expect("an exited container has ended");
                (
                    ContainerState {
                        terminated: Some(ContainerStateTerminated {
                            exit_code: ended.exit_code,
                            reason: Some(ended.reason.to_owned()),
                            started_at: Some(time(ended.started_ms)),
                            finished_at: Some(time(ended.finished_ms)),
                            container_id: Some(container_id.clone()),
                            ..ContainerStateTerminated::default()
                        }),
                        ..ContainerState::default()
                    },
                    false,
                    false,
                )
            }
            Stage::CrashBackOff { backoff_ms, .. } => (
                waiting(
                    "CrashLoopBackOff",
                    Some(format!(
                        "back-off {} restarting failed container={} pod={name}_{namespace}({uid})",
                        crate::api::table::human_duration(*backoff_ms).replace("m0s", "m"),
                        c.name
                    )),
                ),
                false,
                false,
            ),
        };
        ever_started |= started || c.restarts > 0;
        if !ready {
            unready.push(c.name.clone());
        }
        statuses.push(ContainerStatus {
            name: c.name.clone(),
            image: c.image.clone(),
            image_id: if c.pulled {
                format!(
                    "{}@sha256:{:016x}{:016x}{:016x}{:016x}",
                    c.image.split(':').next().unwrap_or_default(),
                    hash(&c.image),
                    hash(&c.name),
                    hash("a"),
                    hash("b")
                )
            } else {
                String::new()
            },
            container_id: (started || c.restarts > 0).then(|| container_id.clone()),
            ready,
            started: Some(started),
            restart_count: c.restarts,
            state: Some(state),
            last_state: c.last.as_ref().map(|e| ContainerState {
                terminated: Some(ContainerStateTerminated {
                    exit_code: e.exit_code,
                    reason: Some(e.reason.to_owned()),
                    started_at: Some(time(e.started_ms)),
                    finished_at: Some(time(e.finished_ms)),
                    container_id: Some(container_id.clone()),
                    ..ContainerStateTerminated::default()
                }),
                ..ContainerState::default()
            }),
            ..ContainerStatus::default()
        });
    }
    status.phase = Some(if ever_started { "Running" } else { "Pending" }.to_owned());
    let host_ip = node.and_then(|n| {
        n.status
            .as_ref()?
            .addresses
            .as_ref()?
            .iter()
            .find(|a| a.type_ == "InternalIP")
            .map(|a| a.address.clone())
    });
    status.host_ip = host_ip.clone();
    status.host_ips = host_ip.map(|ip| vec![HostIP { ip }]);
    status.pod_ip = Some(runtime.ip.clone());
    status.pod_ips = Some(vec![PodIP {
        ip: runtime.ip.clone(),
    }]);
    status.start_time = Some(time(runtime.bound_ms));
    status.qos_class = Some(qos(pod).to_owned());
    status.container_statuses = Some(statuses);
    let conditions = status.conditions.get_or_insert_default();
    set_condition(
        conditions,
        "PodReadyToStartContainers",
        "True",
        None,
        None,
        now_ms,
    );
    set_condition(conditions, "Initialized", "True", None, None, now_ms);
    let (ready, reason, message) = if unready.is_empty() {
        ("True", None, None)
    } else {
        (
            "False",
            Some("ContainersNotReady"),
            Some(format!(
                "containers with unready status: [{}]",
                unready.join(" ")
            )),
        )
    };
    set_condition(
        conditions,
        "Ready",
        ready,
        reason,
        message.as_deref(),
        now_ms,
    );
    set_condition(
        conditions,
        "ContainersReady",
        ready,
        reason,
        message.as_deref(),
        now_ms,
    );
    set_condition(conditions, "PodScheduled", "True", None, None, now_ms);
    let order = [
        "PodReadyToStartContainers",
        "Initialized",
        "Ready",
        "ContainersReady",
        "PodScheduled",
    ];
    conditions.sort_by_key(|c| {
        order
            .iter()
            .position(|o| *o == c.type_)
            .unwrap_or(order.len())
    });
    conditions.shrink_to_fit();
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_that_say_they_do_not_exist_cannot_be_pulled() {
        assert!(image_pullable("nginx:1.27"));
        assert!(image_pullable("registry.example.com:5000/shop/web"));
        assert!(!image_pullable(
            "registry.example.com/shop/recommender:does-not-exist"
        ));
        assert!(!image_pullable("nginx:bad-tag"));
    }

    #[test]
    fn back_off_doubles_to_five_minutes() {
        let steps: Vec<i64> = (1..=7).map(backoff).collect();
        assert_eq!(
            steps,
            [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]
        );
    }
}
