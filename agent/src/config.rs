//! The agent's one configuration: flags, `ATLHYPER_AGENT_*` environment variables, defaults
//! that work on a laptop.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use atlhyper_model::Source;
use atlhyper_runtime::print_config::PrintConfig;
use clap::Parser;

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (examples: 500ms, 5s, 1m)"))
}

/// Watches a cluster and pushes it to master.
#[derive(Clone, Parser)]
#[command(
    name = "atlhyper-agent",
    version,
    about = "AtlHyper agent: watches one cluster and pushes it to master",
    long_about = "atlhyper-agent watches the Kubernetes API (pods, nodes, deployments, services, \
                  namespaces, ingresses, config maps, events), takes node metrics from the \
                  nodemetrics DaemonSet, and pushes compact gzip snapshots to master: each source \
                  on its full-snapshot schedule and within about half a second of a change. It is \
                  the cluster's only way out; nothing connects into the cluster.",
    after_help = "Example:\n  atlhyper-agent --kubeconfig kubesim.kubeconfig --master http://127.0.0.1:8080 \
                  --cluster-id demo --token …"
)]
pub struct Config {
    /// Master's base URL.
    #[arg(
        long,
        env = "ATLHYPER_AGENT_MASTER",
        default_value = "http://127.0.0.1:8080"
    )]
    pub master: String,

    /// The cluster's agent token, as master issued it.
    #[arg(long, env = "ATLHYPER_AGENT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// The cluster id pushes carry [default: the `kube-system` namespace's UID].
    #[arg(long, env = "ATLHYPER_AGENT_CLUSTER_ID")]
    pub cluster_id: Option<String>,

    /// Kubeconfig to use [default: in-cluster, else $KUBECONFIG, else ~/.kube/config].
    #[arg(long, env = "ATLHYPER_AGENT_KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,

    /// Where nodemetrics pushes to (`POST /ingest/node-metrics`), and `/healthz`, `/readyz`,
    /// `/metrics`.
    #[arg(long, env = "ATLHYPER_AGENT_LISTEN", default_value = "127.0.0.1:8082")]
    pub listen: SocketAddr,

    /// Bearer token nodemetrics must present (none: intake is open to the cluster network).
    #[arg(long, env = "ATLHYPER_AGENT_INTAKE_TOKEN", hide_env_values = true)]
    pub intake_token: Option<String>,

    /// Full-snapshot interval of a source, as `SOURCE=DURATION` (repeat, or commas in the
    /// variable), e.g. `pod_list_snapshot=10s`. Unset sources keep the seed's schedule.
    #[arg(
        long = "interval",
        env = "ATLHYPER_AGENT_INTERVALS",
        value_delimiter = ',',
        value_name = "SOURCE=DURATION"
    )]
    pub intervals: Vec<String>,

    /// How long after a change a source is pushed early (changes within it are pushed together).
    #[arg(long, env = "ATLHYPER_AGENT_EARLY_PUSH", default_value = "100ms", value_parser = duration)]
    pub early_push: Duration,

    /// Push lists as deltas (what changed) between whole lists; `false` sends every push whole,
    /// as agents before deltas did. An older master that does not know deltas gets whole lists
    /// either way.
    #[arg(long, env = "ATLHYPER_AGENT_DELTAS", default_value_t = true, action = clap::ArgAction::Set)]
    pub deltas: bool,

    /// With deltas, how often each list still goes whole (the safety net); on its `--interval`
    /// a list with no change sends an empty delta instead.
    #[arg(long, env = "ATLHYPER_AGENT_SNAPSHOT_INTERVAL", default_value = "5m", value_parser = duration)]
    pub snapshot_interval: Duration,

    /// How long a node's last sample counts without a newer one.
    #[arg(long, env = "ATLHYPER_AGENT_NODE_TTL", default_value = "10m", value_parser = duration)]
    pub node_ttl: Duration,

    /// Largest node-metrics push accepted, in bytes (gzip or not; and after decompression, 8×).
    #[arg(long, env = "ATLHYPER_AGENT_MAX_BODY_BYTES", default_value_t = 1 << 20)]
    pub max_body_bytes: usize,

    /// Most events held for master while it is away (the oldest are dropped, and counted).
    #[arg(
        long,
        env = "ATLHYPER_AGENT_MAX_PENDING_EVENTS",
        default_value_t = 10_000
    )]
    pub max_pending_events: usize,

    /// Longest a push to master may take.
    #[arg(long, env = "ATLHYPER_AGENT_PUSH_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub push_timeout: Duration,

    /// Longest silence on a watch before it is dropped and watched again: a connection gone
    /// half-dead sends nothing, not even an error. Above the API server's bookmark period
    /// (about a minute) and kube-rs's 290 s watch timeout, so a quiet kind is not re-watched.
    #[arg(long, env = "ATLHYPER_AGENT_WATCH_IDLE_TIMEOUT", default_value = "320s", value_parser = duration)]
    pub watch_idle_timeout: Duration,

    /// Command kinds this cluster runs (`restart_pod`, `scale`, …; repeat, or commas in the
    /// variable) [default: every kind].
    #[arg(
        long = "allow-command",
        env = "ATLHYPER_AGENT_ALLOW_COMMANDS",
        value_delimiter = ','
    )]
    pub allow_commands: Vec<String>,

    /// Namespaces where no command changes anything (reads such as logs still run).
    #[arg(
        long = "protected-namespace",
        env = "ATLHYPER_AGENT_PROTECTED_NAMESPACES",
        value_delimiter = ',',
        default_value = "kube-system"
    )]
    pub protected_namespaces: Vec<String>,

    /// Who sees config-map values in a `describe`: `operators` (and admins; viewers see keys
    /// and sizes), `everyone`, or `nobody`.
    #[arg(
        long,
        env = "ATLHYPER_AGENT_CONFIGMAP_VALUES",
        value_enum,
        default_value = "operators"
    )]
    pub configmap_values: crate::control::ConfigMapValues,

    /// Most replicas a `scale` command may set on this cluster (more is rejected by the agent,
    /// as a kind off the allow-list is).
    #[arg(long, env = "ATLHYPER_AGENT_MAX_REPLICAS", default_value_t = 1_000)]
    pub max_replicas: u32,

    /// Commands run at the same time.
    #[arg(
        long,
        env = "ATLHYPER_AGENT_MAX_CONCURRENT_COMMANDS",
        default_value_t = 4
    )]
    pub max_concurrent_commands: usize,

    /// Largest output (logs, describe) sent back to master, in bytes.
    #[arg(long, env = "ATLHYPER_AGENT_MAX_COMMAND_OUTPUT", default_value_t = 1 << 20)]
    pub max_command_output: usize,

    /// File recording the agent's session and which commands it started, so a restart is the
    /// same session and runs none twice (put it on a volume that outlives the container).
    /// Without it each run is a new session: master settles what an earlier run was given and
    /// never reported as `unknown` [default: in memory only].
    #[arg(long, env = "ATLHYPER_AGENT_STATE_FILE")]
    pub state_file: Option<std::path::PathBuf>,

    /// Objects per page when listing.
    #[arg(long, env = "ATLHYPER_AGENT_PAGE_SIZE", default_value_t = 500)]
    pub page_size: u32,

    /// Log filter (tracing's env-filter syntax).
    #[arg(long, env = "ATLHYPER_AGENT_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for a log pipeline).
    #[arg(long, env = "ATLHYPER_AGENT_LOG_FORMAT", value_enum, default_value_t = atlhyper_runtime::log::LogFormat::Text)]
    pub log_format: atlhyper_runtime::log::LogFormat,

    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Every command kind, by its wire name.
