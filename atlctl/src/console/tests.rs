//! The console driven as a user drives it: keys through the key map into `update`, network
//! messages into `receive`, and every screen drawn into a `TestBackend` from fixed data (the
//! model's wire fixtures, a fixed clock) as insta snapshots.

use atlhyper_model::api::{ClusterSummary, CommandInfo, InCluster, MetricSeries};
use atlhyper_model::{CommandKind, CommandStatus};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde::de::DeserializeOwned;

use super::app::{Action, App, Effect, Feed, Loaded, Mode, Msg, Scope, Screen};
use super::keys;
use super::views;
use crate::kinds::Resource;

/// The fixtures' push time plus a minute.
pub(super) const NOW: i64 = 1_795_608_060_000;
pub(super) const CLUSTER: &str = "prod-eu";

pub(super) fn items<T: DeserializeOwned>(json: &str) -> Vec<InCluster<T>> {
    let envelope: serde_json::Value = serde_json::from_str(json).expect("fixture is JSON");
    let items: Vec<T> =
        serde_json::from_value(envelope["payload"]["items"].clone()).expect("fixture items");
    items
        .into_iter()
        .map(|object| InCluster {
            cluster_id: CLUSTER.to_owned(),
            object,
        })
        .collect()
}

macro_rules! fixture {
    ($name:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../model/tests/fixtures/",
            $name,
            ".json"
        ))
    };
}

pub(super) fn cluster() -> ClusterSummary {
    serde_json::from_value(serde_json::json!({
        "id": CLUSTER, "name": "Production EU", "created_ms": NOW - 86_400_000,
        "last_push_ms": NOW - 2_000, "stale": false, "sources": [
            {"source": "pod_list_snapshot", "last_push_ms": NOW - 2_000, "ts_ms": NOW - 2_100,
             "age_ms": 2_000, "items": 4, "stale": false},
            {"source": "metrics_snapshot", "last_push_ms": NOW - 600_000,
             "ts_ms": NOW - 600_100, "age_ms": 600_000, "items": 2, "stale": true}],
        "counts": {"nodes": 2, "nodes_ready": 2, "pods": 4, "pods_running": 1,
            "pods_unhealthy": 2, "deployments": 2, "services": 4, "namespaces": 4,
            "ingresses": 1, "configmaps": 2, "events": 3, "warning_events": 1}
    }))
    .expect("a cluster summary")
}

pub(super) fn commands() -> Vec<CommandInfo> {
    let commands: Vec<atlhyper_model::Command> =
        serde_json::from_str(fixture!("commands")).expect("commands fixture");
    commands
        .into_iter()
        .enumerate()
        .map(|(i, command)| CommandInfo {
            command,
            status: if i == 0 {
                CommandStatus::Succeeded
            } else {
                CommandStatus::Failed
            },
            delivered_ms: Some(NOW - 50_000),
            delivered_to: None,
            finished_ms: Some(NOW - 49_000),
            message: Some(if i == 0 { "deleted" } else { "not found" }.to_owned()),
            output: None,
        })
        .collect()
}

/// The fixture's sample, once for each fixture node (a little busier each).
pub(super) fn metrics() -> Vec<InCluster<atlhyper_model::NodeMetricsSnapshot>> {
    let sample: Vec<InCluster<atlhyper_model::NodeMetricsSnapshot>> =
        items(fixture!("metrics_snapshot"));
    ["control-plane-1", "worker-3"]
        .iter()
        .enumerate()
        .map(|(i, node)| {
            let mut s = sample[0].clone();
            s.object.node = (*node).to_owned();
            s.object.cpu.usage_percent += 50.0 * i as f64;
            s
        })
        .collect()
}

/// A delta of the fixture cluster, as the stream brings it.
pub(super) fn delta<T>(
    upserts: Vec<InCluster<T>>,
    deletes: Vec<String>,
) -> atlhyper_model::api::StreamDelta<InCluster<T>> {
    atlhyper_model::api::StreamDelta {
        cluster_id: CLUSTER.to_owned(),
        source: atlhyper_model::Source::PodListSnapshot,
        ts_ms: NOW,
        upserts,
        deletes,
        relist: false,
    }
}

