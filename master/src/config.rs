//! master's one configuration: flags, `ATLHYPER_MASTER_*` environment variables, defaults that
//! work on a laptop.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use atlhyper_runtime::print_config::PrintConfig;
use clap::{Parser, Subcommand};

fn duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("`{s}`: {e} (examples: 30s, 15m, 24h, 30d)"))
}

/// AtlHyper master: receives every cluster's pushes and serves them.
#[derive(Clone, Parser)]
#[command(
    name = "atlhyper-master",
    version,
    about = "AtlHyper master: ingest, storage, API and live stream for many clusters",
    long_about = "atlhyper-master takes the gzip JSON pushes of every cluster's agent, keeps the \
                  latest snapshots and bounded event and metric series in memory, persists them in \
                  SQLite (a push answered 202 is on disk), and serves them over /api/v1 and a \
                  Server-Sent Events stream to atlctl and the web UI.",
    after_help = "Example:\n  atlhyper-master --listen 0.0.0.0:8080 --db /var/lib/atlhyper/master.db\n\n\
                  On its first start master prints an admin token once (or takes \
                  ATLHYPER_MASTER_ADMIN_TOKEN)."
)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port. The first line on stdout is the URL.
    #[arg(long, env = "ATLHYPER_MASTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// SQLite database file [default: $XDG_DATA_HOME/atlhyper/master.db, else
    /// ~/.local/share/atlhyper/master.db, else ./atlhyper.db].
    #[arg(long, env = "ATLHYPER_MASTER_DB", global = true)]
    pub db: Option<PathBuf>,

    /// Largest the database may grow, in bytes (0: no limit). Past it writes fail with 507 and
    /// /readyz fails; nothing stored is lost.
    #[arg(long, env = "ATLHYPER_MASTER_DB_MAX_BYTES", default_value_t = 0)]
    pub db_max_bytes: u64,

    /// Admin token to accept (stored hashed). Without it, the first start prints a new one once.
    #[arg(long, env = "ATLHYPER_MASTER_ADMIN_TOKEN", hide_env_values = true)]
    pub admin_token: Option<String>,

    /// Clusters to register at start-up with their agent tokens, as `ID=TOKEN` (repeat the flag,
    /// or separate with commas in the variable).
    #[arg(
        long = "cluster",
        env = "ATLHYPER_MASTER_CLUSTERS",
        value_delimiter = ',',
        hide_env_values = true,
        value_name = "ID=TOKEN"
    )]
    pub clusters: Vec<String>,

    /// Largest push body accepted as received (gzip or not), in bytes.
    #[arg(long, env = "ATLHYPER_MASTER_MAX_BODY_BYTES", default_value_t = 8 << 20)]
    pub max_body_bytes: usize,

    /// Largest push body after decompression, in bytes.
    #[arg(long, env = "ATLHYPER_MASTER_MAX_DECOMPRESSED_BYTES", default_value_t = 128 << 20)]
    pub max_decompressed_bytes: usize,

    /// Push bodies of 64 KiB or more (and every gzip one) decoded at once; more wait their turn,
    /// so memory holds at most this many decompressed bodies [default: the CPU count, at
    /// least 2].
    #[arg(long, env = "ATLHYPER_MASTER_MAX_CONCURRENT_DECODES")]
    pub max_concurrent_decodes: Option<usize>,

    /// How long events are kept in memory and in the database.
    #[arg(long, env = "ATLHYPER_MASTER_TTL", default_value = "24h", value_parser = duration)]
    pub ttl: Duration,

    /// How long node-metric samples are kept in memory (and raw in the database).
    #[arg(long, env = "ATLHYPER_MASTER_METRICS_TTL", default_value = "15m", value_parser = duration)]
    pub metrics_ttl: Duration,

    /// Most records in each in-memory series (events; metric samples).
    #[arg(long, env = "ATLHYPER_MASTER_MAX_RECORDS", default_value_t = 50_000)]
    pub max_records: usize,

    /// How often expired records are removed and rollups are computed.
    #[arg(long, env = "ATLHYPER_MASTER_CLEANUP_INTERVAL", default_value = "5m", value_parser = duration)]
    pub cleanup_interval: Duration,

    /// How long one-minute metric rollups are kept.
    #[arg(long, env = "ATLHYPER_MASTER_MINUTE_ROLLUP_TTL", default_value = "24h", value_parser = duration)]
    pub minute_rollup_ttl: Duration,

    /// How long one-hour metric rollups are kept.
    #[arg(long, env = "ATLHYPER_MASTER_HOUR_ROLLUP_TTL", default_value = "30d", value_parser = duration)]
    pub hour_rollup_ttl: Duration,

    /// A cluster with no push for this long is shown as stale.
    #[arg(long, env = "ATLHYPER_MASTER_STALE_AFTER", default_value = "60s", value_parser = duration)]
    pub stale_after: Duration,

    /// An agent whose clock is further than this from master's is warned about in the log
    /// (its pushes are taken all the same; the skew is in `atlctl get clusters` and /metrics).
    #[arg(long, env = "ATLHYPER_MASTER_CLOCK_SKEW_WARNING", default_value = "30s", value_parser = duration)]
    pub clock_skew_warning: Duration,

    /// Stream events kept for `Last-Event-ID` resume.
    #[arg(long, env = "ATLHYPER_MASTER_STREAM_BUFFER", default_value_t = 10_000)]
    pub stream_buffer: usize,

    /// Most bytes the stream's resume buffer holds (with --stream-buffer, whichever is reached
    /// first; the oldest events go, and a client resuming from one gets a `reset`).
    #[arg(long, env = "ATLHYPER_MASTER_STREAM_BUFFER_BYTES", default_value_t = 64 << 20)]
    pub stream_buffer_bytes: usize,

    /// Longest a client may take to send a request's headers.
    #[arg(long, env = "ATLHYPER_MASTER_HEADER_TIMEOUT", default_value = "10s", value_parser = duration)]
    pub header_timeout: Duration,

    /// Longest a connection may stay open with no request in flight (a held long poll or
    /// stream is in flight). A new connection must send its first request's headers within
    /// --header-timeout.
    #[arg(long, env = "ATLHYPER_MASTER_IDLE_TIMEOUT", default_value = "60s", value_parser = duration)]
    pub idle_timeout: Duration,

    /// Most client connections open at once (each agent holds one or two: pushes and its
    /// command long poll). Lowered to fit the file-descriptor limit; at the cap the connection
    /// idle the longest is closed to make room.
    #[arg(
        long,
        env = "ATLHYPER_MASTER_MAX_CONNECTIONS",
        default_value_t = 10_000
    )]
    pub max_connections: usize,

    /// Longest a client may take to send a request's body.
    #[arg(long, env = "ATLHYPER_MASTER_BODY_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub body_timeout: Duration,

    /// A command not settled this long after it was queued expires (never runs).
    #[arg(long, env = "ATLHYPER_MASTER_COMMAND_TTL", default_value = "10m", value_parser = duration)]
    pub command_ttl: Duration,

    /// New commands each user may queue per second, on average (a retry under the same
    /// Idempotency-Key is not new). Past it: 429 with Retry-After.
    #[arg(long, env = "ATLHYPER_MASTER_COMMAND_RATE", default_value_t = 5)]
    pub command_rate: u32,

    /// New commands a user may queue at once before --command-rate applies.
    #[arg(long, env = "ATLHYPER_MASTER_COMMAND_BURST", default_value_t = 20)]
    pub command_burst: u32,

    /// Most commands open (queued or delivered) in one cluster's queue; past it: 429.
    #[arg(long, env = "ATLHYPER_MASTER_MAX_OPEN_COMMANDS", default_value_t = 500)]
    pub max_open_commands: usize,

    /// Most settled commands kept (in memory and in the database; the oldest go first). Settled
    /// commands are also forgotten after --ttl.
    #[arg(
        long,
        env = "ATLHYPER_MASTER_MAX_COMMAND_ROWS",
        default_value_t = 100_000
    )]
    pub max_command_rows: usize,

    /// How long audit records are kept.
    #[arg(long, env = "ATLHYPER_MASTER_AUDIT_TTL", default_value = "90d", value_parser = duration)]
    pub audit_ttl: Duration,

    /// Most audit records kept (the oldest go first).
    #[arg(
        long,
        env = "ATLHYPER_MASTER_MAX_AUDIT_ROWS",
        default_value_t = 1_000_000
    )]
    pub max_audit_rows: usize,

    /// Longest an agent's command poll is held open without news.
    #[arg(long, env = "ATLHYPER_MASTER_POLL_TIMEOUT", default_value = "30s", value_parser = duration)]
    pub poll_timeout: Duration,

    /// Largest command output (logs, describe) kept, in bytes; longer output is truncated
    /// with a marker.
    #[arg(long, env = "ATLHYPER_MASTER_MAX_COMMAND_OUTPUT", default_value_t = 1 << 20)]
    pub max_command_output: usize,

    /// Log filter (tracing's env-filter syntax), e.g. `info` or `atlhyper_master=debug`.
    #[arg(long, env = "ATLHYPER_MASTER_LOG", default_value = "info")]
    pub log: String,

    /// Log lines as `text` (for people) or `json` (one object per line, for a log pipeline).
    #[arg(long, env = "ATLHYPER_MASTER_LOG_FORMAT", value_enum, default_value_t = atlhyper_runtime::log::LogFormat::Text)]
    pub log_format: atlhyper_runtime::log::LogFormat,

    /// Fault injection for tests: hold every database commit this long (a slow disk's fsync).
    #[arg(long, env = "ATLHYPER_MASTER_COMMIT_DELAY", default_value = "0s", value_parser = duration, hide = true)]
    pub commit_delay: Duration,

    /// Print the effective configuration (secrets redacted) and exit.
    #[arg(long)]
    pub print_config: bool,

    #[command(subcommand)]
    pub command: Option<MasterCommand>,
}

