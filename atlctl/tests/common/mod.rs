//! The demo stack in process, the real `atlctl` binary, and helpers to run it.
#![allow(dead_code)]
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

pub use atlhyper_testkit::wait_for;

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::Duration;

use atlctl::cli::DemoArgs;
use atlctl::demo::Demo;
use atlhyper_model::api::{InCluster, List};
use atlhyper_model::resources::Pod;
use k8s_openapi::api::core::v1::Pod as KubePod;
use kube::api::ListParams;

pub struct Stack {
    pub demo: Demo,
    pub kube: kube::Client,
    pub dir: tempfile::TempDir,
}

pub async fn start() -> Stack {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(&DemoArgs {
        headless: true,
        scenario: "demo".to_owned(),
        data_dir: Some(dir.path().join("data")),
        listen: "127.0.0.1:0".parse().unwrap(),
        speed: 1.0,
    })
    .await
    .unwrap();
    let kubeconfig = kube::config::Kubeconfig::read_from(&demo.kubeconfig).unwrap();
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await
    .unwrap();
    let stack = Stack {
        demo,
        kube: kube::Client::try_from(config).unwrap(),
        dir,
    };
    // The demo promises data within 3 s of start.
    let ready = wait_for(Duration::from_secs(3), async || {
        stack
            .run(&["get", "pods", "-A", "--json"])
            .await
            .json::<List<InCluster<Pod>>>()
            .is_some_and(|l| !l.items.is_empty())
    })
    .await;
    assert!(ready, "no pods at master 3 s after the demo started");
    stack
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        (self.code == 0).then(|| serde_json::from_str(&self.stdout).ok())?
    }
}

pub fn command(
    server: &str,
    token: Option<&str>,
    config: &std::path::Path,
    args: &[&str],
) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_atlctl"));
    c.args(args)
        .env("ATLHYPER_SERVER", server)
        .env("ATLHYPER_CONFIG", config)
        .env_remove("ATLHYPER_CONTEXT")
        .env_remove("ATLHYPER_TOKEN")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    if let Some(token) = token {
        c.env("ATLHYPER_TOKEN", token);
    }
    c
}

pub async fn output(mut c: tokio::process::Command) -> Run {
    let out = c.output().await.unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

impl Stack {
    pub fn command(&self, args: &[&str]) -> tokio::process::Command {
        command(
            &self.demo.server,
            Some(&self.demo.admin_token),
            &self.dir.path().join("config.toml"),
            args,
        )
    }

    pub async fn run(&self, args: &[&str]) -> Run {
        output(self.command(args)).await
    }

    /// `namespace/name` of kubesim's pods, as its store holds them.
    pub fn kubesim_pods(&self) -> BTreeSet<String> {
        self.demo
            .stack
            .kubesim
            .sim
            .world()
            .pods
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e.object.metadata.namespace.clone().unwrap_or_default(),
                    e.object.metadata.name.clone().unwrap_or_default()
                )
            })
            .collect()
    }

    pub async fn kube_names(&self, namespace: &str, params: &ListParams) -> BTreeSet<String> {
        let api: kube::Api<KubePod> = kube::Api::namespaced(self.kube.clone(), namespace);
        api.list(params)
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|p| p.metadata.name.unwrap_or_default())
            .collect()
    }
}
