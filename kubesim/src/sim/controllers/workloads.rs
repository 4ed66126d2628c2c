//! The Deployment and ReplicaSet controllers: a deployment owns one ReplicaSet per pod template
//! (named by the template's hash), rolls from old to new within maxSurge/maxUnavailable, and
//! each ReplicaSet keeps its number of pods.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec, ReplicaSetStatus,
};
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use super::events::{Recorder, Source};
use super::{controller_ref, controller_uid, reference};
use crate::store::{World, time};

#[derive(Default)]
pub struct Workloads {
    /// Per deployment uid: when it last made progress (for progressDeadlineSeconds).
    progress: HashMap<String, i64>,
}

const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// The pod-template-hash of a template, as Kubernetes writes it (ten safe characters).
pub fn template_hash(template: &k8s_openapi::api::core::v1::PodTemplateSpec) -> String {
    let json = serde_json::to_vec(template).expect("templates serialize");
    let h = json.iter().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
    });
    format!("{h:010}")
        .bytes()
        .map(|d| char::from(ALPHABET[usize::from(d) % ALPHABET.len()]))
        .collect()
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

fn terminating_or_done(pod: &Pod) -> bool {
    pod.metadata.deletion_timestamp.is_some()
        || matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        )
}

/// Resolves `25%` or `2` against a replica count, rounding up (surge) or down (unavailable).
fn resolve(value: Option<&IntOrString>, total: i32, round_up: bool) -> i32 {
    match value {
        Some(IntOrString::Int(n)) => *n,
        Some(IntOrString::String(s)) => {
            let percent: i32 = s.trim_end_matches('%').parse().unwrap_or(25);
            let scaled = total * percent;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
        None => {
            let scaled = total * 25;
            if round_up {
                (scaled + 99) / 100
            } else {
                scaled / 100
            }
        }
    }
}

fn replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

fn desired(d: &Deployment) -> i32 {
    d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)
}

impl Workloads {
    pub fn step(&mut self, world: &mut World, recorder: &mut Recorder, now_ms: i64) {
        let deployments: Vec<_> = world.deployments.iter().map(|e| e.object.clone()).collect();
        for d in deployments {
            if d.metadata.deletion_timestamp.is_none() {
                self.sync_deployment(world, recorder, &d, now_ms);
            }
        }
        self.sync_replicasets(world, recorder, now_ms);
    }

    fn owned_replicasets(world: &World, d: &Deployment) -> Vec<std::sync::Arc<ReplicaSet>> {
        let uid = d.metadata.uid.as_deref();
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        world
            .replicasets
            .in_namespace(&ns)
            .filter(|e| controller_uid(&e.object.metadata) == uid)
            .map(|e| e.object.clone())
            .collect()
    }

