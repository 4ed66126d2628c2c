//! The Kubernetes HTTP API over the simulated cluster.

mod discovery;
pub use discovery::GIT_VERSION;
mod patch;
mod resources;
mod subresources;
pub mod table;
mod watch;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::sim::Sim;
use crate::status::ApiError;

/// What every handler gets.
#[derive(Clone)]
pub struct ApiState {
    pub sim: Arc<Sim>,
    pub token: Arc<str>,
}

/// The API server's routes. `/version` and the health endpoints are public, as on a real API
/// server; everything else needs the bearer token.
pub fn router(state: ApiState) -> Router {
    let protected = Router::new()
        .route("/api", get(discovery::api_versions))
        .route("/apis", get(discovery::api_groups))
        .route("/api/{*rest}", axum::routing::any(resources::core))
        .route("/apis/{*rest}", axum::routing::any(resources::grouped))
        .route("/sim/v1/faults", axum::routing::post(inject_fault))
        .layer(middleware::from_fn_with_state(state.clone(), authenticate));
    Router::new()
        .route("/version", get(discovery::version))
        .route("/healthz", get(|| async { "ok" }))
        .route("/livez", get(|| async { "ok" }))
        .route("/readyz", get(|| async { "ok" }))
        .merge(protected)
        .fallback(|req: Request| async move { ApiError::no_route(req.uri().path()) })
        .with_state(state)
}

async fn authenticate(State(state): State<ApiState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    match presented {
        Some(token) if constant_time_eq(token.as_bytes(), state.token.as_bytes()) => {
            next.run(request).await
        }
        _ => ApiError::unauthorized().into_response(),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `POST /sim/v1/faults`: inject a [`crate::sim::faults::Fault`] (JSON).
async fn inject_fault(
    State(state): State<ApiState>,
    body: axum::body::Bytes,
) -> Result<axum::http::StatusCode, ApiError> {
    let fault: crate::sim::faults::Fault = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("invalid fault: {e}")))?;
    let now = state.sim.now_ms();
    crate::sim::faults::apply(&mut state.sim.world(), &fault, now)?;
    Ok(axum::http::StatusCode::NO_CONTENT)
}
