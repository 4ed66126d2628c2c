//! Drawing: a pure function of [`App`]. The header (scope, who, each cluster's freshness), the
//! current screen, then the footer (prompt, status or key hints), and any popup on top.

mod detail;
pub mod table;

use atlhyper_model::human_duration;
use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};

use super::app::{App, Ask, Mode, STATUS_MS, Screen};
use super::keys;
use super::rows::Tone;

/// Colours from the 16 every terminal has, or none at all (`NO_COLOR`).
#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    pub fn tone(self, tone: Tone) -> Style {
        if !self.color {
            // What needs a look still stands out: broken in bold, pending underlined.
            return match tone {
                Tone::Bad => Style::new().add_modifier(Modifier::BOLD),
                Tone::Warn => Style::new().add_modifier(Modifier::UNDERLINED),
                _ => Style::new(),
            };
        }
        match tone {
            Tone::Normal => Style::new(),
            Tone::Warn => Style::new().fg(Color::Yellow),
            Tone::Bad => Style::new().fg(Color::Red),
            Tone::Dim => Style::new().fg(Color::DarkGray),
        }
    }

    pub fn accent(self) -> Style {
        if self.color {
            Style::new().fg(Color::Cyan)
        } else {
            Style::new()
        }
    }

    pub fn good(self) -> Style {
        if self.color {
            Style::new().fg(Color::Green)
        } else {
            Style::new()
        }
    }

    pub fn title(self) -> Style {
        self.accent().add_modifier(Modifier::BOLD)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
}

/// Draws the whole console.
pub fn draw(app: &App, frame: &mut Frame) {
    let theme = Theme {
        color: app.term.color,
    };
    let [header, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(frame.area());
    frame.render_widget(header_line(app, theme), header);
    match app.screen() {
        Screen::List(list) => table::draw(app, list, theme, frame, body),
        Screen::Node(node) => detail::node(app, node, theme, frame, body),
        Screen::Pod(pod) => detail::pod(app, pod, theme, frame, body),
        Screen::Text(text) => detail::text(text, theme, frame, body),
    }
    frame.render_widget(footer_line(app, theme), footer);
    match &app.mode {
        Mode::Help => help(app, theme, frame),
        Mode::Quit => popup(
            frame,
            theme,
            " Quit ",
            vec![
                Line::from("Quitting stops the demo (kubesim, master, the agent)."),
                Line::from(""),
                Line::from("Quit? y / n"),
            ],
            64,
            Show::End,
        ),
        Mode::Confirm(confirm) => {
            let label = format!(
                "{} in {}",
                super::changes::change_label(&confirm.kind),
                confirm.cluster
            );
            let lines = match &confirm.name {
                Some(name) => vec![
                    Line::from(label),
                    Line::from(""),
                    Line::from("Type its name (Tab completes), then Enter (Esc cancels):"),
                    Line::styled(format!("  {name}"), theme.accent()),
                    Line::from(format!("> {}█", confirm.typed)),
                ],
                None => vec![
                    Line::from(label),
                    Line::from(""),
                    Line::from("Go ahead? y / n"),
                ],
            };
            popup(
                frame,
                theme,
                " Confirm ",
                with_error(app, theme, lines),
                64,
                Show::End,
            );
        }
        Mode::Input(ask, text) => {
            let (title, hint) = match ask {
                Ask::Replicas(id) => (format!(" Scale {} ", id.target()), "Replicas:".to_owned()),
                Ask::Image(id) => {
                    let images = app
                        .data
                        .deployments
                        .iter()
                        .find(|d| {
                            d.cluster_id == id.cluster
                                && d.object.name == id.name
                                && Some(&d.object.namespace) == id.namespace.as_ref()
                        })
                        .map(|d| d.object.images.join(", "))
                        .unwrap_or_default();
                    (
                        format!(" Set image of {} ", id.target()),
                        format!("CONTAINER=IMAGE (now: {images}):"),
                    )
                }
            };
            let lines = vec![Line::from(hint), Line::from(format!("> {text}█"))];
            // What is typed is the last line and the popup shows its end: always in sight.
            popup(
                frame,
                theme,
                &title,
                with_error(app, theme, lines),
                64,
                Show::End,
            );
        }
        _ => {}
    }
}

fn header_line(app: &App, theme: Theme) -> Line<'static> {
    let mut spans = vec![
        Span::styled(" AtlHyper ", theme.title()),
        Span::raw(format!(
            " cluster:{} ns:{} ",
            app.scope.cluster.as_deref().unwrap_or("all"),
            app.scope.namespace.as_deref().unwrap_or("all"),
        )),
        Span::raw(format!(
            "{}{} ",
            app.settings.user,
            if app.settings.readonly {
                " (read-only)"
            } else {
                ""
            }
        )),
    ];
    if !app.feeds.stream_up {
        spans.push(Span::styled(" ○ reconnecting", theme.tone(Tone::Bad)));
    }
    for cluster in &app.data.clusters {
        if app.scope.cluster.as_ref().is_some_and(|c| *c != cluster.id) {
            continue;
        }
        let (mark, style) = if app.stale(&cluster.id) {
            ("◌", theme.tone(Tone::Warn))
        } else {
            ("●", theme.good())
        };
        let age = app.data.heard_ms.get(&cluster.id).map_or_else(
            || "never".to_owned(),
            |t| human_duration(app.term.now_ms - t),
        );
        spans.push(Span::styled(format!(" {mark} {} {age}", cluster.id), style));
    }
    Line::from(spans)
}

