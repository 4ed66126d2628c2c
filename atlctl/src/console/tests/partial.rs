//! Rows built in part — only the objects a delta, an event batch or a node sample changed —
//! are the rows built whole: random bursts of changes, absorbed in random batches, on the
//! pods, deployments and events lists, with the clock's refresh of the rows on screen.

use proptest::prelude::*;

use super::{CLUSTER, NOW, console, delta, items};
use crate::console::app::{Action, App, Msg};
use crate::console::messages::ListDelta;
use crate::kinds::Resource;
use atlhyper_model::PodUsage;
use atlhyper_model::api::InCluster;
use atlhyper_model::resources::{Deployment, Event, Pod};

#[derive(Debug, Clone)]
enum Change {
    /// Fixture pod `i`, its status and restarts changed (or a new pod, when `copy`).
    Pod {
        i: u8,
        status: u8,
        restarts: u8,
        copy: bool,
    },
    DeletePod(u8),
    /// Fixture deployment `i`, `ready` of it.
    Deployment {
        i: u8,
        ready: u8,
    },
    /// Fixture event `i` seen again, `count` times.
    Event {
        i: u8,
        count: u8,
    },
    /// A node sample giving fixture pod `i` this CPU (none: the pod has no figure).
    Usage {
        i: u8,
        millicores: Option<u16>,
    },
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        (0..4u8, 0..4u8, 0..3u8, any::<bool>()).prop_map(|(i, status, restarts, copy)| {
            Change::Pod {
                i,
                status,
                restarts,
                copy,
            }
        }),
        (0..4u8).prop_map(Change::DeletePod),
        (0..2u8, 0..4u8).prop_map(|(i, ready)| Change::Deployment { i, ready }),
        (0..3u8, 1..9u8).prop_map(|(i, count)| Change::Event { i, count }),
        (0..4u8, proptest::option::of(0..2000u16))
            .prop_map(|(i, millicores)| Change::Usage { i, millicores }),
    ]
}

fn message(app: &App, change: &Change) -> Msg {
    let pods: Vec<InCluster<Pod>> = items(fixture!("pod_list_snapshot"));
    match *change {
        Change::Pod {
            i,
            status,
            restarts,
            copy,
        } => {
            let mut pod = pods[usize::from(i)].clone();
            pod.object.status = ["Running", "CrashLoopBackOff", "Pending", "Terminating"]
                [usize::from(status)]
            .to_owned();
            pod.object.restarts = u32::from(restarts);
            if copy {
                pod.object.name.push_str("-copy");
                pod.object.uid.push_str("-copy");
            }
            Msg::Delta(ListDelta::Pods(delta(vec![pod], vec![])))
        }
        Change::DeletePod(i) => {
            let pod = &pods[usize::from(i)].object;
            Msg::Delta(ListDelta::Pods(delta(
                vec![],
                vec![format!("{}/{}", pod.namespace, pod.name)],
            )))
        }
        Change::Deployment { i, ready } => {
            let all: Vec<InCluster<Deployment>> = items(fixture!("deployment_list_snapshot"));
            let mut d = all[usize::from(i) % all.len()].clone();
            d.object.ready = u32::from(ready);
            Msg::Delta(ListDelta::Deployments(delta(vec![d], vec![])))
        }
        Change::Event { i, count } => {
            let all: Vec<InCluster<Event>> = items(fixture!("events"));
            let mut e = all[usize::from(i) % all.len()].object.clone();
            e.count = u32::from(count);
            Msg::Events(CLUSTER.to_owned(), vec![e])
        }
        Change::Usage { i, millicores } => {
            let pod = &pods[usize::from(i)].object;
            let mut sample = app
                .data
                .metrics
                .iter()
                .find(|m| Some(&m.object.node) == pod.node.as_ref())
                .or(app.data.metrics.first())
                .expect("a sample")
                .object
                .clone();
            sample.pods = millicores
                .map(|m| PodUsage {
                    uid: pod.uid.clone(),
                    cpu_millicores: f64::from(m),
                    memory_bytes: u64::from(m) << 20,
                })
                .into_iter()
                .collect();
            Msg::Metrics(CLUSTER.to_owned(), vec![sample])
        }
    }
}

fn table(app: &App) -> Vec<(String, String)> {
    let list = app.list().expect("a list");
    list.visible
        .iter()
        .map(|&i| {
            let row = &list.rows.rows[i];
            (row.id.target(), row.text().to_owned())
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn rows_built_in_part_are_the_rows_built_whole(
        shown in 0..3usize,
        batches in proptest::collection::vec(
            (proptest::collection::vec(change(), 1..6), any::<bool>()),
            1..8,
        ),
        filtered in any::<bool>(),
    ) {
        let resource = [Resource::Pods, Resource::Deployments, Resource::Events][shown];
        let mut app = console(resource);
        if filtered {
            super::typed(&mut app, "/o");
            super::key(&mut app, crossterm::event::KeyCode::Enter);
        }
        for (batch, tick) in &batches {
            for change in batch {
                let msg = message(&app, change);
                app.absorb(msg);
            }
            app.settle();
            if *tick {
                // The rows on screen are built again at each second.
                app.update(Action::Tick(NOW));
            }
            let mut whole = app.clone();
            whole.rebuild();
            prop_assert_eq!(table(&app), table(&whole));
            let list = app.list().expect("a list");
            prop_assert_eq!(&list.rows.widths, &whole.list().expect("a list").rows.widths);
        }
    }
}
