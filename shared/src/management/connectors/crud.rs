//! Create, list, read, change and delete connectors.

use super::*;

/// Create a connector
#[utoipa::path(post, operation_id = "createConnector", path = "/v1/connectors", tag = "connectors", request_body = CreateConnector,
    responses(
        (status = 201, body = ConnectorView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`", body = ErrorSchema),
    ))]
pub(super) async fn create(
    State(st): St,
    ApiJson(req): ApiJson<CreateConnector>,
) -> Result<(StatusCode, Json<ConnectorView>), ApiError> {
    let (connector, secrets) = req.build(st.backend.clock.now())?;
    let name = connector_secret_name(&connector.id);
    st.backend.secrets.put_secret(&name, &secrets.to_secret()).await?;
    if let Err(e) = st.backend.connectors.create_connector(&connector).await {
        let _ = st.backend.secrets.delete_secret(&name).await;
        return Err(name_taken(e));
    }
    st.dispatcher.invalidate();
    warn_insecure(&connector);
    Ok((StatusCode::CREATED, Json(connector.into())))
}

/// List connectors
#[utoipa::path(get, operation_id = "listConnectors", path = "/v1/connectors", tag = "connectors", params(PageQuery),
    responses(
        (status = 200, body = ListPage<ConnectorView>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
    ))]
pub(super) async fn list(
    State(st): St,
    Paged(page, NoFilter {}): Paged<NoFilter>,
) -> Result<Json<ListPage<ConnectorView>>, ApiError> {
    let page = st.backend.connectors.list_connectors(page.request()).await?;
    Ok(Json(ListPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next }))
}

/// Read a connector
#[utoipa::path(get, operation_id = "getConnector", path = "/v1/connectors/{id}", tag = "connectors", params(ConnectorPath),
    responses((status = 200, body = ConnectorView), (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema)))]
pub(super) async fn read(State(st): St, Path(id): Path<String>) -> Result<Json<ConnectorView>, ApiError> {
    Ok(Json(load(&st, &id).await?.into()))
}

/// Change a connector
#[utoipa::path(patch, operation_id = "updateConnector", path = "/v1/connectors/{id}", tag = "connectors", params(ConnectorPath), request_body = UpdateConnector,
    responses(
        (status = 200, body = ConnectorView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`, `CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn update(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateConnector>,
) -> Result<Json<ConnectorView>, ApiError> {
    let mut c = load(&st, &id).await?;
    let read = crate::management::secrets::read(&st, connector_secret_name(&c.id)).await?;
    let mut secrets = secrets_of(read.value.as_ref())?;
    let secrets_changed = req.apply(&mut c, &mut secrets)?;
    c.version += 1;
    c.updated_at = st.backend.clock.now();
    // The secrets first, only over the version read; a refused connector update puts them
    // back, so a 409 changes nothing.
    let written = if secrets_changed { Some(read.write(&st, &secrets.to_secret()).await?) } else { None };
    if let Err(e) = st.backend.connectors.update_connector(&c).await {
        if let Some(w) = written {
            w.undo(&st).await;
        }
        return Err(name_taken(e));
    }
    st.dispatcher.invalidate();
    warn_insecure(&c);
    Ok(Json(c.into()))
}

/// Delete a connector
#[utoipa::path(delete, operation_id = "deleteConnector", path = "/v1/connectors/{id}", tag = "connectors", params(ConnectorPath),
    responses((status = 204, description = "Deleted with its secrets"), (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema)))]
pub(super) async fn remove(State(st): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let c = load(&st, &id).await?;
    st.backend.connectors.delete_connector(&c.id).await?;
    st.backend.secrets.delete_secret(&connector_secret_name(&c.id)).await?;
    st.dispatcher.invalidate();
    Ok(StatusCode::NO_CONTENT)
}
