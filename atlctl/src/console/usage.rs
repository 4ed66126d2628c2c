//! The pods list's usage columns, as k9s shows them: CPU and MEM from each pod's cgroup (the
//! node samples master already holds, `top pods`'s figures), and how much of the pod's CPU
//! requests (%CPU/R) and memory limits (%MEM/L) that is. A pod with no sample shows `n/a`.

use std::collections::HashMap;

use atlhyper_model::api::InCluster;
use atlhyper_model::resources::Pod;
use atlhyper_model::{NodeMetricsSnapshot, PodUsage};

use super::rows::{Column, Row, Rows};
use crate::top::bytes;

/// The columns, after RESTARTS, and when they go on a narrow terminal (before IP and NODE).
const COLUMNS: [(&str, u8); 4] = [("CPU", 10), ("MEM", 11), ("%CPU/R", 12), ("%MEM/L", 13)];

/// `rows` (built from `pods`, in their order) with the usage columns.
pub fn add(
    rows: Rows,
    pods: &[InCluster<Pod>],
    metrics: &[InCluster<NodeMetricsSnapshot>],
) -> Rows {
    let usage: HashMap<(&str, &str), &PodUsage> = metrics
        .iter()
        .flat_map(|m| {
            m.object
                .pods
                .iter()
                .map(move |p| ((m.cluster_id.as_str(), p.uid.as_str()), p))
        })
        .collect();
    let at = rows
        .columns
        .iter()
        .position(|c| c.title == "RESTARTS")
        .map_or(rows.columns.len(), |i| i + 1);
    let Rows {
        mut columns,
        rows: old,
        ..
    } = rows;
    for (n, (title, drop_order)) in COLUMNS.into_iter().enumerate() {
        columns.insert(at + n, Column { title, drop_order });
    }
    let rows = old
        .into_iter()
        .zip(pods)
        .map(|(row, pod)| {
            let cells = cells(
                usage.get(&(pod.cluster_id.as_str(), pod.object.uid.as_str())),
                &pod.object,
            );
            let mut all = row.cells;
            for (n, cell) in cells.into_iter().enumerate() {
                all.insert(at + n, cell);
            }
            Row::new(row.id, all, row.tone)
        })
        .collect();
    Rows::new(columns, rows)
}

fn cells(usage: Option<&&PodUsage>, pod: &Pod) -> [String; 4] {
    let Some(u) = usage else {
        return ["n/a", "n/a", "n/a", "n/a"].map(str::to_owned);
    };
    let sum = |f: fn(&atlhyper_model::resources::Container) -> Option<u64>| -> Option<u64> {
        let app = pod.containers.iter().filter(|c| !c.init);
        // A container without the figure leaves the pod without one (as k9s: n/a).
        app.map(f).sum::<Option<u64>>().filter(|&t| t > 0)
    };
    let percent = |used: f64, of: Option<u64>| {
        of.map_or_else(
            || "n/a".to_owned(),
            |of| format!("{:.0}%", used / of as f64 * 100.0),
        )
    };
    [
        format!("{:.0}m", u.cpu_millicores),
        bytes(u.memory_bytes as f64),
        percent(u.cpu_millicores, sum(|c| c.requests.cpu_millis)),
        percent(u.memory_bytes as f64, sum(|c| c.limits.memory_bytes)),
    ]
}
