//! Webhooks, by concern: [`crud`] (create, list, read, change, delete), [`bindings`]
//! (bindings and waiting instances), [`lifecycle`] (activate, deactivate), [`credentials`]
//! (URL, API key, provider secret) and [`triggers_view`] (the Manage Triggers table). The
//! rules are in [`service`]; the handlers parse, call and map.

mod bindings;
mod credentials;
mod crud;
mod lifecycle;
mod service;
mod triggers_view;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use http::{HeaderMap, Uri};
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use bindings::WaitRequest;
pub use credentials::{RotateProviderSecret, validate_provider_secret};
pub use crud::{CreateWebhook, UpdateWebhook};

use super::ManagementState;
use crate::domain::{
    ApiKey, HelperEndpoint, HelperFailure, Location, LocationId, Provider, Webhook, WebhookId, WebhookName,
    WebhookState,
};
use crate::error::ApiError;

/// The webhook a path names (for the OpenAPI document; handlers take it as `Path<String>`).
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
struct WebhookPath {
    /// The webhook's id.
    id: String,
}

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    use bindings::*;
    use credentials::*;
    use crud::*;
    use lifecycle::*;
    use triggers_view::*;
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

/// Which webhooks a list shows: a location (org, workspace and app together, or none, and
/// optionally a project and, within it, a branch) and a state. Storage filters by app;
/// project, branch and state are applied to each page, so a page may hold fewer items
/// than its limit and still be followed by more.
#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct WebhookFilter {
    org_id: Option<String>,
    workspace_id: Option<String>,
    app_id: Option<String>,
    project_id: Option<String>,
    branch_id: Option<String>,
    state: Option<WebhookState>,
}

impl WebhookFilter {
    /// The location and state asked for, and whether a webhook is wanted.
    fn parse(self) -> Result<(Option<Location>, impl Fn(&Webhook) -> bool), ApiError> {
        let state = self.state;
        let location = self.location()?;
        let within = location.clone();
        Ok((location, move |w: &Webhook| {
            state.is_none_or(|s| s == w.state) && within.as_ref().is_none_or(|l| w.location.within(l))
        }))
    }

    fn location(self) -> Result<Option<Location>, ApiError> {
        let mut location = match (self.org_id, self.workspace_id, self.app_id) {
            (None, None, None) if self.project_id.is_none() && self.branch_id.is_none() => return Ok(None),
            (Some(o), Some(w), Some(a)) => Location::new(
                LocationId::parse("orgId", &o)?,
                LocationId::parse("workspaceId", &w)?,
                LocationId::parse("appId", &a)?,
            ),
            _ => return Err(ApiError::validation("filter by location with all of orgId, workspaceId and appId")),
        };
        location.project_id = self.project_id.map(|p| LocationId::parse("projectId", &p)).transpose()?;
        location.branch_id = self.branch_id.map(|b| LocationId::parse("branchId", &b)).transpose()?;
        check_location(&location, "")?;
        Ok(Some(location))
    }
}

/// A branch lies within a project.
pub fn check_location(l: &Location, at: &str) -> Result<(), ApiError> {
    if l.branch_id.is_some() && l.project_id.is_none() {
        return Err(ApiError::invalid(format!("{at}branchId"), format!("needs {at}projectId")));
    }
    Ok(())
}

pub fn check_description(d: &str) -> Result<(), ApiError> {
    use crate::domain::limits::MAX_DESCRIPTION_CHARS;
    if d.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid("description", format!("at most {MAX_DESCRIPTION_CHARS} characters")));
    }
    Ok(())
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
