//! Typed errors and the one place they become HTTP responses.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::ParseError;

/// What a backend can fail with. Classified by kind, never by message text, so callers can
/// tell a lost race from an outage.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A conditional write lost: the item exists, a unique value is taken, or the version
    /// moved on.
    #[error("conflict: {0:?}")]
    Conflict(Conflict),
    #[error("not found")]
    NotFound,
    /// A page cursor that this backend did not issue.
    #[error("invalid page cursor")]
    InvalidCursor,
    /// The backend asked us to slow down; the caller may retry.
    #[error("throttled by the backend")]
    Throttled,
    /// Anything else: network, service or storage failure. The source is logged, not shown.
    #[error("backend failure: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    AlreadyExists,
    NameTaken,
    VersionMismatch,
}

impl StoreError {
    pub fn backend(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Backend(Box::new(e))
    }

    pub fn msg(m: impl Into<String>) -> Self {
        StoreError::Backend(m.into().into())
    }
}

/// An error answered over HTTP. 4xx carry a stable code and a message safe to show; 5xx
/// log their cause here and answer a generic body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        status: StatusCode,
        code: &'static str,
        message: String,
        /// The offending field's path in the request (`location.orgId`, `headers.x-a`).
        field: Option<String>,
    },
    #[error("service unavailable: {0}")]
    Unavailable(#[source] StoreError),
    #[error("internal error: {0}")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl ApiError {
    pub fn client(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Client { status, code, message: message.into(), field: None }
    }

    /// 400 `VALIDATION_FAILED` about one field: the body names its path.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError::Client {
            status: StatusCode::BAD_REQUEST,
            code: "VALIDATION_FAILED",
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// 400 `VALIDATION_FAILED` from a checker's `"path: what is wrong"` message.
    pub fn validation(message: impl Into<String>) -> Self {
        let message = message.into();
        match message.split_once(": ") {
            Some((path, rest)) if is_field_path(path) => Self::invalid(path, rest),
            _ => Self::bad_request("VALIDATION_FAILED", message),
        }
    }

    /// Names the offending field.
    pub fn at(mut self, path: impl Into<String>) -> Self {
        if let ApiError::Client { field, .. } = &mut self {
            *field = Some(path.into());
        }
        self
    }

    /// The offending field's path, when one is known.
    pub fn field(&self) -> Option<&str> {
        match self {
            ApiError::Client { field, .. } => field.as_deref(),
            _ => None,
        }
    }

    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::BAD_REQUEST, code, message)
    }

    pub fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::NOT_FOUND, code, message)
    }

    pub fn unauthorized(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::UNAUTHORIZED, code, message)
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::client(StatusCode::CONFLICT, code, message)
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Client { status, .. } => *status,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Client { code, .. } => code,
            ApiError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ApiError::Internal(_) => "INTERNAL_ERROR",
        }
    }
}

/// `a.b[0].c-d`: what a field path looks like (not prose).
pub(crate) fn is_field_path(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-[]${}".contains(&b))
}

/// Gives the outermost router JSON answers for unknown paths (404 `NOT_FOUND`) and known
/// paths with another method (405 `METHOD_NOT_ALLOWED`). Applied once, after merging.
pub fn with_json_fallbacks(router: axum::Router) -> axum::Router {
    router
        .method_not_allowed_fallback(|| async {
            ApiError::client(StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED", "this method is not allowed here")
        })
        .fallback(|| async { ApiError::not_found("NOT_FOUND", "no such route") })
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::validation(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("NOT_FOUND", "not found"),
            StoreError::Conflict(Conflict::VersionMismatch) => {
                ApiError::conflict("CONCURRENT_UPDATE", "the resource changed meanwhile; read it again and retry")
            }
            StoreError::Conflict(Conflict::NameTaken) => {
                ApiError::conflict("NAME_TAKEN", "the name is already used in this location")
            }
            StoreError::Conflict(Conflict::AlreadyExists) => ApiError::conflict("ALREADY_EXISTS", "it exists already"),
            StoreError::InvalidCursor => ApiError::bad_request("INVALID_CURSOR", "the page cursor is not valid"),
            other => ApiError::Unavailable(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match &self {
            ApiError::Client { message, .. } => message.as_str(),
            ApiError::Unavailable(e) => {
                tracing::error!(error = %e, source = ?std::error::Error::source(e), "backend unavailable");
                "the service is unavailable; retry later"
            }
            ApiError::Internal(e) => {
                tracing::error!(error = %e, "internal error");
                "internal error"
            }
        };
        let mut resp = (status, Json(ErrorBody { code: self.code(), message, field: self.field() })).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut().insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn body_of(e: ApiError) -> (StatusCode, serde_json::Value) {
        let r = e.into_response();
        let status = r.status();
        let bytes = r.into_body().collect().await.unwrap().to_bytes();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn client_errors_keep_code_and_message() {
        let (s, v) = body_of(ApiError::conflict("NO_BINDINGS", "bind first")).await;
        assert_eq!(s, StatusCode::CONFLICT);
        assert_eq!(v, serde_json::json!({"code":"NO_BINDINGS","message":"bind first"}));
    }

    #[tokio::test]
    async fn server_errors_hide_their_cause() {
        let (s, v) = body_of(StoreError::msg("disk on fire at /secret/path").into()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(v["code"], "SERVICE_UNAVAILABLE");
        assert!(!v.to_string().contains("/secret/path"));
    }
}
