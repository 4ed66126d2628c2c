//! The whole AtlHyper stack in one process, over loopback: kubesim as the cluster, master with
//! its SQLite file, the agent watching kubesim through kube-rs exactly as in a real cluster, and
//! node metrics pushed to the agent (simulated, and optionally this host's own sampler for one
//! node). `atlctl demo` runs one; the end-to-end tests and benches start theirs the same way.
//!
//! ```no_run
//! # async fn demo() -> Result<(), atlhyper_stack::StackError> {
//! let stack = atlhyper_stack::Stack::builder().scenario("demo").start().await?;
//! println!("master at {}", stack.master_url());
//! stack.stop().await;
//! # Ok(()) }
//! ```
//!
//! Master's and the agent's addresses are kept, so a test that stops either can start it again
//! where the other parts expect it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

pub use kubesim::sim::SimOptions;

/// Why the stack did not start: the part, and its error.
#[derive(Debug, thiserror::Error)]
#[error("{part}: {message}")]
pub struct StackError {
    pub part: &'static str,
    pub message: String,
}

fn failed(part: &'static str) -> impl Fn(String) -> StackError {
    move |message| StackError { part, message }
}

/// A new token, or the one kept in `dir/file` (written there, mode 0600, when new).
fn token_in(dir: Option<&Path>, file: &str, prefix: &str) -> Result<String, StackError> {
    let Some(dir) = dir else {
        return Ok(atlhyper_master::auth::generate(prefix));
    };
    let path = dir.join(file);
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(token) = text.lines().next().filter(|t| t.len() >= 16)
    {
        return Ok(token.to_owned());
    }
    let token = atlhyper_master::auth::generate(prefix);
    let written = {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .and_then(|mut f| writeln!(f, "{token}"))
    };
    written.map_err(|e| failed("the data directory")(format!("{}: {e}", path.display())))?;
    Ok(token)
}

/// Which node metrics reach the agent.
#[derive(Debug, Clone, Default)]
pub enum NodeMetrics {
    /// Simulated samples for every node of the scenario.
    #[default]
    Simulated,
    /// Simulated for every node but this one, which this host's own sampler reports as (the
    /// demo shows one node's real figures).
    HostAs(String),
    /// None.
    Off,
}

type Tweak<'a, C> = Box<dyn FnOnce(&mut C) + Send + 'a>;

/// How to start a [`Stack`]; every setting has a default that works on a laptop.
pub struct Builder<'a> {
    scenario: String,
    speed: f64,
    sim: SimOptions,
    data_dir: Option<PathBuf>,
    listen: SocketAddr,
    cluster_id: String,
    admin_token: Option<String>,
    cluster_token: Option<String>,
    node_metrics: NodeMetrics,
    with_agent: bool,
    master: Option<Tweak<'a, atlhyper_master::Config>>,
    agent: Option<Tweak<'a, atlhyper_agent::Config>>,
}

impl Default for Builder<'_> {
    fn default() -> Self {
        Builder {
            scenario: "demo".to_owned(),
            speed: 1.0,
            sim: SimOptions::default(),
            data_dir: None,
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            cluster_id: "demo".to_owned(),
            admin_token: None,
            cluster_token: None,
            node_metrics: NodeMetrics::default(),
            with_agent: true,
            master: None,
            agent: None,
        }
    }
}

impl<'a> Builder<'a> {
    /// kubesim's scenario: a built-in name (`demo`, `large`, …) or a YAML file.
    pub fn scenario(mut self, scenario: &str) -> Self {
        self.scenario = scenario.to_owned();
        self
    }

    /// Simulated seconds per real second.
    pub fn speed(mut self, speed: f64) -> Self {
        self.speed = speed;
        self
    }

    /// kubesim's own knobs (failure injection, metric interval, …).
    pub fn sim(mut self, sim: SimOptions) -> Self {
        self.sim = sim;
        self
    }

    /// Where master's database and the kubeconfig live (kept); a temporary directory, removed
    /// with the stack, when not given.
    pub fn data_dir(mut self, dir: &Path) -> Self {
        self.data_dir = Some(dir.to_owned());
        self
    }

    /// Master's listen address (a loopback port of the system's choosing by default).
    pub fn listen(mut self, addr: SocketAddr) -> Self {
        self.listen = addr;
        self
    }

