//! The detail screens: a node (chart over a range from master's history, then its numbers, pods
//! and events), a pod (containers and events), and text from the cluster (logs, describe).

use atlhyper_model::api::InCluster;
use atlhyper_model::human_duration;
use atlhyper_model::resources::{Event, EventType};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Axis, Block, Chart, Dataset, GraphType, Paragraph};

use super::Theme;
use crate::console::app::{App, NodeScreen, PodScreen, TextScreen};
use crate::console::nodes::{hottest, net};
use crate::console::rows::{Tone, pod_tone};
use crate::kinds::Printable as _;
use crate::top::{bytes, fullest_disk, memory_percent};

fn bar(percent: f64, width: usize) -> String {
    let full = ((percent.clamp(0.0, 100.0) / 100.0) * width as f64).round() as usize;
    format!(
        "{}{}",
        "█".repeat(full),
        "░".repeat(width - full.min(width))
    )
}

fn heading(theme: Theme, text: String) -> Line<'static> {
    Line::styled(text, theme.title())
}

fn event_lines(
    app: &App,
    theme: Theme,
    events: &[&InCluster<Event>],
    lines: &mut Vec<Line<'static>>,
) {
    lines.push(heading(theme, format!("Events ({})", events.len())));
    if events.is_empty() {
        lines.push(Line::from("  <none>"));
    }
    for e in events.iter().rev().take(20) {
        let e = &e.object;
        let tone = if e.type_ == EventType::Warning {
            Tone::Warn
        } else {
            Tone::Normal
        };
        lines.push(Line::styled(
            format!(
                "  {:>4} {:<8} {:<18} {}",
                human_duration(app.term.now_ms - e.last_seen_ms),
                format!("{:?}", e.type_),
                e.reason,
                e.message.replace('\n', " ")
            ),
            theme.tone(tone),
        ));
    }
}

