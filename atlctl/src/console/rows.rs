//! A resource list as the console shows it: rows of text built once when data arrives (so a
//! frame or a keystroke never formats objects), with what filtering and sorting need.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use atlhyper_model::CommandStatus;
use atlhyper_model::api::{ClusterSummary, CommandInfo, InCluster};
use atlhyper_model::resources::{
    ConfigMap, Deployment, Event, EventType, Ingress, Labels, Namespace, Node, Pod, Service,
};
use unicode_width::UnicodeWidthStr as _;

use super::filter::Filter;
use crate::kinds::Printable;

/// How a row reads at a glance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Normal,
    /// Needs a look: pending, terminating, cordoned, a Warning event, a stale cluster.
    Warn,
    /// Broken: crash loops, failed commands, nodes not ready.
    Bad,
    /// Done and harmless: completed pods.
    Dim,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub title: &'static str,
    /// Which columns go first when the terminal is narrow: higher goes first, 0 never.
    pub drop_order: u8,
}

/// What a row stands for: enough to act on it or open it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowId {
    pub cluster: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl RowId {
    /// `ns/name`, or `name` for cluster-wide objects.
    pub fn target(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}/{}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A row, its cells kept as one text (one line per cell) — what `/` searches, a regex's `^`
/// and `$` marking a cell's ends — so a row of twenty cells is a few allocations, not twenty.
#[derive(Debug, Clone)]
pub struct Row {
    pub id: RowId,
    pub tone: Tone,
    text: Box<str>,
    /// Where each cell ends in `text`.
    ends: Box<[u32]>,
    /// Each cell's width on screen (so a table's widths are not measured again).
    widths: Box<[u16]>,
}

impl Row {
    /// A row; cells show control characters rather than obey them.
    pub fn new(id: RowId, cells: Vec<String>, tone: Tone) -> Row {
        let mut text = String::with_capacity(cells.iter().map(|c| c.len() + 1).sum());
        let mut ends = Vec::with_capacity(cells.len());
        let mut widths = Vec::with_capacity(cells.len());
        for (i, cell) in cells.iter().enumerate() {
            if i > 0 {
                text.push('\n');
            }
            // Printable text has no line break of its own: `^J`.
            let cell = crate::text::printable(cell);
            text.push_str(&cell);
            ends.push(text.len().min(u32::MAX as usize) as u32);
            widths.push(cell.width().min(u16::MAX as usize) as u16);
        }
        Row {
            id,
            tone,
            text: text.into_boxed_str(),
            ends: ends.into_boxed_slice(),
            widths: widths.into_boxed_slice(),
        }
    }

    /// Cell `i`.
    pub fn cell(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => self.ends[i - 1] as usize + 1,
        };
        self.text.get(start..end)
    }

    pub fn cells(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).filter_map(|i| self.cell(i))
    }

    /// Every cell, one per line.
    pub fn text(&self) -> &str {
        &self.text
    }
}

/// A built table: columns, rows, and each column's widest cell.
#[derive(Debug, Clone, Default)]
pub struct Rows {
    pub columns: Vec<Column>,
    pub rows: Vec<Row>,
    pub widths: Vec<u16>,
}

impl Rows {
    pub fn new(columns: Vec<Column>, rows: Vec<Row>) -> Rows {
        let mut built = Rows {
            columns,
            rows,
            widths: Vec::new(),
        };
        built.measure();
        built
    }

