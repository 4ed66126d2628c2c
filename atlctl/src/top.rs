//! `atlctl top nodes`: the latest nodemetrics sample of every node, like `kubectl top nodes`
//! plus disk, network and temperature.

use std::io::IsTerminal as _;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{InCluster, List};

use crate::Session;
use crate::cli::{Output, TopArgs};
use crate::error::{CliError, Result};
use crate::get::{write_doc, write_out};
use crate::table::Table;

/// Binary units as kubectl prints memory: `512Mi`, `3Gi`.
pub fn bytes(n: f64) -> String {
    const UNITS: [&str; 5] = ["", "Ki", "Mi", "Gi", "Ti"];
    // `max` keeps a negative zero, which would print as `-0`.
    let mut value = if n > 0.0 { n } else { 0.0 };
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 || value >= 100.0 {
        format!("{value:.0}{}", UNITS[unit])
    } else {
        format!("{value:.1}{}", UNITS[unit])
    }
}

pub(crate) fn fullest_disk(s: &NodeMetricsSnapshot) -> Option<f64> {
    s.filesystems
        .iter()
        .filter(|f| f.size_bytes > 0)
        .map(|f| f.used_bytes as f64 * 100.0 / f.size_bytes as f64)
        .max_by(f64::total_cmp)
}

pub(crate) fn memory_percent(s: &NodeMetricsSnapshot) -> f64 {
    if s.memory.total_bytes == 0 {
        return 0.0;
    }
    s.memory.used_bytes as f64 * 100.0 / s.memory.total_bytes as f64
}

fn sort(items: &mut [InCluster<NodeMetricsSnapshot>], by: Option<&str>) -> Result<()> {
    let (field, descending) = match by {
        Some(f) => f.strip_prefix('-').map_or((f, false), |f| (f, true)),
        None => ("name", false),
    };
    let cmp = |a: &InCluster<NodeMetricsSnapshot>, b: &InCluster<NodeMetricsSnapshot>| {
        let (a, b) = (&a.object, &b.object);
        match field {
            "cpu" => a.cpu.usage_percent.total_cmp(&b.cpu.usage_percent),
            "memory" => memory_percent(a).total_cmp(&memory_percent(b)),
            "disk" => fullest_disk(a)
                .unwrap_or(0.0)
                .total_cmp(&fullest_disk(b).unwrap_or(0.0)),
            _ => a.node.cmp(&b.node),
        }
    };
    if !matches!(field, "cpu" | "memory" | "disk" | "name") {
        return Err(CliError::Usage(format!(
            "--sort-by `{field}`: top nodes sorts by cpu, memory, disk or name"
        )));
    }
    items.sort_by(|a, b| {
        let order = cmp(a, b).then_with(|| a.cluster_id.cmp(&b.cluster_id));
        if descending { order.reverse() } else { order }
    });
    Ok(())
}

pub fn table(items: &[InCluster<NodeMetricsSnapshot>]) -> Table {
    let mut table = Table::new([
        "NAME",
        "CPU(cores)",
        "CPU%",
        "MEMORY(bytes)",
        "MEMORY%",
        "DISK%",
        "NET-RX",
        "NET-TX",
        "TEMP",
    ]);
    for item in items {
        let s = &item.object;
        let millicores = s.cpu.usage_percent * f64::from(s.cpu.cores) * 10.0;
        let rx: f64 = s.network.iter().map(|n| n.rx_bytes_per_sec).sum();
        let tx: f64 = s.network.iter().map(|n| n.tx_bytes_per_sec).sum();
        let hottest = s
            .temperatures
            .iter()
            .map(|t| t.celsius)
            .max_by(f64::total_cmp);
        table.push(vec![
            s.node.clone(),
            format!("{millicores:.0}m"),
            format!("{:.0}%", s.cpu.usage_percent),
            bytes(s.memory.used_bytes as f64),
            format!("{:.0}%", memory_percent(s)),
            fullest_disk(s).map_or_else(|| "<none>".to_owned(), |d| format!("{d:.0}%")),
            format!("{}/s", bytes(rx)),
            format!("{}/s", bytes(tx)),
            hottest.map_or_else(|| "<none>".to_owned(), |t| format!("{t:.0}°C")),
        ]);
    }
    let clusters: std::collections::BTreeSet<&str> =
        items.iter().map(|i| i.cluster_id.as_str()).collect();
    if clusters.len() > 1 {
        table.prepend("CLUSTER", items.iter().map(|i| i.cluster_id.clone()));
    }
    table
}

async fn fetch(args: &TopArgs, session: &Session) -> Result<List<InCluster<NodeMetricsSnapshot>>> {
    let query: Vec<(&str, String)> = if args.cluster.is_empty() {
        Vec::new()
    } else {
        vec![("cluster", args.cluster.join(","))]
    };
    let mut list: List<InCluster<NodeMetricsSnapshot>> =
        session.client.list("node-metrics", &query).await?;
    if !args.names.is_empty() {
        list.items.retain(|i| args.names.contains(&i.object.node));
        if let Some(missing) = args
            .names
            .iter()
            .find(|n| !list.items.iter().any(|i| &&i.object.node == n))
        {
            return Err(CliError::NotFound(format!(
                "no metrics for node \"{missing}\" (is nodemetrics running there?)"
            )));
        }
    }
    sort(&mut list.items, args.sort_by.as_deref())?;
    Ok(list)
}

pub async fn run(args: &TopArgs, flags: crate::cli::ConsoleFlags, session: &Session) -> Result<()> {
    let live = !args.once
        && !args.json
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal();
    if live {
        // On a terminal `top` is the console, opened on nodes or pods.
        let first = match args.resource {
            crate::cli::TopResource::Nodes => crate::kinds::Resource::Nodes,
            crate::cli::TopResource::Pods => crate::kinds::Resource::Pods,
        };
        let scope = crate::console::app::Scope {
            cluster: (args.cluster.len() == 1).then(|| args.cluster[0].clone()),
            namespace: if args.all_namespaces {
                None
            } else {
                args.namespace.clone()
            },
        };
        let options = crate::console::Options {
            first,
            flags,
            scope,
            ask_before_quit: false,
        };
        return crate::console::run(session, options).await;
    }
    if args.resource == crate::cli::TopResource::Pods {
        return crate::top_pods::run(args, session).await;
    }
    if args.json {
        return write_doc(Some(Output::Json), &fetch(args, session).await?);
    }
    let list = fetch(args, session).await?;
    if list.items.is_empty() {
        eprintln!("No node metrics yet: is nodemetrics running and reporting to the agent?");
        return Ok(());
    }
    write_out(&table(&list.items).render(!args.no_headers))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_read_like_kubectl() {
        assert_eq!(bytes(512.0), "512");
        assert_eq!(bytes(1536.0), "1.5Ki");
        assert_eq!(bytes(3.0 * 1024.0 * 1024.0 * 1024.0), "3.0Gi");
        assert_eq!(bytes(700.0 * 1024.0 * 1024.0), "700Mi");
    }
}
