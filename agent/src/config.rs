//! The agent's one configuration: flags, `ATLHYPER_AGENT_*` environment variables, defaults
//! that work on a laptop.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use atlhyper_model::Source;
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
    #[arg(long, env = "ATLHYPER_AGENT_EARLY_PUSH", default_value = "500ms", value_parser = duration)]
    pub early_push: Duration,

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
        let mut schedule: BTreeMap<Source, Duration> = Source::ALL
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

    /// The configuration as `--print-config` shows it, secrets redacted.
    pub fn render(&self) -> String {
        let secret = |s: &Option<String>| if s.is_some() { "<redacted>" } else { "<unset>" };
        let schedule = self
            .schedule()
            .map(|s| {
                s.iter()
                    .map(|(k, v)| format!("{k}={}", humantime::format_duration(*v)))
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_else(|e| e);
        format!(
            "master = {}\ntoken = {}\ncluster_id = {}\nkubeconfig = {}\nlisten = {}\n\
             intake_token = {}\nintervals = {}\nearly_push = {}\nnode_ttl = {}\n\
             max_body_bytes = {}\nmax_pending_events = {}\npush_timeout = {}\n\
             watch_idle_timeout = {}\nallow_commands = {}\nprotected_namespaces = {}\n\
             max_replicas = {}\nconfigmap_values = {:?}\nmax_concurrent_commands = {}\nmax_command_output = {}\nstate_file = {}\n\
             page_size = {}\nlog = {}\nlog_format = {}\n",
            self.master,
            secret(&self.token),
            self.cluster_id.as_deref().unwrap_or("<from kube-system>"),
            self.kubeconfig
                .as_ref()
                .map_or("<inferred>".to_owned(), |p| p.display().to_string()),
            self.listen,
            secret(&self.intake_token),
            schedule,
            humantime::format_duration(self.early_push),
            humantime::format_duration(self.node_ttl),
            self.max_body_bytes,
            self.max_pending_events,
            humantime::format_duration(self.push_timeout),
            humantime::format_duration(self.watch_idle_timeout),
            if self.allow_commands.is_empty() {
                "<every kind>".to_owned()
            } else {
                self.allow_commands.join(",")
            },
            self.protected_namespaces.join(","),
            self.max_replicas,
            self.configmap_values,
            self.max_concurrent_commands,
            self.max_command_output,
            self.state_file
                .as_ref()
                .map_or("<memory only>".to_owned(), |p| p.display().to_string()),
            self.page_size,
            self.log,
            self.log_format.as_str(),
        )
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
