//! Subresources: `pods/log`, `pods/eviction`, `deployments/scale` and every kind's `status`.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::http::header::{CONTENT_TYPE, HeaderMap};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use super::ApiState;
use super::resources::{Call, Target, check_type};
use crate::kinds::ResourceKind;
use crate::sim::logs::{self, LogQuery};
use crate::status::{ApiError, ApiResult};
use crate::store::Stored;
use crate::with_kind;

pub async fn handle(state: ApiState, target: Target, call: Call) -> ApiResult<Response> {
    let sub = target.subresource.clone().unwrap_or_default();
    match (target.kind, sub.as_str(), &call.method) {
        (ResourceKind::Pod, "log", &Method::GET) => pod_log(state, &target, &call),
        (ResourceKind::Pod, "eviction", &Method::POST) => evict(state, &target, call).await,
        (ResourceKind::Deployment, "scale", _) => scale(state, &target, call).await,
        (kind, "status", _) if !kind.subresources().iter().all(|s| s.name != "status") => {
            with_kind!(await kind, status(state, &target, call))
        }
        (kind, sub, method) => Err(ApiError::no_route(&format!(
            "{method} {}/{sub}",
            kind.plural()
        ))),
    }
}

fn target_name(target: &Target) -> (&str, &str) {
    (
        target.namespace.as_deref().unwrap_or_default(),
        target.name.as_deref().unwrap_or_default(),
    )
}

fn pod_log(state: ApiState, target: &Target, call: &Call) -> ApiResult<Response> {
    let parse = |name: &str| -> ApiResult<Option<i64>> {
        call.param(name)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid {name}: {v}")))
            })
            .transpose()
    };
    let query = LogQuery {
        container: call.param("container").map(str::to_owned),
        tail_lines: parse("tailLines")?.map(|n| n.max(0) as usize),
        since_seconds: parse("sinceSeconds")?,
        since_ms: call
            .param("sinceTime")
            .map(|v| {
                v.parse::<k8s_openapi::jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|e| ApiError::bad_request(format!("invalid sinceTime: {v}: {e}")))
            })
            .transpose()?,
        timestamps: call.flag("timestamps"),
        previous: call.flag("previous"),
        limit_bytes: parse("limitBytes")?.map(|n| n.max(0) as usize),
    };
    let (namespace, name) = target_name(target);
    let pod: Pod = (*state
        .sim
        .world()
        .get::<Pod>(namespace, name)
        .ok_or_else(|| ApiError::not_found("pods", name))?)
    .clone();
    let now = state.sim.now_ms();
    let text = logs::logs(&pod, &query, now)?;
    if !call.flag("follow") {
        return Ok(([(CONTENT_TYPE, "text/plain")], text).into_response());
    }
    // Follow: the text so far, then new lines as the simulated time passes, until the pod goes.
    let (namespace, name) = (namespace.to_owned(), name.to_owned());
    let stream = futures::stream::unfold(
        (Some(text), now, state, namespace, name, query),
        |(first, mut shown_until, state, namespace, name, query)| async move {
            if let Some(text) = first {
                let bytes = Bytes::from(text);
                return Some((
                    Ok::<_, Infallible>(bytes),
                    (None, shown_until, state, namespace, name, query),
                ));
            }
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let pod = state.sim.world().get::<Pod>(&namespace, &name)?;
                let now = state.sim.now_ms();
                let since = LogQuery {
                    since_seconds: Some(((now - shown_until) / 1000).max(1)),
                    since_ms: None,
                    tail_lines: None,
                    ..query.clone()
                };
                let Ok(text) = logs::logs(&pod, &since, now) else {
                    return None;
                };
                let fresh: String = text
                    .lines()
                    .filter(|l| !l.contains(" INFO  starting "))
                    .map(|l| format!("{l}\n"))
                    .collect();
                if !fresh.is_empty() && now - shown_until >= 1000 {
                    shown_until = now;
                    return Some((
                        Ok(Bytes::from(fresh)),
                        (None, shown_until, state, namespace, name, query),
                    ));
                }
            }
        },
    );
    Ok(([(CONTENT_TYPE, "text/plain")], Body::from_stream(stream)).into_response())
}

