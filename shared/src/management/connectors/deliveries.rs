//! Deliveries: immediate calls, the delivery log, redelivery and recovery.

use super::*;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct DeliveryQuery {
    connector_id: Option<ConnectorId>,
    status: Option<DeliveryStatus>,
}

/// Call a connector now
#[utoipa::path(post, operation_id = "invokeConnector", path = "/v1/connectors/{id}/invoke", tag = "connectors", params(ConnectorPath), request_body = OutboundEvent,
    responses(
        (status = 200, description = "The endpoint's answer (or why there was none)", body = ImmediateResult),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `INVALID_EVENT`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema),
    ))]
pub(super) async fn invoke(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(event): ApiJson<OutboundEvent>,
) -> Result<Json<ImmediateResult>, ApiError> {
    let c = load(&st, &id).await?;
    match st.dispatcher.invoke(&c.id, &event).await {
        Ok(Some(result)) => Ok(Json(result)),
        Ok(None) => Err(not_found()),
        Err(IntakeError::Invalid(m)) => Err(ApiError::new(ErrorCode::INVALID_EVENT, m)),
        Err(IntakeError::Store(e)) => Err(e.into()),
    }
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
