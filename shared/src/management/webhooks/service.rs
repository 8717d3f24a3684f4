//! The webhook rules, apart from HTTP: what a change must check, what it writes and in
//! which order, and what it tells the caches. Handlers parse, call one of these, and map
//! the result.

use crate::domain::{
    ApiKey, Binding, BindingId, BindingKind, HelperFailure, Helpers, Location, ProviderSecret, TriggerType, Waiter,
    Webhook, WebhookId, WebhookName, WebhookSecrets, WebhookState, correlation_text,
};
use crate::error::{ApiError, Conflict, ErrorCode, StoreError};
use crate::management::ManagementState;
use crate::management::helpers::{self, HelperInput};
use crate::management::secrets::{self as versioned, ReadSecret};
use crate::registration::webhook_secret_name;

pub(super) fn not_found() -> ApiError {
    ApiError::new(ErrorCode::WEBHOOK_NOT_FOUND, "no such webhook")
}

fn name_taken(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(Conflict::NameTaken) => {
            ApiError::new(ErrorCode::NAME_TAKEN, "a webhook with this name exists in this location")
        }
        other => other.into(),
    }
}

pub(super) async fn load(st: &ManagementState, id: &str) -> Result<Webhook, ApiError> {
    let id = WebhookId::parse(id).map_err(|_| not_found())?;
    st.backend.registry.get_webhook(&id).await?.ok_or_else(not_found)
}

pub(super) async fn load_secrets(st: &ManagementState, webhook: &Webhook) -> Result<WebhookSecrets, ApiError> {
    let secret = st.backend.secrets.get_secret(&webhook_secret_name(&webhook.id)).await?.ok_or_else(not_found)?;
    WebhookSecrets::from_secret(&secret).map_err(|e| ApiError::Internal(Box::new(e)))
}

/// The webhook's secrets with the version they were read at, to be written back over it.
async fn read_secrets(st: &ManagementState, webhook: &Webhook) -> Result<(ReadSecret, WebhookSecrets), ApiError> {
    let read = versioned::read(st, webhook_secret_name(&webhook.id)).await?;
    let secrets = WebhookSecrets::from_secret(read.value.as_ref().ok_or_else(not_found)?)
        .map_err(|e| ApiError::Internal(Box::new(e)))?;
    Ok((read, secrets))
}

/// What a new webhook is made of (checked by the handler's parsing and [`create`]).
pub(super) struct NewWebhook {
    pub name: WebhookName,
    pub description: String,
    pub provider: crate::domain::Provider,
    pub location: Location,
    pub provider_secret: Option<ProviderSecret>,
    pub registration: Option<HelperInput>,
    pub deregistration: Option<HelperInput>,
}

/// Creates an inactive webhook with a new API key. The secrets are stored first, so no
/// webhook ever exists without its key; a refused webhook takes them back.
pub(super) async fn create(st: &ManagementState, new: NewWebhook) -> Result<Webhook, ApiError> {
    let provider_secret = crate::management::params::resolve(st, new.provider_secret).await?;
    super::credentials::validate_provider_secret(new.provider, &provider_secret)?;
    super::check_location(&new.location, "location.")?;
    super::check_description(&new.description)?;
    let now = st.backend.clock.now();
    let (registration, registration_credential) = split_helper(new.registration, "registration")?;
    let (deregistration, deregistration_credential) = split_helper(new.deregistration, "deregistration")?;
    let webhook = Webhook {
        id: WebhookId::generate(),
        name: new.name,
        description: new.description,
        provider: new.provider,
        state: WebhookState::Inactive,
        location: new.location,
        created_at: now,
        updated_at: now,
        version: 1,
        helpers: Helpers { registration, deregistration, ..Helpers::default() },
    };
    let secret_name = webhook_secret_name(&webhook.id);
    let mut secrets = WebhookSecrets::new(ApiKey::generate());
    secrets.provider = provider_secret;
    secrets.registration_credential = registration_credential;
    secrets.deregistration_credential = deregistration_credential;
    st.backend.secrets.put_secret(&secret_name, &secrets.to_secret()).await?;
    if let Err(e) = st.backend.registry.create_webhook(&webhook).await {
        let _ = st.backend.secrets.delete_secret(&secret_name).await;
        return Err(name_taken(e));
    }
    st.cache.invalidate(&webhook.id);
    tracing::info!(webhook_id = %webhook.id, "webhook created");
    Ok(webhook)
}

type HelperParts = (Option<crate::domain::HelperEndpoint>, Option<crate::secret::SecretString>);

fn split_helper(h: Option<HelperInput>, at: &str) -> Result<HelperParts, ApiError> {
    Ok(h.map(|h| h.split(at)).transpose()?.map(|(e, c)| (Some(e), c)).unwrap_or((None, None)))
}

/// A PATCH: `None` leaves a field, `Some(None)` removes a helper.
pub(super) struct WebhookChange {
    pub name: Option<WebhookName>,
    pub description: Option<String>,
    pub provider: Option<crate::domain::Provider>,
    pub registration: Option<Option<HelperInput>>,
    pub deregistration: Option<Option<HelperInput>>,
}

