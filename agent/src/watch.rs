//! One kube-rs watcher per kind: pages through the first list, follows the watch (bookmarks,
//! relist on 410, back-off on errors), and hands the cache summaries, never whole objects.

use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt as _;
use kube::runtime::{WatchStreamExt as _, watcher};
use kube::{Api, Client, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;

use crate::cache::{Cache, Cached, Change};

fn key<K: Resource>(object: &K) -> String {
    match object.meta().namespace.as_deref() {
        Some(ns) if !ns.is_empty() => format!("{ns}/{}", object.name_any()),
        _ => object.name_any(),
    }
}

/// Logs watch errors, at most one a minute per kind.
struct ErrorLog {
    kind: &'static str,
    last: Option<Instant>,
    suppressed: u64,
}

impl ErrorLog {
    fn report(&mut self, error: &watcher::Error) {
        if self
            .last
            .is_some_and(|t| t.elapsed() < Duration::from_secs(60))
        {
            self.suppressed += 1;
            return;
        }
        tracing::warn!(kind = self.kind, error = %error, suppressed = self.suppressed, "watch failed; retrying");
        self.last = Some(Instant::now());
        self.suppressed = 0;
    }
}

fn config(page_size: u32) -> watcher::Config {
    watcher::Config::default().page_size(page_size)
}

/// Watches every object of `K` in the cluster, keeping its summary `S` in the cache.
pub async fn snapshot_kind<K, S>(
    client: Client,
    cache: Arc<Cache>,
    page_size: u32,
    summarize: fn(&K) -> S,
    shutdown: CancellationToken,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Default,
    S: Cached,
{
    let api: Api<K> = Api::all(client);
    let mut errors = ErrorLog {
        kind: S::SOURCE.as_str(),
        last: None,
        suppressed: 0,
    };
    let stream = watcher(api, config(page_size)).default_backoff();
    let mut stream = std::pin::pin!(stream);
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let change = match event {
            None => return,
            Some(Err(e)) => {
                errors.report(&e);
                continue;
            }
            Some(Ok(watcher::Event::Apply(o))) => Change::Apply(key(&o), summarize(&o)),
            Some(Ok(watcher::Event::Delete(o))) => Change::Delete(key(&o)),
            Some(Ok(watcher::Event::Init)) => Change::RelistStart,
            Some(Ok(watcher::Event::InitApply(o))) => Change::RelistItem(key(&o), summarize(&o)),
            Some(Ok(watcher::Event::InitDone)) => Change::RelistDone,
        };
        cache.apply(change);
    }
}

/// Watches events, queueing each new or updated one (a relist re-reads them all; only the ones
/// not yet queued in this sighting are queued again).
pub async fn events(
    client: Client,
    cache: Arc<Cache>,
    page_size: u32,
    shutdown: CancellationToken,
) {
    use k8s_openapi::api::core::v1::Event;
    let api: Api<Event> = Api::all(client);
    let mut errors = ErrorLog {
        kind: "events",
        last: None,
        suppressed: 0,
    };
    // uid → (count, last seen) of what was queued: what a relist finds unchanged is not news.
    let mut seen: HashMap<String, (u32, i64)> = HashMap::new();
    let stream = watcher(api, config(page_size)).default_backoff();
    let mut stream = std::pin::pin!(stream);
    loop {
        let event = tokio::select! {
            () = shutdown.cancelled() => return,
            event = stream.next() => event,
        };
        let object = match event {
            None => return,
            Some(Err(e)) => {
                errors.report(&e);
                continue;
            }
            Some(Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o))) => o,
            Some(Ok(watcher::Event::Delete(o))) => {
                seen.remove(&o.uid().unwrap_or_default());
                continue;
            }
            Some(Ok(watcher::Event::Init)) => continue,
            Some(Ok(watcher::Event::InitDone)) => {
                cache.events_synced();
                continue;
            }
        };
        let summary = atlhyper_kube_summary::summary::event(&object);
        let mark = (summary.count, summary.last_seen_ms);
        if seen.get(&summary.uid) == Some(&mark) {
            continue;
        }
        seen.insert(summary.uid.clone(), mark);
        cache.add_events([summary]);
    }
}
