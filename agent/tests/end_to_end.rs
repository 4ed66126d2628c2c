//! kubesim → agent → master, all real, over loopback: master ends up holding every source of
//! the cluster, and a deleted pod leaves master's list within two seconds.

mod common;

use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;
use kube::api::{DeleteParams, ListParams};
use kubesim::sim::SimOptions;

use common::{ADMIN, CLUSTER_TOKEN, start, start_with, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_gets_every_source_and_sees_a_deleted_pod_go_within_two_seconds() {
    let stack = start().await;

    // Every source arrives (node metrics on kubesim's 5 s push).
    let all = wait_for(Duration::from_secs(30), async || {
        let cluster = stack.get("/api/v1/clusters/demo").await;
        cluster["sources"].as_array().is_some_and(|s| s.len() == 9)
    })
    .await;
    let cluster = stack.get("/api/v1/clusters/demo").await;
    assert!(all, "not every source reached master: {cluster}");

    // What master lists is what the cluster holds.
    let pods: kube::Api<Pod> = kube::Api::all(stack.kube.clone());
    let in_cluster = pods.list(&ListParams::default()).await.unwrap().items.len();
    let listed = wait_for(Duration::from_secs(5), async || {
        stack.get("/api/v1/pods?cluster=demo").await["items"]
            .as_array()
            .is_some_and(|items| items.len() == in_cluster)
    })
    .await;
    assert!(listed, "master does not list the {in_cluster} pods");
    let nodes = stack.get("/api/v1/node-metrics?cluster=demo").await;
    assert!(!nodes["items"].as_array().unwrap().is_empty(), "{nodes}");

    // Delete a pod at once: master's list loses it within two seconds.
    let victim = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .find(|p| p.metadata.namespace.as_deref() == Some("shop"))
        .expect("a pod in shop");
    let name = victim.metadata.name.clone().unwrap();
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let deleted_at = Instant::now();
    shop.delete(
        &name,
        &DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::default()
        },
    )
    .await
    .unwrap();
    let gone = wait_for(Duration::from_secs(5), async || {
        let list = stack.get("/api/v1/pods?cluster=demo&namespace=shop").await;
        !list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == name.as_str())
    })
    .await;
    let took = deleted_at.elapsed();
    assert!(gone, "master still lists {name}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    eprintln!("deleted pod left master's list after {took:?}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_410_loses_and_duplicates_no_pod() {
    let stack = start().await;
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "no first convergence"
    );
    let sim = stack.kubesim.sim.clone();
    let now = sim.now_ms();
    kubesim::sim::faults::apply(
        &mut sim.world(),
        &kubesim::sim::faults::Fault::CompactHistory,
        now,
    )
    .unwrap();
    // Change the cluster while the watches relist.
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let victims: Vec<String> = shop
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .iter()
        .take(2)
        .map(|p| p.metadata.name.clone().unwrap())
        .collect();
    for name in &victims {
        shop.delete(name, &DeleteParams::default().grace_period(0))
            .await
            .unwrap();
    }
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "master differs from the cluster after the relist: {:?}",
        stack.master_pods().await
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_watch_is_dropped_and_watched_again() {
    // Bookmarks every 500 ms keep healthy watches talking well within the 3 s idle timeout.
    let sim = SimOptions {
        bookmark_interval: Duration::from_millis(500),
        ..SimOptions::default()
    };
    let idle = Duration::from_secs(3);
    let stack = start_with("1", sim, |c| c.watch_idle_timeout = idle).await;
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "no first convergence"
    );
    let now = stack.kubesim.sim.now_ms();
    kubesim::sim::faults::apply(
        &mut stack.kubesim.sim.world(),
        &kubesim::sim::faults::Fault::StallWatches,
        now,
    )
    .unwrap();
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let victim = shop.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    shop.delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    // Only a new watch can tell the agent: the idle timeout, kube-rs's back-off (under 2 s at
    // first) and an early push.
    let key = format!("shop/{victim}");
    let gone = wait_for(idle + Duration::from_secs(10), async || {
        !stack.master_pods().await.0.contains_key(&key)
    })
    .await;
    assert!(
        gone,
        "the deletion never reached master: the watch was not renewed"
    );
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "master differs from the cluster after the stall"
    );
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn master_away_and_back_converges_with_bounded_agent_memory() {
    // Ten simulated seconds per real second: master is away for 30 s of the cluster's life.
    let mut stack = start_with("10", SimOptions::default(), |c| c.max_pending_events = 20).await;
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "no first convergence"
    );

    // Master goes away; the cluster keeps changing: pods deleted (and recreated by their
    // deployments), each change with events.
    stack.stop_master().await;
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    for _ in 0..6 {
        let pods = shop.list(&ListParams::default()).await.unwrap().items;
        if let Some(p) = pods.first() {
            let _ = shop
                .delete(
                    p.metadata.name.as_deref().unwrap(),
                    &DeleteParams::default().grace_period(0),
                )
                .await;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let cache = &stack.agent.as_ref().unwrap().cache;
    assert!(
        cache.pending_events() <= 20,
        "events queue grew to {}",
        cache.pending_events()
    );
    assert!(
        cache
            .dropped_events
            .load(std::sync::atomic::Ordering::Relaxed)
            > 0,
        "the cap was never reached: the test proves nothing"
    );

    // Master returns on the same address: the agent catches up.
    stack.start_master().await.unwrap();
    assert!(
        stack.converged(Duration::from_secs(30)).await,
        "master did not converge after returning: {:?} vs {:?}",
        stack.master_pods().await,
        stack.cluster_pods()
    );
    stack.stop().await;
}

/// A minute without master while pods come and go: the agent owes its deltas (resent as they
/// were numbered) and master, restarted from its database, applies them in order — equal to
/// the cluster, no duplicate, no whole list asked for.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_minute_without_master_during_churn_ends_equal_without_a_resync() {
    let mut stack = start().await;
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "no first convergence"
    );
    stack.stop_master().await;
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let away = std::time::Instant::now();
    while away.elapsed() < Duration::from_secs(60) {
        let pods = shop.list(&ListParams::default()).await.unwrap().items;
        if let Some(p) = pods.first() {
            let _ = shop
                .delete(
                    p.metadata.name.as_deref().unwrap(),
                    &DeleteParams::default().grace_period(0),
                )
                .await;
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    stack.start_master().await.unwrap();
    assert!(
        stack.converged(Duration::from_secs(40)).await,
        "master did not converge after a minute away: {:?} vs {:?}",
        stack.master_pods().await,
        stack.cluster_pods()
    );
    let metrics =
        atlhyper_testkit::text(stack.http.get(format!("{}/metrics", stack.master_url()))).await;
    let count = |prefix: &str| -> f64 {
        metrics
            .lines()
            .filter(|l| l.starts_with(prefix))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    assert!(
        count("atlhyper_deltas_total{cluster=\"demo\",outcome=\"applied\"}") > 0.0,
        "the changes came as deltas"
    );
    assert_eq!(count("atlhyper_delta_resyncs_total"), 0.0, "{metrics}");
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_master_rejects_are_logged_and_not_retried_in_a_loop() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let stack = start().await;
    // A second master that refuses anything larger than 256 bytes, for a second agent.
    let dir = tempfile::tempdir().unwrap();
    let mut config = atlhyper_master::Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.db = Some(dir.path().join("tiny.db"));
    config.admin_token = Some(ADMIN.to_owned());
    config.clusters = vec![format!("demo={CLUSTER_TOKEN}")];
    config.max_body_bytes = 256;
    config.max_decompressed_bytes = 256;
    let tiny = atlhyper_master::start(&config).await.unwrap();
    let mut agent_config = atlhyper_agent::Config::defaults();
    agent_config.master = tiny.url.clone();
    agent_config.token = Some(CLUSTER_TOKEN.to_owned());
    agent_config.cluster_id = Some("demo".to_owned());
    agent_config.kubeconfig = Some(stack.kubeconfig.clone());
    agent_config.listen = "127.0.0.1:0".parse().unwrap();
    let agent = atlhyper_agent::start(&agent_config).await.unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let metrics =
        atlhyper_testkit::text(stack.http.get(format!("http://{}/metrics", agent.addr))).await;
    let rejected: f64 = metrics
        .lines()
        .find(|l| l.starts_with("atlhyper_agent_push_errors_total{kind=\"rejected\"}"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .expect("rejections are counted");
    // Each source goes out at most once per early-push spacing (500 ms): nine sources over 3 s
    // allow at most 63 attempts; a retry loop would make thousands.
    assert!(
        (1.0..=63.0).contains(&rejected),
        "{rejected} rejected pushes in 3 s"
    );
    agent.stop().await;
    tiny.stop().await;
    stack.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_agent_pushes_what_changed_since_the_last_push() {
    // Early pushes and the pod schedule are far off: only the last push at shutdown can carry
    // the change.
    let stack = start_with("1", SimOptions::default(), |c| {
        c.early_push = Duration::from_secs(60);
        c.intervals = vec!["pod_list_snapshot=60s".to_owned()];
    })
    .await;
    assert!(
        stack.converged(Duration::from_secs(10)).await,
        "no first push"
    );
    let shop: kube::Api<Pod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let victim = shop.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    shop.delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let key = format!("shop/{victim}");
    let seen = wait_for(Duration::from_secs(5), async || {
        !stack
            .agent
            .as_ref()
            .unwrap()
            .cache
            .contains(atlhyper_model::Source::PodListSnapshot, &key)
    })
    .await;
    assert!(seen, "the agent never saw the deletion");
    let (listed, _) = stack.master_pods().await;
    assert!(
        listed.contains_key(&key),
        "pushed before the stop: the test proves nothing"
    );

    let mut stack = stack;
    stack.stop_agent().await;
    let list = atlhyper_testkit::json(
        stack
            .http
            .get(format!(
                "{}/api/v1/pods?cluster=demo&namespace=shop",
                stack.master_url()
            ))
            .bearer_auth(ADMIN),
    )
    .await;
    assert!(
        !list["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == victim.as_str()),
        "the last push did not carry the deletion"
    );
    stack.stop().await;
}
