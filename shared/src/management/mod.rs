//! The management API under `/v1`: one file per endpoint family.

mod connectors;
mod extract;
mod helpers;
mod idempotency;
mod params;
mod triggers;
mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;

pub use extract::{ApiJson, ApiQuery};

use crate::error::ApiError;
use crate::ports::Backend;
use crate::registration::RegistrationCache;
use crate::secret::SecretString;

#[derive(Debug, Clone)]
pub struct ManagementConfig {
    /// The base of handed-out ingress URLs (no trailing slash); `None` rebuilds it from each request (see
    /// [`crate::public_url`]).
    pub public_base_url: Option<String>,
    /// Bearer token required on every call. `None` only behind an authorizer that already
    /// authenticated the caller (IAM on the API Gateway route in AWS).
    pub admin_token: Option<SecretString>,
    /// How long a registration helper has to answer (`HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS`,
    /// default 60 s).
    pub helper_timeout: std::time::Duration,
}

/// The registration helpers' default time to answer.
pub const HELPER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

pub struct ManagementState {
    pub backend: Backend,
    pub dispatcher: Arc<crate::dispatch::Dispatcher>,
    /// The events queue, for replays of failed triggers.
    pub queues: crate::ports::QueueRefs,
    pub cache: Arc<RegistrationCache>,
    pub config: ManagementConfig,
}

pub fn router(state: Arc<ManagementState>) -> Router {
    let idempotent = middleware::from_fn_with_state(state.clone(), idempotency::replay);
    Router::new()
        .merge(webhooks::routes())
        .merge(connectors::routes())
        .merge(triggers::routes())
        .merge(params::routes())
        .route_layer(idempotent)
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .with_state(state)
}

/// Checks `Authorization: Bearer <admin token>` in constant time.
pub async fn require_admin(
    State(st): State<Arc<ManagementState>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if let Some(token) = &st.config.admin_token {
        let presented = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .unwrap_or_default();
        if !token.ct_eq(presented.trim().as_bytes()) {
            return Err(ApiError::unauthorized("UNAUTHORIZED", "missing or invalid admin token"));
        }
    }
    Ok(next.run(req).await)
}
