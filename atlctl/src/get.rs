//! `atlctl get`: one list from master, printed as a table, JSON, YAML or names.

use std::collections::BTreeSet;
use std::io::Write as _;

use atlhyper_model::api::{
    API_VERSION, ClusterSummary, CommandInfo, InCluster, Item, List, ListKind, WatchEventType,
};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, Ingress, Namespace, Node, Pod, Service,
};
use serde::Serialize;

use crate::Session;
use crate::cli::{GetArgs, Output, Scope};
use crate::error::{CliError, Result};
use crate::kinds::{Printable, Resource};
use crate::table::Table;

/// The namespace a namespaced list is limited to: `-n`, else none with `-A`, else the
/// context's, else `default` — kubectl's rule.
pub fn namespace(scope: &Scope, session: &Session) -> Option<String> {
    if scope.all_namespaces {
        return None;
    }
    Some(
        scope
            .namespace
            .clone()
            .or_else(|| session.target.namespace.clone())
            .unwrap_or_else(|| "default".to_owned()),
    )
}

/// The query master's list endpoints take for this scope.
///
/// # Errors
/// [`CliError::Usage`] for a field filter master cannot apply.
pub fn query(
    resource: Resource,
    scope: &Scope,
    session: &Session,
) -> Result<Vec<(&'static str, String)>> {
    let mut query = Vec::new();
    if !scope.cluster.is_empty() {
        query.push(("cluster", scope.cluster.join(",")));
    }
    if resource.namespaced()
        && let Some(ns) = namespace(scope, session)
    {
        query.push(("namespace", ns));
    }
    if let Some(selector) = scope.selector.as_deref().filter(|s| !s.trim().is_empty()) {
        atlhyper_model::selector::LabelSelector::parse(selector)
            .map_err(|e| CliError::Usage(format!("-l `{selector}`: {e}")))?;
        query.push(("label", selector.to_owned()));
    }
    for term in scope
        .field
        .iter()
        .flat_map(|f| f.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        let (key, value) = term.split_once('=').ok_or_else(|| {
            CliError::Usage(format!(
                "--field `{term}`: expected KEY=VALUE (status=…, node=…)"
            ))
        })?;
        if key.ends_with('!') {
            return Err(CliError::Usage(format!(
                "--field `{term}`: only `=` is supported"
            )));
        }
        let key = match key.trim_end_matches('=') {
            "status" | "status.phase" | "phase" => "status",
            "node" | "spec.nodeName" => "node",
            "metadata.namespace" if resource.namespaced() => "namespace",
            other => {
                return Err(CliError::Usage(format!(
                    "--field `{term}`: unknown field `{other}` (known: status, node)"
                )));
            }
        };
        query.retain(|(k, _)| *k != key);
        query.push((key, value.to_owned()));
    }
    Ok(query)
}

pub use atlhyper_runtime::now_ms;

pub async fn run(args: &GetArgs, session: &Session) -> Result<()> {
    // `get pod/NAME` (what `-o name` prints), `get pods pod/NAME`: kubectl's KIND/NAME.
    let (kind, named) = match args.resource.split_once('/') {
        Some((kind, name)) => (kind, Some(name.to_owned())),
        None => (args.resource.as_str(), None),
    };
    let resource = Resource::parse(kind)?;
    let mut names = Vec::new();
    names.extend(named);
    for name in &args.names {
        names.push(match name.split_once('/') {
            Some((k, n)) if Resource::parse(k).is_ok_and(|r| r == resource) => n.to_owned(),
            Some(_) => {
                return Err(CliError::Usage(format!(
                    "`{name}`: not a {} (name it as NAME or {kind}/NAME)",
                    resource.plural()
                )));
            }
            None => name.clone(),
        });
    }
    let args = &GetArgs {
        names,
        ..args.clone()
    };
    let output = if args.json {
        Some(Output::Json)
    } else {
        args.output
    };
    if args.watch && matches!(output, Some(Output::Yaml | Output::Name)) {
        return Err(CliError::Usage(
            "--watch prints tables or, with --json, NDJSON; not -o yaml or -o name".to_owned(),
        ));
    }
    match resource {
        Resource::Pods => get::<Pod>(args, output, session).await,
        Resource::Nodes => get::<Node>(args, output, session).await,
        Resource::Deployments => get::<Deployment>(args, output, session).await,
        Resource::Services => get::<Service>(args, output, session).await,
        Resource::Namespaces => get::<Namespace>(args, output, session).await,
        Resource::Ingresses => get::<Ingress>(args, output, session).await,
        Resource::ConfigMaps => get::<ConfigMap>(args, output, session).await,
        Resource::Events => get::<Event>(args, output, session).await,
        Resource::Clusters => clusters(args, output, session).await,
        Resource::Commands => commands(args, output, session).await,
    }
}

