//! A webhook's bindings to processes, and the instances waiting at its resume bindings.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;

use super::WebhookPath;
use super::service;
use crate::domain::{Binding, BindingId, BindingKind, Waiter};
use crate::error::{ApiError, StoreError};
use crate::management::{ApiJson, ListPage, ManagementState, NoFilter, PageQuery, Paged};
use crate::openapi::ErrorSchema;
use crate::ports::cursor;

type St = State<Arc<ManagementState>>;

/// Bind a webhook to a process
#[utoipa::path(post, operation_id = "addBinding", path = "/v1/webhooks/{id}/bindings", tag = "webhooks", params(WebhookPath), request_body = BindingKind,
    responses(
        (status = 201, body = Binding),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`TRIGGER_TYPE_MISMATCH`", body = ErrorSchema),
    ))]
pub(super) async fn add_binding(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(kind): ApiJson<BindingKind>,
) -> Result<(StatusCode, Json<Binding>), ApiError> {
    Ok((StatusCode::CREATED, Json(service::add_binding(&st, &id, kind).await?)))
}

/// List a webhook's bindings
///
/// Oldest first. A webhook's bindings are read whole (they are few) and paged here.
#[utoipa::path(get, operation_id = "listBindings", path = "/v1/webhooks/{id}/bindings", tag = "webhooks",
    params(WebhookPath, PageQuery),
    responses(
        (status = 200, body = ListPage<Binding>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn list_bindings(
    State(st): St,
    Path(id): Path<String>,
    Paged(page, NoFilter {}): Paged<NoFilter>,
) -> Result<Json<ListPage<Binding>>, ApiError> {
    let webhook = service::load(&st, &id).await?;
    let mut items = st.backend.registry.list_bindings(&webhook.id).await?;
    items.sort_by_key(|b| b.id);
    let page = page.request();
    if let Some(c) = &page.cursor {
        let after = BindingId::parse(&cursor::decode(c)?).map_err(|_| StoreError::InvalidCursor)?;
        items.retain(|b| b.id > after);
    }
    let limit = page.limit as usize;
    let next_cursor = (items.len() > limit).then(|| cursor::encode(&items[limit - 1].id.to_string()));
    items.truncate(limit);
    Ok(Json(ListPage { items, next_cursor }))
}

/// Remove a binding
#[utoipa::path(delete, operation_id = "removeBinding", path = "/v1/webhooks/{id}/bindings/{binding_id}", tag = "webhooks",
    params(WebhookPath, ("binding_id" = String, Path, description = "The binding's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `BINDING_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn remove_binding(
    State(st): St,
    Path((id, binding_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    service::remove_binding(&st, &id, &binding_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitRequest {
    pub binding_id: BindingId,
    /// A string, number or boolean; compared with the payload's value as text.
    pub correlation_value: serde_json::Value,
}

/// Register a waiting instance
///
/// The process engine registers an instance waiting at a resume binding.
#[utoipa::path(put, operation_id = "putWaiter", path = "/v1/webhooks/{id}/waiters/{instance_id}", tag = "webhooks",
    params(WebhookPath, ("instance_id" = String, Path, description = "The process instance (1 to 256 characters)")),
    request_body = WaitRequest,
    responses(
        (status = 200, body = Waiter),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `BINDING_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CORRELATION_VALUE_TAKEN`", body = ErrorSchema),
    ))]
pub(super) async fn put_waiter(
    State(st): St,
    Path((id, instance)): Path<(String, String)>,
    ApiJson(req): ApiJson<WaitRequest>,
) -> Result<Json<Waiter>, ApiError> {
    Ok(Json(service::register_waiter(&st, &id, instance, req.binding_id, &req.correlation_value).await?))
}

/// Stop an instance waiting
#[utoipa::path(delete, operation_id = "removeWaiter", path = "/v1/webhooks/{id}/waiters/{instance_id}", tag = "webhooks",
    params(WebhookPath, ("instance_id" = String, Path, description = "The process instance")),
    responses(
        (status = 204, description = "No longer waiting"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `WAITER_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn remove_waiters(
    State(st): St,
    Path((id, instance)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    service::remove_waiters(&st, &id, &instance).await?;
    Ok(StatusCode::NO_CONTENT)
}