/// What master does instead of serving.
#[derive(Clone, Debug, Subcommand)]
pub enum MasterCommand {
    /// Store a new admin token in the database and print it (the way back in when every admin
    /// token is lost, revoked or expired). Master need not run; a running master accepts the
    /// token after its next start. The change is audited.
    ResetAdminToken {
        /// Name of the new token [default: admin-reset-UNIXSECONDS, a name no live token has].
        #[arg(long)]
        name: Option<String>,
    },
}

/// A cluster registered from the configuration.
#[derive(Clone, PartialEq, Eq)]
pub struct ClusterToken {
    pub id: String,
    pub token: String,
}

impl fmt::Debug for ClusterToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}=<redacted>", self.id)
    }
}

impl Config {
    /// The defaults, as if no flag or variable were set (tests and `atlctl demo` start here).
    pub fn defaults() -> Self {
        Config::try_parse_from(["atlhyper-master"]).expect("the defaults parse")
    }

    /// The database path: `--db`, else the XDG data dir, else `./atlhyper.db`.
    pub fn db_path(&self) -> PathBuf {
        if let Some(path) = &self.db {
            return path.clone();
        }
        let data_home = std::env::var_os("XDG_DATA_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/share")));
        match data_home {
            Some(dir) => dir.join("atlhyper").join("master.db"),
            None => PathBuf::from("atlhyper.db"),
        }
    }

    /// How many push bodies are decoded at once.
    pub fn concurrent_decodes(&self) -> usize {
        self.max_concurrent_decodes.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map_or(2, std::num::NonZero::get)
                .max(2)
        })
    }

    /// The `--cluster ID=TOKEN` entries, checked.
    ///
    /// # Errors
    /// A message naming the bad entry.
    pub fn cluster_tokens(&self) -> Result<Vec<ClusterToken>, String> {
        self.clusters
            .iter()
            .filter(|c| !c.trim().is_empty())
            .map(|entry| {
                let (id, token) = entry.split_once('=').ok_or_else(|| {
                    format!(
                        "--cluster `{}`: expected ID=TOKEN",
                        entry.split('=').next().unwrap_or("")
                    )
                })?;
                let id = id.trim();
                atlhyper_model::validate::dns1123_label(id)
                    .map_err(|reason| format!("--cluster `{id}`: {reason}"))?;
                if token.trim().len() < 16 {
                    return Err(format!(
                        "--cluster `{id}`: the token must have at least 16 characters"
                    ));
                }
                Ok(ClusterToken {
                    id: id.to_owned(),
                    token: token.trim().to_owned(),
                })
            })
            .collect()
    }

    /// Checks what clap cannot.
    ///
    /// # Errors
    /// A message naming the bad setting.
    pub fn validate(&self) -> Result<(), String> {
        self.cluster_tokens()?;
        if self.admin_token.as_ref().is_some_and(|t| t.len() < 16) {
            return Err("--admin-token must have at least 16 characters".to_owned());
        }
        if self.max_body_bytes == 0 || self.max_decompressed_bytes < self.max_body_bytes {
            return Err(
                "--max-decompressed-bytes must be at least --max-body-bytes, both above 0"
                    .to_owned(),
            );
        }
        if self.max_records == 0 || self.stream_buffer == 0 || self.stream_buffer_bytes == 0 {
            return Err(
                "--max-records, --stream-buffer and --stream-buffer-bytes must be above 0"
                    .to_owned(),
            );
        }
        if self.command_rate == 0 || self.command_burst == 0 || self.max_open_commands == 0 {
            return Err(
                "--command-rate, --command-burst and --max-open-commands must be above 0"
                    .to_owned(),
            );
        }
        if self.max_connections == 0 {
            return Err("--max-connections must be above 0".to_owned());
        }
        if self.header_timeout.is_zero() || self.idle_timeout.is_zero() {
            return Err("--header-timeout and --idle-timeout must be above 0".to_owned());
        }
        if self.cleanup_interval.is_zero() {
            return Err("--cleanup-interval must be above 0".to_owned());
        }
        Ok(())
    }

    /// The configuration as `--print-config` shows it: a TOML document, secrets redacted.
    pub fn render(&self) -> String {
        let clusters: Vec<String> = self
            .cluster_tokens()
            .unwrap_or_default()
            .iter()
            .map(|c| format!("{c:?}"))
            .collect();
        PrintConfig::new()
            .text("listen", self.listen)
            .path("db", &self.db_path())
            .number("db_max_bytes", self.db_max_bytes)
            .secret("admin_token", self.admin_token.as_deref())
            .list("clusters", clusters)
            .number("max_body_bytes", self.max_body_bytes as u64)
            .number("max_decompressed_bytes", self.max_decompressed_bytes as u64)
            .number("max_concurrent_decodes", self.concurrent_decodes() as u64)
            .duration("ttl", self.ttl)
            .duration("metrics_ttl", self.metrics_ttl)
            .number("max_records", self.max_records as u64)
            .duration("cleanup_interval", self.cleanup_interval)
            .duration("minute_rollup_ttl", self.minute_rollup_ttl)
            .duration("hour_rollup_ttl", self.hour_rollup_ttl)
            .duration("stale_after", self.stale_after)
            .duration("clock_skew_warning", self.clock_skew_warning)
            .number("stream_buffer", self.stream_buffer as u64)
            .number("stream_buffer_bytes", self.stream_buffer_bytes as u64)
            .duration("header_timeout", self.header_timeout)
            .duration("idle_timeout", self.idle_timeout)
            .number("max_connections", self.max_connections as u64)
            .number("command_rate", self.command_rate)
            .number("command_burst", self.command_burst)
            .number("max_open_commands", self.max_open_commands as u64)
            .number("max_command_rows", self.max_command_rows as u64)
            .duration("audit_ttl", self.audit_ttl)
            .number("max_audit_rows", self.max_audit_rows as u64)
            .duration("body_timeout", self.body_timeout)
            .text("log", &self.log)
            .text("log_format", self.log_format.as_str())
            .render()
    }
}

