//! The event recorder: events keyed by (object, reason, message) are aggregated into one Event
//! whose `count` and `lastTimestamp` grow, as client-go's recorder does.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};

use crate::store::{World, time};

/// Events older than this are deleted (the API server's default event TTL).
const EVENT_TTL_MS: i64 = 60 * 60 * 1000;
/// At most this many events are kept; the oldest go first.
const MAX_EVENTS: usize = 5_000;

#[derive(Default)]
pub struct Recorder {
    /// (involved uid, reason, message) → the event's (namespace, name).
    seen: HashMap<(String, String, String), (String, String)>,
}

/// Who reports an event.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    pub component: &'a str,
    pub host: Option<&'a str>,
}

impl Recorder {
    /// Records an event about `object` (`Normal` or `Warning`).
    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &mut self,
        world: &mut World,
        object: &ObjectReference,
        type_: &str,
        reason: &str,
        message: &str,
        source: Source<'_>,
        now_ms: i64,
    ) {
        let uid = object.uid.clone().unwrap_or_default();
        let key = (uid, reason.to_owned(), message.to_owned());
        if let Some((ns, name)) = self.seen.get(&key).cloned() {
            let bumped = world.update::<Event>(&ns, &name, |e| {
                e.count = Some(e.count.unwrap_or(1) + 1);
                e.last_timestamp = Some(time(now_ms));
            });
            if bumped.is_ok() {
                return;
            }
        }
        // Events of cluster-scoped objects live in `default`, as on a real cluster.
        let namespace = object
            .namespace
            .clone()
            .filter(|ns| !ns.is_empty())
            .unwrap_or_else(|| "default".to_owned());
        let suffix: u64 = rand::Rng::random(world.rng());
        let name = format!(
            "{}.{:016x}",
            object.name.clone().unwrap_or_default(),
            suffix
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: object.clone(),
            reason: Some(reason.to_owned()),
            message: Some(message.to_owned()),
            type_: Some(type_.to_owned()),
            count: Some(1),
            first_timestamp: Some(time(now_ms)),
            last_timestamp: Some(time(now_ms)),
            event_time: None::<MicroTime>,
            source: Some(EventSource {
                component: Some(source.component.to_owned()),
                host: source.host.map(str::to_owned),
            }),
            reporting_component: Some(source.component.to_owned()),
            reporting_instance: Some(source.host.unwrap_or(source.component).to_owned()),
            ..Event::default()
        };
        if world.create(event, now_ms).is_ok() {
            self.seen.insert(key, (namespace, name));
        }
        // A start-up burst records tens of thousands of events within one controller step:
        // keep the cap as they come, not only at the end of the step.
        if world.events.len() > MAX_EVENTS + MAX_EVENTS / 10 {
            self.expire(world, now_ms);
        }
    }

    /// Deletes events past their TTL, and the oldest beyond the cap.
    pub fn expire(&mut self, world: &mut World, now_ms: i64) {
        let mut expired: Vec<(i64, String, String)> = world
            .events
            .iter()
            .map(|e| {
                let last = e
                    .object
                    .last_timestamp
                    .as_ref()
                    .map_or(0, |t| t.0.as_millisecond());
                (last, e.meta.namespace.clone(), e.meta.name.clone())
            })
            .collect();
        let over = expired.len().saturating_sub(MAX_EVENTS);
        expired.sort();
        let doomed: Vec<_> = expired
            .into_iter()
            .enumerate()
            .take_while(|(i, (last, _, _))| *i < over || now_ms - *last > EVENT_TTL_MS)
            .map(|(_, e)| e)
            .collect();
        for (_, ns, name) in &doomed {
            let _ = world.delete::<Event>(ns, name);
        }
        if !doomed.is_empty() {
            self.seen
                .retain(|_, (ns, name)| world.events.get(ns, name).is_some());
            if self.seen.capacity() > 2 * self.seen.len() + 64 {
                self.seen.shrink_to_fit();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn a_burst_of_events_never_holds_far_more_than_the_cap() {
        let mut world = World::new(1, 100);
        Scenario::default().apply(&mut world, 0).unwrap();
        let mut recorder = Recorder::default();
        let source = Source {
            component: "kubelet",
            host: None,
        };
        let burst = MAX_EVENTS * 2;
        for i in 0..burst {
            let object = ObjectReference {
                kind: Some("Pod".to_owned()),
                namespace: Some("default".to_owned()),
                name: Some(format!("pod-{i}")),
                uid: Some(format!("uid-{i}")),
                ..ObjectReference::default()
            };
            // One controller step: the clock does not move.
            recorder.record(
                &mut world, &object, "Normal", "Pulled", "pulled", source, 1_000,
            );
            assert!(world.events.len() <= MAX_EVENTS + MAX_EVENTS / 10, "at {i}");
        }
        recorder.expire(&mut world, 1_000);
        assert_eq!(world.events.len(), MAX_EVENTS);
        assert!(recorder.seen.len() <= world.events.len());
        // The newest stays, and a repeat of it is counted, not recorded again.
        let newest = ObjectReference {
            namespace: Some("default".to_owned()),
            name: Some(format!("pod-{}", burst - 1)),
            uid: Some(format!("uid-{}", burst - 1)),
            ..ObjectReference::default()
        };
        recorder.record(
            &mut world, &newest, "Normal", "Pulled", "pulled", source, 2_000,
        );
        let counted: Vec<_> = world
            .events
            .iter()
            .filter(|e| e.object.involved_object.uid == newest.uid)
            .map(|e| e.object.count)
            .collect();
        assert_eq!(counted, [Some(2)]);
    }
}
