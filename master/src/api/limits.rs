//! One layer for what any request may cost before a handler sees it, and one for the shape
//! of every refusal:
//! - the URI is at most 8 KiB (414) and the header block at most 64 KiB (431);
//! - a body is read whole, within `--body-timeout` from its first byte to its last (408),
//!   up to its route's cap (413: `--max-body-bytes` for `/ingest`, 16 MiB for `/control/ack`,
//!   64 KiB elsewhere; a declared length past the cap is refused before any of it is read);
//! - only `/ingest` takes a `Content-Encoding` (gzip); elsewhere it is a 415;
//! - every error answer is `{"error":{"code","message"}}`, axum's own rejections included;
//! - a request that may change something (not GET) runs to its end even if its client leaves.
//!
//! Each refusal is counted in `atlhyper_limit_hits_total{limit}`.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt as _;

use super::{ApiError, Shared};

/// Longest request target.
pub const MAX_URI_BYTES: usize = 8 << 10;
/// Largest header block (names and values).
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// Largest `/control/ack` body: a batch of results, each output up to master's output cap,
/// which JSON escaping of control bytes can make several times longer.
pub const MAX_ACK_BYTES: usize = 16 << 20;
/// Largest body of any other route (commands, admin, long-poll requests).
pub const MAX_OTHER_BYTES: usize = 64 << 10;

fn refuse(state: &Shared, limit: &str, e: ApiError) -> Response {
    state.telemetry.limit_hit(limit);
    e.into_response()
}

/// The body cap of a route.
fn body_cap(state: &Shared, path: &str) -> usize {
    match path {
        "/ingest" => state.limits.max_compressed_bytes,
        "/control/ack" => MAX_ACK_BYTES,
        _ => MAX_OTHER_BYTES,
    }
}

/// Reads the request under the limits above and hands the handler a body already in memory.
pub async fn guard(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let uri_len = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if uri_len > MAX_URI_BYTES {
        return refuse(
            &state,
            "uri_too_long",
            ApiError::new(
                StatusCode::URI_TOO_LONG,
                "uri_too_long",
                format!("the request target is {uri_len} bytes; at most {MAX_URI_BYTES}"),
            ),
        );
    }
    let header_bytes: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len() + 4)
        .sum();
    if header_bytes > MAX_HEADER_BYTES {
        return refuse(
            &state,
            "headers_too_large",
            ApiError::new(
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
                "headers_too_large",
                format!("the headers are {header_bytes} bytes; at most {MAX_HEADER_BYTES}"),
            ),
        );
    }
    let path = request.uri().path().to_owned();
    if path != "/ingest"
        && request
            .headers()
            .get(header::CONTENT_ENCODING)
            .is_some_and(|v| !v.as_bytes().eq_ignore_ascii_case(b"identity"))
    {
        return refuse(
            &state,
            "content_encoding",
            ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                format!("{path} takes no Content-Encoding (only /ingest takes gzip)"),
            ),
        );
    }
    if axum::body::HttpBody::size_hint(request.body()).exact() == Some(0) {
        return run_to_completion(request, next).await;
    }
    let cap = body_cap(&state, &path);
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            format!("the body is larger than {cap} bytes, the most {path} takes"),
        )
    };
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return refuse(&state, "body_too_large", too_large());
    }
    let (parts, body) = request.into_parts();
    let limited = http_body_util::Limited::new(body, cap);
    let bytes = match tokio::time::timeout(state.body_timeout, limited.collect()).await {
        Err(_) => {
            return refuse(
                &state,
                "body_timeout",
                ApiError::new(
                    StatusCode::REQUEST_TIMEOUT,
                    "request_timeout",
                    format!(
                        "the body did not arrive within {}",
                        humantime::format_duration(state.body_timeout)
                    ),
                ),
            );
        }
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => {
            return refuse(&state, "body_too_large", too_large());
        }
        Ok(Err(e)) => {
            return ApiError::bad_request(format!("reading the body failed: {e}")).into_response();
        }
        Ok(Ok(collected)) => collected.to_bytes(),
    };
    run_to_completion(Request::from_parts(parts, Body::from(bytes)), next).await
}

/// Runs a request that may change something on its own task: a client that disconnects (or
/// times out) while its change is being committed drops only the wait for the answer, never
/// the memory update, stream event or audit that follow the commit. Reads run in place, and so
/// does the agent's long poll: a poll whose agent has gone must stop holding, or it would hand
/// the next command to nobody (what a delivery commits is applied by `Sqlite::write_then` either
/// way).
async fn run_to_completion(request: Request, next: Next) -> Response {
    let method = request.method();
    if method == axum::http::Method::GET
        || method == axum::http::Method::HEAD
        || request.uri().path() == "/control/watch"
    {
        return next.run(request).await;
    }
    match tokio::spawn(next.run(request)).await {
        Ok(response) => response,
        Err(e) => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
            .into_response(),
    }
}

/// Puts an error answer that is not yet in the JSON error shape (axum's rejections of a bad
/// path, query or body) into it, keeping its status and text.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = match http_body_util::Limited::new(body, 4 << 10).collect().await {
        Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
        Err(_) => String::new(),
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::REQUEST_TIMEOUT => "request_timeout",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "unprocessable",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let message = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text.trim().to_owned()
    };
    let mut answer = ApiError::new(status, code, message).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name, value.clone());
        }
    }
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    answer
}
