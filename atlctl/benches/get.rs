//! `atlctl get pods -A --json` against master holding kubesim's `large` scenario (5,000 pods),
//! next to `kubectl get pods -A -o json` against kubesim itself, in the same run: wall time
//! and peak RSS of each (the child's `VmHWM`, read from /proc until it exits). Then `atlctl
//! demo --headless`: start → the first non-empty pod list.
//!
//! `cargo bench -p atlctl --bench get` (`RUNS=N`, default 10)
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_testkit::process::{self, Pid};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod common;

/// Runs a command to completion with stdout discarded; returns (wall, peak RSS in MiB).
fn measure(mut command: Command) -> (Duration, f64) {
    let started = Instant::now();
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawns");
    let mut peak_kib = 0u64;
    loop {
        if let Some(kib) = process::status_kib(Pid::Of(child.id()), "VmHWM:") {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("waits") {
            assert!(status.success(), "{command:?} failed");
            return (started.elapsed(), peak_kib as f64 / 1024.0);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn summarize(name: &str, runs: &mut [(Duration, f64)]) -> (f64, f64) {
    runs.sort_by_key(|r| r.0);
    let median = runs[runs.len() / 2].0.as_secs_f64() * 1000.0;
    let rss = runs.iter().map(|r| r.1).fold(0.0, f64::max);
    println!(
        "{name}: median {median:.0} ms (min {:.0}, max {:.0}), peak RSS {rss:.1} MiB",
        runs[0].0.as_secs_f64() * 1000.0,
        runs[runs.len() - 1].0.as_secs_f64() * 1000.0
    );
    (median, rss)
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let atlctl = env!("CARGO_BIN_EXE_atlctl");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = common::large_stack(&runtime, dir.path());
    let atl = |args: &[&str]| {
        let mut c = Command::new(atlctl);
        c.args(args)
            .env("ATLHYPER_SERVER", &demo.server)
            .env("ATLHYPER_TOKEN", &demo.admin_token)
            .env("ATLHYPER_CONFIG", dir.path().join("none.toml"));
        c
    };

    let mut mine: Vec<(Duration, f64)> = (0..runs)
        .map(|_| measure(atl(&["get", "pods", "-A", "--json"])))
        .collect();
    let mut table: Vec<(Duration, f64)> = (0..runs)
        .map(|_| measure(atl(&["get", "pods", "-A"])))
        .collect();
    let kubeconfig = demo.kubeconfig.display().to_string();
    let mut kubectl: Vec<(Duration, f64)> = (0..runs)
        .map(|_| {
            let mut c = Command::new("kubectl");
            c.args([
                "--kubeconfig",
                &kubeconfig,
                "get",
                "pods",
                "-A",
                "-o",
                "json",
            ]);
            measure(c)
        })
        .collect();
    let (a_ms, a_rss) = summarize("atlctl get pods -A --json", &mut mine);
    summarize("atlctl get pods -A (table)", &mut table);
    let (k_ms, k_rss) = summarize("kubectl get pods -A -o json (kubesim)", &mut kubectl);
    println!(
        "atlctl vs kubectl: {:.1}× faster, {:.1}× less memory",
        k_ms / a_ms,
        k_rss / a_rss
    );
    runtime.block_on(demo.stop());

    // The demo from a cold start to data.
    let mut starts = Vec::new();
    for _ in 0..3.min(runs) {
        let started = Instant::now();
        let mut child = Command::new(atlctl)
            .args(["demo", "--headless"])
            .env("ATLHYPER_LOG", "error")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut exports = std::collections::HashMap::new();
        for _ in 0..3 {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut reader, &mut line).unwrap();
            let (k, v) = line
                .trim()
                .strip_prefix("export ")
                .unwrap()
                .split_once('=')
                .unwrap();
            exports.insert(k.to_owned(), v.to_owned());
        }
        loop {
            let out = Command::new(atlctl)
                .args(["get", "pods", "-A", "--json"])
                .env("ATLHYPER_SERVER", &exports["ATLHYPER_SERVER"])
                .env("ATLHYPER_TOKEN", &exports["ATLHYPER_TOKEN"])
                .env("ATLHYPER_CONFIG", dir.path().join("none.toml"))
                .output()
                .unwrap();
            let list: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
            if list["items"].as_array().is_some_and(|i| !i.is_empty()) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no data 30 s after start"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        starts.push(started.elapsed());
        Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        child.wait().unwrap();
    }
    starts.sort();
    println!(
        "atlctl demo --headless: start → pods listed in {:.0} ms (median of {}; min {:.0}, max {:.0})",
        starts[starts.len() / 2].as_secs_f64() * 1000.0,
        starts.len(),
        starts[0].as_secs_f64() * 1000.0,
        starts[starts.len() - 1].as_secs_f64() * 1000.0
    );
}