/// Applies a change. New helper credentials are written first, only over the version read
/// (a concurrent key reset is never undone); a refused webhook update (name taken,
/// concurrent change) puts them back.
pub(super) async fn update(st: &ManagementState, id: &str, change: WebhookChange) -> Result<Webhook, ApiError> {
    let mut webhook = load(st, id).await?;
    if change.provider.is_some_and(|p| p != webhook.provider) {
        return Err(ApiError::new(ErrorCode::PROVIDER_IMMUTABLE, "provider: a webhook's provider cannot change"));
    }
    if let Some(name) = change.name {
        webhook.name = name;
    }
    if let Some(description) = change.description {
        super::check_description(&description)?;
        webhook.description = description;
    }
    let mut credentials = None;
    if change.registration.is_some() || change.deregistration.is_some() {
        let (read, mut secrets) = read_secrets(st, &webhook).await?;
        if let Some(h) = change.registration {
            let (endpoint, credential) = split_helper(h, "registration")?;
            webhook.helpers.registration = endpoint;
            secrets.registration_credential = credential;
        }
        if let Some(h) = change.deregistration {
            let (endpoint, credential) = split_helper(h, "deregistration")?;
            webhook.helpers.deregistration = endpoint;
            secrets.deregistration_credential = credential;
        }
        credentials = Some((read, secrets));
    }
    webhook.version += 1;
    webhook.updated_at = st.backend.clock.now();
    let written = match credentials {
        Some((read, secrets)) => Some(read.write(st, &secrets.to_secret()).await?),
        None => None,
    };
    if let Err(e) = st.backend.registry.update_webhook(&webhook).await {
        if let Some(w) = written {
            w.undo(st).await;
        }
        return Err(name_taken(e));
    }
    st.cache.invalidate(&webhook.id);
    Ok(webhook)
}

/// Deletes an inactive webhook with its bindings, waiters and secrets.
pub(super) async fn delete(st: &ManagementState, id: &str) -> Result<(), ApiError> {
    let webhook = load(st, id).await?;
    if webhook.state == WebhookState::Active {
        return Err(ApiError::new(ErrorCode::WEBHOOK_ACTIVE, "deactivate the webhook before deleting it"));
    }
    st.backend.registry.delete_webhook(&webhook.id).await?;
    st.backend.secrets.delete_secret(&webhook_secret_name(&webhook.id)).await?;
    st.cache.invalidate(&webhook.id);
    tracing::info!(webhook_id = %webhook.id, "webhook deleted");
    Ok(())
}

/// Binds a webhook to a process. A webhook starts processes or resumes them, never both
/// (its trigger type follows).
pub(super) async fn add_binding(st: &ManagementState, id: &str, kind: BindingKind) -> Result<Binding, ApiError> {
    let webhook = load(st, id).await?;
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
    touch(st, &webhook.id).await;
    Ok(binding)
}

pub(super) async fn remove_binding(st: &ManagementState, id: &str, binding_id: &str) -> Result<(), ApiError> {
    let webhook = load(st, id).await?;
    let not_found = || ApiError::new(ErrorCode::BINDING_NOT_FOUND, "no such binding");
    let binding_id = BindingId::parse(binding_id).map_err(|_| not_found())?;
    match st.backend.registry.delete_binding(&webhook.id, &binding_id).await {
        Ok(()) => {}
        Err(StoreError::NotFound) => return Err(not_found()),
        Err(e) => return Err(e.into()),
    }
    touch(st, &webhook.id).await;
    Ok(())
}

/// Registers an instance waiting at a resume binding for one correlation value.
pub(super) async fn register_waiter(
    st: &ManagementState,
    id: &str,
    instance: String,
    binding_id: BindingId,
    correlation_value: &serde_json::Value,
) -> Result<Waiter, ApiError> {
    let webhook = load(st, id).await?;
    if instance.is_empty() || instance.chars().count() > 256 {
        return Err(ApiError::invalid("processInstanceId", "must be 1 to 256 characters"));
    }
    let bindings = st.backend.registry.list_bindings(&webhook.id).await?;
    let binding = bindings
        .iter()
        .find(|b| b.id == binding_id)
        .ok_or_else(|| ApiError::new(ErrorCode::BINDING_NOT_FOUND, "bindingId: no such binding on this webhook"))?;
    if binding.kind.trigger_type() != TriggerType::ResumeProcess {
        return Err(ApiError::new(
            ErrorCode::TRIGGER_TYPE_MISMATCH,
            "bindingId: instances wait only at RESUME_PROCESS bindings",
        ));
    }
    let value = correlation_text(correlation_value)
        .ok_or_else(|| ApiError::invalid("correlationValue", "must be a string, number or boolean"))?;
    if value.len() > crate::domain::limits::MAX_CORRELATION_BYTES {
        return Err(ApiError::invalid(
            "correlationValue",
            format!("at most {} bytes as text", crate::domain::limits::MAX_CORRELATION_BYTES),
        ));
    }
    let waiter = Waiter {
        webhook_id: webhook.id,
        binding_id,
        process_instance_id: instance,
        correlation_value: value,
        created_at: st.backend.clock.now(),
    };
    match st.backend.registry.put_waiter(&waiter).await {
        Ok(()) => Ok(waiter),
        Err(e @ StoreError::Conflict(Conflict::VersionMismatch)) => Err(e.into()),
        Err(StoreError::Conflict(_)) => Err(ApiError::new(
            ErrorCode::CORRELATION_VALUE_TAKEN,
            "another instance already waits for this correlation value at this binding",
        )),
        Err(e) => Err(e.into()),
    }
}