const KINDS: &[&str] = &[
    "restart_pod",
    "delete_pod",
    "rollout_restart",
    "scale",
    "update_image",
    "cordon",
    "uncordon",
    "drain",
    "pod_logs",
    "describe",
];

impl Config {
    /// The defaults, as if no flag or variable were set.
    pub fn defaults() -> Self {
        Config::try_parse_from(["atlhyper-agent"]).expect("the defaults parse")
    }

    /// Each source's full-snapshot interval: the seed's, overridden by `--interval`.
    ///
    /// # Errors
    /// A message naming the bad entry.
    pub fn schedule(&self) -> Result<BTreeMap<Source, Duration>, String> {
        let mut schedule: BTreeMap<Source, Duration> = Source::SCHEDULED
            .iter()
            .map(|s| (*s, s.default_interval()))
            .collect();
        for entry in self.intervals.iter().filter(|e| !e.trim().is_empty()) {
            let (source, interval) = entry
                .split_once('=')
                .ok_or_else(|| format!("--interval `{entry}`: expected SOURCE=DURATION"))?;
            let source: Source = source
                .trim()
                .parse()
                .map_err(|e| format!("--interval: {e}"))?;
            let interval = duration(interval.trim()).map_err(|e| format!("--interval: {e}"))?;
            if interval < Duration::from_millis(100) {
                return Err(format!("--interval `{entry}`: at least 100ms"));
            }
            schedule.insert(source, interval);
        }
        Ok(schedule)
    }

