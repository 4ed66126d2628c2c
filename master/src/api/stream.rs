//! `GET /api/v1/stream`: Server-Sent Events of what changes — `snapshot` (keys added, changed,
//! removed) or, with `deltas=true`, `delta` (the objects themselves, for a client that holds
//! the lists and applies each change without listing again), `events`, `metrics`, `command` —
//! filtered by `cluster` and `kind`, resumable with
//! `Last-Event-ID` (header, or `last_event_id` for clients that cannot set headers). A `reset`
//! event means changes were missed: list again.
//!
//! Every event a client must resume after carries an id: a stream opened without a resume
//! point starts with an `open` event whose id is the current position, so a connection that
//! drops before any change still resumes (and hears `reset` if it missed some); a `reset`
//! carries the position it skipped to, so the next reconnect does not reset again.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::api::{StreamKind, StreamReset};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt as _;
use serde::Deserialize;

use super::params::Query;
use super::{ApiError, Shared, User};
use crate::stream::{Next, StreamItem};

fn split(value: Option<&String>) -> Vec<String> {
    value
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn reset(reason: String, position: u64) -> Event {
    Event::default()
        .id(position.to_string())
        .event("reset")
        .data(serde_json::to_string(&StreamReset { reason }).expect("serializes"))
}

/// The first event of a stream opened without a resume point.
fn open(position: u64) -> Event {
    Event::default()
        .id(position.to_string())
        .event("open")
        .data("{}")
}

fn event(item: &StreamItem) -> Event {
    Event::default()
        .id(item.id.to_string())
        .event(item.event)
        .data(&item.data)
}

/// `?cluster=a,b&kind=pods,events&deltas=true&last_event_id=N` of the stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    cluster: Option<String>,
    kind: Option<String>,
    deltas: Option<String>,
    last_event_id: Option<String>,
}

pub async fn stream(
    State(state): State<Shared>,
    _user: User,
    headers: HeaderMap,
    Query(params): Query<StreamQuery>,
) -> Result<Response, ApiError> {
    let clusters = split(params.cluster.as_ref());
    let mut kinds = Vec::new();
    for name in split(params.kind.as_ref()) {
        let Some(kind) = StreamKind::parse(&name) else {
            let known: Vec<&str> = StreamKind::ALL.iter().map(|k| k.as_str()).collect();
            return Err(ApiError::bad_request(format!(
                "unknown kind `{name}` (known: {})",
                known.join(", ")
            )));
        };
        kinds.push(kind);
    }
    for id in &clusters {
        super::registered(&state, id)?;
    }
    // A list's change is buffered both ways; each subscriber gets the one it asked for.
    let skipped = match params.deltas.as_deref() {
        None | Some("false") => "delta",
        Some("true") => "snapshot",
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`deltas` is `true` or `false`, not `{other}`"
            )));
        }
    };
    let last = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .or_else(|| params.last_event_id.clone())
        .filter(|v| !v.is_empty());
    let last: Option<u64> = match last {
        None => None,
        Some(v) => Some(v.trim().parse().map_err(|_| {
            ApiError::bad_request(format!("Last-Event-ID `{v}` is not an id this stream gave"))
        })?),
    };

    let wanted = Arc::new(move |item: &StreamItem| {
        item.event != skipped
            && (clusters.is_empty() || clusters.contains(&item.cluster_id))
            && (kinds.is_empty() || kinds.contains(&item.kind))
    });
    let subscription = state.hub.subscribe(last);
    let position = subscription.position();
    let gap = match last {
        None => Some(open(position)),
        Some(_) if subscription.gap => Some(reset(
            "the resume point is no longer buffered".to_owned(),
            position,
        )),
        Some(_) => None,
    };
    let replay_filter = wanted.clone();
    let head = futures::stream::iter(
        gap.into_iter().chain(
            subscription
                .replay
                .into_iter()
                .filter(move |i| replay_filter(i))
                .map(|i| event(&i)),
        ),
    );
    let pending = std::collections::VecDeque::<Arc<StreamItem>>::new();
    let live = futures::stream::unfold(
        (subscription.live, pending),
        move |(mut live, mut pending)| {
            let wanted = wanted.clone();
            async move {
                loop {
                    while let Some(item) = pending.pop_front() {
                        if wanted(&item) {
                            return Some((event(&item), (live, pending)));
                        }
                    }
                    match live.next().await {
                        Next::Items(items) => pending.extend(items),
                        Next::Lagged(n) => {
                            let reset = reset(
                                format!("the client fell behind by {n} events"),
                                live.position(),
                            );
                            return Some((reset, (live, pending)));
                        }
                        Next::Closed => return None,
                    }
                }
            }
        },
    );
    let shutdown = state.shutdown.clone().cancelled_owned();
    let events = head
        .chain(live)
        .map(Ok::<_, Infallible>)
        .take_until(shutdown);
    Ok(Sse::new(events)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}
