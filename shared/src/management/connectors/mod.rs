//! Connectors and their deliveries, by concern: [`input`] (requests as callers write them),
//! [`crud`], [`signing_secret`] and [`deliveries`] (immediate calls, the log,
//! redelivery, recovery). The checks every change makes are here.

mod crud;
mod deliveries;
mod input;
mod signing_secret;

pub use input::{AuthInput, BatchInput, CreateConnector, SigningInput, UpdateConnector};
pub use signing_secret::RotateRequest;

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiQuery, ListPage, ManagementState, NoFilter, PageQuery, Paged};
use crate::dispatch::{CallResult, FlowCall, ImmediateResult, IntakeError, connector_secret_name, signing};
use crate::domain::{
    ClientAuth, Connector, ConnectorAuth, ConnectorId, ConnectorName, ConnectorSecrets, DeliveryId, DeliveryRecord,
    DeliveryStatus, EndpointUrl, EventFilter, HttpMethod, KeyPlacement, OutboundEvent, RetryPolicy, SigningAlgorithm,
    SigningScheme, TlsSettings,
};
use crate::error::{ApiError, Conflict, ErrorCode, StoreError};
use crate::openapi::ErrorSchema;
use crate::ports::DeliveryFilter;
use crate::secret::SecretString;

type St = State<Arc<ManagementState>>;

/// The connector a path names (for the OpenAPI document; handlers take it as `Path<String>`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub(super) struct ConnectorPath {
    /// The connector's id.
    id: String,
}

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    use crud::*;
    use deliveries::*;
    use signing_secret::*;
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, update, remove))
        .routes(routes!(signing_secret))
        .routes(routes!(rotate_signing_secret))
        .routes(routes!(recover))
        .routes(routes!(invoke))
        .routes(routes!(event_deliveries))
        .routes(routes!(list_deliveries))
        .routes(routes!(read_delivery))
        .routes(routes!(redeliver))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SigningView {
    scheme: SigningScheme,
    algorithm: SigningAlgorithm,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_id: Option<String>,
}