    /// Checks what clap cannot.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.master.starts_with("http://") || self.master.starts_with("https://")) {
            return Err(format!(
                "--master `{}` must be an http:// or https:// URL",
                self.master
            ));
        }
        if let Some(id) = &self.cluster_id {
            atlhyper_model::validate::dns1123_label(id)
                .map_err(|reason| format!("--cluster-id `{id}`: {reason}"))?;
        }
        self.schedule()?;
        if let Some(bad) = self
            .allow_commands
            .iter()
            .find(|k| !KINDS.contains(&k.as_str()))
        {
            return Err(format!(
                "--allow-command `{bad}`: not a command kind (kinds: {})",
                KINDS.join(", ")
            ));
        }
        if self.watch_idle_timeout < Duration::from_secs(1) {
            return Err("--watch-idle-timeout: at least 1s".to_owned());
        }
        if self.page_size == 0 || self.max_pending_events == 0 || self.max_body_bytes == 0 {
            return Err(
                "--page-size, --max-pending-events and --max-body-bytes must be above 0".to_owned(),
            );
        }
        Ok(())
    }

    /// The configuration as `--print-config` shows it: a TOML document, secrets redacted.
    pub fn render(&self) -> String {
        let schedule: Vec<String> = match self.schedule() {
            Ok(s) => s
                .iter()
                .map(|(k, v)| format!("{k}={}", humantime::format_duration(*v)))
                .collect(),
            Err(e) => vec![e],
        };
        use clap::ValueEnum as _;
        let configmap_values = self
            .configmap_values
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned());
        PrintConfig::new()
            .text("master", &self.master)
            .secret("token", self.token.as_deref())
            .maybe(
                "cluster_id",
                self.cluster_id.as_deref(),
                "read from kube-system's uid",
            )
            .maybe(
                "kubeconfig",
                self.kubeconfig.as_ref().map(|p| p.display()),
                "inferred (in-cluster, else ~/.kube/config)",
            )
            .text("listen", self.listen)
            .secret("intake_token", self.intake_token.as_deref())
            .list("interval", schedule)
            .duration("early_push", self.early_push)
            .flag("deltas", self.deltas)
            .duration("snapshot_interval", self.snapshot_interval)
            .duration("node_ttl", self.node_ttl)
            .number("max_body_bytes", self.max_body_bytes as u64)
            .number("max_pending_events", self.max_pending_events as u64)
            .duration("push_timeout", self.push_timeout)
            .duration("watch_idle_timeout", self.watch_idle_timeout)
            .list("allow_command", &self.allow_commands)
            .list("protected_namespace", &self.protected_namespaces)
            .number("max_replicas", self.max_replicas)
            .text("configmap_values", configmap_values)
            .number(
                "max_concurrent_commands",
                self.max_concurrent_commands as u64,
            )
            .number("max_command_output", self.max_command_output as u64)
            .maybe(
                "state_file",
                self.state_file.as_ref().map(|p| p.display()),
                "none: the agent's session is random per run",
            )
            .number("page_size", u64::from(self.page_size))
            .text("log", &self.log)
            .text("log_format", self.log_format.as_str())
            .render()
    }
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_schedule_and_redaction() {
        let config = Config::defaults();
        assert_eq!(config.validate(), Ok(()));
        let schedule = config.schedule().unwrap();
        assert_eq!(schedule[&Source::PodListSnapshot], Duration::from_secs(25));
        assert_eq!(
            schedule[&Source::ConfigmapListSnapshot],
            Duration::from_secs(55)
        );
        let config = Config::try_parse_from([
            "atlhyper-agent",
            "--token",
            "cluster-secret",
            "--intake-token",
            "intake-secret",
            "--interval",
            "pod_list_snapshot=2s",
        ])
        .unwrap();
        assert_eq!(
            config.schedule().unwrap()[&Source::PodListSnapshot],
            Duration::from_secs(2)
        );
        let text = config.render();
        assert!(!text.contains("secret"), "{text}");
        let doc: toml::Table = text.parse().expect("--print-config is TOML");
        assert_eq!(doc["token"].as_str(), Some("<redacted>"));
        for bad in [
            vec!["--interval", "pods=2s"],
            vec!["--interval", "pod_list_snapshot"],
            vec!["--interval", "pod_list_snapshot=1ms"],
            vec!["--cluster-id", "Not_A_Label"],
            vec!["--master", "localhost:8080"],
        ] {
            let mut args = vec!["atlhyper-agent"];
            args.extend(bad.iter().copied());
            let config = Config::try_parse_from(args).unwrap();
            assert!(config.validate().is_err(), "{bad:?}");
        }
    }
}
