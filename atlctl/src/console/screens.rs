//! The screens the console stacks: a list with its filter, sort and selection, a node's and a
//! pod's detail, and text from the cluster (logs, a describe, a command's output).

use atlhyper_model::api::MetricSeries;

use super::app::{Data, labels_of};
use super::filter::Filter;
use super::messages::Scope;
use super::rows::{RowId, Rows};
use crate::kinds::Resource;

/// A list of one kind, with its filter, sort and selection.
#[derive(Debug, Clone)]
pub struct ListScreen {
    pub resource: Resource,
    pub filter_text: String,
    pub filter: Filter,
    pub sort: Option<(usize, bool)>,
    pub rows: Rows,
    /// Indexes into `rows.rows` that pass the filter, in the shown order.
    pub visible: Vec<usize>,
    pub selected: usize,
    pub offset: usize,
    /// The scope to go back to when this list closes (it was opened by entering a cluster or
    /// a namespace).
    pub back_scope: Option<Scope>,
}

impl ListScreen {
    pub fn new(resource: Resource) -> ListScreen {
        ListScreen {
            resource,
            filter_text: String::new(),
            filter: Filter::All,
            sort: None,
            rows: Rows::default(),
            visible: Vec::new(),
            selected: 0,
            offset: 0,
            back_scope: None,
        }
    }

    /// A list opened with `text` already in its `/` filter (a drill-in: a deployment's pods).
    pub fn filtered(resource: Resource, text: String) -> ListScreen {
        ListScreen {
            filter: Filter::parse(&text),
            filter_text: text,
            ..ListScreen::new(resource)
        }
    }

    pub fn selected_id(&self) -> Option<&RowId> {
        let i = *self.visible.get(self.selected)?;
        Some(&self.rows.rows.get(i)?.id)
    }

    /// Filters and sorts again, keeping the selected object selected — or, for the events'
    /// live tail, the last row when it was on the last row.
    pub fn refresh(&mut self, data: &Data) {
        self.replace(None, data);
    }

    /// Shows `rows` (or the current rows again), filtered and sorted, keeping the selected
    /// object selected. What was selected is read before the rows change: `visible` indexes
    /// the old rows, and a shorter list must not be indexed with them.
    pub fn replace(&mut self, rows: Option<Rows>, data: &Data) {
        let tail = self.resource == Resource::Events
            && self.sort.is_none()
            && self.selected + 1 >= self.visible.len();
        let keep = self.selected_id().cloned();
        if let Some(rows) = rows {
            self.rows = rows;
        }
        self.visible = self
            .rows
            .select(&self.filter, labels_of(data, self.resource));
        if let Some((column, descending)) = self.sort {
            self.rows.sort(&mut self.visible, column, descending);
        }
        let last = self.visible.len().saturating_sub(1);
        self.selected = keep
            .and_then(|id| {
                self.visible
                    .iter()
                    .position(|&i| self.rows.rows[i].id == id)
            })
            .unwrap_or(self.selected)
            .min(last);
        if tail {
            self.selected = last;
        }
    }
}

#[derive(Debug, Clone)]
pub struct NodeScreen {
    pub cluster: String,
    pub node: String,
    pub minutes: u32,
    pub series: Option<MetricSeries>,
    pub scroll: u16,
}

#[derive(Debug, Clone)]
pub struct PodScreen {
    pub id: RowId,
    pub scroll: u16,
    /// Long lines (event messages) wrap (`w`) instead of being cut at the edge.
    pub wrap: bool,
}

/// Text from the cluster: logs, a describe, a command's output.
#[derive(Debug, Clone)]
pub struct TextScreen {
    pub title: String,
    pub lines: Vec<String>,
    /// The command whose output this waits for.
    pub waiting_for: Option<String>,
    pub scroll: usize,
    /// Long lines wrap (`w`) instead of being cut at the edge.
    pub wrap: bool,
    /// Only lines that match this (`/`); empty: every line.
    pub filter: String,
    /// A pod's log, and how it is kept up to date.
    pub follow: Option<super::logs::LogFollow>,
}

impl TextScreen {
    pub fn new(title: String, lines: Vec<String>) -> TextScreen {
        TextScreen {
            title,
            lines,
            waiting_for: None,
            scroll: 0,
            wrap: false,
            filter: String::new(),
            follow: None,
        }
    }

    /// The lines the filter lets through (all without one).
    pub fn shown(&self) -> Vec<&str> {
        let filter = super::filter::Filter::parse(&self.filter);
        self.lines
            .iter()
            .map(String::as_str)
            .filter(|l| filter.matches_line(l))
            .collect()
    }
}

#[derive(Debug, Clone)]
pub enum Screen {
    List(ListScreen),
    Node(NodeScreen),
    Pod(PodScreen),
    Text(TextScreen),
}