    /// The simulated cluster's id at master (`demo`).
    pub fn cluster_id(mut self, id: &str) -> Self {
        self.cluster_id = id.to_owned();
        self
    }

    /// Master's admin token (a new one when not given).
    pub fn admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.to_owned());
        self
    }

    /// The cluster's agent token (a new one when not given).
    pub fn cluster_token(mut self, token: &str) -> Self {
        self.cluster_token = Some(token.to_owned());
        self
    }

    /// Which node metrics reach the agent ([`NodeMetrics::Simulated`]).
    pub fn node_metrics(mut self, node_metrics: NodeMetrics) -> Self {
        self.node_metrics = node_metrics;
        self
    }

    /// Starts master and kubesim only: the test starts the agent itself
    /// ([`Stack::start_agent`] with [`Stack::agent_config`], changed as it needs).
    pub fn without_agent(mut self) -> Self {
        self.with_agent = false;
        self
    }

    /// Changes master's configuration before it starts.
    pub fn master(mut self, tweak: impl FnOnce(&mut atlhyper_master::Config) + Send + 'a) -> Self {
        self.master = Some(Box::new(tweak));
        self
    }

    /// Changes the agent's configuration before it starts.
    pub fn agent(mut self, tweak: impl FnOnce(&mut atlhyper_agent::Config) + Send + 'a) -> Self {
        self.agent = Some(Box::new(tweak));
        self
    }

    /// Starts master, kubesim, the node-metric pushers and (unless [`Builder::without_agent`])
    /// the agent; returns once master serves and the agent runs.
    ///
    /// # Errors
    /// [`StackError`] naming the part that did not start.
    pub async fn start(self) -> Result<Stack, StackError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (temp, dir) = match &self.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| failed("the data directory")(format!("{}: {e}", dir.display())))?;
                (None, dir.clone())
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("atlhyper-stack-")
                    .tempdir()
                    .map_err(|e| failed("a temporary directory")(e.to_string()))?;
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        // In a kept data directory the tokens are kept too, so it keeps working with them.
        let kept = temp.is_none().then_some(dir.as_path());
        let admin_token = match self.admin_token {
            Some(token) => token,
            None => token_in(kept, "admin-token", "atl_")?,
        };
        let cluster_token = match self.cluster_token {
            Some(token) => token,
            None => token_in(kept, "cluster-token", "atl_agent_")?,
        };

        let mut master_config = atlhyper_master::Config::defaults();
        master_config.listen = self.listen;
        master_config.db = Some(dir.join("master.db"));
        master_config.admin_token = Some(admin_token.clone());
        master_config.clusters = vec![format!("{}={cluster_token}", self.cluster_id)];
        if let Some(tweak) = self.master {
            tweak(&mut master_config);
        }
        let master = atlhyper_master::start(&master_config)
            .await
            .map_err(|e| failed("master")(e.to_string()))?;
        // A restarted master comes back where the agent and clients expect it.
        master_config.listen = master.addr;

        let kubeconfig = dir.join("kubeconfig");
        let mut kubesim_config = kubesim::Config::embedded(&self.scenario, &kubeconfig);
        kubesim_config.speed = self.speed;
        let kubesim = kubesim::start(&kubesim_config, self.sim)
            .await
            .map_err(|e| failed("the simulated cluster")(e.to_string()))?;

        // The agent's address is chosen before it starts, so node metrics can be pushed there
        // whether or not it runs yet, and a restarted agent comes back on it.
        let agent_addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| failed("the agent's address")(e.to_string()))?;
        let mut agent_config = atlhyper_agent::Config::defaults();
        agent_config.master.clone_from(&master.url);
        agent_config.token = Some(cluster_token);
        agent_config.cluster_id = Some(self.cluster_id.clone());
        agent_config.kubeconfig = Some(kubeconfig.clone());
        agent_config.listen = agent_addr;
        if let Some(tweak) = self.agent {
            tweak(&mut agent_config);
        }

        let side_tasks = CancellationToken::new();
        let agent_url = format!("http://{}", agent_config.listen);
        let simulated_except = match &self.node_metrics {
            NodeMetrics::Simulated => Some(Vec::new()),
            NodeMetrics::HostAs(node) => Some(vec![node.clone()]),
            NodeMetrics::Off => None,
        };
        if let Some(except) = simulated_except {
            tokio::spawn(kubesim::sim::node_load::push(
                kubesim.sim.clone(),
                agent_url.clone(),
                None,
                kubesim.sim.options.node_metrics_interval,
                1,
                except,
                side_tasks.clone(),
            ));
        }
        if let NodeMetrics::HostAs(node) = &self.node_metrics {
            let mut nodemetrics = atlhyper_nodemetrics::Config::defaults();
            nodemetrics.agent = agent_url;
            nodemetrics.node_name = Some(node.clone());
            tokio::spawn(atlhyper_nodemetrics::run(nodemetrics, side_tasks.clone()));
        }

        let mut stack = Stack {
            admin_token,
            cluster_id: self.cluster_id,
            kubeconfig,
            master: Some(master),
            master_config,
            kubesim,
            agent: None,
            agent_config,
            side_tasks,
            dir,
            _temp: temp,
        };
        if self.with_agent {
            stack.start_agent().await?;
        }
        Ok(stack)
    }
}

