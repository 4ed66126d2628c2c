//! kubesim's one configuration: flags, `ATLHYPER_KUBESIM_*` environment variables, defaults
//! that work on a laptop.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

use atlhyper_runtime::print_config::PrintConfig;
use clap::Parser;

/// A simulated Kubernetes cluster that kubectl and kube-rs talk to as to a real one.
#[derive(Clone, Parser)]
#[command(
    name = "kubesim",
    version,
    about = "A simulated Kubernetes cluster serving the real Kubernetes HTTP API",
    long_about = "kubesim serves the Kubernetes HTTP API (discovery, list, watch, tables, patches, \
                  eviction, logs) over a simulated cluster whose controllers schedule, start, crash \
                  and restart pods, roll deployments and write events. kubectl and kube-rs cannot \
                  tell it from a real cluster.",
    after_help = "Example:\n  kubesim --scenario demo --listen 127.0.0.1:0 --kubeconfig-out ./kubesim.kubeconfig\n  \
                  kubectl --kubeconfig ./kubesim.kubeconfig get pods -A"
)]
pub struct Config {
    /// Scenario to load: `demo`, `large`, or the path of a scenario file (YAML or JSON).
    #[arg(long, env = "ATLHYPER_KUBESIM_SCENARIO", default_value = "demo")]
    pub scenario: String,

    /// Address the API server listens on; port 0 picks a free port. The first line on stdout is
    /// the URL it listens on.
    #[arg(
        long,
        env = "ATLHYPER_KUBESIM_LISTEN",
        default_value = "127.0.0.1:6443"
    )]
    pub listen: SocketAddr,

    /// Write a kubeconfig for this cluster (server, token, context) to this path.
    #[arg(long, env = "ATLHYPER_KUBESIM_KUBECONFIG_OUT")]
    pub kubeconfig_out: Option<PathBuf>,

    /// Bearer token clients must present; a random one when not set.
    #[arg(long, env = "ATLHYPER_KUBESIM_TOKEN", hide_env_values = true)]
    pub token: Option<String>,

    /// Simulated seconds per real second (2 runs the cluster's clock twice as fast).
    #[arg(long, env = "ATLHYPER_KUBESIM_SPEED", default_value_t = 1.0)]
    pub speed: f64,

    /// Seed of every random choice, so a scenario runs the same way twice.
    #[arg(long, env = "ATLHYPER_KUBESIM_SEED", default_value_t = 1)]
    pub seed: u64,

    /// Push simulated node metrics (AtlHyper's NodeMetricsSnapshot, gzip) to the agent at this
    /// base URL (`URL/ingest/node-metrics`), one per node every 5 s.
    #[arg(long, env = "ATLHYPER_KUBESIM_PUSH_NODE_METRICS", value_name = "URL")]
    pub push_node_metrics: Option<String>,

    /// Bearer token for the node-metrics pushes.
    #[arg(
        long,
        env = "ATLHYPER_KUBESIM_NODE_METRICS_TOKEN",
        hide_env_values = true
    )]
    pub node_metrics_token: Option<String>,

    /// Log filter (tracing's env-filter syntax), e.g. `info` or `kubesim=debug`.
    #[arg(long, env = "ATLHYPER_KUBESIM_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for a log pipeline).
    #[arg(long, env = "ATLHYPER_KUBESIM_LOG_FORMAT", value_enum, default_value_t = atlhyper_runtime::log::LogFormat::Text)]
    pub log_format: atlhyper_runtime::log::LogFormat,

    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,
}

/// Secrets never reach a log or a terminal through `Debug`.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

impl Config {
    /// A simulated cluster for a program that embeds one (the demo, tests, benches):
    /// `scenario` on a loopback port of the system's choosing, its kubeconfig written to
    /// `kubeconfig_out`, everything else at its default.
    pub fn embedded(scenario: &str, kubeconfig_out: &std::path::Path) -> Self {
        Config {
            scenario: scenario.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            kubeconfig_out: Some(kubeconfig_out.to_owned()),
            token: None,
            speed: 1.0,
            seed: 1,
            push_node_metrics: None,
            node_metrics_token: None,
            log: "info".to_owned(),
            log_format: atlhyper_runtime::log::LogFormat::Text,
            print_config: false,
        }
    }

    /// The configuration as `--print-config` shows it: a TOML document, secrets redacted.
    pub fn render(&self) -> String {
        PrintConfig::new()
            .text("scenario", &self.scenario)
            .text("listen", self.listen)
            .maybe(
                "kubeconfig_out",
                self.kubeconfig_out.as_ref().map(|p| p.display()),
                "none written",
            )
            .secret("token", self.token.as_deref())
            .float("speed", self.speed)
            .number("seed", self.seed)
            .maybe(
                "push_node_metrics",
                self.push_node_metrics.as_deref(),
                "no node metrics pushed",
            )
            .secret("node_metrics_token", self.node_metrics_token.as_deref())
            .text("log", &self.log)
            .text("log_format", self.log_format.as_str())
            .render()
    }

    /// Checks what clap cannot.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.speed.is_finite() && self.speed > 0.0 && self.speed <= 1000.0) {
            return Err(format!("--speed {} must be in (0, 1000]", self.speed));
        }
        if self.node_metrics_token.is_some() && self.push_node_metrics.is_none() {
            return Err("--node-metrics-token needs --push-node-metrics".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_embedded_config_is_the_flags_defaults_on_a_loopback_port() {
        let path = std::path::Path::new("/tmp/kubeconfig");
        let parsed = Config::try_parse_from([
            "kubesim",
            "--listen",
            "127.0.0.1:0",
            "--kubeconfig-out",
            "/tmp/kubeconfig",
        ])
        .unwrap();
        assert_eq!(Config::embedded("demo", path).render(), parsed.render());
    }

    #[test]
    fn defaults_work_without_any_flag() {
        let config = Config::try_parse_from(["kubesim"]).unwrap();
        assert_eq!(config.scenario, "demo");
        assert_eq!(config.listen.to_string(), "127.0.0.1:6443");
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let config = Config::try_parse_from([
            "kubesim",
            "--token",
            "s3cret-token",
            "--push-node-metrics",
            "http://127.0.0.1:9000",
            "--node-metrics-token",
            "other-s3cret",
        ])
        .unwrap();
        for shown in [config.render(), format!("{config:?}")] {
            assert!(!shown.contains("s3cret"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
        let doc: toml::Table = config.render().parse().expect("--print-config is TOML");
        assert_eq!(doc["node_metrics_token"].as_str(), Some("<redacted>"));
    }

    #[test]
    fn bad_speed_is_refused() {
        let config = Config::try_parse_from(["kubesim", "--speed", "0"]).unwrap();
        assert!(config.validate().unwrap_err().contains("--speed"));
    }
}
