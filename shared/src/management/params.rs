//! Config parameters: named values kept in the secret store, referenced as
//! `${configParam.name}` inside secret values and resolved when the webhook is saved.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ManagementState};
use crate::domain::ProviderSecret;
use crate::error::{ApiError, ErrorCode};
use crate::openapi::ErrorSchema;
use crate::secret::SecretString;

type St = State<Arc<ManagementState>>;

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new().routes(routes!(put_param, delete_param))
}

fn secret_name(name: &str) -> String {
    format!("hookbridge/config/{name}")
}

pub fn valid_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok { Ok(()) } else { Err(ApiError::invalid("name", "1 to 128 letters, digits, '_', '-', '.'")) }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ParamValue {
    pub value: SecretString,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Saved {
    name: String,
}

/// Save a config parameter
///
/// Creates or replaces a parameter. Its value is never shown again.
#[utoipa::path(put, operation_id = "putConfigParam", path = "/v1/config-params/{name}", tag = "config", params(("name" = String, Path, description = "1 to 128 letters, digits, `_`, `-`, `.`")), request_body = ParamValue,
    responses(
        (status = 200, body = Saved),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
    ))]
async fn put_param(
    State(st): St,
    Path(name): Path<String>,
    ApiJson(req): ApiJson<ParamValue>,
) -> Result<Json<Saved>, ApiError> {
    valid_name(&name)?;
    st.backend.secrets.put_secret(&secret_name(&name), &req.value).await?;
    Ok(Json(Saved { name }))
}

/// Delete a config parameter
#[utoipa::path(delete, operation_id = "deleteConfigParam", path = "/v1/config-params/{name}", tag = "config", params(("name" = String, Path, description = "1 to 128 letters, digits, `_`, `-`, `.`")),
    responses(
        (status = 204, description = "Deleted (webhooks saved with it keep the value they resolved)"),
        (status = 400, description = "`VALIDATION_FAILED`", body = ErrorSchema),
    ))]
async fn delete_param(State(st): St, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    valid_name(&name)?;
    st.backend.secrets.delete_secret(&secret_name(&name)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Replaces every `${configParam.name}` in one value.
async fn resolve_value(st: &ManagementState, value: &SecretString) -> Result<SecretString, ApiError> {
    const OPEN: &str = "${configParam.";
    let text = value.expose();
    if !text.contains(OPEN) {
        return Ok(value.clone());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len()..];
        let end = after.find('}').ok_or_else(|| ApiError::invalid("providerSecret", "unclosed ${configParam."))?;
        let name = &after[..end];
        valid_name(name)?;
        let param = st.backend.secrets.get_secret(&secret_name(name)).await?.ok_or_else(|| {
            ApiError::new(ErrorCode::CONFIG_PARAM_NOT_FOUND, format!("providerSecret: no config parameter {name:?}"))
        })?;
        out.push_str(param.expose());
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(SecretString::new(out))
}

/// Resolves the references in a provider secret (when a webhook is saved or rotated).
pub(super) async fn resolve(
    st: &ManagementState,
    secret: Option<ProviderSecret>,
) -> Result<Option<ProviderSecret>, ApiError> {
    Ok(match secret {
        None => None,
        Some(ProviderSecret::Plain(s)) => Some(ProviderSecret::Plain(resolve_value(st, &s).await?)),
        Some(ProviderSecret::GenericHmac(mut g)) => {
            g.secret = resolve_value(st, &g.secret).await?;
            Some(ProviderSecret::GenericHmac(g))
        }
        Some(ProviderSecret::Meta { verify_token, app_secret }) => Some(ProviderSecret::Meta {
            verify_token: match verify_token {
                Some(v) => Some(resolve_value(st, &v).await?),
                None => None,
            },
            app_secret: match app_secret {
                Some(v) => Some(resolve_value(st, &v).await?),
                None => None,
            },
        }),
    })
}