pub fn node(app: &App, screen: &NodeScreen, theme: Theme, frame: &mut Frame, area: Rect) {
    let title = format!(" node {} ({}) ", screen.node, screen.cluster);
    let block = Block::bordered().title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let chart_height = if inner.height >= 20 { 10 } else { 0 };
    let [chart_area, text_area] =
        Layout::vertical([Constraint::Length(chart_height), Constraint::Fill(1)]).areas(inner);
    if chart_height > 0 {
        chart(screen, theme, frame, chart_area);
    }

    let mut lines: Vec<Line<'static>> = Vec::new();
    let node = app
        .data
        .nodes
        .iter()
        .find(|n| n.cluster_id == screen.cluster && n.object.name == screen.node);
    let sample = app
        .data
        .metrics
        .iter()
        .find(|m| m.cluster_id == screen.cluster && m.object.node == screen.node)
        .map(|m| &m.object);
    match node {
        Some(n) => {
            let cells = n.object.cells(app.term.now_ms, false);
            lines.push(Line::styled(
                format!(
                    "{}  roles: {}  kubelet {}  age {}",
                    cells[1], cells[2], cells[4], cells[3]
                ),
                theme.tone(crate::console::rows::Listed::tone(&n.object)),
            ));
        }
        None if app.feeds.loaded.contains(&crate::console::app::Feed::Nodes) => {
            lines.push(Line::styled("the node is gone", theme.tone(Tone::Bad)));
        }
        None => lines.push(Line::from("loading…")),
    }
    match sample {
        None => lines.push(Line::from("no metrics (is nodemetrics running on it?)")),
        Some(s) => {
            lines.push(heading(
                theme,
                format!(
                    "CPU {:.0}% of {} cores, load {:.2} {:.2} {:.2}, up {}",
                    s.cpu.usage_percent,
                    s.cpu.cores,
                    s.cpu.load1,
                    s.cpu.load5,
                    s.cpu.load15,
                    human_duration(s.uptime_secs as i64 * 1000)
                ),
            ));
            // As many cores to a line as fit (each takes 21 columns).
            let per_line = (usize::from(text_area.width.saturating_sub(2)) / 21).max(1);
            for (row, cores) in s.cpu.per_core_percent.chunks(per_line).enumerate() {
                let text: Vec<String> = cores
                    .iter()
                    .enumerate()
                    .map(|(i, p)| format!("cpu{:<3}{} {:>3.0}%", row * per_line + i, bar(*p, 8), p))
                    .collect();
                lines.push(Line::from(format!("  {}", text.join("  "))));
            }
            lines.push(heading(
                theme,
                format!(
                    "Memory {} of {} ({:.0}%), swap {} of {}",
                    bytes(s.memory.used_bytes as f64),
                    bytes(s.memory.total_bytes as f64),
                    memory_percent(s),
                    bytes(s.memory.swap_used_bytes as f64),
                    bytes(s.memory.swap_total_bytes as f64)
                ),
            ));
            lines.push(heading(
                theme,
                format!(
                    "Filesystems (fullest {})",
                    fullest_disk(s).map_or_else(|| "-".to_owned(), |d| format!("{d:.0}%"))
                ),
            ));
            for f in &s.filesystems {
                let p = if f.size_bytes > 0 {
                    f.used_bytes as f64 * 100.0 / f.size_bytes as f64
                } else {
                    0.0
                };
                lines.push(Line::from(format!(
                    "  {:<24} {} {:>3.0}%  {} of {}  {}",
                    f.mount,
                    bar(p, 10),
                    p,
                    bytes(f.used_bytes as f64),
                    bytes(f.size_bytes as f64),
                    f.fs_type
                )));
            }
            let (rx, tx) = net(s);
            lines.push(heading(
                theme,
                format!("Network rx {}/s tx {}/s", bytes(rx), bytes(tx)),
            ));
            for n in &s.network {
                lines.push(Line::from(format!(
                    "  {:<16} rx {:>8}/s  tx {:>8}/s  errors {}/{}  dropped {}/{}",
                    n.interface,
                    bytes(n.rx_bytes_per_sec),
                    bytes(n.tx_bytes_per_sec),
                    n.rx_errors,
                    n.tx_errors,
                    n.rx_dropped,
                    n.tx_dropped
                )));
            }
            lines.push(heading(
                theme,
                format!(
                    "Temperatures (hottest {})",
                    hottest(s).map_or_else(|| "-".to_owned(), |t| format!("{t:.0}°C"))
                ),
            ));
            for t in &s.temperatures {
                let hot = t.critical_celsius.is_some_and(|c| t.celsius >= c - 10.0);
                lines.push(Line::styled(
                    format!("  {:<24} {:.0}°C", t.sensor, t.celsius),
                    theme.tone(if hot { Tone::Bad } else { Tone::Normal }),
                ));
            }
            lines.push(heading(theme, "Top processes".to_owned()));
            for p in s.top_cpu.iter().take(5) {
                lines.push(Line::from(format!(
                    "  {:>7} {:<24} {:>5.1}% {:>8}",
                    p.pid,
                    p.name,
                    p.cpu_percent,
                    bytes(p.rss_bytes as f64)
                )));
            }
        }
    }
    let pods: Vec<_> = app
        .data
        .pods
        .iter()
        .filter(|p| {
            p.cluster_id == screen.cluster && p.object.node.as_deref() == Some(&screen.node)
        })
        .collect();
    lines.push(heading(theme, format!("Pods ({})", pods.len())));
    for p in &pods {
        let p = &p.object;
        lines.push(Line::styled(
            format!(
                "  {:<48} {:<18} {}/{} {:>3} restarts",
                format!("{}/{}", p.namespace, p.name),
                p.status,
                p.ready,
                p.total,
                p.restarts
            ),
            theme.tone(pod_tone(p)),
        ));
    }
    let events: Vec<_> = app
        .data
        .events
        .iter()
        .filter(|e| {
            e.cluster_id == screen.cluster
                && e.object.object.kind == "Node"
                && e.object.object.name == screen.node
        })
        .collect();
    event_lines(app, theme, &events, &mut lines);
    frame.render_widget(Paragraph::new(lines).scroll((screen.scroll, 0)), text_area);
}

