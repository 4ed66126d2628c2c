//! The console's state and the one function that changes it. `App` is plain data: keys become
//! [`Action`]s, the network's answers arrive as [`Msg`]s, and [`App::update`] returns the
//! [`Effect`]s (loads, commands) the network task runs.

use std::collections::{BTreeMap, HashSet, VecDeque};

use atlhyper_model::api::{ClusterSummary, CommandInfo, InCluster};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Labels, Namespace, Node, Pod, Service,
};
use atlhyper_model::{CommandKind, NodeMetricsSnapshot};

use super::rows::{self, RowId, Shape, Tone};
use super::usage::PodRows;
use crate::kinds::Resource;

pub use super::messages::{Action, Effect, Feed, ListDelta, Loaded, Msg, Scope};
pub use super::screens::{ListScreen, NodeScreen, PodScreen, Screen, TextScreen};

/// A change waiting for its confirmation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirm {
    pub cluster: String,
    pub kind: CommandKind,
    /// What has to be typed to go ahead (`None`: y/n).
    pub name: Option<String>,
    pub typed: String,
}

/// A change that needs a value first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ask {
    Replicas(RowId),
    Image(RowId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Normal,
    Command(String),
    Filter(String),
    Help,
    Confirm(Confirm),
    Input(Ask, String),
    /// Asking whether to quit (the demo: quitting stops the whole stack).
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub text: String,
    pub tone: Tone,
    pub at_ms: i64,
}

/// How long a status message stays before the key hints come back.
pub const STATUS_MS: i64 = 8_000;

/// What the clusters told: the lists on screen, and each cluster's and node's recent past.
#[derive(Debug, Clone, Default)]
pub struct Data {
    pub clusters: Vec<ClusterSummary>,
    pub pods: Vec<InCluster<Pod>>,
    pub nodes: Vec<InCluster<Node>>,
    pub metrics: Vec<InCluster<NodeMetricsSnapshot>>,
    pub deployments: Vec<InCluster<Deployment>>,
    pub services: Vec<InCluster<Service>>,
    pub namespaces: Vec<InCluster<Namespace>>,
    pub ingresses: Vec<InCluster<Ingress>>,
    pub configmaps: Vec<InCluster<ConfigMap>>,
    pub events: Vec<InCluster<Event>>,
    pub commands: Vec<CommandInfo>,
    /// When each cluster was last heard of (a push, an event, a sample).
    pub heard_ms: BTreeMap<String, i64>,
    /// Each node's recent CPU %, oldest first, one point per [`SPARK_STEP_MS`].
    pub sparks: BTreeMap<(String, String), VecDeque<(i64, f64)>>,
    /// Nodes whose history was asked for once.
    pub sparks_asked: HashSet<(String, String)>,
}

/// Points kept per node for the sparklines.
pub const SPARK_POINTS: usize = 16;
/// One sparkline point per this many milliseconds.
pub const SPARK_STEP_MS: i64 = 15_000;

/// The console: the terminal it draws on, who it is and how it behaves, the cluster data it
/// shows and where each list's load stands, the screens stacked, and the open prompt.
#[derive(Debug, Clone)]
pub struct App {
    pub(super) term: Terminal,
    pub(super) settings: Settings,
    pub(super) scope: Scope,
    pub(super) data: Data,
    pub(super) feeds: Feeds,
    pub(super) screens: Vec<Screen>,
    pub(super) mode: Mode,
    pub(super) status: Option<Status>,
    pub(super) prompt: Prompt,
    /// Commands this console sent, by id, with what to call them.
    pub(super) sent: BTreeMap<String, String>,
    /// Rows that messages changed, built at [`App::settle`].
    pub(super) pending: Pending,
}

/// Rows waiting to be built again: all of them, or those of some objects, and whether the
/// pods' usage columns moved.
#[derive(Debug, Clone, Default)]
pub struct Pending {
    pub all: bool,
    pub keys: HashSet<RowId>,
    pub usage: bool,
}

/// The terminal's side: its size, colours, the clock the screen is drawn at, and whether to
/// leave.
#[derive(Debug, Clone)]
pub struct Terminal {
    pub width: u16,
    pub height: u16,
    /// Colours on (off with `NO_COLOR`).
    pub color: bool,
    pub now_ms: i64,
    pub quit: bool,
}

