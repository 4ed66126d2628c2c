//! No key sequence and no list change panics the console or leaves a selection outside its
//! list: random keys (and whole command lines) interleaved with lists that grow, shrink to
//! nothing and reorder, on every screen, each step drawn.

use crossterm::event::KeyCode;
use proptest::prelude::*;

use super::{commands, console, items, key, loaded, metrics, render, typed};
use crate::console::app::{App, Loaded, Msg, Screen};
use crate::kinds::Resource;
use atlhyper_model::api::StreamKind;

#[derive(Debug, Clone)]
enum Step {
    Key(KeyCode),
    /// A whole command line (`:ns default`), typed and entered.
    Line(&'static str),
    /// A list arrives holding these fixture items (by index, any order, repeats allowed).
    Load(u8, Vec<u8>),
    Changed,
    Reset,
    Resize(u16, u16),
}

const KEYS: &[KeyCode] = &[
    KeyCode::Char('j'),
    KeyCode::Char('k'),
    KeyCode::Char('g'),
    KeyCode::Char('G'),
    KeyCode::Char('l'),
    KeyCode::Char('d'),
    KeyCode::Char('p'),
    KeyCode::Char('w'),
    KeyCode::Char('s'),
    KeyCode::Char('r'),
    KeyCode::Char('i'),
    KeyCode::Char('c'),
    KeyCode::Char('u'),
    KeyCode::Char('y'),
    KeyCode::Char('N'),
    KeyCode::Char('<'),
    KeyCode::Char('>'),
    KeyCode::Char('1'),
    KeyCode::Char('3'),
    KeyCode::Char('?'),
    KeyCode::Char('/'),
    KeyCode::Char(':'),
    KeyCode::Enter,
    KeyCode::Esc,
    KeyCode::Backspace,
    KeyCode::Tab,
    KeyCode::Up,
    KeyCode::Down,
    KeyCode::PageUp,
    KeyCode::PageDown,
];

const LINES: &[&str] = &[
    ":ns default",
    ":ns shop",
    ":ns batch",
    ":ns all",
    ":ns",
    ":po",
    ":no",
    ":dp",
    ":svc",
    ":ev",
    ":ing",
    ":cm",
    ":cmd",
    ":ctx",
    ":ctx prod-eu",
    "/crash",
    "/!shop",
    "/-l app=web",
];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => proptest::sample::select(KEYS).prop_map(Step::Key),
        2 => proptest::sample::select(LINES).prop_map(Step::Line),
        3 => (0u8..11, proptest::collection::vec(any::<u8>(), 0..9))
            .prop_map(|(feed, picks)| Step::Load(feed, picks)),
        1 => Just(Step::Changed),
        1 => Just(Step::Reset),
        1 => (1u16..200, 1u16..60).prop_map(|(w, h)| Step::Resize(w, h)),
    ]
}

/// `picks` of `all`, by index modulo its length.
fn pick<T: Clone>(all: Vec<T>, picks: &[u8]) -> Vec<T> {
    if all.is_empty() {
        return all;
    }
    picks
        .iter()
        .map(|&p| all[usize::from(p) % all.len()].clone())
        .collect()
}

fn list_of(feed: u8, picks: &[u8]) -> Loaded {
    match feed {
        0 => Loaded::Pods(pick(items(fixture!("pod_list_snapshot")), picks)),
        1 => Loaded::Nodes(pick(items(fixture!("node_list_snapshot")), picks)),
        2 => Loaded::Metrics(pick(metrics(), picks)),
        3 => Loaded::Deployments(pick(items(fixture!("deployment_list_snapshot")), picks)),
        4 => Loaded::Services(pick(items(fixture!("service_list_snapshot")), picks)),
        5 => Loaded::Namespaces(pick(items(fixture!("namespace_list_snapshot")), picks)),
        6 => Loaded::Ingresses(pick(items(fixture!("ingress_list_snapshot")), picks)),
        7 => Loaded::ConfigMaps(pick(items(fixture!("configmap_list_snapshot")), picks)),
        8 => Loaded::Events(pick(items(fixture!("events")), picks)),
        9 => Loaded::Commands(pick(commands(), picks)),
        _ => Loaded::Clusters(pick(vec![super::cluster()], picks)),
    }
}

/// Every list on the screen stack has its selection inside what it shows.
fn check(app: &App) -> Result<(), TestCaseError> {
    for screen in &app.screens {
        if let Screen::List(list) = screen {
            for &i in &list.visible {
                prop_assert!(
                    i < list.rows.rows.len(),
                    "row {i} of {}",
                    list.rows.rows.len()
                );
            }
            if list.visible.is_empty() {
                prop_assert_eq!(list.selected, 0);
            } else {
                prop_assert!(
                    list.selected < list.visible.len(),
                    "selected {} of {}",
                    list.selected,
                    list.visible.len()
                );
            }
        }
    }
    Ok(())
}

fn run(first: Resource, steps: &[Step]) -> Result<(), TestCaseError> {
    let mut app = console(first);
    let (mut width, mut height) = (80, 24);
    for step in steps {
        match step {
            Step::Key(code) => {
                key(&mut app, *code);
            }
            Step::Line(line) => {
                typed(&mut app, line);
                key(&mut app, KeyCode::Enter);
            }
            Step::Load(feed, picks) => {
                loaded(&mut app, list_of(*feed, picks));
            }
            Step::Changed => {
                app.receive(Msg::Changed {
                    cluster: super::CLUSTER.to_owned(),
                    kind: StreamKind::Pods,
                });
            }
            Step::Reset => {
                app.receive(Msg::Reset);
            }
            Step::Resize(w, h) => (width, height) = (*w, *h),
        }
        // Quitting ends a real console; here the steps go on, as keys may still arrive.
        app.term.quit = false;
        check(&app)?;
        render(&mut app, width, height);
        check(&app)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_keys_and_no_list_changes_panic_or_lose_the_selection(
        first in proptest::sample::select(&[Resource::Pods, Resource::Nodes, Resource::Events,
            Resource::Deployments, Resource::Commands, Resource::Clusters][..]),
        steps in proptest::collection::vec(step(), 1..40),
    ) {
        run(first, &steps)?;
    }
}

/// The user's report: the cursor at the end of a list that then arrives shorter.
#[test]
fn a_list_that_arrives_shorter_than_the_cursor_is_deep_keeps_running() {
    let mut app = console(Resource::Pods);
    key(&mut app, KeyCode::Char('G'));
    typed(&mut app, ":ns batch");
    key(&mut app, KeyCode::Enter);
    let batch: Vec<_> = items(fixture!("pod_list_snapshot"))
        .into_iter()
        .filter(
            |p: &atlhyper_model::api::InCluster<atlhyper_model::resources::Pod>| {
                p.object.namespace == "batch"
            },
        )
        .collect();
    loaded(&mut app, Loaded::Pods(batch));
    let list = app.list().expect("the pods");
    assert_eq!(list.visible.len(), 1);
    assert_eq!(list.selected, 0);
}
