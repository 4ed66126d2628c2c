//! The console's network side: runs each [`Effect`] as its own task and follows master's live
//! stream, sending everything back to the UI loop as [`Msg`]s. Nothing here touches the UI.

use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{
    CommandInfo, CreateCommand, Item, List, MetricSeries, SnapshotChange, StreamBatch, StreamKind,
};
use atlhyper_model::resources::Event;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc::UnboundedSender;
use tokio_util::sync::CancellationToken;

use super::app::{Effect, Feed, Loaded, Msg, SPARK_POINTS, SPARK_STEP_MS, Scope};
use super::messages::ListDelta;
use crate::client::Client;
use crate::delta;
use crate::error::CliError;
use crate::sse::{SseEvent, Subscription};

/// Runs one effect in the background.
pub fn run(client: &Client, effect: Effect, msgs: &UnboundedSender<Msg>) {
    let client = client.clone();
    let msgs = msgs.clone();
    tokio::spawn(async move {
        let msg = match effect {
            Effect::Load {
                feed,
                scope,
                delay_ms,
            } => {
                if delay_ms > 0 {
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                match load(&client, feed, &scope).await {
                    Ok(loaded) => Msg::Loaded(scope, loaded),
                    Err(e) => Msg::LoadFailed(feed, e.to_string()),
                }
            }
            Effect::Range {
                cluster,
                node,
                minutes,
            } => {
                let path = format!(
                    "/api/v1/clusters/{cluster}/node-metrics/{node}/range?from=-{minutes}m"
                );
                match client.get::<MetricSeries>(&path).await {
                    Ok(series) => Msg::Series(series),
                    Err(e) => Msg::LoadFailed(Feed::Metrics, e.to_string()),
                }
            }
            Effect::Sparks { nodes } => {
                // One node after the other: a background fill, never a burst at master.
                let span = SPARK_STEP_MS * SPARK_POINTS as i64;
                for (cluster, node) in nodes {
                    let path = format!(
                        "/api/v1/clusters/{cluster}/node-metrics/{node}/range?from=-{span}ms&step={SPARK_STEP_MS}"
                    );
                    if let Ok(series) = client.get::<MetricSeries>(&path).await
                        && msgs.send(Msg::Series(series)).is_err()
                    {
                        return;
                    }
                }
                return;
            }
            Effect::Command { cluster, kind } => {
                let label = super::changes::kind_label(&kind);
                let path = format!("/api/v1/clusters/{cluster}/commands");
                let key = crate::exec::idempotency_key();
                match client
                    .post::<_, Item<CommandInfo>>(&path, &CreateCommand { kind }, &key)
                    .await
                {
                    Ok(created) => Msg::Queued(created.object),
                    Err(e) => Msg::Refused {
                        label,
                        error: e.to_string(),
                    },
                }
            }
        };
        let _ = msgs.send(msg);
    });
}

async fn list<T: DeserializeOwned + Send + 'static>(
    client: &Client,
    plural: &str,
    scope: &Scope,
    namespaced: bool,
) -> Result<Vec<T>, CliError> {
    let mut query = Vec::new();
    if let Some(c) = &scope.cluster {
        query.push(("cluster", c.clone()));
    }
    if namespaced && let Some(ns) = &scope.namespace {
        query.push(("namespace", ns.clone()));
    }
    let list: List<T> = client.list(plural, &query).await?;
    Ok(list.items)
}

async fn load(client: &Client, feed: Feed, scope: &Scope) -> Result<Loaded, CliError> {
    Ok(match feed {
        Feed::Clusters => Loaded::Clusters(client.clusters().await?.items),
        Feed::Pods => Loaded::Pods(list(client, "pods", scope, true).await?),
        Feed::Nodes => Loaded::Nodes(list(client, "nodes", scope, false).await?),
        Feed::Metrics => Loaded::Metrics(list(client, "node-metrics", scope, false).await?),
        Feed::Deployments => Loaded::Deployments(list(client, "deployments", scope, true).await?),
        Feed::Services => Loaded::Services(list(client, "services", scope, true).await?),
        Feed::Namespaces => Loaded::Namespaces(list(client, "namespaces", scope, false).await?),
        Feed::Ingresses => Loaded::Ingresses(list(client, "ingresses", scope, true).await?),
        Feed::ConfigMaps => Loaded::ConfigMaps(list(client, "configmaps", scope, true).await?),
        Feed::Events => Loaded::Events(list(client, "events", scope, true).await?),
        Feed::Commands => Loaded::Commands(list(client, "commands", scope, false).await?),
    })
}

