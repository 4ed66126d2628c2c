//! master's HTTP surface: `/ingest` for agents, `/api/v1` for people and tools, operations
//! endpoints. Every error is `{"error":{"code","message"}}` with its HTTP status.

mod admin;
mod commands;
mod ingest;
mod limits;
mod lists;
mod metrics;
mod ops;
mod params;
mod stream;

use std::sync::Arc;
use std::time::Duration;

use atlhyper_model::api::{ErrorBody, Role};
use atlhyper_model::codec::Limits;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header, request::Parts};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio_util::sync::CancellationToken;

use crate::auth::{self, Principal, Tokens};
use crate::datasource::{ReadError, Reader};
use crate::memory::Memory;
use crate::store::{Store, StoreError};
use crate::stream::Hub;
use crate::telemetry::Telemetry;

/// What every handler shares.
pub struct AppState {
    pub reader: Arc<dyn Reader>,
    /// Ingest and admin write here; everything else reads through `reader`.
    pub memory: Arc<Memory>,
    pub store: Arc<dyn Store>,
    pub tokens: Arc<Tokens>,
    pub hub: Arc<Hub>,
    pub telemetry: Arc<Telemetry>,
    pub limits: Limits,
    pub body_timeout: Duration,
    pub shutdown: CancellationToken,
    pub commands: Arc<crate::commands::Commands>,
    /// Longest an agent's `/control/watch` is held without news.
    pub poll_timeout: Duration,
    /// Clock skew past which a cluster's agent is warned about in the log.
    pub clock_skew_warning: Duration,
    /// Clusters whose agent's clock is skewed past the warning now (warned once on the way in,
    /// noted once on the way back).
    pub skewed: parking_lot::Mutex<std::collections::HashSet<String>>,
    /// New commands per user.
    pub command_rate: CommandRate,
    /// Large or gzip push bodies decoded at once (each may inflate to the decompressed cap).
    pub decodes: tokio::sync::Semaphore,
    /// Master's receive time of pushes.
    pub received: crate::datasource::ReceiveClock,
}

/// How many new commands each user may queue: a token bucket per user name (governor's GCRA).
pub struct CommandRate(governor::DefaultKeyedRateLimiter<String>);

impl CommandRate {
    pub fn new(per_second: u32, burst: u32) -> Self {
        let quota = governor::Quota::per_second(
            std::num::NonZeroU32::new(per_second.max(1)).expect("above zero"),
        )
        .allow_burst(std::num::NonZeroU32::new(burst.max(1)).expect("above zero"));
        CommandRate(governor::RateLimiter::keyed(quota))
    }

    /// `Err(wait)` when `user` must wait before queuing another command.
    pub fn check(&self, user: &str) -> Result<(), Duration> {
        use governor::clock::Clock as _;
        self.0.check_key(&user.to_owned()).map_err(|not_until| {
            not_until.wait_time_from(governor::clock::DefaultClock::default().now())
        })
    }
}

pub type Shared = Arc<AppState>;

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Seconds to wait before retrying (`Retry-After`), for a 429 or a 503.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let (status, code) = match &e {
            StoreError::Full => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            StoreError::ReadOnly => (StatusCode::SERVICE_UNAVAILABLE, "storage_read_only"),
            StoreError::Closed => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
            StoreError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            StoreError::NoCluster(_) => (StatusCode::NOT_FOUND, "not_found"),
            StoreError::Other(_) => (StatusCode::INTERNAL_SERVER_ERROR, "storage_error"),
        };
        ApiError::new(status, code, e.to_string())
    }
}

impl From<ReadError> for ApiError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::NotFound(m) => ApiError::not_found(m),
            ReadError::BadRequest(m) => ApiError::bad_request(m),
            ReadError::Store(e) => e.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&ErrorBody::new(self.code, self.message))
            .expect("error bodies serialize");
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"atlhyper\""),
            );
        }
        response
    }
}

/// A JSON answer from already serialized bytes.
fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