pub(super) fn loaded(app: &mut App, loaded: Loaded) -> Vec<Effect> {
    app.receive(Msg::Loaded(app.scope.clone(), loaded))
}

/// An operator's console with every fixture loaded, at a fixed time.
pub(super) fn console(first: Resource) -> App {
    let mut app = App::new(
        "http://master:8080".to_owned(),
        "alice (operator)".to_owned(),
        false,
        first,
    );
    app.term.now_ms = NOW;
    app.feeds.stream_up = true;
    loaded(&mut app, Loaded::Clusters(vec![cluster()]));
    loaded(&mut app, Loaded::Pods(items(fixture!("pod_list_snapshot"))));
    loaded(
        &mut app,
        Loaded::Nodes(items(fixture!("node_list_snapshot"))),
    );
    loaded(&mut app, Loaded::Metrics(metrics()));
    loaded(
        &mut app,
        Loaded::Deployments(items(fixture!("deployment_list_snapshot"))),
    );
    loaded(
        &mut app,
        Loaded::Services(items(fixture!("service_list_snapshot"))),
    );
    loaded(
        &mut app,
        Loaded::Namespaces(items(fixture!("namespace_list_snapshot"))),
    );
    loaded(
        &mut app,
        Loaded::Ingresses(items(fixture!("ingress_list_snapshot"))),
    );
    loaded(
        &mut app,
        Loaded::ConfigMaps(items(fixture!("configmap_list_snapshot"))),
    );
    loaded(&mut app, Loaded::Events(items(fixture!("events"))));
    loaded(&mut app, Loaded::Commands(commands()));
    app.feeds.loading.clear();
    app.feeds.dirty.clear();
    app.status = None;
    app
}

pub(super) fn key(app: &mut App, code: KeyCode) -> Vec<Effect> {
    let event = KeyEvent::new(code, KeyModifiers::NONE);
    match keys::action(app, event) {
        Some(action) => app.update(action),
        None => Vec::new(),
    }
}

/// Types `text` key by key.
pub(super) fn typed(app: &mut App, text: &str) -> Vec<Effect> {
    let mut effects = Vec::new();
    for c in text.chars() {
        let modifiers = if c.is_ascii_uppercase() {
            KeyModifiers::SHIFT
        } else {
            KeyModifiers::NONE
        };
        if let Some(action) = keys::action(app, KeyEvent::new(KeyCode::Char(c), modifiers)) {
            effects.extend(app.update(action));
        }
    }
    effects
}

pub(super) fn render(app: &mut App, width: u16, height: u16) -> String {
    app.update(Action::Resize(width, height));
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("a test terminal");
    terminal
        .draw(|frame| views::draw(app, frame))
        .expect("drawn");
    terminal.backend().to_string()
}

pub(super) fn names(app: &App) -> Vec<String> {
    let list = app.list().expect("a list");
    list.visible
        .iter()
        .map(|&i| list.rows.rows[i].id.name.clone())
        .collect()
}

#[test]
fn command_line_switches_views_and_filter_narrows_them() {
    let mut app = console(Resource::Nodes);
    typed(&mut app, ":po");
    assert_eq!(app.mode, Mode::Command("po".to_owned()));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Pods);
    assert_eq!(names(&app).len(), 4);

    typed(&mut app, "/crash");
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Normal);
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);

    typed(&mut app, "/");
    for _ in 0..5 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "!shop");
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["report-gen-6b7c8d9e0f-pq4lm"]);

    // Esc clears the filter first, and there is nothing to go back to.
    key(&mut app, KeyCode::Esc);
    assert_eq!(names(&app).len(), 4);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.screens.len(), 1);

    typed(&mut app, "/-l app=report-gen");
    assert_eq!(names(&app), ["report-gen-6b7c8d9e0f-pq4lm"]);

    typed(&mut app, "");
    key(&mut app, KeyCode::Esc);
    typed(&mut app, ":deploy");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Deployments);
    typed(&mut app, ":nope");
    key(&mut app, KeyCode::Enter);
    assert!(app.status.as_ref().unwrap().text.contains("not a resource"));
    assert_eq!(app.list().unwrap().resource, Resource::Deployments);
}

