//! Command round trip: `atlctl exec restart-pod NS/POD --yes` as a child process, from spawn
//! to exit (POST to master, the agent's long poll, the delete through kube-rs, the ack, the
//! waiting GET), against the in-process demo stack — the pod's own restart excluded.
//!
//! `cargo bench -p atlctl --bench exec` (`RUNS=N`, default 50)
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use atlctl::cli::DemoArgs;
use atlctl::demo::Demo;

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(50);
    let atlctl = env!("CARGO_BIN_EXE_atlctl");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = runtime.block_on(async {
        Demo::start(&DemoArgs {
            headless: true,
            scenario: "demo".to_owned(),
            data_dir: Some(dir.path().to_owned()),
            listen: "127.0.0.1:0".parse().unwrap(),
            speed: 1.0,
        })
        .await
        .unwrap()
    });
    let atl = |args: &[&str]| {
        let mut c = Command::new(atlctl);
        c.args(args)
            .env("ATLHYPER_SERVER", &demo.server)
            .env("ATLHYPER_TOKEN", &demo.admin_token)
            .env("ATLHYPER_CONFIG", dir.path().join("none.toml"));
        c
    };
    std::thread::sleep(Duration::from_secs(2));
    let mut took = Vec::new();
    let mut restarted = std::collections::HashSet::new();
    let mut skipped = 0;
    while took.len() < runs && skipped < runs {
        // A running frontend pod, as master sees it now.
        let out = atl(&[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app=frontend",
            "--field",
            "status=Running",
            "-o",
            "name",
        ])
        .output()
        .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        // Not one restarted already (master may still list it for a moment).
        let Some(pod) = text
            .lines()
            .filter_map(|l| l.strip_prefix("pod/"))
            .find(|p| !restarted.contains(*p))
            .map(str::to_owned)
        else {
            std::thread::sleep(Duration::from_millis(200));
            continue;
        };
        let started = Instant::now();
        let status = atl(&["exec", "restart-pod", &format!("shop/{pod}"), "--yes"])
            .output()
            .unwrap();
        let elapsed = started.elapsed();
        restarted.insert(pod.clone());
        if !status.status.success() {
            skipped += 1;
            // Master's snapshot may name a pod the agent has just seen go; not a round trip.
            eprintln!(
                "skipped: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            );
            continue;
        }
        took.push(elapsed);
        std::thread::sleep(Duration::from_millis(300));
    }
    took.sort();
    let at = |p: f64| took[((took.len() as f64 * p).ceil() as usize).clamp(1, took.len()) - 1];
    println!(
        "atlctl exec restart-pod round trip over {} runs: p50 {:?}, p99 {:?}, max {:?}",
        took.len(),
        at(0.5),
        at(0.99),
        took[took.len() - 1]
    );
    runtime.block_on(demo.stop());
}
