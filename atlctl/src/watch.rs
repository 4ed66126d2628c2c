//! `get -w` and `events -w`: after the list, the changes master streams, printed as table rows
//! (no header) or NDJSON [`WatchEvent`] lines.

use std::collections::{BTreeMap, HashMap};

use atlhyper_model::api::{
    InCluster, Item, List, StreamBatch, StreamKind, WatchEvent, WatchEventType,
};
use atlhyper_model::resources::Event;

use crate::Session;
use crate::cli::Output;
use crate::delta;
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

fn stream_query(kind: StreamKind, query: &[(&'static str, String)]) -> Vec<(&'static str, String)> {
    let mut q = vec![("kind", kind.as_str().to_owned())];
    q.extend(query.iter().filter(|(k, _)| *k == "cluster").cloned());
    q
}

/// Follows a kind: each change master streams of it, whole objects (a `delta` event), is
/// applied to what was printed and printed as what it did. A filter master applies that the
/// stream's objects cannot be checked against here (labels, fields, sort) — and a change too
/// large for the stream, or a gap — lists again, with the same filters, and compares.
pub async fn follow<T: Printable>(
    query: &[(&'static str, String)],
    print: Print,
    session: &Session,
    names: &[String],
) -> Result<()> {
    let plural = T::RESOURCE.plural();
    let kind = StreamKind::parse(plural)
        .ok_or_else(|| CliError::Usage(format!("{plural} cannot be followed (-w)")))?;
    let mut stream_query = stream_query(kind, query);
    stream_query.push(("deltas", "true".to_owned()));
    let mut stream = Subscription::open(&session.client, stream_query).await?;
    let mut seen = current::<T>(query, session, names).await?;
    let namespace = query
        .iter()
        .find(|(k, _)| *k == "namespace")
        .map(|(_, v)| v.clone());
    // Only the cluster, the namespace and names can be checked here.
    let applicable = query
        .iter()
        .all(|(k, _)| matches!(*k, "cluster" | "namespace" | "sort"));
    loop {
        let event = stream.next().await?;
        match event.event.as_str() {
            "delta" => {
                let head = delta::head(&event.data)?;
                if applicable && !head.relist {
                    let change = delta::parse::<T>(&event.data)?;
                    let keep = |i: &InCluster<T>| {
                        namespace
                            .as_ref()
                            .is_none_or(|ns| i.object.namespace().is_none_or(|n| n == ns))
                            && (names.is_empty() || names.iter().any(|n| n == i.object.name()))
                    };
                    let mut held: Vec<InCluster<T>> = seen.values().cloned().collect();
                    let changes = delta::apply(&mut held, change, keep);
                    // An upsert that did not change what is printed is not a change.
                    let changes: Vec<_> = changes
                        .into_iter()
                        .filter(|(t, item)| {
                            *t != WatchEventType::Modified
                                || seen.get(&key(item)).is_none_or(|old| !same(old, item))
                        })
                        .collect();
                    seen = held.into_iter().map(|i| (key(&i), i)).collect();
                    emit(&changes, print)?;
                    continue;
                }
                // Nothing within a namespace-limited view changed: no need to list again.
                if !head.relist
                    && let Some(ns) = &namespace
                {
                    let change = delta::parse::<T>(&event.data)?;
                    let prefix = format!("{ns}/");
                    if !change
                        .upserts
                        .iter()
                        .any(|i| i.object.namespace() == Some(ns.as_str()))
                        && !change.deletes.iter().any(|k| k.starts_with(&prefix))
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

/// Opens the stream `events -w` follows (before it lists, so nothing falls in between).
///
/// # Errors
/// What opening the stream fails with.
pub async fn open_events(
    query: &[(&'static str, String)],
    session: &Session,
) -> Result<Subscription> {
    Subscription::open(&session.client, stream_query(StreamKind::Events, query)).await
}

/// What `events -w` has printed: each event's newest (last seen, count), by cluster and uid.
#[derive(Default)]
pub struct Printed(HashMap<(String, String), (i64, u32)>);

impl Printed {
    /// What a list of events printed (nothing for a list of anything else).
    pub fn of<T: Printable>(items: &[InCluster<T>]) -> Self {
        let mut printed = Printed::default();
        for item in items {
            if let Some(event) = item.object.as_event() {
                printed.fresh(&item.cluster_id, event);
            }
        }
        printed
    }

    /// Whether `item` is newer than what was printed of it (and notes it if so).
    fn fresh(&mut self, cluster_id: &str, event: &Event) -> bool {
        let key = (cluster_id.to_owned(), event.uid.clone());
        let seen = (event.last_seen_ms, event.count);
        match self.0.get(&key) {
            Some(held) if *held >= seen => false,
            _ => {
                self.0.insert(key, seen);
                if self.0.len() > PRINTED_KEPT {
                    // A long follow forgets the older half; such an event, listed again after
                    // a `reset`, may print twice.
                    let mut times: Vec<i64> = self.0.values().map(|(t, _)| *t).collect();
                    let cut = *times.select_nth_unstable(PRINTED_KEPT / 2).1;
                    self.0.retain(|_, (t, _)| *t >= cut);
                }
                true
            }
        }
    }
}

/// Events `events -w` remembers having printed.
const PRINTED_KEPT: usize = 100_000;

fn change_of(event: InCluster<Event>) -> (WatchEventType, InCluster<Event>) {
    let type_ = if event.object.count > 1 {
        WatchEventType::Modified
    } else {
        WatchEventType::Added
    };
    (type_, event)
}

/// `events -w`: new and updated events as master receives them. When master says the stream
/// skipped some (`reset`: the client fell behind, or master restarted), the events are listed
/// again (`listed`: the list's query) and those newer than what was printed are printed.
pub async fn follow_events(
    mut stream: Subscription,
    listed: &[(&'static str, String)],
    mut printed: Printed,
    print: Print,
    session: &Session,
    keep: impl Fn(&Event) -> bool,
) -> Result<()> {
    let namespace = listed
        .iter()
        .find(|(k, _)| *k == "namespace")
        .map(|(_, v)| v.clone());
    loop {
        let event = stream.next().await?;
        let arrived: Vec<InCluster<Event>> = match event.event.as_str() {
            "events" => {
                let batch: StreamBatch<Event> = serde_json::from_str(&event.data).map_err(|e| {
                    CliError::Failed(format!("master streamed unreadable events: {e}"))
                })?;
                let cluster_id = batch.cluster_id;
                batch
                    .items
                    .into_iter()
                    .map(|object| InCluster {
                        cluster_id: cluster_id.clone(),
                        object,
                    })
                    .collect()
            }
            "reset" => {
                let list: List<InCluster<Event>> = session.client.list("events", listed).await?;
                list.items
            }
            _ => continue,
        };
        let changes: Vec<(WatchEventType, InCluster<Event>)> = arrived
            .into_iter()
            .filter(|e| {
                namespace
                    .as_deref()
                    .is_none_or(|ns| e.object.namespace == ns)
                    && keep(&e.object)
                    && printed.fresh(&e.cluster_id, &e.object)
            })
            .map(change_of)
            .collect();
        emit(&changes, print)?;
    }
}
