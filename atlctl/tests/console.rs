//! The console in a real terminal: the demo stack in process, the `atlctl` binary inside tmux
//! (its own server per test), keys sent as a user types them, the screen read back.

mod common;

use std::time::Duration;

use atlhyper_testkit::tmux::Tmux;
use common::{Stack, start, wait_for};

/// `atlctl` (the console) against the stack, then the exit code and the terminal's modes.
fn console_script(stack: &Stack) -> String {
    format!(
        "ATLHYPER_SERVER={} ATLHYPER_TOKEN={} ATLHYPER_CONFIG={} {}; echo EXIT=$?; \
         stty -a | tr ' ;' '\\n\\n' | grep -x -e icanon -e -icanon -e echo -e -echo | tr '\\n' ' '; \
         echo; sleep 60",
        stack.demo.server,
        stack.demo.admin_token,
        stack.dir.path().join("console.toml").display(),
        env!("CARGO_BIN_EXE_atlctl"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_terminal_the_console_finds_the_crash_loop_its_logs_and_the_nodes() {
    let stack = start().await;
    let tmux = Tmux::new("walk", &console_script(&stack), (80, 24));

    let pods = tmux.wait("the pods", |s| s.contains("pods(all)")).await;
    // At 80 columns with every namespace, what triage needs stays on screen.
    let header = pods
        .lines()
        .find(|l| l.contains("NAME"))
        .unwrap_or_default();
    for column in ["NAMESPACE", "READY", "STATUS", "RESTARTS", "AGE"] {
        assert!(
            header.contains(column),
            "{column} missing at 80x24:\n{pods}"
        );
    }
    // The cursor at the bottom of every pod, then a namespace with fewer of them.
    tmux.send(&["G", ":ns default", "Enter"]);
    tmux.wait("the pods of default, the console still running", |s| {
        s.contains("pods(default)")
    })
    .await;
    tmux.send(&[":ns all", "Enter"]);
    tmux.wait("every pod again", |s| s.contains("pods(all)"))
        .await;
    tmux.send(&[":po", "Enter"]);
    tmux.send(&["/crash"]);
    // The list follows the cluster: the pod shows up once its container has crashed.
    let filtered = tmux
        .wait("the crash-looping pod alone", |s| {
            s.contains("</crash>") && s.contains("CrashLoopBackOff")
        })
        .await;
    let rows: Vec<&str> = filtered
        .lines()
        .filter(|l| l.contains("CrashLoopBackOff"))
        .collect();
    assert!(!rows.is_empty(), "{filtered}");
    assert!(
        !filtered.contains(" Running "),
        "the filter left other pods:\n{filtered}"
    );
    // A running pod starts crashing: it joins the filtered list as its status changes (the
    // console applies the stream's delta to the row), the filter still on.
    let sim = stack.demo.stack.kubesim.sim.clone();
    let victim = sim
        .world()
        .pods
        .iter()
        .filter_map(|e| e.object.metadata.name.clone())
        .find(|n| n.starts_with("frontend-"))
        .expect("a frontend pod");
    let now = sim.now_ms();
    kubesim::sim::faults::apply(
        &mut sim.world(),
        &kubesim::sim::faults::Fault::Crash {
            namespace: "shop".to_owned(),
            pod: victim.clone(),
            container: None,
        },
        now,
    )
    .unwrap();
    tmux.wait("the newly crashing pod under the same filter", |s| {
        s.contains("</crash>")
            && s.lines()
                .any(|l| l.contains(victim.as_str()) && l.contains("CrashLoopBackOff"))
    })
    .await;
    // The first row (shop/checkout…, which crashed first) opens.
    tmux.send(&["Enter", "Enter"]);
    tmux.wait("the pod's containers", |s| {
        s.contains("┌ pod ") && s.contains("Containers") && s.contains("last terminated")
    })
    .await;

    tmux.send(&["l"]);
    let logs = tmux
        .wait("the crashing container's log lines", |s| {
            s.contains("┌ logs ") && s.contains("panic:")
        })
        .await;
    assert!(logs.contains("connect: connection"), "{logs}");

    // q closes the logs, not the console.
    tmux.send(&["q"]);
    tmux.wait("the pod again", |s| s.contains("┌ pod ")).await;
    tmux.send(&["Escape"]);
    tmux.wait("the list again", |s| s.contains("┌ pods(all)"))
        .await;

    // A web server's log follows: a line it writes after the log opened shows up.
    tmux.send(&["/", "BSpace", "BSpace", "BSpace", "BSpace", "BSpace"]);
    tmux.send(&["frontend", "Enter", "l"]);
    let opened = tmux
        .wait("the frontend's log, following", |s| {
            s.contains("┌ logs shop/frontend") && s.contains("● following") && s.contains("GET")
        })
        .await;
    let last_line = |screen: &str| {
        screen
            .lines()
            .rfind(|l| l.starts_with('│') && l.trim_matches(['│', ' ']).len() > 1)
            .unwrap_or_default()
            .to_owned()
    };
    let before = last_line(&opened);
    tmux.wait("a line written after the log opened", |s| {
        s.contains("● following") && last_line(s) != before
    })
    .await;
    tmux.send(&["q"]);
    tmux.wait("the pods again", |s| s.contains("┌ pods(all)"))
        .await;
    tmux.send(&["Escape"]);

    tmux.send(&[":no", "Enter"]);
    let nodes = tmux
        .wait("the nodes with their numbers", |s| {
            s.contains("┌ nodes[")
                && s.lines().any(|l| {
                    l.contains("worker-1") && l.contains("Ready") && l.matches('%').count() >= 3
                })
        })
        .await;
    assert!(nodes.contains("CPU%") && nodes.contains("MEM%"), "{nodes}");

    tmux.send(&["q"]);
    let after = tmux
        .wait("atlctl exit and the terminal's modes", |s| {
            s.contains("EXIT=") && s.contains("icanon")
        })
        .await;
    assert!(after.contains("EXIT=0"), "{after}");
    // Raw mode is off again and the console's screen is gone.
    let modes = after
        .lines()
        .find(|l| l.contains("icanon"))
        .unwrap_or_default();
    assert!(
        modes.split_whitespace().any(|m| m == "icanon")
            && modes.split_whitespace().any(|m| m == "echo"),
        "the terminal was left raw: {after}"
    );
    assert!(!after.contains("┌ nodes"), "{after}");
    stack.demo.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_terminal_goes_away_the_console_exits() {
    let stack = start().await;
    let tmux = Tmux::new("drop", &console_script(&stack), (80, 24));
    tmux.wait("the console", |s| s.contains("pods(all)")).await;
    let config = stack.dir.path().join("console.toml");
    let pids = std::process::Command::new("pgrep")
        .args(["-f", &config.display().to_string()])
        .output()
        .expect("pgrep");
    // The shell running the script and atlctl itself (which inherits nothing in its argv:
    // find it as the shell's child).
    let shell: Vec<u32> = String::from_utf8_lossy(&pids.stdout)
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let atlctl = shell
        .iter()
        .flat_map(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
                .collect::<Vec<_>>()
        })
        .find(|pid| {
            std::fs::read_link(format!("/proc/{pid}/exe"))
                .is_ok_and(|exe| exe.file_name().is_some_and(|n| n == "atlctl"))
        })
        .expect("atlctl's process");

    // As an ssh drop: the terminal's other end vanishes without a word.
    let server = tmux.server_pid();
    std::process::Command::new("kill")
        .args(["-KILL", &server.to_string()])
        .status()
        .expect("kill");
    let gone = wait_for(Duration::from_secs(2), async || {
        atlhyper_testkit::process::exited(atlctl)
    })
    .await;
    assert!(gone, "atlctl {atlctl} outlived its terminal by 2 s");
    stack.demo.stop().await;
}

/// The stream task reports a master that went away and comes back on its own once master is
/// up again (same address, same database), so the console can list again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_comes_back_after_master_restarts() {
    use atlctl::console::app::Msg;
    let dir = tempfile::tempdir().unwrap();
    let mut config = atlhyper_master::Config::defaults();
    config.listen = "127.0.0.1:0".parse().unwrap();
    config.db = Some(dir.path().join("master.db"));
    config.admin_token = Some("atl_admin_token_for_the_restart_test".to_owned());
    config.clusters = vec!["c1=atl_agent_token_for_the_restart_test".to_owned()];
    let master = atlhyper_master::start(&config).await.unwrap();
    let addr = master.addr;
    let client = atlctl::client::Client::new(
        &format!("http://{addr}"),
        config.admin_token.clone(),
        Duration::from_secs(5),
    )
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(atlctl::console::net::follow(client, tx, stop.clone()));
    let mut next_state = async move |want_up: bool| {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let msg = tokio::time::timeout_at(deadline, rx.recv())
                .await
                .expect("the stream's state never changed")
                .expect("the stream task ended");
            match msg {
                Msg::StreamUp if want_up => return,
                Msg::StreamDown(_) if !want_up => return,
                _ => {}
            }
        }
    };
    next_state(true).await;
    master.stop().await;
    next_state(false).await;
    config.listen = addr;
    let master = atlhyper_master::start(&config).await.unwrap();
    next_state(true).await;
    stop.cancel();
    master.stop().await;
}
