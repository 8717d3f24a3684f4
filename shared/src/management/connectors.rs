//! Connectors and deliveries: CRUD, the signing secret, immediate calls, the delivery log
//! and redelivery.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiJson, ApiQuery, ListPage, ManagementState};
use crate::dispatch::{ImmediateResult, IntakeError, connector_secret_name, signing};
use crate::domain::{
    Connector, ConnectorAuth, ConnectorId, ConnectorName, ConnectorSecrets, DeliveryId, DeliveryRecord, DeliveryStatus,
    EndpointUrl, HttpMethod, KeyPlacement, OutboundEvent, RetryPolicy, SigningScheme,
};
use crate::error::{ApiError, Conflict, ErrorCode, StoreError};
use crate::openapi::ErrorSchema;
use crate::ports::{DeliveryFilter, PageRequest};
use crate::secret::SecretString;

type St = State<Arc<ManagementState>>;

/// The connector a path names (for the OpenAPI document; handlers take it as `Path<String>`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct ConnectorPath {
    /// The connector's id.
    id: String,
}

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, update, remove))
        .routes(routes!(signing_secret))
        .routes(routes!(rotate_signing_secret))
        .routes(routes!(recover))
        .routes(routes!(invoke))
        .routes(routes!(list_deliveries))
        .routes(routes!(read_delivery))
        .routes(routes!(redeliver))
}

/// Auth as given by the caller, secrets included.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum AuthInput {
    /// A struct variant, so that unknown fields are refused here too.
    None {},
    Bearer {
        token: SecretString,
    },
    ApiKey {
        key: String,
        value: SecretString,
        #[serde(rename = "in", default)]
        placement: KeyPlacement,
    },
    Basic {
        username: String,
        password: SecretString,
    },
    ClientSecret {
        secret: SecretString,
    },
}