async fn get<T: Printable>(
    args: &GetArgs,
    output: Option<Output>,
    session: &Session,
) -> Result<()> {
    let mut query = query(T::RESOURCE, &args.scope, session)?;
    match &args.sort_by {
        Some(sort) => query.push(("sort", sort.trim_start_matches('.').to_owned())),
        // Events read like a log: newest last.
        None if T::RESOURCE == Resource::Events => query.push(("sort", "last_seen".to_owned())),
        None => {}
    }
    // Events are appended, not listed in snapshots: `-w` follows the event stream, opened
    // before the list so that nothing falls between them (as `atlctl events -w`).
    let events = if args.watch && T::RESOURCE == Resource::Events {
        Some(crate::watch::open_events(&query, session).await?)
    } else {
        None
    };
    let mut list: List<InCluster<T>> = session.client.list(T::RESOURCE.plural(), &query).await?;
    let missing = keep_named(&mut list.items, &args.names, |i| i.object.name());
    let print = Print {
        output,
        headers: !args.no_headers,
        all_namespaces: T::RESOURCE.namespaced() && args.scope.all_namespaces,
        single: args.names.len() == 1,
    };
    if args.watch && output == Some(Output::Json) {
        // NDJSON throughout: what is there now, as ADDED lines, then the changes.
        for item in &list.items {
            crate::watch::emit_one(WatchEventType::Added, item.clone(), print)?;
        }
    } else if list.items.is_empty()
        && args.names.is_empty()
        && output.is_none_or(|o| o == Output::Wide)
    {
        eprintln!("{}", nothing_found(T::RESOURCE, &args.scope, session));
    } else {
        print.list(&list.items)?;
    }
    not_found(T::RESOURCE, &missing)?;
    if let Some(stream) = events {
        let printed = crate::watch::Printed::of(&list.items);
        let names = args.names.clone();
        crate::watch::follow_events(stream, &query, printed, print, session, move |e| {
            names.is_empty() || names.contains(&e.name)
        })
        .await?;
    } else if args.watch {
        crate::watch::follow::<T>(&query, print, session, &args.names).await?;
    }
    Ok(())
}

async fn clusters(args: &GetArgs, output: Option<Output>, session: &Session) -> Result<()> {
    let mut list: List<ClusterSummary> = session.client.clusters().await?;
    let missing = keep_named(&mut list.items, &args.names, |c| c.id.as_str());
    let headers = !args.no_headers;
    let now = now_ms();
    match output {
        Some(Output::Json | Output::Yaml) if args.names.len() == 1 && !list.items.is_empty() => {
            write_doc(output, &Item::new(list.items.remove(0)))?;
        }
        Some(Output::Json | Output::Yaml) => write_doc(output, &list)?,
        Some(Output::Name) => {
            write_out(
                &list
                    .items
                    .iter()
                    .map(|c| format!("cluster/{}\n", c.id))
                    .collect::<String>(),
            )?;
        }
        _ if list.items.is_empty() => eprintln!("No clusters registered."),
        _ => {
            let wide = output == Some(Output::Wide);
            let mut table = Table::new(ClusterSummary::headers(wide));
            for c in &list.items {
                table.push(c.cells(now, wide));
            }
            write_out(&table.render(headers))?;
        }
    }
    not_found(Resource::Clusters, &missing)
}

/// `get commands`: newest first, of every cluster (or `--cluster`).
async fn commands(args: &GetArgs, output: Option<Output>, session: &Session) -> Result<()> {
    let query: Vec<(&str, String)> = match args.scope.cluster.as_slice() {
        [] => Vec::new(),
        [one] => vec![("cluster", one.clone())],
        _ => {
            return Err(CliError::Usage(
                "get commands takes one --cluster at most".to_owned(),
            ));
        }
    };
    let mut list: List<CommandInfo> = session.client.list("commands", &query).await?;
    let missing = keep_named(&mut list.items, &args.names, |c| c.command.id.as_str());
    let wide = output == Some(Output::Wide);
    match output {
        Some(Output::Json | Output::Yaml) if args.names.len() == 1 && !list.items.is_empty() => {
            write_doc(output, &Item::new(list.items.remove(0)))?;
        }
        Some(Output::Json | Output::Yaml) => write_doc(output, &list)?,
        Some(Output::Name) => write_out(
            &list
                .items
                .iter()
                .map(|c| format!("command/{}\n", c.command.id))
                .collect::<String>(),
        )?,
        _ if list.items.is_empty() => eprintln!("No commands."),
        _ => {
            let now = now_ms();
            let mut table = Table::new(CommandInfo::headers(wide));
            for c in &list.items {
                table.push(c.cells(now, wide));
            }
            write_out(&table.render(!args.no_headers))?;
        }
    }
    not_found(Resource::Commands, &missing)
}

