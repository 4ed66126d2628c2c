//! What each action does in each mode: moving, drilling in, the `:` and `/` lines, and
//! changes, which always pass a confirmation first.

use atlhyper_model::{CommandKind, DescribeFormat, ObjectKind};

use super::app::{
    Action, App, Effect, ListScreen, Mode, NodeScreen, PodScreen, Scope, Screen, TextScreen,
    clamp_offset,
};
use super::filter::Filter;
use super::rows::{RowId, Tone};
use crate::kinds::Resource;

pub fn normal(app: &mut App, action: Action) -> Vec<Effect> {
    let page = app.page();
    match action {
        Action::Up
        | Action::Down
        | Action::PageUp
        | Action::PageDown
        | Action::Top
        | Action::Bottom => {
            move_cursor(app, &action, page);
            Vec::new()
        }
        Action::Back => back(app),
        Action::Close => {
            if app.screens.len() > 1 {
                return back(app);
            }
            app.close_top();
            Vec::new()
        }
        Action::Enter => enter(app),
        Action::CommandLine => {
            app.mode = Mode::Command(String::new());
            Vec::new()
        }
        Action::FilterLine => {
            match app.screen() {
                Screen::List(list) => app.mode = Mode::Filter(list.filter_text.clone()),
                Screen::Text(text) => app.mode = Mode::Filter(text.filter.clone()),
                _ => {}
            }
            Vec::new()
        }
        Action::Help => {
            app.mode = Mode::Help;
            app.prompt.help_scroll = 0;
            Vec::new()
        }
        Action::SortBy(column) => {
            sort(app, |current| match current {
                Some((c, descending)) if c == column => Some((column, !descending)),
                _ => Some((column, false)),
            });
            Vec::new()
        }
        Action::SortNext | Action::SortPrev => {
            let forward = action == Action::SortNext;
            let columns = app.list().map_or(0, |l| l.rows.columns.len());
            if columns > 0 {
                sort(app, |current| {
                    let c = match current {
                        None => 0,
                        Some((c, _)) if forward => (c + 1) % columns,
                        Some((c, _)) => (c + columns - 1) % columns,
                    };
                    Some((c, current.is_some_and(|(_, d)| d)))
                });
            }
            Vec::new()
        }
        Action::Range(minutes) => {
            if let Screen::Node(node) = app.screen_mut() {
                node.minutes = minutes;
                node.series = None;
                return vec![Effect::Range {
                    cluster: node.cluster.clone(),
                    node: node.node.clone(),
                    minutes,
                }];
            }
            Vec::new()
        }
        Action::Follow | Action::Previous => super::logs::key(app, &action),
        Action::Hint(text) => {
            app.set_status(text, Tone::Normal);
            Vec::new()
        }
        Action::Wrap => {
            match app.screen_mut() {
                Screen::Text(text) => text.wrap = !text.wrap,
                Screen::Pod(pod) => pod.wrap = !pod.wrap,
                _ => {}
            }
            Vec::new()
        }
        Action::Logs => logs(app),
        Action::Describe => describe(app, DescribeFormat::Text),
        Action::Yaml => describe(app, DescribeFormat::Yaml),
        Action::NodePods => node_pods(app),
        Action::Restart
        | Action::Delete
        | Action::Scale
        | Action::SetImage
        | Action::Cordon
        | Action::Uncordon
        | Action::Drain => super::changes::change(app, action),
        _ => Vec::new(),
    }
}

fn sort(app: &mut App, next: impl FnOnce(Option<(usize, bool)>) -> Option<(usize, bool)>) {
    let page = app.page();
    if let Some(Screen::List(list)) = app.screens.last_mut() {
        list.sort = next(list.sort);
        list.refresh(&app.data);
        clamp_offset(list, page);
    }
}

