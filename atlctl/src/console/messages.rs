//! What moves between the console's parts: the feeds it loads and the scope they are for, what
//! the network task tells the UI ([`Msg`]), what the UI asks it to do ([`Effect`]), and keys as
//! what they mean ([`Action`]).

use atlhyper_model::api::{
    ClusterSummary, CommandInfo, InCluster, MetricSeries, StreamDelta, StreamKind,
};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use atlhyper_model::{CommandKind, NodeMetricsSnapshot};

use crate::kinds::Resource;

/// The data the console loads; each is one list call at master.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Feed {
    Clusters,
    Pods,
    Nodes,
    Metrics,
    Deployments,
    Services,
    Namespaces,
    Ingresses,
    ConfigMaps,
    Events,
    Commands,
}

impl Feed {
    /// The feed a stream kind's changes make stale.
    pub fn of_stream_kind(kind: StreamKind) -> Feed {
        match kind {
            StreamKind::Pods => Feed::Pods,
            StreamKind::Nodes => Feed::Nodes,
            StreamKind::Deployments => Feed::Deployments,
            StreamKind::Services => Feed::Services,
            StreamKind::Namespaces => Feed::Namespaces,
            StreamKind::Ingresses => Feed::Ingresses,
            StreamKind::Configmaps => Feed::ConfigMaps,
            StreamKind::Events => Feed::Events,
            StreamKind::Metrics => Feed::Metrics,
            StreamKind::Commands => Feed::Commands,
        }
    }

    pub fn of_resource(resource: Resource) -> Feed {
        match resource {
            Resource::Pods => Feed::Pods,
            Resource::Nodes => Feed::Nodes,
            Resource::Deployments => Feed::Deployments,
            Resource::Services => Feed::Services,
            Resource::Namespaces => Feed::Namespaces,
            Resource::Ingresses => Feed::Ingresses,
            Resource::ConfigMaps => Feed::ConfigMaps,
            Resource::Events => Feed::Events,
            Resource::Clusters => Feed::Clusters,
            Resource::Commands => Feed::Commands,
        }
    }
}

/// Which cluster and namespace a load is for: answers for an older scope are dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub cluster: Option<String>,
    pub namespace: Option<String>,
}

/// A list master answered.
#[derive(Debug, Clone)]
pub enum Loaded {
    Clusters(Vec<ClusterSummary>),
    Pods(Vec<InCluster<Pod>>),
    Nodes(Vec<InCluster<Node>>),
    Metrics(Vec<InCluster<NodeMetricsSnapshot>>),
    Deployments(Vec<InCluster<Deployment>>),
    Services(Vec<InCluster<Service>>),
    Namespaces(Vec<InCluster<Namespace>>),
    Ingresses(Vec<InCluster<Ingress>>),
    ConfigMaps(Vec<InCluster<ConfigMap>>),
    Events(Vec<InCluster<Event>>),
    Commands(Vec<CommandInfo>),
}

impl Loaded {
    pub fn feed(&self) -> Feed {
        match self {
            Loaded::Clusters(_) => Feed::Clusters,
            Loaded::Pods(_) => Feed::Pods,
            Loaded::Nodes(_) => Feed::Nodes,
            Loaded::Metrics(_) => Feed::Metrics,
            Loaded::Deployments(_) => Feed::Deployments,
            Loaded::Services(_) => Feed::Services,
            Loaded::Namespaces(_) => Feed::Namespaces,
            Loaded::Ingresses(_) => Feed::Ingresses,
            Loaded::ConfigMaps(_) => Feed::ConfigMaps,
            Loaded::Events(_) => Feed::Events,
            Loaded::Commands(_) => Feed::Commands,
        }
    }
}

/// A change of one list, whole objects, from master's stream.
#[derive(Debug, Clone)]
pub enum ListDelta {
    Pods(StreamDelta<InCluster<Pod>>),
    Nodes(StreamDelta<InCluster<Node>>),
    Deployments(StreamDelta<InCluster<Deployment>>),
    Services(StreamDelta<InCluster<Service>>),
    Namespaces(StreamDelta<InCluster<Namespace>>),
    Ingresses(StreamDelta<InCluster<Ingress>>),
    ConfigMaps(StreamDelta<InCluster<ConfigMap>>),
}

