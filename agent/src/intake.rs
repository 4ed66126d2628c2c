//! The agent's HTTP side, reachable only inside the cluster: nodemetrics pushes
//! (`POST /ingest/node-metrics`), and `/healthz`, `/readyz`, `/metrics`.

use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::ErrorBody;
use atlhyper_model::codec::{self, ContentEncoding, DecodeError, Limits};
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use http_body_util::BodyExt as _;

use crate::cache::Cache;
use crate::telemetry::Telemetry;

pub struct Intake {
    pub cache: Arc<Cache>,
    pub telemetry: Arc<Telemetry>,
    pub token: Option<String>,
    pub limits: Limits,
    /// A push newer than this counts as master being reachable (for `/readyz`).
    pub fresh_push: Duration,
}

fn error(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let body = serde_json::to_vec(&ErrorBody::new(code, message)).expect("serializes");
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json(status: StatusCode, value: serde_json::Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

pub fn router(intake: Arc<Intake>) -> axum::Router {
    axum::Router::new()
        .route("/ingest/node-metrics", post(node_metrics))
        .route(
            "/healthz",
            get(|| async { json(StatusCode::OK, serde_json::json!({"status": "ok"})) }),
        )
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
        .with_state(intake)
}

async fn node_metrics(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let outcome = |o: &str| intake.telemetry.node_samples.with_label_values(&[o]).inc();
    if let Some(expected) = &intake.token {
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(atlhyper_model::auth::bearer);
        // Digests compared, not the tokens: how long the comparison takes says nothing of
        // how much of a guess was right.
        let digest = |t: &str| ring::digest::digest(&ring::digest::SHA256, t.as_bytes());
        let matches = given.is_some_and(|g| digest(g).as_ref() == digest(expected).as_ref());
        if !matches {
            outcome("unauthorized");
            return error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid `Authorization: Bearer` token is required",
            );
        }
    }
    if let Some(kind) = headers.get(header::CONTENT_TYPE) {
        let kind = kind.to_str().unwrap_or("");
        if !codec::is_json_media_type(kind) {
            outcome("unsupported_media_type");
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("Content-Type `{kind}` is not application/json"),
            );
        }
    }
    let encoding = match ContentEncoding::from_header(
        headers
            .get(header::CONTENT_ENCODING)
            .map(|v| v.to_str().unwrap_or("?")),
    ) {
        Ok(e) => e,
        Err(e) => return decode_error(&intake, &e),
    };
    let cap = intake.limits.max_compressed_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = DecodeError::TooLarge {
        kind: codec::SizeKind::Compressed,
        limit: cap,
    };
    if declared.is_some_and(|n| n > cap) {
        return decode_error(&intake, &too_large);
    }
    let bytes = match tokio::time::timeout(
        Duration::from_secs(10),
        http_body_util::Limited::new(body, cap).collect(),
    )
    .await
    {
        Err(_) => {
            return error(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the body did not arrive within 10 s",
            );
        }
        Ok(Err(_)) => return decode_error(&intake, &too_large),
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    let sample: NodeMetricsSnapshot = match codec::decode_json(&bytes, encoding, &intake.limits) {
        Ok(sample) => sample,
        Err(e) => return decode_error(&intake, &e),
    };
    if let Err(e) = atlhyper_model::validate::node_metrics(&sample, &intake.limits, crate::now_ms())
    {
        return decode_error(&intake, &DecodeError::from(e));
    }
    // A node the API does not list (yet) is kept, and flagged.
    let known = intake.cache.knows_node(&sample.node);
    let node = sample.node.clone();
    let new = intake.cache.add_sample(sample);
    if !known && new {
        tracing::warn!(node = %node, "node metrics from a node the Kubernetes API does not list");
    }
    outcome(if known { "accepted" } else { "unknown_node" });
    json(
        StatusCode::ACCEPTED,
        serde_json::json!({"node": node, "known": known}),
    )
}

fn decode_error(intake: &Intake, e: &DecodeError) -> Response {
    intake
        .telemetry
        .node_samples
        .with_label_values(&[e.code()])
        .inc();
    let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    error(status, e.code(), e.to_string())
}

/// Ready once every watch has listed and a push reached master recently.
async fn readyz(State(intake): State<Arc<Intake>>) -> Response {
    let (_, synced) = intake.cache.counts();
    let pushed = intake
        .telemetry
        .last_push_ok
        .lock()
        .is_some_and(|t| t.elapsed() <= intake.fresh_push);
    match (synced, pushed) {
        (true, true) => json(StatusCode::OK, serde_json::json!({"status": "ready"})),
        (false, _) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "not_synced",
            "the watches have not listed every kind yet",
        ),
        (true, false) => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "master_unreachable",
            "no push has reached master recently",
        ),
    }
}

async fn metrics(State(intake): State<Arc<Intake>>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        intake.telemetry.render(&intake.cache),
    )
        .into_response()
}
