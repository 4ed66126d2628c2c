//! What every describe is written with: aligned `Key:  value` blocks, tables, times and
//! ages as kubectl prints them, and the events section.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use atlhyper_model::human_duration;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;

/// A block of `Key:  value` lines, values aligned at the longest key (kubectl's tabwriter).
pub(super) struct Fields {
    indent: usize,
    lines: Vec<(String, String)>,
}

impl Fields {
    pub(super) fn new(indent: usize) -> Fields {
        Fields {
            indent,
            lines: Vec::new(),
        }
    }

    pub(super) fn add(&mut self, key: &str, value: impl Into<String>) -> &mut Fields {
        self.lines.push((format!("{key}:"), value.into()));
        self
    }

    /// A key whose value is several lines (labels, annotations), each aligned.
    pub(super) fn many(&mut self, key: &str, values: Vec<String>) -> &mut Fields {
        if values.is_empty() {
            return self.add(key, "<none>");
        }
        for (i, v) in values.into_iter().enumerate() {
            let k = if i == 0 {
                format!("{key}:")
            } else {
                String::new()
            };
            self.lines.push((k, v));
        }
        self
    }

    pub(super) fn write(&self, out: &mut String) {
        let width = self.lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
        for (k, v) in &self.lines {
            let line = format!("{:indent$}{k:<width$}{v}", "", indent = self.indent);
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
}

/// Rows under a header, each column as wide as its widest cell (kubectl's tables in describe).
pub(super) fn table(
    out: &mut String,
    indent: usize,
    header: &[&str],
    rows: &[Vec<String>],
    dashes: bool,
) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let mut s = " ".repeat(indent);
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                s.push_str(cell);
            } else {
                let _ = write!(s, "{cell:<w$}  ");
            }
        }
        s.trim_end().to_owned()
    };
    let _ = writeln!(
        out,
        "{}",
        line(header.iter().map(|h| (*h).to_owned()).collect())
    );
    if dashes {
        let _ = writeln!(
            out,
            "{}",
            line(header.iter().map(|h| "-".repeat(h.len())).collect())
        );
    }
    for row in rows {
        let _ = writeln!(out, "{}", line(row.clone()));
    }
}

pub(super) fn map_lines(map: Option<&BTreeMap<String, String>>) -> Vec<String> {
    map.map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default()
}

/// `Mon, 30 Nov 2026 10:00:00 +0000`, as kubectl prints times.
pub(super) fn time(t: &Time) -> String {
    t.0.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string()
}

pub(super) fn meta_fields(f: &mut Fields, meta: &ObjectMeta, namespaced: bool) {
    f.add("Name", meta.name.clone().unwrap_or_default());
    if namespaced {
        f.add("Namespace", meta.namespace.clone().unwrap_or_default());
    }
}

/// Name, namespace, labels and annotations: how most describes begin.
pub(super) fn head(meta: &ObjectMeta, namespaced: bool) -> Fields {
    let mut f = Fields::new(0);
    meta_fields(&mut f, meta, namespaced);
    labels_and_annotations(&mut f, meta);
    f
}

pub(super) fn labels_and_annotations(f: &mut Fields, meta: &ObjectMeta) {
    f.many("Labels", map_lines(meta.labels.as_ref()));
    // kubectl leaves out the last-applied configuration; so does this.
    let annotations = meta.annotations.as_ref().map(|a| {
        a.iter()
            .filter(|(k, _)| *k != "kubectl.kubernetes.io/last-applied-configuration")
            .map(|(k, v)| format!("{k}: {v}"))
            .collect()
    });
    f.many("Annotations", annotations.unwrap_or_default());
}

pub(super) fn last_seen(e: &Event) -> Option<Timestamp> {
    e.last_timestamp
        .as_ref()
        .map(|t| t.0)
        .or_else(|| e.event_time.as_ref().map(|t| t.0))
        .or_else(|| e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// kubectl's `Events:` section: newest last, ages as `65s (x42 over 61m)`.
pub(super) fn events(out: &mut String, events: &[Event], now_ms: i64) {
    if events.is_empty() {
        out.push_str("Events:  <none>\n");
        return;
    }
    out.push_str("Events:\n");
    let age = |t: Option<Timestamp>| {
        t.map_or_else(
            || "<unknown>".to_owned(),
            |t| human_duration(now_ms - t.as_millisecond()),
        )
    };
    let rows: Vec<Vec<String>> = events
        .iter()
        .rev()
        .take(20)
        .rev()
        .map(|e| {
            let last = last_seen(e);
            let first = e
                .first_timestamp
                .as_ref()
                .map(|t| t.0)
                .or_else(|| e.event_time.as_ref().map(|t| t.0))
                .or(last);
            let count = e.count.unwrap_or(1);
            let when = if count > 1 {
                format!("{} (x{count} over {})", age(last), age(first))
            } else {
                age(last)
            };
            let from = e
                .source
                .as_ref()
                .and_then(|s| s.component.clone())
                .or_else(|| e.reporting_component.clone())
                .unwrap_or_default();
            vec![
                e.type_.clone().unwrap_or_default(),
                e.reason.clone().unwrap_or_default(),
                when,
                from,
                e.message
                    .clone()
                    .unwrap_or_default()
                    .trim()
                    .replace('\n', " "),
            ]
        })
        .collect();
    table(
        out,
        2,
        &["Type", "Reason", "Age", "From", "Message"],
        &rows,
        true,
    );
}

pub(super) fn quantities(map: Option<&BTreeMap<String, Quantity>>) -> Vec<(String, String)> {
    map.map(|m| m.iter().map(|(k, v)| (k.clone(), v.0.clone())).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_read_as_kubectl_prints_them() {
        let at = |s: &str| Time(s.parse().unwrap());
        let event = Event {
            type_: Some("Warning".into()),
            reason: Some("BackOff".into()),
            message: Some("Back-off restarting\nfailed container".into()),
            count: Some(42),
            first_timestamp: Some(at("2026-11-30T09:00:00Z")),
            last_timestamp: Some(at("2026-11-30T10:00:55Z")),
            source: Some(k8s_openapi::api::core::v1::EventSource {
                component: Some("kubelet".into()),
                host: None,
            }),
            ..Event::default()
        };
        let now = at("2026-11-30T10:02:00Z").0.as_millisecond();
        let mut out = String::new();
        events(&mut out, &[event], now);
        assert_eq!(
            out,
            "Events:\n  Type     Reason   Age                 From     Message\n  \
             ----     ------   ---                 ----     -------\n  \
             Warning  BackOff  65s (x42 over 62m)  kubelet  Back-off restarting failed container\n"
        );
        let mut none = String::new();
        events(&mut none, &[], now);
        assert_eq!(none, "Events:  <none>\n");
    }
}
