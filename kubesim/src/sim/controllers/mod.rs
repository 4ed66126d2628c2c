//! The controllers that make the simulated cluster behave: scheduler, kubelet, ReplicaSet and
//! Deployment controllers, node lifecycle, garbage collection and the event recorder. Each tick
//! they look at the whole world and move it one step (level-triggered, as Kubernetes'
//! controllers are); a write that changes nothing is not a write.

mod daemonsets;
mod events;
mod gc;
mod kubelet;
mod scheduler;
mod workloads;

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use tokio_util::sync::CancellationToken;

use super::Sim;
use crate::kinds::Kind;
use crate::store::World;

pub use events::Recorder;
pub use scheduler::pod_requests as scheduler_requests;

/// How often the controllers run, in real time.
pub const TICK: Duration = Duration::from_millis(100);

/// What the controllers remember between ticks (timers, what they already reported).
#[derive(Default)]
pub struct Controllers {
    pub recorder: Recorder,
    kubelet: kubelet::Kubelet,
    scheduler: scheduler::Scheduler,
    workloads: workloads::Workloads,
}

impl Controllers {
    /// One step of every controller at simulated time `now_ms`.
    pub fn step(&mut self, world: &mut World, now_ms: i64) {
        gc::collect(world, &mut self.recorder, now_ms);
        self.workloads.step(world, &mut self.recorder, now_ms);
        daemonsets::step(world, &mut self.recorder, now_ms);
        self.scheduler.step(world, &mut self.recorder, now_ms);
        self.kubelet.step(world, &mut self.recorder, now_ms);
        gc::node_lifecycle(world, &mut self.recorder, now_ms);
        self.workloads.status(world, now_ms);
        self.recorder.expire(world, now_ms);
    }
}

/// Runs the controllers until `shutdown`.
pub async fn run(sim: Arc<Sim>, shutdown: CancellationToken) {
    let mut controllers = Controllers::default();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                let now = sim.now_ms();
                let mut world = sim.world();
                controllers.step(&mut world, now);
            }
        }
    }
}

/// A reference to an object, as events carry it.
pub fn reference<K: Kind>(object: &K) -> ObjectReference {
    let m = object.metadata();
    ObjectReference {
        api_version: Some(K::RESOURCE.api_version().to_owned()),
        kind: Some(K::RESOURCE.kind().to_owned()),
        name: m.name.clone(),
        namespace: m.namespace.clone(),
        uid: m.uid.clone(),
        resource_version: m.resource_version.clone(),
        field_path: None,
    }
}

/// The owner reference a controller puts on what it creates.
pub fn controller_ref<K: Kind>(owner: &K) -> OwnerReference {
    let m = owner.metadata();
    OwnerReference {
        api_version: K::RESOURCE.api_version().to_owned(),
        kind: K::RESOURCE.kind().to_owned(),
        name: m.name.clone().unwrap_or_default(),
        uid: m.uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// The uid of an object's controller, if it has one.
pub fn controller_uid(meta: &ObjectMeta) -> Option<&str> {
    meta.owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true))
        .map(|o| o.uid.as_str())
}
