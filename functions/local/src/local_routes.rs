//! `/local/*`: what a process engine uses in local mode instead of SQS.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use hookbridge::dispatch::IntakeError;
use hookbridge::domain::QueueRef;
use hookbridge::domain::{DeliveryId, OutboundEvent};
use hookbridge::error::{ApiError, ErrorCode};
use hookbridge::management::{ApiJson, ApiQuery, ManagementState, require_admin};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReceiveQuery {
    /// 1 to 10, default 10.
    max: Option<u32>,
    /// Seconds to wait for a first message, 0 to 20, default 0.
    wait: Option<u64>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LocalMessage {
    message_id: String,
    receive_count: u32,
    /// The message parsed as JSON (every hookbridge message is JSON), else as a string.
    body: serde_json::Value,
}

#[derive(Serialize)]
struct Received {
    messages: Vec<LocalMessage>,
}

pub fn router(state: Arc<ManagementState>) -> Router {
    Router::new()
        .route("/local/queues/{name}/receive", post(receive))
        .route("/local/queues/{name}", axum::routing::get(depth))
        .route("/local/events", post(events))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), require_admin))
        .with_state(state)
}

/// Receives up to `max` messages and deletes them: the caller takes responsibility.
async fn receive(
    State(st): State<Arc<ManagementState>>,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<ReceiveQuery>,
) -> Result<Json<Received>, ApiError> {
    let queue = QueueRef::parse(&name)?;
    let max = q.max.unwrap_or(10).clamp(1, 10);
    let wait = Duration::from_secs(q.wait.unwrap_or(0).min(20));
    let got = st.backend.queues.receive(&queue, max, Duration::from_secs(30), wait).await?;
    let receipts: Vec<String> = got.iter().map(|m| m.receipt_handle.clone()).collect();
    st.backend.queues.delete_batch(&queue, &receipts).await?;
    let mut messages = Vec::with_capacity(got.len());
    for m in got {
        let body = serde_json::from_str(&m.body).unwrap_or(serde_json::Value::String(m.body));
        messages.push(LocalMessage { message_id: m.message_id, receive_count: m.receive_count, body });
    }
    Ok(Json(Received { messages }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventBatch {
    events: Vec<OutboundEvent>,
}

#[derive(Serialize)]
struct Accepted {
    deliveries: Vec<DeliveryId>,
}

/// An audit-stream batch, as the dispatch Lambda takes by direct invocation: every event
/// goes to each matching connector. 202 once every delivery is recorded and queued.
async fn events(
    State(st): State<Arc<ManagementState>>,
    ApiJson(batch): ApiJson<EventBatch>,
) -> Result<(http::StatusCode, Json<Accepted>), ApiError> {
    match st.dispatcher.intake(&batch.events).await {
        Ok(deliveries) => Ok((http::StatusCode::ACCEPTED, Json(Accepted { deliveries }))),
        Err(IntakeError::Invalid(m)) => Err(ApiError::new(ErrorCode::INVALID_EVENT, m)),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

#[derive(Serialize)]
struct Depth {
    /// Messages held: visible, delayed and in flight.
    depth: u64,
}

/// How many messages a local queue holds (for operators and load tests).
async fn depth(State(st): State<Arc<ManagementState>>, Path(name): Path<String>) -> Result<Json<Depth>, ApiError> {
    let queue = QueueRef::parse(&name)?;
    Ok(Json(Depth { depth: st.backend.queues.depth(&queue).await? }))
}
