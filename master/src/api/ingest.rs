//! `POST /ingest`: an agent's push. The body, read under a size cap and a deadline by the
//! request guard, is decoded and validated whole, written to SQLite, and only then applied to
//! memory and the stream and answered `202`. A refused push changes nothing.

use atlhyper_model::api::{IngestCount, IngestReceipt, StreamBatch, StreamKind};
use atlhyper_model::codec::{self, ContentEncoding, DecodeError, Limits, SizeKind};
use atlhyper_model::{Envelope, Payload, StoreMode};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{Agent, ApiError, Shared, json};
use crate::memory::{ListPush, Outcome};
use crate::store::{IngestWrite, StoreError, StoredDelta, StoredSnapshot, after_commit};

/// Plain bodies at least this large are decoded on the blocking pool, off the async threads.
const BLOCKING_DECODE_BYTES: usize = 64 << 10;
/// Gzip bodies under this size are inflated where they arrive, up to [`INLINE_INFLATE_BYTES`].
const INLINE_GZIP_BYTES: usize = 16 << 10;
const INLINE_INFLATE_BYTES: usize = 256 << 10;

/// `body` arrives whole: the request guard (`limits`) read it under the size cap and the body
/// deadline.
pub async fn ingest(State(state): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let agent = match super::principal_agent(&state, &headers) {
        Ok(agent) => agent,
        Err(e) => return e.into_response(),
    };
    match accept(&state, &agent, &headers, body).await {
        Ok(receipt) => json(StatusCode::ACCEPTED, &receipt),
        Err(e) => e.into_response(),
    }
}

fn decode_error(state: &Shared, e: &DecodeError) -> ApiError {
    state
        .telemetry
        .decode_errors
        .with_label_values(&[e.code()])
        .inc();
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    ApiError::new(status, e.code(), e.to_string())
}

/// Decodes and prepares the database writes (CPU work: runs on the blocking pool when large).
fn prepare(
    body: &[u8],
    encoding: ContentEncoding,
    limits: &Limits,
    now: i64,
) -> Result<(Vec<Envelope>, Vec<IngestWrite>), DecodeError> {
    let envelopes = codec::decode_envelopes(body, encoding, limits, now)?;
    let single_gzip = envelopes.len() == 1 && encoding == ContentEncoding::Gzip;
    // A delta keeps its list fresh: the list is stamped (its length stays as stored).
    let stamps = envelopes.iter().map(|e| {
        let source = e.source();
        let (source, items) = match source.list() {
            Some(list) if source.is_delta() => (list, None),
            _ => (source, Some(e.payload.len() as u64)),
        };
        IngestWrite::Stamp {
            cluster_id: e.cluster_id.clone(),
            source,
            received_ms: now,
            ts_ms: e.ts_ms,
            items,
        }
    });
    let single_plain = envelopes.len() == 1 && encoding == ContentEncoding::Identity;
    let gzip = |envelope: &Envelope| {
        if single_gzip {
            // The agent's own gzip of this very envelope is stored as received.
            body.to_vec()
        } else if single_plain {
            // Its JSON as received, gzipped (not serialized again).
            codec::gzip(body, codec::DEFAULT_GZIP_LEVEL)
        } else {
            codec::encode_gzip(envelope, codec::DEFAULT_GZIP_LEVEL)
        }
    };
    let writes = envelopes
        .iter()
        .map(|envelope| match &envelope.payload {
            Payload::Events(events) => IngestWrite::Events {
                cluster_id: envelope.cluster_id.clone(),
                events: events.clone(),
            },
            Payload::MetricsSnapshot(samples) => IngestWrite::Metrics {
                cluster_id: envelope.cluster_id.clone(),
                samples: samples.clone(),
            },
            payload => match (payload.source().list(), &envelope.sequence) {
                (Some(list), Some(sequence)) if payload.source().is_delta() => {
                    IngestWrite::Delta(StoredDelta {
                        cluster_id: envelope.cluster_id.clone(),
                        list,
                        sequence: sequence.clone(),
                        ts_ms: envelope.ts_ms,
                        received_ms: now,
                        envelope_gz: gzip(envelope),
                    })
                }
                _ => IngestWrite::Snapshot(StoredSnapshot {
                    cluster_id: envelope.cluster_id.clone(),
                    source: payload.source(),
                    ts_ms: envelope.ts_ms,
                    received_ms: now,
                    items: payload.len() as u64,
                    sequence: envelope.sequence.clone(),
                    envelope_gz: gzip(envelope),
                }),
            },
        })
        .chain(stamps)
        .collect();
    Ok((envelopes, writes))
}

