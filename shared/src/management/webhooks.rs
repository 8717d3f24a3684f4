//! Webhooks: create, list, get, bindings, activate/deactivate, URL, API key reset.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use chrono::{DateTime, Utc};
use http::{HeaderMap, StatusCode, Uri};
use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::helpers::{self, HelperInput};
use super::{ApiJson, ApiQuery, ListPage, ManagementState};
use crate::domain::ProviderSecret;
use crate::domain::{
    ApiKey, Binding, BindingId, BindingKind, HelperEndpoint, HelperFailure, Helpers, Location, LocationId, Provider,
    TriggerType, Waiter, Webhook, WebhookId, WebhookName, WebhookSecrets, WebhookState, correlation_text,
};
use crate::error::{ApiError, Conflict, ErrorCode, StoreError};
use crate::openapi::ErrorSchema;
use crate::ports::{PageRequest, cursor};
use crate::registration::webhook_secret_name;

type St = State<Arc<ManagementState>>;

/// The webhook a path names (for the OpenAPI document; handlers take it as `Path<String>`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct WebhookPath {
    /// The webhook's id.
    id: String,
}

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(read, update, remove))
        .routes(routes!(triggers))
        .routes(routes!(add_binding, list_bindings))
        .routes(routes!(remove_binding))
        .routes(routes!(put_waiter, remove_waiters))
        .routes(routes!(activate))
        .routes(routes!(deactivate))
        .routes(routes!(url))
        .routes(routes!(reset_api_key))
        .routes(routes!(rotate_provider_secret))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateWebhook {
    pub name: WebhookName,
    #[serde(default)]
    pub description: String,
    pub provider: Provider,
    pub location: Location,
    /// A string, or Meta's `{"verifyToken", "appSecret"}`.
    #[serde(default, deserialize_with = "optional_provider_secret")]
    pub provider_secret: Option<ProviderSecret>,
    /// Called on activation (see `helpers`).
    pub registration: Option<HelperInput>,
    /// Called on deactivation.
    pub deregistration: Option<HelperInput>,
}

/// A provider secret from a request: GENERIC_HMAC's `toleranceSeconds` may be spelled as a
/// whole float, like every integer of the API (see [`crate::domain::limits::whole`]).
fn provider_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<ProviderSecret, D::Error> {
    let mut value = serde_json::Value::deserialize(d)?;
    crate::domain::limits::whole::normalize(&mut value, &["toleranceSeconds"]);
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

fn optional_provider_secret<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<ProviderSecret>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Null => Ok(None),
        value => provider_secret(value).map(Some).map_err(serde::de::Error::custom),
    }
}

/// Checks a provider secret's shape against the provider.
pub fn validate_provider_secret(provider: Provider, secret: &Option<ProviderSecret>) -> Result<(), ApiError> {
    match (provider, secret) {
        (Provider::Meta, Some(ProviderSecret::Meta { verify_token: Some(v), app_secret: Some(a) }))
            if !v.expose().is_empty() && !a.expose().is_empty() =>
        {
            Ok(())
        }
        (Provider::Meta, _) => Err(ApiError::new(
            ErrorCode::WEBHOOK_META_SECRETS_REQUIRED,
            "providerSecret: META needs {\"verifyToken\", \"appSecret\"}, both non-empty",
        )),
        (Provider::GenericHmac, Some(ProviderSecret::GenericHmac(g))) => g.validate().map_err(ApiError::validation),
        (Provider::GenericHmac, _) => {
            Err(ApiError::invalid("providerSecret", "GENERIC_HMAC needs {\"secret\", \"header\", ...} (see the docs)"))
        }
        (_, Some(ProviderSecret::GenericHmac(_))) => {
            Err(ApiError::invalid("providerSecret", "a scheme is only for GENERIC_HMAC"))
        }
        (Provider::Generic, Some(_)) => {
            Err(ApiError::invalid("providerSecret", "GENERIC webhooks use the API key only"))
        }
        (_, Some(ProviderSecret::Meta { .. })) => {
            Err(ApiError::invalid("providerSecret", "must be a string for this provider"))
        }
        (_, Some(ProviderSecret::Plain(s))) if s.expose().trim().is_empty() => {
            Err(ApiError::invalid("providerSecret", "must not be empty"))
        }
        (Provider::Sendgrid, Some(ProviderSecret::Plain(s))) if !crate::providers::is_p256_public_key(s) => {
            Err(ApiError::invalid(
                "providerSecret",
                "SENDGRID needs the verification key (base64 DER of a P-256 public key)",
            ))
        }
        (Provider::Discord, Some(ProviderSecret::Plain(s))) if !crate::providers::is_ed25519_public_key(s) => {
            Err(ApiError::invalid("providerSecret", "DISCORD needs the application's public key (64 hex characters)"))
        }
        _ => Ok(()),
    }
}

