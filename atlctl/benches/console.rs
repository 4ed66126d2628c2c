//! The console's figures.
//!
//! In process, on 10,000 pods: building the rows when a list arrives, drawing one 160×48 frame,
//! and one filter keystroke. Then the release `atlctl` in a real terminal (tmux, 160×48) against
//! the demo stack on kubesim's `large` scenario (5,000 pods, 200 nodes): spawn → the first frame
//! with data, change in kubesim → visible on screen, peak RSS, and CPU while nothing changes.
//! Beside it, the anchor: `kubectl get pods -A -w` watching kubesim directly (no hops), timed
//! from the same deletions to its line.
//!
//! `cargo bench -p atlctl --bench console` (`RUNS`, default 20 changes; `IDLE_SECS`, default 10)
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

use atlhyper_testkit::process::{self, Pid};
use atlhyper_testkit::tmux::Tmux;
use atlhyper_testkit::{median, percentile};
use std::time::{Duration, Instant};

mod common;

use atlctl::console::app::{Action, App, ListDelta, Loaded, Msg};
use atlctl::console::views;
use atlctl::kinds::Resource;
use atlhyper_model::api::{InCluster, StreamDelta};
use atlhyper_model::resources::Pod;
use ratatui::Terminal;
use ratatui::backend::TestBackend;

fn pod(i: usize) -> InCluster<Pod> {
    let status = [
        "Running",
        "Running",
        "Running",
        "CrashLoopBackOff",
        "Pending",
    ][i % 5];
    let object = serde_json::from_value(serde_json::json!({
        "namespace": format!("team-{}", i % 40),
        "name": format!("service-{}-7c6d5b4a3f-{i:05}", i % 300),
        "uid": format!("uid-{i}"),
        "node": format!("worker-{}", i % 200),
        "phase": "Running",
        "status": status,
        "ready": 1, "total": 1, "restarts": i % 7,
        "labels": {"app": format!("service-{}", i % 300)},
        "pod_ip": format!("10.244.{}.{}", i / 250, i % 250),
        "created_ms": 1_795_600_000_000_i64 + i as i64 * 1000,
    }))
    .expect("a pod");
    InCluster {
        cluster_id: "large".to_owned(),
        object,
    }
}

fn in_process() {
    let pods: Vec<InCluster<Pod>> = (0..10_000).map(pod).collect();
    let mut app = App::new(
        "http://bench".into(),
        "bench (admin)".into(),
        false,
        Resource::Pods,
    );
    app.update(Action::Tick(1_795_608_000_000));
    app.update(Action::Resize(160, 48));
    let mut builds = Vec::new();
    for _ in 0..20 {
        let started = Instant::now();
        app.receive(Msg::Loaded(app.scope().clone(), Loaded::Pods(pods.clone())));
        builds.push(started.elapsed());
    }
    // One pod changes (a delta), as a churning cluster's stream brings them.
    let mut deltas = Vec::new();
    for i in 0..200 {
        let mut changed = pods[(i * 37) % pods.len()].clone();
        changed.object.restarts += 1;
        let started = Instant::now();
        app.receive(Msg::Delta(ListDelta::Pods(StreamDelta {
            cluster_id: changed.cluster_id.clone(),
            source: atlhyper_model::Source::PodListSnapshot,
            ts_ms: 0,
            upserts: vec![changed],
            deletes: Vec::new(),
            relist: false,
        })));
        deltas.push(started.elapsed());
    }
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("a terminal");
    let mut frames = Vec::new();
    for i in 0..200 {
        app.update(if i % 2 == 0 {
            Action::Down
        } else {
            Action::PageDown
        });
        let started = Instant::now();
        terminal.draw(|f| views::draw(&app, f)).expect("drawn");
        frames.push(started.elapsed());
    }
    let mut keystrokes = Vec::new();
    for round in 0..20 {
        app.update(Action::FilterLine);
        for c in format!("service-{}", round + 10).chars() {
            let started = Instant::now();
            app.update(Action::Type(c));
            keystrokes.push(started.elapsed());
        }
        app.update(Action::Cancel);
    }
    println!(
        "10,000 pods: one pod's delta applied and its row built in {:.2} ms (median; p99 {:.2})",
        median(&mut deltas).as_secs_f64() * 1e3,
        percentile(&mut deltas, 0.99).as_secs_f64() * 1e3,
    );
    println!(
        "10,000 pods: rows built in {:.2} ms (median), a 160x48 frame drawn in {:.3} ms (median; \
         p99 {:.3}), a filter keystroke {:.3} ms (median; p99 {:.3})",
        median(&mut builds).as_secs_f64() * 1e3,
        median(&mut frames).as_secs_f64() * 1e3,
        percentile(&mut frames, 0.99).as_secs_f64() * 1e3,
        median(&mut keystrokes).as_secs_f64() * 1e3,
        percentile(&mut keystrokes, 0.99).as_secs_f64() * 1e3,
    );
}

/// The row count in the list's title: `pods(all)[5000]`, `pods(all)[1/5000]`.
fn shown(screen: &str) -> Option<usize> {
    let after = screen.split_once("pods(all)[")?.1;
    let end = after.find(['/', ']'])?;
    after[..end].parse().ok()
}

fn child_named(parent: u32, name: &str) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{parent}/task/{parent}/children"))
        .ok()?
        .split_whitespace()
        .filter_map(|c| c.parse().ok())
        .find(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == name))
        })
}