fn move_cursor(app: &mut App, action: &Action, page: usize) {
    match app.screen_mut() {
        Screen::List(list) => {
            let last = list.visible.len().saturating_sub(1);
            list.selected = match action {
                Action::Up => list.selected.saturating_sub(1),
                Action::Down => (list.selected + 1).min(last),
                Action::PageUp => list.selected.saturating_sub(page),
                Action::PageDown => (list.selected + page).min(last),
                Action::Top => 0,
                _ => last,
            };
            clamp_offset(list, page);
        }
        Screen::Text(text) => {
            let shown = text.shown().len();
            let last = shown.saturating_sub(1);
            text.scroll = match action {
                Action::Up => text.scroll.saturating_sub(1),
                Action::Down => (text.scroll + 1).min(last),
                Action::PageUp => text.scroll.saturating_sub(page),
                Action::PageDown => (text.scroll + page).min(last),
                Action::Top => 0,
                // The last line at the bottom of the screen, as `less` leaves it.
                _ => shown.saturating_sub(page + 1),
            };
        }
        Screen::Node(NodeScreen { scroll, .. }) | Screen::Pod(PodScreen { scroll, .. }) => {
            let page = page as u16;
            *scroll = match action {
                Action::Up => scroll.saturating_sub(1),
                Action::Down => scroll.saturating_add(1),
                Action::PageUp => scroll.saturating_sub(page),
                Action::PageDown => scroll.saturating_add(page),
                Action::Top => 0,
                _ => u16::MAX / 2,
            };
        }
    }
}

/// One level back: the screen before (and the scope it had), or at the top the filter.
fn back(app: &mut App) -> Vec<Effect> {
    if app.screens.len() > 1 {
        let mut effects = Vec::new();
        if let Some(Screen::List(ListScreen {
            back_scope: Some(scope),
            ..
        })) = app.screens.pop()
        {
            effects = app.rescope(scope);
        }
        app.rebuild();
        effects.extend(app.start_missing());
        return effects;
    }
    if let Some(Screen::List(list)) = app.screens.last_mut()
        && list.filter != Filter::All
    {
        list.filter = Filter::All;
        list.filter_text.clear();
        list.refresh(&app.data);
    }
    Vec::new()
}

impl App {
    /// Loads what the now-current screen needs and has not got.
    pub fn start_missing(&mut self) -> Vec<Effect> {
        let needed = self.needed();
        let missing: Vec<_> = needed
            .into_iter()
            .filter(|f| !self.feeds.loaded.contains(f) && !self.feeds.loading.contains(f))
            .collect();
        if missing.is_empty() {
            return Vec::new();
        }
        self.start()
    }
}

pub(super) fn selected(app: &App) -> Option<(Resource, RowId)> {
    match app.screen() {
        Screen::List(list) => Some((list.resource, list.selected_id()?.clone())),
        Screen::Pod(pod) => Some((Resource::Pods, pod.id.clone())),
        Screen::Node(node) => Some((
            Resource::Nodes,
            RowId {
                cluster: node.cluster.clone(),
                namespace: None,
                name: node.node.clone(),
            },
        )),
        Screen::Text(_) => None,
    }
}

