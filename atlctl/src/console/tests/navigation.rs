//! Going back: Esc one level at a time, always; `q` closes what is open and quits only from
//! the top (asking first in the demo); Ctrl-C quits at once.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::{console, key, names, typed};
use crate::console::app::{Action, Effect, Feed, Mode, Screen};
use crate::console::keys;
use crate::kinds::Resource;

#[test]
fn esc_after_a_drill_in_goes_back_in_one_press() {
    let mut app = console(Resource::Deployments);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().resource, Resource::Deployments);
    // The list keeps the filter it was given: its own Esc clears it.
    assert_eq!(app.list().unwrap().filter_text, "checkout");
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().filter_text, "");

    let mut app = console(Resource::Nodes);
    typed(&mut app, "/worker-3");
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "p");
    assert_eq!(names(&app), ["cart-66f5d4c3b2-lk9sd"]);
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().resource, Resource::Nodes);
}

#[test]
fn esc_after_entering_a_namespace_returns_to_the_namespaces_in_every_namespace() {
    let mut app = console(Resource::Namespaces);
    typed(&mut app, "/shop");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Pods);
    assert_eq!(app.scope.namespace.as_deref(), Some("shop"));
    let effects = key(&mut app, KeyCode::Esc);
    assert_eq!(app.list().unwrap().resource, Resource::Namespaces);
    assert_eq!(app.scope.namespace, None);
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Load { feed: Feed::Namespaces, scope, .. } if scope.namespace.is_none())),
        "{effects:?}"
    );
}

#[test]
fn q_closes_logs_describe_and_help_and_quits_only_from_the_top() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "d");
    assert!(matches!(app.screen(), Screen::Text(_)));
    typed(&mut app, "q");
    assert!(!app.term.quit);
    assert!(matches!(app.screen(), Screen::List(_)));

    typed(&mut app, "l");
    assert!(matches!(app.screen(), Screen::Text(_)));
    typed(&mut app, "q");
    assert!(!app.term.quit);
    assert!(matches!(app.screen(), Screen::List(_)));

    typed(&mut app, "?");
    assert_eq!(app.mode, Mode::Help);
    typed(&mut app, "q");
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.term.quit);

    typed(&mut app, "q");
    assert!(app.term.quit);
}

#[test]
fn the_demo_asks_before_q_quits_and_ctrl_c_quits_at_once() {
    let mut app = console(Resource::Nodes);
    app.settings.ask_before_quit = true;
    typed(&mut app, "q");
    assert!(!app.term.quit);
    assert_eq!(app.mode, Mode::Quit);
    typed(&mut app, "n");
    assert_eq!(app.mode, Mode::Normal);
    assert!(!app.term.quit);
    typed(&mut app, ":q");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.mode, Mode::Quit);
    typed(&mut app, "y");
    assert!(app.term.quit);

    let mut app = console(Resource::Nodes);
    app.settings.ask_before_quit = true;
    let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
    let action = keys::action(&app, ctrl_c).unwrap();
    assert_eq!(action, Action::Quit);
    app.update(action);
    assert!(app.term.quit);
}
