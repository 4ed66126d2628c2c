//! kubectl (the machine's, 1.32+) against kubesim: each test runs what an operator types and
//! checks what kubectl prints and exits with.

mod common;

use std::process::Output;
use std::time::Duration;

use kubesim::sim::SimOptions;

use common::{Cluster, start, wait_until};

/// Runs kubectl against the cluster with a fresh discovery cache.
async fn kubectl(cluster: &Cluster, args: &[&str]) -> Output {
    let mut command = tokio::process::Command::new("kubectl");
    command
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .arg("--cache-dir")
        .arg(cluster.dir.path().join("cache"))
        .args(args)
        .kill_on_drop(true);
    tokio::time::timeout(Duration::from_secs(60), command.output())
        .await
        .expect("kubectl finishes within a minute")
        .expect("kubectl is installed (scripts/test installs it)")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "kubectl failed: {}\n{}",
        String::from_utf8_lossy(&output.stderr),
        stdout(output)
    );
    stdout(output)
}

/// The demo, settled: every pod that can start has started.
async fn demo() -> Cluster {
    let cluster = start("demo", 1.0, SimOptions::default()).await;
    let sim = cluster.running.sim.clone();
    wait_until("demo pods started", Duration::from_secs(30), || {
        let sim = sim.clone();
        async move {
            let world = sim.world();
            let starting = world
                .pods
                .iter()
                .filter(|e| !e.meta.name.starts_with("report-gen"))
                .filter(|e| {
                    let status = kubesim::api::table::pod_summary(&e.object).status;
                    status == "Pending" || status == "ContainerCreating"
                })
                .count();
            world.pods.len() >= 50 && starting == 0
        }
    })
    .await;
    cluster
}

fn pod_names(cluster: &Cluster, namespace: &str, app: &str) -> Vec<String> {
    cluster
        .running
        .sim
        .world()
        .pods
        .in_namespace(namespace)
        .filter(|e| e.meta.labels.get("app").map(String::as_str) == Some(app))
        .map(|e| e.meta.name.clone())
        .collect()
}

#[tokio::test]
async fn get_pods_all_namespaces_prints_the_real_columns_and_faults() {
    let cluster = demo().await;
    let sim = cluster.running.sim.clone();
    wait_until("checkout crash-loops", Duration::from_secs(40), || {
        let cluster = &cluster;
        async move {
            let out = stdout(&kubectl(cluster, &["get", "pods", "-A"]).await);
            out.contains("CrashLoopBackOff") && out.contains("ImagePullBackOff")
        }
    })
    .await;
    let out = ok(&kubectl(&cluster, &["get", "pods", "-A"]).await);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        ["NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS", "AGE"]
    );
    assert_eq!(out.lines().count() - 1, sim.world().pods.len(), "{out}");
    let pending = out.lines().find(|l| l.contains("report-gen")).unwrap();
    assert!(pending.contains("Pending"), "{pending}");
    let crash = out.lines().find(|l| l.contains("checkout")).unwrap();
    assert!(
        crash.contains("CrashLoopBackOff") && crash.contains("ago)"),
        "{crash}"
    );
    cluster.running.stop().await;
}

#[tokio::test]
async fn get_nodes_wide_shows_roles_versions_and_addresses() {
    let cluster = demo().await;
    let out = ok(&kubectl(&cluster, &["get", "nodes", "-o", "wide"]).await);
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        header,
        [
            "NAME",
            "STATUS",
            "ROLES",
            "AGE",
            "VERSION",
            "INTERNAL-IP",
            "EXTERNAL-IP",
            "OS-IMAGE",
            "KERNEL-VERSION",
            "CONTAINER-RUNTIME"
        ]
    );
    assert_eq!(out.lines().count(), 6, "{out}");
    let cp = out
        .lines()
        .find(|l| l.starts_with("control-plane-1"))
        .unwrap();
    assert!(
        cp.contains("control-plane") && cp.contains("v1.33.4") && cp.contains("containerd://"),
        "{cp}"
    );
    cluster.running.stop().await;
}

