//! Deliveries: immediate calls, the delivery log, redelivery and recovery.

use super::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DeliveryQuery {
    connector_id: Option<ConnectorId>,
    status: Option<DeliveryStatus>,
}

/// What `invoke` takes: an event to deliver now, or a flow step's call (told apart by
/// `path`, which only a call has).
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum InvokeRequest {
    Event(OutboundEvent),
    Call(FlowCall),
}

impl<'de> Deserialize<'de> for InvokeRequest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read as text first: a call's body must reach the endpoint byte for byte.
        let raw = Box::<serde_json::value::RawValue>::deserialize(d)?;
        #[derive(Deserialize)]
        struct Peek {
            path: Option<serde::de::IgnoredAny>,
        }
        let peek: Peek = serde_json::from_str(raw.get()).map_err(serde::de::Error::custom)?;
        if peek.path.is_some() {
            serde_json::from_str(raw.get()).map(InvokeRequest::Call).map_err(serde::de::Error::custom)
        } else {
            serde_json::from_str(raw.get()).map(InvokeRequest::Event).map_err(serde::de::Error::custom)
        }
    }
}

/// What `invoke` answers: the delivery's outcome, or the call's answer.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub(super) enum InvokeAnswer {
    Delivered(ImmediateResult),
    Called(CallResult),
}

/// Call a connector now
///
/// With an event (`{id, type, occurredAt, data}`): delivers it now, as a delivery would be
/// (template, auth, signing), and answers the endpoint's response. With a flow step's call
/// (`{method?, path, headers?, body}`): sends the body exactly as given to the connector's
/// base URL + `path`, with its auth, headers and signing, and answers `{status, headers,
/// body}` (body parsed when JSON) within the connector's timeout. Both are logged as
/// deliveries and never retried.
#[utoipa::path(post, operation_id = "invokeConnector", path = "/v1/connectors/{id}/invoke", tag = "connectors", params(ConnectorPath), request_body = InvokeRequest,
    responses(
        (status = 200, description = "The endpoint's answer (or why there was none)", body = InvokeAnswer),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `INVALID_EVENT`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn invoke(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<InvokeRequest>,
) -> Result<Json<InvokeAnswer>, ApiError> {
    let c = load(&st, &id).await?;
    let answer = match req {
        InvokeRequest::Event(event) => {
            st.dispatcher.invoke(&c.id, &event).await.map(|r| r.map(InvokeAnswer::Delivered))
        }
        InvokeRequest::Call(call) => st.dispatcher.call(&c.id, &call).await.map(|r| r.map(InvokeAnswer::Called)),
    };
    match answer {
        Ok(Some(result)) => Ok(Json(result)),
        Ok(None) => Err(not_found()),
        Err(IntakeError::Invalid(m)) => Err(ApiError::new(ErrorCode::INVALID_EVENT, m)),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
}

/// One connector's delivery of an event, as a flow step shows it.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct EventDelivery {
    delivery_id: DeliveryId,
    connector_id: ConnectorId,
    connector_name: ConnectorName,
    status: DeliveryStatus,
    attempts: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_attempt: Option<crate::domain::DeliveryAttempt>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_attempt_at: Option<DateTime<Utc>>,
}

/// Every delivery of one event
///
/// The status of every delivery made for a source event (the status a process step shows):
/// one per connector that received it, with its last attempt. Batched audit deliveries
/// carry several events under one id and are not listed here.
#[utoipa::path(get, operation_id = "listEventDeliveries", path = "/v1/events/{event_id}/deliveries", tag = "connectors",
    params(("event_id" = String, Path, description = "The event's id, as it was emitted (1 to 256 characters)")),
    responses((status = 200, body = Vec<EventDelivery>), (status = 400, description = "`VALIDATION_FAILED`", body = ErrorSchema)))]
