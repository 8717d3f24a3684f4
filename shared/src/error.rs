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

/// Defines [`ErrorCode`] from one list: each code with its HTTP status and meaning, so the
/// status always follows from the code and the OpenAPI document lists every code.
macro_rules! error_codes {
    ($($(#[doc = $doc:literal])+ $code:ident = $status:literal;)+) => {
        /// Every `code` an error body can carry. Stable: clients may match on them.
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
        pub enum ErrorCode {
            $($(#[doc = $doc])+ $code,)+
        }

        impl ErrorCode {
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$code),+];

            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$code => stringify!($code)),+ }
            }

            /// The HTTP status that carries this code.
            pub fn status(self) -> StatusCode {
                match self { $(ErrorCode::$code => StatusCode::from_u16($status).expect("valid status")),+ }
            }

            /// When it is answered.
            pub fn description(self) -> &'static str {
                match self { $(ErrorCode::$code => concat!($($doc),+).trim_ascii()),+ }
            }
        }
    };
}

error_codes! {
    /// A request body is not the JSON the endpoint takes (shape, types, unknown fields).
    INVALID_REQUEST_BODY = 400;
    /// A query parameter is malformed or unknown.
    INVALID_QUERY = 400;
    /// A value is well-formed but not acceptable (`field` names it).
    VALIDATION_FAILED = 400;
    /// A page cursor was not one this API handed out.
    INVALID_CURSOR = 400;
    /// Ingress: the body was declared JSON but is not valid JSON.
    INVALID_JSON = 400;
    /// Ingress: the request body could not be read.
    BODY_UNREADABLE = 400;
    /// Ingress: the URL names another provider than the webhook's.
    PROVIDER_MISMATCH = 400;
    /// Ingress: a handshake request lacks what the provider always sends.
    HANDSHAKE_INVALID = 400;
    /// A webhook's provider cannot change once saved.
    PROVIDER_IMMUTABLE = 400;
    /// META webhooks need both `verifyToken` and `appSecret`.
    WEBHOOK_META_SECRETS_REQUIRED = 400;
    /// A `${configParam.name}` reference names no saved parameter.
    CONFIG_PARAM_NOT_FOUND = 400;
    /// An outbound event is not valid (id, type, time or data).
    INVALID_EVENT = 400;
    /// Management: the admin bearer token is missing or wrong.
    UNAUTHORIZED = 401;
    /// Ingress: the `apiKey` query parameter is missing or wrong.
    API_KEY_INVALID = 401;
    /// Ingress: the provider's signature (or token, or timestamp) did not verify. The
    /// message never says which part was wrong.
    SIGNATURE_INVALID = 401;
    /// Ingress: Meta's GET handshake carried the wrong verify token.
    VERIFY_TOKEN_MISMATCH = 403;
    /// No such route.
    NOT_FOUND = 404;
    /// No such webhook (or, at the ingress, none active at this URL).
    WEBHOOK_NOT_FOUND = 404;
    /// No such binding on this webhook.
    BINDING_NOT_FOUND = 404;
    /// No such waiting instance.
    WAITER_NOT_FOUND = 404;
    /// No such connector.
    CONNECTOR_NOT_FOUND = 404;
    /// No such delivery.
    DELIVERY_NOT_FOUND = 404;
    /// No such failed trigger.
    FAILED_TRIGGER_NOT_FOUND = 404;
    /// The connector signs nothing, so it has no signing secret.
    SIGNING_NOT_CONFIGURED = 404;
    /// The path exists but not with this method.
    METHOD_NOT_ALLOWED = 405;
    /// The name is used by another webhook in this location (or another connector).
    NAME_TAKEN = 409;
    /// It exists already.
    ALREADY_EXISTS = 409;
    /// The resource changed since it was read; read it again and retry.
    CONCURRENT_UPDATE = 409;
    /// Activation needs at least one binding.
    NO_BINDINGS = 409;
    /// An active webhook cannot be deleted; deactivate it first.
    WEBHOOK_ACTIVE = 409;
    /// Secrets are not sealed under data keys here (`SecretStorage=PER_ITEM`, or the local
    /// store): there is no data key to rotate.
    KEY_ROTATION_UNSUPPORTED = 409;
    /// All bindings of a webhook start processes, or all resume them.
    TRIGGER_TYPE_MISMATCH = 409;
    /// Another instance already waits for this correlation value at this binding.
    CORRELATION_VALUE_TAKEN = 409;
    /// A request with this Idempotency-Key is still being answered.
    IDEMPOTENCY_IN_PROGRESS = 409;
    /// The request with this Idempotency-Key succeeded, but its answer showed a secret and
    /// is not kept for replay: read the resource to see it.
    IDEMPOTENCY_REPLAY_WITHHELD = 409;
    /// The stored event of a failed trigger has expired and cannot be replayed.
    EVENT_EXPIRED = 410;
    /// Ingress: the body is larger than the limit (1 MiB by default).
    PAYLOAD_TOO_LARGE = 413;
    /// Ingress (resume webhooks): no binding's correlation path resolves in the payload.
    CORRELATION_KEY_UNRESOLVED = 422;
    /// Ingress (resume webhooks): no instance waits for the event's correlation value.
    NO_WAITING_INSTANCE = 422;
    /// Unexpected failure (logged with its cause).
    INTERNAL_ERROR = 500;
    /// A registration helper failed, refused or did not answer in time; the webhook stays
    /// inactive.
    REGISTRATION_FAILED = 502;
    /// A backing service is unavailable; retry (`Retry-After` is set).
    SERVICE_UNAVAILABLE = 503;
}