/// `POST pods/{name}/eviction`: accepts what kubectl (`policy/v1` Eviction) and kube-rs (no
/// kind) send. No PodDisruptionBudgets are served: a pod annotated
/// [`crate::scenario::EVICTION_ANNOTATION`] refuses its eviction instead (429 or 500).
async fn evict(state: ApiState, target: &Target, call: Call) -> ApiResult<Response> {
    let (headers, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let _ = headers;
    let (namespace, name) = target_name(target);
    let body: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("invalid Eviction: {e}")))?;
    if let Some(kind) = body.get("kind").and_then(Value::as_str)
        && kind != "Eviction"
    {
        return Err(ApiError::bad_request(format!(
            "expected an Eviction, got {kind}"
        )));
    }
    if let Some(body_name) = body.pointer("/metadata/name").and_then(Value::as_str)
        && body_name != name
    {
        return Err(ApiError::bad_request(format!(
            "name in URL does not match name in Eviction object ({body_name} vs {name})"
        )));
    }
    let grace = [
        "/deleteOptions/gracePeriodSeconds",
        "/delete_options/gracePeriodSeconds",
    ]
    .iter()
    .find_map(|p| body.pointer(p).and_then(Value::as_i64));
    let now = state.sim.now_ms();
    {
        let mut world = state.sim.world();
        let refusal = world.get::<Pod>(namespace, name).and_then(|pod| {
            pod.metadata
                .annotations
                .as_ref()?
                .get(crate::scenario::EVICTION_ANNOTATION)
                .cloned()
        });
        match refusal.as_deref() {
            Some("blocked") => {
                return Err(ApiError::too_many_requests(
                    "Cannot evict pod as it would violate the pod's disruption budget.",
                ));
            }
            Some("error") => {
                return Err(ApiError::internal(format!(
                    "Internal error occurred: evicting {namespace}/{name} failed"
                )));
            }
            _ => {}
        }
        crate::sim::lifecycle::delete::<Pod>(&mut world, namespace, name, grace, now)?;
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {},
            "status": "Success", "code": 201,
        })),
    )
        .into_response())
}

fn scale_of(deployment: &Deployment) -> Value {
    let selector = deployment
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.as_ref())
        .map(|l| {
            l.iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let m = &deployment.metadata;
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            "name": m.name, "namespace": m.namespace, "uid": m.uid,
            "resourceVersion": m.resource_version, "creationTimestamp": m.creation_timestamp,
        },
        "spec": {"replicas": deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1)},
        "status": {
            "replicas": deployment.status.as_ref().and_then(|s| s.replicas).unwrap_or(0),
            "selector": selector,
        },
    })
}

/// `deployments/{name}/scale` as an autoscaling/v1 Scale.
async fn scale(state: ApiState, target: &Target, call: Call) -> ApiResult<Response> {
    let method = call.method.clone();
    let (namespace, name) = target_name(target);
    let (headers, bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let mut world = state.sim.world();
    let current = world
        .get::<Deployment>(namespace, name)
        .ok_or_else(|| ApiError::not_found("deployments", name))?;
    let wanted = match method {
        Method::GET => return Ok(axum::Json(scale_of(&current)).into_response()),
        Method::PUT => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid Scale: {e}")))?,
        Method::PATCH => super::patch::apply(
            headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            scale_of(&current),
            &bytes,
        )?,
        other => return Err(ApiError::method_not_allowed(format!("{other} on scale"))),
    };
    let replicas = wanted
        .pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .filter(|r| (0..=i64::from(i32::MAX)).contains(r))
        .ok_or_else(|| {
            ApiError::invalid("deployments", name, "spec.replicas: must be a number ≥ 0")
        })?;
    if let Some(rv) = wanted
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        && method == Method::PUT
        && Some(rv) != current.metadata.resource_version.as_deref()
    {
        return Err(ApiError::conflict("deployments", name));
    }
    let updated = world.update::<Deployment>(namespace, name, |d| {
        d.spec.get_or_insert_default().replicas = Some(replicas as i32);
    })?;
    Ok(axum::Json(scale_of(&updated)).into_response())
}

/// `{kind}/{name}/status`: reads the object; writes change only its status.
async fn status<K: Stored>(state: ApiState, target: &Target, call: Call) -> ApiResult<Response> {
    let method = call.method.clone();
    let (namespace, name) = target_name(target);
    let (headers, bytes): (HeaderMap, Bytes) = call.bytes(state.sim.options.max_body_bytes).await?;
    let mut world = state.sim.world();
    let entry = world
        .table::<K>()
        .get(namespace, name)
        .ok_or_else(|| ApiError::not_found(K::RESOURCE.plural(), name))?;
    if method == Method::GET {
        return Ok(([(CONTENT_TYPE, "application/json")], entry.json.clone()).into_response());
    }
    let current: Value = serde_json::from_slice(&entry.json).expect("stored JSON is valid");
    let wanted = match method {
        Method::PUT => serde_json::from_slice::<Value>(&bytes)
            .map_err(|e| ApiError::bad_request(format!("invalid body: {e}")))?,
        Method::PATCH => super::patch::apply(
            headers
                .get(CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default(),
            current.clone(),
            &bytes,
        )?,
        other => return Err(ApiError::method_not_allowed(format!("{other} on status"))),
    };
    check_type::<K>(&wanted)?;
    let mut merged = current;
    merged["status"] = wanted.get("status").cloned().unwrap_or(Value::Null);
    if let Some(rv) = wanted.pointer("/metadata/resourceVersion") {
        merged["metadata"]["resourceVersion"] = rv.clone();
    }
    let object: K = serde_json::from_value(merged)
        .map_err(|e| ApiError::invalid(K::RESOURCE.plural(), name, e.to_string()))?;
    let updated = world.replace(object)?;
    Ok((
        [(CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&*updated).expect("k8s objects serialize"),
    )
        .into_response())
}
