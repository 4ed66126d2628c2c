//! What the network's messages do to the console: lists stored (answers for an older scope
//! dropped), the stream's changes turned into coalesced reloads, events and node samples
//! appended, commands followed to their result.

use atlhyper_model::api::{CommandInfo, InCluster, WatchEventType};
use atlhyper_model::resources::Event;

use super::app::{App, Effect, Feed, Loaded, Msg, SPARK_POINTS, SPARK_STEP_MS, Screen};
use super::messages::ListDelta;
use super::rows::{Layout, Listed, RowId, Tone};
use crate::delta;
use crate::kinds::{Printable, Resource};

impl App {
    fn heard(&mut self, cluster: &str) {
        let t = self.data.heard_ms.entry(cluster.to_owned()).or_insert(0);
        *t = (*t).max(self.term.now_ms);
    }

    /// Applies a message from the network and builds the rows it changed.
    pub fn receive(&mut self, msg: Msg) -> Vec<Effect> {
        let effects = self.absorb(msg);
        self.settle();
        effects
    }

    /// Applies a message from the network; the rows it changes are built at [`App::settle`]
    /// (once for a burst of messages).
    pub fn absorb(&mut self, msg: Msg) -> Vec<Effect> {
        match msg {
            Msg::Loaded(scope, loaded) => {
                let feed = loaded.feed();
                self.feeds.loading.remove(&feed);
                self.feeds.last_load_ms.insert(feed, self.term.now_ms);
                let again = self.feeds.dirty.remove(&feed) || scope != self.scope;
                let mut effects = Vec::new();
                if scope == self.scope || feed == Feed::Clusters {
                    let ids = |d: &super::app::Data| -> Vec<String> {
                        d.clusters.iter().map(|c| c.id.clone()).collect()
                    };
                    let clusters_before = (feed == Feed::Clusters).then(|| ids(&self.data));
                    self.feeds.loaded.insert(feed);
                    self.store(loaded);
                    if feed == Feed::Metrics {
                        effects.extend(self.fill_sparks());
                    }
                    // The cluster list comes with every change (its counts); the rows of
                    // another list depend on it only through which clusters there are.
                    let same_clusters = clusters_before.is_some_and(|b| b == ids(&self.data))
                        && self
                            .list()
                            .is_some_and(|l| l.resource != Resource::Clusters);
                    if !same_clusters {
                        self.rebuild_for(feed);
                    }
                }
                if again && self.needed().contains(&feed) {
                    effects.push(self.load(feed));
                }
                effects
            }
            Msg::LoadFailed(feed, error) => {
                self.feeds.loading.remove(&feed);
                self.feeds.last_load_ms.insert(feed, self.term.now_ms);
                self.set_status(error, Tone::Bad);
                Vec::new()
            }
            Msg::Changed { cluster, kind } => {
                self.heard(&cluster);
                let feed = Feed::of_stream_kind(kind);
                if self.scope.cluster.as_ref().is_some_and(|c| *c != cluster) {
                    return Vec::new();
                }
                let mut effects = Vec::new();
                // The cluster list's counts follow the pods and nodes.
                for feed in [feed, Feed::Clusters] {
                    if !self.needed().contains(&feed) {
                        continue;
                    }
                    if self.feeds.loading.contains(&feed) {
                        self.feeds.dirty.insert(feed);
                    } else {
                        effects.push(self.load(feed));
                    }
                }
                effects
            }
            Msg::Delta(change) => {
                let cluster = change.cluster().to_owned();
                self.heard(&cluster);
                let feed = change.feed();
                if self.scope.cluster.as_ref().is_some_and(|c| *c != cluster)
                    || !self.feeds.loaded.contains(&feed)
                {
                    // Not held: it is listed, as it is now, when a screen needs it.
                    return Vec::new();
                }
                // A load in flight may have been answered before this change: listed again
                // once it is in.
                if self.feeds.loading.contains(&feed) {
                    self.feeds.dirty.insert(feed);
                }
                let changed = self.merge(change);
                self.rebuild_rows_for(feed, changed);
                // The cluster list's counts follow the pods and nodes.
                let mut effects = Vec::new();
                if self.needed().contains(&Feed::Clusters) {
                    if self.feeds.loading.contains(&Feed::Clusters) {
                        self.feeds.dirty.insert(Feed::Clusters);
                    } else {
                        effects.push(self.load(Feed::Clusters));
                    }
                }
                effects
            }
            Msg::Events(cluster, events) => {
                self.heard(&cluster);
                // Only a held list grows: events are not gathered while no screen shows them.
                if self.scope.cluster.as_ref().is_some_and(|c| *c != cluster)
                    || !self.feeds.loaded.contains(&Feed::Events)
                {
                    return Vec::new();
                }
                let wanted = |e: &Event| {
                    self.scope
                        .namespace
                        .as_ref()
                        .is_none_or(|ns| *ns == e.namespace)
                };
                let fresh: Vec<InCluster<Event>> = events
                    .into_iter()
                    .filter(wanted)
                    .map(|object| InCluster {
                        cluster_id: cluster.clone(),
                        object,
                    })
                    .collect();
                let ids: Vec<_> = fresh.iter().map(Layout::id).collect();
                // An event seen again (its count went up) replaces the old line.
                for e in fresh {
                    self.data.events.retain(|old| {
                        !(old.cluster_id == e.cluster_id && old.object.uid == e.object.uid)
                    });
                    self.data.events.push(e);
                }
                self.rebuild_rows_for(Feed::Events, ids);
                Vec::new()
            }
            Msg::Metrics(cluster, samples) => {
                self.heard(&cluster);
                for sample in samples {
                    self.spark(
                        &cluster,
                        &sample.node,
                        sample.ts_ms,
                        sample.cpu.usage_percent,
                    );
                    let fresh = InCluster {
                        cluster_id: cluster.clone(),
                        object: sample,
                    };
                    match self.data.metrics.iter_mut().find(|m| {
                        m.cluster_id == fresh.cluster_id && m.object.node == fresh.object.node
                    }) {
                        Some(old) => *old = fresh,
                        None => {
                            if self.feeds.loaded.contains(&Feed::Metrics)
                                && self.scope.cluster.as_ref().is_none_or(|c| *c == cluster)
                            {
                                self.data.metrics.push(fresh);
                            }
                        }
                    }
                }
                self.samples_moved();
                Vec::new()
            }
            Msg::Command(info) => self.command_update(info),
            Msg::Queued(info) => {
                let label = super::changes::kind_label(&info.command.kind);
                let id = info.command.id.clone();
                let mut poll = false;
                for screen in self.screens.iter_mut().rev() {
                    if let Screen::Text(text) = screen
                        && text.waiting_for.as_deref() == Some("")
                    {
                        text.waiting_for = Some(id.clone());
                        poll = super::logs::is_poll(text);
                        break;
                    }
                }
                // A followed log's polls come and go quietly.
                if !poll {
                    self.sent.insert(id.clone(), label.clone());
                    self.set_status(format!("{label}: queued as {id}"), Tone::Normal);
                }
                // The stream may have brought the result before master's answer came back.
                let known = self
                    .data
                    .commands
                    .iter()
                    .find(|c| c.command.id == id && c.status.is_final())
                    .cloned();
                self.command_update(known.unwrap_or(info))
            }
            Msg::Refused { label, error } => {
                self.set_status(format!("{label}: {error}"), Tone::Bad);
                if let Screen::Text(text) = self.screen_mut()
                    && text.waiting_for.is_some()
                {
                    text.waiting_for = None;
                    text.lines = vec![error];
                }
                Vec::new()
            }
            Msg::Series(series) => {
                let key = (series.cluster_id.clone(), series.node.clone());
                if let Screen::Node(node) = self.screen_mut()
                    && node.cluster == key.0
                    && node.node == key.1
                {
                    node.series = Some(series.clone());
                }
                if series.step_ms == SPARK_STEP_MS {
                    let line = self.data.sparks.entry(key).or_default();
                    line.clear();
                    for p in series.points.iter().rev().take(SPARK_POINTS).rev() {
                        line.push_back((p.ts_ms, p.cpu_percent));
                    }
                }
                self.sparks_moved();
                Vec::new()
            }
            Msg::Reset => self.load_needed(true),
            Msg::StreamUp => {
                let was = self.feeds.stream_up;
                self.feeds.stream_up = true;
                // Open (the console starts listing now, so no change falls between a list and
                // the stream), or back after a loss (master restarted?): what changed meanwhile
                // is listed.
                if was {
                    Vec::new()
                } else {
                    self.load_needed(true)
                }
            }
            Msg::StreamDown(reason) => {
                self.feeds.stream_up = false;
                self.set_status(format!("stream lost: {reason}; reconnecting"), Tone::Warn);
                // No stream yet: the lists are shown all the same.
                if self.feeds.loaded.is_empty() && self.feeds.loading.is_empty() {
                    return self.load_needed(false);
                }
                Vec::new()
            }
        }
    }

