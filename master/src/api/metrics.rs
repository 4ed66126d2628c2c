//! Node metrics: each node's latest sample, and a node's history over a range.

use std::collections::HashMap;

use atlhyper_model::NodeMetricsSnapshot;
use atlhyper_model::api::{InCluster, Item, List};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

use super::params::{duration_ms, query_map, time_ms};
use super::{ApiError, Shared, User, json};
use crate::datasource::RangeQuery;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/node-metrics", get(latest))
        .route("/clusters/{cluster}/node-metrics/{node}", get(one))
        .route("/clusters/{cluster}/node-metrics/{node}/range", get(range))
}

/// `GET /api/v1/node-metrics?cluster=&node=`: the latest sample of every node.
async fn latest(State(state): State<Shared>, _user: User, uri: Uri) -> Result<Response, ApiError> {
    let params = query_map(uri.query(), &["cluster", "node"])?;
    let cluster = params.get("cluster").filter(|c| !c.is_empty());
    if let Some(id) = cluster
        && !state.reader.has_cluster(id)
    {
        return Err(ApiError::not_found(format!(
            "cluster `{id}` is not registered"
        )));
    }
    let samples = state.reader.latest_metrics(cluster.map(String::as_str));
    let items: Vec<InCluster<&NodeMetricsSnapshot>> = samples
        .iter()
        .filter(|(_, s)| params.get("node").is_none_or(|n| &s.node == n))
        .map(|(cluster_id, s)| InCluster {
            cluster_id: cluster_id.clone(),
            object: &**s,
        })
        .collect();
    Ok(json(StatusCode::OK, &List::new(items)))
}

async fn one(
    State(state): State<Shared>,
    _user: User,
    uri: Uri,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    query_map(uri.query(), &[])?;
    let (cluster, node) = (&path["cluster"], &path["node"]);
    if !state.reader.has_cluster(cluster) {
        return Err(ApiError::not_found(format!(
            "cluster `{cluster}` is not registered"
        )));
    }
    let samples = state.reader.latest_metrics(Some(cluster));
    match samples.iter().find(|(_, s)| &s.node == node) {
        Some((_, sample)) => Ok(json(
            StatusCode::OK,
            &Item::new(InCluster {
                cluster_id: cluster.clone(),
                object: &**sample,
            }),
        )),
        None => Err(ApiError::not_found(format!(
            "no samples of node `{node}` in cluster `{cluster}`"
        ))),
    }
}

/// `GET …/node-metrics/{node}/range?from=-1h&to=now&step=1m`.
async fn range(
    State(state): State<Shared>,
    _user: User,
    uri: Uri,
    Path(path): Path<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let params = query_map(uri.query(), &["from", "to", "step"])?;
    let now = state.reader.now_ms();
    let from_ms = match params.get("from") {
        Some(v) => time_ms("from", v, now)?,
        None => now - 15 * 60_000,
    };
    let to_ms = match params.get("to") {
        Some(v) => time_ms("to", v, now)?,
        None => now,
    };
    let step_ms = params
        .get("step")
        .map(|v| duration_ms("step", v))
        .transpose()?;
    let series = state
        .reader
        .metric_range(RangeQuery {
            cluster_id: path["cluster"].clone(),
            node: path["node"].clone(),
            from_ms,
            to_ms,
            step_ms,
        })
        .await?;
    Ok(json(StatusCode::OK, &series))
}