/// Secrets never reach a log or a terminal through `Debug`.
impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_work_without_any_flag() {
        let config = Config::defaults();
        assert_eq!(config.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.ttl, Duration::from_secs(24 * 3600));
        assert_eq!(config.metrics_ttl, Duration::from_secs(15 * 60));
        assert_eq!(config.max_records, 50_000);
        assert_eq!(config.cleanup_interval, Duration::from_secs(300));
        assert_eq!(config.max_body_bytes, 8 << 20);
        assert_eq!(config.max_decompressed_bytes, 128 << 20);
        assert_eq!(config.validate(), Ok(()));
        assert!(
            config.db_path().ends_with("master.db") || config.db_path().ends_with("atlhyper.db")
        );
    }

    #[test]
    fn secrets_are_redacted_everywhere() {
        let config = Config::try_parse_from([
            "atlhyper-master",
            "--admin-token",
            "admin-secret-0123456789",
            "--cluster",
            "prod=cluster-secret-0123456789",
        ])
        .unwrap();
        for text in [config.render(), format!("{config:?}")] {
            assert!(!text.contains("secret"), "{text}");
            assert!(text.contains("prod=<redacted>"), "{text}");
            assert!(text.contains("admin_token = \"<redacted>\""), "{text}");
            let doc: toml::Table = text.parse().expect("--print-config is TOML");
            assert_eq!(doc["listen"].as_str(), Some("127.0.0.1:8080"));
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let bad = |args: &[&str]| {
            let mut all = vec!["atlhyper-master"];
            all.extend_from_slice(args);
            Config::try_parse_from(all).unwrap().validate().unwrap_err()
        };
        assert!(bad(&["--cluster", "prod"]).contains("expected ID=TOKEN"));
        assert!(bad(&["--cluster", "Prod_EU=0123456789abcdef"]).contains("Prod_EU"));
        assert!(bad(&["--cluster", "prod=short"]).contains("at least 16"));
        assert!(bad(&["--admin-token", "short"]).contains("at least 16"));
        assert!(
            bad(&["--max-body-bytes", "100", "--max-decompressed-bytes", "10"])
                .contains("max-decompressed")
        );
        let err = Config::try_parse_from(["atlhyper-master", "--ttl", "soon"])
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("soon"), "{err}");
    }
}