fn enter(app: &mut App) -> Vec<Effect> {
    let Some((resource, id)) = selected(app) else {
        return Vec::new();
    };
    if !matches!(app.screen(), Screen::List(_)) {
        return Vec::new();
    }
    match resource {
        Resource::Clusters | Resource::Namespaces => {
            let back = app.scope.clone();
            let (scope, first) = if resource == Resource::Clusters {
                let scope = Scope {
                    cluster: Some(id.name.clone()),
                    namespace: back.namespace.clone(),
                };
                (scope, Resource::Nodes)
            } else {
                let scope = Scope {
                    cluster: back.cluster.clone(),
                    namespace: Some(id.name.clone()),
                };
                (scope, Resource::Pods)
            };
            let list = Screen::List(ListScreen {
                back_scope: Some(back),
                ..ListScreen::new(first)
            });
            if scope == app.scope {
                return app.push(list);
            }
            // The new list first, so that only what it shows is loaded in the new scope.
            app.screens.push(list);
            app.rescope(scope)
        }
        Resource::Nodes => {
            let minutes = 15;
            let mut effects = app.push(Screen::Node(NodeScreen {
                cluster: id.cluster.clone(),
                node: id.name.clone(),
                minutes,
                series: None,
                scroll: 0,
            }));
            effects.push(Effect::Range {
                cluster: id.cluster,
                node: id.name,
                minutes,
            });
            effects
        }
        Resource::Pods => app.push(Screen::Pod(PodScreen {
            id,
            scroll: 0,
            wrap: false,
        })),
        Resource::Deployments | Resource::Services => {
            // The pods behind it: its selector as a label filter.
            let selector = if resource == Resource::Deployments {
                super::changes::deployment(app, &id).map(|d| d.selector.clone())
            } else {
                app.data
                    .services
                    .iter()
                    .find(|s| {
                        s.cluster_id == id.cluster
                            && Some(&s.object.namespace) == id.namespace.as_ref()
                            && s.object.name == id.name
                    })
                    .map(|s| s.object.selector.clone())
            };
            let Some(selector) = selector.filter(|s| !s.is_empty()) else {
                app.set_status(format!("{} selects no pods", id.target()), Tone::Warn);
                return Vec::new();
            };
            let text = format!(
                "-l {}",
                selector
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(",")
            );
            app.push(Screen::List(ListScreen::filtered(Resource::Pods, text)))
        }
        Resource::Events => show_event(app, &id),
        Resource::Commands => {
            let Some(info) = app.data.commands.iter().find(|c| c.command.id == id.name) else {
                return Vec::new();
            };
            let mut lines = vec![
                format!(
                    "{} {}",
                    info.command.kind.name(),
                    info.command.kind.target()
                ),
                format!("status: {}", info.status),
            ];
            if let Some(m) = &info.message {
                lines.push(format!("message: {m}"));
            }
            if let Some(out) = &info.output {
                lines.push(String::new());
                lines.extend(out.lines().map(str::to_owned));
            }
            app.push(Screen::Text(TextScreen::new(
                format!("command {}", info.command.id),
                lines,
            )))
        }
        Resource::Ingresses | Resource::ConfigMaps => describe(app, DescribeFormat::Text),
    }
}

/// Opens a text screen that fills with the command's output.
pub(super) fn run_for_text(
    app: &mut App,
    cluster: String,
    kind: CommandKind,
    title: String,
) -> Vec<Effect> {
    let mut effects = app.push(Screen::Text(TextScreen {
        // Filled in when master names the command.
        waiting_for: Some(String::new()),
        ..TextScreen::new(title, Vec::new())
    }));
    effects.push(Effect::Command { cluster, kind });
    effects
}

fn logs(app: &mut App) -> Vec<Effect> {
    let Some((Resource::Pods, id)) = selected(app) else {
        return Vec::new();
    };
    super::logs::open(app, &id, false)
}

/// `d`: kubectl's describe text; `y`: the object as YAML.
fn describe(app: &mut App, format: DescribeFormat) -> Vec<Effect> {
    let Some((resource, id)) = selected(app) else {
        return Vec::new();
    };
    let object = match resource {
        Resource::Pods => ObjectKind::Pod,
        Resource::Nodes => ObjectKind::Node,
        Resource::Deployments => ObjectKind::Deployment,
        Resource::Services => ObjectKind::Service,
        Resource::Namespaces => ObjectKind::Namespace,
        Resource::Ingresses => ObjectKind::Ingress,
        Resource::ConfigMaps => ObjectKind::ConfigMap,
        Resource::Events => return show_event(app, &id),
        _ => return Vec::new(),
    };
    let kind = CommandKind::Describe {
        object,
        namespace: id.namespace.clone(),
        name: id.name.clone(),
        format,
    };
    let verb = if format == DescribeFormat::Yaml {
        "yaml"
    } else {
        "describe"
    };
    // kubectl's word for the kind (`configmap`, not the wire's `config_map`).
    let title = format!(
        "{verb} {} {}",
        object.as_str().replace('_', ""),
        id.target()
    );
    run_for_text(app, id.cluster.clone(), kind, title)
}

