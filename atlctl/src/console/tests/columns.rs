//! What triage needs stays on screen: at 80 columns with every namespace a pod keeps READY,
//! STATUS, RESTARTS and AGE (a long name is cut in the middle instead), IP and NODE go first,
//! an event's MESSAGE gets the width that is left, and Enter or d shows an event whole.

use crossterm::event::KeyCode;

use super::{console, key, loaded, metrics, names, render, typed};
use crate::console::app::{Feed, Loaded, Screen};
use crate::console::views::table::fit;
use crate::kinds::Resource;

/// The pods of the fixture, the crash-looping one with a name as long as the demo's.
fn long_named(app: &mut crate::console::app::App) {
    let mut pods = app.data.pods.clone();
    for p in &mut pods {
        if p.object.status == "CrashLoopBackOff" {
            p.object.name = "payments-reconciler-worker-7d9f8b6c5d-x2kqp".to_owned();
        }
    }
    loaded(app, Loaded::Pods(pods));
}

#[test]
fn pods_at_80_columns_keep_restarts_and_age_and_cut_a_long_name() {
    let mut app = console(Resource::Pods);
    long_named(&mut app);
    let screen = render(&mut app, 80, 24);
    let header = screen.lines().nth(2).unwrap_or_default();
    for column in ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"] {
        assert!(header.contains(column), "{column} missing:\n{screen}");
    }
    let row = screen
        .lines()
        .find(|l| l.contains("CrashLoopBackOff"))
        .expect("the crash-looping pod");
    // Cut in the middle: what it belongs to and its own suffix both show.
    assert!(
        row.contains("payments-") && row.contains("x2kqp") && row.contains('…'),
        "{row}"
    );
}

#[test]
fn pods_drop_ip_before_node() {
    let app = console(Resource::Pods);
    let rows = &app.list().unwrap().rows;
    let titles: Vec<&str> = rows.columns.iter().map(|c| c.title).collect();
    let ip = titles.iter().position(|t| *t == "IP").unwrap();
    let node = titles.iter().position(|t| *t == "NODE").unwrap();
    let full: u16 = rows.widths.iter().map(|w| w + 1).sum();
    let shown: Vec<usize> = fit(rows, full - 4, None).iter().map(|(i, _)| *i).collect();
    assert!(
        shown.contains(&node) && !shown.contains(&ip),
        "{titles:?} {shown:?}"
    );
}

#[test]
fn events_at_80_columns_give_the_message_the_width_left() {
    let mut app = console(Resource::Events);
    let screen = render(&mut app, 80, 24);
    let header = screen.lines().nth(2).unwrap_or_default();
    for column in ["LAST SEEN", "REASON", "OBJECT", "MESSAGE"] {
        assert!(header.contains(column), "{column} missing:\n{screen}");
    }
    // The rendered line is quoted: `"│LAST SEEN …│"`; MESSAGE runs to the right border.
    let chars: Vec<char> = header.chars().collect();
    let at = (0..chars.len())
        .find(|&i| chars[i..].starts_with(&['M', 'E', 'S', 'S', 'A', 'G', 'E']))
        .unwrap();
    let width = chars.len() - 2 - at;
    assert!(width >= 24, "MESSAGE gets {width} columns:\n{screen}");
}

#[test]
fn enter_or_d_on_an_event_shows_it_whole() {
    for open in [KeyCode::Enter, KeyCode::Char('d')] {
        let mut app = console(Resource::Events);
        let message = app.data.events[0].object.message.clone();
        let reason = app.data.events[0].object.reason.clone();
        typed(&mut app, &format!("/{reason}"));
        key(&mut app, KeyCode::Enter);
        key(&mut app, open);
        let Screen::Text(text) = app.screen() else {
            panic!("no event shown: {:?}", app.screen());
        };
        assert!(text.wrap);
        assert!(
            text.lines.iter().any(|l| l.contains(&message)),
            "{:?}",
            text.lines
        );
    }
}

#[test]
fn w_wraps_the_events_in_a_pods_detail() {
    let mut app = console(Resource::Pods);
    typed(&mut app, "/crash");
    key(&mut app, KeyCode::Enter);
    key(&mut app, KeyCode::Enter);
    assert!(matches!(app.screen(), Screen::Pod(p) if !p.wrap));
    typed(&mut app, "w");
    assert!(matches!(app.screen(), Screen::Pod(p) if p.wrap));
}

#[test]
fn pods_show_cpu_and_memory_against_requests_and_limits_and_sort_by_them() {
    let mut app = console(Resource::Pods);
    assert!(app.needed().contains(&Feed::Metrics));
    let mut samples = metrics();
    samples[0].object.pods = vec![
        atlhyper_model::PodUsage {
            uid: "0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0".to_owned(),
            cpu_millicores: 50.0,
            memory_bytes: 64 << 20,
        },
        atlhyper_model::PodUsage {
            uid: "3c4d9a10-1f2e-4b7a-8c3d-5e6f7a8b9c0d".to_owned(),
            cpu_millicores: 5.0,
            memory_bytes: 300 << 20,
        },
    ];
    loaded(&mut app, Loaded::Metrics(samples));
    let screen = render(&mut app, 160, 48);
    let header = screen.lines().nth(2).unwrap_or_default();
    for column in ["CPU", "MEM", "%CPU/R", "%MEM/L"] {
        assert!(header.contains(column), "{column} missing:\n{screen}");
    }
    let frontend = screen
        .lines()
        .find(|l| l.contains("frontend-7c6d5b4a3f-9wzrt"))
        .unwrap();
    for cell in ["50m", "64.0Mi", "50%", "25%"] {
        assert!(frontend.contains(cell), "{cell} missing: {frontend}");
    }
    // Shift-C and Shift-M, as k9s: by CPU, then the other way; by memory.
    typed(&mut app, "C");
    assert_eq!(names(&app)[0], "checkout-5d8f7c9b6d-x2kqp");
    typed(&mut app, "C");
    assert_eq!(names(&app)[0], "frontend-7c6d5b4a3f-9wzrt");
    typed(&mut app, "M");
    assert_eq!(names(&app)[0], "frontend-7c6d5b4a3f-9wzrt");
}
