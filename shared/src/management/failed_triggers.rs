//! Failed triggers: events that passed authentication but could not start or resume their
//! processes, with the cause; an operator lists them and replays them through fan-out.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ListPage, ManagementState, PageQuery, Paged};
use crate::domain::{EventEnvelope, EventId, FailedTrigger, FailedTriggerId, WebhookId};
use crate::error::{ApiError, ErrorCode};
use crate::openapi::ErrorSchema;

type St = State<Arc<ManagementState>>;

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(read)).routes(routes!(replay))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct FailedTriggerFilter {
    webhook_id: Option<WebhookId>,
    /// Only those that failed at or after this time.
    since: Option<DateTime<Utc>>,
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::FAILED_TRIGGER_NOT_FOUND, "no such failed trigger")
}

/// List failed triggers
///
/// Events that passed authentication but could not start or resume their processes, newest
/// first, optionally for one webhook and since a time.
#[utoipa::path(get, operation_id = "listFailedTriggers", path = "/v1/failed-triggers", tag = "triggers", params(PageQuery, FailedTriggerFilter), responses(
    (status = 200, body = ListPage<FailedTrigger>),
    (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
))]
async fn list(
    State(st): St,
    Paged(page, q): Paged<FailedTriggerFilter>,
) -> Result<Json<ListPage<FailedTrigger>>, ApiError> {
    let page = st.backend.registry.list_failed_triggers(q.webhook_id.as_ref(), page.request()).await?;
    // Newest first: once one is older than `since`, the rest are too.
    let mut items = page.items;
    let mut next = page.next;
    if let Some(since) = q.since {
        let before = items.len();
        items.retain(|t| t.failed_at >= since);
        if items.len() < before {
            next = None;
        }
    }
    Ok(Json(ListPage { items, next_cursor: next }))
}

async fn load(st: &ManagementState, id: &str) -> Result<FailedTrigger, ApiError> {
    let id = FailedTriggerId::parse(id).map_err(|_| not_found())?;
    st.backend.registry.get_failed_trigger(&id).await?.ok_or_else(not_found)
}

/// Read a failed trigger
#[utoipa::path(get, operation_id = "getFailedTrigger", path = "/v1/failed-triggers/{id}", tag = "triggers",
    params(("id" = String, Path, description = "The failed trigger's id")),
    responses(
        (status = 200, body = FailedTrigger),
        (status = 404, description = "`FAILED_TRIGGER_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn read(State(st): St, Path(id): Path<String>) -> Result<Json<FailedTrigger>, ApiError> {
    Ok(Json(load(&st, &id).await?))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Replayed {
    event_id: EventId,
    failed_trigger: FailedTrigger,
}

/// Replay a failed trigger
///
/// Runs the stored event through the door again (a resume webhook resolves its waiting
/// instance anew) and queues it for fan-out. 202 once queued; 422 if it still resumes
/// nothing.
#[utoipa::path(post, operation_id = "replayFailedTrigger", path = "/v1/failed-triggers/{id}/replay", tag = "triggers",
    params(("id" = String, Path, description = "The failed trigger's id")),
    responses(
        (status = 202, body = Replayed),
        (status = 404, description = "`FAILED_TRIGGER_NOT_FOUND`, `WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 410, description = "`EVENT_EXPIRED`", body = ErrorSchema),
        (status = 422, description = "`CORRELATION_KEY_UNRESOLVED`, `NO_WAITING_INSTANCE`", body = ErrorSchema),
    ))]
async fn replay(State(st): St, Path(id): Path<String>) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let mut trigger = load(&st, &id).await?;
    let bytes = st
        .backend
        .blobs
        .get_blob(&trigger.event_ref)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::EVENT_EXPIRED, "the failed event's payload is no longer stored"))?;
    let envelope: EventEnvelope = serde_json::from_slice(&bytes).map_err(|e| ApiError::Internal(Box::new(e)))?;
    st.cache.invalidate(&envelope.webhook_id);
    let reg = st
        .cache
        .get(&st.backend, &envelope.webhook_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::WEBHOOK_NOT_FOUND, "the webhook no longer exists"))?;
    crate::accept::accept(&st.backend, &st.queues, crate::accept::MAX_MESSAGE_BYTES, &reg, &envelope).await?;
    trigger.replayed_at = Some(st.backend.clock.now());
    st.backend.registry.put_failed_trigger(&trigger).await?;
    tracing::info!(failed_trigger = %trigger.id, event_id = %envelope.event_id, "failed trigger replayed");
    Ok((StatusCode::ACCEPTED, Json(Replayed { event_id: envelope.event_id, failed_trigger: trigger })))
}