/// An event whole, every field, its message wrapped (a list cuts it at the edge).
fn show_event(app: &mut App, id: &RowId) -> Vec<Effect> {
    let Some(event) = app.data.events.iter().find(|e| {
        e.cluster_id == id.cluster
            && Some(&e.object.namespace) == id.namespace.as_ref()
            && e.object.name == id.name
    }) else {
        return Vec::new();
    };
    let (e, now) = (&event.object, app.term.now_ms);
    let object = &e.object;
    let mut lines = vec![
        format!("Type:       {:?}", e.type_),
        format!("Reason:     {}", e.reason),
        format!(
            "Object:     {}/{}{}",
            object.kind.to_lowercase(),
            object.name,
            object
                .namespace
                .as_deref()
                .map(|ns| format!(" (namespace {ns})"))
                .unwrap_or_default()
        ),
        format!(
            "Last seen:  {} ago (first {} ago, {} times)",
            atlhyper_model::human_duration(now - e.last_seen_ms),
            atlhyper_model::human_duration(now - e.first_seen_ms),
            e.count
        ),
    ];
    if let Some(source) = &e.source {
        let host = e
            .host
            .as_deref()
            .map(|h| format!(" on {h}"))
            .unwrap_or_default();
        lines.push(format!("Source:     {source}{host}"));
    }
    lines.push(format!("Cluster:    {}", event.cluster_id));
    lines.push(String::new());
    lines.extend(e.message.lines().map(str::to_owned));
    let title = format!("event {}/{}", e.namespace, e.name);
    app.push(Screen::Text(TextScreen {
        wrap: true,
        ..TextScreen::new(title, lines)
    }))
}

/// The pods list, filtered to the selected node's pods (and its cluster's, when the list shows
/// several), as k9s shows a node's pods.
fn node_pods(app: &mut App) -> Vec<Effect> {
    let Some((Resource::Nodes, id)) = selected(app) else {
        return Vec::new();
    };
    let mut text = format!("-c node={}", id.name);
    if app.shape().clusters {
        text = format!("-c cluster={},node={}", id.cluster, id.name);
    }
    app.push(Screen::List(ListScreen::filtered(Resource::Pods, text)))
}

pub fn filter_line(app: &mut App, mut text: String, action: Action) -> Vec<Effect> {
    let page = app.page();
    match action {
        Action::Type(c) => text.push(c),
        Action::Erase => {
            text.pop();
        }
        Action::Submit => {
            app.mode = Mode::Normal;
            let unknown = app.list().and_then(|list| {
                list.filter
                    .unknown_column(&list.rows.columns)
                    .map(str::to_owned)
            });
            if let Some(column) = unknown {
                app.set_status(format!("this list has no column {column}"), Tone::Warn);
            }
            return Vec::new();
        }
        Action::Cancel | Action::Back => {
            app.mode = Mode::Normal;
            text.clear();
        }
        _ => return Vec::new(),
    }
    if let Some(Screen::Text(screen)) = app.screens.last_mut() {
        // A log or a describe: only the lines that match, from the top.
        screen.filter.clone_from(&text);
        screen.scroll = 0;
    }
    if let Some(Screen::List(list)) = app.screens.last_mut() {
        // Filtering as one types: the first match is selected.
        list.filter = Filter::parse(&text);
        list.filter_text.clone_from(&text);
        list.selected = 0;
        list.offset = 0;
        list.refresh(&app.data);
        clamp_offset(list, page);
    }
    if app.mode != Mode::Normal {
        app.mode = Mode::Filter(text);
    }
    Vec::new()
}

pub fn command_line(app: &mut App, mut text: String, action: Action) -> Vec<Effect> {
    match action {
        Action::Type(c) => {
            text.push(c);
            app.mode = Mode::Command(text);
            Vec::new()
        }
        Action::Erase => {
            text.pop();
            app.mode = Mode::Command(text);
            Vec::new()
        }
        Action::Cancel | Action::Back => {
            app.mode = Mode::Normal;
            app.prompt.history_at = None;
            Vec::new()
        }
        Action::Complete => {
            app.mode = Mode::Command(complete(app, &text));
            Vec::new()
        }
        Action::Up | Action::Down => {
            let len = app.prompt.history.len();
            let at = match (action, app.prompt.history_at) {
                (Action::Up, None) => len.checked_sub(1),
                (Action::Up, Some(i)) => Some(i.saturating_sub(1)),
                (_, Some(i)) if i + 1 < len => Some(i + 1),
                _ => None,
            };
            app.prompt.history_at = at;
            let line = at.map_or_else(String::new, |i| app.prompt.history[i].clone());
            app.mode = Mode::Command(line);
            Vec::new()
        }
        Action::Submit => {
            app.mode = Mode::Normal;
            app.prompt.history_at = None;
            let line = text.trim().to_owned();
            if !line.is_empty() && app.prompt.history.last() != Some(&line) {
                app.prompt.history.push(line);
                if app.prompt.history.len() > HISTORY_KEPT {
                    app.prompt.history.remove(0);
                }
            }
            run_command_line(app, &text)
        }
        _ => Vec::new(),
    }
}