#[tokio::test]
async fn get_several_kinds_across_namespaces() {
    let cluster = demo().await;
    let out = ok(&kubectl(&cluster, &["get", "deploy,svc,ing,cm", "-A"]).await);
    for expected in [
        "deployment.apps/frontend",
        "service/frontend",
        "LoadBalancer",
        "ingress.networking.k8s.io/storefront",
        "shop.example.com",
        "configmap/checkout-config",
        "configmap/kube-root-ca.crt",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    cluster.running.stop().await;
}

#[tokio::test]
async fn describe_pod_logs_and_events_by_object() {
    let cluster = demo().await;
    let pod = pod_names(&cluster, "shop", "frontend").remove(0);
    let out = ok(&kubectl(&cluster, &["describe", "pod", "-n", "shop", &pod]).await);
    for expected in [
        "Name:",
        "Node:",
        "Containers:",
        "Conditions:",
        "Events:",
        "Scheduled",
        "Started container frontend",
    ] {
        assert!(out.contains(expected), "{expected} missing from:\n{out}");
    }
    wait_until("some log lines", Duration::from_secs(10), || {
        let (cluster, pod) = (&cluster, pod.clone());
        async move {
            stdout(&kubectl(cluster, &["logs", "-n", "shop", &pod]).await)
                .lines()
                .count()
                >= 4
        }
    })
    .await;
    let out = ok(&kubectl(
        &cluster,
        &["logs", "-n", "shop", &pod, "--tail", "3", "--timestamps"],
    )
    .await);
    assert_eq!(out.lines().count(), 3, "{out}");
    assert!(
        out.lines().all(|l| l.starts_with("20") && l.contains("Z ")),
        "{out}"
    );

    let selector = format!("involvedObject.name={pod}");
    let out = ok(&kubectl(
        &cluster,
        &["get", "events", "-n", "shop", "--field-selector", &selector],
    )
    .await);
    assert!(out.lines().count() >= 3, "{out}");
    assert!(out.lines().skip(1).all(|l| l.contains(&pod)), "{out}");
    cluster.running.stop().await;
}

#[tokio::test]
async fn rollout_restart_and_scale_deployments() {
    let cluster = demo().await;
    let before = pod_names(&cluster, "shop", "cart");
    let out = ok(&kubectl(
        &cluster,
        &["rollout", "restart", "deployment/cart", "-n", "shop"],
    )
    .await);
    assert!(out.contains("deployment.apps/cart restarted"), "{out}");
    let sim = cluster.running.sim.clone();
    wait_until("every cart pod replaced", Duration::from_secs(60), || {
        let sim = sim.clone();
        let before = before.clone();
        async move {
            let world = sim.world();
            let now: Vec<_> = world
                .pods
                .in_namespace("shop")
                .filter(|e| e.meta.labels.get("app").map(String::as_str) == Some("cart"))
                .filter(|e| e.object.metadata.deletion_timestamp.is_none())
                .map(|e| e.meta.name.clone())
                .collect();
            now.len() == 4 && now.iter().all(|p| !before.contains(p))
        }
    })
    .await;

    let out = ok(&kubectl(
        &cluster,
        &["scale", "deployment/redis", "-n", "data", "--replicas=4"],
    )
    .await);
    assert!(out.contains("deployment.apps/redis scaled"), "{out}");
    wait_until("four redis pods ready", Duration::from_secs(20), || {
        let cluster = &cluster;
        async move {
            let out = stdout(&kubectl(cluster, &["get", "deploy", "redis", "-n", "data"]).await);
            out.contains("4/4")
        }
    })
    .await;
    cluster.running.stop().await;
}

#[tokio::test]
async fn cordon_uncordon_and_drain_nodes() {
    let cluster = demo().await;
    ok(&kubectl(&cluster, &["cordon", "worker-2"]).await);
    let out = ok(&kubectl(&cluster, &["get", "node", "worker-2"]).await);
    assert!(out.contains("Ready,SchedulingDisabled"), "{out}");
    ok(&kubectl(&cluster, &["uncordon", "worker-2"]).await);
    let out = ok(&kubectl(&cluster, &["get", "node", "worker-2"]).await);
    assert!(!out.contains("SchedulingDisabled"), "{out}");

    let out = ok(&kubectl(
        &cluster,
        &[
            "drain",
            "worker-1",
            "--ignore-daemonsets",
            "--delete-emptydir-data",
            "--timeout=60s",
        ],
    )
    .await);
    assert!(out.contains("node/worker-1 drained"), "{out}");
    let sim = cluster.running.sim.clone();
    let left: Vec<String> = sim
        .world()
        .pods
        .iter()
        .filter(|e| e.object.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("worker-1"))
        .filter(|e| {
            e.object
                .metadata
                .owner_references
                .as_ref()
                .is_none_or(|o| o.iter().all(|r| r.kind != "DaemonSet"))
        })
        .map(|e| e.meta.name.clone())
        .collect();
    assert!(
        left.is_empty(),
        "pods other than DaemonSet pods left on the drained node: {left:?}"
    );
    let daemons = sim
        .world()
        .pods
        .iter()
        .filter(|e| e.object.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some("worker-1"))
        .count();
    assert_eq!(daemons, 2, "kube-proxy and fluent-bit stay");
    cluster.running.stop().await;
}

/// `kubectl expose` makes a Service with a ClusterIP of the service range, as the API server
/// allocates one; asking for one already taken is the API server's 422.
#[tokio::test]
async fn an_exposed_deployment_gets_a_cluster_ip() {
    let cluster = demo().await;
    let out = ok(&kubectl(
        &cluster,
        &[
            "expose",
            "deployment/cart",
            "-n",
            "shop",
            "--name",
            "cart-x",
            "--port",
            "80",
        ],
    )
    .await);
    assert!(out.contains("service/cart-x exposed"), "{out}");
    let ip = ok(&kubectl(
        &cluster,
        &[
            "get",
            "service",
            "cart-x",
            "-n",
            "shop",
            "-o",
            "jsonpath={.spec.clusterIP}",
        ],
    )
    .await);
    let ip: std::net::Ipv4Addr = ip.trim().parse().expect("an IPv4 ClusterIP");
    assert_eq!(
        u32::from(ip) >> 20,
        u32::from(std::net::Ipv4Addr::new(10, 96, 0, 0)) >> 20,
        "{ip}"
    );
    let out = kubectl(
        &cluster,
        &[
            "expose",
            "deployment/cart",
            "-n",
            "shop",
            "--name",
            "cart-y",
            "--port",
            "80",
            "--cluster-ip",
            &ip.to_string(),
        ],
    )
    .await;
    assert!(!out.status.success());
    // kubectl prints the field and its message from the Status's `details.causes`.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("The Service \"cart-y\" is invalid: spec.clusterIPs: Invalid value")
            && err.contains("provided IP is already allocated"),
        "{err}"
    );
    let gone = kubectl(&cluster, &["get", "service", "cart-y", "-n", "shop"]).await;
    assert!(!gone.status.success(), "a refused Service is not stored");
    // Once set, it stays.
    let out = kubectl(
        &cluster,
        &[
            "patch",
            "service",
            "cart-x",
            "-n",
            "shop",
            "-p",
            r#"{"spec":{"clusterIP":"10.96.9.9"}}"#,
        ],
    )
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("may not change once set"), "{err}");
    cluster.running.stop().await;
}