/// A JSON answer.
/// The cluster is registered, or a 404 naming it: the one check every cluster-scoped route
/// makes.
pub fn registered(state: &Shared, cluster: &str) -> Result<(), ApiError> {
    if state.reader.has_cluster(cluster) {
        Ok(())
    } else {
        Err(ApiError::not_found(format!(
            "cluster `{cluster}` is not registered"
        )))
    }
}

pub fn json<T: serde::Serialize>(status: StatusCode, value: &T) -> Response {
    json_bytes(status, atlhyper_model::codec::encode_json(value))
}

fn principal(headers: &HeaderMap, tokens: &Tokens) -> Result<Principal, ApiError> {
    let token = auth::bearer(headers)
        .ok_or_else(|| ApiError::unauthorized("missing `Authorization: Bearer <token>`"))?;
    tokens
        .lookup(token)
        .ok_or_else(|| ApiError::unauthorized("the token is not valid (unknown or revoked)"))
}

/// A request from a user token (any role); handlers call [`User::require`] for more.
pub struct User {
    pub id: Option<i64>,
    pub name: String,
    pub role: Role,
}

impl User {
    /// Refuses the request unless the user's role is at least `role`.
    ///
    /// # Errors
    /// 403 naming the role needed.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "this needs the {role} role; `{}` has {}",
                self.name, self.role
            )))
        }
    }
}

impl FromRequestParts<Shared> for User {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        match principal(&parts.headers, &state.tokens)? {
            Principal::User { id, name, role } => Ok(User { id, name, role }),
            Principal::Agent { .. } => Err(ApiError::forbidden(
                "an agent token may only push and fetch its cluster's commands",
            )),
        }
    }
}

/// A request from a cluster's agent token.
pub struct Agent {
    pub cluster_id: String,
}

impl FromRequestParts<Shared> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &Shared) -> Result<Self, ApiError> {
        principal_agent(state, &parts.headers)
    }
}

/// The agent a request comes from: 401 without a valid token, 403 for a user token.
pub fn principal_agent(state: &Shared, headers: &HeaderMap) -> Result<Agent, ApiError> {
    match principal(headers, &state.tokens)? {
        Principal::Agent { cluster_id } => Ok(Agent { cluster_id }),
        Principal::User { .. } => Err(ApiError::forbidden(
            "pushes need a cluster's agent token, not a user token",
        )),
    }
}

async fn not_found(request: Request) -> ApiError {
    ApiError::not_found(format!("no such endpoint: {}", request.uri().path()))
}

async fn method_not_allowed(request: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    )
}

/// Every route.
pub fn router(state: Shared) -> Router {
    let api = Router::new()
        .route("/whoami", get(admin::whoami))
        .route("/clusters", get(lists::clusters))
        .route("/clusters/{cluster}", get(lists::cluster))
        .route("/stream", get(stream::stream))
        .route("/audit", get(admin::audit))
        .route("/admin/clusters", post(admin::create_cluster))
        .route(
            "/admin/clusters/{cluster}",
            axum::routing::delete(admin::delete_cluster),
        )
        .route(
            "/admin/tokens",
            get(admin::list_tokens).post(admin::create_token),
        )
        .route(
            "/admin/tokens/{id}",
            axum::routing::delete(admin::revoke_token),
        )
        .route(
            "/clusters/{cluster}/commands",
            get(commands::list).post(commands::create),
        )
        .route("/clusters/{cluster}/commands/{id}", get(commands::one))
        .route("/commands", get(commands::list))
        .merge(lists::routes())
        .merge(metrics::routes());
    Router::new()
        .route("/ingest", post(ingest::ingest))
        .route("/control/watch", post(commands::watch))
        .route("/control/ack", post(commands::ack))
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .nest("/api/v1", api)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The guard caps every body itself, per route.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limits::guard,
        ))
        .layer(axum::middleware::from_fn(limits::json_errors))
        // Outermost: every answer is counted, refusals by the guard included.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            observed,
        ))
        .with_state(state)
}

/// Request telemetry for every route: counted by route pattern, method and status, timed to
/// the response's head.
async fn observed(
    axum::extract::State(state): axum::extract::State<Shared>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    state.telemetry.request(
        &route,
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}
