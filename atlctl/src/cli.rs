//! The command line: kubectl's shape where kubectl has one.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXAMPLES: &str = "\
Examples:
  atlctl demo                               # the whole product on a simulated cluster
  atlctl                                    # the console (on a terminal; ? lists its keys)
  atlctl get pods -A                        # every pod of every cluster
  atlctl get pods -n shop -l app=checkout   # by namespace and label selector
  atlctl get po -A --field status=CrashLoopBackOff -o wide
  atlctl get pods -A --json | jq '.items[].name'
  atlctl get events -A -w                   # follow events as they happen
  atlctl top nodes --once                   # CPU, memory, disk, network, temperature
  atlctl exec restart-pod shop/checkout-5d8f7c9b6d-x2kqp
  atlctl logs shop/checkout-5d8f7c9b6d-x2kqp --tail 50
  atlctl config set-context prod --server https://master:8080 --token-file ~/.atl-token

Exit codes: 0 ok, 1 failed, 2 usage, 3 not found, 4 unauthorized/forbidden, 5 unreachable, \
6 conflict (an Idempotency-Key already used for another request).";

/// AtlHyper's console and command line: every cluster's state from master, live, with
/// commands through each cluster's agent, and the embedded demo.
#[derive(Debug, Parser)]
#[command(
    name = "atlctl",
    version,
    after_help = EXAMPLES,
    after_long_help = format!("{EXAMPLES}\n\n{}", crate::console::keys::help_text())
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(flatten)]
    pub console: ConsoleFlags,
    /// Without a command, on a terminal: the console (`:po`, `:no`, `/filter`, `?` for keys).
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// How the console behaves (atlctl alone, `top` and `demo` open it).
#[derive(Debug, Args, Clone, Copy, Default)]
pub struct ConsoleFlags {
    /// The console: no changes offered (a viewer token gets this anyway).
    #[arg(long, env = "ATLHYPER_READONLY")]
    pub readonly: bool,
    /// The console: restarting a pod that a controller recreates asks for its name to be
    /// typed, as every other change does (without it: y).
    #[arg(long, env = "ATLHYPER_RESTART_BY_NAME")]
    pub restart_by_name: bool,
}

/// Where master is and how to talk to it.
#[derive(Debug, Args, Clone)]
pub struct Global {
    /// Master's URL [default: the context's, else http://127.0.0.1:8080].
    #[arg(long, global = true, env = "ATLHYPER_SERVER")]
    pub server: Option<String>,

    /// Bearer token (a viewer token is enough to read).
    #[arg(long, global = true, env = "ATLHYPER_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The context of the config file to use [default: its current-context].
    #[arg(long, global = true, env = "ATLHYPER_CONTEXT")]
    pub context: Option<String>,

    /// The config file [default: $XDG_CONFIG_HOME/atlhyper/config.toml].
    #[arg(long, global = true, env = "ATLHYPER_CONFIG")]
    pub config: Option<PathBuf>,

    /// Longest a request to master may take.
    #[arg(long, global = true, default_value = "30s", value_parser = humantime::parse_duration)]
    pub request_timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// List resources: pods (po), nodes (no), deployments (deploy), services (svc),
    /// namespaces (ns), ingresses (ing), configmaps (cm), events (ev), clusters, commands.
    #[command(
        after_help = "Examples:\n  atlctl get pods -A\n  atlctl get deploy -n shop -o wide\n  atlctl get nodes --sort-by name --no-headers\n  atlctl get pod checkout-5d8f -n shop -o yaml\n  atlctl get pods -A -w --json"
    )]
    Get(GetArgs),
    /// Live usage: `top nodes` (CPU, memory, disk, network, temperature from nodemetrics),
    /// `top pods` (each pod's CPU and memory from its cgroup). On a terminal: the console,
    /// opened on nodes or pods; `--once` prints one table.
    Top(TopArgs),
    /// Events, newest last (`-w` to follow).
    Events(EventsArgs),
    /// Act on a cluster through its agent: restart-pod, delete-pod, rollout-restart, scale,
    /// set-image, cordon, uncordon, drain. Waits for the result; changes ask for the
    /// object's name to be typed (or --yes).
    #[command(
        subcommand,
        after_help = "Examples:\n  atlctl exec restart-pod shop/checkout-5d8f7c9b6d-x2kqp\n  atlctl exec scale shop/cart --replicas 5 --yes\n  atlctl exec set-image shop/cart cart=registry.example.com/shop/cart:3.3.0\n  atlctl exec drain worker-3 --timeout 10m"
    )]
    Exec(crate::exec::Exec),
    /// A pod's logs, fetched by the cluster's agent.
    Logs(crate::exec::LogsArgs),
    /// An object as YAML with its recent events, fetched by the cluster's agent.
    Describe(crate::exec::DescribeArgs),
    /// Contexts: named masters and their tokens.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// The whole product on one machine: a simulated cluster, its agent, this host's
    /// nodemetrics, and master, then the console on it (on a terminal; the demo stops with it).
    Demo(DemoArgs),
    /// Shell completions: `atlctl completions bash > /etc/bash_completion.d/atlctl`.
    Completions { shell: clap_complete::Shell },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Wide,
    Json,
    Yaml,
    Name,
}