fn footer_line(app: &App, theme: Theme) -> Line<'static> {
    match &app.mode {
        Mode::Command(text) => Line::from(vec![
            Span::styled(":", theme.title()),
            Span::raw(format!("{text}█")),
        ]),
        Mode::Filter(text) => Line::from(vec![
            Span::styled("/", theme.title()),
            Span::raw(format!("{text}█")),
        ]),
        _ => match &app.status {
            Some(status) if app.term.now_ms - status.at_ms < STATUS_MS => {
                Line::styled(format!(" {}", status.text), theme.tone(status.tone))
            }
            _ => Line::styled(hints(app), theme.tone(Tone::Dim)),
        },
    }
}

fn hints(app: &App) -> String {
    let mut parts = vec!["? help", ": view", "/ filter"];
    if let Some(resource) = match app.screen() {
        Screen::List(list) => Some(list.resource),
        Screen::Pod(_) => Some(crate::kinds::Resource::Pods),
        _ => None,
    } {
        for b in keys::for_resource(resource) {
            if !(b.change && app.settings.readonly) {
                parts.push(match b.what {
                    "logs" => "l logs",
                    "describe" => "d describe",
                    _ => continue,
                });
            }
        }
    }
    match app.screen() {
        Screen::Text(text) if text.follow.is_some() => {
            parts.extend(["f follow", "p previous", "w wrap"])
        }
        Screen::Text(_) => parts.push("w wrap"),
        Screen::Node(_) => parts.push("1-4 range"),
        _ => {}
    }
    if app.screens.len() > 1 {
        parts.push("Esc back");
    }
    parts.push("q quit");
    format!(" {}", parts.join("  "))
}

fn help(app: &App, theme: Theme, frame: &mut Frame) {
    popup(
        frame,
        theme,
        HELP_TITLE,
        help_lines(app, theme),
        HELP_WIDTH,
        Show::From(app.prompt.help_scroll),
    );
}

const HELP_TITLE: &str = " Keys (j k PgDn scroll, Esc closes) ";
const HELP_WIDTH: u16 = 76;

/// How far help can scroll on the console's terminal.
pub fn help_scroll_max(app: &App) -> u16 {
    let lines = help_lines(app, Theme { color: false });
    let (_, max) = fit(
        &Paragraph::new(lines).wrap(Wrap { trim: false }),
        HELP_WIDTH.min(app.term.width),
        app.term.height,
    );
    max
}

