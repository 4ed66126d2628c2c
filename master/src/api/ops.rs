//! Operations endpoints: liveness, readiness (the database takes writes), Prometheus metrics.

use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::{ApiError, Shared, json};

pub async fn healthz() -> Response {
    json(StatusCode::OK, &serde_json::json!({"status": "ok"}))
}

/// Ready when a write commits within two seconds.
pub async fn readyz(State(state): State<Shared>) -> Response {
    match tokio::time::timeout(Duration::from_secs(2), state.store.probe()).await {
        Ok(Ok(())) => json(StatusCode::OK, &serde_json::json!({"status": "ready"})),
        Ok(Err(e)) => {
            let mut e = ApiError::from(e);
            e.status = StatusCode::SERVICE_UNAVAILABLE;
            e.into_response()
        }
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_slow",
            "a database write did not commit within 2 s",
        )
        .into_response(),
    }
}

pub async fn metrics(State(state): State<Shared>) -> Response {
    state
        .telemetry
        .stream_subscribers
        .set(state.hub.subscribers() as i64);
    let skews: Vec<(String, i64)> = state
        .reader
        .clusters()
        .into_iter()
        .filter_map(|c| Some((c.id, c.clock_skew_ms?)))
        .collect();
    let text = state.telemetry.render(state.memory.sizes(), &skews);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        text,
    )
        .into_response()
}