    /// Each column's widest cell, again (after rows changed in place).
    pub fn measure(&mut self) {
        let mut widths: Vec<u16> = self
            .columns
            .iter()
            .map(|c| c.title.width() as u16)
            .collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(&row.widths) {
                *w = (*w).max(*cell);
            }
        }
        self.widths = widths;
    }

    /// The row indexes that pass `filter`, in order. `labels` gives row `i`'s object's labels
    /// (rows are built in their objects' order; the labels stay with the objects).
    pub fn select<'a>(
        &self,
        filter: &Filter,
        labels: impl Fn(usize) -> Option<&'a Labels>,
    ) -> Vec<usize> {
        self.rows
            .iter()
            .enumerate()
            .filter(|(i, r)| filter.matches(r, &self.columns, || labels(*i)))
            .map(|(i, _)| i)
            .collect()
    }

    /// Sorts `indexes` by a column: numbers as numbers, ages as durations, the rest as text.
    pub fn sort(&self, indexes: &mut [usize], column: usize, descending: bool) {
        let Some(title) = self.columns.get(column).map(|c| c.title) else {
            return;
        };
        let key = |i: usize| sort_key(title, self.rows[i].cell(column).unwrap_or(""));
        let mut keyed: Vec<(SortKey, usize)> = indexes.iter().map(|&i| (key(i), i)).collect();
        keyed.sort_by(|a, b| {
            let order = match (&a.0, &b.0) {
                // What has no figure (`n/a`, `<none>`) stays last, whichever the direction.
                (SortKey::Number(_), SortKey::Text(_)) | (SortKey::Text(_), SortKey::Number(_)) => {
                    a.0.cmp(&b.0)
                }
                _ if descending => a.0.cmp(&b.0).reverse(),
                _ => a.0.cmp(&b.0),
            };
            // Ties keep the list's own order, whichever the direction.
            order.then(a.1.cmp(&b.1))
        });
        for (slot, (_, i)) in indexes.iter_mut().zip(keyed) {
            *slot = i;
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum SortKey {
    Number(f64),
    Text(String),
}

impl Eq for SortKey {}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (SortKey::Number(a), SortKey::Number(b)) => a.total_cmp(b),
            // Numbers before text (`<none>`, `<unknown>`).
            (SortKey::Number(_), SortKey::Text(_)) => Ordering::Less,
            (SortKey::Text(_), SortKey::Number(_)) => Ordering::Greater,
            (SortKey::Text(a), SortKey::Text(b)) => a.cmp(b),
        }
    }
}

fn sort_key(title: &str, cell: &str) -> SortKey {
    if matches!(title, "AGE" | "LAST SEEN" | "FIRST SEEN" | "LAST PUSH")
        && let Some(ms) = parse_age(cell.trim_end_matches(" ago"))
    {
        return SortKey::Number(ms as f64);
    }
    leading_number(cell).map_or_else(|| SortKey::Text(cell.to_lowercase()), SortKey::Number)
}

/// `3/3` → 3, `45%` → 45, `1.5Gi` → 1.5·2³⁰, `250m` → 250, `12°C` → 12.
fn leading_number(cell: &str) -> Option<f64> {
    let end = cell
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(cell.len());
    let value: f64 = cell[..end].parse().ok()?;
    let scale = match &cell[end..] {
        s if s.starts_with("Ki") => 1024.0,
        s if s.starts_with("Mi") => 1024.0 * 1024.0,
        s if s.starts_with("Gi") => 1024.0 * 1024.0 * 1024.0,
        s if s.starts_with("Ti") => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => 1.0,
    };
    Some(value * scale)
}

/// `2d3h`, `5m10s`, `45s` → milliseconds.
fn parse_age(text: &str) -> Option<i64> {
    let mut total = 0i64;
    let mut number = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            'y' => 365 * 86_400_000,
            'd' => 86_400_000,
            'h' => 3_600_000,
            'm' => 60_000,
            's' => 1_000,
            _ => return None,
        };
        total += number.parse::<i64>().ok()? * unit;
        number.clear();
    }
    number.is_empty().then_some(total)
}

/// What the columns depend on besides the objects.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub now_ms: i64,
    /// A CLUSTER column when rows come from more than one cluster.
    pub clusters: bool,
    /// A NAMESPACE column when no namespace is chosen.
    pub namespaces: bool,
}

/// A kind as the console lists it.
pub trait Listed: Printable {
    fn tone(&self) -> Tone {
        Tone::Normal
    }
    fn labels(&self) -> Option<&Labels> {
        None
    }
    /// Where a column goes when the terminal is narrow, for a kind whose most telling columns
    /// are not its first ones (higher goes first, 0 never); `None` keeps the general rule.
    fn drop_order(_title: &str) -> Option<u8> {
        None
    }
}

/// How a listed kind's rows are laid out: the kubectl columns (wide ones dropped first) and
/// how each object's cells are placed under them.
#[derive(Debug, Clone)]
pub struct Layout {
    pub columns: Vec<Column>,
    shape: Shape,
    /// Where MESSAGE was before it moved to the end.
    message: Option<usize>,
}

