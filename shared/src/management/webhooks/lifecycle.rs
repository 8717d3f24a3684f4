//! Activating and deactivating a webhook (with its registration helpers).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use http::{HeaderMap, Uri};

use super::{WebhookPath, WebhookView, public_base, service};
use crate::error::ApiError;
use crate::management::ManagementState;
use crate::openapi::ErrorSchema;

type St = State<Arc<ManagementState>>;

/// Activate a webhook
///
/// Activates a webhook (it needs a binding). With a registration helper, the helper is told
/// the event URL first; if it fails or is late the webhook stays inactive (502).
#[utoipa::path(post, operation_id = "activateWebhook", path = "/v1/webhooks/{id}/activate", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, body = WebhookView),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NO_BINDINGS`, `CONCURRENT_UPDATE`", body = ErrorSchema),
        (status = 502, description = "`REGISTRATION_FAILED`: the webhook stays inactive", body = ErrorSchema),
    ))]
pub(super) async fn activate(
    State(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(service::activate(&st, &id, &public_base(&st, &headers, &uri)).await?.into()))
}

/// Deactivate a webhook
///
/// Deactivation keeps the key and the URL: reactivating needs no reconfiguration. The
/// webhook stops receiving first; a deregistration helper is told afterwards, and if that
/// fails the failure is kept on the webhook (`lastDeregistrationError`) and logged, and the
/// webhook stays inactive with its `registrationData` (so it can be cleaned up by hand).
#[utoipa::path(post, operation_id = "deactivateWebhook", path = "/v1/webhooks/{id}/deactivate", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, description = "Inactive; a failed deregistration shows in `lastDeregistrationError`", body = WebhookView),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn deactivate(State(st): St, Path(id): Path<String>) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(service::deactivate(&st, &id).await?.into()))
}