fn help_lines(app: &App, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let row = |keys: &str, what: &str| {
        Line::from(vec![
            Span::styled(format!("{keys:>15}  "), theme.accent()),
            Span::raw(what.to_owned()),
        ])
    };
    for b in keys::GENERAL {
        lines.push(row(b.keys, b.what));
    }
    let resource = match app.screen() {
        Screen::List(list) => Some(list.resource),
        Screen::Pod(_) => Some(crate::kinds::Resource::Pods),
        Screen::Node(_) => Some(crate::kinds::Resource::Nodes),
        Screen::Text(_) => None,
    };
    if let Some(resource) = resource {
        lines.push(Line::from(""));
        lines.push(Line::styled(
            format!("{}:", resource.plural()),
            theme.title(),
        ));
        for b in keys::for_resource(resource) {
            if !(b.change && app.settings.readonly) {
                lines.push(row(b.keys, b.what));
            }
        }
        if matches!(app.screen(), Screen::Node(_)) {
            for b in keys::NODE {
                lines.push(row(b.keys, b.what));
            }
        }
    }
    if let Screen::Text(text) = app.screen() {
        lines.push(Line::from(""));
        for b in keys::TEXT {
            lines.push(row(b.keys, b.what));
        }
        if text.follow.is_some() {
            for b in keys::LOGS {
                lines.push(row(b.keys, b.what));
            }
        }
    }
    if let Screen::List(list) = app.screen() {
        let titles: Vec<&str> = list.rows.columns.iter().map(|c| c.title).collect();
        let sorts: Vec<String> = keys::sort_letters(&titles)
            .iter()
            .zip(&titles)
            .filter_map(|(l, t)| l.map(|l| format!("{l} {t}")))
            .collect();
        lines.push(Line::from(""));
        lines.push(Line::styled("sort (Shift+):", theme.title()));
        lines.push(Line::from(format!("  {}", sorts.join("  "))));
    }
    lines
}

/// A dialog's lines, then why it did not take what was typed.
fn with_error(app: &App, theme: Theme, mut lines: Vec<Line<'static>>) -> Vec<Line<'static>> {
    if let Some(error) = &app.prompt.prompt_error {
        lines.push(Line::styled(error.clone(), theme.tone(Tone::Bad)));
    }
    lines
}

/// Which part of a popup taller than the screen is shown.
#[derive(Debug, Clone, Copy)]
enum Show {
    /// From this wrapped line on (help).
    From(u16),
    /// Its end (a dialog: what is being typed).
    End,
}

/// A popup's height and how far it can scroll, for `paragraph` (wrapped) in a box `width`
/// columns wide on a screen `screen` lines tall.
fn fit(paragraph: &Paragraph<'_>, width: u16, screen: u16) -> (u16, u16) {
    let count = u16::try_from(paragraph.line_count(width.saturating_sub(2))).unwrap_or(u16::MAX);
    let height = count.saturating_add(2).min(screen);
    (height, count.saturating_sub(height.saturating_sub(2)))
}

/// A bordered box in the middle of the screen, its lines wrapped and, when they do not fit,
/// scrolled as `show` says.
fn popup(
    frame: &mut Frame,
    theme: Theme,
    title: &str,
    lines: Vec<Line<'_>>,
    width: u16,
    show: Show,
) {
    let area = frame.area();
    let width = width.min(area.width);
    let paragraph = Paragraph::new(lines).wrap(Wrap { trim: false });
    let (height, max) = fit(&paragraph, width, area.height);
    let scroll = match show {
        Show::From(line) => line.min(max),
        Show::End => max,
    };
    let [area] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(area);
    let [area] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    frame.render_widget(Clear, area);
    frame.render_widget(
        paragraph
            .scroll((scroll, 0))
            .block(Block::bordered().title(Span::styled(title.to_owned(), theme.title()))),
        area,
    );
}