/// Who the console is and how it behaves (flags and the token's role).
#[derive(Debug, Clone)]
pub struct Settings {
    pub server: String,
    pub user: String,
    pub readonly: bool,
    /// `q` and `:q` ask first (the demo).
    pub ask_before_quit: bool,
    /// A pod a controller recreates is restarted after its name is typed, not on `y`.
    pub restart_by_name: bool,
    pub stale_after_ms: i64,
}

/// Where each list's load stands, and the live stream.
#[derive(Debug, Clone, Default)]
pub struct Feeds {
    /// What has arrived at least once for the current scope.
    pub loaded: HashSet<Feed>,
    pub loading: HashSet<Feed>,
    /// Changed while loading: loaded again once the load in flight is in.
    pub dirty: HashSet<Feed>,
    pub last_load_ms: BTreeMap<Feed, i64>,
    pub stream_up: bool,
}

/// The open prompt's state beyond its text: help's scroll, a dialog's error, `:` history.
#[derive(Debug, Clone, Default)]
pub struct Prompt {
    /// How far help is scrolled.
    pub help_scroll: u16,
    /// Why the open dialog did not take what was typed.
    pub prompt_error: Option<String>,
    /// Command lines run, oldest first (Up and Down on `:` go through them).
    pub history: Vec<String>,
    /// Where Up has gone to in the history while a `:` line is open.
    pub history_at: Option<usize>,
}

/// Loads wait so that one feed is listed at most about three times a second.
const MIN_RELOAD_MS: i64 = 300;

impl App {
    pub fn new(server: String, user: String, readonly: bool, first: Resource) -> App {
        App {
            term: Terminal {
                width: 80,
                height: 24,
                color: true,
                now_ms: 0,
                quit: false,
            },
            settings: Settings {
                server,
                user,
                readonly,
                ask_before_quit: false,
                restart_by_name: false,
                stale_after_ms: 60_000,
            },
            scope: Scope::default(),
            data: Data::default(),
            feeds: Feeds::default(),
            screens: vec![Screen::List(ListScreen::new(first))],
            mode: Mode::Normal,
            status: None,
            prompt: Prompt::default(),
            sent: BTreeMap::new(),
            pending: Pending::default(),
        }
    }

    /// The cluster and namespace shown (answers for another are dropped).
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The loads to start with.
    pub fn start(&mut self) -> Vec<Effect> {
        self.load_needed(true)
    }

    pub fn screen(&self) -> &Screen {
        self.screens.last().expect("there is always a screen")
    }

    pub fn screen_mut(&mut self) -> &mut Screen {
        self.screens.last_mut().expect("there is always a screen")
    }

    pub fn list(&self) -> Option<&ListScreen> {
        match self.screen() {
            Screen::List(list) => Some(list),
            _ => None,
        }
    }

    /// Rows in the table body at the current size (title, header, borders and footer aside).
    /// Lines a text screen (logs, a describe) shows at once: no header row.
    pub fn text_page(&self) -> usize {
        self.page() + 1
    }

    pub fn page(&self) -> usize {
        usize::from(self.term.height.saturating_sub(5)).max(1)
    }

    /// The feeds the current screen (and the header) shows.
    pub fn needed(&self) -> Vec<Feed> {
        let mut feeds = vec![Feed::Clusters];
        feeds.extend(feeds_of(self.screen()));
        feeds.dedup();
        feeds
    }

    /// Lets go of lists no screen on the stack shows (listed again when one does): a
    /// 5,000-pod list is not kept while looking at nodes.
    fn forget_unused(&mut self) {
        let kept: HashSet<Feed> = self
            .screens
            .iter()
            .flat_map(feeds_of)
            .chain([Feed::Clusters])
            .collect();
        let d = &mut self.data;
        for feed in [
            Feed::Pods,
            Feed::Nodes,
            Feed::Metrics,
            Feed::Deployments,
            Feed::Services,
            Feed::Namespaces,
            Feed::Ingresses,
            Feed::ConfigMaps,
            Feed::Events,
            Feed::Commands,
        ] {
            if kept.contains(&feed) {
                continue;
            }
            self.feeds.loaded.remove(&feed);
            match feed {
                Feed::Pods => d.pods = Vec::new(),
                Feed::Nodes => d.nodes = Vec::new(),
                Feed::Metrics => d.metrics = Vec::new(),
                Feed::Deployments => d.deployments = Vec::new(),
                Feed::Services => d.services = Vec::new(),
                Feed::Namespaces => d.namespaces = Vec::new(),
                Feed::Ingresses => d.ingresses = Vec::new(),
                Feed::ConfigMaps => d.configmaps = Vec::new(),
                Feed::Events => d.events = Vec::new(),
                Feed::Commands => d.commands = Vec::new(),
                Feed::Clusters => {}
            }
        }
    }

