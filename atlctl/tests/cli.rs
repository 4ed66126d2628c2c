//! atlctl, the real binary, against the in-process demo stack over loopback (kubesim, agent,
//! nodemetrics, master): what it prints agrees with what kubesim holds, filters agree with
//! kubesim's own selectors, `-w` sees changes, and every failure has its documented exit code.

use std::collections::BTreeSet;
use std::process::Stdio;
use std::time::{Duration, Instant};

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{InCluster, List};
use atlhyper_model::resources::Pod;
use k8s_openapi::api::core::v1::Pod as KubePod;
use kube::api::{DeleteParams, ListParams};
use tokio::io::AsyncBufReadExt as _;

mod common;

use common::{Run, command, output, start, wait_for};

fn names(list: &List<InCluster<Pod>>) -> BTreeSet<String> {
    list.items.iter().map(|p| p.object.name.clone()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_pods_all_namespaces_lists_exactly_what_kubesim_holds() {
    let stack = start().await;
    let mut last = (BTreeSet::new(), BTreeSet::new());
    let same = wait_for(Duration::from_secs(10), async || {
        let list: Option<List<InCluster<Pod>>> =
            stack.run(&["get", "pods", "-A", "--json"]).await.json();
        let Some(list) = list else { return false };
        assert_eq!(list.api_version, "atlhyper.io/v1");
        assert_eq!(list.kind, "PodList");
        let mine: BTreeSet<String> = list
            .items
            .iter()
            .map(|p| format!("{}/{}", p.object.namespace, p.object.name))
            .collect();
        assert_eq!(mine.len(), list.items.len(), "a pod listed twice");
        last = (mine, stack.kubesim_pods());
        last.0 == last.1
    })
    .await;
    assert!(same, "atlctl and kubesim disagree: {:?}", last);

    // The table: a header and one row per pod, NAMESPACE first with -A.
    let table = stack.run(&["get", "po", "-A"]).await;
    assert_eq!(table.code, 0, "{}", table.stderr);
    let mut lines = table.stdout.lines();
    let header: Vec<&str> = lines.next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert!(lines.count() >= last.1.len() - 2);

    // What `-o name` prints names the object again, as kubectl takes it.
    let named = stack
        .run(&["get", "pods", "-n", "shop", "-o", "name"])
        .await;
    let first = named.stdout.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("pod/"), "{}", named.stdout);
    let again = stack
        .run(&["get", &first, "-n", "shop", "-o", "name"])
        .await;
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(again.stdout.trim(), first);
    let both = stack
        .run(&["get", "pods", &first, "-n", "shop", "-o", "name"])
        .await;
    assert_eq!(both.stdout.trim(), first, "{}", both.stderr);

    // -o wide adds the agent's clock skew to the clusters.
    let wide = stack.run(&["get", "clusters", "-o", "wide"]).await;
    assert_eq!(wide.code, 0, "{}", wide.stderr);
    assert!(wide.stdout.contains("CLOCK SKEW"), "{}", wide.stdout);
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_label_and_field_filters_agree_with_kubesim_selectors() {
    let stack = start().await;
    let cases: [(&[&str], &str, ListParams); 4] = [
        (&["-n", "shop"], "shop", ListParams::default()),
        (
            &["-n", "shop", "-l", "app in (checkout,frontend)"],
            "shop",
            ListParams::default().labels("app in (checkout,frontend)"),
        ),
        (
            &["-n", "batch", "--field", "status=Running"],
            "batch",
            ListParams::default().fields("status.phase=Running"),
        ),
        (
            &["-n", "shop", "--field", "spec.nodeName=worker-1"],
            "shop",
            ListParams::default().fields("spec.nodeName=worker-1"),
        ),
    ];
    for (flags, namespace, params) in cases {
        let mut args = vec!["get", "pods", "--json"];
        args.extend_from_slice(flags);
        let mut last = (BTreeSet::new(), BTreeSet::new());
        let agree = wait_for(Duration::from_secs(10), async || {
            let Some(list) = stack.run(&args).await.json::<List<InCluster<Pod>>>() else {
                return false;
            };
            last = (names(&list), stack.kube_names(namespace, &params).await);
            last.0 == last.1 && !last.0.is_empty()
        })
        .await;
        assert!(
            agree,
            "{flags:?}: atlctl {:?} vs kubesim {:?}",
            last.0, last.1
        );
    }
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watching_with_json_sees_a_deleted_pod_within_two_seconds() {
    let stack = start().await;
    let mut child = stack
        .command(&["get", "pods", "-n", "shop", "-w", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // The pods there now come first, as ADDED lines.
    let first = tokio::time::timeout(Duration::from_secs(10), lines.next_line())
        .await
        .expect("the first line")
        .unwrap()
        .unwrap();
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["type"], "ADDED");
    assert_eq!(first["object"]["kind"], "Pod");
    // Let the list and the stream settle before the change.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let shop: kube::Api<KubePod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let victim = shop.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let deleted_at = Instant::now();
    shop.delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            let event: serde_json::Value = serde_json::from_str(&line).unwrap();
            if event["type"] == "DELETED" && event["object"]["name"] == victim.as_str() {
                return deleted_at.elapsed();
            }
        }
        panic!("the watch ended");
    })
    .await
    .expect("no DELETED line for the pod");
    assert!(seen < Duration::from_secs(2), "seen after {seen:?}");
    child.kill().await.unwrap();
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_nodes_shows_every_node_with_plausible_figures() {
    let stack = start().await;
    let nodes: BTreeSet<String> = stack
        .demo
        .stack
        .kubesim
        .sim
        .world()
        .nodes
        .iter()
        .map(|e| e.object.metadata.name.clone().unwrap_or_default())
        .collect();
    // Simulated nodes report every 5 s; this host's sampler reports as the control plane.
    let mut last = BTreeSet::new();
    let all = wait_for(Duration::from_secs(15), async || {
        let Some(list) = stack
            .run(&["top", "nodes", "--json"])
            .await
            .json::<List<InCluster<NodeMetricsSnapshot>>>()
        else {
            return false;
        };
        for item in &list.items {
            let s = &item.object;
            assert!(s.cpu.cores > 0, "{}", s.node);
            assert!((0.0..=100.0).contains(&s.cpu.usage_percent), "{}", s.node);
            assert!(
                s.memory.used_bytes > 0 && s.memory.used_bytes <= s.memory.total_bytes,
                "{}",
                s.node
            );
        }
        last = list.items.iter().map(|i| i.object.node.clone()).collect();
        last == nodes
    })
    .await;
    assert!(all, "metrics for {last:?}, nodes {nodes:?}");

    // Busiest first: `-` for descending, as a separate word too.
    let sorted = stack
        .run(&["top", "nodes", "--sort-by", "-cpu", "--json"])
        .await
        .json::<List<InCluster<NodeMetricsSnapshot>>>()
        .unwrap();
    let cpu: Vec<f64> = sorted
        .items
        .iter()
        .map(|i| i.object.cpu.usage_percent)
        .collect();
    assert!(cpu.windows(2).all(|w| w[0] >= w[1]), "{cpu:?}");

    let once = stack.run(&["top", "nodes", "--once"]).await;
    assert_eq!(once.code, 0, "{}", once.stderr);
    let rows: Vec<&str> = once.stdout.lines().collect();
    assert!(rows[0].starts_with("NAME") && rows[0].contains("CPU%") && rows[0].contains("TEMP"));
    assert_eq!(rows.len(), nodes.len() + 1, "{}", once.stdout);
    stack.demo.stop().await;
}

/// Exactly one line on stderr, no panic or debug dump.
fn one_line(run: &Run) {
    assert_eq!(
        run.stderr.trim_end().lines().count(),
        1,
        "stderr: {}",
        run.stderr
    );
    assert!(
        run.stderr.starts_with("atlctl: ") || run.stderr.starts_with("error: "),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_failure_has_its_documented_exit_code_and_one_line() {
    let stack = start().await;
    let config = stack.dir.path().join("config.toml");
    let cases: [(&[&str], i32, &str); 7] = [
        // The console, asked for without a terminal.
        (&[], 2, "needs a terminal"),
        (&["get", "widgets"], 2, "widgets"),
        (&["get", "pods", "-l", "app in (oops"], 2, "-l"),
        (
            &["get", "pods", "-n", "shop", "-A"],
            2,
            "cannot be used with",
        ),
        (
            &["get", "pods", "--field", "spec.hostIP=1"],
            2,
            "spec.hostIP",
        ),
        (
            &["get", "pods", "-n", "shop", "no-such-pod"],
            3,
            "not found",
        ),
        (&["get", "pods", "--cluster", "nope"], 3, "nope"),
    ];
    for (args, code, says) in cases {
        let run = stack.run(args).await;
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{args:?}: {}", run.stderr);
        one_line(&run);
    }

    // A bad token, and none at all.
    let run = output(command(
        &stack.demo.server,
        Some("atl_not-a-real-token-000000"),
        &config,
        &["get", "pods"],
    ))
    .await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    one_line(&run);
    let run = output(command(&stack.demo.server, None, &config, &["get", "pods"])).await;
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(run.stderr.contains("ATLHYPER_TOKEN"), "{}", run.stderr);

    // Nothing listening.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let run = output(command(
        &format!("http://{closed}"),
        Some("t"),
        &config,
        &["get", "pods"],
    ))
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    one_line(&run);

    // A server that answers garbage, and one that never answers.
    let garbage = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let garbage_addr = garbage.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        while let Ok((mut socket, _)) = garbage.accept().await {
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            let _ = socket
                .write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\nconnection: close\r\n\r\nnot json!",
                )
                .await;
        }
    });
    let run = output(command(
        &format!("http://{garbage_addr}"),
        Some("t"),
        &config,
        &["get", "pods"],
    ))
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    one_line(&run);

    let hang = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hang_addr = hang.local_addr().unwrap();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = hang.accept().await {
            held.push(socket);
        }
    });
    let started = Instant::now();
    let run = output(command(
        &format!("http://{hang_addr}"),
        Some("t"),
        &config,
        &["get", "pods", "--request-timeout", "1s"],
    ))
    .await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(
        run.stderr.contains("did not answer within 1s"),
        "{}",
        run.stderr
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    one_line(&run);
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contexts_pick_the_server_and_token() {
    let stack = start().await;
    let config = stack.dir.path().join("contexts.toml");
    let token_file = stack.dir.path().join("token");
    std::fs::write(&token_file, format!("{}\n", stack.demo.admin_token)).unwrap();
    let set = output(command(
        "http://unused:1",
        None,
        &config,
        &[
            "config",
            "set-context",
            "demo",
            "--server",
            &stack.demo.server,
            "--token-file",
            token_file.to_str().unwrap(),
            "--default-namespace",
            "shop",
        ],
    ))
    .await;
    assert_eq!(set.code, 0, "{}", set.stderr);
    // No ATLHYPER_SERVER/TOKEN: the context alone says where and who.
    let mut c = command("", None, &config, &["get", "pods", "--json"]);
    c.env_remove("ATLHYPER_SERVER");
    let run = output(c).await;
    let list: List<InCluster<Pod>> = run.json().unwrap_or_else(|| panic!("{}", run.stderr));
    assert!(list.items.iter().all(|p| p.object.namespace == "shop") && !list.items.is_empty());

    let contexts = output(command("", None, &config, &["config", "get-contexts"])).await;
    assert!(contexts.stdout.contains("demo") && contexts.stdout.contains('*'));
    assert!(
        !contexts.stdout.contains(&stack.demo.admin_token),
        "a token was printed"
    );
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_headless_prints_the_exports_first_and_serves_until_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_atlctl"))
        .args(["demo", "--headless"])
        .env("ATLHYPER_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let mut exports = std::collections::BTreeMap::new();
    for _ in 0..3 {
        let line = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("an export line")
            .unwrap()
            .unwrap();
        let (key, value) = line
            .strip_prefix("export ")
            .and_then(|l| l.split_once('='))
            .unwrap_or_else(|| panic!("not an export line: {line}"));
        exports.insert(key.to_owned(), value.to_owned());
    }
    assert!(std::path::Path::new(&exports["ATLHYPER_DEMO_KUBECONFIG"]).exists());
    let config = dir.path().join("none.toml");
    let served = wait_for(Duration::from_secs(5), async || {
        output(command(
            &exports["ATLHYPER_SERVER"],
            Some(&exports["ATLHYPER_TOKEN"]),
            &config,
            &["get", "clusters", "--json"],
        ))
        .await
        .stdout
        .contains("\"id\": \"demo\"")
    })
    .await;
    assert!(served, "the demo's master does not list the demo cluster");

    let pid = child.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("the demo stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn top_pods_names_every_running_pod_the_simulated_nodes_report() {
    let stack = start().await;
    // kubesim reports the workers; the control plane is this host, whose sampler finds no
    // kubelet cgroups.
    let running = || -> BTreeSet<String> {
        stack
            .demo
            .stack
            .kubesim
            .sim
            .world()
            .pods
            .iter()
            .filter(|e| {
                let status = e.object.status.as_ref();
                status.and_then(|s| s.phase.as_deref()) == Some("Running")
                    && e.object.spec.as_ref().and_then(|s| s.node_name.as_deref())
                        != Some("control-plane-1")
            })
            .map(|e| {
                format!(
                    "{}/{}",
                    e.object.metadata.namespace.clone().unwrap_or_default(),
                    e.object.metadata.name.clone().unwrap_or_default()
                )
            })
            .collect()
    };
    let mut last = (BTreeSet::new(), BTreeSet::new());
    let agree = wait_for(Duration::from_secs(20), async || {
        let Some(list) = stack
            .run(&["top", "pods", "-A", "--json"])
            .await
            .json::<List<InCluster<atlhyper_model::api::PodMetrics>>>()
        else {
            return false;
        };
        assert_eq!(list.kind, "PodMetricsList");
        for p in &list.items {
            assert!(
                p.object.cpu_millicores >= 0.0 && p.object.memory_bytes > 0,
                "{p:?}"
            );
        }
        last = (
            list.items
                .iter()
                .map(|p| format!("{}/{}", p.object.namespace, p.object.name))
                .collect(),
            running(),
        );
        last.0 == last.1 && !last.0.is_empty()
    })
    .await;
    assert!(agree, "top pods {:?} vs running {:?}", last.0, last.1);

    let once = stack.run(&["top", "pods", "-n", "shop", "--once"]).await;
    assert_eq!(once.code, 0, "{}", once.stderr);
    let header: Vec<&str> = once
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_read_newest_last_and_follow_as_ndjson() {
    let stack = start().await;
    let have_events = wait_for(Duration::from_secs(10), async || {
        stack
            .run(&["events", "-A", "--json"])
            .await
            .json::<List<InCluster<atlhyper_model::resources::Event>>>()
            .is_some_and(|l| l.items.len() >= 3)
    })
    .await;
    assert!(have_events);
    let list: List<InCluster<atlhyper_model::resources::Event>> =
        stack.run(&["events", "-A", "--json"]).await.json().unwrap();
    assert_eq!(list.kind, "EventList");
    let seen: Vec<i64> = list.items.iter().map(|e| e.object.last_seen_ms).collect();
    assert!(
        seen.windows(2).all(|w| w[0] <= w[1]),
        "not newest last: {seen:?}"
    );

    let mut child = stack
        .command(&["events", "-n", "shop", "-w", "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    // kubectl's spelling follows the same stream, as a table.
    let mut get = stack
        .command(&["get", "events", "-A", "-w"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut table = tokio::io::BufReader::new(get.stdout.take().unwrap()).lines();
    // What was there at the start: read until the list is printed and the table goes quiet.
    let mut listed = 0;
    while let Ok(Ok(Some(_))) =
        tokio::time::timeout(Duration::from_millis(700), table.next_line()).await
    {
        listed += 1;
    }
    assert!(listed > 3, "get events -A -w listed {listed} lines");
    let shop: kube::Api<KubePod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let victim = shop.list(&ListParams::default()).await.unwrap().items[0]
        .metadata
        .name
        .clone()
        .unwrap();
    shop.delete(&victim, &DeleteParams::default().grace_period(0))
        .await
        .unwrap();
    // The replacement's events (Scheduled, Pulling, …) arrive as lines, shop's only.
    let fresh = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("the follow ended");
            let event: serde_json::Value = serde_json::from_str(&line).unwrap();
            assert_eq!(event["object"]["kind"], "Event");
            assert_eq!(event["object"]["namespace"], "shop", "{line}");
            if event["object"]["reason"] == "Scheduled" {
                return;
            }
        }
    })
    .await;
    assert!(fresh.is_ok(), "no Scheduled event followed the deletion");
    let followed = tokio::time::timeout(Duration::from_secs(15), async {
        loop {
            let line = table.next_line().await.unwrap().expect("get -w ended");
            if line.contains("Scheduled") && line.contains("shop") {
                return line;
            }
        }
    })
    .await;
    assert!(
        followed.is_ok(),
        "get events -A -w printed no event caused after it started"
    );
    get.kill().await.unwrap();
    child.kill().await.unwrap();
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_and_no_wait() {
    let stack = start().await;
    for shell in ["bash", "zsh", "fish"] {
        let run = stack.run(&["completions", shell]).await;
        assert_eq!(run.code, 0, "{shell}: {}", run.stderr);
        assert!(
            run.stdout.contains("atlctl") && run.stdout.contains("restart-pod"),
            "{shell}"
        );
    }
    assert_eq!(stack.run(&["completions", "tcsh"]).await.code, 2);

    let run = stack
        .run(&[
            "exec",
            "scale",
            "shop/cart",
            "--replicas",
            "3",
            "--yes",
            "--no-wait",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let id = run.stdout.trim().to_owned();
    assert!(id.starts_with("cmd-"), "{id}");
    let done = wait_for(Duration::from_secs(10), async || {
        stack
            .run(&["get", "commands", &id, "--json"])
            .await
            .json::<serde_json::Value>()
            .is_some_and(|c| c["status"] == "succeeded")
    })
    .await;
    assert!(done, "{id} never succeeded");
    stack.demo.stop().await;
}
