//! `atlctl demo`: the product on one machine — kubesim's scenario as the cluster, the agent
//! watching it through kube-rs over loopback exactly as in a real cluster, simulated node
//! metrics for the workers, this host's own nodemetrics sampler reporting as the control-plane
//! node, and master with its SQLite file.

use std::io::IsTerminal as _;
use std::path::PathBuf;

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
    pub stack: atlhyper_stack::Stack,
}

impl Demo {
    /// Starts everything; returns once master serves and the agent is running.
    ///
    /// # Errors
    /// [`CliError::Failed`] naming the part that did not start.
    pub async fn start(args: &DemoArgs) -> Result<Demo> {
        let mut builder = atlhyper_stack::Stack::builder();
        if let Some(dir) = &args.data_dir {
            builder = builder.data_dir(dir);
        }
        let stack = builder
            .scenario(&args.scenario)
            .speed(args.speed)
            .listen(args.listen)
            .cluster_id(CLUSTER_ID)
            .node_metrics(atlhyper_stack::NodeMetrics::HostAs(HOST_NODE.to_owned()))
            .start()
            .await
            .map_err(|e| CliError::Failed(format!("demo: {e}")))?;
        Ok(Demo {
            server: stack.master_url(),
            admin_token: stack.admin_token.clone(),
            kubeconfig: stack.kubeconfig.clone(),
            stack,
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
        self.stack.stop().await;
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
