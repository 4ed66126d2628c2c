//! Commands for people and tools (`/api/v1/…/commands`) and for agents (`/control/watch`,
//! `/control/ack`). A command is checked before it is queued: a known kind with sound
//! arguments (else 422), a target present in the cluster's latest snapshot (else 404), the
//! caller's role (operator; admin for drain; viewer for the read-only logs and describe).

use std::time::Duration;

use atlhyper_model::api::{CommandInfo, CreateCommand, Item, List, Role};
use atlhyper_model::codec::{self, ContentEncoding, Limits};
use atlhyper_model::resources::{ConfigMap, Deployment, Ingress, Namespace, Node, Pod, Service};
use atlhyper_model::{AckBatch, CommandKind, ObjectKind, WatchRequest};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::admin::audited_error;
use super::params::Query;
use super::{ApiError, Shared, User, json, principal_agent};
use crate::commands::{AckError, CreateError};
use crate::held::Listed;

fn body<T: serde::de::DeserializeOwned>(raw: &[u8], max: usize) -> Result<T, ApiError> {
    let limits = Limits {
        max_compressed_bytes: max,
        max_decompressed_bytes: max,
        ..Limits::default()
    };
    codec::decode_json(raw, ContentEncoding::Identity, &limits).map_err(|e| {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, e.code(), e.to_string())
    })
}

fn unprocessable(message: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_arguments",
        message,
    )
}

/// The role a kind needs.
fn role_for(kind: &CommandKind) -> Role {
    match kind {
        CommandKind::Drain { .. } => Role::Admin,
        k if k.is_read_only() => Role::Viewer,
        _ => Role::Operator,
    }
}

fn check_name(what: &str, name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(unprocessable(format!(
            "{what} `{name}` is not a Kubernetes name (lower-case letters, digits, `-`, `.`)"
        )))
    }
}

/// Typed arguments beyond what the JSON shape guarantees.
fn check_args(kind: &CommandKind) -> Result<(), ApiError> {
    if let Some(ns) = kind.namespace() {
        check_name("namespace", ns)?;
    }
    match kind {
        CommandKind::RestartPod { name, .. }
        | CommandKind::DeletePod { name, .. }
        | CommandKind::RolloutRestart { name, .. }
        | CommandKind::PodLogs { name, .. }
        | CommandKind::Describe { name, .. } => check_name("name", name)?,
        CommandKind::Scale { name, replicas, .. } => {
            check_name("name", name)?;
            if *replicas > 10_000 {
                return Err(unprocessable(format!("replicas {replicas} is above 10000")));
            }
        }
        CommandKind::UpdateImage {
            name,
            container,
            image,
            ..
        } => {
            check_name("name", name)?;
            check_name("container", container)?;
            atlhyper_model::validate::image_reference(image).map_err(unprocessable)?;
        }
        CommandKind::Cordon { node } | CommandKind::Uncordon { node } => check_name("node", node)?,
        CommandKind::Drain {
            node,
            timeout_seconds,
            ..
        } => {
            check_name("node", node)?;
            if !(1..=3_600).contains(timeout_seconds) {
                return Err(unprocessable("drain timeout_seconds must be 1 to 3600"));
            }
        }
    }
    if let CommandKind::Describe {
        object, namespace, ..
    } = kind
        && object.is_namespaced() != namespace.is_some()
    {
        return Err(unprocessable(if object.is_namespaced() {
            format!("describe {}: a namespace is needed", object.as_str())
        } else {
            format!("describe {}: it has no namespace", object.as_str())
        }));
    }
    Ok(())
}

fn present<R: Listed>(state: &Shared, cluster: &str, namespace: Option<&str>, name: &str) -> bool {
    let key = match namespace {
        Some(ns) if R::NAMESPACED => format!("{ns}/{name}"),
        _ => name.to_owned(),
    };
    state
        .reader
        .snapshots(R::SOURCE, Some(cluster))
        .first()
        .and_then(|s| R::held(&s.list))
        .is_some_and(|list| list.contains(&key))
}