#[test]
fn shift_letters_and_angle_brackets_sort_by_column() {
    let mut app = console(Resource::Pods);
    // NAMESPACE NAME READY STATUS RESTARTS CPU …: Shift-T is RESTARTS (R went to READY, E to
    // NAMESPACE, S to STATUS).
    assert_eq!(app.list().unwrap().rows.columns[4].title, "RESTARTS");
    typed(&mut app, "T");
    let list = app.list().unwrap();
    assert_eq!(list.sort, Some((3 + 1, false)));
    let restarts: Vec<&str> = list
        .visible
        .iter()
        .map(|&i| list.rows.rows[i].cell(4).unwrap_or(""))
        .collect();
    let counts: Vec<u32> = restarts
        .iter()
        .map(|r| r.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(counts.is_sorted(), "{restarts:?}");
    typed(&mut app, "T");
    assert_eq!(app.list().unwrap().sort, Some((4, true)));
    typed(&mut app, ">");
    assert_eq!(app.list().unwrap().sort, Some((5, true)));
    typed(&mut app, "<<");
    assert_eq!(app.list().unwrap().sort, Some((3, true)));
    typed(&mut app, "N");
    assert_eq!(names(&app)[0], "cart-66f5d4c3b2-lk9sd");
    typed(&mut app, "N");
    assert_eq!(names(&app)[0], "report-gen-6b7c8d9e0f-pq4lm");
}

#[test]
fn a_restart_waits_for_the_pods_name_to_be_typed() {
    let mut app = console(Resource::Pods);
    app.settings.restart_by_name = true;
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    assert!(typed(&mut app, "r").is_empty());
    let Mode::Confirm(confirm) = &app.mode else {
        panic!("no confirmation: {:?}", app.mode);
    };
    assert_eq!(confirm.name.as_deref(), Some("checkout-5d8f7c9b6d-x2kqp"));

    // A wrong name does nothing, and the dialog stays for the right one.
    assert!(typed(&mut app, "checkout").is_empty());
    assert!(key(&mut app, KeyCode::Enter).is_empty());
    assert!(matches!(app.mode, Mode::Confirm(_)));
    assert!(
        app.prompt
            .prompt_error
            .as_ref()
            .unwrap()
            .contains("does not match")
    );

    typed(&mut app, "-5d8f7c9b6d-x2kqp");
    let effects = key(&mut app, KeyCode::Enter);
    assert_eq!(
        effects,
        [Effect::Command {
            cluster: CLUSTER.to_owned(),
            kind: CommandKind::RestartPod {
                namespace: "shop".to_owned(),
                name: "checkout-5d8f7c9b6d-x2kqp".to_owned(),
                force: false,
            },
        }]
    );

    // Esc cancels.
    typed(&mut app, "r");
    assert!(key(&mut app, KeyCode::Esc).is_empty());
    assert_eq!(app.mode, Mode::Normal);
}

#[test]
fn scale_asks_for_replicas_then_the_name_and_cordon_for_y() {
    let mut app = console(Resource::Deployments);
    typed(&mut app, "s");
    typed(&mut app, "x");
    key(&mut app, KeyCode::Enter);
    assert!(
        app.prompt
            .prompt_error
            .as_ref()
            .unwrap()
            .contains("not a whole number")
    );
    key(&mut app, KeyCode::Esc);
    typed(&mut app, "s");
    while matches!(&app.mode, Mode::Input(_, t) if !t.is_empty()) {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "5");
    key(&mut app, KeyCode::Enter);
    let Mode::Confirm(confirm) = app.mode.clone() else {
        panic!("no confirmation: {:?}", app.mode);
    };
    let name = confirm.name.clone().unwrap();
    typed(&mut app, &name);
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            &effects[..],
            [Effect::Command {
                kind: CommandKind::Scale { replicas: 5, .. },
                ..
            }]
        ),
        "{effects:?}"
    );

    let mut app = console(Resource::Nodes);
    typed(&mut app, "c");
    let effects = typed(&mut app, "y");
    assert!(
        matches!(
            &effects[..],
            [Effect::Command {
                kind: CommandKind::Cordon { .. },
                ..
            }]
        ),
        "{effects:?}"
    );
    typed(&mut app, "r");
    assert!(
        matches!(&app.mode, Mode::Confirm(c) if c.name.is_some()),
        "a drain types the name"
    );
}