/// A `kubectl … -w` left running (its own cache directory), its output read when it is killed.
fn watching(cluster: &Cluster, cache: &str, args: &[&str]) -> tokio::process::Child {
    tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .arg("--cache-dir")
        .arg(cluster.dir.path().join(cache))
        .args(args)
        .arg("--request-timeout=20s")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("kubectl runs")
}

#[tokio::test]
async fn delete_pod_and_watch_the_replacement_arrive() {
    let cluster = demo().await;
    let pod = pod_names(&cluster, "data", "postgres").remove(0);
    let mut watch = watching(
        &cluster,
        "cache-watch",
        &["get", "pods", "-n", "data", "-w"],
    );
    // With the event types: its columns come from the watch's first Table.
    let mut events = watching(
        &cluster,
        "cache-events",
        &[
            "get",
            "pods",
            "-A",
            "-w",
            "--watch-only",
            "--output-watch-events",
        ],
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let out = ok(&kubectl(&cluster, &["delete", "pod", "-n", "data", &pod]).await);
    assert!(out.contains(&format!("pod \"{pod}\" deleted")), "{out}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    events.start_kill().unwrap();
    let typed = stdout(&events.wait_with_output().await.unwrap());
    let header = typed.lines().next().unwrap_or_default();
    assert!(
        header.split_whitespace().eq([
            "EVENT",
            "NAMESPACE",
            "NAME",
            "READY",
            "STATUS",
            "RESTARTS",
            "AGE"
        ]),
        "{typed}"
    );
    assert!(
        typed
            .lines()
            .any(|l| l.starts_with("MODIFIED") && l.contains(&pod) && l.contains("Terminating")),
        "{typed}"
    );
    watch.start_kill().unwrap();
    let output = watch.wait_with_output().await.unwrap();
    let seen = stdout(&output);
    assert!(seen.contains("Terminating"), "{seen}");
    let replacement = seen
        .lines()
        .filter(|l| l.starts_with("postgres-") && !l.starts_with(&pod))
        .count();
    assert!(replacement >= 1, "no replacement seen:\n{seen}");
    cluster.running.stop().await;
}

#[tokio::test]
async fn errors_read_as_kubectl_prints_them() {
    let cluster = start(common::SMALL, 1.0, SimOptions::default()).await;
    let out = kubectl(&cluster, &["get", "pod", "nope", "-n", "app"]).await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("Error from server (NotFound): pods \"nope\" not found")
    );
    let out = kubectl(
        &cluster,
        &["get", "pods", "-A", "--field-selector", "spec.bogus=1"],
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("field label not supported: spec.bogus"));
    cluster.running.stop().await;
}
