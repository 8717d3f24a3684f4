//! The Manage Triggers table: one row per webhook with its state and trigger type.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use super::WebhookFilter;
use crate::domain::{Location, Provider, TriggerType, WebhookId, WebhookName, WebhookState};
use crate::error::ApiError;
use crate::management::{ListPage, ManagementState, PageQuery, Paged};
use crate::openapi::ErrorSchema;

/// One row of the Manage Triggers view.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct TriggerRow {
    webhook_id: WebhookId,
    /// The event name: the webhook's name.
    event_name: WebhookName,
    provider: Provider,
    state: WebhookState,
    /// START_PROCESS or RESUME_PROCESS; none while unbound.
    trigger_type: Option<TriggerType>,
    location: Location,
    binding_count: usize,
}

/// The Manage Triggers view
///
/// The Manage Triggers view: one row per webhook, filtered by location and state.
#[utoipa::path(get, operation_id = "listTriggers", path = "/v1/triggers", tag = "triggers", params(PageQuery, WebhookFilter),
    responses(
        (status = 200, body = ListPage<TriggerRow>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`, `VALIDATION_FAILED`", body = ErrorSchema),
    ))]
pub(super) async fn triggers(
    State(st): State<Arc<ManagementState>>,
    Paged(page, filter): Paged<WebhookFilter>,
) -> Result<Json<ListPage<TriggerRow>>, ApiError> {
    let (location, wanted) = filter.parse()?;
    let page = st.backend.registry.list_webhooks(location.as_ref(), page.request()).await?;
    let mut items = Vec::with_capacity(page.items.len());
    for w in page.items.into_iter().filter(|w| wanted(w)) {
        let bindings = st.backend.registry.list_bindings(&w.id).await?;
        items.push(TriggerRow {
            webhook_id: w.id,
            event_name: w.name,
            provider: w.provider,
            state: w.state,
            trigger_type: bindings.first().map(|b| b.kind.trigger_type()),
            location: w.location,
            binding_count: bindings.len(),
        });
    }
    Ok(Json(ListPage { items, next_cursor: page.next }))
}
