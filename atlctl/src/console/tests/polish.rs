//! The small things a k9s user reaches for: regex filters, `:` completion, history and
//! aliases, a word on k9s keys we do not have, sort arrows that fit, a chart legend, G that
//! leaves the last line at the bottom, NO_COLOR that still marks what needs a look, and no
//! internal names on screen.

use crossterm::event::KeyCode;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;

use super::{console, key, names, render, series, typed};
use crate::console::app::{App, Mode, Msg, Screen, TextScreen};
use crate::console::views;
use crate::kinds::Resource;

#[test]
fn the_filter_takes_a_regex_as_k9s_does() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/checkout|^cart");
    key(&mut app, KeyCode::Enter);
    let mut shown = names(&app);
    shown.sort();
    assert_eq!(
        shown,
        ["cart-66f5d4c3b2-lk9sd", "checkout-5d8f7c9b6d-x2kqp"]
    );
    // Not a valid regex: the text as it is.
    typed(&mut app, "/");
    for _ in 0.."checkout|^cart".len() {
        key(&mut app, KeyCode::Backspace);
    }
    typed(&mut app, "gen-6b7c(");
    assert!(names(&app).is_empty());
}

#[test]
fn the_command_line_completes_keeps_a_history_and_takes_k9s_aliases() {
    let mut app = console(Resource::Pods);
    typed(&mut app, ":dp");
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Deployments);
    typed(&mut app, ":ser");
    key(&mut app, KeyCode::Tab);
    assert_eq!(app.mode, Mode::Command("services".to_owned()));
    key(&mut app, KeyCode::Enter);
    assert_eq!(app.list().unwrap().resource, Resource::Services);
    typed(&mut app, ":");
    key(&mut app, KeyCode::Up);
    assert_eq!(app.mode, Mode::Command("services".to_owned()));
    key(&mut app, KeyCode::Up);
    assert_eq!(app.mode, Mode::Command("dp".to_owned()));
    key(&mut app, KeyCode::Down);
    assert_eq!(app.mode, Mode::Command("services".to_owned()));
}

#[test]
fn k9s_keys_we_do_not_have_say_why() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "s");
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(status.contains("no shell"), "{status}");
    typed(&mut app, "e");
    let status = app
        .status
        .as_ref()
        .map(|s| s.text.clone())
        .unwrap_or_default();
    assert!(status.contains("no edit"), "{status}");
}

#[test]
fn a_sort_arrow_shows_on_a_narrow_column() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "R");
    let screen = render(&mut app, 80, 24);
    assert!(screen.contains("READY↑"), "{screen}");
}

#[test]
fn the_node_chart_has_a_legend_at_80x24() {
    let mut app = console(Resource::Nodes);
    key(&mut app, KeyCode::Enter);
    app.receive(Msg::Series(series()));
    let screen = render(&mut app, 80, 24);
    assert!(
        screen.contains("CPU %") && screen.contains("MEM %"),
        "{screen}"
    );
}

#[test]
fn g_in_a_text_leaves_its_last_line_at_the_bottom() {
    let mut app = console(Resource::Pods);
    let lines: Vec<String> = (1..=100).map(|i| format!("line {i}")).collect();
    app.push(Screen::Text(TextScreen::new("logs".to_owned(), lines)));
    key(&mut app, KeyCode::Char('G'));
    let screen = render(&mut app, 80, 24);
    let shown: Vec<&str> = screen.lines().filter(|l| l.contains("line ")).collect();
    assert!(shown.last().unwrap().contains("line 100"), "{screen}");
    assert!(
        shown.len() >= 18,
        "{} lines on screen:\n{screen}",
        shown.len()
    );
}

#[test]
fn without_colour_a_pending_pod_is_still_marked() {
    let mut app = console(Resource::Pods);
    app.term.color = false;
    app.update(crate::console::app::Action::Resize(120, 30));
    let mut terminal = Terminal::new(TestBackend::new(120, 30)).unwrap();
    terminal.draw(|frame| views::draw(&app, frame)).unwrap();
    let buffer = terminal.backend().buffer().clone();
    let row = (0..30)
        .find(|&y| {
            (0..120)
                .map(|x| buffer[(x, y)].symbol().to_owned())
                .collect::<String>()
                .contains("Pending")
        })
        .expect("the pending pod");
    let marked = (1..119).any(|x| {
        let m = buffer[(x, row)].modifier;
        m.contains(Modifier::UNDERLINED) || m.contains(Modifier::BOLD)
    });
    assert!(
        marked,
        "the Pending row looks like any other without colour"
    );
}

#[test]
fn no_internal_names_on_screen() {
    let mut app = console(Resource::Clusters);
    let screen = render(&mut app, 160, 48);
    assert!(
        !screen.contains("_list") && !screen.contains("metrics_snapshot"),
        "{screen}"
    );
    let mut app: App = console(Resource::ConfigMaps);
    typed(&mut app, "d");
    let Screen::Text(text) = app.screen() else {
        panic!("no describe");
    };
    assert!(!text.title.contains("config_map"), "{}", text.title);
}
