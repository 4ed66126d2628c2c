//! nodemetrics' one configuration: flags, `ATLHYPER_NODEMETRICS_*` environment variables,
//! defaults that work on a laptop.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use atlhyper_runtime::print_config::PrintConfig;
use clap::Parser;

fn duration(s: &str) -> Result<Duration, String> {
    let d =
        humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (examples: 5s, 500ms)"))?;
    if d < Duration::from_millis(100) {
        return Err(format!("`{s}` is shorter than 100ms"));
    }
    Ok(d)
}

/// Samples this node and pushes to the cluster's agent.
#[derive(Clone, Parser)]
#[command(
    name = "atlhyper-nodemetrics",
    version,
    about = "AtlHyper node sampler: CPU, memory, filesystems, disk and network IO, temperatures, top processes",
    long_about = "atlhyper-nodemetrics samples its node every interval from /proc and /sys (CPU total \
                  and per core, load, memory and swap, real filesystems, disk and network rates, \
                  hwmon temperatures, the busiest processes) and pushes each sample, gzip'd, to the \
                  cluster's agent. When the agent is unreachable it keeps only the latest sample and \
                  retries with back-off.",
    after_help = "Examples:\n  atlhyper-nodemetrics --once --json\n  \
                  atlhyper-nodemetrics --agent http://atlhyper-agent.atlhyper:8082 --host-root /host"
)]
pub struct Config {
    /// The agent's base URL; samples go to `URL/ingest/node-metrics`.
    #[arg(
        long,
        env = "ATLHYPER_NODEMETRICS_AGENT",
        default_value = "http://127.0.0.1:8082"
    )]
    pub agent: String,

    /// Bearer token for the agent.
    #[arg(long, env = "ATLHYPER_NODEMETRICS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Time between samples.
    #[arg(long, env = "ATLHYPER_NODEMETRICS_INTERVAL", default_value = "5s", value_parser = duration)]
    pub interval: Duration,

    /// The node's name [default: $NODE_NAME (the Downward API), else the hostname].
    #[arg(long, env = "ATLHYPER_NODEMETRICS_NODE_NAME")]
    pub node_name: Option<String>,

    /// Where the host's filesystem is mounted: /proc and /sys are read under it, filesystems
    /// measured under it (the DaemonSet mounts the host's / at /host).
    #[arg(long, env = "ATLHYPER_NODEMETRICS_HOST_ROOT", default_value = "/")]
    pub host_root: PathBuf,

    /// Network interfaces to leave out: names, or prefixes ending in `*`.
    #[arg(
        long,
        env = "ATLHYPER_NODEMETRICS_EXCLUDE_INTERFACES",
        value_delimiter = ',',
        default_value = "lo,veth*,cali*,lxc*"
    )]
    pub exclude_interfaces: Vec<String>,

    /// Processes listed by CPU and by memory.
    #[arg(long, env = "ATLHYPER_NODEMETRICS_TOP_PROCESSES", default_value_t = 5)]
    pub top_processes: usize,

    /// Longest a push may take.
    #[arg(long, env = "ATLHYPER_NODEMETRICS_PUSH_TIMEOUT", default_value = "5s", value_parser = duration)]
    pub push_timeout: Duration,

    /// Take one sample (two, one second apart, so rates are real), print it and exit.
    #[arg(long)]
    pub once: bool,

    /// With --once: print the sample as JSON (the wire format).
    #[arg(long, requires = "once")]
    pub json: bool,

    /// Log filter (tracing's env-filter syntax).
    #[arg(long, env = "ATLHYPER_NODEMETRICS_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for a log pipeline).
    #[arg(long, env = "ATLHYPER_NODEMETRICS_LOG_FORMAT", value_enum, default_value_t = atlhyper_runtime::log::LogFormat::Text)]
    pub log_format: atlhyper_runtime::log::LogFormat,

    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
}

impl Config {
    /// The defaults, as if no flag or variable were set.
    pub fn defaults() -> Self {
        Config::try_parse_from(["atlhyper-nodemetrics"]).expect("the defaults parse")
    }

    /// `--node-name`, else `$NODE_NAME`, else the hostname.
    pub fn node(&self) -> String {
        self.node_name
            .clone()
            .or_else(|| std::env::var("NODE_NAME").ok())
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| {
                rustix::system::uname()
                    .nodename()
                    .to_string_lossy()
                    .into_owned()
            })
    }

    /// Checks what clap cannot.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.agent.starts_with("http://") || self.agent.starts_with("https://")) {
            return Err(format!(
                "--agent `{}` must be an http:// or https:// URL",
                self.agent
            ));
        }
        if self.top_processes > 100 {
            return Err("--top-processes must be at most 100".to_owned());
        }
        Ok(())
    }

    /// The configuration as `--print-config` shows it: a TOML document, secrets redacted.
    pub fn render(&self) -> String {
        PrintConfig::new()
            .text("agent", &self.agent)
            .secret("token", self.token.as_deref())
            .duration("interval", self.interval)
            .text("node_name", self.node())
            .path("host_root", &self.host_root)
            .list("exclude_interfaces", &self.exclude_interfaces)
            .number("top_processes", self.top_processes as u64)
            .duration("push_timeout", self.push_timeout)
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
    fn defaults_and_redaction() {
        let config = Config::defaults();
        assert_eq!(config.interval, Duration::from_secs(5));
        assert_eq!(config.exclude_interfaces, ["lo", "veth*", "cali*", "lxc*"]);
        assert_eq!(config.validate(), Ok(()));
        assert!(!config.node().is_empty());
        let config = Config::try_parse_from([
            "atlhyper-nodemetrics",
            "--token",
            "very-secret",
            "--node-name",
            "n1",
        ])
        .unwrap();
        assert!(!config.render().contains("very-secret"));
        let doc: toml::Table = config.render().parse().expect("--print-config is TOML");
        assert_eq!(doc["token"].as_str(), Some("<redacted>"));
        assert!(!format!("{config:?}").contains("very-secret"));
        assert_eq!(config.node(), "n1");
        let bad =
            Config::try_parse_from(["atlhyper-nodemetrics", "--agent", "localhost:1"]).unwrap();
        assert!(bad.validate().unwrap_err().contains("--agent"));
        assert!(Config::try_parse_from(["atlhyper-nodemetrics", "--interval", "1ms"]).is_err());
        assert!(Config::try_parse_from(["atlhyper-nodemetrics", "--json"]).is_err());
    }
}