fn end_to_end() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(20);
    let idle_secs: u64 = std::env::var("IDLE_SECS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(10);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let demo = common::large_stack(&runtime, dir.path());
    let client = atlctl::client::Client::new(
        &demo.server,
        Some(demo.admin_token.clone()),
        Duration::from_secs(30),
    )
    .unwrap();

    let script = format!(
        "ATLHYPER_SERVER={} ATLHYPER_TOKEN={} ATLHYPER_CONFIG={} exec {} top nodes",
        demo.server,
        demo.admin_token,
        dir.path().join("none.toml").display(),
        env!("CARGO_BIN_EXE_atlctl"),
    );
    let tmux = Tmux::new("bench", &script, (160, 48));
    let first = tmux.time_until("the nodes", Duration::from_secs(30), |s| {
        s.contains("nodes[200]") && s.contains("node-001")
    });
    let pid = tmux.pane_pid();
    let pid = child_named(pid, "atlctl").unwrap_or(pid);
    println!(
        "first frame with data (200 nodes): {:.0} ms after spawn",
        first.as_secs_f64() * 1e3
    );

    // All 5,000 pods on screen, then a change in kubesim per run: the pod turns Terminating.
    tmux.send(&[":po", "Enter"]);
    tmux.time_until("the pods", Duration::from_secs(30), |s| {
        shown(s).is_some_and(|n| n >= 5_000)
    });
    let kubeconfig = kube::config::Kubeconfig::read_from(&demo.kubeconfig).unwrap();
    let kube = runtime.block_on(async {
        let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
            .await
            .unwrap();
        kube::Client::try_from(config).unwrap()
    });
    let mut victims: Vec<(String, String)> = runtime
        .block_on(client.list::<InCluster<Pod>>("pods", &[]))
        .unwrap()
        .items
        .into_iter()
        .filter(|p| p.object.namespace != "kube-system" && p.object.deletion_ms.is_none())
        .map(|p| (p.object.namespace, p.object.name))
        .collect();
    victims.truncate(runs);
    // The anchor: kubectl's own watch of the same cluster, every line timed as it arrives.
    let lines: std::sync::Arc<std::sync::Mutex<Vec<(Instant, String)>>> = Default::default();
    let mut kubectl = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&demo.kubeconfig)
        // Lines name the pod; the first one (kubectl's header) is not timed.
        .args(["get", "pods", "-A", "-w", "--watch-only"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("kubectl runs");
    {
        let lines = lines.clone();
        let stdout = kubectl.stdout.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead as _;
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                lines.lock().unwrap().push((Instant::now(), line));
            }
        });
    }
    std::thread::sleep(Duration::from_secs(3));
    let mut anchor = Vec::new();
    let mut seen = Vec::new();
    for (namespace, name) in &victims {
        // Esc clears the last filter; sent alone, or the terminal reads Esc + `/` as Alt-/.
        tmux.send(&["Escape"]);
        tmux.time_until("the whole list", Duration::from_secs(10), |s| {
            shown(s).is_some_and(|n| n >= 5_000)
        });
        tmux.send(&["/", name.as_str(), "Enter"]);
        tmux.time_until("the pod alone", Duration::from_secs(10), |s| {
            shown(s) == Some(1) && s.contains(name.as_str())
        });
        let api: kube::Api<k8s_openapi::api::core::v1::Pod> =
            kube::Api::namespaced(kube.clone(), namespace);
        let started = Instant::now();
        runtime
            .block_on(api.delete(name, &kube::api::DeleteParams::default()))
            .unwrap();
        // Terminating, or gone at once (a pod that never started has nothing to stop).
        tmux.time_until("the deletion", Duration::from_secs(10), |s| {
            s.contains("Terminating") || shown(s) == Some(0)
        });
        seen.push(started.elapsed());
        // kubectl's line for the same change (it came by now, or within a few seconds).
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let at = lines
                .lock()
                .unwrap()
                .iter()
                .find(|(t, l)| *t >= started && l.contains(name.as_str()))
                .map(|(t, _)| *t);
            if let Some(at) = at {
                anchor.push(at - started);
                break;
            }
            if Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let _ = kubectl.kill();
    let _ = kubectl.wait();
    if !anchor.is_empty() {
        println!(
            "anchor, kubectl get pods -A -w against kubesim ({} of the same deletions): p50 {:.0} ms, p99 {:.0} ms",
            anchor.len(),
            percentile(&mut anchor, 0.5).as_secs_f64() * 1e3,
            percentile(&mut anchor, 0.99).as_secs_f64() * 1e3,
        );
    }
    println!(
        "change in kubesim → on screen ({} pod deletions): p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        seen.len(),
        percentile(&mut seen, 0.5).as_secs_f64() * 1e3,
        percentile(&mut seen, 0.99).as_secs_f64() * 1e3,
        percentile(&mut seen, 1.0).as_secs_f64() * 1e3,
    );

    // Quiet: wait out the last changes, then count CPU ticks.
    tmux.send(&["Escape"]);
    std::thread::sleep(Duration::from_secs(5));
    let console = Pid::Of(pid);
    let cpu = process::cpu_seconds(console);
    std::thread::sleep(Duration::from_secs(idle_secs));
    let used = process::cpu_seconds(console) - cpu;
    println!(
        "idle: {:.2} % of a core over {idle_secs} s; peak RSS {:.1} MiB (VmHWM), now {:.1} MiB",
        used / idle_secs as f64 * 100.0,
        process::peak_rss_mib(console),
        process::rss_mib(console),
    );
    drop(tmux);
    runtime.block_on(demo.stop());
}

fn main() {
    in_process();
    end_to_end();
}
