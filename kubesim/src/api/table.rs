//! Server-side printing: the `meta.k8s.io/v1` Table a real API server answers `kubectl get`
//! with, with the same columns per kind.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde_json::{Value, json};

use atlhyper_kube_summary::ms;
pub use atlhyper_kube_summary::{PodSummary, human_duration, node_roles, node_status, pod_summary};

use crate::kinds::Kind;

mod printers;

/// A kind that can be printed as table rows.
pub trait Printable: Kind {
    /// `(name, type, priority)`: priority 1 columns show only with `-o wide`.
    const COLUMNS: &'static [(&'static str, &'static str, u8)];
    fn cells(&self, now_ms: i64) -> Vec<Value>;
}

/// The column definitions of a kind.
pub fn column_definitions<K: Printable>() -> Value {
    Value::Array(
        K::COLUMNS
            .iter()
            .map(|(name, type_, priority)| {
                json!({
                    "name": name,
                    "type": type_,
                    "format": if *name == "Name" { "name" } else { "" },
                    "description": "",
                    "priority": priority,
                })
            })
            .collect(),
    )
}

/// How a table row carries its object (`includeObject`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

impl IncludeObject {
    pub fn parse(value: Option<&str>) -> Self {
        match value {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        }
    }
}

/// A `meta.k8s.io/v1` Table written straight to JSON bytes, row by row: a 5,000-row table
/// never exists as a `serde_json::Value` tree.
pub struct TableWriter {
    out: Vec<u8>,
    rows: usize,
}

impl TableWriter {
    /// A table at `rv`; `columns` adds the kind's column definitions (watch events carry none).
    pub fn new<K: Printable>(rv: u64, continue_token: Option<&str>, columns: bool) -> Self {
        let mut metadata = json!({ "resourceVersion": rv.to_string() });
        if let Some(token) = continue_token {
            metadata["continue"] = Value::String(token.to_owned());
        }
        let columns = if columns {
            column_definitions::<K>()
        } else {
            Value::Array(Vec::new())
        };
        let head = format!(
            r#"{{"kind":"Table","apiVersion":"meta.k8s.io/v1","metadata":{metadata},"columnDefinitions":{columns},"rows":["#
        );
        TableWriter {
            out: head.into_bytes(),
            rows: 0,
        }
    }

    /// Adds one row: the cells and, as `include` asks, the object (its stored `json`) or its
    /// metadata.
    pub fn row<K: Printable>(
        &mut self,
        object: &K,
        json: &[u8],
        include: IncludeObject,
        now_ms: i64,
    ) {
        if self.rows > 0 {
            self.out.push(b',');
        }
        self.rows += 1;
        self.out.extend_from_slice(br#"{"cells":"#);
        serde_json::to_writer(&mut self.out, &object.cells(now_ms)).expect("cells serialize");
        match include {
            IncludeObject::None => {}
            IncludeObject::Metadata => {
                self.out.extend_from_slice(
                    br#","object":{"kind":"PartialObjectMetadata","apiVersion":"meta.k8s.io/v1","metadata":"#,
                );
                serde_json::to_writer(&mut self.out, object.metadata())
                    .expect("metadata serializes");
                self.out.push(b'}');
            }
            IncludeObject::Object => {
                self.out.extend_from_slice(br#","object":"#);
                self.out.extend_from_slice(json);
            }
        }
        self.out.push(b'}');
    }

    /// The table's JSON.
    pub fn finish(mut self) -> Vec<u8> {
        self.out.extend_from_slice(b"]}");
        self.out
    }
}

/// The age of a timestamp, or `<unknown>`.
pub fn age(time: Option<&Time>, now_ms: i64) -> String {
    time.map_or_else(
        || "<unknown>".to_owned(),
        |t| human_duration(now_ms - ms(t)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_written_as_the_api_server_shapes_them() {
        use k8s_openapi::api::core::v1::Namespace;
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
        let named = |name: &str| Namespace {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                labels: Some([("team".to_owned(), "a".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let objects = [named("one"), named("two")];
        for include in [
            IncludeObject::None,
            IncludeObject::Metadata,
            IncludeObject::Object,
        ] {
            let mut table = TableWriter::new::<Namespace>(42, Some("tok"), true);
            for object in &objects {
                let json = serde_json::to_vec(object).unwrap();
                table.row(object, &json, include, 0);
            }
            let value: Value = serde_json::from_slice(&table.finish()).unwrap();
            assert_eq!(value["kind"], "Table");
            assert_eq!(value["metadata"]["resourceVersion"], "42");
            assert_eq!(value["metadata"]["continue"], "tok");
            assert_eq!(value["columnDefinitions"][0]["name"], "Name");
            let rows = value["rows"].as_array().unwrap();
            assert_eq!(rows.len(), 2);
            assert_eq!(rows[1]["cells"][0], "two");
            match include {
                IncludeObject::None => assert!(rows[0].get("object").is_none()),
                IncludeObject::Metadata => {
                    assert_eq!(rows[0]["object"]["kind"], "PartialObjectMetadata");
                    assert_eq!(rows[0]["object"]["metadata"]["labels"]["team"], "a");
                }
                IncludeObject::Object => assert_eq!(rows[1]["object"]["metadata"]["name"], "two"),
            }
        }
        let empty: Value =
            serde_json::from_slice(&TableWriter::new::<Namespace>(7, None, false).finish())
                .unwrap();
        assert_eq!(empty["rows"], json!([]));
        assert_eq!(empty["columnDefinitions"], json!([]));
        assert!(empty["metadata"].get("continue").is_none());
    }

    #[test]
    fn durations_print_as_kubernetes_prints_them() {
        let s = 1000;
        for (ms, text) in [
            (-5 * s, "<invalid>"),
            (0, "0s"),
            (119 * s, "119s"),
            (150 * s, "2m30s"),
            (300 * s, "5m"),
            (90 * 60 * s, "90m"),
            (4 * 3600 * s + 5 * 60 * s, "4h5m"),
            (30 * 3600 * s, "30h"),
            (3 * 86_400 * s + 2 * 3600 * s, "3d2h"),
            (40 * 86_400 * s, "40d"),
            (3 * 365 * 86_400 * s, "3y"),
        ] {
            assert_eq!(human_duration(ms), text, "{ms}");
        }
    }
}