/// 404 unless the target is in the cluster's latest snapshot.
fn check_target(state: &Shared, cluster: &str, kind: &CommandKind) -> Result<(), ApiError> {
    let (found, what) = match kind {
        CommandKind::RestartPod {
            namespace, name, ..
        }
        | CommandKind::DeletePod {
            namespace, name, ..
        }
        | CommandKind::PodLogs {
            namespace, name, ..
        } => (present::<Pod>(state, cluster, Some(namespace), name), "pod"),
        CommandKind::RolloutRestart { namespace, name }
        | CommandKind::Scale {
            namespace, name, ..
        }
        | CommandKind::UpdateImage {
            namespace, name, ..
        } => (
            present::<Deployment>(state, cluster, Some(namespace), name),
            "deployment",
        ),
        CommandKind::Cordon { node }
        | CommandKind::Uncordon { node }
        | CommandKind::Drain { node, .. } => (present::<Node>(state, cluster, None, node), "node"),
        CommandKind::Describe {
            object,
            namespace,
            name,
            ..
        } => {
            let ns = namespace.as_deref();
            let found = match object {
                ObjectKind::Pod => present::<Pod>(state, cluster, ns, name),
                ObjectKind::Node => present::<Node>(state, cluster, None, name),
                ObjectKind::Deployment => present::<Deployment>(state, cluster, ns, name),
                ObjectKind::Service => present::<Service>(state, cluster, ns, name),
                // A namespace is its own namespace (as its `namespace=` filter reads it).
                ObjectKind::Namespace => present::<Namespace>(state, cluster, Some(name), name),
                ObjectKind::Ingress => present::<Ingress>(state, cluster, ns, name),
                ObjectKind::ConfigMap => present::<ConfigMap>(state, cluster, ns, name),
            };
            (found, object.as_str())
        }
    };
    if found {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "{what} `{}` is not in cluster `{cluster}`'s latest snapshot",
            kind.target()
        )))
    }
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key)
            if !key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(Some(key.to_owned()))
        }
        _ => Err(ApiError::bad_request(
            "Idempotency-Key must be 1 to 200 visible ASCII characters",
        )),
    }
}

/// A 429 that says when to come back.
fn too_many(message: String, retry_after: Duration) -> ApiError {
    let mut e = ApiError::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message);
    e.retry_after = Some(retry_after.as_secs().max(1));
    e
}

fn rate_limited(state: &Shared, user: &str) -> Result<(), ApiError> {
    state.command_rate.check(user).map_err(|wait| {
        state.telemetry.limit_hit("rate_limited");
        too_many(
            format!(
                "`{user}` queues commands faster than master allows; retry in {} s",
                wait.as_secs().max(1)
            ),
            wait,
        )
    })
}

fn create_error(state: &Shared, e: CreateError) -> ApiError {
    match e {
        CreateError::QueueFull { .. } => {
            state.telemetry.limit_hit("queue_full");
            too_many(e.to_string(), Duration::from_secs(5))
        }
        CreateError::KeyReused { .. } => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            e.to_string(),
        ),
        CreateError::Store(e) => e.into(),
    }
}

