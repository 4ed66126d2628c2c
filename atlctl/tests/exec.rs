//! Commands end to end: `atlctl exec|logs|describe` (the real binary) → master → the agent's
//! long poll → kube-rs → kubesim, and the result back — checked against what kubesim holds.
// Test and bench code: a failed unwrap is a failed run, with its place.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use atlhyper_model::api::{InCluster, List};
use atlhyper_model::resources::{Node, Pod};
use k8s_openapi::api::apps::v1::Deployment as KubeDeployment;
use k8s_openapi::api::core::v1::Pod as KubePod;
use kube::api::{ListParams, LogParams};
use tokio::io::AsyncBufReadExt as _;

use atlhyper_testkit::tmux::Tmux;
use common::{Stack, start, wait_for};

impl Stack {
    async fn pods(&self, namespace: &str, selector: &str) -> Vec<KubePod> {
        let api: kube::Api<KubePod> = kube::Api::namespaced(self.kube.clone(), namespace);
        api.list(&ListParams::default().labels(selector))
            .await
            .unwrap()
            .items
    }

    async fn deployment(&self, namespace: &str, name: &str) -> KubeDeployment {
        let api: kube::Api<KubeDeployment> = kube::Api::namespaced(self.kube.clone(), namespace);
        api.get(name).await.unwrap()
    }
}

