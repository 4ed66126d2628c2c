//! A simulated cluster for one test: kubesim on a free loopback port, a kubeconfig in a temp
//! dir, and a kube-rs client that trusts its CA.
#![allow(dead_code)]

use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use clap::Parser;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kubesim::sim::SimOptions;

pub struct Cluster {
    pub running: kubesim::Running,
    pub client: kube::Client,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

/// A small cluster: two workers, namespace `app`, deployment `web` (3 × nginx).
pub const SMALL: &str = "\
nodes:
- name: worker
  count: 2
namespaces: [app]
deployments:
- namespace: app
  name: web
  replicas: 3
  containers:
  - name: web
    image: nginx:1.27
    cpu: 100m
    memory: 64Mi
";

/// Starts kubesim with a built-in scenario name or an inline YAML scenario.
pub async fn start(scenario: &str, speed: f64, options: SimOptions) -> Cluster {
    start_with(scenario, speed, options, &[]).await
}

/// Like [`start`], with more command-line flags.
pub async fn start_with(
    scenario: &str,
    speed: f64,
    options: SimOptions,
    extra: &[&str],
) -> Cluster {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = tempfile::tempdir().expect("temp dir");
    let scenario_arg = if scenario.contains('\n') {
        let path = dir.path().join("scenario.yaml");
        std::fs::write(&path, scenario).expect("write scenario");
        path.display().to_string()
    } else {
        scenario.to_owned()
    };
    let kubeconfig = dir.path().join("kubeconfig");
    let speed = speed.to_string();
    let mut args = vec![
        "kubesim",
        "--scenario",
        &scenario_arg,
        "--listen",
        "127.0.0.1:0",
        "--speed",
        &speed,
        "--kubeconfig-out",
        kubeconfig.to_str().expect("utf-8 path"),
    ];
    args.extend_from_slice(extra);
    let config = kubesim::Config::try_parse_from(args).expect("valid flags");
    let running = kubesim::start(&config, options)
        .await
        .expect("kubesim starts");
    let yaml = std::fs::read_to_string(&kubeconfig).expect("kubeconfig written");
    let kc = Kubeconfig::from_yaml(&yaml).expect("kubeconfig parses");
    let client_config = kube::Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube-rs reads the kubeconfig");
    let client = kube::Client::try_from(client_config).expect("client");
    Cluster {
        running,
        client,
        kubeconfig,
        dir,
    }
}

/// Polls `check` until it returns true, failing after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