/// `POST /api/v1/clusters/{cluster}/commands`.
pub async fn create(
    State(state): State<Shared>,
    user: User,
    Path(cluster): Path<String>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let request: CreateCommand = match body(&raw, 64 << 10) {
        Ok(r) => r,
        Err(e) => return Err(audited_error(&state, &user, "command.create", &cluster, e).await),
    };
    let target = format!("{cluster}/{}", request.kind.target());
    let checked = user
        .require(role_for(&request.kind))
        .and_then(|()| super::registered(&state, &cluster))
        .and_then(|()| check_args(&request.kind))
        .and_then(|()| idempotency_key(&headers));
    let key = match checked {
        Ok(key) => key,
        Err(e) => return Err(audited_error(&state, &user, "command.create", &target, e).await),
    };
    // A retry is answered with its command before anything else is checked: its target may
    // be gone because of it.
    let retried = match &key {
        Some(key) => state
            .commands
            .by_key(&cluster, &user.name, key, &request.kind)
            .await
            .map_err(|e| create_error(&state, e)),
        None => Ok(None),
    };
    let created = match retried {
        Ok(Some(info)) => Ok((info, false)),
        Ok(None) => match check_target(&state, &cluster, &request.kind)
            .and_then(|()| rate_limited(&state, &user.name))
        {
            Ok(()) => state
                .commands
                .create(
                    &cluster,
                    key,
                    request.kind,
                    &user.name,
                    user.role,
                    state.reader.now_ms(),
                )
                .await
                .map_err(|e| create_error(&state, e)),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    let (info, new) = match created {
        Ok(created) => created,
        Err(e) => return Err(audited_error(&state, &user, "command.create", &target, e).await),
    };
    let location = format!("/api/v1/clusters/{cluster}/commands/{}", info.command.id);
    let status = if new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let mut response = json(status, &Item::new(info));
    if let Ok(value) = location.parse() {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// `GET /api/v1/clusters/{cluster}/commands` and `GET /api/v1/commands?cluster=`.
/// `?cluster=&status=` of a command list.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    cluster: Option<String>,
    status: Option<String>,
}

pub async fn list(
    State(state): State<Shared>,
    _user: User,
    path: Option<Path<String>>,
    Query(params): Query<ListQuery>,
) -> Result<Response, ApiError> {
    let cluster = path.map(|Path(c)| c).or(params.cluster);
    if let Some(c) = &cluster {
        super::registered(&state, c)?;
    }
    let mut items = state.commands.list(cluster.as_deref());
    if let Some(status) = &params.status {
        items.retain(|i| i.status.as_str() == status);
    }
    Ok(json(StatusCode::OK, &List::new(items)))
}

/// `GET /api/v1/clusters/{cluster}/commands/{id}`, `?wait=30s` to hold until it is settled.
/// `?wait=30s` of one command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WaitQuery {
    wait: Option<String>,
}

pub async fn one(
    State(state): State<Shared>,
    _user: User,
    Path((cluster, id)): Path<(String, String)>,
    Query(params): Query<WaitQuery>,
) -> Result<Response, ApiError> {
    let wait = match &params.wait {
        None => Duration::ZERO,
        Some(w) => humantime::parse_duration(w)
            .ok()
            .filter(|d| *d <= Duration::from_secs(60))
            .ok_or_else(|| {
                ApiError::bad_request(format!("`wait` must be a duration up to 60s, not `{w}`"))
            })?,
    };
    let found = if wait.is_zero() {
        state.commands.get(&id).await?
    } else {
        state.commands.wait(&id, wait).await?
    };
    match found.filter(|i: &CommandInfo| i.command.cluster_id == cluster) {
        Some(info) => Ok(json(StatusCode::OK, &Item::new(info))),
        None => Err(ApiError::not_found(format!(
            "no command `{id}` in cluster `{cluster}`"
        ))),
    }
}

/// `POST /control/watch`: the agent's long poll.
pub async fn watch(
    State(state): State<Shared>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let agent = principal_agent(&state, &headers)?;
    let request: WatchRequest = body(&raw, 4 << 10)?;
    if request.cluster_id != agent.cluster_id {
        return Err(ApiError::forbidden(format!(
            "this token belongs to cluster `{}`, not `{}`",
            agent.cluster_id, request.cluster_id
        )));
    }
    if let Some(session) = &request.session
        && (!(1..=64).contains(&session.len()) || !session.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ApiError::bad_request(
            "`session` must be 1 to 64 visible ASCII characters",
        ));
    }
    let reader = state.reader.clone();
    let polled = tokio::select! {
        polled = state.commands.poll(
            &request.cluster_id,
            request.rv,
            request.session.as_deref(),
            state.poll_timeout,
            move || reader.now_ms(),
        ) => polled?,
        () = state.shutdown.cancelled() => None,
    };
    Ok(match polled {
        Some(set) => json(StatusCode::OK, &set),
        None => StatusCode::NO_CONTENT.into_response(),
    })
}

/// `POST /control/ack`: results, each settling its own command.
pub async fn ack(
    State(state): State<Shared>,
    headers: HeaderMap,
    raw: Bytes,
) -> Result<Response, ApiError> {
    let agent = principal_agent(&state, &headers)?;
    // Outputs are capped by master anyway; the body may carry a few of them.
    let batch: AckBatch = body(&raw, 16 << 20)?;
    if batch.cluster_id != agent.cluster_id {
        return Err(ApiError::forbidden(format!(
            "this token belongs to cluster `{}`, not `{}`",
            agent.cluster_id, batch.cluster_id
        )));
    }
    match state
        .commands
        .ack(&batch.cluster_id, batch.results, state.reader.now_ms())
        .await
    {
        Ok(receipt) => Ok(json(StatusCode::OK, &receipt)),
        Err(e @ AckError::Unknown(_)) => Err(ApiError::not_found(e.to_string())),
        Err(e @ AckError::OtherCluster(_)) => Err(ApiError::forbidden(e.to_string())),
        Err(e @ AckError::NotDelivered(_)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "not_delivered",
            e.to_string(),
        )),
        Err(AckError::Store(e)) => Err(e.into()),
    }
}