    pub(super) fn load(&mut self, feed: Feed) -> Effect {
        self.feeds.loading.insert(feed);
        let since = self
            .feeds
            .last_load_ms
            .get(&feed)
            .map_or(i64::MAX, |t| self.term.now_ms - t);
        Effect::Load {
            feed,
            scope: self.scope.clone(),
            delay_ms: (MIN_RELOAD_MS - since).clamp(0, MIN_RELOAD_MS) as u64,
        }
    }

    /// Loads what the screen needs: all of it (`again`), or what has not arrived yet.
    pub(super) fn load_needed(&mut self, again: bool) -> Vec<Effect> {
        let mut effects = Vec::new();
        for feed in self.needed() {
            if self.feeds.loading.contains(&feed) {
                if again {
                    self.feeds.dirty.insert(feed);
                }
            } else if again || !self.feeds.loaded.contains(&feed) {
                effects.push(self.load(feed));
            }
        }
        effects
    }

    pub fn set_status(&mut self, text: impl Into<String>, tone: Tone) {
        self.status = Some(Status {
            text: text.into(),
            tone,
            at_ms: self.term.now_ms,
        });
    }

    /// Moves to a new screen (Esc comes back).
    pub fn push(&mut self, screen: Screen) -> Vec<Effect> {
        self.screens.push(screen);
        self.rebuild();
        self.load_needed(false)
    }

    /// Shows a list kind in place of the current lists (as `:po` does in k9s).
    pub fn show(&mut self, resource: Resource) -> Vec<Effect> {
        self.screens.truncate(1);
        self.screens[0] = Screen::List(ListScreen::new(resource));
        self.forget_unused();
        self.rebuild();
        self.load_needed(false)
    }

    /// `q` or `:q` at the top: quits, or asks first in the demo.
    pub fn close_top(&mut self) {
        if self.settings.ask_before_quit {
            self.mode = Mode::Quit;
        } else {
            self.term.quit = true;
        }
    }

    /// Changes cluster or namespace: what was loaded is for the old scope.
    pub fn rescope(&mut self, scope: Scope) -> Vec<Effect> {
        if scope == self.scope {
            return Vec::new();
        }
        self.scope = scope;
        self.feeds.loaded.retain(|f| *f == Feed::Clusters);
        self.feeds.dirty.extend(self.feeds.loading.iter().copied());
        self.rebuild();
        self.load_needed(false)
    }

    pub fn shape(&self) -> Shape {
        let clusters = match &self.scope.cluster {
            Some(_) => false,
            None => self.data.clusters.len() > 1,
        };
        Shape {
            now_ms: self.term.now_ms,
            clusters,
            namespaces: self.scope.namespace.is_none(),
        }
    }

    /// Builds the current list's rows from the data.
    pub fn rebuild(&mut self) {
        self.pending = Pending::default();
        let shape = self.shape();
        let now = self.term.now_ms;
        let Some(Screen::List(list)) = self.screens.last() else {
            return;
        };
        let d = &self.data;
        let rows = match list.resource {
            Resource::Pods => PodRows::new(shape, &d.metrics).build(&d.pods),
            Resource::Nodes => {
                super::nodes::rows(&d.nodes, &d.metrics, &d.pods, &self.data.sparks, shape)
            }
            Resource::Deployments => rows::build(&d.deployments, shape),
            Resource::Services => rows::build(&d.services, shape),
            Resource::Namespaces => rows::build(&d.namespaces, shape),
            Resource::Ingresses => rows::build(&d.ingresses, shape),
            Resource::ConfigMaps => rows::build(&d.configmaps, shape),
            Resource::Events => rows::build(&d.events, shape),
            Resource::Clusters => rows::clusters(&d.clusters, now),
            Resource::Commands => rows::commands(&d.commands, now),
        };
        self.show_rows(rows);
    }

    fn show_rows(&mut self, rows: rows::Rows) {
        if let Some(Screen::List(list)) = self.screens.last_mut() {
            list.replace(Some(rows), &self.data);
            let page = usize::from(self.term.height.saturating_sub(5)).max(1);
            clamp_offset(list, page);
        }
    }