fn chart(screen: &NodeScreen, theme: Theme, frame: &mut Frame, area: Rect) {
    let minutes = f64::from(screen.minutes);
    let label = match screen.minutes {
        m if m >= 60 => format!("{}h", m / 60),
        m => format!("{m}m"),
    };
    let Some(series) = &screen.series else {
        frame.render_widget(
            Paragraph::new(format!("loading the last {label}…")).style(theme.tone(Tone::Dim)),
            area,
        );
        return;
    };
    let at = |ts: i64| (ts - series.to_ms) as f64 / 60_000.0;
    let cpu: Vec<(f64, f64)> = series
        .points
        .iter()
        .map(|p| (at(p.ts_ms), p.cpu_percent))
        .collect();
    let memory: Vec<(f64, f64)> = series
        .points
        .iter()
        .map(|p| (at(p.ts_ms), p.memory_percent))
        .collect();
    let color = |c| {
        if theme.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    };
    let datasets = vec![
        Dataset::default()
            .name("CPU %")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .style(color(ratatui::style::Color::Cyan))
            .data(&cpu),
        Dataset::default()
            .name("MEM %")
            // Without colour the two lines differ by their dots.
            .marker(if theme.color {
                Marker::Braille
            } else {
                Marker::Dot
            })
            .graph_type(GraphType::Line)
            .style(color(ratatui::style::Color::Magenta))
            .data(&memory),
    ];
    let chart = Chart::new(datasets)
        .x_axis(
            Axis::default()
                .bounds([-minutes, 0.0])
                .labels([format!("-{label}"), "now".to_owned()]),
        )
        .y_axis(
            Axis::default()
                .bounds([0.0, 100.0])
                .labels(["0", "50", "100%"]),
        )
        .legend_position(Some(ratatui::widgets::LegendPosition::TopLeft))
        // The legend stays on a short chart (ratatui hides it past a quarter of the area).
        .hidden_legend_constraints((Constraint::Ratio(1, 2), Constraint::Ratio(1, 2)));
    frame.render_widget(chart, area);
}