impl ListDelta {
    pub fn feed(&self) -> Feed {
        match self {
            ListDelta::Pods(_) => Feed::Pods,
            ListDelta::Nodes(_) => Feed::Nodes,
            ListDelta::Deployments(_) => Feed::Deployments,
            ListDelta::Services(_) => Feed::Services,
            ListDelta::Namespaces(_) => Feed::Namespaces,
            ListDelta::Ingresses(_) => Feed::Ingresses,
            ListDelta::ConfigMaps(_) => Feed::ConfigMaps,
        }
    }

    pub fn cluster(&self) -> &str {
        match self {
            ListDelta::Pods(d) => &d.cluster_id,
            ListDelta::Nodes(d) => &d.cluster_id,
            ListDelta::Deployments(d) => &d.cluster_id,
            ListDelta::Services(d) => &d.cluster_id,
            ListDelta::Namespaces(d) => &d.cluster_id,
            ListDelta::Ingresses(d) => &d.cluster_id,
            ListDelta::ConfigMaps(d) => &d.cluster_id,
        }
    }
}

/// What the network task tells the UI.
#[derive(Debug, Clone)]
pub enum Msg {
    Loaded(Scope, Loaded),
    LoadFailed(Feed, String),
    /// A list of `kind` changed in `cluster` (too much to carry: list it again).
    Changed {
        cluster: String,
        kind: StreamKind,
    },
    /// What changed in a list, to apply to the one held.
    Delta(ListDelta),
    /// New events a push appended.
    Events(String, Vec<Event>),
    /// New node samples.
    Metrics(String, Vec<NodeMetricsSnapshot>),
    /// A command changed status.
    Command(CommandInfo),
    /// The stream missed changes: everything shown is listed again.
    Reset,
    StreamUp,
    StreamDown(String),
    /// A node's history for its chart or its sparkline.
    Series(MetricSeries),
    /// master took the command.
    Queued(CommandInfo),
    /// master refused it (role, policy, arguments).
    Refused {
        label: String,
        error: String,
    },
}

/// What the network task does for the UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Load {
        feed: Feed,
        scope: Scope,
        /// Waits this long first: a burst of changes becomes one load.
        delay_ms: u64,
    },
    /// A node's history over the last `minutes`, for the detail chart or a sparkline.
    Range {
        cluster: String,
        node: String,
        minutes: u32,
    },
    /// Recent history of these nodes, for their sparklines.
    Sparks {
        nodes: Vec<(String, String)>,
    },
    Command {
        cluster: String,
        kind: CommandKind,
    },
}

/// Keys, as what they mean.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Ctrl-C: quit at once.
    Quit,
    /// `q`: close what is open (a text, a detail, a drill-in); quit from the top.
    Close,
    /// Tab in a dialog: complete what is typed.
    Complete,
    /// Logs: follow new lines, or pause.
    Follow,
    /// Logs: the run before the current one.
    Previous,
    /// A k9s key this console does not have: what to say instead.
    Hint(&'static str),
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Enter,
    Back,
    CommandLine,
    FilterLine,
    Help,
    /// A character typed into the open prompt.
    Type(char),
    Erase,
    Submit,
    Cancel,
    /// Sort by the column at this index (again: the other way).
    SortBy(usize),
    SortNext,
    SortPrev,
    Logs,
    Describe,
    /// The object as YAML.
    Yaml,
    /// The pods on the selected node.
    NodePods,
    Restart,
    Delete,
    Scale,
    SetImage,
    Cordon,
    Uncordon,
    Drain,
    /// Node chart range: 15 min, 1 h, 6 h, 24 h.
    Range(u32),
    /// Text: wrap long lines or cut them.
    Wrap,
    Resize(u16, u16),
    Tick(i64),
}
