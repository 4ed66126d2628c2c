//! `atlctl demo`: the product on one machine — kubesim's scenario as the cluster, the agent
//! watching it through kube-rs over loopback exactly as in a real cluster, simulated node
//! metrics for the workers, this host's own nodemetrics sampler reporting as the control-plane
//! node, and master with its SQLite file.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::cli::DemoArgs;
use crate::error::{CliError, Result};

/// The simulated cluster's id at master.
pub const CLUSTER_ID: &str = "demo";
/// The node this host's real metrics report as (kubesim's scenarios name it so).
const HOST_NODE: &str = "control-plane-1";

/// The running stack.
pub struct Demo {
    pub server: String,
    pub admin_token: String,
    pub kubeconfig: PathBuf,
    pub kubesim: kubesim::Running,
    master: atlhyper_master::Running,
    agent: atlhyper_agent::Running,
    side_tasks: CancellationToken,
    _temp: Option<tempfile::TempDir>,
}

/// A token kept in the data directory, so a kept `--data-dir` keeps working with the same one.
fn token_in(dir: &Path, file: &str, prefix: &str) -> Result<String> {
    let path = dir.join(file);
    if let Ok(text) = std::fs::read_to_string(&path)
        && let Some(token) = text.lines().next().filter(|t| t.len() >= 16)
    {
        return Ok(token.to_owned());
    }
    let token = atlhyper_master::auth::generate(prefix);
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
        writeln!(f, "{token}").map_err(|e| CliError::Failed(format!("{}: {e}", path.display())))?;
    }
    Ok(token)
}

fn failed(what: &str) -> impl Fn(String) -> CliError + '_ {
    move |e| CliError::Failed(format!("demo: {what}: {e}"))
}

impl Demo {
    /// Starts everything; returns once master serves and the agent is running.
    ///
    /// # Errors
    /// [`CliError::Failed`] naming the part that did not start.
    pub async fn start(args: &DemoArgs) -> Result<Demo> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (temp, dir) = match &args.data_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir)
                    .map_err(|e| CliError::Failed(format!("{}: {e}", dir.display())))?;
                (None, dir.clone())
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("atlhyper-demo-")
                    .tempdir()
                    .map_err(|e| CliError::Failed(format!("demo: a temporary directory: {e}")))?;
                let dir = temp.path().to_owned();
                (Some(temp), dir)
            }
        };
        let admin_token = token_in(&dir, "admin-token", "atl_")?;
        let cluster_token = token_in(&dir, "cluster-token", "atl_agent_")?;

        let mut master_config = atlhyper_master::Config::defaults();
        master_config.listen = args.listen;
        master_config.db = Some(dir.join("master.db"));
        master_config.admin_token = Some(admin_token.clone());
        master_config.clusters = vec![format!("{CLUSTER_ID}={cluster_token}")];
        let master = atlhyper_master::start(&master_config)
            .await
            .map_err(|e| failed("master")(e.to_string()))?;

        let kubeconfig = dir.join("kubeconfig");
        let mut kubesim_config = kubesim::Config::embedded(&args.scenario, &kubeconfig);
        kubesim_config.speed = args.speed;
        let kubesim = kubesim::start(&kubesim_config, kubesim::sim::SimOptions::default())
            .await
            .map_err(|e| failed("the simulated cluster")(e.to_string()))?;

        let mut agent_config = atlhyper_agent::Config::defaults();
        agent_config.master.clone_from(&master.url);
        agent_config.token = Some(cluster_token);
        agent_config.cluster_id = Some(CLUSTER_ID.to_owned());
        agent_config.kubeconfig = Some(kubeconfig.clone());
        agent_config.listen = "127.0.0.1:0".parse().expect("an address");
        let agent = atlhyper_agent::start(&agent_config)
            .await
            .map_err(|e| failed("the agent")(e.to_string()))?;
        let agent_url = format!("http://{}", agent.addr);

        // Node metrics: simulated for every node but the control plane, which is this host.
        let side_tasks = CancellationToken::new();
        tokio::spawn(kubesim::sim::node_load::push(
            kubesim.sim.clone(),
            agent_url.clone(),
            None,
            Duration::from_secs(5),
            1,
            vec![HOST_NODE.to_owned()],
            side_tasks.clone(),
        ));
        let mut nodemetrics = atlhyper_nodemetrics::Config::defaults();
        nodemetrics.agent = agent_url;
        nodemetrics.node_name = Some(HOST_NODE.to_owned());
        tokio::spawn(atlhyper_nodemetrics::run(nodemetrics, side_tasks.clone()));

        Ok(Demo {
            server: master.url.clone(),
            admin_token,
            kubeconfig,
            kubesim,
            master,
            agent,
            side_tasks,
            _temp: temp,
        })
    }

    /// The lines a second terminal pastes to use the demo.
    pub fn exports(&self) -> String {
        format!(
            "export ATLHYPER_SERVER={}\nexport ATLHYPER_TOKEN={}\nexport ATLHYPER_DEMO_KUBECONFIG={}\n",
            self.server,
            self.admin_token,
            self.kubeconfig.display()
        )
    }

    /// Stops everything: the agent pushes a last time, master flushes its database.
    pub async fn stop(self) {
        self.side_tasks.cancel();
        self.agent.stop().await;
        self.kubesim.stop().await;
        self.master.stop().await;
    }
}

pub async fn run(args: &DemoArgs, flags: crate::cli::ConsoleFlags) -> Result<()> {
    let demo = Demo::start(args).await?;
    if !args.headless && std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        // The console on the demo; the stack stops when it closes.
        let client = crate::client::Client::new(
            &demo.server,
            Some(demo.admin_token.clone()),
            std::time::Duration::from_secs(30),
        )?;
        let session = crate::Session {
            client,
            target: crate::context::Target {
                server: demo.server.clone(),
                token: Some(demo.admin_token.clone()),
                namespace: None,
                context: None,
            },
        };
        let options = crate::console::Options {
            first: crate::kinds::Resource::Nodes,
            flags,
            scope: crate::console::app::Scope::default(),
            ask_before_quit: true,
        };
        let result = crate::console::run(&session, options).await;
        eprintln!("stopping the demo…");
        demo.stop().await;
        return result;
    }
    let exports = demo.exports();
    crate::get::write_out(&exports)?;
    if !args.headless && std::io::stdout().is_terminal() {
        eprintln!(
            "\nAtlHyper demo: master at {}, a simulated cluster `{CLUSTER_ID}` ({} scenario).\n\
             In another terminal, paste the export lines above, then try:\n  \
             atlctl get pods -A\n  atlctl top nodes --once\n  atlctl get events -A -w\n  \
             kubectl --kubeconfig \"$ATLHYPER_DEMO_KUBECONFIG\" get pods -A\n\
             Ctrl-C stops the demo.",
            demo.server, args.scenario
        );
    }
    // Headless, the demo is a service: SIGTERM or Ctrl-C stops it, SIGHUP does not.
    atlhyper_runtime::signals::terminated().await;
    eprintln!("stopping the demo…");
    demo.stop().await;
    Ok(())
}
