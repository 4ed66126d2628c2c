//! The pods list's usage columns, as k9s shows them: CPU and MEM from each pod's cgroup (the
//! node samples master already holds, `top pods`'s figures), and how much of the pod's CPU
//! requests (%CPU/R) and memory limits (%MEM/L) that is. A pod with no sample shows `n/a`.

use std::collections::HashMap;

use atlhyper_model::api::InCluster;
use atlhyper_model::resources::Pod;
use atlhyper_model::{NodeMetricsSnapshot, PodUsage};

use super::rows::{Column, Layout, Listed as _, Row, Rows, Shape};
use crate::top::bytes;

/// The columns, after RESTARTS, and when they go on a narrow terminal (before IP and NODE).
const COLUMNS: [(&str, u8); 4] = [("CPU", 10), ("MEM", 11), ("%CPU/R", 12), ("%MEM/L", 13)];

/// The pods list's rows: the kubectl columns and the usage columns after RESTARTS.
pub struct PodRows<'a> {
    layout: Layout,
    /// Where the usage columns start.
    at: usize,
    usage: HashMap<(&'a str, &'a str), &'a PodUsage>,
}

impl<'a> PodRows<'a> {
    pub fn new(shape: Shape, metrics: &'a [InCluster<NodeMetricsSnapshot>]) -> PodRows<'a> {
        let mut layout = Layout::of::<Pod>(shape);
        let at = layout
            .columns
            .iter()
            .position(|c| c.title == "RESTARTS")
            .map_or(layout.columns.len(), |i| i + 1);
        for (n, (title, drop_order)) in COLUMNS.into_iter().enumerate() {
            layout.columns.insert(at + n, Column { title, drop_order });
        }
        let usage = metrics
            .iter()
            .flat_map(|m| {
                m.object
                    .pods
                    .iter()
                    .map(move |p| ((m.cluster_id.as_str(), p.uid.as_str()), p))
            })
            .collect();
        PodRows { layout, at, usage }
    }

    fn usage_cells(&self, pod: &InCluster<Pod>) -> [String; 4] {
        cells(
            self.usage
                .get(&(pod.cluster_id.as_str(), pod.object.uid.as_str())),
            &pod.object,
        )
    }

    pub fn row(&self, pod: &InCluster<Pod>) -> Row {
        let mut cells = self.layout.cells(pod);
        for (n, cell) in self.usage_cells(pod).into_iter().enumerate() {
            cells.insert(self.at + n, cell);
        }
        Row::new(Layout::id(pod), cells, pod.object.tone())
    }

    /// Every row of `pods`.
    pub fn build(&self, pods: &[InCluster<Pod>]) -> Rows {
        Rows::new(
            self.layout.columns.clone(),
            pods.iter().map(|p| self.row(p)).collect(),
        )
    }

    /// Rows built by [`PodRows::build`] (in `pods`' order) with each pod's usage as it is now;
    /// only rows whose figures moved change.
    pub fn refresh(&self, rows: &mut Rows, pods: &[InCluster<Pod>]) {
        let mut moved = false;
        for (row, pod) in rows.rows.iter_mut().zip(pods) {
            let now = self.usage_cells(pod);
            let same = (0..now.len()).all(|n| row.cell(self.at + n) == Some(now[n].as_str()));
            if same {
                continue;
            }
            let mut cells: Vec<String> = row.cells().map(str::to_owned).collect();
            for (n, cell) in now.into_iter().enumerate() {
                if let Some(old) = cells.get_mut(self.at + n) {
                    *old = cell;
                }
            }
            *row = Row::new(row.id.clone(), cells, row.tone);
            moved = true;
        }
        if moved {
            rows.measure();
        }
    }
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
