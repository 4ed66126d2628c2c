//! Node metrics: each node's latest sample, a node's history over a range, and each pod's
//! latest usage.

use std::collections::HashMap;

use atlhyper_model::api::{InCluster, Item, List, PodMetrics};
use atlhyper_model::resources::Pod;
use atlhyper_model::{NodeMetricsSnapshot, PodUsage, Source};
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde::Deserialize;

use super::params::{NoParams, Query, duration_ms, time_ms};
use super::{ApiError, Shared, User, json};
use crate::datasource::RangeQuery;
use crate::held::Listed as _;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/node-metrics", get(latest))
        .route("/pod-metrics", get(pods))
        .route("/clusters/{cluster}/node-metrics/{node}", get(one))
        .route("/clusters/{cluster}/node-metrics/{node}/range", get(range))
}

/// `?cluster=&node=` of the latest samples.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LatestQuery {
    cluster: Option<String>,
    node: Option<String>,
}

/// `GET /api/v1/node-metrics?cluster=&node=`: the latest sample of every node.
async fn latest(
    State(state): State<Shared>,
    _user: User,
    Query(params): Query<LatestQuery>,
) -> Result<Response, ApiError> {
    let cluster = params.cluster.as_ref().filter(|c| !c.is_empty());
    if let Some(id) = cluster {
        super::registered(&state, id)?;
    }
    let samples = state.reader.latest_metrics(cluster.map(String::as_str));
    let items: Vec<InCluster<&NodeMetricsSnapshot>> = samples
        .iter()
        .filter(|(_, s)| params.node.as_ref().is_none_or(|n| &s.node == n))
        .map(|(cluster_id, s)| InCluster {
            cluster_id: cluster_id.clone(),
            object: &**s,
        })
        .collect();
    Ok(json(StatusCode::OK, &List::new(items)))
}

/// `?cluster=&namespace=` of pod usage.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PodsQuery {
    cluster: Option<String>,
    namespace: Option<String>,
}

/// `GET /api/v1/pod-metrics?cluster=&namespace=`: each pod's usage from its node's latest
/// sample, named through the cluster's latest pod list (samples name pods by uid).
async fn pods(
    State(state): State<Shared>,
    _user: User,
    Query(params): Query<PodsQuery>,
) -> Result<Response, ApiError> {
    let cluster = params.cluster.as_ref().filter(|c| !c.is_empty());
    if let Some(id) = cluster {
        super::registered(&state, id)?;
    }
    let cluster = cluster.map(String::as_str);
    let mut usage: HashMap<(&str, &str), (&str, i64, &PodUsage)> = HashMap::new();
    let samples = state.reader.latest_metrics(cluster);
    for (cluster_id, sample) in &samples {
        for pod in &sample.pods {
            usage.insert(
                (cluster_id.as_str(), pod.uid.as_str()),
                (sample.node.as_str(), sample.ts_ms, pod),
            );
        }
    }
    let snapshots = state.reader.snapshots(Source::PodListSnapshot, cluster);
    let mut items = Vec::new();
    for snapshot in &snapshots {
        for pod in Pod::held(&snapshot.list).into_iter().flat_map(|l| l.iter()) {
            if params
                .namespace
                .as_ref()
                .is_some_and(|ns| &pod.namespace != ns)
            {
                continue;
            }
            if let Some((node, ts_ms, used)) =
                usage.get(&(snapshot.cluster_id.as_str(), pod.uid.as_str()))
            {
                items.push(InCluster {
                    cluster_id: snapshot.cluster_id.clone(),
                    object: PodMetrics {
                        namespace: pod.namespace.clone(),
                        name: pod.name.clone(),
                        node: (*node).to_owned(),
                        ts_ms: *ts_ms,
                        cpu_millicores: used.cpu_millicores,
                        memory_bytes: used.memory_bytes,
                    },
                });
            }
        }
    }
    items.sort_by(|a, b| {
        (&a.cluster_id, &a.object.namespace, &a.object.name).cmp(&(
            &b.cluster_id,
            &b.object.namespace,
            &b.object.name,
        ))
    });
    Ok(json(StatusCode::OK, &List::new(items)))
}

async fn one(
    State(state): State<Shared>,
    _user: User,
    Query(NoParams {}): Query<NoParams>,
    Path((cluster, node)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let (cluster, node) = (&cluster, &node);
    super::registered(&state, cluster)?;
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

/// `?from=&to=&step=` of a node's history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeParams {
    from: Option<String>,
    to: Option<String>,
    step: Option<String>,
}

/// `GET …/node-metrics/{node}/range?from=-1h&to=now&step=1m`.
async fn range(
    State(state): State<Shared>,
    _user: User,
    Query(params): Query<RangeParams>,
    Path((cluster, node)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let now = state.reader.now_ms();
    let from_ms = match &params.from {
        Some(v) => time_ms("from", v, now)?,
        None => now - 15 * 60_000,
    };
    let to_ms = match &params.to {
        Some(v) => time_ms("to", v, now)?,
        None => now,
    };
    let step_ms = params
        .step
        .as_deref()
        .map(|v| duration_ms("step", v))
        .transpose()?;
    let series = state
        .reader
        .metric_range(RangeQuery {
            cluster_id: cluster,
            node,
            from_ms,
            to_ms,
            step_ms,
        })
        .await?;
    Ok(json(StatusCode::OK, &series))
}