    /// Whether the current list draws from `feed`.
    fn shows(&self, feed: Feed) -> bool {
        match self.screen() {
            Screen::List(list) => {
                Feed::of_resource(list.resource) == feed
                    || (matches!(list.resource, Resource::Nodes | Resource::Pods)
                        && feed == Feed::Metrics)
                    || (list.resource == Resource::Nodes && feed == Feed::Pods)
                    // The header's cluster list is built with every list (the CLUSTER column).
                    || feed == Feed::Clusters
            }
            _ => false,
        }
    }

    /// The current list is built again (at [`App::settle`]) when it shows `feed` (a pod list
    /// is not rebuilt for a node's sparkline).
    pub(super) fn rebuild_for(&mut self, feed: Feed) {
        if self.shows(feed) {
            self.pending.all = true;
        }
    }

    /// Only these objects of `feed` changed: their rows are built again, the others kept.
    pub(super) fn rebuild_rows_for(&mut self, feed: Feed, ids: impl IntoIterator<Item = RowId>) {
        match self.list() {
            Some(list) if Feed::of_resource(list.resource) == feed => {
                self.pending.keys.extend(ids);
            }
            _ => self.rebuild_for(feed),
        }
    }

    /// New node samples: the pods list's usage columns move, the nodes list is built again.
    pub(super) fn samples_moved(&mut self) {
        match self.list().map(|l| l.resource) {
            Some(Resource::Pods) => self.pending.usage = true,
            Some(Resource::Nodes) => self.pending.all = true,
            _ => {}
        }
    }

    /// A node's sparkline moved: only the nodes list shows it.
    pub(super) fn sparks_moved(&mut self) {
        if self.list().is_some_and(|l| l.resource == Resource::Nodes) {
            self.pending.all = true;
        }
    }

    /// The rows on screen are built again (their ages move on); the others when they change
    /// or come on screen.
    fn refresh_on_screen(&mut self) {
        self.settle();
        let page = self.page();
        let Some(list) = self.list() else {
            return;
        };
        let at: Vec<usize> = list
            .visible
            .iter()
            .skip(list.offset)
            .take(page)
            .copied()
            .collect();
        self.rebuild_part(rows::Part::At(&at), false);
    }

    /// Builds what messages marked: once for a burst of them, and only the rows that changed
    /// when that is known.
    pub fn settle(&mut self) {
        let pending = std::mem::take(&mut self.pending);
        if pending.all {
            return self.rebuild();
        }
        if pending.keys.is_empty() && !pending.usage {
            return;
        }
        self.rebuild_part(rows::Part::Keys(&pending.keys), pending.usage);
    }

    /// Builds some of the current list's rows again (`usage`: and the pods' usage cells); a
    /// short list is built whole.
    fn rebuild_part(&mut self, part: rows::Part<'_>, usage: bool) {
        let shape = self.shape();
        let Some(resource) = self.list().map(|l| l.resource) else {
            return;
        };
        if matches!(
            resource,
            Resource::Nodes | Resource::Clusters | Resource::Commands
        ) {
            return self.rebuild();
        }
        // Rows for other objects are filtered and sorted again; rows rebuilt in place (their
        // ages) stay where they are.
        let reselect = matches!(part, rows::Part::Keys(_));
        let old = match self.screens.last_mut() {
            Some(Screen::List(list)) => std::mem::take(&mut list.rows),
            _ => return,
        };
        let d = &self.data;
        fn again<T: rows::Listed>(
            items: &[InCluster<T>],
            old: rows::Rows,
            part: rows::Part<'_>,
            shape: Shape,
        ) -> rows::Rows {
            let layout = rows::Layout::of::<T>(shape);
            rows::rebuild(items, old, part, |x| layout.row(x))
        }
        let rows = match resource {
            Resource::Pods => {
                let pods = PodRows::new(shape, &d.metrics);
                let mut rows = rows::rebuild(&d.pods, old, part, |p| pods.row(p));
                if usage {
                    pods.refresh(&mut rows, &d.pods);
                }
                rows
            }
            Resource::Deployments => again(&d.deployments, old, part, shape),
            Resource::Services => again(&d.services, old, part, shape),
            Resource::Namespaces => again(&d.namespaces, old, part, shape),
            Resource::Ingresses => again(&d.ingresses, old, part, shape),
            Resource::ConfigMaps => again(&d.configmaps, old, part, shape),
            Resource::Events => again(&d.events, old, part, shape),
            Resource::Nodes | Resource::Clusters | Resource::Commands => old,
        };
        if reselect {
            self.show_rows(rows);
        } else if let Some(Screen::List(list)) = self.screens.last_mut() {
            list.rows = rows;
        }
    }