fn uids(pods: &[KubePod]) -> BTreeSet<String> {
    pods.iter()
        .filter(|p| p.metadata.deletion_timestamp.is_none())
        .filter_map(|p| p.metadata.uid.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_pod_replaces_the_pod_under_the_same_deployment() {
    let stack = start().await;
    let before = stack.pods("shop", "app=cart").await;
    let victim = before[0].metadata.name.clone().unwrap();
    let old_uids = uids(&before);
    let run = stack
        .run(&["exec", "restart-pod", &format!("shop/{victim}"), "--yes"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("recreates it"), "{}", run.stdout);
    let replaced = wait_for(Duration::from_secs(15), async || {
        let now = stack.pods("shop", "app=cart").await;
        let live = uids(&now);
        !now.iter()
            .any(|p| p.metadata.name.as_deref() == Some(&victim))
            && live.len() == old_uids.len()
            && live.difference(&old_uids).count() == 1
    })
    .await;
    assert!(replaced, "the pod was not replaced by exactly one new pod");
    // The command's history.
    let history = stack.run(&["get", "commands", "-o", "wide"]).await;
    assert_eq!(history.code, 0, "{}", history.stderr);
    let row = history.stdout.lines().nth(1).unwrap_or_default().to_owned();
    for word in [
        "restart_pod",
        &format!("shop/{victim}"),
        "succeeded",
        "demo",
    ] {
        assert!(row.contains(word), "{word} missing from {row}");
    }
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_restart_replaces_every_pod_once_and_scale_goes_2_to_5() {
    let stack = start().await;
    let old = uids(&stack.pods("shop", "app=catalog-api").await);
    let generation = stack
        .deployment("shop", "catalog-api")
        .await
        .metadata
        .generation
        .unwrap();
    let run = stack
        .run(&[
            "exec",
            "rollout-restart",
            "deploy/catalog-api",
            "-n",
            "shop",
            "--yes",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let renewed = wait_for(Duration::from_secs(30), async || {
        let now = uids(&stack.pods("shop", "app=catalog-api").await);
        now.len() == old.len() && now.is_disjoint(&old)
    })
    .await;
    assert!(renewed, "not every pod was replaced");
    // Once: the template changed exactly once.
    let after = stack.deployment("shop", "catalog-api").await;
    assert_eq!(after.metadata.generation.unwrap(), generation + 1);
    assert!(
        after
            .spec
            .unwrap()
            .template
            .metadata
            .unwrap()
            .annotations
            .unwrap()
            .contains_key("kubectl.kubernetes.io/restartedAt")
    );

    for replicas in [2, 5] {
        let run = stack
            .run(&[
                "exec",
                "scale",
                "shop/cart",
                "--replicas",
                &replicas.to_string(),
                "--yes",
            ])
            .await;
        assert_eq!(run.code, 0, "{}", run.stderr);
        let scaled = wait_for(Duration::from_secs(20), async || {
            let d = stack.deployment("shop", "cart").await;
            d.spec.and_then(|s| s.replicas) == Some(replicas)
                && d.status.and_then(|s| s.ready_replicas) == Some(replicas)
        })
        .await;
        assert!(scaled, "cart never reached {replicas} ready replicas");
    }
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_image_shows_as_image_pull_back_off_in_master() {
    let stack = start().await;
    let run = stack
        .run(&[
            "exec",
            "set-image",
            "shop/cart",
            "cart=registry.example.com/shop/cart:does-not-exist",
            "--yes",
        ])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let seen = wait_for(Duration::from_secs(30), async || {
        stack
            .run(&["get", "pods", "-n", "shop", "-l", "app=cart", "--json"])
            .await
            .json::<List<InCluster<Pod>>>()
            .is_some_and(|l| {
                l.items.iter().any(|p| {
                    matches!(
                        p.object.status.as_str(),
                        "ImagePullBackOff" | "ErrImagePull"
                    )
                })
            })
    })
    .await;
    assert!(seen, "no pod of the new image failed to pull at master");
    // A container that does not exist fails, naming the ones that do.
    let run = stack
        .run(&["exec", "set-image", "shop/cart", "nope=x:1", "--yes"])
        .await;
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("containers: cart"), "{}", run.stderr);
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cordon_shows_scheduling_disabled_and_drain_leaves_only_daemonset_and_protected_pods() {
    let stack = start().await;
    let run = stack.run(&["exec", "cordon", "worker-2"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let disabled = wait_for(Duration::from_secs(10), async || {
        stack
            .run(&["get", "nodes", "worker-2", "--json"])
            .await
            .json::<atlhyper_model::api::Item<InCluster<Node>>>()
            .is_some_and(|n| n.object.object.unschedulable)
    })
    .await;
    assert!(disabled);
    let table = stack.run(&["get", "no", "worker-2", "--no-headers"]).await;
    assert!(
        table.stdout.contains("Ready,SchedulingDisabled"),
        "{}",
        table.stdout
    );

    let run = stack
        .run(&["exec", "drain", "worker-4", "--yes", "--timeout", "60s"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("drained"), "{}", run.stdout);
    let api: kube::Api<KubePod> = kube::Api::all(stack.kube.clone());
    let left = api
        .list(&ListParams::default().fields("spec.nodeName=worker-4"))
        .await
        .unwrap()
        .items;
    for pod in &left {
        let daemon = pod
            .metadata
            .owner_references
            .iter()
            .flatten()
            .any(|o| o.kind == "DaemonSet");
        let protected = pod.metadata.namespace.as_deref() == Some("kube-system");
        assert!(
            daemon || protected || pod.metadata.deletion_timestamp.is_some(),
            "{:?} is still on the drained node",
            pod.metadata.name
        );
    }
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_return_the_last_lines_and_describe_the_object_with_events() {
    let stack = start().await;
    let pod = stack.pods("shop", "app=frontend").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    // Let the web server write a few lines.
    let api: kube::Api<KubePod> = kube::Api::namespaced(stack.kube.clone(), "shop");
    let enough = wait_for(Duration::from_secs(20), async || {
        api.logs(&pod, &LogParams::default())
            .await
            .is_ok_and(|l| l.lines().count() >= 4)
    })
    .await;
    assert!(enough, "kubesim wrote no logs");
    let run = stack
        .run(&["logs", &format!("shop/{pod}"), "--tail", "2"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mine: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(mine.len(), 2, "{}", run.stdout);
    let all = api.logs(&pod, &LogParams::default()).await.unwrap();
    for line in mine {
        assert!(all.contains(line), "{line} is not in the pod's log");
    }

    // kubectl's spelling, followed: the last two lines, then a line written after them,
    // until Ctrl-C.
    let mut follow = stack
        .command(&[
            "logs",
            "-n",
            "shop",
            &format!("pod/{pod}"),
            "--tail",
            "2",
            "-f",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = tokio::io::BufReader::new(follow.stdout.take().unwrap()).lines();
    let mut first = Vec::new();
    for _ in 0..3 {
        let line = tokio::time::timeout(Duration::from_secs(20), out.next_line())
            .await
            .expect("logs -f printed a line within 20 s")
            .unwrap()
            .expect("logs -f ended");
        first.push(line);
    }
    assert!(
        !first[..2].contains(&first[2]),
        "a line printed twice: {first:?}"
    );
    let all = api.logs(&pod, &LogParams::default()).await.unwrap();
    for line in &first {
        assert!(
            all.contains(line.as_str()),
            "{line} is not in the pod's log"
        );
    }
    let pid = follow.id().unwrap().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(5), follow.wait())
        .await
        .expect("logs -f stops on Ctrl-C")
        .unwrap();
    assert!(!status.success(), "{status:?}");

    // The crash-looping pod's previous run: how it ended.
    let checkout = stack.pods("shop", "app=checkout").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let restarted = wait_for(Duration::from_secs(30), async || {
        stack.pods("shop", "app=checkout").await.iter().any(|p| {
            p.status
                .as_ref()
                .and_then(|s| s.container_statuses.as_ref())
                .is_some_and(|cs| cs.iter().any(|c| c.restart_count > 0))
        })
    })
    .await;
    assert!(restarted, "checkout never restarted");
    let run = stack
        .run(&["logs", "-n", "shop", &checkout, "--previous"])
        .await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("exit status"), "{}", run.stdout);

    // describe as kubectl prints it, the way kubectl names the object; the headline fields
    // agree with kubectl's own describe of the same pod.
    let ours = stack
        .run(&["describe", "pod", "-n", "shop", &checkout])
        .await;
    assert_eq!(ours.code, 0, "{}", ours.stderr);
    for field in [
        "Name:",
        "Namespace:",
        "Node:",
        "Status:",
        "Containers:",
        "Restart Count:",
        "Conditions:",
        "Events:",
    ] {
        assert!(
            ours.stdout.contains(field),
            "{field} missing:\n{}",
            ours.stdout
        );
    }
    let kubectl = std::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&stack.demo.kubeconfig)
        .args(["describe", "pod", "-n", "shop", &checkout])
        .output()
        .expect("kubectl");
    let theirs = String::from_utf8_lossy(&kubectl.stdout);
    let field = |text: &str, key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .map(|l| l[key.len()..].trim().to_owned())
    };
    for key in [
        "Name:",
        "Namespace:",
        "Node:",
        "Status:",
        "IP:",
        "Controlled By:",
        "QoS Class:",
    ] {
        assert_eq!(
            field(&ours.stdout, key),
            field(&theirs, key),
            "{key}\n{}\n{theirs}",
            ours.stdout
        );
    }
    let same = |text: &str| {
        text.lines().any(|l| {
            l.trim_start().starts_with("Type")
                && l.contains("Reason")
                && l.contains("Age")
                && l.contains("From")
        })
    };
    assert!(same(&ours.stdout), "no events table:\n{}", ours.stdout);
    let run = stack.run(&["describe", "pod/missing", "-n", "shop"]).await;
    assert_eq!(run.code, 3, "{}", run.stderr);

    let run = stack.run(&["describe", "deploy", "shop/cart"]).await;
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Replicas:") && run.stdout.contains("Events:"),
        "{}",
        run.stdout
    );
    let yaml = stack
        .run(&["describe", "deploy/cart", "-n", "shop", "-o", "yaml"])
        .await;
    assert_eq!(yaml.code, 0, "{}", yaml.stderr);
    assert!(yaml.stdout.contains("kind: Deployment"), "{}", yaml.stdout);
    assert!(!yaml.stdout.contains("managedFields"));
    let json = stack
        .run(&["describe", "deploy", "cart", "-n", "shop", "-o", "json"])
        .await;
    let object: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    assert_eq!(object["metadata"]["name"], "cart");

    // Wrong arguments and missing targets: clear errors, nothing queued.
    for (args, code) in [
        (vec!["exec", "restart-pod", "a/b/c", "--yes"], 2),
        // kubectl's spelling: a name in -n, a kind's prefix; not there → not found.
        (
            vec!["exec", "restart-pod", "-n", "shop", "pod/missing", "--yes"],
            3,
        ),
        (
            vec![
                "exec",
                "scale",
                "deploy/cart",
                "-n",
                "shop",
                "--replicas",
                "x",
            ],
            2,
        ),
        (
            vec!["exec", "set-image", "shop/cart", "no-equals", "--yes"],
            2,
        ),
        (vec!["exec", "restart-pod", "shop/no-such-pod", "--yes"], 3),
        (vec!["describe", "widget", "shop/x"], 2),
        (
            vec![
                "exec",
                "restart-pod",
                "shop/x",
                "--cluster",
                "nope",
                "--yes",
            ],
            3,
        ),
    ] {
        let run = stack.run(&args).await;
        assert_eq!(run.code, code, "{args:?}: {}", run.stderr);
        assert_eq!(run.stderr.trim_end().lines().count(), 1, "{}", run.stderr);
    }
    // A change without --yes and without a terminal to ask on is refused.
    let run = stack
        .run(&["exec", "restart-pod", &format!("shop/{pod}")])
        .await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("--yes"));
    stack.demo.stop().await;
}

/// A pod of `node` that a drain evicts (not a DaemonSet's, not in kube-system).
async fn evictable_pod_on(stack: &Stack, node: &str) -> (String, String) {
    // Right after start the scheduler may not have bound every pod yet: wait for one.
    let api: kube::Api<KubePod> = kube::Api::all(stack.kube.clone());
    let mut found = None;
    wait_for(Duration::from_secs(20), async || {
        let pods = api
            .list(&ListParams::default().fields(&format!("spec.nodeName={node}")))
            .await
            .unwrap()
            .items;
        found = pods.into_iter().find(|p| {
            p.metadata.namespace.as_deref() != Some("kube-system")
                && !p
                    .metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| o.kind == "DaemonSet")
        });
        found.is_some()
    })
    .await;
    let pod = found.expect("an evictable pod on the node");
    (pod.metadata.namespace.unwrap(), pod.metadata.name.unwrap())
}

async fn set_eviction(stack: &Stack, namespace: &str, name: &str, value: Option<&str>) {
    let api: kube::Api<KubePod> = kube::Api::namespaced(stack.kube.clone(), namespace);
    let patch = serde_json::json!({"metadata": {"annotations": {
        kubesim::scenario::EVICTION_ANNOTATION: value
    }}});
    api.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drain_waits_out_a_disruption_budget_and_reports_an_api_error_mid_drain() {
    let stack = start().await;
    let (namespace, name) = evictable_pod_on(&stack, "worker-1").await;

    // A budget that never relents: the drain retries until its timeout, then says why.
    set_eviction(&stack, &namespace, &name, Some("blocked")).await;
    let run = stack
        .run(&["exec", "drain", "worker-1", "--yes", "--timeout", "3s"])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("disruption budget") && run.stderr.contains(&name),
        "{}",
        run.stderr
    );

    // The API server failing mid-drain: no retry, a clear failure.
    set_eviction(&stack, &namespace, &name, Some("error")).await;
    let run = stack
        .run(&["exec", "drain", "worker-1", "--yes", "--timeout", "30s"])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("InternalError"), "{}", run.stderr);

    // A budget that relents while the drain waits: the drain completes.
    set_eviction(&stack, &namespace, &name, Some("blocked")).await;
    let drain = stack
        .command(&["exec", "drain", "worker-1", "--yes", "--timeout", "60s"])
        .output();
    let relent = async {
        tokio::time::sleep(Duration::from_millis(2_500)).await;
        set_eviction(&stack, &namespace, &name, None).await;
    };
    let (out, ()) = tokio::join!(drain, relent);
    let out = out.unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every outcome is recorded: two failed drains, one that succeeded.
    let history = stack.run(&["get", "commands", "--json"]).await;
    let list: serde_json::Value = serde_json::from_str(&history.stdout).unwrap();
    let statuses: Vec<&str> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["command"]["kind"] == "drain")
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["succeeded", "failed", "failed"]);
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_clusters_policy_rejects_changes_in_protected_namespaces() {
    let stack = start().await;
    let pod = stack.pods("kube-system", "app=coredns").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let run = stack
        .run(&[
            "exec",
            "restart-pod",
            &format!("kube-system/{pod}"),
            "--yes",
        ])
        .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("rejected") && run.stderr.contains("protected"),
        "{}",
        run.stderr
    );
    // Reads stay allowed there (once the container has started and has logs).
    let mut last = String::new();
    let read = wait_for(Duration::from_secs(15), async || {
        let run = stack
            .run(&["logs", &format!("kube-system/{pod}"), "--tail", "1"])
            .await;
        last = run.stderr;
        run.code == 0
    })
    .await;
    assert!(read, "{last}");
    assert!(
        stack
            .pods("kube-system", "app=coredns")
            .await
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(&pod))
    );
    stack.demo.stop().await;
}

/// Runs `script` in a terminal of its own and returns the screen once it shows `EXIT=`, after
/// typing `keys` at the prompt.
async fn in_tmux(name: &str, script: &str, keys: &str) -> String {
    let tmux = Tmux::new(name, script, (160, 20));
    tmux.wait("the prompt", |s| s.contains("to confirm:")).await;
    tmux.send(&[keys, "Enter"]);
    tmux.wait("the command's end", |s| s.contains("EXIT="))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_terminal_a_change_waits_for_the_typed_name() {
    let stack = start().await;
    let pod = stack.pods("shop", "app=cart").await[0]
        .metadata
        .name
        .clone()
        .unwrap();
    let script = format!(
        "ATLHYPER_SERVER={} ATLHYPER_TOKEN={} ATLHYPER_CONFIG={} {} exec restart-pod shop/{pod}; \
         echo EXIT=$?; sleep 30",
        stack.demo.server,
        stack.demo.admin_token,
        stack.dir.path().join("none.toml").display(),
        env!("CARGO_BIN_EXE_atlctl"),
    );
    let refused = in_tmux("exec-refused", &script, "not-the-name").await;
    assert!(
        refused.contains("not confirmed") && refused.contains("EXIT=1"),
        "{refused}"
    );
    assert!(
        stack
            .pods("shop", "app=cart")
            .await
            .iter()
            .any(|p| p.metadata.name.as_deref() == Some(&pod))
    );

    let confirmed = in_tmux("exec-confirmed", &script, &pod).await;
    assert!(
        confirmed.contains("recreates it") && confirmed.contains("EXIT=0"),
        "{confirmed}"
    );
    stack.demo.stop().await;
}