#[test]
fn read_only_offers_no_changes() {
    let mut app = console(Resource::Pods);
    app.settings.readonly = true;
    for k in ["r", "s", "i"] {
        assert!(typed(&mut app, k).is_empty());
        assert_eq!(app.mode, Mode::Normal);
    }
    assert!(app.status.as_ref().unwrap().text.contains("read-only"));
    typed(&mut app, "?");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("logs"), "{screen}");
    assert!(!screen.contains("restart"), "{screen}");
}

#[test]
fn changes_reload_once_per_burst_and_only_what_is_shown() {
    let mut app = console(Resource::Pods);
    let changed = |kind: &str| Msg::Changed {
        cluster: CLUSTER.to_owned(),
        kind: atlhyper_model::api::StreamKind::parse(kind).unwrap(),
    };
    // Services are not on screen: nothing to load but the header's cluster list.
    let effects = app.receive(changed("services"));
    assert!(effects.iter().all(|e| matches!(
        e,
        Effect::Load {
            feed: Feed::Clusters,
            ..
        }
    )));
    app.feeds.loading.clear();
    let effects = app.receive(changed("pods"));
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Load {
            feed: Feed::Pods,
            ..
        }
    )));
    // A second change while the first load runs: one more load once it is in, no more.
    assert!(app.receive(changed("pods")).iter().all(|e| !matches!(
        e,
        Effect::Load {
            feed: Feed::Pods,
            ..
        }
    )));
    assert!(app.receive(changed("pods")).is_empty());
    let effects = loaded(&mut app, Loaded::Pods(items(fixture!("pod_list_snapshot"))));
    assert!(
        matches!(
            &effects[..],
            [Effect::Load {
                feed: Feed::Pods,
                delay_ms: 300,
                ..
            }]
        ),
        "{effects:?}"
    );
}

/// A delta from the stream changes the held list in place: no list is loaded again, the
/// filter stays, and a pod entering CrashLoopBackOff appears in `/crash`.
#[test]
fn a_delta_updates_rows_in_place_under_an_active_filter() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/crash");
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);
    let mut pods: Vec<InCluster<atlhyper_model::resources::Pod>> =
        items(fixture!("pod_list_snapshot"));
    let mut crashing = pods.remove(0);
    let name = crashing.object.name.clone();
    assert_ne!(name, "checkout-5d8f7c9b6d-x2kqp");
    crashing.object.status = "CrashLoopBackOff".to_owned();
    let gone = pods
        .iter()
        .find(|p| p.object.name == "checkout-5d8f7c9b6d-x2kqp")
        .map(|p| format!("{}/{}", p.object.namespace, p.object.name))
        .unwrap();
    let delta =
        |upserts, deletes| Msg::Delta(super::messages::ListDelta::Pods(delta(upserts, deletes)));
    let effects = app.receive(delta(vec![crashing], vec![]));
    assert!(
        effects.iter().all(|e| !matches!(
            e,
            Effect::Load {
                feed: Feed::Pods,
                ..
            }
        )),
        "the pod list is not loaded again: {effects:?}"
    );
    let mut shown = names(&app);
    shown.sort();
    let mut expected = vec!["checkout-5d8f7c9b6d-x2kqp".to_owned(), name];
    expected.sort();
    assert_eq!(
        shown, expected,
        "the filter stays, the crashing pod joins it"
    );
    app.receive(delta(vec![], vec![gone]));
    assert_eq!(names(&app).len(), 1);
    key(&mut app, KeyCode::Esc);
    assert_eq!(names(&app).len(), 3, "one pod left the list");
}

