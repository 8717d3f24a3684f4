//! What a webhook is reached and verified with: its URL (with the API key), the key's
//! reset, and the provider secret's rotation.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::{HeaderMap, Uri};
use serde::{Deserialize, Serialize};

use super::{WebhookPath, ingress_url, public_base, service};
use crate::domain::provider_spec::SecretShape;
use crate::domain::{Provider, ProviderSecret};
use crate::error::{ApiError, ErrorCode};
use crate::management::{ApiJson, ManagementState};
use crate::openapi::ErrorSchema;

type St = State<Arc<ManagementState>>;

#[derive(Serialize, utoipa::ToSchema)]
pub(super) struct UrlView {
    url: String,
}

/// Show a webhook's ingress URL (with its API key)
///
/// The one endpoint (with the reset) that shows the API key: it is part of the URL.
#[utoipa::path(get, operation_id = "getWebhookUrl", path = "/v1/webhooks/{id}/url", tag = "webhooks", params(WebhookPath),
    responses((status = 200, body = UrlView), (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema)))]
pub(super) async fn url(
    State(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<UrlView>, ApiError> {
    let webhook = service::load(&st, &id).await?;
    let secrets = service::load_secrets(&st, &webhook).await?;
    Ok(Json(UrlView { url: ingress_url(&public_base(&st, &headers, &uri), &webhook, &secrets.api_key) }))
}

/// Reset a webhook's API key
///
/// A new key; the old one fails from now on (in AWS, once warm caches expire).
#[utoipa::path(post, operation_id = "resetApiKey", path = "/v1/webhooks/{id}/api-key", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, description = "The new URL; the old key fails from now on", body = UrlView),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn reset_api_key(
    State(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<UrlView>, ApiError> {
    let (webhook, key) = service::reset_api_key(&st, &id).await?;
    Ok(Json(UrlView { url: ingress_url(&public_base(&st, &headers, &uri), &webhook, &key) }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateProviderSecret {
    #[serde(deserialize_with = "provider_secret")]
    pub provider_secret: ProviderSecret,
    /// How long the previous secret keeps verifying: 0 to 7 days, default 24 hours.
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub overlap_seconds: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ProviderSecretRotated {
    previous_valid_until: Option<DateTime<Utc>>,
}

/// Rotate a webhook's provider secret
///
/// Replaces the provider secret independently of the API key; the previous one keeps
/// verifying for the overlap window, so the provider can be switched over without loss.
#[utoipa::path(put, operation_id = "rotateProviderSecret", path = "/v1/webhooks/{id}/provider-secret", tag = "webhooks", params(WebhookPath),
    request_body = RotateProviderSecret,
    responses(
        (status = 200, body = ProviderSecretRotated),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`, `WEBHOOK_META_SECRETS_REQUIRED`, `CONFIG_PARAM_NOT_FOUND`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn rotate_provider_secret(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RotateProviderSecret>,
) -> Result<Json<ProviderSecretRotated>, ApiError> {
    let overlap = req.overlap_seconds.unwrap_or(86_400);
    let until = service::rotate_provider_secret(&st, &id, req.provider_secret, overlap).await?;
    Ok(Json(ProviderSecretRotated { previous_valid_until: until }))
}

/// A provider secret from a request: GENERIC_HMAC's `toleranceSeconds` may be spelled as a
/// whole float, like every integer of the API (see [`crate::domain::limits::whole`]).
fn provider_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ProviderSecret, D::Error> {
    let mut value = serde_json::Value::deserialize(d)?;
    crate::domain::limits::whole::normalize(&mut value, &["toleranceSeconds"]);
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

pub(super) fn optional_provider_secret<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ProviderSecret>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        value => provider_secret(value).map(Some).map_err(serde::de::Error::custom),
    }
}

/// Checks a provider secret's shape against the provider's catalog entry.
pub fn validate_provider_secret(provider: Provider, secret: &Option<ProviderSecret>) -> Result<(), ApiError> {
    crate::providers::check_secret(provider, secret.as_ref()).map_err(|reason| {
        if provider.spec().secret == SecretShape::MetaPair {
            ApiError::new(ErrorCode::WEBHOOK_META_SECRETS_REQUIRED, format!("providerSecret: {reason}"))
        } else if reason.starts_with("providerSecret") {
            ApiError::validation(reason)
        } else {
            ApiError::invalid("providerSecret", reason)
        }
    })
}