impl Layout {
    pub fn of<T: Listed>(shape: Shape) -> Layout {
        let narrow = T::headers(false).len();
        let mut columns = Vec::new();
        if shape.clusters {
            columns.push(Column {
                title: "CLUSTER",
                drop_order: T::drop_order("CLUSTER").unwrap_or(3),
            });
        }
        if T::RESOURCE.namespaced() && shape.namespaces {
            columns.push(Column {
                title: "NAMESPACE",
                drop_order: T::drop_order("NAMESPACE").unwrap_or(2),
            });
        }
        for (i, title) in T::headers(true).into_iter().enumerate() {
            let drop_order = if let Some(order) = T::drop_order(title) {
                order
            } else if i == 0 && (title == "NAME" || title == "ID") {
                0
            } else if title == "STATUS" {
                3
            } else if title == "MESSAGE" && i < narrow {
                // What an event says is why one looks at it: it shrinks, it is not dropped.
                1
            } else if i < narrow {
                // The first columns matter most; kubectl's narrow set outlives the wide one.
                4 + i as u8
            } else {
                20 + i as u8
            };
            columns.push(Column { title, drop_order });
        }
        // A message goes last, where it takes the rest of the line (kubectl's wide columns
        // after it would cap it).
        let message = columns
            .iter()
            .position(|c| c.title == "MESSAGE")
            .filter(|&m| m + 1 < columns.len());
        if let Some(m) = message {
            let column = columns.remove(m);
            columns.push(column);
        }
        Layout {
            columns,
            shape,
            message,
        }
    }

    pub fn id<T: Listed>(item: &InCluster<T>) -> RowId {
        RowId {
            cluster: item.cluster_id.clone(),
            namespace: item.object.namespace().map(str::to_owned),
            name: item.object.name().to_owned(),
        }
    }

    /// An object's cells, under [`Layout::columns`].
    pub fn cells<T: Listed>(&self, item: &InCluster<T>) -> Vec<String> {
        let mut cells = Vec::with_capacity(self.columns.len());
        if self.shape.clusters {
            cells.push(item.cluster_id.clone());
        }
        if T::RESOURCE.namespaced() && self.shape.namespaces {
            cells.push(item.object.namespace().unwrap_or_default().to_owned());
        }
        cells.extend(item.object.cells(self.shape.now_ms, true));
        if let Some(m) = self.message {
            let cell = cells.remove(m);
            cells.push(cell);
        }
        cells
    }

    pub fn row<T: Listed>(&self, item: &InCluster<T>) -> Row {
        Row::new(Self::id(item), self.cells(item), item.object.tone())
    }
}

/// Rows of any listed kind.
pub fn build<T: Listed>(items: &[InCluster<T>], shape: Shape) -> Rows {
    let layout = Layout::of::<T>(shape);
    let rows = items.iter().map(|item| layout.row(item)).collect();
    Rows::new(layout.columns, rows)
}

/// Which rows of a list are built again.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// Those of these objects and of objects new to the list; the rows follow the objects'
    /// order (kept rows are found by key).
    Keys(&'a HashSet<RowId>),
    /// These rows, in place (the rows on screen, whose ages move).
    At(&'a [usize]),
}

/// `old`, the rows of `items` (its layout kept), with `part` of them built again by `make`.
pub fn rebuild<T: Listed>(
    items: &[InCluster<T>],
    old: Rows,
    part: Part<'_>,
    make: impl Fn(&InCluster<T>) -> Row,
) -> Rows {
    let changed = match part {
        Part::At(at) => {
            let mut rows = old;
            for &i in at {
                if let (Some(item), Some(row)) = (items.get(i), rows.rows.get_mut(i)) {
                    *row = make(item);
                }
            }
            rows.measure();
            return rows;
        }
        Part::Keys(changed) => changed,
    };
    let Rows { columns, rows, .. } = old;
    let mut slots: Vec<Option<Row>> = rows.into_iter().map(Some).collect();
    let at: HashMap<(&str, Option<&str>, &str), usize> = slots
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            let id = &r.as_ref()?.id;
            Some((
                (
                    id.cluster.as_str(),
                    id.namespace.as_deref(),
                    id.name.as_str(),
                ),
                i,
            ))
        })
        .collect();
    let found: Vec<Option<usize>> = items
        .iter()
        .map(|item| {
            let key = (
                item.cluster_id.as_str(),
                item.object.namespace(),
                item.object.name(),
            );
            at.get(&key).copied()
        })
        .collect();
    drop(at);
    let rows = items
        .iter()
        .zip(found)
        .map(|(item, i)| match i.and_then(|i| slots[i].take()) {
            Some(row) if !changed.contains(&row.id) => row,
            _ => make(item),
        })
        .collect();
    Rows::new(columns, rows)
}