impl AuthInput {
    /// The public half and the credential, validated; `at` is where the auth object is
    /// (`auth`, `registration.auth`).
    pub fn split(self, at: &str) -> Result<(ConnectorAuth, Option<SecretString>), ApiError> {
        let bad = |field: &str, m: &str| ApiError::invalid(format!("{at}.{field}"), m);
        Ok(match self {
            AuthInput::None {} => (ConnectorAuth::None, None),
            AuthInput::Bearer { token } => {
                if token.expose().is_empty() {
                    return Err(bad("token", "must not be empty"));
                }
                (ConnectorAuth::Bearer, Some(token))
            }
            AuthInput::ApiKey { key, value, placement } => {
                if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
                    return Err(bad("key", "must be a valid header or parameter name"));
                }
                (ConnectorAuth::ApiKey { key, placement }, Some(value))
            }
            AuthInput::Basic { username, password } => {
                if username.is_empty() || username.chars().count() > 100 || username.contains(':') {
                    return Err(bad("username", "must be 1 to 100 characters without ':'"));
                }
                if password.expose().is_empty() || password.expose().chars().count() > 100 {
                    return Err(bad("password", "must be 1 to 100 characters"));
                }
                (ConnectorAuth::Basic { username }, Some(password))
            }
            AuthInput::ClientSecret { secret } => {
                if secret.expose().is_empty() || secret.expose().chars().count() > 250 {
                    return Err(bad("secret", "must be 1 to 250 characters"));
                }
                (ConnectorAuth::ClientSecret, Some(secret))
            }
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningInput {
    pub scheme: SigningScheme,
    /// Given, or generated when omitted.
    pub secret: Option<SecretString>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConnector {
    pub name: ConnectorName,
    #[serde(default)]
    pub description: String,
    pub base_url: EndpointUrl,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub path: String,
    pub auth: Option<AuthInput>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub signing: Option<SigningInput>,
    #[serde(default)]
    pub trust_any_certificate: bool,
    #[serde(default)]
    pub event_types: Vec<String>,
    pub body_template: Option<serde_json::Value>,
    pub batch: Option<BatchInput>,
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub timeout_ms: Option<u64>,
    pub retry: Option<RetryPolicy>,
    pub enabled: Option<bool>,
}

/// `{"maxEvents": n}`: deliver an audit batch's events together, up to n per request.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInput {
    #[serde(deserialize_with = "crate::domain::limits::whole::u32")]
    pub max_events: u32,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConnector {
    pub name: Option<ConnectorName>,
    pub description: Option<String>,
    pub base_url: Option<EndpointUrl>,
    pub method: Option<HttpMethod>,
    pub path: Option<String>,
    pub auth: Option<AuthInput>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `null` removes signing.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub signing: Option<Option<SigningInput>>,
    pub trust_any_certificate: Option<bool>,
    pub event_types: Option<Vec<String>>,
    /// `null` removes the template.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub body_template: Option<Option<serde_json::Value>>,
    /// `null` turns batching off.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub batch: Option<Option<BatchInput>>,
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub timeout_ms: Option<u64>,
    pub retry: Option<RetryPolicy>,
    pub enabled: Option<bool>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct SigningView {
    scheme: SigningScheme,
}

/// A connector as the API shows it: never a credential or the signing secret.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct ConnectorView {
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
    event_types: Vec<String>,
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
            signing: c.signing.map(|scheme| SigningView { scheme }),
            trust_any_certificate: c.trust_any_certificate,
            insecure: c.trust_any_certificate,
            event_types: c.event_types,
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    limit: Option<u32>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct DeliveryQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    connector_id: Option<ConnectorId>,
    status: Option<DeliveryStatus>,
}

fn not_found() -> ApiError {
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

/// A signing secret the scheme can sign with: Standard Webhooks keys are base64 (after an
/// optional `whsec_`); the other schemes take any text. `at` names the field.
pub fn check_signing_secret(scheme: SigningScheme, secret: &SecretString, at: &str) -> Result<(), ApiError> {
    use base64::Engine;
    if scheme == SigningScheme::StandardWebhooks {
        let raw = secret.expose();
        if base64::engine::general_purpose::STANDARD.decode(raw.strip_prefix("whsec_").unwrap_or(raw)).is_err() {
            return Err(ApiError::invalid(at, "a Standard Webhooks secret is base64, optionally after `whsec_`"));
        }
    }
    Ok(())
}

/// A validated template, kept as JSON text.
pub fn template_text(t: Option<serde_json::Value>) -> Result<Option<String>, ApiError> {
    let Some(t) = t else { return Ok(None) };
    crate::dispatch::template::validate(&t).map_err(ApiError::validation)?;
    Ok(Some(t.to_string()))
}

fn name_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(Conflict::NameTaken) => {
            ApiError::new(ErrorCode::NAME_TAKEN, "a connector with this name exists")
        }
        other => other.into(),
    }
}

async fn load(st: &ManagementState, id: &str) -> Result<Connector, ApiError> {
    let id = ConnectorId::parse(id).map_err(|_| not_found())?;
    st.backend.connectors.get_connector(&id).await?.ok_or_else(not_found)
}

async fn load_secrets(st: &ManagementState, id: &ConnectorId) -> Result<ConnectorSecrets, ApiError> {
    secrets_of(st.backend.secrets.get_secret(&connector_secret_name(id)).await?.as_ref())
}

/// A connector's secret document (none stored: no credentials).
fn secrets_of(stored: Option<&crate::secret::SecretString>) -> Result<ConnectorSecrets, ApiError> {
    match stored {
        Some(s) => ConnectorSecrets::from_secret(s).map_err(|e| ApiError::Internal(Box::new(e))),
        None => Ok(ConnectorSecrets::default()),
    }
}

fn warn_insecure(c: &Connector) {
    if c.trust_any_certificate {
        tracing::warn!(connector_id = %c.id, "connector trusts any certificate: its traffic is not protected by TLS verification");
    }
}

/// Create a connector
#[utoipa::path(post, operation_id = "createConnector", path = "/v1/connectors", tag = "connectors", request_body = CreateConnector,
    responses(
        (status = 201, body = ConnectorView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`", body = ErrorSchema),
    ))]
async fn create(
    State(st): St,
    ApiJson(req): ApiJson<CreateConnector>,
) -> Result<(StatusCode, Json<ConnectorView>), ApiError> {
    let now = st.backend.clock.now();
    let (auth, credential) = req.auth.unwrap_or(AuthInput::None {}).split("auth")?;
    if let Some(SigningInput { scheme, secret: Some(secret) }) = &req.signing {
        check_signing_secret(*scheme, secret, "signing.secret")?;
    }
    let signing_secret =
        req.signing.as_ref().map(|s| s.secret.clone().unwrap_or_else(|| signing::generate_secret(s.scheme)));
    let connector = Connector {
        id: ConnectorId::generate(),
        name: req.name,
        description: req.description,
        base_url: req.base_url,
        method: req.method,
        path: req.path,
        auth,
        headers: req.headers,
        signing: req.signing.map(|s| s.scheme),
        trust_any_certificate: req.trust_any_certificate,
        event_types: req.event_types,
        body_template: template_text(req.body_template)?,
        batch_max_events: req.batch.map(|b| b.max_events),
        timeout_ms: req.timeout_ms.unwrap_or(10_000),
        retry: req.retry.unwrap_or_default(),
        enabled: req.enabled.unwrap_or(true),
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    validate(&connector)?;
    let secrets = ConnectorSecrets { credential, signing_secret, ..ConnectorSecrets::default() };
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
async fn list(State(st): St, ApiQuery(q): ApiQuery<PageQuery>) -> Result<Json<ListPage<ConnectorView>>, ApiError> {
    let page = st
        .backend
        .connectors
        .list_connectors(PageRequest { cursor: q.cursor, limit: q.limit.unwrap_or(100).clamp(1, 1000) })
        .await?;
    Ok(Json(ListPage { items: page.items.into_iter().map(Into::into).collect(), next_cursor: page.next }))
}

/// Read a connector
#[utoipa::path(get, operation_id = "getConnector", path = "/v1/connectors/{id}", tag = "connectors", params(ConnectorPath),
    responses((status = 200, body = ConnectorView), (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema)))]
async fn read(State(st): St, Path(id): Path<String>) -> Result<Json<ConnectorView>, ApiError> {
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
async fn update(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateConnector>,
) -> Result<Json<ConnectorView>, ApiError> {
    let mut c = load(&st, &id).await?;
    let read = super::secrets::read(&st, connector_secret_name(&c.id)).await?;
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

impl UpdateConnector {
    /// The change applied to a connector and its secrets, validated (no I/O): what the
    /// handler stores, and what the fuzz target checks. `Ok(true)` when the secrets changed.
    pub fn apply(self, c: &mut Connector, secrets: &mut ConnectorSecrets) -> Result<bool, ApiError> {
        let mut secrets_changed = false;
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.description {
            c.description = v;
        }
        if let Some(v) = self.base_url {
            c.base_url = v;
        }
        if let Some(v) = self.method {
            c.method = v;
        }
        if let Some(v) = self.path {
            c.path = v;
        }
        if let Some(auth) = self.auth {
            let (auth, credential) = auth.split("auth")?;
            c.auth = auth;
            secrets.credential = credential;
            secrets_changed = true;
        }
        if let Some(v) = self.headers {
            c.headers = v;
        }
        if let Some(signing) = self.signing {
            if let Some(SigningInput { scheme, secret: Some(secret) }) = &signing {
                check_signing_secret(*scheme, secret, "signing.secret")?;
            }
            c.signing = signing.as_ref().map(|s| s.scheme);
            secrets.signing_secret = signing.map(|s| s.secret.unwrap_or_else(|| signing::generate_secret(s.scheme)));
            secrets_changed = true;
        }
        if let Some(v) = self.trust_any_certificate {
            c.trust_any_certificate = v;
        }
        if let Some(v) = self.event_types {
            c.event_types = v;
        }
        if let Some(v) = self.body_template {
            c.body_template = template_text(v)?;
        }
        if let Some(v) = self.batch {
            c.batch_max_events = v.map(|b| b.max_events);
        }
        if let Some(v) = self.timeout_ms {
            c.timeout_ms = v;
        }
        if let Some(v) = self.retry {
            c.retry = v;
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
            if v {
                c.disabled_reason = None;
            }
        }
        validate(c)?;
        Ok(secrets_changed)
    }
}

/// Delete a connector
#[utoipa::path(delete, operation_id = "deleteConnector", path = "/v1/connectors/{id}", tag = "connectors", params(ConnectorPath),
    responses((status = 204, description = "Deleted with its secrets"), (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema)))]
async fn remove(State(st): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let c = load(&st, &id).await?;
    st.backend.connectors.delete_connector(&c.id).await?;
    st.backend.secrets.delete_secret(&connector_secret_name(&c.id)).await?;
    st.dispatcher.invalidate();
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, utoipa::ToSchema)]
struct SecretView {
    secret: String,
}

/// Show a connector's signing secret
///
/// The one endpoint that exists to show the signing secret.
#[utoipa::path(get, operation_id = "getSigningSecret", path = "/v1/connectors/{id}/signing-secret", tag = "connectors", params(ConnectorPath),
    responses(
        (status = 200, body = SecretView),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`, `SIGNING_NOT_CONFIGURED`", body = ErrorSchema),
    ))]
async fn signing_secret(State(st): St, Path(id): Path<String>) -> Result<Json<SecretView>, ApiError> {
    let c = load(&st, &id).await?;
    let secrets = load_secrets(&st, &c.id).await?;
    let secret = secrets
        .signing_secret
        .ok_or_else(|| ApiError::new(ErrorCode::SIGNING_NOT_CONFIGURED, "the connector does not sign its requests"))?;
    Ok(Json(SecretView { secret: secret.expose().to_owned() }))
}

/// Call a connector now
#[utoipa::path(post, operation_id = "invokeConnector", path = "/v1/connectors/{id}/invoke", tag = "connectors", params(ConnectorPath), request_body = OutboundEvent,
    responses(
        (status = 200, description = "The endpoint's answer (or why there was none)", body = ImmediateResult),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `INVALID_EVENT`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn invoke(
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
#[utoipa::path(get, operation_id = "listDeliveries", path = "/v1/deliveries", tag = "connectors", params(DeliveryQuery),
    responses(
        (status = 200, body = ListPage<DeliveryRecord>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
    ))]
async fn list_deliveries(
    State(st): St,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> Result<Json<ListPage<DeliveryRecord>>, ApiError> {
    let filter = DeliveryFilter { connector: q.connector_id, status: q.status };
    let page = st
        .backend
        .deliveries
        .list_deliveries(&filter, PageRequest { cursor: q.cursor, limit: q.limit.unwrap_or(100).clamp(1, 1000) })
        .await?;
    Ok(Json(ListPage { items: page.items, next_cursor: page.next }))
}

fn delivery_not_found() -> ApiError {
    ApiError::new(ErrorCode::DELIVERY_NOT_FOUND, "no such delivery")
}

/// Read a delivery with every attempt
#[utoipa::path(get, operation_id = "getDelivery", path = "/v1/deliveries/{id}", tag = "connectors", params(("id" = String, Path, description = "The delivery's id")),
    responses((status = 200, body = DeliveryRecord), (status = 404, description = "`DELIVERY_NOT_FOUND`", body = ErrorSchema)))]
async fn read_delivery(State(st): St, Path(id): Path<String>) -> Result<Json<DeliveryRecord>, ApiError> {
    let id = DeliveryId::parse(&id).map_err(|_| delivery_not_found())?;
    st.backend.deliveries.get_delivery(&id).await?.map(Json).ok_or_else(delivery_not_found)
}

/// Deliver again
#[utoipa::path(post, operation_id = "redeliver", path = "/v1/deliveries/{id}/redeliver", tag = "connectors", params(("id" = String, Path, description = "The delivery's id")),
    responses(
        (status = 202, description = "Queued for a new attempt", body = DeliveryRecord),
        (status = 404, description = "`DELIVERY_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn redeliver(State(st): St, Path(id): Path<String>) -> Result<(StatusCode, Json<DeliveryRecord>), ApiError> {
    let id = DeliveryId::parse(&id).map_err(|_| delivery_not_found())?;
    let record = st.dispatcher.redeliver(&id).await?.ok_or_else(delivery_not_found)?;
    Ok((StatusCode::ACCEPTED, Json(record)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateRequest {
    /// The new secret; generated when omitted.
    pub secret: Option<SecretString>,
    /// How long the previous secret keeps signing (Standard Webhooks sends both), 0 to
    /// 7 days, default 24 hours.
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub overlap_seconds: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Rotated {
    secret: String,
    previous_valid_until: Option<DateTime<Utc>>,
}

/// Rotate a connector's signing secret
///
/// A new signing secret; the previous one keeps signing for the overlap window. The answer
/// shows the new secret (as the signing-secret endpoint does).
#[utoipa::path(post, operation_id = "rotateSigningSecret", path = "/v1/connectors/{id}/signing-secret/rotate", tag = "connectors", params(ConnectorPath),
    request_body(content = RotateRequest, description = "Optional: a secret to use and the overlap"),
    responses(
        (status = 200, body = Rotated),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`, `SIGNING_NOT_CONFIGURED`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
async fn rotate_signing_secret(
    State(st): St,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Rotated>, ApiError> {
    let body =
        body.map_err(|_| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, "the request body could not be read"))?;
    let c = load(&st, &id).await?;
    let scheme = c
        .signing
        .ok_or_else(|| ApiError::new(ErrorCode::SIGNING_NOT_CONFIGURED, "the connector does not sign its requests"))?;
    // The body is optional: no body rotates to a generated secret with a 24-hour overlap.
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest { secret: None, overlap_seconds: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, e.to_string()))?
    };
    let overlap = req.overlap_seconds.unwrap_or(86_400);
    if let Some(secret) = &req.secret {
        check_signing_secret(scheme, secret, "secret")?;
    }
    let read = super::secrets::read(&st, connector_secret_name(&c.id)).await?;
    let mut secrets = secrets_of(read.value.as_ref())?;
    let new = req.secret.unwrap_or_else(|| signing::generate_secret(scheme));
    let s = &mut secrets;
    super::secrets::rotate(
        &mut s.signing_secret,
        &mut s.previous_signing_secret,
        &mut s.previous_until,
        Some(new.clone()),
        overlap,
        st.backend.clock.now(),
    )?;
    read.write(&st, &secrets.to_secret()).await?;
    st.dispatcher.invalidate();
    tracing::info!(connector_id = %c.id, overlap_seconds = overlap, "signing secret rotated");
    Ok(Json(Rotated { secret: new.expose().to_owned(), previous_valid_until: secrets.previous_until }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct RecoverQuery {
    since: DateTime<Utc>,
}

#[derive(Serialize, utoipa::ToSchema)]
struct Recovered {
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
async fn recover(
    State(st): St,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<RecoverQuery>,
) -> Result<(StatusCode, Json<Recovered>), ApiError> {
    let c = load(&st, &id).await?;
    let redelivered = st.dispatcher.recover(&c.id, q.since).await?;
    Ok((StatusCode::ACCEPTED, Json(Recovered { redelivered })))
}
