//! kubesim → agent → master, all real, over loopback, and helpers to look at each.
#![allow(dead_code)]
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use atlhyper_stack::SimOptions;
use serde_json::Value;

pub const ADMIN: &str = "admin-token-for-agent-tests-0123";
pub const CLUSTER_TOKEN: &str = "demo-cluster-token-0123456789ab";

/// The in-process stack with what the tests use beside it: a kube-rs client of kubesim and
/// an HTTP client for master.
pub struct Stack {
    pub parts: atlhyper_stack::Stack,
    pub kube: kube::Client,
    pub http: reqwest::Client,
}

impl std::ops::Deref for Stack {
    type Target = atlhyper_stack::Stack;
    fn deref(&self) -> &Self::Target {
        &self.parts
    }
}

impl std::ops::DerefMut for Stack {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.parts
    }
}

pub async fn start() -> Stack {
    start_with("1", SimOptions::default(), |_| {}).await
}

/// Master and kubesim's `demo` scenario at `speed` simulated seconds per real second, node
/// metrics pushed to where the agent will listen, and no agent: for a test that starts its own.
pub async fn start_cluster(speed: &str, sim: SimOptions) -> atlhyper_stack::Stack {
    builder(speed, sim).without_agent().start().await.unwrap()
}

fn builder<'a>(speed: &str, sim: SimOptions) -> atlhyper_stack::Builder<'a> {
    atlhyper_stack::Stack::builder()
        .scenario("demo")
        .speed(speed.parse().unwrap())
        .sim(sim)
        .admin_token(ADMIN)
        .cluster_token(CLUSTER_TOKEN)
}

/// The whole stack; `tweak` changes the agent's configuration. `speed`: simulated seconds per
/// real second.
pub async fn start_with(
    speed: &str,
    sim: SimOptions,
    tweak: impl FnOnce(&mut atlhyper_agent::Config) + Send,
) -> Stack {
    let parts = builder(speed, sim).agent(tweak).start().await.unwrap();
    Stack {
        kube: parts.kube_client().await.unwrap(),
        parts,
        http: client(),
    }
}

impl Stack {
    pub async fn get(&self, path: &str) -> Value {
        self.http
            .get(format!("{}{path}", self.master_url()))
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
        self.parts.stop().await;
    }
}

pub use atlhyper_testkit::wait_for;

/// An HTTP client for the tests' own requests.
pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}
