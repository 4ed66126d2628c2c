//! A stack in a kept directory keeps its tokens and data across starts; a stopped master comes
//! back on its address and the agent feeds it again.
// Test code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use atlhyper_stack::{NodeMetrics, Stack};
use atlhyper_testkit::{json, wait_for};

async fn pods_at_master(stack: &Stack, http: &reqwest::Client) -> usize {
    let list = json(
        http.get(format!("{}/api/v1/pods?cluster=demo", stack.master_url()))
            .bearer_auth(&stack.admin_token),
    )
    .await;
    list["items"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_directory_keeps_tokens_and_master_restarts_where_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let start = || {
        Stack::builder()
            .data_dir(dir.path())
            .node_metrics(NodeMetrics::Off)
            .start()
    };
    let mut stack = start().await.unwrap();
    // After the stack: it installs the TLS crypto provider the client needs.
    let http = reqwest::Client::new();
    let fed = wait_for(Duration::from_secs(20), async || {
        pods_at_master(&stack, &http).await > 0
    })
    .await;
    assert!(fed, "the agent never fed master");
    let (url, token) = (stack.master_url(), stack.admin_token.clone());

    stack.stop_master().await;
    assert!(http.get(format!("{url}/healthz")).send().await.is_err());
    stack.start_master().await.unwrap();
    assert_eq!(stack.master_url(), url, "master came back elsewhere");
    assert!(pods_at_master(&stack, &http).await > 0, "its data went");
    stack.stop().await;

    let stack = start().await.unwrap();
    assert_eq!(
        stack.admin_token, token,
        "the kept directory's token changed"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(dir.path().join("admin-token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "the token file is readable by others");
    assert!(pods_at_master(&stack, &http).await > 0, "the data went");
    stack.stop().await;
}