    /// Whether a cluster has gone quiet for longer than master calls stale.
    pub fn stale(&self, cluster: &str) -> bool {
        self.data
            .heard_ms
            .get(cluster)
            .is_none_or(|t| self.term.now_ms - t > self.settings.stale_after_ms)
    }

    /// Applies a key's action.
    pub fn update(&mut self, action: Action) -> Vec<Effect> {
        match action {
            Action::Resize(w, h) => {
                self.term.width = w;
                self.term.height = h;
                self.rebuild();
                return Vec::new();
            }
            Action::Tick(now) => {
                self.term.now_ms = now;
                self.refresh_on_screen();
                return self.poll_logs();
            }
            // Ctrl-C: at once, whatever is open.
            Action::Quit => {
                self.term.quit = true;
                return Vec::new();
            }
            _ => {}
        }
        match self.mode.clone() {
            Mode::Normal => super::input::normal(self, action),
            Mode::Help => {
                let max = super::views::help_scroll_max(self);
                let page = self.page() as u16;
                self.prompt.help_scroll = match action {
                    Action::Back | Action::Help | Action::Cancel => {
                        self.mode = Mode::Normal;
                        0
                    }
                    Action::Up => self.prompt.help_scroll.saturating_sub(1),
                    Action::Down => self.prompt.help_scroll.saturating_add(1),
                    Action::PageUp => self.prompt.help_scroll.saturating_sub(page),
                    Action::PageDown => self.prompt.help_scroll.saturating_add(page),
                    Action::Top => 0,
                    Action::Bottom => max,
                    _ => self.prompt.help_scroll,
                }
                .min(max);
                Vec::new()
            }
            Mode::Command(text) => super::input::command_line(self, text, action),
            Mode::Filter(text) => super::input::filter_line(self, text, action),
            Mode::Confirm(confirm) => super::changes::confirm(self, confirm, action),
            Mode::Input(ask, text) => super::changes::ask(self, ask, text, action),
            Mode::Quit => {
                self.mode = Mode::Normal;
                if matches!(action, Action::Type('y' | 'Y') | Action::Submit) {
                    self.term.quit = true;
                }
                Vec::new()
            }
        }
    }
}

/// The lists a screen draws from.
fn feeds_of(screen: &Screen) -> Vec<Feed> {
    match screen {
        // The PODS column counts the pod list (deltas keep it current at no cost).
        Screen::List(list) if list.resource == Resource::Nodes => {
            vec![Feed::Nodes, Feed::Metrics, Feed::Pods]
        }
        // Each pod's CPU and memory come with the node samples.
        Screen::List(list) if list.resource == Resource::Pods => vec![Feed::Pods, Feed::Metrics],
        Screen::List(list) => vec![Feed::of_resource(list.resource)],
        Screen::Node(_) => vec![Feed::Nodes, Feed::Metrics, Feed::Pods, Feed::Events],
        Screen::Pod(_) => vec![Feed::Pods, Feed::Events],
        Screen::Text(_) => Vec::new(),
    }
}

/// Row `i`'s object's labels in a list of `resource` (rows keep their objects' order).
pub fn labels_of<'a>(data: &'a Data, resource: Resource) -> impl Fn(usize) -> Option<&'a Labels> {
    move |i| match resource {
        Resource::Pods => data.pods.get(i).map(|x| &x.object.labels),
        Resource::Nodes => data.nodes.get(i).map(|x| &x.object.labels),
        Resource::Deployments => data.deployments.get(i).map(|x| &x.object.labels),
        Resource::Services => data.services.get(i).map(|x| &x.object.labels),
        Resource::Namespaces => data.namespaces.get(i).map(|x| &x.object.labels),
        Resource::Ingresses => data.ingresses.get(i).map(|x| &x.object.labels),
        Resource::ConfigMaps => data.configmaps.get(i).map(|x| &x.object.labels),
        Resource::Events | Resource::Clusters | Resource::Commands => None,
    }
}

/// Keeps the selection within the shown rows.
pub fn clamp_offset(list: &mut ListScreen, page: usize) {
    if list.selected < list.offset {
        list.offset = list.selected;
    } else if list.selected >= list.offset + page {
        list.offset = list.selected + 1 - page;
    }
    let max_offset = list.visible.len().saturating_sub(page);
    list.offset = list.offset.min(max_offset);
}