pub(super) async fn event_deliveries(
    State(st): St,
    Path(event_id): Path<String>,
) -> Result<Json<Vec<EventDelivery>>, ApiError> {
    if event_id.is_empty() || event_id.chars().count() > 256 {
        return Err(ApiError::invalid("eventId", "must be 1 to 256 characters"));
    }
    // A delivery's id is derived from the event and the connector: one lookup each.
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = st.backend.connectors.list_connectors(crate::ports::PageRequest { cursor, limit: 1000 }).await?;
        for c in page.items {
            let id = crate::domain::delivery_id(&event_id, &c.id);
            if let Some(d) = st.backend.deliveries.get_delivery(&id).await? {
                out.push(EventDelivery {
                    delivery_id: d.id,
                    connector_id: c.id,
                    connector_name: c.name,
                    status: d.status,
                    attempts: d.attempts.len(),
                    last_attempt: d.attempts.last().cloned(),
                    next_attempt_at: d.next_attempt_at,
                });
            }
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    Ok(Json(out))
}

/// List deliveries
#[utoipa::path(get, operation_id = "listDeliveries", path = "/v1/deliveries", tag = "connectors", params(PageQuery, DeliveryQuery),
    responses(
        (status = 200, body = ListPage<DeliveryRecord>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
    ))]
pub(super) async fn list_deliveries(
    State(st): St,
    Paged(page, q): Paged<DeliveryQuery>,
) -> Result<Json<ListPage<DeliveryRecord>>, ApiError> {
    let filter = DeliveryFilter { connector: q.connector_id, status: q.status };
    let page = st.backend.deliveries.list_deliveries(&filter, page.request()).await?;
    Ok(Json(ListPage { items: page.items, next_cursor: page.next }))
}

pub(super) fn delivery_not_found() -> ApiError {
    ApiError::new(ErrorCode::DELIVERY_NOT_FOUND, "no such delivery")
}

/// Read a delivery with every attempt
#[utoipa::path(get, operation_id = "getDelivery", path = "/v1/deliveries/{id}", tag = "connectors", params(("id" = String, Path, description = "The delivery's id")),
    responses((status = 200, body = DeliveryRecord), (status = 404, description = "`DELIVERY_NOT_FOUND`", body = ErrorSchema)))]
pub(super) async fn read_delivery(State(st): St, Path(id): Path<String>) -> Result<Json<DeliveryRecord>, ApiError> {
    let id = DeliveryId::parse(&id).map_err(|_| delivery_not_found())?;
    st.backend.deliveries.get_delivery(&id).await?.map(Json).ok_or_else(delivery_not_found)
}

/// Deliver again
#[utoipa::path(post, operation_id = "redeliver", path = "/v1/deliveries/{id}/redeliver", tag = "connectors", params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 202, description = "Queued for a new attempt", body = DeliveryRecord),
        (status = 404, description = "`DELIVERY_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn redeliver(
    State(st): St,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<DeliveryRecord>), ApiError> {
    let id = DeliveryId::parse(&id).map_err(|_| delivery_not_found())?;
    let record = st.dispatcher.redeliver(&id).await?.ok_or_else(delivery_not_found)?;
    Ok((StatusCode::ACCEPTED, Json(record)))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(super) struct RecoverQuery {
    since: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct Recovered {
    redelivered: usize,
}

/// Redeliver what failed since a time
///
/// Redelivers every failed delivery of the connector since a time (after an outage).
#[utoipa::path(post, operation_id = "recoverDeliveries", path = "/v1/connectors/{id}/recover", tag = "connectors", params(ConnectorPath, RecoverQuery),
    responses(
        (status = 202, body = Recovered),
        (status = 400, description = "`INVALID_QUERY`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn recover(
    State(st): St,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RecoverQuery>,
) -> Result<(StatusCode, Json<Recovered>), ApiError> {
    let c = load(&st, &id).await?;
    let redelivered = st.dispatcher.recover(&c.id, q.since).await?;
    Ok((StatusCode::ACCEPTED, Json(Recovered { redelivered })))
}