/// Keeps the named items (all when no names), returning the names not found.
fn keep_named<T>(items: &mut Vec<T>, names: &[String], name: impl Fn(&T) -> &str) -> Vec<String> {
    if names.is_empty() {
        return Vec::new();
    }
    items.retain(|i| names.iter().any(|n| n == name(i)));
    let found: BTreeSet<&str> = items.iter().map(&name).collect();
    names
        .iter()
        .filter(|n| !found.contains(n.as_str()))
        .cloned()
        .collect()
}

fn not_found(resource: Resource, missing: &[String]) -> Result<()> {
    if missing.is_empty() {
        return Ok(());
    }
    let singular = resource.plural().trim_end_matches('s');
    Err(CliError::NotFound(
        missing
            .iter()
            .map(|n| format!("{singular} \"{n}\" not found"))
            .collect::<Vec<_>>()
            .join("; "),
    ))
}

fn nothing_found(resource: Resource, scope: &Scope, session: &Session) -> String {
    match namespace(scope, session) {
        Some(ns) if resource.namespaced() => format!("No resources found in {ns} namespace."),
        _ => "No resources found".to_owned(),
    }
}

/// How a list (or a watched change) is printed.
#[derive(Debug, Clone, Copy)]
pub struct Print {
    pub output: Option<Output>,
    pub headers: bool,
    pub all_namespaces: bool,
    /// One object was asked for by name: JSON/YAML print it alone, not in a list.
    pub single: bool,
}

impl Print {
    pub fn list<T: Printable>(&self, items: &[InCluster<T>]) -> Result<()> {
        match self.output {
            Some(Output::Json | Output::Yaml) if self.single && items.len() == 1 => {
                write_doc(self.output, &Item::new(items[0].clone()))
            }
            Some(Output::Json | Output::Yaml) => write_doc(self.output, &ListView::of(items)),
            Some(Output::Name) => {
                let singular = T::RESOURCE.plural().trim_end_matches('s');
                write_out(
                    &items
                        .iter()
                        .map(|i| format!("{singular}/{}\n", i.object.name()))
                        .collect::<String>(),
                )
            }
            Some(Output::Wide) | None => {
                write_out(&self.table(items, self.headers).render(self.headers))
            }
        }
    }

    /// The table of `items`: a NAMESPACE column with `-A`, a CLUSTER column when the items
    /// come from more than one cluster.
    pub fn table<T: Printable>(&self, items: &[InCluster<T>], _headers: bool) -> Table {
        let wide = self.output == Some(Output::Wide);
        let now = now_ms();
        let mut table = Table::new(T::headers(wide));
        for item in items {
            table.push(item.object.cells(now, wide));
        }
        if self.all_namespaces {
            table.prepend(
                "NAMESPACE",
                items
                    .iter()
                    .map(|i| i.object.namespace().unwrap_or_default().to_owned()),
            );
        }
        let clusters: BTreeSet<&str> = items.iter().map(|i| i.cluster_id.as_str()).collect();
        if clusters.len() > 1 {
            table.prepend("CLUSTER", items.iter().map(|i| i.cluster_id.clone()));
        }
        table
    }
}

/// A list printed as [`List`] prints, borrowing its items: 5,000 pods are not copied to be
/// printed.
#[derive(Serialize)]
struct ListView<'a, T> {
    api_version: &'static str,
    kind: &'static str,
    items: &'a [T],
}

impl<'a, T: ListKind> ListView<'a, T> {
    fn of(items: &'a [T]) -> Self {
        ListView {
            api_version: API_VERSION,
            kind: T::LIST_KIND,
            items,
        }
    }
}

/// Prints one document as JSON (pretty, written as it is serialized) or YAML.
pub fn write_doc<T: Serialize>(output: Option<Output>, doc: &T) -> Result<()> {
    if output == Some(Output::Yaml) {
        let text = serde_yaml_ng::to_string(doc)
            .map_err(|e| CliError::Failed(format!("cannot print YAML: {e}")))?;
        return write_out(&text);
    }
    let mut out = std::io::BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    // serde_json hands an I/O error back as it was (a closed pipe stays a closed pipe).
    let written = serde_json::to_writer_pretty(&mut out, doc)
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush());
    match written {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::Failed(format!("cannot print JSON: {e}"))),
    }
}

/// Writes to stdout; a closed pipe (`| head`) ends the program quietly, as for any Unix tool.
pub fn write_out(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::Failed(format!("cannot write to stdout: {e}"))),
    }
}