/// Command lines kept for Up.
const HISTORY_KEPT: usize = 100;

/// Tab on a `:` line: the view name it begins, completed as far as it is one name (several:
/// as far as they agree, and the status names them).
fn complete(app: &mut App, text: &str) -> String {
    if text.contains(' ') {
        return text.to_owned();
    }
    let words = ["ctx", "context", "ns", "namespace", "quit"];
    let mut matches: Vec<&str> = Resource::all_names()
        .chain(words)
        .filter(|w| w.starts_with(text))
        .collect();
    matches.sort_unstable();
    matches.dedup();
    // `service` and `services` are one view: its plural.
    let kinds: Vec<Option<Resource>> = matches.iter().map(|w| Resource::parse(w).ok()).collect();
    if let Some(Some(kind)) = kinds.first()
        && kinds.iter().all(|k| k == &Some(*kind))
    {
        return kind.plural().to_owned();
    }
    match matches.as_slice() {
        [] => text.to_owned(),
        [one] => (*one).to_owned(),
        many => {
            app.set_status(many.join(" "), Tone::Normal);
            let first = many[0];
            let common = (text.len()..=first.len())
                .rev()
                .find(|&n| many.iter().all(|w| w.starts_with(&first[..n])))
                .unwrap_or(text.len());
            first[..common].to_owned()
        }
    }
}

/// `:po`, `:deploy kube-system`, `:ctx`, `:ctx prod`, `:ctx all`, `:ns shop`, `:ns all`, `:q`.
fn run_command_line(app: &mut App, text: &str) -> Vec<Effect> {
    let mut words = text.split_whitespace();
    let Some(word) = words.next() else {
        return Vec::new();
    };
    let arg = words.next();
    match (word, arg) {
        ("q" | "q!" | "quit", _) => {
            app.close_top();
            Vec::new()
        }
        ("ctx" | "context" | "cluster" | "clusters", None) => app.show(Resource::Clusters),
        ("ctx" | "context" | "cluster", Some(name)) => {
            let cluster = if name == "all" {
                None
            } else if app.data.clusters.iter().any(|c| c.id == name) {
                Some(name.to_owned())
            } else {
                app.set_status(format!("no cluster `{name}` (see :ctx)"), Tone::Bad);
                return Vec::new();
            };
            let scope = Scope {
                cluster,
                namespace: app.scope.namespace.clone(),
            };
            app.set_status(format!("cluster: {}", name), Tone::Normal);
            app.rescope(scope)
        }
        ("ns" | "namespace", Some(name)) => set_namespace(app, name),
        (word, arg) => {
            match Resource::parse(word) {
                Ok(resource) => {
                    let mut effects = Vec::new();
                    if let Some(ns) = arg {
                        effects.extend(set_namespace(app, ns));
                    }
                    effects.extend(app.show(resource));
                    effects
                }
                Err(_) => {
                    app.set_status(
                    format!("`{word}` is not a resource (try :po :no :deploy :svc :ev :ctx :ns :cmd)"),
                    Tone::Bad,
                );
                    Vec::new()
                }
            }
        }
    }
}

fn set_namespace(app: &mut App, name: &str) -> Vec<Effect> {
    let namespace = (name != "all" && name != "-A").then(|| name.to_owned());
    let scope = Scope {
        cluster: app.scope.cluster.clone(),
        namespace,
    };
    app.set_status(format!("namespace: {name}"), Tone::Normal);
    app.rescope(scope)
}