#[test]
fn answers_for_another_scope_are_dropped() {
    let mut app = console(Resource::Pods);
    typed(&mut app, ":ns batch");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Load { feed: Feed::Pods, scope: Scope { namespace: Some(ns), .. }, .. } if ns == "batch")));
    // The all-namespaces list that was in flight arrives late: not shown.
    app.receive(Msg::Loaded(
        Scope::default(),
        Loaded::Pods(items(fixture!("pod_list_snapshot"))),
    ));
    assert!(!app.feeds.loaded.contains(&Feed::Pods));
}

#[test]
fn logs_open_a_screen_that_fills_when_the_agent_answers() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    let effects = typed(&mut app, "l");
    let Some(Effect::Command { kind, .. }) = effects.last() else {
        panic!("{effects:?}");
    };
    assert_eq!(kind.name(), "pod_logs");
    assert!(matches!(app.screen(), Screen::Text(t) if t.waiting_for.is_some()));
    let mut info = commands().remove(0);
    info.command.id = "cmd-logs".to_owned();
    info.command.kind = kind.clone();
    info.status = CommandStatus::Queued;
    app.receive(Msg::Queued(info.clone()));
    info.status = CommandStatus::Succeeded;
    info.output = Some("line one\npanic: no database\n".to_owned());
    app.receive(Msg::Command(info));
    let Screen::Text(text) = app.screen() else {
        panic!("not a text screen");
    };
    assert_eq!(text.lines, ["line one", "panic: no database"]);
    assert!(app.status.as_ref().unwrap().text.contains("succeeded"));
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::List(_)));
}

#[test]
fn enter_drills_into_nodes_pods_and_deployments() {
    let mut app = console(Resource::Nodes);
    let effects = key(&mut app, KeyCode::Enter);
    assert!(effects.contains(&Effect::Range {
        cluster: CLUSTER.to_owned(),
        node: "control-plane-1".to_owned(),
        minutes: 15,
    }));
    assert!(matches!(app.screen(), Screen::Node(n) if n.node == "control-plane-1"));
    let effects = typed(&mut app, "2");
    assert!(matches!(&effects[..], [Effect::Range { minutes: 60, .. }]));
    key(&mut app, KeyCode::Esc);

    let mut app = console(Resource::Deployments);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Pods);
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);
    key(&mut app, KeyCode::Esc);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().resource, Resource::Deployments);
}

#[test]
fn the_header_shows_a_lost_stream_and_a_quiet_cluster() {
    let mut app = console(Resource::Pods);
    app.receive(Msg::StreamDown("connection refused".to_owned()));
    app.update(Action::Tick(NOW + 120_000));
    let screen = render(&mut app, 80, 24);
    let header = screen.lines().next().unwrap();
    assert!(header.contains("reconnecting"), "{header}");
    assert!(header.contains("◌ prod-eu 2m"), "{header}");
    // Back: everything on screen is listed again.
    let effects = app.receive(Msg::StreamUp);
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Load {
            feed: Feed::Pods,
            ..
        }
    )));
}

#[test]
fn lists_are_loaded_once_when_the_stream_opens_or_fails_to() {
    let loads = |effects: &[Effect]| {
        let mut feeds: Vec<Feed> = effects
            .iter()
            .filter_map(|e| match e {
                Effect::Load { feed, .. } => Some(*feed),
                _ => None,
            })
            .collect();
        feeds.sort_by_key(|f| format!("{f:?}"));
        feeds
    };
    let fresh = || App::new("http://m".into(), "a (admin)".into(), false, Resource::Pods);
    let mut app = fresh();
    let first = app.receive(Msg::StreamUp);
    assert_eq!(loads(&first), [Feed::Clusters, Feed::Metrics, Feed::Pods]);
    // A second StreamUp (the subscription's own report) while they load asks for nothing more.
    assert!(loads(&app.receive(Msg::StreamUp)).is_empty());
    assert!(app.feeds.dirty.is_empty(), "{:?}", app.feeds.dirty);

    let mut app = fresh();
    let effects = app.receive(Msg::StreamDown("refused".into()));
    assert_eq!(loads(&effects), [Feed::Clusters, Feed::Metrics, Feed::Pods]);
    assert!(loads(&app.receive(Msg::StreamDown("refused".into()))).is_empty());
}

