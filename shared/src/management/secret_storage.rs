//! Operating the secret storage: rotating the data keys of envelope storage, and moving
//! every secret into the configured storage after `SecretStorage` changed (docs/aws.md).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ManagementState;
use crate::error::{ApiError, ErrorCode};
use crate::openapi::ErrorSchema;
use crate::ports::{KeyRotation, PageRequest};

type St = State<Arc<ManagementState>>;

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new().routes(routes!(rotate_key)).routes(routes!(migrate))
}

#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RotateKey {
    /// Add a new data key first (default); `false` only seals again under the current one
    /// (after the keys secret was changed by hand).
    new_key: Option<bool>,
}

/// Rotate the data keys
///
/// Envelope storage: adds a data key, makes it current, and seals every secret again under
/// it (the previous keys still open what a concurrent write sealed meanwhile).
#[utoipa::path(post, operation_id = "rotateDataKey", path = "/v1/secrets/rotate-key", tag = "secrets",
    request_body(content = RotateKey, description = "Optional", content_type = "application/json"),
    responses(
        (status = 200, body = KeyRotation),
        (status = 400, description = "`INVALID_REQUEST_BODY`", body = ErrorSchema),
        (status = 409, description = "`KEY_ROTATION_UNSUPPORTED`", body = ErrorSchema),
    ))]
async fn rotate_key(
    State(st): St,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<KeyRotation>, ApiError> {
    let body =
        body.map_err(|_| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, "the request body could not be read"))?;
    // The body is optional.
    let req: RotateKey = if body.iter().all(u8::is_ascii_whitespace) {
        RotateKey::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, e.to_string()))?
    };
    let new_key = req.new_key.unwrap_or(true);
    let rotated = st.backend.secrets.rotate_keys(new_key).await?.ok_or_else(|| {
        ApiError::new(ErrorCode::KEY_ROTATION_UNSUPPORTED, "secrets here are not sealed under data keys")
    })?;
    tracing::info!(current_key = %rotated.current_key, resealed = rotated.resealed, "data keys rotated");
    Ok(Json(rotated))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Migrated {
    /// Secrets read (from whichever storage held them) and written to the configured one.
    copied: u64,
}

/// Move secrets into the configured storage
///
/// Reads every webhook's and connector's secret document (the configured storage first,
/// the other one for what is not there yet) and writes it to the configured storage. Run
/// once after changing `SecretStorage`; then the other storage's copies can be deleted.
#[utoipa::path(post, operation_id = "migrateSecrets", path = "/v1/secrets/migrate", tag = "secrets",
    responses((status = 200, body = Migrated)))]
async fn migrate(State(st): St) -> Result<Json<Migrated>, ApiError> {
    let mut names = Vec::new();
    let mut cursor = None;
    loop {
        let page = st.backend.registry.list_webhooks(None, PageRequest { cursor, limit: 1000 }).await?;
        names.extend(page.items.iter().map(|w| crate::registration::webhook_secret_name(&w.id)));
        if page.next.is_none() {
            break;
        }
        cursor = page.next;
    }
    let mut cursor = None;
    loop {
        let page = st.backend.connectors.list_connectors(PageRequest { cursor, limit: 1000 }).await?;
        names.extend(page.items.iter().map(|c| crate::dispatch::connector_secret_name(&c.id)));
        if page.next.is_none() {
            break;
        }
        cursor = page.next;
    }
    let mut copied = 0;
    for name in &names {
        if let Some(value) = st.backend.secrets.get_secret(name).await? {
            st.backend.secrets.put_secret(name, &value).await?;
            copied += 1;
        }
    }
    tracing::info!(copied, "secrets moved into the configured storage");
    Ok(Json(Migrated { copied }))
}
