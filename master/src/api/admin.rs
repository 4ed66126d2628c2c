//! Admin: clusters and their agent tokens, user tokens, the audit log. Every admin action —
//! done, refused or failed — leaves an audit record, written in the same transaction as the
//! change it records.

use atlhyper_model::api::{
    AuditRecord, ClusterCreated, CreateCluster, CreateToken, List, Role, TokenCreated, TokenInfo,
    WhoAmI,
};
use atlhyper_model::codec::{self, ContentEncoding, Limits};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use bytes::Bytes;
use serde::Deserialize;

use super::params::Query;
use super::{ApiError, Shared, User, json};
use crate::auth::{self, Principal};
use crate::datasource::now_ms;
use crate::memory::ClusterInfo;
use crate::store::{ClusterRow, NewToken, Revoked, StoreError, after_commit};

fn record(
    user: &User,
    action: &str,
    target: &str,
    outcome: &str,
    detail: Option<String>,
) -> AuditRecord {
    AuditRecord {
        id: 0,
        ts_ms: now_ms(),
        actor: user.name.clone(),
        actor_id: user.id,
        action: action.to_owned(),
        target: target.to_owned(),
        outcome: outcome.to_owned(),
        detail,
    }
}

/// Records a refused or failed action and returns its error.
pub(super) async fn audited_error(
    state: &Shared,
    user: &User,
    action: &str,
    target: &str,
    e: ApiError,
) -> ApiError {
    let outcome = if e.status == StatusCode::FORBIDDEN {
        "denied"
    } else {
        "failed"
    };
    let r = record(user, action, target, outcome, Some(e.message.clone()));
    if let Err(write) = state.store.audit(r).await {
        tracing::warn!(error = %write, "could not write an audit record");
    }
    e
}

/// Checks the role, auditing a refusal.
async fn require_admin(
    state: &Shared,
    user: &User,
    action: &str,
    target: &str,
) -> Result<(), ApiError> {
    match user.require(Role::Admin) {
        Ok(()) => Ok(()),
        Err(e) => Err(audited_error(state, user, action, target, e).await),
    }
}

fn body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let limits = Limits {
        max_compressed_bytes: 64 << 10,
        max_decompressed_bytes: 64 << 10,
        ..Limits::default()
    };
    codec::decode_json(body, ContentEncoding::Identity, &limits).map_err(|e| {
        let status = StatusCode::from_u16(e.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
        ApiError::new(status, e.code(), e.to_string())
    })
}

pub async fn whoami(user: User) -> Response {
    json(
        StatusCode::OK,
        &WhoAmI {
            name: user.name,
            role: user.role,
        },
    )
}

pub async fn create_cluster(
    State(state): State<Shared>,
    user: User,
    raw: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&state, &user, "create_cluster", "").await?;
    let request: CreateCluster = match body(&raw) {
        Ok(r) => r,
        Err(e) => return Err(audited_error(&state, &user, "create_cluster", "", e).await),
    };
    let id = request.id.clone();
    if let Err(reason) = atlhyper_model::validate::dns1123_label(&id) {
        let e = ApiError::bad_request(format!("cluster id `{id}`: {reason}"));
        return Err(audited_error(&state, &user, "create_cluster", &id, e).await);
    }
    if let Some(Err(reason)) = request
        .name
        .as_deref()
        .map(atlhyper_model::validate::display_name)
    {
        let e = ApiError::bad_request(format!("cluster `name`: {reason}"));
        return Err(audited_error(&state, &user, "create_cluster", &id, e).await);
    }
    let token = auth::generate("atlc_");
    let row = ClusterRow {
        id: id.clone(),
        name: request.name.clone().unwrap_or_else(|| id.clone()),
        token_hash: auth::hash(&token),
        created_ms: now_ms(),
    };
    let audit = record(&user, "create_cluster", &id, "ok", None);
    let (name, token_hash, created_ms) = (row.name.clone(), row.token_hash.clone(), row.created_ms);
    let written = state.store.create_cluster(row, audit).await;
    match written {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            let e = ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("cluster `{id}` exists"),
            );
            return Err(audited_error(&state, &user, "create_cluster", &id, e).await);
        }
        Err(e) => return Err(audited_error(&state, &user, "create_cluster", &id, e.into()).await),
    }
    state.memory.add_cluster(ClusterInfo {
        id: id.clone(),
        name: name.clone(),
        created_ms,
    });
    state.tokens.insert(
        token_hash,
        Principal::Agent {
            cluster_id: id.clone(),
        },
    );
    tracing::info!(cluster = %id, by = %user.name, "cluster created");
    Ok(json(
        StatusCode::CREATED,
        &ClusterCreated {
            id,
            name,
            created_ms,
            token,
        },
    ))
}

pub async fn delete_cluster(
    State(state): State<Shared>,
    user: User,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state, &user, "delete_cluster", &id).await?;
    let audit = record(&user, "delete_cluster", &id, "ok", None);
    // Memory forgets the cluster in commit order with its pushes and commands: one committed
    // before the delete cannot apply after it.
    let forget = {
        let (state, id) = (state.clone(), id.clone());
        move |existed: bool| {
            if existed {
                state.tokens.remove_cluster(&id);
                state.memory.remove_cluster(&id);
                state.commands.remove_cluster(&id);
            }
            existed
        }
    };
    let (forget, forgotten) = after_commit(forget);
    let existed = state
        .store
        .delete_cluster(
            id.clone(),
            Box::new(move |existed| existed.then_some(audit)),
            forget,
        )
        .await;
    if existed.is_ok() {
        // Answered once memory has forgotten too.
        let _ = forgotten.value().await;
    }
    match existed {
        Ok(true) => {}
        Ok(false) => {
            let e = ApiError::not_found(format!("cluster `{id}` is not registered"));
            return Err(audited_error(&state, &user, "delete_cluster", &id, e).await);
        }
        Err(e) => return Err(audited_error(&state, &user, "delete_cluster", &id, e.into()).await),
    }
    tracing::info!(cluster = %id, by = %user.name, "cluster deleted");
    Ok(json(StatusCode::OK, &serde_json::json!({"deleted": id})))
}

