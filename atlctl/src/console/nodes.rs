//! The nodes view: each node's status joined with its latest sample, as `top`, with a CPU
//! sparkline of the last minutes.

use std::collections::{BTreeMap, HashMap, VecDeque};

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::InCluster;
use atlhyper_model::resources::{Node, Pod, PodPhase};

use super::rows::{Column, Listed as _, Row, RowId, Rows, Shape, Tone};
use crate::kinds::Printable as _;
use crate::top::{bytes, fullest_disk, memory_percent};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// `▁▃▅█`: percentages as bar heights, 0–100 %.
pub fn sparkline(points: impl Iterator<Item = f64>) -> String {
    points
        .map(|p| {
            let level = (p.clamp(0.0, 100.0) / 100.0 * 7.0).round() as usize;
            BARS[level.min(7)]
        })
        .collect()
}

pub fn hottest(s: &NodeMetricsSnapshot) -> Option<f64> {
    s.temperatures
        .iter()
        .map(|t| t.celsius)
        .max_by(f64::total_cmp)
}

pub fn net(s: &NodeMetricsSnapshot) -> (f64, f64) {
    (
        s.network.iter().map(|n| n.rx_bytes_per_sec).sum(),
        s.network.iter().map(|n| n.tx_bytes_per_sec).sum(),
    )
}

fn percent_tone(p: f64) -> Tone {
    if p >= 90.0 {
        Tone::Bad
    } else if p >= 80.0 {
        Tone::Warn
    } else {
        Tone::Normal
    }
}

fn worse(a: Tone, b: Tone) -> Tone {
    let rank = |t| match t {
        Tone::Bad => 3,
        Tone::Warn => 2,
        Tone::Normal => 1,
        Tone::Dim => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

pub type Sparks = BTreeMap<(String, String), VecDeque<(i64, f64)>>;

pub fn rows(
    nodes: &[InCluster<Node>],
    metrics: &[InCluster<NodeMetricsSnapshot>],
    pods: &[InCluster<Pod>],
    sparks: &Sparks,
    shape: Shape,
) -> Rows {
    let samples: HashMap<(&str, &str), &NodeMetricsSnapshot> = metrics
        .iter()
        .map(|m| ((m.cluster_id.as_str(), m.object.node.as_str()), &m.object))
        .collect();
    // Pods bound to each node and not finished, as `kubectl describe node` counts them.
    let mut bound: HashMap<(&str, &str), usize> = HashMap::new();
    for p in pods {
        if let Some(node) = &p.object.node
            && !matches!(p.object.phase, PodPhase::Succeeded | PodPhase::Failed)
        {
            *bound
                .entry((p.cluster_id.as_str(), node.as_str()))
                .or_default() += 1;
        }
    }
    let titles: [(&'static str, u8); 13] = [
        ("NAME", 0),
        ("STATUS", 5),
        ("CPU%", 1),
        ("MEM%", 2),
        ("DISK%", 6),
        ("NET-RX", 10),
        ("NET-TX", 11),
        ("TEMP", 9),
        ("PODS", 7),
        ("CPU HISTORY", 8),
        ("ROLES", 12),
        ("VERSION", 13),
        ("AGE", 14),
    ];
    let mut columns = Vec::new();
    if shape.clusters {
        columns.push(Column {
            title: "CLUSTER",
            drop_order: 4,
        });
    }
    columns.extend(titles.iter().map(|(title, drop_order)| Column {
        title,
        drop_order: *drop_order,
    }));
    let rows = nodes
        .iter()
        .map(|n| {
            let node = &n.object;
            // kubectl's NAME STATUS ROLES AGE VERSION.
            let base = node.cells(shape.now_ms, false);
            let sample = samples.get(&(n.cluster_id.as_str(), node.name.as_str()));
            let mut tone = node.tone();
            let mut cells = Vec::with_capacity(columns.len());
            if shape.clusters {
                cells.push(n.cluster_id.clone());
            }
            cells.push(base[0].clone());
            cells.push(base[1].clone());
            match sample {
                Some(s) => {
                    let (rx, tx) = net(s);
                    let memory = memory_percent(s);
                    let disk = fullest_disk(s);
                    tone = worse(tone, percent_tone(s.cpu.usage_percent));
                    tone = worse(tone, percent_tone(memory));
                    tone = worse(tone, percent_tone(disk.unwrap_or(0.0)));
                    cells.push(format!("{:.0}%", s.cpu.usage_percent));
                    cells.push(format!("{memory:.0}%"));
                    cells.push(disk.map_or_else(|| "-".to_owned(), |d| format!("{d:.0}%")));
                    cells.push(format!("{}/s", bytes(rx)));
                    cells.push(format!("{}/s", bytes(tx)));
                    cells.push(hottest(s).map_or_else(|| "-".to_owned(), |t| format!("{t:.0}°C")));
                }
                None => cells.extend(std::iter::repeat_n("-".to_owned(), 6)),
            }
            cells.push(
                bound
                    .get(&(n.cluster_id.as_str(), node.name.as_str()))
                    .copied()
                    .unwrap_or(0)
                    .to_string(),
            );
            let line = sparks.get(&(n.cluster_id.clone(), node.name.clone()));
            cells.push(line.map_or_else(String::new, |l| sparkline(l.iter().map(|(_, p)| *p))));
            cells.push(base[2].clone());
            cells.push(base[4].clone());
            cells.push(base[3].clone());
            Row::new(
                RowId {
                    cluster: n.cluster_id.clone(),
                    namespace: None,
                    name: node.name.clone(),
                },
                cells,
                tone,
            )
        })
        .collect();
    Rows::new(columns, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparklines_scale_percentages_to_eight_levels() {
        assert_eq!(
            sparkline([0.0, 50.0, 100.0, 150.0, -3.0].into_iter()),
            "▁▅██▁"
        );
    }
}