/// Which objects, from which clusters.
#[derive(Debug, Args, Clone, Default)]
pub struct Scope {
    /// Namespace [default: the context's, else `default`].
    #[arg(short, long, conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,

    /// Every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Only this cluster (repeat or use commas for several) [default: every cluster].
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,

    /// Label selector: `app=web`, `tier!=db`, `env in (a,b)`, `!canary`.
    #[arg(short = 'l', long)]
    pub selector: Option<String>,

    /// Field filters, comma-separated: `status=Running` (or `status.phase=`),
    /// `node=worker-1` (or `spec.nodeName=`).
    #[arg(long = "field", visible_alias = "field-selector")]
    pub field: Option<String>,
}

#[derive(Debug, Args, Clone)]
pub struct GetArgs {
    /// The resource kind (`pods`, `po`, …), or KIND/NAME (`pod/web-1`, as `-o name` prints).
    pub resource: String,

    /// Only these objects, by NAME or KIND/NAME.
    pub names: Vec<String>,

    #[command(flatten)]
    pub scope: Scope,

    /// Output format.
    #[arg(short, long, value_enum)]
    pub output: Option<Output>,

    /// Same as `-o json`.
    #[arg(long, conflicts_with = "output")]
    pub json: bool,

    /// Sort by a column: name, namespace, age, status, cluster; pods also restarts, node,
    /// ready; deployments ready, desired; events last_seen, count, reason. `-` in front for
    /// descending.
    #[arg(long, allow_hyphen_values = true)]
    pub sort_by: Option<String>,

    /// Leave out the header line.
    #[arg(long)]
    pub no_headers: bool,

    /// After the list, print changes as they happen (NDJSON with `--json`).
    #[arg(short, long)]
    pub watch: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TopResource {
    #[value(alias = "node", alias = "no")]
    Nodes,
    #[value(alias = "pod", alias = "po")]
    Pods,
}

#[derive(Debug, Args, Clone)]
pub struct TopArgs {
    pub resource: TopResource,

    /// Only these nodes (or pods).
    pub names: Vec<String>,

    /// Only this cluster (repeat or use commas for several).
    #[arg(long, value_delimiter = ',')]
    pub cluster: Vec<String>,

    /// Pods: the namespace [default: the context's, else `default`].
    #[arg(short, long, conflicts_with = "all_namespaces")]
    pub namespace: Option<String>,

    /// Pods: every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,

    /// Print one table and exit (what happens anyway when stdout is not a terminal).
    #[arg(long)]
    pub once: bool,

    /// One JSON document (`NodeMetricsList`, `PodMetricsList`) and exit.
    #[arg(long)]
    pub json: bool,

    /// Sort by cpu, memory, name, and for nodes disk (`-` in front for descending)
    /// [default: name].
    #[arg(long, allow_hyphen_values = true)]
    pub sort_by: Option<String>,

    /// Leave out the header line.
    #[arg(long)]
    pub no_headers: bool,
}

#[derive(Debug, Args, Clone)]
pub struct EventsArgs {
    #[command(flatten)]
    pub scope: Scope,

    /// Follow: print events as they arrive.
    #[arg(short, long)]
    pub watch: bool,

    /// JSON (`EventList`), or NDJSON when following.
    #[arg(long)]
    pub json: bool,

    /// Only warnings.
    #[arg(long)]
    pub warnings: bool,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// List the contexts (`*` marks the current one); tokens are never shown.
    GetContexts,
    /// Name the current context.
    CurrentContext,
    /// Make a context the current one.
    UseContext { name: String },
    /// Create or change a context.
    SetContext {
        name: String,
        /// Master's URL.
        #[arg(long)]
        server: Option<String>,
        /// A token stored in the config file (mode 0600).
        #[arg(
            long = "context-token",
            value_name = "TOKEN",
            conflicts_with = "token_file"
        )]
        token: Option<String>,
        /// A file holding the token, read at each use.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Default namespace for this context.
        #[arg(long)]
        default_namespace: Option<String>,
        /// Also make it the current context.
        #[arg(long)]
        current: bool,
    },
    /// Remove a context.
    DeleteContext { name: String },
}

#[derive(Debug, Args, Clone)]
pub struct DemoArgs {
    /// Run without the console: print the `export` lines, then logs, until Ctrl-C.
    #[arg(long)]
    pub headless: bool,

    /// The simulated cluster: `demo` (5 nodes, ~60 pods), `large` (200 nodes, 5,000 pods),
    /// or a scenario file.
    #[arg(long, default_value = "demo")]
    pub scenario: String,

    /// Keep master's database here instead of a temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,

    /// Master's listen address (port 0 picks a free one).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: std::net::SocketAddr,

    /// Simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
}
