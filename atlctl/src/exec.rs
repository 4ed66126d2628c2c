//! `atlctl exec …`, `atlctl logs`, `atlctl describe`: a command queued at master, carried to
//! the cluster's agent on its own connection, and its result waited for and printed.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::time::{Duration, Instant};

use atlhyper_model::api::{CommandInfo, CreateCommand, Item};
use atlhyper_model::{CommandKind, CommandStatus, DescribeFormat, ObjectKind};
use clap::{Args, Subcommand};

use crate::Session;
use crate::error::{CliError, Result};
use crate::get::write_out;

/// What every command takes.
#[derive(Debug, Args, Clone)]
pub struct CommandOptions {
    /// The cluster [default: the only one master knows].
    #[arg(long)]
    pub cluster: Option<String>,

    /// Print the command's id and return without waiting for the result.
    #[arg(long)]
    pub no_wait: bool,

    /// Skip the typed confirmation of a change.
    #[arg(short, long)]
    pub yes: bool,

    /// Print the command (`Command`, with its status and result) as JSON.
    #[arg(long)]
    pub json: bool,

    /// Longest wait for the result.
    #[arg(long, default_value = "2m", value_parser = humantime::parse_duration)]
    pub wait_timeout: Duration,
}

#[derive(Debug, Subcommand)]
pub enum Exec {
    /// Delete a pod so its controller recreates it.
    RestartPod {
        /// NAME or KIND/NAME (in -n NAMESPACE, else the context's, else default), or
        /// NAMESPACE/NAME
        target: String,
        /// The namespace.
        #[arg(short, long)]
        namespace: Option<String>,
        /// Also a pod no controller will recreate.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Delete a pod.
    DeletePod {
        /// NAME or KIND/NAME (in -n NAMESPACE, else the context's, else default), or
        /// NAMESPACE/NAME
        target: String,
        /// The namespace.
        #[arg(short, long)]
        namespace: Option<String>,
        /// Seconds the pod gets to stop [default: its own].
        #[arg(long)]
        grace: Option<u32>,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Restart every pod of a deployment, as `kubectl rollout restart`.
    RolloutRestart {
        /// NAME or KIND/NAME (in -n NAMESPACE, else the context's, else default), or
        /// NAMESPACE/NAME
        target: String,
        /// The namespace.
        #[arg(short, long)]
        namespace: Option<String>,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Set a deployment's replicas.
    Scale {
        /// NAME or KIND/NAME (in -n NAMESPACE, else the context's, else default), or
        /// NAMESPACE/NAME
        target: String,
        /// The namespace.
        #[arg(short, long)]
        namespace: Option<String>,
        #[arg(long)]
        replicas: u32,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Set the image of one container of a deployment.
    SetImage {
        /// NAME or KIND/NAME (in -n NAMESPACE, else the context's, else default), or
        /// NAMESPACE/NAME
        target: String,
        /// The namespace.
        #[arg(short, long)]
        namespace: Option<String>,
        /// CONTAINER=IMAGE
        image: String,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Mark a node unschedulable.
    Cordon {
        node: String,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Mark a node schedulable again.
    Uncordon {
        node: String,
        #[command(flatten)]
        options: CommandOptions,
    },
    /// Cordon a node and evict its pods (DaemonSet pods stay).
    Drain {
        node: String,
        /// Seconds each pod gets to stop [default: its own].
        #[arg(long)]
        grace: Option<u32>,
        /// How long evictions may take (disruption budgets are retried until then).
        #[arg(long, default_value = "5m", value_parser = humantime::parse_duration)]
        timeout: Duration,
        #[command(flatten)]
        options: CommandOptions,
    },
}

#[derive(Debug, Args, Clone)]
pub struct LogsArgs {
    /// POD, pod/POD (in -n NAMESPACE, else the context's namespace, else default) or
    /// NAMESPACE/POD
    pub target: String,
    /// The pod's namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// The container [default: the pod's only one].
    #[arg(short, long)]
    pub container: Option<String>,
    /// The last N lines.
    #[arg(long)]
    pub tail: Option<u32>,
    /// Only lines newer than this (`10m`, `1h`).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub since: Option<Duration>,
    /// Keep printing new lines as the container writes them, until Ctrl-C (polled through the
    /// agent every second).
    #[arg(short, long)]
    pub follow: bool,
    /// The run before the current one (a crashed container's last words).
    #[arg(short, long)]
    pub previous: bool,
    /// Each line starts with its RFC 3339 time.
    #[arg(long)]
    pub timestamps: bool,
    #[command(flatten)]
    pub options: CommandOptions,
}

#[derive(Debug, Args, Clone)]
pub struct DescribeArgs {
    /// pod, node, deployment, service, namespace, ingress, configmap (or their short names),
    /// or KIND/NAME
    pub kind: String,
    /// NAME (in -n NAMESPACE, else the context's namespace, else default), or NAMESPACE/NAME
    pub target: Option<String>,
    /// The object's namespace.
    #[arg(short, long)]
    pub namespace: Option<String>,
    /// The object as YAML or JSON (as `kubectl get -o`) instead of describe's text.
    #[arg(short, long, value_parser = ["yaml", "json"])]
    pub output: Option<String>,
    #[command(flatten)]
    pub options: CommandOptions,
}

/// `NAMESPACE/NAME`, or (`KIND/`)`NAME` in `-n NAMESPACE` (else the context's namespace, else
/// `default`), as kubectl takes them; `is_kind` tells a `KIND/` prefix.
///
/// # Errors
/// A usage error naming what was expected.
pub(crate) fn namespaced_target(
    target: &str,
    is_kind: impl Fn(&str) -> bool,
    namespace: Option<&str>,
    session: &Session,
) -> Result<(String, String)> {
    let usage = || {
        CliError::Usage(format!(
            "`{target}`: expected NAME, KIND/NAME (with -n NAMESPACE) or NAMESPACE/NAME"
        ))
    };
    let (prefix, name) = match target.split_once('/') {
        Some((prefix, name)) if !prefix.is_empty() && !name.is_empty() && !name.contains('/') => {
            (Some(prefix), name)
        }
        Some(_) => return Err(usage()),
        None if target.is_empty() => return Err(usage()),
        None => (None, target),
    };
    let in_namespace = || {
        namespace
            .map(str::to_owned)
            .or_else(|| session.target.namespace.clone())
            .unwrap_or_else(|| "default".to_owned())
    };
    Ok(match prefix {
        Some(kind) if is_kind(kind) => (in_namespace(), name.to_owned()),
        // `-n` names the namespace: the part before the slash can only be the kind.
        Some(other) if namespace.is_some() => {
            return Err(CliError::Usage(format!(
                "`{target}`: with -n, name it as NAME or KIND/NAME (`{other}` is not its kind)"
            )));
        }
        Some(ns) => (ns.to_owned(), name.to_owned()),
        None => (in_namespace(), name.to_owned()),
    })
}

fn object_kind(text: &str) -> Result<ObjectKind> {
    Ok(match text.to_ascii_lowercase().as_str() {
        "pod" | "pods" | "po" => ObjectKind::Pod,
        "node" | "nodes" | "no" => ObjectKind::Node,
        "deployment" | "deployments" | "deploy" => ObjectKind::Deployment,
        "service" | "services" | "svc" => ObjectKind::Service,
        "namespace" | "namespaces" | "ns" => ObjectKind::Namespace,
        "ingress" | "ingresses" | "ing" => ObjectKind::Ingress,
        "configmap" | "configmaps" | "cm" => ObjectKind::ConfigMap,
        other => {
            return Err(CliError::Usage(format!(
                "cannot describe `{other}` (pod, node, deployment, service, namespace, ingress, configmap)"
            )));
        }
    })
}

/// The command an `exec` line asks for, its options, and the name to type to confirm it
/// (`None`: no confirmation needed).
fn exec_kind<'a>(
    exec: &'a Exec,
    session: &Session,
) -> Result<(CommandKind, &'a CommandOptions, Option<String>)> {
    let pod = |target: &str, namespace: &Option<String>| {
        let is_pod = |w: &str| matches!(w, "pod" | "pods" | "po");
        namespaced_target(target, is_pod, namespace.as_deref(), session)
    };
    let deployment = |target: &str, namespace: &Option<String>| {
        let is_deployment = |w: &str| matches!(w, "deployment" | "deployments" | "deploy" | "dp");
        namespaced_target(target, is_deployment, namespace.as_deref(), session)
    };
    Ok(match exec {
        Exec::RestartPod {
            target,
            namespace,
            force,
            options,
        } => {
            let (namespace, name) = pod(target, namespace)?;
            (
                CommandKind::RestartPod {
                    namespace,
                    name: name.clone(),
                    force: *force,
                },
                options,
                Some(name),
            )
        }
        Exec::DeletePod {
            target,
            namespace,
            grace,
            options,
        } => {
            let (namespace, name) = pod(target, namespace)?;
            (
                CommandKind::DeletePod {
                    namespace,
                    name: name.clone(),
                    grace_seconds: *grace,
                },
                options,
                Some(name),
            )
        }
        Exec::RolloutRestart {
            target,
            namespace,
            options,
        } => {
            let (namespace, name) = deployment(target, namespace)?;
            (
                CommandKind::RolloutRestart {
                    namespace,
                    name: name.clone(),
                },
                options,
                Some(name),
            )
        }
        Exec::Scale {
            target,
            namespace,
            replicas,
            options,
        } => {
            let (namespace, name) = deployment(target, namespace)?;
            (
                CommandKind::Scale {
                    namespace,
                    name: name.clone(),
                    replicas: *replicas,
                },
                options,
                Some(name),
            )
        }
        Exec::SetImage {
            target,
            namespace,
            image,
            options,
        } => {
            let (namespace, name) = deployment(target, namespace)?;
            let (container, image) = image
                .split_once('=')
                .filter(|(c, i)| !c.is_empty() && !i.is_empty())
                .ok_or_else(|| CliError::Usage(format!("`{image}`: expected CONTAINER=IMAGE")))?;
            (
                CommandKind::UpdateImage {
                    namespace,
                    name: name.clone(),
                    container: container.to_owned(),
                    image: image.to_owned(),
                },
                options,
                Some(name),
            )
        }
        Exec::Cordon { node, options } => {
            (CommandKind::Cordon { node: node.clone() }, options, None)
        }
        Exec::Uncordon { node, options } => {
            (CommandKind::Uncordon { node: node.clone() }, options, None)
        }
        Exec::Drain {
            node,
            grace,
            timeout,
            options,
        } => (
            CommandKind::Drain {
                node: node.clone(),
                grace_seconds: *grace,
                ignore_daemonsets: true,
                timeout_seconds: u32::try_from(timeout.as_secs().clamp(1, 3_600)).unwrap_or(3_600),
            },
            options,
            Some(node.clone()),
        ),
    })
}

pub async fn exec(exec: &Exec, session: &Session) -> Result<()> {
    let (kind, options, confirm) = exec_kind(exec, session)?;
    run(kind, options, confirm, session).await
}

pub async fn describe(args: &DescribeArgs, session: &Session) -> Result<()> {
    // `describe pod NAME` or `describe pod/NAME`.
    let (kind_word, target) = match (&args.target, args.kind.split_once('/')) {
        (Some(target), _) => (args.kind.as_str(), target.clone()),
        (None, Some((kind, name))) => (kind, format!("{kind}/{name}")),
        (None, None) => {
            return Err(CliError::Usage(format!(
                "describe {}: which one? (describe KIND NAME or KIND/NAME)",
                args.kind
            )));
        }
    };
    let object = object_kind(kind_word)?;
    let is_kind = |word: &str| object_kind(word).is_ok_and(|k| k == object);
    let (namespace, name) = if object.is_namespaced() {
        let (ns, name) = namespaced_target(&target, is_kind, args.namespace.as_deref(), session)?;
        (Some(ns), name)
    } else {
        match target.split_once('/') {
            Some((kind, name)) if is_kind(kind) => (None, name.to_owned()),
            Some(_) => {
                return Err(CliError::Usage(format!(
                    "`{target}`: a {} has no namespace: name it as NAME",
                    object.as_str()
                )));
            }
            None => (None, target.clone()),
        }
    };
    let format = match args.output.as_deref() {
        Some("yaml") => DescribeFormat::Yaml,
        Some("json") => DescribeFormat::Json,
        _ => DescribeFormat::Text,
    };
    let kind = CommandKind::Describe {
        object,
        namespace,
        name,
        format,
    };
    run(kind, &args.options, None, session).await
}

/// The cluster to act on: `--cluster`, else the only one there is.
async fn cluster(options: &CommandOptions, session: &Session) -> Result<String> {
    if let Some(c) = &options.cluster {
        return Ok(c.clone());
    }
    let clusters = session.client.clusters().await?;
    match clusters.items.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(CliError::NotFound("master has no clusters".to_owned())),
        many => Err(CliError::Usage(format!(
            "master has several clusters: pick one with --cluster ({})",
            many.iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Asks for the name to be typed, on a terminal; without one, `--yes` is needed.
fn confirm(kind: &CommandKind, cluster: &str, name: &str) -> Result<()> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(CliError::Usage(format!(
            "{} changes cluster {cluster}: confirm with --yes (stdin is not a terminal to ask)",
            kind.name()
        )));
    }
    eprint!(
        "{} {} in cluster {cluster}. Type `{name}` to confirm: ",
        kind.name(),
        kind.target()
    );
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(|e| CliError::Failed(format!("reading the confirmation: {e}")))?;
    if answer.trim() == name {
        Ok(())
    } else {
        Err(CliError::Failed(
            "not confirmed; nothing was done".to_owned(),
        ))
    }
}

pub(crate) fn idempotency_key() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("atlctl-{}-{nanos:x}", std::process::id())
}

/// Queues `kind` in `cluster`.
async fn create(kind: CommandKind, cluster: &str, session: &Session) -> Result<Item<CommandInfo>> {
    let path = format!("/api/v1/clusters/{cluster}/commands");
    // One key per invocation: a retried POST is the same command.
    session
        .client
        .post(&path, &CreateCommand { kind }, &idempotency_key())
        .await
}

/// Waits for a queued command to end (`--wait-timeout`).
async fn wait(
    created: Item<CommandInfo>,
    cluster: &str,
    options: &CommandOptions,
    session: &Session,
) -> Result<Item<CommandInfo>> {
    let path = format!("/api/v1/clusters/{cluster}/commands");
    let id = created.object.command.id.clone();
    let deadline = Instant::now() + options.wait_timeout;
    let mut info = created;
    while !info.object.status.is_final() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(CliError::Failed(format!(
                "command {id} is still {} after {}; follow it with `atlctl get commands`",
                info.object.status,
                humantime::format_duration(options.wait_timeout)
            )));
        }
        // Each wait ends well within the request timeout.
        let wait = left
            .min(Duration::from_secs(20))
            .min(session.client.timeout() / 2)
            .as_secs()
            .max(1);
        info = session
            .client
            .get(&format!("{path}/{id}?wait={wait}s"))
            .await?;
    }
    Ok(info)
}

/// Queues a read (no confirmation) and waits for its result (`logs -f` polls with it).
///
/// # Errors
/// What master answers, or a wait past `--wait-timeout`.
pub(crate) async fn submit(
    kind: CommandKind,
    options: &CommandOptions,
    session: &Session,
) -> Result<CommandInfo> {
    let cluster = cluster(options, session).await?;
    let created = create(kind, &cluster, session).await?;
    Ok(wait(created, &cluster, options, session).await?.object)
}

pub(crate) async fn run(
    kind: CommandKind,
    options: &CommandOptions,
    confirm_name: Option<String>,
    session: &Session,
) -> Result<()> {
    let cluster = cluster(options, session).await?;
    if let Some(name) = &confirm_name
        && !options.yes
    {
        confirm(&kind, &cluster, name)?;
    }
    let created = create(kind, &cluster, session).await?;
    if options.no_wait {
        return if options.json {
            crate::get::write_doc(Some(crate::cli::Output::Json), &created)
        } else {
            write_out(&format!("{}\n", created.object.command.id))
        };
    }
    let info = wait(created, &cluster, options, session).await?;
    if options.json {
        crate::get::write_doc(Some(crate::cli::Output::Json), &info)?;
    } else if let Some(output) = &info.object.output {
        // Logs print as the container wrote them (as `kubectl logs`: colours reach `less -R`);
        // a describe shows control characters instead of obeying them.
        let output = if info.object.command.kind.name() == "pod_logs" {
            output.clone()
        } else {
            crate::text::printable_lines(output)
        };
        let output = &output;
        write_out(output)?;
        if !output.ends_with('\n') && !output.is_empty() {
            write_out("\n")?;
        }
    } else if info.object.status == CommandStatus::Succeeded {
        write_out(&format!(
            "{}\n",
            info.object.message.as_deref().unwrap_or("done")
        ))?;
    }
    match info.object.status {
        CommandStatus::Succeeded => Ok(()),
        status => Err(CliError::Failed(format!(
            "command {} {status}: {}",
            info.object.command.id,
            info.object.message.as_deref().unwrap_or("no reason given")
        ))),
    }
}