    /// Nodes whose sparkline has no history yet get it from master once, when a nodes list
    /// is open (only it draws them).
    fn fill_sparks(&mut self) -> Option<Effect> {
        let drawn = self
            .screens
            .iter()
            .any(|s| matches!(s, Screen::List(l) if l.resource == Resource::Nodes));
        if !drawn {
            return None;
        }
        let nodes: Vec<(String, String)> = self
            .data
            .metrics
            .iter()
            .map(|m| (m.cluster_id.clone(), m.object.node.clone()))
            .filter(|key| self.data.sparks.get(key).is_none_or(|l| l.len() < 2))
            .filter(|key| self.data.sparks_asked.insert(key.clone()))
            .collect();
        (!nodes.is_empty()).then_some(Effect::Sparks { nodes })
    }

    fn spark(&mut self, cluster: &str, node: &str, ts_ms: i64, cpu: f64) {
        let line = self
            .data
            .sparks
            .entry((cluster.to_owned(), node.to_owned()))
            .or_default();
        if line.back().is_some_and(|(t, _)| ts_ms - t < SPARK_STEP_MS) {
            return;
        }
        line.push_back((ts_ms, cpu));
        while line.len() > SPARK_POINTS {
            line.pop_front();
        }
    }

    /// Applies a list's change to the list held (objects outside the namespace shown are not
    /// kept); what changed, by row.
    fn merge(&mut self, change: ListDelta) -> Vec<RowId> {
        let namespace = self.scope.namespace.clone();
        let d = &mut self.data;
        fn keep<T: Printable>(namespace: &Option<String>) -> impl Fn(&InCluster<T>) -> bool + '_ {
            move |i| {
                namespace
                    .as_ref()
                    .is_none_or(|ns| i.object.namespace().is_none_or(|n| n == ns))
            }
        }
        fn ids<T: Listed>(changes: Vec<(WatchEventType, InCluster<T>)>) -> Vec<RowId> {
            changes.iter().map(|(_, x)| Layout::id(x)).collect()
        }
        match change {
            ListDelta::Pods(x) => ids(delta::apply(&mut d.pods, x, keep(&namespace))),
            ListDelta::Nodes(x) => ids(delta::apply(&mut d.nodes, x, keep(&namespace))),
            ListDelta::Deployments(x) => ids(delta::apply(&mut d.deployments, x, keep(&namespace))),
            ListDelta::Services(x) => ids(delta::apply(&mut d.services, x, keep(&namespace))),
            ListDelta::Namespaces(x) => ids(delta::apply(&mut d.namespaces, x, keep(&namespace))),
            ListDelta::Ingresses(x) => ids(delta::apply(&mut d.ingresses, x, keep(&namespace))),
            ListDelta::ConfigMaps(x) => ids(delta::apply(&mut d.configmaps, x, keep(&namespace))),
        }
    }

    fn store(&mut self, loaded: Loaded) {
        let d = &mut self.data;
        match loaded {
            Loaded::Clusters(c) => {
                for cluster in &c {
                    if let Some(t) = cluster.last_push_ms {
                        let heard = d.heard_ms.entry(cluster.id.clone()).or_insert(0);
                        *heard = (*heard).max(t);
                    }
                }
                d.clusters = c;
            }
            Loaded::Pods(p) => d.pods = p,
            Loaded::Nodes(n) => d.nodes = n,
            Loaded::Metrics(m) => {
                for s in &m {
                    let (cluster, node) = (s.cluster_id.clone(), s.object.node.clone());
                    let (ts, cpu) = (s.object.ts_ms, s.object.cpu.usage_percent);
                    let line = d.sparks.entry((cluster, node)).or_default();
                    if line.back().is_none_or(|(t, _)| ts - t >= SPARK_STEP_MS) {
                        line.push_back((ts, cpu));
                    }
                }
                d.metrics = m;
            }
            Loaded::Deployments(x) => d.deployments = x,
            Loaded::Services(x) => d.services = x,
            Loaded::Namespaces(x) => d.namespaces = x,
            Loaded::Ingresses(x) => d.ingresses = x,
            Loaded::ConfigMaps(x) => d.configmaps = x,
            Loaded::Events(mut x) => {
                x.sort_by_key(|e| e.object.last_seen_ms);
                d.events = x;
            }
            Loaded::Commands(x) => d.commands = x,
        }
    }

    fn command_update(&mut self, info: CommandInfo) -> Vec<Effect> {
        self.heard(&info.command.cluster_id.clone());
        let id = info.command.id.clone();
        match self.data.commands.iter_mut().find(|c| c.command.id == id) {
            Some(old) => *old = info.clone(),
            None => self.data.commands.push(info.clone()),
        }
        let page = self.page();
        if !info.status.is_final() {
            self.rebuild_for(Feed::Commands);
            return Vec::new();
        }
        let detail = info.message.clone().unwrap_or_default();
        if let Some(label) = self.sent.get(&id).cloned() {
            let tone = if info.status == atlhyper_model::CommandStatus::Succeeded {
                Tone::Normal
            } else {
                Tone::Bad
            };
            self.set_status(
                format!("{label}: {} {detail}", info.status)
                    .trim_end()
                    .to_owned(),
                tone,
            );
        }
        for screen in &mut self.screens {
            if let Screen::Text(text) = screen
                && text.waiting_for.as_deref() == Some(id.as_str())
            {
                text.waiting_for = None;
                if text.follow.is_some() {
                    super::logs::arrived(text, &info, page);
                    continue;
                }
                text.lines = match &info.output {
                    // The console draws text itself: nothing in it may act on the terminal.
                    Some(out) => out.lines().map(crate::text::printable_lines).collect(),
                    None => vec![format!("{}: {detail}", info.status)],
                };
            }
        }
        self.rebuild_for(Feed::Commands);
        Vec::new()
    }
}
