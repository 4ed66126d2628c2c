//! kubesim: a simulated Kubernetes cluster serving the real Kubernetes HTTP API.
//!
//! The API server ([`api`]) answers discovery, list (with pagination and selectors), watch
//! (with bookmarks and in-stream 410s), server-side tables, patches, eviction, scale and logs
//! from one [`store::World`]; the controllers in [`sim`] schedule, start, crash and restart pods,
//! roll deployments and write events on a simulated clock. kubectl and kube-rs talk to it as to
//! a real cluster, which is what the agent's tests and `atlctl demo` need. Where the API server
//! fills something in, kubesim does as it does: a new Service's ClusterIP comes from
//! 10.96.0.0/12 (the lowest free address; the API server picks at random), a watch's first Table
//! carries the column definitions, and a 422 names its field as a Status cause.
//!
//! Start with [`start`]: it loads a [`scenario::Scenario`], binds the API and returns a
//! [`Running`] cluster with its URL, token and a handle on the world.

pub mod api;
mod config;
pub mod kinds;
pub mod kubeconfig;
pub mod scenario;
pub mod selector;
pub mod sim;
pub mod status;
pub mod store;
mod tls;

use std::net::SocketAddr;
use std::sync::Arc;

pub use config::Config;
use rand::Rng;
use tokio_util::sync::CancellationToken;

use crate::scenario::{Scenario, ScenarioError};
use crate::sim::clock::SimClock;
use crate::sim::{Sim, SimOptions};
use crate::store::World;

/// Why kubesim could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("cannot write the kubeconfig to {path}")]
    Kubeconfig {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// A running simulated cluster.
pub struct Running {
    /// `https://127.0.0.1:PORT`.
    pub url: String,
    /// The cluster CA that signed the server's certificate (PEM).
    pub ca_pem: String,
    /// The bearer token clients must present.
    pub token: String,
    pub sim: Arc<Sim>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// The kubeconfig text for this cluster.
    pub fn kubeconfig(&self) -> String {
        kubeconfig::render(&self.url, &self.ca_pem, &self.token)
    }

    /// Stops the server and the controllers, and waits for them.
    pub async fn stop(self) {
        self.shutdown.cancel();
        for task in self.tasks {
            let _ = task.await;
        }
    }
}

fn random_token() -> String {
    let mut rng = <rand::rngs::StdRng as rand::SeedableRng>::from_os_rng();
    (0..32)
        .map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)]))
        .collect()
}

/// Loads the scenario, binds the API server and starts the controllers.
///
/// # Errors
/// [`StartError`] for a bad configuration or scenario, a port in use, or an unwritable
/// kubeconfig path.
pub async fn start(config: &Config, options: SimOptions) -> Result<Running, StartError> {
    config.validate().map_err(StartError::Config)?;
    let scenario = Scenario::load(&config.scenario, config.seed)?;
    let clock = SimClock::new(config.speed);
    let mut world = World::new(config.seed, options.history);
    scenario.apply(&mut world, clock.now_ms())?;
    let sim = Arc::new(Sim::new(world, clock, options));

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
    let url = format!("https://{addr}");
    let identity = tls::identity(addr.ip())?;
    let token = config.token.clone().unwrap_or_else(random_token);
    if let Some(path) = &config.kubeconfig_out {
        kubeconfig::write(path, &url, &identity.ca_pem, &token).map_err(|source| {
            StartError::Kubeconfig {
                path: path.display().to_string(),
                source,
            }
        })?;
    }

    let shutdown = CancellationToken::new();
    let state = api::ApiState {
        sim: sim.clone(),
        token: token.clone().into(),
    };
    let app = api::router(state);
    let server_shutdown = shutdown.clone();
    let server = tokio::spawn(tls::serve(
        listener,
        identity.acceptor,
        app,
        server_shutdown,
    ));
    let controllers = tokio::spawn(sim::controllers::run(sim.clone(), shutdown.clone()));
    let mut tasks = vec![server, controllers];
    if let Some(url) = &config.push_node_metrics {
        tasks.push(tokio::spawn(sim::node_load::push(
            sim.clone(),
            url.clone(),
            config.node_metrics_token.clone(),
            sim.options.node_metrics_interval,
            config.seed,
            Vec::new(),
            shutdown.clone(),
        )));
    }
    tracing::info!(%url, scenario = %config.scenario, "kubesim serving");
    Ok(Running {
        url,
        ca_pem: identity.ca_pem,
        token,
        sim,
        shutdown,
        tasks,
    })
}
