//! Create, list, read, change and delete webhooks.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::Deserialize;

use super::service::{self, NewWebhook, WebhookChange};
use super::{WebhookFilter, WebhookPath, WebhookView};
use crate::domain::{Location, Provider, ProviderSecret, WebhookName};
use crate::error::ApiError;
use crate::management::helpers::HelperInput;
use crate::management::{ApiJson, ListPage, ManagementState, PageQuery, Paged};
use crate::openapi::ErrorSchema;

type St = State<Arc<ManagementState>>;

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    pub name: WebhookName,
    #[serde(default)]
    pub description: String,
    pub provider: Provider,
    pub location: Location,
    /// A string, or Meta's `{"verifyToken", "appSecret"}`.
    #[serde(default, deserialize_with = "super::credentials::optional_provider_secret")]
    pub provider_secret: Option<ProviderSecret>,
    /// Called on activation (see `helpers`).
    pub registration: Option<HelperInput>,
    /// Called on deactivation.
    pub deregistration: Option<HelperInput>,
}

/// Create a webhook
#[utoipa::path(post, operation_id = "createWebhook", path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created inactive; `GET /v1/webhooks/{id}/url` shows its URL", body = WebhookView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`, `WEBHOOK_META_SECRETS_REQUIRED`, `CONFIG_PARAM_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`", body = ErrorSchema),
    ))]
pub(super) async fn create(
    State(st): St,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let new = NewWebhook {
        name: req.name,
        description: req.description,
        provider: req.provider,
        location: req.location,
        provider_secret: req.provider_secret,
        registration: req.registration,
        deregistration: req.deregistration,
    };
    Ok((StatusCode::CREATED, Json(service::create(&st, new).await?.into())))
}

/// List webhooks
#[utoipa::path(get, operation_id = "listWebhooks", path = "/v1/webhooks", tag = "webhooks", params(PageQuery, WebhookFilter),
    responses(
        (status = 200, body = ListPage<WebhookView>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`, `VALIDATION_FAILED`", body = ErrorSchema),
    ))]
pub(super) async fn list(
    State(st): St,
    Paged(page, filter): Paged<WebhookFilter>,
) -> Result<Json<ListPage<WebhookView>>, ApiError> {
    let (location, wanted) = filter.parse()?;
    let page = st.backend.registry.list_webhooks(location.as_ref(), page.request()).await?;
    let items = page.items.into_iter().filter(|w| wanted(w));
    Ok(Json(ListPage { items: items.map(Into::into).collect(), next_cursor: page.next }))
}

/// Read a webhook
#[utoipa::path(get, operation_id = "getWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses((status = 200, body = WebhookView), (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema)))]
pub(super) async fn read(State(st): St, Path(id): Path<String>) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(service::load(&st, &id).await?.into()))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    pub name: Option<WebhookName>,
    pub description: Option<String>,
    /// Accepted only when unchanged: the provider is fixed once saved.
    pub provider: Option<Provider>,
    /// A new helper, or `null` to remove it.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub registration: Option<Option<HelperInput>>,
    #[serde(default, with = "serde_with::rust::double_option")]
    pub deregistration: Option<Option<HelperInput>>,
}

/// Change a webhook
///
/// Renames or re-describes a webhook (names stay unique per location).
#[utoipa::path(patch, operation_id = "updateWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath), request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`, `PROVIDER_IMMUTABLE`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`, `CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn update(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> Result<Json<WebhookView>, ApiError> {
    let change = WebhookChange {
        name: req.name,
        description: req.description,
        provider: req.provider,
        registration: req.registration,
        deregistration: req.deregistration,
    };
    Ok(Json(service::update(&st, &id, change).await?.into()))
}

/// Delete an inactive webhook
///
/// Deletes an inactive webhook with its bindings, waiters and secrets.
#[utoipa::path(delete, operation_id = "deleteWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 204, description = "Deleted with its bindings, waiters and secrets"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`WEBHOOK_ACTIVE`", body = ErrorSchema),
    ))]
pub(super) async fn remove(State(st): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    service::delete(&st, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}
