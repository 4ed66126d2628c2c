//! What the benches share: the in-process demo stack on kubesim's `large` scenario.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::time::{Duration, Instant};

use atlctl::cli::DemoArgs;
use atlctl::demo::Demo;
use atlhyper_model::api::{InCluster, List};
use atlhyper_model::resources::Pod;

/// The demo stack on `large` (200 nodes, 5,000 pods), its data in `data_dir`, returned once
/// master holds every pod. Simulated time runs at 1 %: nothing changes unless a bench changes
/// it, so every run measures the same 5,000 pods.
pub fn large_stack(runtime: &tokio::runtime::Runtime, data_dir: &Path) -> Demo {
    let demo = runtime
        .block_on(Demo::start(&DemoArgs {
            headless: true,
            scenario: "large".to_owned(),
            data_dir: Some(data_dir.to_owned()),
            listen: "127.0.0.1:0".parse().unwrap(),
            speed: 0.01,
        }))
        .unwrap();
    let client = atlctl::client::Client::new(
        &demo.server,
        Some(demo.admin_token.clone()),
        Duration::from_secs(30),
    )
    .unwrap();
    let started = Instant::now();
    loop {
        let pods: List<InCluster<Pod>> = runtime.block_on(client.list("pods", &[])).unwrap();
        let held = pods.items.len();
        if held >= 5_000 {
            println!(
                "master holds {held} pods, {:.1} s after start",
                started.elapsed().as_secs_f64()
            );
            return demo;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "master never held the large cluster ({held} pods)"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