pub(super) fn series() -> MetricSeries {
    let points: Vec<serde_json::Value> = (0..30)
        .map(|i| {
            serde_json::json!({
                "ts_ms": NOW - 900_000 + i * 30_000,
                "cpu_percent": 20.0 + f64::from(i as i32 % 7) * 8.0,
                "memory_percent": 55.0 + f64::from(i as i32 % 3),
                "load1": 1.0, "disk_percent": 40.0,
                "net_rx_bytes_per_sec": 1000.0, "net_tx_bytes_per_sec": 500.0
            })
        })
        .collect();
    serde_json::from_value(serde_json::json!({
        "cluster_id": CLUSTER, "node": "control-plane-1", "from_ms": NOW - 900_000, "to_ms": NOW,
        "step_ms": 30_000, "resolution": "raw", "points": points
    }))
    .expect("a series")
}

/// Every screen at the smallest supported size and at a roomy one.
#[test]
fn every_screen_renders_at_80x24_and_160x48() {
    let lists = [
        Resource::Clusters,
        Resource::Nodes,
        Resource::Pods,
        Resource::Deployments,
        Resource::Services,
        Resource::Namespaces,
        Resource::Ingresses,
        Resource::ConfigMaps,
        Resource::Events,
        Resource::Commands,
    ];
    for (w, h) in [(80, 24), (160, 48)] {
        for resource in lists {
            let mut app = console(resource);
            insta::assert_snapshot!(
                format!("{}_{w}x{h}", resource.plural()),
                render(&mut app, w, h)
            );
        }
        let mut app = console(Resource::Nodes);
        key(&mut app, KeyCode::Enter);
        app.receive(Msg::Series(series()));
        insta::assert_snapshot!(format!("node_{w}x{h}"), render(&mut app, w, h));

        let mut app = console(Resource::Pods);
        typed(&mut app, "/checkout");
        key(&mut app, KeyCode::Enter);
        key(&mut app, KeyCode::Enter);
        insta::assert_snapshot!(format!("pod_{w}x{h}"), render(&mut app, w, h));

        let mut app = console(Resource::Pods);
        typed(&mut app, "?");
        insta::assert_snapshot!(format!("help_{w}x{h}"), render(&mut app, w, h));

        let mut app = console(Resource::Pods);
        app.settings.restart_by_name = true;
        typed(&mut app, "/crash");
        key(&mut app, KeyCode::Enter);
        typed(&mut app, "rcheck");
        insta::assert_snapshot!(format!("confirm_{w}x{h}"), render(&mut app, w, h));

        let mut app = console(Resource::Pods);
        typed(&mut app, ":");
        typed(&mut app, "deploy");
        insta::assert_snapshot!(format!("command_line_{w}x{h}"), render(&mut app, w, h));
    }
}

#[test]
fn the_event_tail_follows_new_events_unless_the_cursor_moved_away() {
    let mut app = console(Resource::Events);
    let last = |app: &App| {
        let list = app.list().unwrap();
        list.selected + 1 == list.visible.len()
    };
    assert!(last(&app), "the tail opens at its newest line");
    let mut fresh = items::<atlhyper_model::resources::Event>(fixture!("events"))[0]
        .object
        .clone();
    fresh.uid = "new-event".to_owned();
    fresh.last_seen_ms = NOW;
    app.receive(Msg::Events(CLUSTER.to_owned(), vec![fresh.clone()]));
    assert_eq!(app.list().unwrap().visible.len(), 4);
    assert!(last(&app));
    key(&mut app, KeyCode::Char('g'));
    fresh.uid = "newer-event".to_owned();
    app.receive(Msg::Events(CLUSTER.to_owned(), vec![fresh]));
    assert_eq!(
        app.list().unwrap().selected,
        0,
        "reading older lines: stay there"
    );
}

