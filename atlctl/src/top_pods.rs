//! `atlctl top pods`: each pod's CPU and memory from its cgroup, like `kubectl top pods`.

use std::io::IsTerminal as _;
use std::time::Duration;

use atlhyper_model::api::{InCluster, List, PodMetrics};

use crate::Session;
use crate::cli::{Output, TopArgs};
use crate::error::{CliError, Result};
use crate::get::{write_doc, write_out};
use crate::table::Table;
use crate::top::bytes;

async fn fetch(args: &TopArgs, session: &Session) -> Result<List<InCluster<PodMetrics>>> {
    let mut query: Vec<(&str, String)> = Vec::new();
    if !args.cluster.is_empty() {
        query.push(("cluster", args.cluster.join(",")));
    }
    if !args.all_namespaces {
        let namespace = args
            .namespace
            .clone()
            .or_else(|| session.target.namespace.clone())
            .unwrap_or_else(|| "default".to_owned());
        query.push(("namespace", namespace));
    }
    let mut list: List<InCluster<PodMetrics>> = session.client.list("pod-metrics", &query).await?;
    if !args.names.is_empty() {
        list.items.retain(|i| args.names.contains(&i.object.name));
        if let Some(missing) = args
            .names
            .iter()
            .find(|n| !list.items.iter().any(|i| &&i.object.name == n))
        {
            return Err(CliError::NotFound(format!(
                "no metrics for pod \"{missing}\""
            )));
        }
    }
    let (field, descending) = match args.sort_by.as_deref() {
        Some(f) => f.strip_prefix('-').map_or((f, false), |f| (f, true)),
        None => ("name", false),
    };
    if !matches!(field, "cpu" | "memory" | "name") {
        return Err(CliError::Usage(format!(
            "--sort-by `{field}`: top pods sorts by cpu, memory or name"
        )));
    }
    list.items.sort_by(|a, b| {
        let (x, y) = (&a.object, &b.object);
        let order = match field {
            "cpu" => x.cpu_millicores.total_cmp(&y.cpu_millicores),
            "memory" => x.memory_bytes.cmp(&y.memory_bytes),
            _ => {
                (&a.cluster_id, &x.namespace, &x.name).cmp(&(&b.cluster_id, &y.namespace, &y.name))
            }
        };
        if descending { order.reverse() } else { order }
    });
    Ok(list)
}

fn table(items: &[InCluster<PodMetrics>], all_namespaces: bool) -> Table {
    let mut table = Table::new(["NAME", "CPU(cores)", "MEMORY(bytes)"]);
    for item in items {
        table.push(vec![
            item.object.name.clone(),
            format!("{:.0}m", item.object.cpu_millicores),
            bytes(item.object.memory_bytes as f64),
        ]);
    }
    if all_namespaces {
        table.prepend(
            "NAMESPACE",
            items.iter().map(|i| i.object.namespace.clone()),
        );
    }
    let clusters: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i.cluster_id.as_str()).collect();
    if clusters.len() > 1 {
        table.prepend("CLUSTER", items.iter().map(|i| i.cluster_id.clone()));
    }
    table
}

pub async fn run(args: &TopArgs, session: &Session) -> Result<()> {
    if args.json {
        return write_doc(Some(Output::Json), &fetch(args, session).await?);
    }
    let live = !args.once && std::io::stdout().is_terminal();
    loop {
        let list = fetch(args, session).await?;
        if list.items.is_empty() {
            let text = "No pod metrics: is nodemetrics running where the pods are?\n";
            if !live {
                eprint!("{text}");
                return Ok(());
            }
            write_out(&format!("\x1b[H\x1b[2J{text}"))?;
        } else {
            let text = table(&list.items, args.all_namespaces).render(!args.no_headers);
            if !live {
                return write_out(&text);
            }
            write_out(&format!("\x1b[H\x1b[2J{text}"))?;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