/// A running stack. Its parts are public: tests reach into kubesim's world and master's memory.
pub struct Stack {
    /// Master's admin token.
    pub admin_token: String,
    /// The simulated cluster's id at master.
    pub cluster_id: String,
    /// kubesim's kubeconfig (for kubectl and kube-rs).
    pub kubeconfig: PathBuf,
    /// `None` while master is stopped.
    pub master: Option<atlhyper_master::Running>,
    /// What master was (and is again by [`Stack::start_master`]) started with.
    pub master_config: atlhyper_master::Config,
    pub kubesim: kubesim::Running,
    /// `None` while the agent is stopped (or was never started).
    pub agent: Option<atlhyper_agent::Running>,
    /// What the agent is started with by [`Stack::start_agent`].
    pub agent_config: atlhyper_agent::Config,
    side_tasks: CancellationToken,
    dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
}

impl Stack {
    /// A [`Builder`] with every default.
    pub fn builder<'a>() -> Builder<'a> {
        Builder::default()
    }

    /// Master's URL (`http://ADDR`), whether or not it runs now.
    pub fn master_url(&self) -> String {
        format!("http://{}", self.master_config.listen)
    }

    /// The agent's URL (`http://ADDR`), whether or not it runs now.
    pub fn agent_url(&self) -> String {
        format!("http://{}", self.agent_config.listen)
    }

    /// Where master's database and the kubeconfig live.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A kube-rs client of the simulated cluster.
    ///
    /// # Errors
    /// [`StackError`] when the kubeconfig does not load.
    pub async fn kube_client(&self) -> Result<kube::Client, StackError> {
        let err = failed("the kubeconfig");
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)
            .map_err(|e| err(e.to_string()))?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| err(e.to_string()))?;
        kube::Client::try_from(config).map_err(|e| err(e.to_string()))
    }

    /// Stops master (it flushes its database); a no-op when stopped.
    pub async fn stop_master(&mut self) {
        if let Some(master) = self.master.take() {
            master.stop().await;
        }
    }

    /// Starts master again on its address, from its database; a no-op when running.
    ///
    /// # Errors
    /// [`StackError`] when it does not start.
    pub async fn start_master(&mut self) -> Result<(), StackError> {
        if self.master.is_none() {
            let master = atlhyper_master::start(&self.master_config)
                .await
                .map_err(|e| failed("master")(e.to_string()))?;
            self.master = Some(master);
        }
        Ok(())
    }

    /// Stops the agent (it pushes a last time); a no-op when stopped.
    pub async fn stop_agent(&mut self) {
        if let Some(agent) = self.agent.take() {
            agent.stop().await;
        }
    }

    /// Starts the agent with [`Stack::agent_config`]; a no-op when running.
    ///
    /// # Errors
    /// [`StackError`] when it does not start.
    pub async fn start_agent(&mut self) -> Result<(), StackError> {
        if self.agent.is_none() {
            let agent = atlhyper_agent::start(&self.agent_config)
                .await
                .map_err(|e| failed("the agent")(e.to_string()))?;
            self.agent = Some(agent);
        }
        Ok(())
    }

    /// Stops everything: node metrics, the agent (a last push), kubesim, master (a flushed
    /// database).
    pub async fn stop(mut self) {
        self.side_tasks.cancel();
        self.stop_agent().await;
        self.stop_master().await;
        self.kubesim.stop().await;
    }
}