#[test]
fn a_column_sorted_by_stays_on_screen_and_a_status_fades() {
    let mut app = console(Resource::Pods);
    let screen = render(&mut app, 80, 24);
    assert!(!screen.contains(" IP"), "{screen}");
    typed(&mut app, "I");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("IP↑"), "{screen}");

    typed(&mut app, ":nope");
    key(&mut app, KeyCode::Enter);
    let footer = |app: &mut App| render(app, 80, 24).lines().last().unwrap().to_owned();
    assert!(footer(&mut app).contains("not a resource"));
    app.update(Action::Tick(NOW + 9_000));
    assert!(footer(&mut app).contains("? help"));
}

#[test]
fn p_on_a_node_or_its_detail_lists_the_pods_on_it() {
    let mut app = console(Resource::Nodes);
    typed(&mut app, "/worker-3");
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "p");
    let list = app.list().unwrap();
    assert_eq!(list.resource, Resource::Pods);
    assert_eq!(list.filter_text, "-c node=worker-3");
    assert_eq!(names(&app), ["cart-66f5d4c3b2-lk9sd"]);
    // Esc goes back to the nodes.
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().resource, Resource::Nodes);

    // From the node's detail too.
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Screen::Node(n) if n.node == "worker-3"));
    typed(&mut app, "p");
    assert_eq!(names(&app), ["cart-66f5d4c3b2-lk9sd"]);

    // A column the list does not have is said, not silently empty.
    typed(&mut app, "/");
    for _ in 0.."-c node=worker-3".len() {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "-c nod=worker-3");
    assert!(names(&app).is_empty());
    key(&mut app, KeyCode::Enter);
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(status.contains("no column NOD"), "{status}");
}

#[test]
fn with_two_clusters_every_list_names_the_cluster_of_each_row() {
    let mut app = console(Resource::Pods);
    let mut edge = cluster();
    edge.id = "edge".to_owned();
    loaded(&mut app, Loaded::Clusters(vec![cluster(), edge]));
    let mut pods = items::<atlhyper_model::resources::Pod>(fixture!("pod_list_snapshot"));
    let mut more = pods.clone();
    for p in &mut more {
        p.cluster_id = "edge".to_owned();
    }
    pods.extend(more.clone());
    loaded(&mut app, Loaded::Pods(pods));
    let screen = render(&mut app, 160, 48);
    assert!(screen.contains("CLUSTER"), "{screen}");
    assert_eq!(screen.matches("edge ").count(), 4 + 1, "{screen}");
    // One cluster chosen: its rows only, and no CLUSTER column.
    typed(&mut app, ":ctx edge");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(effects.iter().any(|e| matches!(e,
        Effect::Load { feed: Feed::Pods, scope: Scope { cluster: Some(c), .. }, .. } if c == "edge")));
    loaded(&mut app, Loaded::Pods(more));
    let screen = render(&mut app, 160, 48);
    assert!(!screen.contains("CLUSTER"), "{screen}");
    assert!(screen.contains("cluster:edge"), "{screen}");
    assert!(!screen.contains("prod-eu"), "{screen}");
}

#[test]
fn lists_no_screen_shows_are_let_go_and_not_gathered() {
    let mut app = console(Resource::Nodes);
    assert!(!app.data.metrics.is_empty());
    typed(&mut app, ":po");
    key(&mut app, KeyCode::Enter);
    // The pods keep the node samples (each pod's CPU and memory), not the nodes.
    assert!(!app.data.metrics.is_empty() && app.data.nodes.is_empty());
    assert!(app.data.events.is_empty() && !app.feeds.loaded.contains(&Feed::Events));
    let event = items::<atlhyper_model::resources::Event>(fixture!("events"))[0]
        .object
        .clone();
    app.receive(Msg::Events(CLUSTER.to_owned(), vec![event]));
    assert!(app.data.events.is_empty());
    // Back on the nodes, they are listed again.
    typed(&mut app, ":no");
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        effects.iter().any(|e| matches!(
            e,
            Effect::Load {
                feed: Feed::Nodes,
                ..
            }
        )),
        "{effects:?}"
    );
}

mod columns;
mod dialogs;
mod logs;
mod navigation;
mod partial;
mod polish;
mod props;
