//! `get -w` and `events -w`: after the list, the changes master streams, printed as table rows
//! (no header) or NDJSON [`WatchEvent`] lines.

use std::collections::BTreeMap;

use atlhyper_model::api::{
    InCluster, Item, List, SnapshotChange, StreamBatch, WatchEvent, WatchEventType,
};
use atlhyper_model::resources::Event;

use crate::Session;
use crate::cli::Output;
use crate::error::{CliError, Result};
use crate::get::{Print, write_out};
use crate::kinds::Printable;
use crate::sse::Subscription;

fn key<T: Printable>(item: &InCluster<T>) -> String {
    format!(
        "{}/{}/{}",
        item.cluster_id,
        item.object.namespace().unwrap_or_default(),
        item.object.name()
    )
}

fn stream_query(kind: &str, query: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut q = vec![("kind", kind.to_owned())];
    q.extend(query.iter().filter(|(k, _)| *k == "cluster").cloned());
    q
}

/// Follows a kind: each snapshot of it that master receives is listed again (with the same
/// filters, so master keeps doing the filtering) and compared with what was printed last.
pub async fn follow<T: Printable>(
    query: &[(&'static str, String)],
    print: Print,
    session: &Session,
    names: &[String],
) -> Result<()> {
    let plural = T::RESOURCE.plural();
    let mut stream = Subscription::open(&session.client, stream_query(plural, query)).await?;
    let mut seen = current::<T>(query, session, names).await?;
    let namespace = query
        .iter()
        .find(|(k, _)| *k == "namespace")
        .map(|(_, v)| v.clone());
    loop {
        let event = stream.next().await?;
        match event.event.as_str() {
            "snapshot" => {
                let change: SnapshotChange = serde_json::from_str(&event.data).map_err(|e| {
                    CliError::Failed(format!("master streamed an unreadable change: {e}"))
                })?;
                // Nothing within a namespace-limited view changed: no need to list again.
                if let Some(ns) = &namespace {
                    let prefix = format!("{ns}/");
                    if !change
                        .added
                        .iter()
                        .chain(&change.changed)
                        .chain(&change.removed)
                        .any(|k| k.starts_with(&prefix))
                    {
                        continue;
                    }
                }
            }
            "reset" => {}
            _ => continue,
        }
        let now = current::<T>(query, session, names).await?;
        let mut changes: Vec<(WatchEventType, InCluster<T>)> = Vec::new();
        for (k, item) in &now {
            match seen.get(k) {
                None => changes.push((WatchEventType::Added, item.clone())),
                Some(old) if !same(old, item) => {
                    changes.push((WatchEventType::Modified, item.clone()))
                }
                Some(_) => {}
            }
        }
        for (k, item) in &seen {
            if !now.contains_key(k) {
                changes.push((WatchEventType::Deleted, item.clone()));
            }
        }
        emit(&changes, print)?;
        seen = now;
    }
}

fn same<T: Printable>(a: &InCluster<T>, b: &InCluster<T>) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

async fn current<T: Printable>(
    query: &[(&'static str, String)],
    session: &Session,
    names: &[String],
) -> Result<BTreeMap<String, InCluster<T>>> {
    let list: List<InCluster<T>> = session.client.list(T::RESOURCE.plural(), query).await?;
    Ok(list
        .items
        .into_iter()
        .filter(|i| names.is_empty() || names.iter().any(|n| n == i.object.name()))
        .map(|i| (key(&i), i))
        .collect())
}

/// Prints one change.
pub fn emit_one<T: Printable>(
    type_: WatchEventType,
    item: InCluster<T>,
    print: Print,
) -> Result<()> {
    emit(&[(type_, item)], print)
}

fn emit<T: Printable>(changes: &[(WatchEventType, InCluster<T>)], print: Print) -> Result<()> {
    if changes.is_empty() {
        return Ok(());
    }
    if print.output == Some(Output::Json) {
        let mut out = String::new();
        for (type_, object) in changes {
            let line = WatchEvent {
                type_: *type_,
                object: Item::new(object.clone()),
            };
            out.push_str(&serde_json::to_string(&line).expect("serializes"));
            out.push('\n');
        }
        return write_out(&out);
    }
    let items: Vec<InCluster<T>> = changes.iter().map(|(_, i)| i.clone()).collect();
    write_out(&print.table(&items, false).render(false))
}

/// `events -w`: new and updated events as master receives them.
pub async fn follow_events(
    query: &[(&'static str, String)],
    print: Print,
    session: &Session,
    keep: impl Fn(&Event) -> bool,
) -> Result<()> {
    let mut stream = Subscription::open(&session.client, stream_query("events", query)).await?;
    let namespace = query
        .iter()
        .find(|(k, _)| *k == "namespace")
        .map(|(_, v)| v.clone());
    loop {
        let event = stream.next().await?;
        if event.event != "events" {
            continue;
        }
        let batch: StreamBatch<Event> = serde_json::from_str(&event.data)
            .map_err(|e| CliError::Failed(format!("master streamed unreadable events: {e}")))?;
        let changes: Vec<(WatchEventType, InCluster<Event>)> = batch
            .items
            .into_iter()
            .filter(|e| namespace.as_deref().is_none_or(|ns| e.namespace == ns) && keep(e))
            .map(|e| {
                let type_ = if e.count > 1 {
                    WatchEventType::Modified
                } else {
                    WatchEventType::Added
                };
                (
                    type_,
                    InCluster {
                        cluster_id: batch.cluster_id.clone(),
                        object: e,
                    },
                )
            })
            .collect();
        emit(&changes, print)?;
    }
}
