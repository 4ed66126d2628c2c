//! Commands across restarts, all real over loopback: commands queued while master restarts
//! are neither lost nor run twice; a command the agent started before it died is not run
//! again, and says so; one delivered but never started runs once; without a state file, one
//! delivered to a run that died is settled `unknown` and not run by the next.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kubesim::sim::SimOptions;
use serde_json::{Value, json};

use common::{ADMIN, CLUSTER_TOKEN, Stack, start_with, wait_for};

async fn create(http: &reqwest::Client, master: &str, body: Value) -> String {
    let answer = atlhyper_testkit::json(
        http.post(format!("{master}/api/v1/clusters/demo/commands"))
            .bearer_auth(ADMIN)
            .json(&body),
    )
    .await;
    answer["command"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"))
        .to_owned()
}

async fn settled(http: &reqwest::Client, master: &str, id: &str) -> Value {
    atlhyper_testkit::json(
        http.get(format!(
            "{master}/api/v1/clusters/demo/commands/{id}?wait=20s"
        ))
        .bearer_auth(ADMIN),
    )
    .await
}

/// The agent's long poll as a run of it (`session`) that then dies: what it was handed.
async fn poll_as(http: &reqwest::Client, master: &str, session: Option<&str>) -> Value {
    atlhyper_testkit::json(
        http.post(format!("{master}/control/watch"))
            .bearer_auth(CLUSTER_TOKEN)
            .json(&json!({"cluster_id": "demo", "rv": 0, "session": session})),
    )
    .await
}

async fn deployment(stack_kube: &kube::Client, name: &str) -> Deployment {
    let api: kube::Api<Deployment> = kube::Api::namespaced(stack_kube.clone(), "shop");
    api.get(name).await.unwrap()
}

/// Stops the agent, runs `between` (master still up), then starts the agent again.
async fn without_agent(mut stack: Stack, between: impl AsyncFnOnce(&mut Stack)) -> Stack {
    stack.stop_agent().await;
    between(&mut stack).await;
    stack.start_agent().await.unwrap();
    stack
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_queued_across_a_master_restart_run_once_each() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("done-commands");
    let stack = start_with("1", SimOptions::default(), |c| {
        c.state_file = Some(state.clone())
    })
    .await;
    assert!(stack.converged(Duration::from_secs(10)).await);
    let before: Vec<i64> = futures_generations(&stack.kube).await;

    let mut ids = Vec::new();
    let stack = without_agent(stack, async |parts| {
        for name in ["cart", "frontend"] {
            ids.push(
                create(
                    &parts.http,
                    &parts.master_url(),
                    json!({"kind": "rollout_restart", "args": {"namespace": "shop", "name": name}}),
                )
                .await,
            );
        }
        parts.stop_master().await;
        parts.start_master().await.unwrap();
    })
    .await;
    let master = stack.master_url();
    for id in &ids {
        let info = settled(&stack.http, &master, id).await;
        assert_eq!(info["status"], "succeeded", "{info}");
    }
    // Each deployment's template changed exactly once, and stays so.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = futures_generations(&stack.kube).await;
    assert_eq!(after, before.iter().map(|g| g + 1).collect::<Vec<_>>());
    let audit = atlhyper_testkit::json(
        stack
            .http
            .get(format!("{master}/api/v1/audit?limit=1000"))
            .bearer_auth(ADMIN),
    )
    .await;
    for id in &ids {
        let results = audit["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["action"] == "command.result"
                    && r["detail"]
                        .as_str()
                        .is_some_and(|d| d.starts_with(id.as_str()))
            })
            .count();
        assert_eq!(results, 1, "{id} settled {results} times");
    }
    stack.stop().await;
}