pub fn pod(app: &App, screen: &PodScreen, theme: Theme, frame: &mut Frame, area: Rect) {
    let id = &screen.id;
    let title = format!(" pod {} ({}) ", id.target(), id.cluster);
    let block = Block::bordered().title(Span::styled(title, theme.title()));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let pod = app.data.pods.iter().find(|p| {
        p.cluster_id == id.cluster
            && p.object.name == id.name
            && Some(&p.object.namespace) == id.namespace.as_ref()
    });
    let mut lines: Vec<Line<'static>> = Vec::new();
    let Some(pod) = pod.map(|p| &p.object) else {
        let text = if app.feeds.loaded.contains(&crate::console::app::Feed::Pods) {
            "the pod is gone"
        } else {
            "loading…"
        };
        frame.render_widget(Paragraph::new(text), inner);
        return;
    };
    lines.push(Line::styled(
        format!(
            "{}  {}/{} ready  {} restarts  node {}  ip {}  age {}",
            pod.status,
            pod.ready,
            pod.total,
            pod.restarts,
            pod.node.as_deref().unwrap_or("<none>"),
            pod.pod_ip.as_deref().unwrap_or("<none>"),
            human_duration(app.term.now_ms - pod.created_ms)
        ),
        theme.tone(pod_tone(pod)),
    ));
    if let Some(owner) = &pod.owner {
        lines.push(Line::from(format!(
            "controlled by {}/{}",
            owner.kind, owner.name
        )));
    }
    if !pod.labels.is_empty() {
        let labels: Vec<String> = pod.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        lines.push(Line::from(format!("labels {}", labels.join(" "))));
    }
    lines.push(heading(
        theme,
        format!("Containers ({})", pod.containers.len()),
    ));
    for c in &pod.containers {
        let state = format!("{:?}", c.state);
        let tone = match (c.ready, c.reason.as_deref()) {
            (true, _) => Tone::Normal,
            (false, Some("Completed")) => Tone::Dim,
            (false, Some(_)) => Tone::Bad,
            (false, None) => Tone::Warn,
        };
        lines.push(Line::styled(
            format!(
                "  {}{:<24} {:<11} {:<18} ready={:<5} restarts={}",
                if c.init { "init:" } else { "" },
                c.name,
                state,
                c.reason.as_deref().unwrap_or(""),
                c.ready,
                c.restart_count
            ),
            theme.tone(tone),
        ));
        lines.push(Line::from(format!("      image {}", c.image)));
        if let Some(last) = &c.last_termination {
            lines.push(Line::styled(
                format!(
                    "      last terminated: {} (exit {}){}",
                    last.reason.as_deref().unwrap_or("?"),
                    last.exit_code,
                    last.finished_ms.map_or_else(String::new, |t| format!(
                        ", {} ago",
                        human_duration(app.term.now_ms - t)
                    ))
                ),
                theme.tone(Tone::Warn),
            ));
        }
        if let Some(m) = &c.message {
            lines.push(Line::from(format!("      {m}")));
        }
    }
    let events: Vec<_> = app
        .data
        .events
        .iter()
        .filter(|e| {
            e.cluster_id == id.cluster
                && e.object.object.kind == "Pod"
                && e.object.object.name == id.name
                && Some(&e.object.namespace) == id.namespace.as_ref()
        })
        .collect();
    event_lines(app, theme, &events, &mut lines);
    let paragraph = Paragraph::new(lines).scroll((screen.scroll, 0));
    draw_wrapped(frame, paragraph, screen.wrap, inner);
}

/// Text that wraps at the edge (`w`) or is cut there.
fn draw_wrapped(frame: &mut Frame, paragraph: Paragraph<'_>, wrap: bool, area: Rect) {
    if wrap {
        frame.render_widget(paragraph.wrap(ratatui::widgets::Wrap { trim: false }), area);
    } else {
        frame.render_widget(paragraph, area);
    }
}

pub fn text(screen: &TextScreen, theme: Theme, frame: &mut Frame, area: Rect) {
    let mut title = vec![Span::styled(format!(" {} ", screen.title), theme.title())];
    if let Some(follow) = &screen.follow {
        let (mark, tone) = match follow.state() {
            "following" => ("● following", Tone::Normal),
            "paused" => ("‖ paused (f follows)", Tone::Warn),
            _ => ("◼ previous run", Tone::Dim),
        };
        let style = if tone == Tone::Normal {
            theme.good()
        } else {
            theme.tone(tone)
        };
        title.push(Span::styled(format!("{mark} "), style));
    }
    if !screen.filter.is_empty() {
        title.push(Span::styled(
            format!("</{}> ", screen.filter),
            theme.accent(),
        ));
    }
    let block = Block::bordered().title(Line::from(title));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if screen.waiting_for.is_some() && screen.lines.is_empty() {
        frame.render_widget(
            Paragraph::new("waiting for the cluster's agent…").style(theme.tone(Tone::Dim)),
            inner,
        );
        return;
    }
    let page = usize::from(inner.height);
    let shown = screen.shown();
    let start = screen.scroll.min(shown.len());
    let lines: Vec<Line<'_>> = shown[start..]
        .iter()
        .take(page)
        .map(|l| Line::raw(*l))
        .collect();
    draw_wrapped(frame, Paragraph::new(lines), screen.wrap, inner);
}