/// What a source is called on screen: the kind it brings.
fn source_word(source: atlhyper_model::Source) -> &'static str {
    atlhyper_model::api::StreamKind::of(source).as_str()
}

/// Rows for master's clusters (not `InCluster`: each is its own cluster), with which of each
/// cluster's sources have gone quiet.
pub fn clusters(items: &[ClusterSummary], now_ms: i64) -> Rows {
    let wrapped: Vec<InCluster<ClusterSummary>> = items
        .iter()
        .map(|c| InCluster {
            cluster_id: c.id.clone(),
            object: c.clone(),
        })
        .collect();
    let mut rows = build(
        &wrapped,
        Shape {
            now_ms,
            clusters: false,
            namespaces: false,
        },
    );
    rows.columns.push(Column {
        title: "STALE SOURCES",
        drop_order: 30,
    });
    for (row, cluster) in rows.rows.iter_mut().zip(items) {
        let stale: Vec<&str> = cluster
            .sources
            .iter()
            .filter(|s| s.stale)
            .map(|s| source_word(s.source))
            .collect();
        if !stale.is_empty() && row.tone == Tone::Normal {
            row.tone = Tone::Warn;
        }
        let cell = if stale.is_empty() {
            "none".to_owned()
        } else {
            stale.join(",")
        };
        *row = Row::new(
            row.id.clone(),
            row.cells().map(str::to_owned).chain([cell]).collect(),
            row.tone,
        );
    }
    Rows::new(rows.columns, rows.rows)
}

/// Rows for commands, newest first.
pub fn commands(items: &[CommandInfo], now_ms: i64) -> Rows {
    let mut wrapped: Vec<InCluster<CommandInfo>> = items
        .iter()
        .map(|c| InCluster {
            cluster_id: c.command.cluster_id.clone(),
            object: c.clone(),
        })
        .collect();
    wrapped.sort_by(|a, b| {
        b.object
            .command
            .created_ms
            .cmp(&a.object.command.created_ms)
    });
    build(
        &wrapped,
        Shape {
            now_ms,
            clusters: false,
            namespaces: false,
        },
    )
}

