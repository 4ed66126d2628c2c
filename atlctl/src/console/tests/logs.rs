//! A pod's log follows new lines (polls through the pipeline, one at a time, each from the
//! newest stamp), pauses on `f`, shows the previous run on `p`, filters on `/` and closes on
//! `q`; the title says which.

use atlhyper_model::{CommandKind, CommandStatus};
use crossterm::event::KeyCode;

use super::{NOW, commands, console, key, render, typed};
use crate::console::app::{Action, App, Effect, Mode, Msg, Screen};
use crate::console::logs::POLL_EVERY_MS;
use crate::kinds::Resource;

/// The command `effects` ask for, answered by the agent with `output`.
fn answer(app: &mut App, effects: &[Effect], id: &str, output: &str) -> CommandKind {
    let Some(Effect::Command { kind, .. }) = effects.last() else {
        panic!("no command: {effects:?}");
    };
    let mut info = commands().remove(0);
    info.command.id = id.to_owned();
    info.command.kind = kind.clone();
    info.status = CommandStatus::Queued;
    info.output = None;
    app.receive(Msg::Queued(info.clone()));
    info.status = CommandStatus::Succeeded;
    info.output = Some(output.to_owned());
    app.receive(Msg::Command(info));
    kind.clone()
}

fn lines(app: &App) -> Vec<String> {
    match app.screen() {
        Screen::Text(t) => t.shown().iter().map(|l| (*l).to_owned()).collect(),
        other => panic!("not a text screen: {other:?}"),
    }
}

fn open_checkout_logs() -> App {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/checkout");
    key(&mut app, KeyCode::Enter);
    let effects = typed(&mut app, "l");
    let kind = answer(
        &mut app,
        &effects,
        "c1",
        "2026-11-30T10:00:00Z starting\n2026-11-30T10:00:01.5Z GET /cart 200\n",
    );
    assert!(matches!(
        kind,
        CommandKind::PodLogs {
            tail_lines: Some(500),
            timestamps: true,
            since_ms: None,
            previous: false,
            ..
        }
    ));
    app
}

#[test]
fn a_log_follows_new_lines_one_poll_at_a_time_from_its_newest_stamp() {
    let mut app = open_checkout_logs();
    assert_eq!(lines(&app), ["starting", "GET /cart 200"]);
    assert!(render(&mut app, 80, 24).contains("● following"));
    let status = app.status.clone();

    // Not due yet; then due: one poll from the newest stamp.
    assert!(app.update(Action::Tick(NOW + 500)).is_empty());
    let effects = app.update(Action::Tick(NOW + POLL_EVERY_MS));
    let Some(Effect::Command {
        kind:
            CommandKind::PodLogs {
                since_ms,
                tail_lines,
                ..
            },
        ..
    }) = effects.last()
    else {
        panic!("no poll: {effects:?}");
    };
    assert_eq!(*since_ms, Some(1_796_032_801_500));
    assert_eq!(*tail_lines, None);
    // One out at a time.
    assert!(app.update(Action::Tick(NOW + 3 * POLL_EVERY_MS)).is_empty());
    answer(
        &mut app,
        &effects,
        "c2",
        "2026-11-30T10:00:01.5Z GET /cart 200\n2026-11-30T10:00:03Z GET /pay 500\n",
    );
    assert_eq!(lines(&app), ["starting", "GET /cart 200", "GET /pay 500"]);
    // Polls are not news: the status line is as it was.
    assert_eq!(app.status, status);
    // And the next is due again.
    assert!(!app.update(Action::Tick(NOW + 5 * POLL_EVERY_MS)).is_empty());
}

#[test]
fn f_pauses_and_resumes_and_q_closes_the_log() {
    let mut app = open_checkout_logs();
    typed(&mut app, "f");
    assert!(render(&mut app, 80, 24).contains("paused"));
    assert!(
        app.update(Action::Tick(NOW + 10 * POLL_EVERY_MS))
            .is_empty()
    );
    typed(&mut app, "f");
    assert!(render(&mut app, 80, 24).contains("following"));
    assert!(
        !app.update(Action::Tick(NOW + 20 * POLL_EVERY_MS))
            .is_empty()
    );
    typed(&mut app, "q");
    assert!(!app.term.quit);
    assert!(matches!(app.screen(), Screen::List(_)));
    // Closed: no more polls.
    assert!(
        app.update(Action::Tick(NOW + 40 * POLL_EVERY_MS))
            .is_empty()
    );
}

#[test]
fn slash_filters_a_log_and_what_is_typed_runs_no_key() {
    let mut app = open_checkout_logs();
    let effects = typed(&mut app, "/pay");
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(app.mode, Mode::Filter(_)));
    key(&mut app, KeyCode::Enter);
    assert!(lines(&app).is_empty());
    typed(&mut app, "/");
    for _ in 0..3 {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "cart");
    key(&mut app, KeyCode::Enter);
    assert_eq!(lines(&app), ["GET /cart 200"]);
    assert!(render(&mut app, 80, 24).contains("</cart>"));
}

#[test]
fn p_shows_the_previous_run_which_does_not_follow() {
    let mut app = open_checkout_logs();
    let effects = typed(&mut app, "p");
    let kind = answer(
        &mut app,
        &effects,
        "c3",
        "2026-11-30T09:59:00Z panic: no database\n",
    );
    assert!(matches!(kind, CommandKind::PodLogs { previous: true, .. }));
    assert_eq!(lines(&app), ["panic: no database"]);
    assert!(render(&mut app, 80, 24).contains("previous run"));
    assert!(
        app.update(Action::Tick(NOW + 10 * POLL_EVERY_MS))
            .is_empty()
    );
    // Esc: back to the list, not to the current run.
    key(&mut app, KeyCode::Esc);
    assert!(matches!(app.screen(), Screen::List(_)));
}