/// An error answered over HTTP. 4xx carry a stable code and a message safe to show; 5xx
/// log their cause here and answer a generic body.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Client {
        code: ErrorCode,
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
    /// A client error: its status follows from the code.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Client { code, message: message.into(), field: None }
    }

    /// 400 `VALIDATION_FAILED` about one field: the body names its path.
    pub fn invalid(field: impl Into<String>, message: impl std::fmt::Display) -> Self {
        let field = field.into();
        ApiError::Client {
            code: ErrorCode::VALIDATION_FAILED,
            message: format!("{field}: {message}"),
            field: Some(field),
        }
    }

    /// 400 `VALIDATION_FAILED` from a checker's `"path: what is wrong"` message.
    pub fn validation(message: impl Into<String>) -> Self {
        let message = message.into();
        match message.split_once(": ") {
            Some((path, rest)) if is_field_path(path) => Self::invalid(path, rest),
            _ => Self::new(ErrorCode::VALIDATION_FAILED, message),
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

    pub fn status(&self) -> StatusCode {
        self.error_code().status()
    }

    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::Client { code, .. } => *code,
            ApiError::Unavailable(_) => ErrorCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => ErrorCode::INTERNAL_ERROR,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
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
            ApiError::new(ErrorCode::METHOD_NOT_ALLOWED, "this method is not allowed here")
        })
        .fallback(|| async { ApiError::new(ErrorCode::NOT_FOUND, "no such route") })
}

impl From<ParseError> for ApiError {
    fn from(e: ParseError) -> Self {
        ApiError::validation(e.to_string())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::new(ErrorCode::NOT_FOUND, "not found"),
            StoreError::Conflict(Conflict::VersionMismatch) => {
                ApiError::new(ErrorCode::CONCURRENT_UPDATE, "the resource changed meanwhile; read it again and retry")
            }
            StoreError::Conflict(Conflict::NameTaken) => {
                ApiError::new(ErrorCode::NAME_TAKEN, "the name is already used in this location")
            }
            StoreError::Conflict(Conflict::AlreadyExists) => {
                ApiError::new(ErrorCode::ALREADY_EXISTS, "it exists already")
            }
            StoreError::InvalidCursor => ApiError::new(ErrorCode::INVALID_CURSOR, "the page cursor is not valid"),
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
        let (s, v) = body_of(ApiError::new(ErrorCode::NO_BINDINGS, "bind first")).await;
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