    fn sync_deployment(
        &mut self,
        world: &mut World,
        recorder: &mut Recorder,
        d: &Deployment,
        now_ms: i64,
    ) {
        let ns = d.metadata.namespace.clone().unwrap_or_default();
        let name = d.metadata.name.clone().unwrap_or_default();
        let spec = d.spec.clone().unwrap_or_default();
        let want = desired(d);
        let hash = template_hash(&spec.template);
        let controller = Source {
            component: "deployment-controller",
            host: None,
        };
        let owned = Self::owned_replicasets(world, d);
        let revision = |rs: &ReplicaSet| -> i64 {
            rs.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get("deployment.kubernetes.io/revision"))
                .and_then(|r| r.parse().ok())
                .unwrap_or(0)
        };
        let new_name = format!("{name}-{hash}");
        let mut new_rs = owned
            .iter()
            .find(|rs| rs.metadata.name.as_deref() == Some(new_name.as_str()))
            .cloned();
        let old: Vec<_> = owned
            .iter()
            .filter(|rs| rs.metadata.name.as_deref() != Some(new_name.as_str()))
            .cloned()
            .collect();
        let paused = spec.paused == Some(true);
        if paused {
            return;
        }
        if new_rs.is_none() {
            let next_revision = owned.iter().map(|rs| revision(rs)).max().unwrap_or(0) + 1;
            let mut template = spec.template.clone();
            let template_meta = template.metadata.get_or_insert_default();
            template_meta
                .labels
                .get_or_insert_default()
                .insert("pod-template-hash".to_owned(), hash.clone());
            let mut selector = spec.selector.clone();
            selector
                .match_labels
                .get_or_insert_default()
                .insert("pod-template-hash".to_owned(), hash.clone());
            let mut labels = template_meta.labels.clone().unwrap_or_default();
            labels.insert("pod-template-hash".to_owned(), hash.clone());
            let initial = if old.iter().all(|rs| replicas(rs) == 0)
                && spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) != Some("Recreate")
            {
                want.min(
                    want + resolve(
                        spec.strategy
                            .as_ref()
                            .and_then(|s| s.rolling_update.as_ref())
                            .and_then(|r| r.max_surge.as_ref()),
                        want,
                        true,
                    ),
                )
            } else {
                0
            };
            let rs = ReplicaSet {
                metadata: ObjectMeta {
                    name: Some(new_name.clone()),
                    namespace: Some(ns.clone()),
                    labels: Some(labels),
                    annotations: Some(BTreeMap::from([
                        (
                            "deployment.kubernetes.io/revision".to_owned(),
                            next_revision.to_string(),
                        ),
                        (
                            "deployment.kubernetes.io/desired-replicas".to_owned(),
                            want.to_string(),
                        ),
                    ])),
                    owner_references: Some(vec![controller_ref(d)]),
                    ..ObjectMeta::default()
                },
                spec: Some(ReplicaSetSpec {
                    replicas: Some(initial),
                    selector,
                    template: Some(template),
                    min_ready_seconds: spec.min_ready_seconds,
                }),
                status: Some(ReplicaSetStatus::default()),
            };
            if let Ok(created) = world.create(rs, now_ms) {
                if initial > 0 {
                    recorder.record(
                        world,
                        &reference(d),
                        "Normal",
                        "ScalingReplicaSet",
                        &format!("Scaled up replica set {new_name} from 0 to {initial}"),
                        controller,
                        now_ms,
                    );
                }
                self.progress
                    .insert(d.metadata.uid.clone().unwrap_or_default(), now_ms);
                new_rs = Some(created);
            }
        }
        let Some(new_rs) = new_rs else { return };
        let mut scale = |world: &mut World, recorder: &mut Recorder, rs: &ReplicaSet, to: i32| {
            let from = replicas(rs);
            if from == to {
                return;
            }
            let rs_name = rs.metadata.name.clone().unwrap_or_default();
            let _ = world.update::<ReplicaSet>(&ns, &rs_name, |r| {
                r.spec.get_or_insert_default().replicas = Some(to);
                r.metadata.annotations.get_or_insert_default().insert(
                    "deployment.kubernetes.io/desired-replicas".to_owned(),
                    want.to_string(),
                );
            });
            let verb = if to > from { "up" } else { "down" };
            recorder.record(
                world,
                &reference(d),
                "Normal",
                "ScalingReplicaSet",
                &format!("Scaled {verb} replica set {rs_name} from {from} to {to}"),
                controller,
                now_ms,
            );
            self.progress
                .insert(d.metadata.uid.clone().unwrap_or_default(), now_ms);
        };

        let recreate = spec.strategy.as_ref().and_then(|s| s.type_.as_deref()) == Some("Recreate");
        if recreate {
            let old_active = old
                .iter()
                .any(|rs| replicas(rs) > 0 || rs.status.as_ref().is_some_and(|s| s.replicas > 0));
            for rs in &old {
                scale(world, recorder, rs, 0);
            }
            if !old_active {
                scale(world, recorder, &new_rs, want);
            }
            return;
        }

        let rolling = spec
            .strategy
            .as_ref()
            .and_then(|s| s.rolling_update.clone())
            .unwrap_or_default();
        let max_surge = resolve(rolling.max_surge.as_ref(), want, true);
        let mut max_unavailable = resolve(rolling.max_unavailable.as_ref(), want, false);
        if max_surge == 0 && max_unavailable == 0 {
            max_unavailable = 1;
        }
        let old_total: i32 = old.iter().map(|rs| replicas(rs)).sum();
        if old_total == 0 {
            scale(world, recorder, &new_rs, want);
            return;
        }
        // Scale the new ReplicaSet up within the surge.
        let total = old_total + replicas(&new_rs);
        if replicas(&new_rs) < want {
            let room = (want + max_surge - total).min(want - replicas(&new_rs));
            if room > 0 {
                scale(world, recorder, &new_rs, replicas(&new_rs) + room);
            }
        }
        // Scale old ReplicaSets down while enough pods stay available.
        let new_rs = world.get::<ReplicaSet>(&ns, &new_name).unwrap_or(new_rs);
        let available = |rs: &ReplicaSet| {
            rs.status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0)
        };
        let min_available = want - max_unavailable;
        let all_pods: i32 = old.iter().map(|rs| replicas(rs)).sum::<i32>() + replicas(&new_rs);
        let new_unavailable = replicas(&new_rs) - available(&new_rs);
        let mut budget = all_pods - min_available - new_unavailable;
        // Old pods that are not available can always go.
        let mut old_sorted = old.clone();
        old_sorted.sort_by_key(|rs| rs.metadata.creation_timestamp.clone());
        for rs in &old_sorted {
            let unhealthy = replicas(rs) - available(rs);
            if unhealthy > 0 {
                scale(world, recorder, rs, replicas(rs) - unhealthy);
            }
        }
        let total_available: i32 =
            old.iter().map(|rs| available(rs)).sum::<i32>() + available(&new_rs);
        budget = budget.min(total_available - min_available).max(0);
        for rs in &old_sorted {
            if budget <= 0 {
                break;
            }
            let current = world
                .get::<ReplicaSet>(&ns, rs.metadata.name.as_deref().unwrap_or_default())
                .map_or(0, |r| replicas(&r));
            let down = current.min(budget);
            if down > 0 {
                let rs_now =
                    world.get::<ReplicaSet>(&ns, rs.metadata.name.as_deref().unwrap_or_default());
                if let Some(rs_now) = rs_now {
                    scale(world, recorder, &rs_now, current - down);
                }
                budget -= down;
            }
        }
    }

    fn sync_replicasets(&mut self, world: &mut World, recorder: &mut Recorder, now_ms: i64) {
        // Pods by their controller's uid.
        let mut by_owner: HashMap<String, Vec<std::sync::Arc<Pod>>> = HashMap::new();
        for e in world.pods.iter() {
            if let Some(uid) = controller_uid(&e.object.metadata) {
                by_owner
                    .entry(uid.to_owned())
                    .or_default()
                    .push(e.object.clone());
            }
        }
        let sets: Vec<_> = world.replicasets.iter().map(|e| e.object.clone()).collect();
        let controller = Source {
            component: "replicaset-controller",
            host: None,
        };
        for rs in sets {
            if rs.metadata.deletion_timestamp.is_some() {
                continue;
            }
            let ns = rs.metadata.namespace.clone().unwrap_or_default();
            let rs_name = rs.metadata.name.clone().unwrap_or_default();
            let uid = rs.metadata.uid.clone().unwrap_or_default();
            let pods = by_owner.get(&uid).cloned().unwrap_or_default();
            let mut active: Vec<_> = pods
                .iter()
                .filter(|p| !terminating_or_done(p))
                .cloned()
                .collect();
            let want = replicas(&rs);
            let have = active.len() as i32;
            if have < want {
                let Some(template) = rs.spec.as_ref().and_then(|s| s.template.clone()) else {
                    continue;
                };
                for _ in 0..(want - have).min(500) {
                    let pod_name = format!("{rs_name}-{}", world.random_suffix(5));
                    let meta = template.metadata.clone().unwrap_or_default();
                    let pod = Pod {
                        metadata: ObjectMeta {
                            name: Some(pod_name.clone()),
                            namespace: Some(ns.clone()),
                            labels: meta.labels,
                            annotations: meta.annotations,
                            owner_references: Some(vec![controller_ref(&*rs)]),
                            ..ObjectMeta::default()
                        },
                        spec: template.spec.clone(),
                        status: Some(k8s_openapi::api::core::v1::PodStatus {
                            phase: Some("Pending".to_owned()),
                            qos_class: None,
                            ..Default::default()
                        }),
                    };
                    if world.create(pod, now_ms).is_ok() {
                        recorder.record(
                            world,
                            &reference(&*rs),
                            "Normal",
                            "SuccessfulCreate",
                            &format!("Created pod: {pod_name}"),
                            controller,
                            now_ms,
                        );
                    }
                }
            } else if have > want {
                // Delete the least useful first: unscheduled, pending, not ready, then newest.
                active.sort_by_key(|p| {
                    let scheduled = p.spec.as_ref().is_some_and(|s| s.node_name.is_some());
                    let running =
                        p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running");
                    let created = p
                        .metadata
                        .creation_timestamp
                        .as_ref()
                        .map_or(0, |t| t.0.as_millisecond());
                    (scheduled, running, pod_ready(p), -created)
                });
                for p in active.iter().take((have - want) as usize) {
                    let pod_name = p.metadata.name.clone().unwrap_or_default();
                    if crate::sim::lifecycle::delete::<Pod>(world, &ns, &pod_name, None, now_ms)
                        .is_ok()
                    {
                        recorder.record(
                            world,
                            &reference(&*rs),
                            "Normal",
                            "SuccessfulDelete",
                            &format!("Deleted pod: {pod_name}"),
                            controller,
                            now_ms,
                        );
                    }
                }
            }
        }
    }

    /// Brings every ReplicaSet's and Deployment's status up to date with its pods.
    pub fn status(&mut self, world: &mut World, now_ms: i64) {
        let mut by_owner: HashMap<String, (i32, i32)> = HashMap::new();
        for e in world.pods.iter() {
            if let Some(uid) = controller_uid(&e.object.metadata)
                && !terminating_or_done(&e.object)
            {
                let slot = by_owner.entry(uid.to_owned()).or_default();
                slot.0 += 1;
                slot.1 += i32::from(pod_ready(&e.object));
            }
        }
        let sets: Vec<_> = world.replicasets.iter().map(|e| e.object.clone()).collect();
        for rs in sets {
            let (count, ready) = by_owner
                .get(rs.metadata.uid.as_deref().unwrap_or_default())
                .copied()
                .unwrap_or_default();
            let status = ReplicaSetStatus {
                replicas: count,
                fully_labeled_replicas: Some(count),
                ready_replicas: Some(ready),
                available_replicas: Some(ready),
                observed_generation: rs.metadata.generation,
                conditions: None,
                terminating_replicas: None,
            };
            if rs.status.as_ref() != Some(&status) {
                let _ = world.update::<ReplicaSet>(
                    rs.metadata.namespace.as_deref().unwrap_or_default(),
                    rs.metadata.name.as_deref().unwrap_or_default(),
                    |r| r.status = Some(status),
                );
            }
        }
        let deployments: Vec<_> = world.deployments.iter().map(|e| e.object.clone()).collect();
        for d in deployments {
            let owned = Self::owned_replicasets(world, &d);
            let spec = d.spec.clone().unwrap_or_default();
            let hash = template_hash(&spec.template);
            let new_name = format!("{}-{hash}", d.metadata.name.clone().unwrap_or_default());
            let new_rs = owned
                .iter()
                .find(|rs| rs.metadata.name.as_deref() == Some(new_name.as_str()));
            let sum = |f: fn(&ReplicaSetStatus) -> i32| -> i32 {
                owned
                    .iter()
                    .filter_map(|rs| rs.status.as_ref())
                    .map(f)
                    .sum()
            };
            let total = sum(|s| s.replicas);
            let ready = sum(|s| s.ready_replicas.unwrap_or(0));
            let available = sum(|s| s.available_replicas.unwrap_or(0));
            let updated = new_rs
                .and_then(|rs| rs.status.as_ref())
                .map_or(0, |s| s.replicas);
            let want = desired(&d);
            let max_unavailable = resolve(
                spec.strategy
                    .as_ref()
                    .and_then(|s| s.rolling_update.as_ref())
                    .and_then(|r| r.max_unavailable.as_ref()),
                want,
                false,
            );
            let uid = d.metadata.uid.clone().unwrap_or_default();
            let previous = d.status.clone().unwrap_or_default();
            let changed = previous.replicas.unwrap_or(0) != total
                || previous.updated_replicas.unwrap_or(0) != updated
                || previous.available_replicas.unwrap_or(0) != available
                || previous.ready_replicas.unwrap_or(0) != ready;
            if changed {
                self.progress.insert(uid.clone(), now_ms);
            }
            let last_progress = *self.progress.entry(uid).or_insert(now_ms);
            let complete = updated == want && total == want && available == want;
            let deadline_ms = i64::from(spec.progress_deadline_seconds.unwrap_or(600)) * 1000;
            let rs_name = new_rs
                .and_then(|rs| rs.metadata.name.clone())
                .unwrap_or_default();
            let mut conditions = previous.conditions.clone().unwrap_or_default();
            let (a_status, a_reason, a_message) = if available >= want - max_unavailable {
                (
                    "True",
                    "MinimumReplicasAvailable",
                    "Deployment has minimum availability.",
                )
            } else {
                (
                    "False",
                    "MinimumReplicasUnavailable",
                    "Deployment does not have minimum availability.",
                )
            };
            set(
                &mut conditions,
                "Available",
                a_status,
                a_reason,
                a_message.to_owned(),
                now_ms,
            );
            let previous_progress_reason = conditions
                .iter()
                .find(|c| c.type_ == "Progressing")
                .and_then(|c| c.reason.clone());
            if complete {
                set(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "NewReplicaSetAvailable",
                    format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
                    now_ms,
                );
            } else if now_ms - last_progress > deadline_ms {
                set(
                    &mut conditions,
                    "Progressing",
                    "False",
                    "ProgressDeadlineExceeded",
                    format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
                    now_ms,
                );
            } else if changed
                || previous_progress_reason.is_none()
                || previous_progress_reason.as_deref() == Some("NewReplicaSetAvailable")
            {
                set(
                    &mut conditions,
                    "Progressing",
                    "True",
                    "ReplicaSetUpdated",
                    format!("ReplicaSet \"{rs_name}\" is progressing."),
                    now_ms,
                );
            }
            conditions.sort_by_key(|c| if c.type_ == "Available" { 0 } else { 1 });
            let status = DeploymentStatus {
                observed_generation: d.metadata.generation,
                replicas: Some(total),
                updated_replicas: Some(updated),
                ready_replicas: Some(ready),
                available_replicas: Some(available),
                unavailable_replicas: Some((want - available).max(0)).filter(|u| *u > 0),
                conditions: Some(conditions),
                collision_count: None,
                terminating_replicas: None,
            };
            if d.status.as_ref() != Some(&status) {
                let _ = world.update::<Deployment>(
                    d.metadata.namespace.as_deref().unwrap_or_default(),
                    d.metadata.name.as_deref().unwrap_or_default(),
                    |x| x.status = Some(status),
                );
            }
        }
        let live: std::collections::HashSet<String> = world
            .deployments
            .iter()
            .filter_map(|e| e.object.metadata.uid.clone())
            .collect();
        self.progress.retain(|uid, _| live.contains(uid));
    }
}