/// A webhook as the API shows it: never its key (see `/url`), nor its version.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct WebhookView {
    id: WebhookId,
    name: WebhookName,
    description: String,
    provider: Provider,
    state: WebhookState,
    location: Location,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    /// The helpers without their credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    registration: Option<HelperEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    deregistration: Option<HelperEndpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    registration_data: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_deregistration_error: Option<HelperFailure>,
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        Self {
            id: w.id,
            name: w.name,
            description: w.description,
            provider: w.provider,
            state: w.state,
            location: w.location,
            created_at: w.created_at,
            updated_at: w.updated_at,
            registration: w.helpers.registration,
            deregistration: w.helpers.deregistration,
            registration_data: w.helpers.registration_data,
            last_deregistration_error: w.helpers.deregistration_error,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
struct UrlView {
    url: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    org_id: Option<String>,
    workspace_id: Option<String>,
    app_id: Option<String>,
    project_id: Option<String>,
    branch_id: Option<String>,
}

/// A location filter from query parameters: org, workspace and app together (or none), and
/// optionally a project and, within it, a branch. Storage filters by app; project and branch
/// are applied to each page (like the state filter).
fn location_filter(
    org: Option<String>,
    ws: Option<String>,
    app: Option<String>,
    project: Option<String>,
    branch: Option<String>,
) -> Result<Option<Location>, ApiError> {
    let mut location = match (org, ws, app) {
        (None, None, None) if project.is_none() && branch.is_none() => return Ok(None),
        (Some(o), Some(w), Some(a)) => Location::new(
            LocationId::parse("orgId", &o)?,
            LocationId::parse("workspaceId", &w)?,
            LocationId::parse("appId", &a)?,
        ),
        _ => return Err(ApiError::validation("filter by location with all of orgId, workspaceId and appId")),
    };
    location.project_id = project.map(|p| LocationId::parse("projectId", &p)).transpose()?;
    location.branch_id = branch.map(|b| LocationId::parse("branchId", &b)).transpose()?;
    check_location(&location, "")?;
    Ok(Some(location))
}

/// A branch lies within a project.
pub fn check_location(l: &Location, at: &str) -> Result<(), ApiError> {
    if l.branch_id.is_some() && l.project_id.is_none() {
        return Err(ApiError::invalid(format!("{at}branchId"), format!("needs {at}projectId")));
    }
    Ok(())
}

fn parse_id(id: &str) -> Result<WebhookId, ApiError> {
    WebhookId::parse(id).map_err(|_| not_found())
}

fn not_found() -> ApiError {
    ApiError::new(ErrorCode::WEBHOOK_NOT_FOUND, "no such webhook")
}

async fn load(st: &ManagementState, id: &str) -> Result<Webhook, ApiError> {
    let id = parse_id(id)?;
    st.backend.registry.get_webhook(&id).await?.ok_or_else(not_found)
}

/// Create a webhook
#[utoipa::path(post, operation_id = "createWebhook", path = "/v1/webhooks", tag = "webhooks", request_body = CreateWebhook,
    responses(
        (status = 201, description = "Created inactive; `GET /v1/webhooks/{id}/url` shows its URL", body = WebhookView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`, `WEBHOOK_META_SECRETS_REQUIRED`, `CONFIG_PARAM_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`", body = ErrorSchema),
    ))]
async fn create(
    State(st): St,
    ApiJson(req): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<WebhookView>), ApiError> {
    let provider_secret = super::params::resolve(&st, req.provider_secret).await?;
    validate_provider_secret(req.provider, &provider_secret)?;
    check_location(&req.location, "location.")?;
    check_description(&req.description)?;
    let now = st.backend.clock.now();
    let (registration, registration_credential) = match req.registration {
        Some(h) => h.split("registration").map(|(e, c)| (Some(e), c))?,
        None => (None, None),
    };
    let (deregistration, deregistration_credential) = match req.deregistration {
        Some(h) => h.split("deregistration").map(|(e, c)| (Some(e), c))?,
        None => (None, None),
    };
    let webhook = Webhook {
        id: WebhookId::generate(),
        name: req.name,
        description: req.description,
        provider: req.provider,
        state: WebhookState::Inactive,
        location: req.location,
        created_at: now,
        updated_at: now,
        version: 1,
        helpers: Helpers { registration, deregistration, ..Helpers::default() },
    };
    // The key is stored first, so no webhook ever exists without one.
    let secret_name = webhook_secret_name(&webhook.id);
    let mut secrets = WebhookSecrets::new(ApiKey::generate());
    secrets.provider = provider_secret;
    secrets.registration_credential = registration_credential;
    secrets.deregistration_credential = deregistration_credential;
    st.backend.secrets.put_secret(&secret_name, &secrets.to_secret()).await?;
    if let Err(e) = st.backend.registry.create_webhook(&webhook).await {
        let _ = st.backend.secrets.delete_secret(&secret_name).await;
        return Err(match e {
            StoreError::Conflict(Conflict::NameTaken) => {
                ApiError::new(ErrorCode::NAME_TAKEN, "a webhook with this name exists in this location")
            }
            other => other.into(),
        });
    }
    st.cache.invalidate(&webhook.id);
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    Ok((StatusCode::CREATED, Json(webhook.into())))
}

/// List webhooks
#[utoipa::path(get, operation_id = "listWebhooks", path = "/v1/webhooks", tag = "webhooks", params(ListQuery),
    responses(
        (status = 200, body = ListPage<WebhookView>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`, `VALIDATION_FAILED`", body = ErrorSchema),
    ))]
