//! A scenario with a seed runs the same way twice: same pod names, same placement, same faults.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use kubesim::scenario::Scenario;
use kubesim::sim::controllers::Controllers;
use kubesim::store::World;

/// Runs the demo for a simulated minute on a fixed clock; returns (pod, node, status) rows.
fn run(seed: u64) -> Vec<(String, String, String)> {
    let start = 1_795_608_000_000;
    let mut world = World::new(seed, 1_000);
    Scenario::demo().apply(&mut world, start).unwrap();
    let mut controllers = Controllers::default();
    for tick in 0..600 {
        controllers.step(&mut world, start + tick * 100);
    }
    world
        .pods
        .iter()
        .map(|e| {
            let node = e
                .object
                .spec
                .as_ref()
                .and_then(|s| s.node_name.clone())
                .unwrap_or_default();
            let status = kubesim::api::table::pod_summary(&e.object).status;
            (e.meta.name.clone(), node, status)
        })
        .collect()
}

#[test]
fn the_same_seed_gives_the_same_cluster() {
    let first = run(7);
    assert_eq!(first, run(7));
    assert!(first.len() >= 50);
    assert!(
        first
            .iter()
            .any(|(_, _, s)| s == "CrashLoopBackOff" || s == "Error")
    );
    assert!(
        first
            .iter()
            .any(|(_, _, s)| s == "ImagePullBackOff" || s == "ErrImagePull")
    );
    assert!(
        first
            .iter()
            .any(|(n, _, s)| n.starts_with("report-gen") && s == "Pending")
    );
    let other = run(8);
    assert_ne!(
        first.iter().map(|r| &r.0).collect::<Vec<_>>(),
        other.iter().map(|r| &r.0).collect::<Vec<_>>(),
        "another seed names pods differently"
    );
}