fn set(
    conditions: &mut Vec<DeploymentCondition>,
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
    now_ms: i64,
) {
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(c) => {
            if c.status != status {
                c.last_transition_time = Some(time(now_ms));
            }
            if c.status != status
                || c.reason.as_deref() != Some(reason)
                || c.message.as_deref() != Some(message.as_str())
            {
                c.last_update_time = Some(time(now_ms));
            }
            c.status = status.to_owned();
            c.reason = Some(reason.to_owned());
            c.message = Some(message);
        }
        None => conditions.push(DeploymentCondition {
            type_: type_.to_owned(),
            status: status.to_owned(),
            reason: Some(reason.to_owned()),
            message: Some(message),
            last_transition_time: Some(time(now_ms)),
            last_update_time: Some(time(now_ms)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn surge_rounds_up_and_unavailable_rounds_down() {
        let pct = IntOrString::String("25%".to_owned());
        assert_eq!(resolve(Some(&pct), 3, true), 1);
        assert_eq!(resolve(Some(&pct), 3, false), 0);
        assert_eq!(resolve(Some(&pct), 8, false), 2);
        assert_eq!(resolve(Some(&IntOrString::Int(2)), 8, true), 2);
    }

    #[test]
    fn template_hashes_are_stable_safe_strings() {
        let t = k8s_openapi::api::core::v1::PodTemplateSpec::default();
        let h = template_hash(&t);
        assert_eq!(h, template_hash(&t));
        assert_eq!(h.len(), 10);
        assert!(h.bytes().all(|b| ALPHABET.contains(&b)));
    }
}
