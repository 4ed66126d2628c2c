//! Master's `delta` stream events (`GET /api/v1/stream?deltas=true`), applied to the lists
//! atlctl holds — the console's and `get -w`'s — so a change never costs a list again; only a
//! `relist` delta (a change too large for the stream), a `reset` or a gap does.

use atlhyper_model::Source;
use atlhyper_model::api::{InCluster, StreamDelta, WatchEventType};
use serde::Deserialize;

use crate::error::{CliError, Result};
use crate::kinds::Printable;

/// What every delta event says before its objects.
#[derive(Debug, Deserialize)]
pub struct Head {
    pub cluster_id: String,
    pub source: Source,
    #[serde(default)]
    pub relist: bool,
}

/// Reads a delta event's head.
///
/// # Errors
/// [`CliError::Failed`] when master streamed something unreadable.
pub fn head(data: &str) -> Result<Head> {
    serde_json::from_str(data)
        .map_err(|e| CliError::Failed(format!("master streamed an unreadable delta: {e}")))
}

/// Reads a delta event's objects as `T`.
///
/// # Errors
/// [`CliError::Failed`] when master streamed something unreadable.
pub fn parse<T: Printable>(data: &str) -> Result<StreamDelta<InCluster<T>>> {
    serde_json::from_str(data)
        .map_err(|e| CliError::Failed(format!("master streamed an unreadable delta: {e}")))
}

/// `namespace/name` (or `name`): the key deltas name objects by.
pub fn key_of<T: Printable>(object: &T) -> String {
    match object.namespace() {
        Some(ns) => format!("{ns}/{}", object.name()),
        None => object.name().to_owned(),
    }
}

/// Whether `object`'s key is `key` (as [`key_of`], without building it).
fn has_key<T: Printable>(object: &T, key: &str) -> bool {
    match object.namespace() {
        Some(ns) => key
            .strip_prefix(ns)
            .and_then(|rest| rest.strip_prefix('/'))
            .is_some_and(|name| name == object.name()),
        None => key == object.name(),
    }
}

/// Applies a delta of `cluster` to `list`: an upsert that `keep` accepts replaces its object or
/// joins the list (one it rejects — outside the namespace shown — leaves it), a delete leaves.
/// What changed, as watch events.
pub fn apply<T: Printable>(
    list: &mut Vec<InCluster<T>>,
    delta: StreamDelta<InCluster<T>>,
    keep: impl Fn(&InCluster<T>) -> bool,
) -> Vec<(WatchEventType, InCluster<T>)> {
    let cluster = delta.cluster_id;
    let mut changes = Vec::new();
    let position = |list: &[InCluster<T>], key: &str| {
        list.iter()
            .position(|i| i.cluster_id == cluster && has_key(&i.object, key))
    };
    for item in delta.upserts {
        let at = position(list, &key_of(&item.object));
        match (at, keep(&item)) {
            (Some(i), true) => {
                list[i] = item.clone();
                changes.push((WatchEventType::Modified, item));
            }
            (Some(i), false) => {
                changes.push((WatchEventType::Deleted, list.remove(i)));
            }
            (None, true) => {
                list.push(item.clone());
                changes.push((WatchEventType::Added, item));
            }
            (None, false) => {}
        }
    }
    for key in delta.deletes {
        if let Some(i) = position(list, &key) {
            changes.push((WatchEventType::Deleted, list.remove(i)));
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use atlhyper_model::resources::Namespace;

    fn ns(cluster: &str, name: &str, phase: &str) -> InCluster<Namespace> {
        InCluster {
            cluster_id: cluster.to_owned(),
            object: Namespace {
                name: name.to_owned(),
                uid: name.to_owned(),
                phase: phase.to_owned(),
                labels: Default::default(),
                created_ms: 0,
            },
        }
    }

    #[test]
    fn upserts_replace_or_join_deletes_leave_and_other_clusters_stay() {
        let mut list = vec![ns("c1", "a", "Active"), ns("c2", "a", "Active")];
        let delta = StreamDelta {
            cluster_id: "c1".to_owned(),
            source: Source::NamespaceListSnapshot,
            ts_ms: 1,
            upserts: vec![
                ns("c1", "a", "Terminating"),
                ns("c1", "b", "Active"),
                ns("c1", "x", "Active"),
            ],
            deletes: vec!["gone".to_owned()],
            relist: false,
        };
        let changes = apply(&mut list, delta, |i| i.object.name != "x");
        let kinds: Vec<(WatchEventType, &str)> = changes
            .iter()
            .map(|(t, i)| (*t, i.object.name.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (WatchEventType::Modified, "a"),
                (WatchEventType::Added, "b")
            ]
        );
        assert_eq!(list.len(), 3);
        assert_eq!(list[0].object.phase, "Terminating");
        assert_eq!(
            list[1].cluster_id, "c2",
            "another cluster's object is untouched"
        );
        let delta = StreamDelta {
            cluster_id: "c1".to_owned(),
            source: Source::NamespaceListSnapshot,
            ts_ms: 2,
            upserts: vec![],
            deletes: vec!["a".to_owned()],
            relist: false,
        };
        let changes = apply(&mut list, delta, |_| true);
        assert_eq!(changes[0].0, WatchEventType::Deleted);
        assert_eq!(list.len(), 2);
    }
}
