//! Watch: chunked newline-delimited events, replayed from a resourceVersion and then live,
//! with bookmarks, timeouts, and the in-stream 410 that makes clients relist.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::ApiState;
use super::resources::Call;
use super::table::{IncludeObject, Printable, TableWriter};
use crate::status::ApiError;
use crate::store::{ChangeType, Filter, Stored};

/// How an event's object is written: the object itself, or a one-row Table (`kubectl get -w`).
#[derive(Clone, Copy)]
struct Format {
    table: bool,
    include: IncludeObject,
    /// The next Table carries the column definitions: as the API server does, the first event
    /// of a watch has them and the later ones do not (`kubectl get -w --output-watch-events`
    /// prints its columns from them).
    headers: bool,
}

fn line(type_: &str, object: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(object.len() + 32);
    out.extend_from_slice(br#"{"type":""#);
    out.extend_from_slice(type_.as_bytes());
    out.extend_from_slice(br#"","object":"#);
    out.extend_from_slice(object);
    out.extend_from_slice(b"}\n");
    Bytes::from(out)
}

fn event_line<K: Stored + Printable>(
    type_: ChangeType,
    json: &[u8],
    format: &mut Format,
    rv: u64,
    now_ms: i64,
) -> Bytes {
    if !format.table {
        return line(type_.as_str(), json);
    }
    let object: K = serde_json::from_slice(json).expect("stored JSON is the kind");
    let mut table = TableWriter::new::<K>(rv, None, format.headers);
    format.headers = false;
    table.row(&object, json, format.include, now_ms);
    line(type_.as_str(), &table.finish())
}

fn bookmark<K: Stored>(rv: u64, initial_events_end: bool) -> Bytes {
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if initial_events_end {
        metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    let object = json!({
        "kind": K::RESOURCE.kind(),
        "apiVersion": K::RESOURCE.api_version(),
        "metadata": metadata,
    });
    line("BOOKMARK", &serde_json::to_vec(&object).expect("JSON"))
}

fn expired_line(message: String) -> Bytes {
    let status: Value = ApiError::expired(message).to_status();
    line("ERROR", &serde_json::to_vec(&status).expect("JSON"))
}

/// Starts a watch: everything before the response is decided under the world lock, so the
/// replay and the live feed neither overlap nor leave a gap.
pub fn serve<K: Stored + Printable>(state: ApiState, filter: Filter, call: &Call) -> Response {
    let bookmarks = call.flag("allowWatchBookmarks");
    let send_initial = call.flag("sendInitialEvents");
    let mut format = Format {
        table: call.wants_table(),
        include: IncludeObject::parse(call.param("includeObject")),
        headers: true,
    };
    let timeout = call
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map_or(Duration::from_secs(1800), Duration::from_secs);
    let from_rv = match call.param("resourceVersion") {
        None | Some("0") => None,
        Some(_) if send_initial => None,
        Some(rv) => match rv.parse::<u64>() {
            Ok(rv) => Some(rv),
            Err(_) => {
                return ApiError::bad_request(format!("invalid resourceVersion: {rv}"))
                    .into_response();
            }
        },
    };

    let now = state.sim.now_ms();
    let mut first: Vec<Bytes> = Vec::new();
    let (receiver, mut delivered_rv, expired, mut stalls) = {
        let world = state.sim.world();
        let table = world.table::<K>();
        let world_rv = world.rv();
        let expired = match from_rv {
            None => {
                for entry in table.iter().filter(|e| filter.matches(&e.meta)) {
                    first.push(event_line::<K>(
                        ChangeType::Added,
                        &entry.json,
                        &mut format,
                        world_rv,
                        now,
                    ));
                }
                false
            }
            Some(rv) => match table.log.since(rv) {
                None => {
                    first.push(expired_line(format!(
                        "too old resource version: {rv} ({})",
                        table.log.compacted_rv() + 1
                    )));
                    true
                }
                Some(changes) => {
                    for change in &changes {
                        if let Some(type_) = change.seen_through(&filter) {
                            first.push(event_line::<K>(
                                type_,
                                &change.json,
                                &mut format,
                                change.rv,
                                now,
                            ));
                        }
                    }
                    false
                }
            },
        };
        let mut stalls = world.watch_stalls.subscribe();
        stalls.mark_unchanged();
        (table.log.subscribe(), world_rv, expired, stalls)
    };
    if send_initial && bookmarks && !expired {
        first.push(bookmark::<K>(delivered_rv, true));
    }

    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        for bytes in first {
            if tx.send(bytes).await.is_err() {
                return;
            }
        }
        if expired {
            return;
        }
        let mut receiver = receiver;
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let interval = state.sim.options.bookmark_interval;
        let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        loop {
            let out = tokio::select! {
                () = &mut deadline => break,
                () = tx.closed() => break,
                Ok(()) = stalls.changed() => {
                    // Silent, but open until the client gives up on it.
                    tx.closed().await;
                    break;
                }
                received = receiver.recv() => match received {
                    Ok(change) => {
                        delivered_rv = change.rv;
                        let Some(type_) = change.seen_through(&filter) else {
                            continue;
                        };
                        let now = state.sim.now_ms();
                        event_line::<K>(type_, &change.json, &mut format, change.rv, now)
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        let _ = tx.send(expired_line(
                            "the watch fell behind the event stream; relist".to_owned(),
                        )).await;
                        break;
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                _ = ticks.tick(), if bookmarks => {
                    // Only claim a version once every change of this kind up to it was sent.
                    let rv = {
                        let world = state.sim.world();
                        if world.table::<K>().log.last_rv() <= delivered_rv {
                            world.rv()
                        } else {
                            delivered_rv
                        }
                    };
                    bookmark::<K>(rv, false)
                }
            };
            if tx.send(out).await.is_err() {
                break;
            }
        }
    });

    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|bytes| (Ok::<_, Infallible>(bytes), rx))
    });
    (
        [(CONTENT_TYPE, "application/json")],
        Body::from_stream(stream),
    )
        .into_response()
}
