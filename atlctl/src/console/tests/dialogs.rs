//! Help and the change dialogs at every size: help scrolls, what is typed stays in sight,
//! scale starts from the current replicas, a bad value or a wrong name keeps the dialog open
//! with the error, Tab completes a name, and a controller's pod restarts on y.

use atlhyper_model::CommandKind;
use crossterm::event::KeyCode;

use super::{console, key, names, render, typed};
use crate::console::app::{Ask, Effect, Mode};
use crate::kinds::Resource;

#[test]
fn help_scrolls_at_60x20_and_shows_every_sort_key_at_120x40() {
    let mut app = console(Resource::Nodes);
    typed(&mut app, "?");
    let top = render(&mut app, 60, 20);
    assert!(!top.contains("drain"), "node actions fit? {top}");
    for _ in 0..4 {
        key(&mut app, KeyCode::PageDown);
    }
    let bottom = render(&mut app, 60, 20);
    assert!(bottom.contains("drain"), "{bottom}");
    assert_eq!(app.mode, Mode::Help);
    key(&mut app, KeyCode::Char('g'));
    assert!(!render(&mut app, 60, 20).contains("drain"));
    key(&mut app, KeyCode::Esc);
    assert_eq!(app.mode, Mode::Normal);

    let mut app = console(Resource::Pods);
    typed(&mut app, "?");
    key(&mut app, KeyCode::Char('G'));
    let screen = render(&mut app, 120, 40);
    for sort in ["N NAME", "S STATUS", "A AGE", "I IP", "O NODE"] {
        assert!(screen.contains(sort), "{sort} missing:\n{screen}");
    }
}

#[test]
fn what_is_typed_for_an_image_stays_in_sight_at_every_width() {
    for (width, height) in [(60, 20), (80, 24), (160, 48)] {
        let mut app = console(Resource::Deployments);
        typed(&mut app, "i");
        typed(&mut app, "app=registry.example.com/team/checkout:1.2.3-rc7");
        let screen = render(&mut app, width, height);
        assert!(screen.contains("rc7█"), "at {width}x{height}:\n{screen}");
    }
}

#[test]
fn scale_starts_from_the_current_replicas_and_a_bad_value_keeps_the_dialog_open() {
    let mut app = console(Resource::Deployments);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "s");
    let Mode::Input(Ask::Replicas(_), text) = &app.mode else {
        panic!("no replicas dialog: {:?}", app.mode);
    };
    assert_eq!(text, "3");
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "x");
    key(&mut app, KeyCode::Enter);
    assert!(matches!(&app.mode, Mode::Input(Ask::Replicas(_), t) if t == "x"));
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("not a whole number"), "{screen}");
    key(&mut app, KeyCode::Backspace);
    typed(&mut app, "5");
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.mode, Mode::Confirm(c) if matches!(c.kind, CommandKind::Scale { replicas: 5, .. }))
    );

    let mut app = console(Resource::Deployments);
    typed(&mut app, "i");
    typed(&mut app, "app=UPPER::bad");
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.mode, Mode::Input(Ask::Image(_), _)),
        "{:?}",
        app.mode
    );
}

#[test]
fn tab_completes_the_name_and_a_wrong_one_keeps_the_dialog_open() {
    let mut app = console(Resource::Deployments);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    typed(&mut app, "r");
    typed(&mut app, "check");
    key(&mut app, KeyCode::Enter);
    assert!(
        matches!(&app.mode, Mode::Confirm(c) if c.typed == "check"),
        "{:?}",
        app.mode
    );
    assert!(render(&mut app, 80, 24).contains("does not match"));
    key(&mut app, KeyCode::Tab);
    assert!(matches!(&app.mode, Mode::Confirm(c) if c.typed == "checkout"));
    let effects = key(&mut app, KeyCode::Enter);
    assert!(
        matches!(
            &effects[..],
            [Effect::Command {
                kind: CommandKind::RolloutRestart { .. },
                ..
            }]
        ),
        "{effects:?}"
    );
}

#[test]
fn a_pod_a_controller_recreates_restarts_on_y_unless_names_are_asked_for() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    assert_eq!(names(&app), ["checkout-5d8f7c9b6d-x2kqp"]);
    typed(&mut app, "r");
    assert!(
        matches!(&app.mode, Mode::Confirm(c) if c.name.is_none()),
        "{:?}",
        app.mode
    );
    let effects = typed(&mut app, "y");
    assert!(
        matches!(
            &effects[..],
            [Effect::Command {
                kind: CommandKind::RestartPod { .. },
                ..
            }]
        ),
        "{effects:?}"
    );
    // Deleting is still by name.
    let ctrl_d = crossterm::event::KeyEvent::new(
        KeyCode::Char('d'),
        crossterm::event::KeyModifiers::CONTROL,
    );
    let action = crate::console::keys::action(&app, ctrl_d).unwrap();
    app.update(action);
    assert!(matches!(&app.mode, Mode::Confirm(c) if c.name.is_some()));
    key(&mut app, KeyCode::Esc);

    app.settings.restart_by_name = true;
    typed(&mut app, "r");
    assert!(matches!(&app.mode, Mode::Confirm(c) if c.name.is_some()));
}