async fn accept(
    state: &Shared,
    agent: &Agent,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<IngestReceipt, ApiError> {
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or("");
        if !codec::is_json_media_type(kind) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Type `{kind}` is not application/json"),
            ));
        }
    }
    let encoding = ContentEncoding::from_header(
        headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?")),
    )
    .map_err(|e| decode_error(state, &e))?;
    let now = state.received.stamp();
    let limits = state.limits.clone();
    // Small bodies are decoded where they arrive: plain ones whole, gzip ones inflated up to
    // INLINE_INFLATE_BYTES (an agent's delta is a few KB). A gzip body that inflates past that is
    // decoded again on the blocking pool, a few at a time, under the full cap.
    let inline_limits = match encoding {
        ContentEncoding::Identity if body.len() < BLOCKING_DECODE_BYTES => Some(limits.clone()),
        ContentEncoding::Gzip if body.len() < INLINE_GZIP_BYTES => Some(Limits {
            max_decompressed_bytes: limits.max_decompressed_bytes.min(INLINE_INFLATE_BYTES),
            ..limits.clone()
        }),
        _ => None,
    };
    let inline = inline_limits.map(|l| {
        let capped = l.max_decompressed_bytes < limits.max_decompressed_bytes;
        (prepare(&body, encoding, &l, now), capped)
    });
    let prepared = match inline {
        Some((
            Err(DecodeError::TooLarge {
                kind: SizeKind::Decompressed,
                ..
            }),
            true,
        ))
        | None => {
            // Each may inflate to --max-decompressed-bytes: a few at a time.
            let _decoding = state.decodes.acquire().await.map_err(|_| {
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "shutting_down",
                    "master is stopping",
                )
            })?;
            let body = body.clone();
            tokio::task::spawn_blocking(move || prepare(&body, encoding, &limits, now))
                .await
                .map_err(|e| {
                    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
                })?
        }
        Some((prepared, _)) => prepared,
    };
    let (envelopes, writes) = prepared.map_err(|e| decode_error(state, &e))?;

    if let Some(other) = envelopes.iter().find(|e| e.cluster_id != agent.cluster_id) {
        return Err(ApiError::forbidden(format!(
            "this token pushes for cluster `{}`, not `{}`",
            agent.cluster_id, other.cluster_id
        )));
    }

    // Durable, then applied to memory and the stream in commit order with every other change
    // of this cluster (a delete committed first refuses the push; one committed after it
    // applies after it).
    let cluster_id = agent.cluster_id.clone();
    let apply = {
        let state = state.clone();
        move |()| {
            envelopes
                .into_iter()
                .map(|envelope| apply(&state, envelope, now))
                .collect::<Vec<_>>()
        }
    };
    let (after, accepted) = after_commit(apply);
    state
        .store
        .ingest(cluster_id, writes, after)
        .await
        .map_err(|e| match e {
            StoreError::NoCluster(id) => ApiError::new(
                StatusCode::UNAUTHORIZED,
                "cluster_deleted",
                format!("cluster `{id}` was deleted; its token is no longer valid"),
            ),
            e => e.into(),
        })?;
    let accepted = accepted.value().await?;
    if let Some(newest) = accepted.iter().map(|(_, ts)| *ts).max() {
        note_clock_skew(state, &agent.cluster_id, newest - now);
    }
    let source_label = match accepted.first().map(|(count, _)| count.source) {
        Some(first) if accepted.iter().all(|(c, _)| c.source == first) => first.as_str(),
        _ => "batch",
    };
    state
        .telemetry
        .ingest_bytes
        .with_label_values(&[agent.cluster_id.as_str(), source_label])
        .inc_by(body.len() as u64);
    let accepted = accepted.into_iter().map(|(count, _)| count).collect();
    Ok(IngestReceipt { accepted })
}

