//! atlhyper-agent: one per cluster, and the cluster's only way out.
//!
//! [`watch`] follows the Kubernetes API with kube-rs watchers and keeps compact summaries in the
//! [`cache::Cache`]; [`intake`] takes node samples from nodemetrics; [`push::Pusher`] sends each
//! source to master on the seed's schedule and early after a change. [`start`] runs it all and
//! returns a [`Running`] agent; `atlctl demo` and the end-to-end tests start it in-process.

pub mod cache;
mod config;
pub mod control;
mod describe;
mod drain;
pub mod intake;
pub mod operator;
pub mod outbox;
pub mod push;
pub mod telemetry;
pub mod watch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use atlhyper_kube_summary::summary;
use atlhyper_model::codec::Limits;
pub use config::Config;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Node, Pod, Service};
use k8s_openapi::api::networking::v1::Ingress;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cache::Cache;
use crate::push::{Master, Pusher};
use crate::telemetry::Telemetry;

pub use atlhyper_runtime::now_ms;

/// Why the agent could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("cannot configure the Kubernetes client: {0}")]
    Kube(String),
    #[error("cannot read the kube-system namespace to name the cluster (set --cluster-id): {0}")]
    ClusterId(String),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A running agent.
pub struct Running {
    /// Where intake and the operations endpoints listen.
    pub addr: SocketAddr,
    pub cluster_id: String,
    pub cache: Arc<Cache>,
    shutdown: CancellationToken,
    pusher: JoinHandle<()>,
    tasks: Vec<JoinHandle<()>>,
}

impl Running {
    /// Stops watching and serving, after a last push of what changed.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.pusher.await;
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

/// Two clients of the same API server: one for the watches, which lets kube-rs retry what the
/// server throttles; one for commands, which sees a 429 at once — a drain must honour a
/// disruption budget's 429 against its own deadline, not wait out kube-rs's back-off.
async fn kube_clients(config: &Config) -> Result<(kube::Client, kube::Client), StartError> {
    let mut kube_config = match &config.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| StartError::Kube(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(
                kubeconfig,
                &kube::config::KubeConfigOptions::default(),
            )
            .await
            .map_err(|e| StartError::Kube(e.to_string()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| StartError::Kube(e.to_string()))?,
    };
    // Every request is bounded: a stalled API server must not hang a watch forever.
    kube_config.connect_timeout = Some(Duration::from_secs(10));
    kube_config.read_timeout = Some(config.watch_idle_timeout);
    let mut command_config = kube_config.clone();
    command_config.default_retry = false;
    command_config.read_timeout = Some(Duration::from_secs(60));
    let watches =
        kube::Client::try_from(kube_config).map_err(|e| StartError::Kube(e.to_string()))?;
    let commands =
        kube::Client::try_from(command_config).map_err(|e| StartError::Kube(e.to_string()))?;
    Ok((watches, commands))
}

/// Connects to the cluster, starts the watches, intake and pusher.
///
/// # Errors
/// [`StartError`] naming what failed.
pub async fn start(config: &Config) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (client, command_client) = kube_clients(config).await?;
    let cluster_id = match &config.cluster_id {
        Some(id) => id.clone(),
        None => {
            let api: kube::Api<Namespace> = kube::Api::all(client.clone());
            let ns = api
                .get("kube-system")
                .await
                .map_err(|e| StartError::ClusterId(e.to_string()))?;
            let uid = ns.metadata.uid.unwrap_or_default();
            atlhyper_model::validate::dns1123_label(&uid)
                .map_err(|reason| StartError::ClusterId(format!("uid `{uid}`: {reason}")))?;
            uid
        }
    };
    let cache = Arc::new(Cache::new(config.max_pending_events, config.node_ttl));
    let telemetry = Arc::new(Telemetry::new());
    let shutdown = CancellationToken::new();
    let mut tasks = Vec::new();

    macro_rules! watch_kind {
        ($k:ty, $summarize:expr) => {
            tasks.push(tokio::spawn(watch::snapshot_kind::<$k, _>(
                client.clone(),
                cache.clone(),
                config.page_size,
                $summarize,
                shutdown.clone(),
            )));
        };
    }
    watch_kind!(Pod, summary::pod);
    watch_kind!(Node, summary::node);
    watch_kind!(Deployment, summary::deployment);
    watch_kind!(Service, summary::service);
    watch_kind!(Namespace, summary::namespace_summary);
    watch_kind!(Ingress, summary::ingress);
    watch_kind!(ConfigMap, summary::configmap);
    tasks.push(tokio::spawn(watch::events(
        client.clone(),
        cache.clone(),
        config.page_size,
        shutdown.clone(),
    )));

    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let intake = Arc::new(intake::Intake {
        cache: cache.clone(),
        telemetry: telemetry.clone(),
        token: config.intake_token.clone(),
        limits: Limits {
            max_compressed_bytes: config.max_body_bytes,
            max_decompressed_bytes: config.max_body_bytes.saturating_mul(8),
            ..Limits::default()
        },
        fresh_push: Duration::from_secs(60),
    });
    let app = intake::router(intake);
    let serve_shutdown = shutdown.clone();
    tasks.push(tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(serve_shutdown.cancelled_owned())
            .await;
    }));

    let pusher = Pusher {
        cache: cache.clone(),
        master: Master::new(&config.master, config.token.clone(), config.push_timeout),
        cluster_id: cluster_id.clone(),
        schedule: config.schedule().map_err(StartError::Config)?,
        early: config.early_push,
        deltas: config.deltas,
        snapshot_interval: config.snapshot_interval,
        epoch: push::new_epoch(),
        telemetry,
    };
    let pusher = tokio::spawn(pusher.run(shutdown.clone()));

    let done = control::DoneLog::open(config.state_file.clone(), 10_000).map_err(|e| {
        StartError::Config(format!(
            "the state file {}: {e}",
            config
                .state_file
                .as_deref()
                .unwrap_or(std::path::Path::new(""))
                .display()
        ))
    })?;
    let control = Arc::new(control::Control {
        http: atlhyper_runtime::http::client(None),
        base: config.master.trim_end_matches('/').to_owned(),
        auth: atlhyper_runtime::http::Auth::bearer(config.token.as_deref()),
        cluster_id: cluster_id.clone(),
        session: done.session().to_owned(),
    });
    let done = Arc::new(parking_lot::Mutex::new(done));
    tasks.push(tokio::spawn(control::run(
        control,
        command_client,
        control::Settings {
            policy: control::Policy {
                allow: config.allow_commands.clone(),
                protected: config.protected_namespaces.clone(),
                max_replicas: config.max_replicas,
                configmap_values: config.configmap_values,
            },
            max_concurrent: config.max_concurrent_commands,
            max_output: config.max_command_output,
            hold: Duration::from_secs(30),
        },
        done,
        shutdown.clone(),
    )));
    tracing::info!(%cluster_id, %addr, master = %config.master, "agent watching");
    Ok(Running {
        addr,
        cluster_id,
        cache,
        shutdown,
        pusher,
        tasks,
    })
}
