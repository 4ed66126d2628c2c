//! kubesim → agent → master, all real, over loopback, and helpers to look at each.
#![allow(dead_code)]
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kubesim::sim::SimOptions;
use serde_json::Value;

pub const ADMIN: &str = "admin-token-for-agent-tests-0123";
pub const CLUSTER_TOKEN: &str = "demo-cluster-token-0123456789ab";

pub struct Stack {
    /// `None` while master is away.
    pub master: Option<atlhyper_master::Running>,
    pub master_config: atlhyper_master::Config,
    pub kubesim: kubesim::Running,
    pub agent: atlhyper_agent::Running,
    pub agent_config: atlhyper_agent::Config,
    pub kube: kube::Client,
    pub http: reqwest::Client,
    pub _dir: tempfile::TempDir,
}

pub async fn start() -> Stack {
    start_with("1", SimOptions::default(), |_| {}).await
}

/// Master and kubesim without an agent: what an agent of a test's own starting needs.
pub struct Cluster {
    pub master: atlhyper_master::Running,
    pub master_config: atlhyper_master::Config,
    pub kubesim: kubesim::Running,
    pub kubeconfig: std::path::PathBuf,
    /// Where kubesim pushes its nodes' metrics: the agent listens here.
    pub agent_addr: std::net::SocketAddr,
    pub dir: tempfile::TempDir,
}

/// Starts master (with cluster `demo`) and kubesim's `demo` scenario at `speed` simulated
/// seconds per real second.
pub async fn start_cluster(speed: &str, sim: SimOptions) -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().unwrap();

    let mut master_config = atlhyper_master::Config::defaults();
    master_config.listen = "127.0.0.1:0".parse().unwrap();
    master_config.db = Some(dir.path().join("master.db"));
    master_config.admin_token = Some(ADMIN.to_owned());
    master_config.clusters = vec![format!("demo={CLUSTER_TOKEN}")];
    let master = atlhyper_master::start(&master_config).await.unwrap();
    // Restarts come back on the same port.
    master_config.listen = master.addr;

    // The agent's port is chosen first, so kubesim can push its nodes' metrics there.
    let agent_addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let mut kubesim_config = kubesim::Config::embedded("demo", &kubeconfig);
    kubesim_config.push_node_metrics = Some(format!("http://{agent_addr}"));
    kubesim_config.speed = speed.parse().unwrap();
    let kubesim = kubesim::start(&kubesim_config, sim).await.unwrap();
    Cluster {
        master,
        master_config,
        kubesim,
        kubeconfig,
        agent_addr,
        dir,
    }
}

/// `speed`: simulated seconds per real second.
pub async fn start_with(
    speed: &str,
    sim: SimOptions,
    tweak: impl FnOnce(&mut atlhyper_agent::Config),
) -> Stack {
    let Cluster {
        master,
        master_config,
        kubesim,
        kubeconfig,
        agent_addr,
        dir,
    } = start_cluster(speed, sim).await;
    let mut agent_config = atlhyper_agent::Config::defaults();
    agent_config.master = master.url.clone();
    agent_config.token = Some(CLUSTER_TOKEN.to_owned());
    agent_config.cluster_id = Some("demo".to_owned());
    agent_config.kubeconfig = Some(kubeconfig.clone());
    agent_config.listen = agent_addr;
    tweak(&mut agent_config);
    let agent = atlhyper_agent::start(&agent_config).await.unwrap();

    let kc = kube::config::Kubeconfig::read_from(&kubeconfig).unwrap();
    let kube_config =
        kube::Config::from_custom_kubeconfig(kc, &kube::config::KubeConfigOptions::default())
            .await
            .unwrap();
    Stack {
        master: Some(master),
        master_config,
        kubesim,
        agent,
        agent_config,
        kube: kube::Client::try_from(kube_config).unwrap(),
        http: client(),
        _dir: dir,
    }
}

impl Stack {
    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!(
                "{}{path}",
                self.master.as_ref().expect("master is up").url
            ))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The pods master lists, as `namespace/name` → uid, and how many entries there were.
    pub async fn master_pods(&self) -> (std::collections::BTreeMap<String, String>, usize) {
        let list = self.get("/api/v1/pods?cluster=demo").await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let map = items
            .iter()
            .map(|p| {
                (
                    format!(
                        "{}/{}",
                        p["namespace"].as_str().unwrap(),
                        p["name"].as_str().unwrap()
                    ),
                    p["uid"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (map, items.len())
    }

    /// The pods kubesim holds, as `namespace/name` → uid.
    pub fn cluster_pods(&self) -> std::collections::BTreeMap<String, String> {
        self.kubesim
            .sim
            .world()
            .pods
            .iter()
            .map(|e| {
                let m = &e.object.metadata;
                (
                    format!(
                        "{}/{}",
                        m.namespace.clone().unwrap_or_default(),
                        m.name.clone().unwrap_or_default()
                    ),
                    m.uid.clone().unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Waits until master lists exactly the cluster's pods, once each.
    pub async fn converged(&self, timeout: Duration) -> bool {
        wait_for(timeout, async || {
            let (listed, entries) = self.master_pods().await;
            entries == listed.len() && listed == self.cluster_pods()
        })
        .await
    }

    pub async fn stop(self) {
        self.agent.stop().await;
        self.kubesim.stop().await;
        if let Some(master) = self.master {
            master.stop().await;
        }
    }
}

pub use atlhyper_testkit::wait_for;

/// An HTTP client for the tests' own requests.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