/// What one stream event means to the UI (`None`: nothing).
pub fn translate(event: &SseEvent) -> Option<Msg> {
    Some(match event.event.as_str() {
        "snapshot" => {
            let change: SnapshotChange = serde_json::from_str(&event.data).ok()?;
            Msg::Changed {
                cluster: change.cluster_id,
                kind: StreamKind::of(change.source),
            }
        }
        "delta" => {
            let head = delta::head(&event.data).ok()?;
            let kind = StreamKind::of(head.source);
            if head.relist {
                return Some(Msg::Changed {
                    cluster: head.cluster_id,
                    kind,
                });
            }
            let data = &event.data;
            Msg::Delta(match kind {
                StreamKind::Pods => ListDelta::Pods(delta::parse(data).ok()?),
                StreamKind::Nodes => ListDelta::Nodes(delta::parse(data).ok()?),
                StreamKind::Deployments => ListDelta::Deployments(delta::parse(data).ok()?),
                StreamKind::Services => ListDelta::Services(delta::parse(data).ok()?),
                StreamKind::Namespaces => ListDelta::Namespaces(delta::parse(data).ok()?),
                StreamKind::Ingresses => ListDelta::Ingresses(delta::parse(data).ok()?),
                StreamKind::Configmaps => ListDelta::ConfigMaps(delta::parse(data).ok()?),
                StreamKind::Events | StreamKind::Metrics | StreamKind::Commands => return None,
            })
        }
        "events" => {
            let batch: StreamBatch<Event> = serde_json::from_str(&event.data).ok()?;
            Msg::Events(batch.cluster_id, batch.items)
        }
        "metrics" => {
            let batch: StreamBatch<NodeMetricsSnapshot> = serde_json::from_str(&event.data).ok()?;
            Msg::Metrics(batch.cluster_id, batch.items)
        }
        "command" => Msg::Command(serde_json::from_str(&event.data).ok()?),
        "reset" => Msg::Reset,
        _ => return None,
    })
}

/// Follows master's stream until `stop`: every change becomes a message; a lost connection is
/// reported and retried (with back-off) for as long as the console runs.
pub async fn follow(client: Client, msgs: UnboundedSender<Msg>, stop: CancellationToken) {
    let mut wait = Duration::from_millis(250);
    loop {
        let opened = tokio::select! {
            () = stop.cancelled() => return,
            // Lists change by deltas: applied to what is held, never listed again for them.
            opened = Subscription::open(&client, vec![("deltas", "true".to_owned())]) => opened,
        };
        let mut stream = match opened {
            Ok(stream) => {
                let states = msgs.clone();
                stream.on_state(move |up| {
                    let _ = states.send(if up {
                        Msg::StreamUp
                    } else {
                        Msg::StreamDown("master closed the stream".to_owned())
                    });
                })
            }
            Err(e) => {
                let _ = msgs.send(Msg::StreamDown(e.to_string()));
                tokio::select! {
                    () = stop.cancelled() => return,
                    () = tokio::time::sleep(wait) => {}
                }
                wait = (wait * 2).min(Duration::from_secs(5));
                continue;
            }
        };
        wait = Duration::from_millis(250);
        let _ = msgs.send(Msg::StreamUp);
        loop {
            let next = tokio::select! {
                () = stop.cancelled() => return,
                next = stream.next() => next,
            };
            match next {
                Ok(event) => {
                    if let Some(msg) = translate(&event) {
                        let _ = msgs.send(msg);
                    }
                }
                Err(e) => {
                    let _ = msgs.send(Msg::StreamDown(e.to_string()));
                    break;
                }
            }
        }
    }
}