async fn list(State(st): St, ApiQuery(q): ApiQuery<ListQuery>) -> Result<Json<ListPage<WebhookView>>, ApiError> {
    let location = location_filter(q.org_id, q.workspace_id, q.app_id, q.project_id, q.branch_id)?;
    let page = PageRequest { cursor: q.cursor, limit: q.limit.unwrap_or(100).clamp(1, 1000) };
    let page = st.backend.registry.list_webhooks(location.as_ref(), page).await?;
    let items = page.items.into_iter().filter(|w| location.as_ref().is_none_or(|l| w.location.within(l)));
    Ok(Json(ListPage { items: items.map(Into::into).collect(), next_cursor: page.next }))
}

/// Read a webhook
#[utoipa::path(get, operation_id = "getWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses((status = 200, body = WebhookView), (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema)))]
async fn read(State(st): St, Path(id): Path<String>) -> Result<Json<WebhookView>, ApiError> {
    Ok(Json(load(&st, &id).await?.into()))
}

/// Bind a webhook to a process
#[utoipa::path(post, operation_id = "addBinding", path = "/v1/webhooks/{id}/bindings", tag = "webhooks", params(WebhookPath), request_body = BindingKind,
    responses(
        (status = 201, body = Binding),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`TRIGGER_TYPE_MISMATCH`", body = ErrorSchema),
    ))]
async fn add_binding(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(kind): ApiJson<BindingKind>,
) -> Result<(StatusCode, Json<Binding>), ApiError> {
    let webhook = load(&st, &id).await?;
    // A webhook starts processes or resumes them, never both (its trigger type follows).
    let existing = st.backend.registry.list_bindings(&webhook.id).await?;
    if let Some(other) = existing.iter().find(|b| b.kind.trigger_type() != kind.trigger_type()) {
        return Err(ApiError::new(
            ErrorCode::TRIGGER_TYPE_MISMATCH,
            format!(
                "the webhook's bindings are {:?}; all bindings of a webhook have one type",
                other.kind.trigger_type()
            ),
        ));
    }
    let binding =
        Binding { id: BindingId::generate(), webhook_id: webhook.id, kind, created_at: st.backend.clock.now() };
    st.backend.registry.put_binding(&binding).await?;
    touch(&st, &webhook.id).await;
    Ok((StatusCode::CREATED, Json(binding)))
}