/// Warns once when a cluster's agent clock goes past the skew warning, notes once when it is
/// back. Pushes are taken either way: master orders and ages them by its own receive time.
fn note_clock_skew(state: &Shared, cluster_id: &str, skew_ms: i64) {
    let beyond = skew_ms.unsigned_abs() > state.clock_skew_warning.as_millis() as u64;
    let mut skewed = state.skewed.lock();
    if beyond && skewed.insert(cluster_id.to_owned()) {
        tracing::warn!(
            cluster = %cluster_id,
            skew_s = skew_ms / 1000,
            "the agent's clock is off from master's (NTP?); its pushes are ordered by master's receive time"
        );
    } else if !beyond && skewed.remove(cluster_id) {
        tracing::info!(cluster = %cluster_id, skew_ms, "the agent's clock agrees with master's again");
    }
}

/// Puts one stored envelope into memory and onto the stream; what it counted, and the agent's
/// time of it.
fn apply(state: &Shared, envelope: Envelope, now: i64) -> (IngestCount, i64) {
    let source = envelope.source();
    let ts_ms = envelope.ts_ms;
    let cluster_id = envelope.cluster_id;
    let items = envelope.payload.len() as u64;
    let labels = [cluster_id.as_str(), source.as_str()];
    state
        .telemetry
        .ingest_envelopes
        .with_label_values(&labels)
        .inc();
    state
        .telemetry
        .ingest_items
        .with_label_values(&labels)
        .inc_by(items);
    let kind = StreamKind::of(source);
    let (mut resync, mut expected_seq) = (false, None);
    match (source.store_mode(), envelope.payload) {
        (StoreMode::Append, Payload::Events(events)) => {
            let fresh = state.memory.merge_events(&cluster_id, events, now);
            if !fresh.is_empty() {
                let data = StreamBatch {
                    cluster_id: cluster_id.clone(),
                    items: fresh,
                };
                state.hub.publish(
                    &cluster_id,
                    kind,
                    "events",
                    serde_json::to_string(&data).expect("serializes"),
                );
            }
        }
        (StoreMode::Append, Payload::MetricsSnapshot(samples)) => {
            state.memory.append_metrics(&cluster_id, &samples);
            let data = StreamBatch {
                cluster_id: cluster_id.clone(),
                items: samples,
            };
            state.hub.publish(
                &cluster_id,
                kind,
                "metrics",
                serde_json::to_string(&data).expect("serializes"),
            );
        }
        (_, payload) => {
            let outcome = state.memory.apply_list(ListPush {
                cluster_id: cluster_id.clone(),
                ts_ms,
                received_ms: now,
                sequence: envelope.sequence,
                payload,
            });
            let verdict = match outcome {
                Outcome::Applied(Some(change)) => {
                    let (keys, delta) = change.delta_json(state.hub.max_item_bytes());
                    let keys = serde_json::to_string(&keys).expect("serializes");
                    state.hub.publish(&cluster_id, kind, "snapshot", keys);
                    state.hub.publish(&cluster_id, kind, "delta", delta);
                    "applied"
                }
                Outcome::Applied(None) => "applied",
                Outcome::Ignored => "ignored",
                Outcome::Resync {
                    expected_seq: expected,
                    new,
                } => {
                    resync = true;
                    expected_seq = Some(expected);
                    if new {
                        state
                            .telemetry
                            .resyncs
                            .with_label_values(&[cluster_id.as_str()])
                            .inc();
                    }
                    "resync"
                }
            };
            if source.is_delta() {
                state
                    .telemetry
                    .deltas
                    .with_label_values(&[cluster_id.as_str(), verdict])
                    .inc();
            }
        }
    }
    // A delta keeps its list fresh: the list is stamped, with the length it has now.
    let (stamped, stamped_items) = match source.list() {
        Some(list) if source.is_delta() => (
            list,
            state
                .memory
                .snapshot(&cluster_id, list)
                .map_or(0, |s| s.list.len() as u64),
        ),
        _ => (source, items),
    };
    state
        .memory
        .stamp(&cluster_id, stamped, now, ts_ms, stamped_items);
    (
        IngestCount {
            cluster_id,
            source,
            items,
            resync,
            expected_seq,
        },
        ts_ms,
    )
}