async fn futures_generations(kube: &kube::Client) -> Vec<i64> {
    let mut out = Vec::new();
    for name in ["cart", "frontend"] {
        out.push(deployment(kube, name).await.metadata.generation.unwrap());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_started_before_an_agent_restart_is_not_run_again() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("done-commands");
    let stack = start_with("1", SimOptions::default(), |c| {
        c.state_file = Some(state.clone())
    })
    .await;
    assert!(stack.converged(Duration::from_secs(10)).await);
    let replicas = |d: Deployment| d.spec.and_then(|s| s.replicas).unwrap();
    let cart_before = replicas(deployment(&stack.kube, "cart").await);

    let mut ids = Vec::new();
    let state_file = state.clone();
    let stack = without_agent(stack, async |parts| {
        let url = parts.master_url();
        // Started by the agent run that died: recorded in its state file, never acked.
        let started = create(
            &parts.http,
            &url,
            json!({"kind": "scale", "args": {"namespace": "shop", "name": "cart", "replicas": 7}}),
        )
        .await;
        // Delivered to it too, but it died before starting this one.
        let untouched = create(
            &parts.http,
            &url,
            json!({"kind": "scale", "args": {"namespace": "shop", "name": "frontend", "replicas": 3}}),
        )
        .await;
        // The run that died had this state file, so it was the session the file names.
        let text = std::fs::read_to_string(&state_file).unwrap();
        let session = text
            .lines()
            .find_map(|l| l.strip_prefix("session: "))
            .expect("the state file names the session")
            .to_owned();
        let delivered = poll_as(&parts.http, &url, Some(&session)).await;
        assert_eq!(delivered["commands"].as_array().unwrap().len(), 2, "{delivered}");
        let key = delivered["commands"][0]["idempotency_key"].as_str().unwrap();
        assert_eq!(delivered["commands"][0]["id"], started.as_str());
        let mut text = std::fs::read_to_string(&state_file).unwrap_or_default();
        text.push_str(&format!("{started} {key}\n"));
        std::fs::write(&state_file, text).unwrap();
        ids = vec![started, untouched];
    })
    .await;
    let master = stack.master_url();
    let started = settled(&stack.http, &master, &ids[0]).await;
    assert_eq!(started["status"], "failed", "{started}");
    assert!(
        started["message"]
            .as_str()
            .unwrap()
            .contains("not run again"),
        "{started}"
    );
    let untouched = settled(&stack.http, &master, &ids[1]).await;
    assert_eq!(untouched["status"], "succeeded", "{untouched}");
    let frontend_ok = wait_for(Duration::from_secs(5), async || {
        replicas(deployment(&stack.kube, "frontend").await) == 3
    })
    .await;
    assert!(frontend_ok, "the command never started ran once");
    assert_eq!(
        replicas(deployment(&stack.kube, "cart").await),
        cart_before,
        "the started command ran again"
    );
    stack.stop().await;
}

/// The default set-up, with no state file: a command delivered to an agent run that died
/// before reporting is not run by the next run (a new session); master says its outcome is
/// unknown.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_state_file_a_command_delivered_to_a_dead_run_is_unknown_not_run_again() {
    let stack = start_with("1", SimOptions::default(), |c| c.state_file = None).await;
    assert!(stack.converged(Duration::from_secs(10)).await);
    let replicas = |d: Deployment| d.spec.and_then(|s| s.replicas).unwrap();
    let cart_before = replicas(deployment(&stack.kube, "cart").await);

    let mut id = String::new();
    let stack = without_agent(stack, async |parts| {
        let url = parts.master_url();
        id = create(
            &parts.http,
            &url,
            json!({"kind": "scale", "args": {"namespace": "shop", "name": "cart", "replicas": 9}}),
        )
        .await;
        // The run that died took it (whether it started it, nobody knows).
        let delivered = poll_as(&parts.http, &url, Some("run-that-died")).await;
        assert_eq!(delivered["commands"][0]["id"], id.as_str(), "{delivered}");
    })
    .await;
    let master = stack.master_url();
    let info = settled(&stack.http, &master, &id).await;
    assert_eq!(info["status"], "unknown", "{info}");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        replicas(deployment(&stack.kube, "cart").await),
        cart_before,
        "the new run ran it again"
    );
    stack.stop().await;
}