/// List a webhook's bindings
///
/// Oldest first. A webhook's bindings are read whole (they are few) and paged here.
#[utoipa::path(get, operation_id = "listBindings", path = "/v1/webhooks/{id}/bindings", tag = "webhooks",
    params(WebhookPath, PageQuery),
    responses(
        (status = 200, body = ListPage<Binding>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn list_bindings(
    State(st): St,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<ListPage<Binding>>, ApiError> {
    let webhook = load(&st, &id).await?;
    let mut items = st.backend.registry.list_bindings(&webhook.id).await?;
    items.sort_by_key(|b| b.id);
    if let Some(c) = &q.cursor {
        let after = BindingId::parse(&cursor::decode(c)?).map_err(|_| StoreError::InvalidCursor)?;
        items.retain(|b| b.id > after);
    }
    let limit = q.limit.unwrap_or(100).clamp(1, 1000) as usize;
    let next_cursor = (items.len() > limit).then(|| cursor::encode(&items[limit - 1].id.to_string()));
    items.truncate(limit);
    Ok(Json(ListPage { items, next_cursor }))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PageQuery {
    cursor: Option<String>,
    /// 1 to 1000, default 100.
    limit: Option<u32>,
}

async fn save_state(st: &ManagementState, webhook: &mut Webhook, state: WebhookState) -> Result<(), ApiError> {
    webhook.state = state;
    webhook.updated_at = st.backend.clock.now();
    webhook.version += 1;
    st.backend.registry.update_webhook(webhook).await?;
    st.cache.invalidate(&webhook.id);
    tracing::info!(webhook_id = %webhook.id, state = ?state, "webhook state changed");
    Ok(())
}

async fn load_secrets(st: &ManagementState, webhook: &Webhook) -> Result<WebhookSecrets, ApiError> {
    let secret = st.backend.secrets.get_secret(&webhook_secret_name(&webhook.id)).await?.ok_or_else(not_found)?;
    WebhookSecrets::from_secret(&secret).map_err(|e| ApiError::Internal(Box::new(e)))
}

/// Activate a webhook
///
/// Activates a webhook (it needs a binding). With a registration helper, the helper is told
/// the event URL first; if it fails or is late the webhook stays inactive (502).
#[utoipa::path(post, operation_id = "activateWebhook", path = "/v1/webhooks/{id}/activate", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, body = WebhookView),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NO_BINDINGS`, `CONCURRENT_UPDATE`", body = ErrorSchema),
        (status = 502, description = "`REGISTRATION_FAILED`: the webhook stays inactive", body = ErrorSchema),
    ))]
async fn activate(
    State(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<WebhookView>, ApiError> {
    let mut webhook = load(&st, &id).await?;
    if webhook.state == WebhookState::Active {
        return Ok(Json(webhook.into()));
    }
    if st.backend.registry.list_bindings(&webhook.id).await?.is_empty() {
        return Err(ApiError::new(
            ErrorCode::NO_BINDINGS,
            "bind the webhook to at least one process before activating it",
        ));
    }
    let Some(endpoint) = webhook.helpers.registration.clone() else {
        save_state(&st, &mut webhook, WebhookState::Active).await?;
        return Ok(Json(webhook.into()));
    };
    let secrets = load_secrets(&st, &webhook).await?;
    let event_url = ingress_url(&public_base(&st, &headers, &uri), &webhook, &secrets.api_key);
    let data =
        helpers::register(&st, &webhook, &endpoint, secrets.registration_credential.as_ref(), &event_url).await?;
    webhook.helpers.registration_data = Some(data);
    if let Err(e) = save_state(&st, &mut webhook, WebhookState::Active).await {
        // Registered but not saved (a concurrent change): undo the registration, best effort.
        if let Some(d) = webhook.helpers.deregistration.clone()
            && let Err(reason) =
                helpers::deregister(&st, &webhook, &d, secrets.deregistration_credential.as_ref()).await
        {
            tracing::warn!(webhook_id = %webhook.id, %reason, "could not undo a registration");
        }
        return Err(e);
    }
    Ok(Json(webhook.into()))
}

/// Deactivate a webhook
///
/// Deactivation keeps the key and the URL: reactivating needs no reconfiguration. The
/// webhook stops receiving first; a deregistration helper is told afterwards, and if that
/// fails the failure is kept on the webhook (`lastDeregistrationError`) and logged, and the
/// webhook stays inactive with its `registrationData` (so it can be cleaned up by hand).
#[utoipa::path(post, operation_id = "deactivateWebhook", path = "/v1/webhooks/{id}/deactivate", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 200, description = "Inactive; a failed deregistration shows in `lastDeregistrationError`", body = WebhookView),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
async fn deactivate(State(st): St, Path(id): Path<String>) -> Result<Json<WebhookView>, ApiError> {
    let mut webhook = load(&st, &id).await?;
    if webhook.state == WebhookState::Inactive {
        return Ok(Json(webhook.into()));
    }
    save_state(&st, &mut webhook, WebhookState::Inactive).await?;
    let Some(endpoint) = webhook.helpers.deregistration.clone() else {
        return Ok(Json(webhook.into()));
    };
    let secrets = load_secrets(&st, &webhook).await?;
    match helpers::deregister(&st, &webhook, &endpoint, secrets.deregistration_credential.as_ref()).await {
        Ok(()) => {
            webhook.helpers.registration_data = None;
            webhook.helpers.deregistration_error = None;
        }
        Err(reason) => {
            tracing::warn!(webhook_id = %webhook.id, %reason, "deregistration failed; the webhook is inactive anyway");
            webhook.helpers.deregistration_error = Some(HelperFailure { at: st.backend.clock.now(), message: reason });
        }
    }
    webhook.version += 1;
    webhook.updated_at = st.backend.clock.now();
    st.backend.registry.update_webhook(&webhook).await?;
    Ok(Json(webhook.into()))
}

/// The configured public base, else the one the management call came through (ingress
/// and management share one API).
fn public_base(st: &ManagementState, headers: &HeaderMap, uri: &Uri) -> String {
    st.config.public_base_url.clone().or_else(|| crate::public_url::request_base(headers, uri)).unwrap_or_default()
}

fn ingress_url(base: &str, w: &Webhook, key: &ApiKey) -> String {
    let l = &w.location;
    format!(
        "{base}/webhooks/{}/{}/{}/{}/{}?apiKey={}",
        w.provider.path_segment(),
        l.org_id,
        l.workspace_id,
        l.app_id,
        w.id,
        key.expose()
    )
}

/// Show a webhook's ingress URL (with its API key)
///
/// The one endpoint (with the reset) that shows the API key: it is part of the URL.
#[utoipa::path(get, operation_id = "getWebhookUrl", path = "/v1/webhooks/{id}/url", tag = "webhooks", params(WebhookPath),
    responses((status = 200, body = UrlView), (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema)))]
async fn url(State(st): St, Path(id): Path<String>, headers: HeaderMap, uri: Uri) -> Result<Json<UrlView>, ApiError> {
    let webhook = load(&st, &id).await?;
    let secrets = load_secrets(&st, &webhook).await?;
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
async fn reset_api_key(
    State(st): St,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Json<UrlView>, ApiError> {
    let webhook = load(&st, &id).await?;
    let read = super::secrets::read(&st, webhook_secret_name(&webhook.id)).await?;
    let mut secrets = WebhookSecrets::from_secret(read.value.as_ref().ok_or_else(not_found)?)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    secrets.api_key = ApiKey::generate();
    read.write(&st, &secrets.to_secret()).await?;
    touch(&st, &webhook.id).await;
    tracing::info!(webhook_id = %webhook.id, "API key reset");
    Ok(Json(UrlView { url: ingress_url(&public_base(&st, &headers, &uri), &webhook, &secrets.api_key) }))
}

/// Remove a binding
#[utoipa::path(delete, operation_id = "removeBinding", path = "/v1/webhooks/{id}/bindings/{binding_id}", tag = "webhooks",
    params(WebhookPath, ("binding_id" = String, Path, description = "The binding's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `BINDING_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn remove_binding(State(st): St, Path((id, binding_id)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let webhook = load(&st, &id).await?;
    let not_found = || ApiError::new(ErrorCode::BINDING_NOT_FOUND, "no such binding");
    let binding_id = BindingId::parse(&binding_id).map_err(|_| not_found())?;
    match st.backend.registry.delete_binding(&webhook.id, &binding_id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    }
    touch(&st, &webhook.id).await;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitRequest {
    pub binding_id: BindingId,
    /// A string, number or boolean; compared with the payload's value as text.
    pub correlation_value: serde_json::Value,
}

/// Register a waiting instance
///
/// The process engine registers an instance waiting at a resume binding.
#[utoipa::path(put, operation_id = "putWaiter", path = "/v1/webhooks/{id}/waiters/{instance_id}", tag = "webhooks",
    params(WebhookPath, ("instance_id" = String, Path, description = "The process instance (1 to 256 characters)")),
    request_body = WaitRequest,
    responses(
        (status = 200, body = Waiter),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `BINDING_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`CORRELATION_VALUE_TAKEN`", body = ErrorSchema),
    ))]
async fn put_waiter(
    State(st): St,
    Path((id, instance)): Path<(String, String)>,
    ApiJson(req): ApiJson<WaitRequest>,
) -> Result<Json<Waiter>, ApiError> {
    let webhook = load(&st, &id).await?;
    if instance.is_empty() || instance.chars().count() > 256 {
        return Err(ApiError::invalid("processInstanceId", "must be 1 to 256 characters"));
    }
    let bindings = st.backend.registry.list_bindings(&webhook.id).await?;
    let binding = bindings
        .iter()
        .find(|b| b.id == req.binding_id)
        .ok_or_else(|| ApiError::new(ErrorCode::BINDING_NOT_FOUND, "bindingId: no such binding on this webhook"))?;
    if binding.kind.trigger_type() != TriggerType::ResumeProcess {
        return Err(ApiError::new(
            ErrorCode::TRIGGER_TYPE_MISMATCH,
            "bindingId: instances wait only at RESUME_PROCESS bindings",
        ));
    }
    let value = correlation_text(&req.correlation_value)
        .ok_or_else(|| ApiError::invalid("correlationValue", "must be a string, number or boolean"))?;
    if value.len() > crate::domain::limits::MAX_CORRELATION_BYTES {
        return Err(ApiError::invalid(
            "correlationValue",
            format!("at most {} bytes as text", crate::domain::limits::MAX_CORRELATION_BYTES),
        ));
    }
    let waiter = Waiter {
        webhook_id: webhook.id,
        binding_id: req.binding_id,
        process_instance_id: instance,
        correlation_value: value,
        created_at: st.backend.clock.now(),
    };
    match st.backend.registry.put_waiter(&waiter).await {
        Ok(()) => Ok(Json(waiter)),
        Err(e @ StoreError::Conflict(Conflict::VersionMismatch)) => Err(e.into()),
        Err(StoreError::Conflict(_)) => Err(ApiError::new(
            ErrorCode::CORRELATION_VALUE_TAKEN,
            "another instance already waits for this correlation value at this binding",
        )),
        Err(e) => Err(e.into()),
    }
}

/// Stop an instance waiting
#[utoipa::path(delete, operation_id = "removeWaiter", path = "/v1/webhooks/{id}/waiters/{instance_id}", tag = "webhooks",
    params(WebhookPath, ("instance_id" = String, Path, description = "The process instance")),
    responses(
        (status = 204, description = "No longer waiting"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`, `WAITER_NOT_FOUND`", body = ErrorSchema),
    ))]
async fn remove_waiters(State(st): St, Path((id, instance)): Path<(String, String)>) -> Result<StatusCode, ApiError> {
    let webhook = load(&st, &id).await?;
    match st.backend.registry.delete_waiters(&webhook.id, &instance).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(StoreError::NotFound) => {
            Err(ApiError::new(ErrorCode::WAITER_NOT_FOUND, "the instance is not waiting on this webhook"))
        }
        Err(e) => Err(e.into()),
    }
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
struct ProviderSecretRotated {
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
async fn rotate_provider_secret(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RotateProviderSecret>,
) -> Result<Json<ProviderSecretRotated>, ApiError> {
    let webhook = load(&st, &id).await?;
    let next = super::params::resolve(&st, Some(req.provider_secret)).await?;
    validate_provider_secret(webhook.provider, &next)?;
    let overlap = req.overlap_seconds.unwrap_or(86_400);
    let read = super::secrets::read(&st, webhook_secret_name(&webhook.id)).await?;
    let mut secrets = WebhookSecrets::from_secret(read.value.as_ref().ok_or_else(not_found)?)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    let s = &mut secrets;
    super::secrets::rotate(
        &mut s.provider,
        &mut s.previous_provider,
        &mut s.previous_until,
        next,
        overlap,
        st.backend.clock.now(),
    )?;
    read.write(&st, &secrets.to_secret()).await?;
    touch(&st, &webhook.id).await;
    tracing::info!(webhook_id = %webhook.id, overlap_seconds = overlap, "provider secret rotated");
    Ok(Json(ProviderSecretRotated { previous_valid_until: secrets.previous_until }))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateWebhook {
    pub name: Option<WebhookName>,
    pub description: Option<String>,
    /// Accepted only when unchanged: the provider is fixed once saved.
    pub provider: Option<Provider>,
    /// A new helper, or `null` to remove it.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub registration: Option<Option<HelperInput>>,
    #[serde(default, with = "serde_with::rust::double_option")]
    pub deregistration: Option<Option<HelperInput>>,
}

/// Change a webhook
///
/// Renames or re-describes a webhook (names stay unique per location).
#[utoipa::path(patch, operation_id = "updateWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath), request_body = UpdateWebhook,
    responses(
        (status = 200, body = WebhookView),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`, `PROVIDER_IMMUTABLE`", body = ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`NAME_TAKEN`, `CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
async fn update(
    State(st): St,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UpdateWebhook>,
) -> Result<Json<WebhookView>, ApiError> {
    let mut webhook = load(&st, &id).await?;
    if req.provider.is_some_and(|p| p != webhook.provider) {
        return Err(ApiError::new(ErrorCode::PROVIDER_IMMUTABLE, "provider: a webhook's provider cannot change"));
    }
    if let Some(name) = req.name {
        webhook.name = name;
    }
    if let Some(description) = req.description {
        check_description(&description)?;
        webhook.description = description;
    }
    // New helper credentials, validated before anything is written.
    let mut credentials = None;
    if req.registration.is_some() || req.deregistration.is_some() {
        let read = super::secrets::read(&st, webhook_secret_name(&webhook.id)).await?;
        let mut secrets = WebhookSecrets::from_secret(read.value.as_ref().ok_or_else(not_found)?)
            .map_err(|e| ApiError::Internal(Box::new(e)))?;
        if let Some(h) = req.registration {
            let (endpoint, credential) = h.map(|h| h.split("registration")).transpose()?.unzip();
            webhook.helpers.registration = endpoint;
            secrets.registration_credential = credential.flatten();
        }
        if let Some(h) = req.deregistration {
            let (endpoint, credential) = h.map(|h| h.split("deregistration")).transpose()?.unzip();
            webhook.helpers.deregistration = endpoint;
            secrets.deregistration_credential = credential.flatten();
        }
        credentials = Some((read, secrets));
    }
    webhook.version += 1;
    webhook.updated_at = st.backend.clock.now();
    // The credentials first, only over the version read (a concurrent key reset is never
    // undone); a refused webhook update (name taken, concurrent change) puts them back.
    let written = match credentials {
        Some((read, secrets)) => Some(read.write(&st, &secrets.to_secret()).await?),
        None => None,
    };
    if let Err(e) = st.backend.registry.update_webhook(&webhook).await {
        if let Some(w) = written {
            w.undo(&st).await;
        }
        return Err(match e {
            StoreError::Conflict(Conflict::NameTaken) => {
                ApiError::new(ErrorCode::NAME_TAKEN, "a webhook with this name exists in this location")
            }
            other => other.into(),
        });
    }
    st.cache.invalidate(&webhook.id);
    Ok(Json(webhook.into()))
}

/// Delete an inactive webhook
///
/// Deletes an inactive webhook with its bindings, waiters and secrets.
#[utoipa::path(delete, operation_id = "deleteWebhook", path = "/v1/webhooks/{id}", tag = "webhooks", params(WebhookPath),
    responses(
        (status = 204, description = "Deleted with its bindings, waiters and secrets"),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = ErrorSchema),
        (status = 409, description = "`WEBHOOK_ACTIVE`", body = ErrorSchema),
    ))]
async fn remove(State(st): St, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let webhook = load(&st, &id).await?;
    if webhook.state == WebhookState::Active {
        return Err(ApiError::new(ErrorCode::WEBHOOK_ACTIVE, "deactivate the webhook before deleting it"));
    }
    st.backend.registry.delete_webhook(&webhook.id).await?;
    st.backend.secrets.delete_secret(&webhook_secret_name(&webhook.id)).await?;
    st.cache.invalidate(&webhook.id);
    tracing::info!(webhook_id = %webhook.id, "webhook deleted");
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TriggersQuery {
    cursor: Option<String>,
    limit: Option<u32>,
    org_id: Option<String>,
    workspace_id: Option<String>,
    app_id: Option<String>,
    project_id: Option<String>,
    branch_id: Option<String>,
    state: Option<WebhookState>,
}

/// One row of the Manage Triggers view.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct TriggerRow {
    webhook_id: WebhookId,
    /// The event name: the webhook's name.
    event_name: WebhookName,
    provider: Provider,
    state: WebhookState,
    /// START_PROCESS or RESUME_PROCESS; none while unbound.
    trigger_type: Option<TriggerType>,
    location: Location,
    binding_count: usize,
}

/// The Manage Triggers view
///
/// The Manage Triggers view: one row per webhook, filtered by location and state.
#[utoipa::path(get, operation_id = "listTriggers", path = "/v1/triggers", tag = "triggers", params(TriggersQuery),
    responses(
        (status = 200, body = ListPage<TriggerRow>),
        (status = 400, description = "`INVALID_QUERY`, `INVALID_CURSOR`, `VALIDATION_FAILED`", body = ErrorSchema),
    ))]
async fn triggers(State(st): St, ApiQuery(q): ApiQuery<TriggersQuery>) -> Result<Json<ListPage<TriggerRow>>, ApiError> {
    let location = location_filter(q.org_id, q.workspace_id, q.app_id, q.project_id, q.branch_id)?;
    let page = PageRequest { cursor: q.cursor, limit: q.limit.unwrap_or(100).clamp(1, 1000) };
    let page = st.backend.registry.list_webhooks(location.as_ref(), page).await?;
    let mut items = Vec::with_capacity(page.items.len());
    let wanted =
        |w: &Webhook| q.state.is_none_or(|s| s == w.state) && location.as_ref().is_none_or(|l| w.location.within(l));
    for w in page.items.into_iter().filter(wanted) {
        let bindings = st.backend.registry.list_bindings(&w.id).await?;
        items.push(TriggerRow {
            webhook_id: w.id,
            event_name: w.name,
            provider: w.provider,
            state: w.state,
            trigger_type: bindings.first().map(|b| b.kind.trigger_type()),
            location: w.location,
            binding_count: bindings.len(),
        });
    }
    Ok(Json(ListPage { items, next_cursor: page.next }))
}

pub fn check_description(d: &str) -> Result<(), ApiError> {
    use crate::domain::limits::MAX_DESCRIPTION_CHARS;
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid("description", format!("at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(())
}

/// Bumps a webhook's version after a change stored elsewhere (its secrets, its bindings), so
/// every warm ingress, which compares versions on each request, sees it at once. A failure
/// is logged: caches then catch up within their TTL.
async fn touch(st: &ManagementState, id: &WebhookId) {
    for _ in 0..3 {
        let bumped = match st.backend.registry.get_webhook(id).await {
            Ok(Some(mut w)) => {
                w.version += 1;
                w.updated_at = st.backend.clock.now();
                st.backend.registry.update_webhook(&w).await
            }
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        match bumped {
            Ok(()) => break,
            Err(StoreError::Conflict(Conflict::VersionMismatch)) => continue,
            Err(e) => {
                tracing::error!(webhook_id = %id, error = %e, "could not bump the webhook's version");
                break;
            }
        }
    }
    st.cache.invalidate(id);
}