pub(super) async fn remove_waiters(st: &ManagementState, id: &str, instance: &str) -> Result<(), ApiError> {
    let webhook = load(st, id).await?;
    match st.backend.registry.delete_waiters(&webhook.id, instance).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => {
            Err(ApiError::new(ErrorCode::WAITER_NOT_FOUND, "the instance is not waiting on this webhook"))
        }
        Err(e) => Err(e.into()),
    }
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

/// Activates a webhook (it needs a binding). A registration helper is told the event URL
/// (`public_base` + the webhook's path and key) first; if it fails the webhook stays
/// inactive, and if the activation is then refused (a concurrent change) the registration
/// is undone, best effort.
pub(super) async fn activate(st: &ManagementState, id: &str, public_base: &str) -> Result<Webhook, ApiError> {
    let mut webhook = load(st, id).await?;
    if webhook.state == WebhookState::Active {
        return Ok(webhook);
    }
    if st.backend.registry.list_bindings(&webhook.id).await?.is_empty() {
        return Err(ApiError::new(
            ErrorCode::NO_BINDINGS,
            "bind the webhook to at least one process before activating it",
        ));
    }
    let Some(endpoint) = webhook.helpers.registration.clone() else {
        save_state(st, &mut webhook, WebhookState::Active).await?;
        return Ok(webhook);
    };
    let secrets = load_secrets(st, &webhook).await?;
    let event_url = super::ingress_url(public_base, &webhook, &secrets.api_key);
    let data = helpers::register(st, &webhook, &endpoint, secrets.registration_credential.as_ref(), &event_url).await?;
    webhook.helpers.registration_data = Some(data);
    if let Err(e) = save_state(st, &mut webhook, WebhookState::Active).await {
        if let Some(d) = webhook.helpers.deregistration.clone()
            && let Err(reason) = helpers::deregister(st, &webhook, &d, secrets.deregistration_credential.as_ref()).await
        {
            tracing::warn!(webhook_id = %webhook.id, %reason, "could not undo a registration");
        }
        return Err(e);
    }
    Ok(webhook)
}

/// Deactivates a webhook: it stops receiving first; a deregistration helper is told
/// afterwards, and its failure is kept on the webhook (the webhook stays inactive).
pub(super) async fn deactivate(st: &ManagementState, id: &str) -> Result<Webhook, ApiError> {
    let mut webhook = load(st, id).await?;
    if webhook.state == WebhookState::Inactive {
        return Ok(webhook);
    }
    save_state(st, &mut webhook, WebhookState::Inactive).await?;
    let Some(endpoint) = webhook.helpers.deregistration.clone() else {
        return Ok(webhook);
    };
    let secrets = load_secrets(st, &webhook).await?;
    match helpers::deregister(st, &webhook, &endpoint, secrets.deregistration_credential.as_ref()).await {
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
    Ok(webhook)
}

/// A new API key, written over the version read; the old key fails from now on.
pub(super) async fn reset_api_key(st: &ManagementState, id: &str) -> Result<(Webhook, ApiKey), ApiError> {
    let webhook = load(st, id).await?;
    let (read, mut secrets) = read_secrets(st, &webhook).await?;
    secrets.api_key = ApiKey::generate();
    read.write(st, &secrets.to_secret()).await?;
    touch(st, &webhook.id).await;
    tracing::info!(webhook_id = %webhook.id, "API key reset");
    Ok((webhook, secrets.api_key))
}

/// Replaces the provider secret; the previous one keeps verifying for `overlap` seconds.
/// Returns until when.
pub(super) async fn rotate_provider_secret(
    st: &ManagementState,
    id: &str,
    next: ProviderSecret,
    overlap: u64,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    let webhook = load(st, id).await?;
    let next = crate::management::params::resolve(st, Some(next)).await?;
    super::credentials::validate_provider_secret(webhook.provider, &next)?;
    let (read, mut secrets) = read_secrets(st, &webhook).await?;
    let s = &mut secrets;
    versioned::rotate(
        &mut s.provider,
        &mut s.previous_provider,
        &mut s.previous_until,
        next,
        overlap,
        st.backend.clock.now(),
    )?;
    read.write(st, &secrets.to_secret()).await?;
    touch(st, &webhook.id).await;
    tracing::info!(webhook_id = %webhook.id, overlap_seconds = overlap, "provider secret rotated");
    Ok(secrets.previous_until)
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