impl Listed for Pod {
    fn tone(&self) -> Tone {
        pod_tone(self)
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
    /// As k9s: NAME READY STATUS RESTARTS AGE stay (a long name is cut instead), IP goes
    /// first, then NODE; narrower still, AGE, then the namespace.
    fn drop_order(title: &str) -> Option<u8> {
        match title {
            "STATUS" => Some(1),
            "READY" | "RESTARTS" => Some(2),
            "NAMESPACE" | "AGE" => Some(3),
            "NODE" => Some(20),
            "IP" => Some(21),
            _ => None,
        }
    }
}

pub fn pod_tone(pod: &Pod) -> Tone {
    match pod.status.as_str() {
        "Running" if pod.ready == pod.total => Tone::Normal,
        "Running" => Tone::Warn,
        "Completed" | "Succeeded" => Tone::Dim,
        "Pending" | "ContainerCreating" | "PodInitializing" | "Terminating" => Tone::Warn,
        s if s.starts_with("Init:") && !s.contains("Err") && !s.contains("BackOff") => Tone::Warn,
        _ => Tone::Bad,
    }
}

impl Listed for Node {
    fn tone(&self) -> Tone {
        if !self.ready {
            Tone::Bad
        } else if self.unschedulable {
            Tone::Warn
        } else {
            Tone::Normal
        }
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for Deployment {
    fn tone(&self) -> Tone {
        if self.ready < self.desired {
            Tone::Warn
        } else {
            Tone::Normal
        }
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for Service {
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for Ingress {
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for ConfigMap {
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for Namespace {
    fn tone(&self) -> Tone {
        if self.phase == "Active" {
            Tone::Normal
        } else {
            Tone::Warn
        }
    }
    fn labels(&self) -> Option<&Labels> {
        Some(&self.labels)
    }
}

impl Listed for Event {
    fn tone(&self) -> Tone {
        match self.type_ {
            EventType::Warning => Tone::Warn,
            _ => Tone::Normal,
        }
    }
    /// What happened to which object, and when, outlives where: at 80 columns an event reads
    /// LAST SEEN, REASON, OBJECT (cut in the middle), MESSAGE with the width left (the
    /// namespace goes first, then the type, which still shows as the row's colour).
    fn drop_order(title: &str) -> Option<u8> {
        match title {
            "NAMESPACE" => Some(9),
            "TYPE" => Some(8),
            "LAST SEEN" | "REASON" => Some(3),
            "OBJECT" => Some(2),
            _ => None,
        }
    }
}

impl Listed for ClusterSummary {
    fn tone(&self) -> Tone {
        if self.stale { Tone::Warn } else { Tone::Normal }
    }
    /// The agent's clock skew goes before the stale sources when columns are short.
    fn drop_order(title: &str) -> Option<u8> {
        (title == "CLOCK SKEW").then_some(31)
    }
}

impl Listed for CommandInfo {
    fn tone(&self) -> Tone {
        match self.status {
            CommandStatus::Succeeded => Tone::Normal,
            CommandStatus::Queued | CommandStatus::Delivered => Tone::Warn,
            _ => Tone::Bad,
        }
    }
    /// A command is what it did to what: at 80 columns ID, KIND, TARGET, STATUS.
    fn drop_order(title: &str) -> Option<u8> {
        match title {
            "CLUSTER" => Some(8),
            "TARGET" => Some(2),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn console_cells_show_control_characters_instead_of_obeying_them() {
        let row = Row::new(
            RowId {
                cluster: "c".into(),
                namespace: None,
                name: "x".into(),
            },
            vec!["a\u{1b}[31mred\u{9b}1m".into()],
            Tone::Normal,
        );
        assert_eq!(row.cell(0), Some("a^[[31mred\\u{9b}1m"));
    }

    fn row(cells: &[&str]) -> Row {
        Row::new(
            RowId {
                cluster: "c".into(),
                namespace: None,
                name: cells[0].into(),
            },
            cells.iter().map(|c| (*c).to_owned()).collect(),
            Tone::Normal,
        )
    }

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn filters_match_substrings_their_inverse_and_label_selectors() {
        let a = row(&["web-1", "CrashLoopBackOff"]);
        let b = row(&["db-0", "Running"]);
        let objects = [
            labels(&[("app", "web"), ("tier", "fe")]),
            labels(&[("app", "db")]),
        ];
        let select =
            |rows: &Rows, text: &str| rows.select(&Filter::parse(text), |i| objects.get(i));
        let rows = Rows::new(
            vec![
                Column {
                    title: "NAME",
                    drop_order: 0,
                },
                Column {
                    title: "STATUS",
                    drop_order: 1,
                },
            ],
            vec![a, b],
        );
        assert_eq!(select(&rows, "crash"), [0]);
        assert_eq!(select(&rows, "CRASH"), [0]);
        assert_eq!(select(&rows, "!crash"), [1]);
        assert_eq!(select(&rows, "-l app=db"), [1]);
        assert_eq!(select(&rows, "-l app!=db"), [0]);
        assert_eq!(select(&rows, "-l tier"), [0]);
        assert_eq!(select(&rows, "-l !tier,app==db"), [1]);
        assert_eq!(select(&rows, "-c status=running"), [1]);
        assert_eq!(select(&rows, "-c STATUS!=Running"), [0]);
        assert_eq!(select(&rows, "-c name=web-1,status==CrashLoopBackOff"), [0]);
        // A whole cell, not a substring.
        assert_eq!(select(&rows, "-c name=web"), Vec::<usize>::new());
        assert_eq!(select(&rows, "-c node=x"), Vec::<usize>::new());
        assert_eq!(select(&rows, ""), [0, 1]);
        assert_eq!(rows.widths, [5, 16]);
    }

    #[test]
    fn sorting_reads_numbers_sizes_and_ages() {
        let cells = [
            ["a", "10", "2d", "1.5Gi"],
            ["b", "9", "3h", "700Mi"],
            ["c", "<none>", "45s", "2.0Gi"],
        ];
        let rows = Rows::new(
            ["NAME", "RESTARTS", "AGE", "MEMORY"]
                .into_iter()
                .map(|title| Column {
                    title,
                    drop_order: 1,
                })
                .collect(),
            cells.iter().map(|c| row(c)).collect(),
        );
        let sorted = |column, descending| {
            let mut i = vec![0, 1, 2];
            rows.sort(&mut i, column, descending);
            i
        };
        assert_eq!(sorted(1, false), [1, 0, 2]);
        assert_eq!(sorted(2, false), [2, 1, 0]);
        assert_eq!(sorted(2, true), [0, 1, 2]);
        assert_eq!(sorted(3, false), [1, 0, 2]);
        assert_eq!(sorted(0, true), [2, 1, 0]);
    }
}
