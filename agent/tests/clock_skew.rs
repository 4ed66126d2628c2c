//! An agent whose clock runs ten minutes ahead (the real binary under `faketime`) still feeds
//! master: its pushes are taken, the cluster is fresh, and master reports the skew.

mod common;

use std::time::Duration;

use common::{ADMIN, CLUSTER_TOKEN};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_ten_minutes_ahead_still_feeds_master_and_its_skew_is_reported() {
    let cluster = common::start_cluster("1", Default::default()).await;
    let mut agent = std::process::Command::new("faketime");
    // Its own process group: faketime runs the agent as its child, and both must go.
    std::os::unix::process::CommandExt::process_group(&mut agent, 0);
    let mut agent = agent
        .args(["-f", "+600s"])
        .arg(env!("CARGO_BIN_EXE_atlhyper-agent"))
        .args(["--master", &cluster.master_url(), "--cluster-id", "demo"])
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["--listen", &cluster.agent_config.listen.to_string()])
        .env("ATLHYPER_AGENT_TOKEN", CLUSTER_TOKEN)
        // Only the wall clock is ahead; timers run as usual.
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(cluster.dir().join("agent.log")).unwrap())
        .spawn()
        .expect("faketime runs (Debian package faketime; scripts/test installs it)");

    let http = common::client();
    let get = async |path: &str| -> Value {
        http.get(format!("{}{path}", cluster.master_url()))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    };
    let mut seen = Value::Null;
    let fed = common::wait_for(Duration::from_secs(20), async || {
        seen = get("/api/v1/clusters/demo").await;
        seen["stale"] == false
            && seen["counts"]["pods"].as_u64().unwrap_or(0) > 0
            && seen["clock_skew_ms"].is_i64()
    })
    .await;
    let log = std::fs::read_to_string(cluster.dir().join("agent.log")).unwrap_or_default();
    assert!(
        atlhyper_testkit::kill_process_group(&mut agent),
        "the agent outlived its test"
    );
    assert!(
        fed,
        "the cluster is fed and fresh: {seen}\nagent log:\n{log}"
    );
    let skew = seen["clock_skew_ms"].as_i64().unwrap();
    assert!(
        (590_000..=610_000).contains(&skew),
        "the skew is about ten minutes: {skew} ms"
    );
    let metrics =
        atlhyper_testkit::text(http.get(format!("{}/metrics", cluster.master_url()))).await;
    let exported: f64 = metrics
        .lines()
        .find(|l| l.starts_with("atlhyper_cluster_clock_skew_seconds{cluster=\"demo\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or_else(|| panic!("no clock skew in /metrics:\n{metrics}"));
    assert!((590.0..=610.0).contains(&exported), "{exported}");
}
