//! atlctl: AtlHyper's command line and console. kubectl-shaped reads of every cluster master
//! holds, with a stable `--json`, live `-w` following, contexts, commands through each
//! cluster's agent, the live console ([`console`], `atlctl` on a terminal), and `atlctl demo`
//! — the whole product on one machine.

pub mod cli;
pub mod client;
pub mod console;
pub mod context;
mod delta;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
mod events;
pub mod exec;
mod get;
#[cfg(test)]
mod hostile_server_tests;
pub mod kinds;
pub mod logs;
mod sse;
mod table;
pub mod text;
mod top;
mod top_pods;
mod watch;

use clap::CommandFactory as _;

use crate::cli::{Cli, Command, ConfigCommand};
use crate::client::Client;
use crate::context::{ConfigFile, Overrides, Target};
use crate::error::{CliError, Result};

/// What every command that talks to master needs.
pub struct Session {
    pub client: Client,
    pub target: Target,
}

impl Session {
    /// Resolves the target (flags, environment, context) and builds the client.
    ///
    /// # Errors
    /// [`CliError::Usage`] for a bad config file, context or server URL.
    pub fn new(global: &cli::Global) -> Result<Session> {
        let path = global.config.clone().unwrap_or_else(context::default_path);
        let file = ConfigFile::load(&path)?;
        let target = context::resolve(
            &file,
            &Overrides {
                server: global.server.clone(),
                token: global.token.clone(),
                context: global.context.clone(),
            },
        )?;
        let client = Client::new(&target.server, target.token.clone(), global.request_timeout)?;
        Ok(Session { client, target })
    }
}

/// Runs one command line.
///
/// # Errors
/// A [`CliError`]: its message is the one line for stderr, its exit code the process's.
pub async fn run(cli: Cli) -> Result<()> {
    let Some(command) = &cli.command else {
        let options = console::Options {
            first: kinds::Resource::Pods,
            flags: cli.console,
            scope: console::app::Scope::default(),
            ask_before_quit: false,
        };
        return console::run(&Session::new(&cli.global)?, options).await;
    };
    match command {
        Command::Get(args) => get::run(args, &Session::new(&cli.global)?).await,
        Command::Top(args) => top::run(args, cli.console, &Session::new(&cli.global)?).await,
        Command::Events(args) => events::run(args, &Session::new(&cli.global)?).await,
        Command::Exec(exec) => exec::exec(exec, &Session::new(&cli.global)?).await,
        Command::Logs(args) => logs::run(args, &Session::new(&cli.global)?).await,
        Command::Describe(args) => exec::describe(args, &Session::new(&cli.global)?).await,
        Command::Config(command) => config(command, &cli.global),
        #[cfg(feature = "demo")]
        Command::Demo(args) => demo::run(args, cli.console).await,
        #[cfg(not(feature = "demo"))]
        Command::Demo(_) => Err(CliError::Usage(
            "this atlctl was built without the demo (cargo feature `demo`); build it with \
             `cargo build -p atlctl` (the default features) to get `atlctl demo`"
                .to_owned(),
        )),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "atlctl", &mut out);
            get::write_out(&String::from_utf8_lossy(&out))
        }
    }
}

fn config(command: &ConfigCommand, global: &cli::Global) -> Result<()> {
    let path = global.config.clone().unwrap_or_else(context::default_path);
    let mut file = ConfigFile::load(&path)?;
    let unknown = |name: &str, file: &ConfigFile| {
        CliError::NotFound(format!(
            "no context `{name}` in {} (known: {})",
            path.display(),
            file.contexts.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    };
    match command {
        ConfigCommand::GetContexts => {
            let mut table = table::Table::new(["CURRENT", "NAME", "SERVER", "AUTH", "NAMESPACE"]);
            for (name, c) in &file.contexts {
                let auth = match (&c.token, &c.token_file) {
                    (Some(_), _) => "token".to_owned(),
                    (None, Some(f)) => format!("token-file {}", f.display()),
                    (None, None) => "none".to_owned(),
                };
                let current = file.current_context.as_deref() == Some(name.as_str());
                table.push(vec![
                    if current { "*" } else { "" }.to_owned(),
                    name.clone(),
                    c.server.clone(),
                    auth,
                    c.namespace.clone().unwrap_or_default(),
                ]);
            }
            get::write_out(&table.render(true))
        }
        ConfigCommand::CurrentContext => match &file.current_context {
            Some(name) => get::write_out(&format!("{name}\n")),
            None => Err(CliError::NotFound("no current context is set".to_owned())),
        },
        ConfigCommand::UseContext { name } => {
            if !file.contexts.contains_key(name) {
                return Err(unknown(name, &file));
            }
            file.current_context = Some(name.clone());
            file.save(&path)?;
            eprintln!("Switched to context \"{name}\".");
            Ok(())
        }
        ConfigCommand::SetContext {
            name,
            server,
            token,
            token_file,
            default_namespace,
            current,
        } => {
            let existing = file.contexts.get(name).cloned();
            let mut c = match (existing, server) {
                (Some(c), _) => c,
                (None, Some(_)) => context::Context::default(),
                (None, None) => {
                    return Err(CliError::Usage(format!(
                        "context `{name}` is new: give its --server"
                    )));
                }
            };
            if let Some(server) = server {
                Client::new(server, None, std::time::Duration::from_secs(1))?;
                c.server.clone_from(server);
            }
            if token.is_some() {
                c.token.clone_from(token);
                c.token_file = None;
            }
            if token_file.is_some() {
                c.token_file.clone_from(token_file);
                c.token = None;
            }
            if default_namespace.is_some() {
                c.namespace.clone_from(default_namespace);
            }
            file.contexts.insert(name.clone(), c);
            if *current || file.current_context.is_none() {
                file.current_context = Some(name.clone());
            }
            file.save(&path)?;
            eprintln!("Context \"{name}\" saved in {}.", path.display());
            Ok(())
        }
        ConfigCommand::DeleteContext { name } => {
            if file.contexts.remove(name).is_none() {
                return Err(unknown(name, &file));
            }
            if file.current_context.as_deref() == Some(name.as_str()) {
                file.current_context = None;
            }
            file.save(&path)?;
            eprintln!("Deleted context \"{name}\".");
            Ok(())
        }
    }
}