pub async fn list_tokens(State(state): State<Shared>, user: User) -> Result<Response, ApiError> {
    require_admin(&state, &user, "list_tokens", "").await?;
    let tokens = state.reader.tokens().await?;
    Ok(json(StatusCode::OK, &List::new(tokens)))
}

pub async fn create_token(
    State(state): State<Shared>,
    user: User,
    raw: Bytes,
) -> Result<Response, ApiError> {
    require_admin(&state, &user, "create_token", "").await?;
    let request: CreateToken = match body(&raw) {
        Ok(r) => r,
        Err(e) => return Err(audited_error(&state, &user, "create_token", "", e).await),
    };
    let name = request.name.trim().to_owned();
    if let Err(reason) = atlhyper_model::validate::display_name(&name) {
        let e = ApiError::bad_request(format!("`name`: {reason}"));
        return Err(audited_error(&state, &user, "create_token", &name, e).await);
    }
    let token = auth::generate("atl_");
    let token_hash = auth::hash(&token);
    let created_ms = now_ms();
    let audit = record(
        &user,
        "create_token",
        &name,
        "ok",
        Some(format!("role {}", request.role)),
    );
    let role = request.role;
    let token_row = NewToken {
        name: name.clone(),
        role,
        token_hash: token_hash.clone(),
        created_ms,
    };
    let id = state
        .store
        .create_token(token_row, Box::new(move |_| Some(audit)))
        .await;
    let id = match id {
        Ok(id) => id,
        Err(StoreError::Conflict(_)) => {
            let e = ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("a live token is already named `{name}`"),
            );
            return Err(audited_error(&state, &user, "create_token", &name, e).await);
        }
        Err(e) => return Err(audited_error(&state, &user, "create_token", &name, e.into()).await),
    };
    state.tokens.insert(
        token_hash,
        Principal::User {
            id: Some(id),
            name: name.clone(),
            role,
        },
    );
    tracing::info!(token_id = id, name = %name, role = %role, by = %user.name, "token created");
    Ok(json(
        StatusCode::CREATED,
        &TokenCreated {
            info: TokenInfo {
                id,
                name,
                role,
                created_ms,
                revoked_ms: None,
            },
            token,
        },
    ))
}

pub async fn revoke_token(
    State(state): State<Shared>,
    user: User,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    require_admin(&state, &user, "revoke_token", &id).await?;
    let Ok(token_id) = id.parse::<i64>() else {
        let e = ApiError::bad_request(format!("token id `{id}` is not a number"));
        return Err(audited_error(&state, &user, "revoke_token", &id, e).await);
    };
    let audit = record(&user, "revoke_token", &id, "ok", None);
    let revoked = state
        .store
        .revoke_token(
            token_id,
            now_ms(),
            Box::new(move |revoked| match revoked {
                Revoked::Done { name, .. } => Some(AuditRecord {
                    detail: Some(name.clone()),
                    ..audit
                }),
                _ => None,
            }),
        )
        .await;
    let e = match revoked {
        Ok(Revoked::Done { token_hash, .. }) => {
            state.tokens.remove(&token_hash);
            None
        }
        Ok(Revoked::NotFound) => Some(ApiError::not_found(format!(
            "no live token with id {token_id}"
        ))),
        Ok(Revoked::LastAdmin) => Some(ApiError::new(
            StatusCode::CONFLICT,
            "last_admin",
            "the last admin token cannot be revoked: create another admin token first",
        )),
        Err(e) => Some(e.into()),
    };
    if let Some(e) = e {
        return Err(audited_error(&state, &user, "revoke_token", &id, e).await);
    }
    tracing::info!(token_id, by = %user.name, "token revoked");
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({"revoked": token_id}),
    ))
}

/// `?limit=&before=&actor=&action=&target=&outcome=` of the audit.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    limit: Option<String>,
    before: Option<String>,
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    outcome: Option<String>,
}

pub async fn audit(
    State(state): State<Shared>,
    user: User,
    Query(params): Query<AuditQuery>,
) -> Result<Response, ApiError> {
    require_admin(&state, &user, "read_audit", "").await?;
    let limit = match &params.limit {
        None => 100,
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=1_000).contains(n))
            .ok_or_else(|| {
                ApiError::bad_request(format!("`limit` must be 1 to 1000, not `{v}`"))
            })?,
    };
    let before = params
        .before
        .as_ref()
        .map(|v| {
            v.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("`before` must be an audit id, not `{v}`"))
            })
        })
        .transpose()?;
    let filter = crate::store::AuditFilter {
        actor: params.actor,
        action: params.action,
        target: params.target,
        outcome: params.outcome,
    };
    let records = state.reader.audit(limit, before, filter).await?;
    Ok(json(StatusCode::OK, &List::new(records)))
}