/// A connector as the API shows it: never a credential or the signing secret.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct ConnectorView {
    id: ConnectorId,
    name: ConnectorName,
    description: String,
    base_url: EndpointUrl,
    method: HttpMethod,
    path: String,
    auth: ConnectorAuth,
    headers: BTreeMap<String, String>,
    signing: Option<SigningView>,
    trust_any_certificate: bool,
    /// True when certificates are not verified: anyone on the path can read and change the traffic.
    insecure: bool,
    /// The connector's private CA and whether it has a client certificate (never shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsSettings>,
    event_types: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    filters: Vec<EventFilter>,
    body_template: Option<serde_json::Value>,
    batch: Option<BatchInput>,
    timeout_ms: u64,
    retry: RetryPolicy,
    enabled: bool,
    disabled_reason: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<Connector> for ConnectorView {
    fn from(c: Connector) -> Self {
        Self {
            id: c.id,
            name: c.name,
            description: c.description,
            base_url: c.base_url,
            method: c.method,
            path: c.path,
            auth: c.auth,
            headers: c.headers,
            signing: c.signing.map(|scheme| SigningView {
                scheme,
                algorithm: c.signing_algorithm,
                key_id: c.signing_key_id.clone(),
            }),
            trust_any_certificate: c.trust_any_certificate,
            insecure: c.trust_any_certificate,
            tls: c.tls.clone(),
            event_types: c.event_types,
            filters: c.filters,
            body_template: c.body_template.as_deref().and_then(|t| serde_json::from_str(t).ok()),
            batch: c.batch_max_events.map(|max_events| BatchInput { max_events }),
            timeout_ms: c.timeout_ms,
            retry: c.retry,
            enabled: c.enabled,
            disabled_reason: c.disabled_reason,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

pub(super) fn not_found() -> ApiError {
    ApiError::new(ErrorCode::CONNECTOR_NOT_FOUND, "no such connector")
}

pub fn validate(c: &Connector) -> Result<(), ApiError> {
    use crate::domain::limits;
    if let Err((k, reason)) = limits::check_headers(&c.headers) {
        return Err(ApiError::invalid(
            if k.is_empty() { "headers".to_owned() } else { format!("headers.{k}") },
            reason,
        ));
    }
    if c.description.chars().count() > limits::MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid("description", format!("at most {} characters", limits::MAX_DESCRIPTION_CHARS)));
    }
    if c.event_types.len() > limits::MAX_EVENT_TYPES {
        return Err(ApiError::invalid("eventTypes", format!("at most {} patterns", limits::MAX_EVENT_TYPES)));
    }
    if let Some(i) = c.event_types.iter().position(|t| t.is_empty() || t.chars().count() > limits::MAX_EVENT_TYPE_CHARS)
    {
        return Err(ApiError::invalid(
            format!("eventTypes[{i}]"),
            format!("1 to {} characters", limits::MAX_EVENT_TYPE_CHARS),
        ));
    }
    if c.filters.len() > limits::MAX_FILTERS {
        return Err(ApiError::invalid("filters", format!("at most {} filters", limits::MAX_FILTERS)));
    }
    for (i, f) in c.filters.iter().enumerate() {
        if f.values.is_empty() || f.values.len() > 100 {
            return Err(ApiError::invalid(format!("filters[{i}].values"), "1 to 100 values"));
        }
        if let Some(j) = f.values.iter().position(|v| v.is_empty() || v.chars().count() > limits::MAX_EVENT_TYPE_CHARS)
        {
            return Err(ApiError::invalid(
                format!("filters[{i}].values[{j}]"),
                format!("1 to {} characters", limits::MAX_EVENT_TYPE_CHARS),
            ));
        }
    }
    // What the base URL and the path make must be a URL a request can be sent to.
    if reqwest::Url::parse(&c.target_url()).is_err() {
        return Err(ApiError::invalid("baseUrl", "with the path, must make a valid URL"));
    }
    if !(100..=60_000).contains(&c.timeout_ms) {
        return Err(ApiError::invalid("timeoutMs", "must be 100 to 60000"));
    }
    if c.batch_max_events.is_some_and(|n| !(1..=1000).contains(&n)) {
        return Err(ApiError::invalid("batch.maxEvents", "must be 1 to 1000"));
    }
    if c.retry.schedule_secs.len() > 20 {
        return Err(ApiError::invalid("retry.scheduleSecs", "at most 20 retries"));
    }
    let cap = crate::dispatch::MAX_RETRY_DELAY.as_secs();
    if let Some(i) = c.retry.schedule_secs.iter().position(|s| *s > cap) {
        return Err(ApiError::invalid(format!("retry.scheduleSecs[{i}]"), format!("at most {cap} seconds (7 days)")));
    }
    Ok(())
}

/// A signing secret the scheme and algorithm can sign with (see `signing::check_secret`).
pub fn check_signing_secret(
    scheme: SigningScheme,
    algorithm: SigningAlgorithm,
    secret: &SecretString,
    at: &str,
) -> Result<(), ApiError> {
    signing::check_secret(scheme, algorithm, secret).map_err(|why| ApiError::invalid(at, why))
}

/// A validated template, kept as JSON text.
pub fn template_text(t: Option<serde_json::Value>) -> Result<Option<String>, ApiError> {
    let Some(t) = t else { return Ok(None) };
    crate::dispatch::template::validate(&t).map_err(ApiError::validation)?;
    Ok(Some(t.to_string()))
}

pub(super) fn name_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(Conflict::NameTaken) => {
            ApiError::new(ErrorCode::NAME_TAKEN, "a connector with this name exists")
        }
        other => other.into(),
    }
}

pub(super) async fn load(st: &ManagementState, id: &str) -> Result<Connector, ApiError> {
    let id = ConnectorId::parse(id).map_err(|_| not_found())?;
    st.backend.connectors.get_connector(&id).await?.ok_or_else(not_found)
}

pub(super) async fn load_secrets(st: &ManagementState, id: &ConnectorId) -> Result<ConnectorSecrets, ApiError> {
    secrets_of(st.backend.secrets.get_secret(&connector_secret_name(id)).await?.as_ref())
}

/// A connector's secret document (none stored: no credentials).
pub(super) fn secrets_of(stored: Option<&crate::secret::SecretString>) -> Result<ConnectorSecrets, ApiError> {
    match stored {
        Some(s) => ConnectorSecrets::from_secret(s).map_err(|e| ApiError::Internal(Box::new(e))),
        None => Ok(ConnectorSecrets::default()),
    }
}

pub(super) fn warn_insecure(c: &Connector) {
    if c.trust_any_certificate {
        tracing::warn!(connector_id = %c.id, "connector trusts any certificate: its traffic is not protected by TLS verification");
    }
}
