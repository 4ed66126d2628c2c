//! Errors as the Kubernetes API answers them: a `metav1.Status` body with reason and code.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An API error with the `reason` a Kubernetes client matches on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    /// `details.kind` and `details.name`, when the error is about one object.
    pub details: Option<(String, String)>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    /// 404: `pods "x" not found`.
    pub fn not_found(plural: &str, name: &str) -> Self {
        ApiError {
            details: Some((plural.to_owned(), name.to_owned())),
            ..Self::new(404, "NotFound", format!("{plural} \"{name}\" not found"))
        }
    }

    /// 404 for a path that names no resource.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({path})"),
        )
    }

    /// 409: the object exists already.
    pub fn already_exists(plural: &str, name: &str) -> Self {
        ApiError {
            details: Some((plural.to_owned(), name.to_owned())),
            ..Self::new(
                409,
                "AlreadyExists",
                format!("{plural} \"{name}\" already exists"),
            )
        }
    }

    /// 409: an update carried a stale resourceVersion.
    pub fn conflict(plural: &str, name: &str) -> Self {
        ApiError {
            details: Some((plural.to_owned(), name.to_owned())),
            ..Self::new(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {plural} \"{name}\": the object has been \
                     modified; please apply your changes to the latest version and try again"
                ),
            )
        }
    }

    /// 400.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 422: the object is not valid. Named by its Kind, as the API server names it here
    /// (`Service "web" is invalid: …`; a 404 names the resource, `services "web" not found`).
    pub fn invalid(plural: &str, name: &str, message: impl Into<String>) -> Self {
        let kind = crate::kinds::ResourceKind::ALL
            .into_iter()
            .find(|k| k.plural() == plural)
            .map_or(plural, |k| k.kind());
        ApiError {
            details: Some((kind.to_owned(), name.to_owned())),
            ..Self::new(
                422,
                "Invalid",
                format!("{kind} \"{name}\" is invalid: {}", message.into()),
            )
        }
    }

    /// 410: a continue token or resourceVersion older than the kept history.
    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    /// 504: the server could not answer in time (a resourceVersion from the future).
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::new(504, "Timeout", message)
    }

    /// 401.
    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    /// 405.
    pub fn method_not_allowed(message: impl Into<String>) -> Self {
        Self::new(405, "MethodNotAllowed", message)
    }

    /// 413.
    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("the request body is larger than {limit} bytes"),
        )
    }

    /// 415.
    pub fn unsupported_media_type(content_type: &str) -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            format!("the body of the request was in an unknown format ({content_type})"),
        )
    }

    /// 500: the server failed.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// 429.
    pub fn too_many_requests(message: impl Into<String>) -> Self {
        Self::new(429, "TooManyRequests", message)
    }

    /// The `Status` object as JSON.
    pub fn to_status(&self) -> serde_json::Value {
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if let Some((kind, name)) = &self.details {
            status["details"] = json!({ "name": name, "kind": kind });
            // An invalid field is named as a cause: kubectl prints `field: message` from it.
            let cause = (self.reason == "Invalid")
                .then(|| self.message.split_once(" is invalid: "))
                .flatten()
                .and_then(|(_, rest)| rest.split_once(": "))
                .filter(|(field, _)| !field.is_empty() && !field.contains(' '));
            if let Some((field, message)) = cause {
                status["details"]["causes"] = json!([
                    { "reason": "FieldValueInvalid", "message": message, "field": field }
                ]);
            }
        }
        status
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let code = StatusCode::from_u16(self.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (code, axum::Json(self.to_status())).into_response()
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl From<atlhyper_model::selector::SelectorError> for ApiError {
    fn from(e: atlhyper_model::selector::SelectorError) -> Self {
        ApiError::bad_request(e.to_string())
    }
}
