//! The management API under `/v1`: one file per endpoint family.

pub(crate) mod connectors;
mod extract;
mod failed_triggers;
pub(crate) mod helpers;
mod idempotency;
pub(crate) mod params;
mod providers;
mod secret_storage;
mod secrets;
mod stats;
pub(crate) mod webhooks;

use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use utoipa_axum::router::OpenApiRouter;

pub use extract::{ApiJson, ApiQuery, NoFilter, PageQuery, Paged};
pub use idempotency::PENDING_TTL as IDEMPOTENCY_PENDING_TTL;

use crate::error::{ApiError, ErrorCode};
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
    /// How long an Idempotency-Key stays "in progress" if its request dies (default
    /// [`idempotency::PENDING_TTL`]).
    pub idempotency_pending: std::time::Duration,
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
    let (api, _) = openapi_router().split_for_parts();
    api.route_layer(idempotent)
        .route_layer(middleware::from_fn_with_state(state.clone(), require_admin))
        .with_state(state)
}

/// Every management route with its description.
fn openapi_router() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new()
        .merge(webhooks::routes())
        .merge(connectors::routes())
        .merge(failed_triggers::routes())
        .merge(params::routes())
        .merge(providers::routes())
        .merge(stats::routes())
        .merge(secret_storage::routes())
}

/// The management routes' part of the OpenAPI document (assembled whole in
/// [`crate::openapi::document`]).
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_router().split_for_parts().1
}

/// One page of a list: `nextCursor` is absent on the last page.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListPage<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

/// Who called the management API, as its authorizer established: an IAM principal's ARN,
/// a JWT's subject, or the holder of the admin token. Set by the platform's edge (see
/// `lambda::management_caller`) or by [`require_admin`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller(pub String);

/// Set beside [`Caller`] by an edge that verified a credential standing in for the admin
/// token (the local runner's OpenID Connect check of a console's JWT).
#[derive(Clone, Copy, Debug)]
pub struct EdgeAuthenticated;

/// Checks `Authorization: Bearer <admin token>` in constant time when a token is
/// configured; without one, the request must carry the identity its authorizer
/// established ([`Caller`]): a route exposed without the authorizer answers 401 rather
/// than serving everyone (defence in depth behind API Gateway IAM). Every change and every
/// secret-revealing read is logged with the caller (no secret, no query string).
pub async fn require_admin(
    State(st): State<Arc<ManagementState>>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let edge_authenticated = req.extensions().get::<EdgeAuthenticated>().is_some();
    if let Some(token) = st.config.admin_token.as_ref().filter(|_| !edge_authenticated) {
        let presented = req
            .headers()
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
            .unwrap_or_default();
        if !token.ct_eq(presented.trim().as_bytes()) {
            return Err(ApiError::new(ErrorCode::UNAUTHORIZED, "missing or invalid admin token"));
        }
        if req.extensions().get::<Caller>().is_none() {
            req.extensions_mut().insert(Caller("admin-token".into()));
        }
    }
    let Some(caller) = req.extensions().get::<Caller>().cloned() else {
        return Err(ApiError::new(ErrorCode::UNAUTHORIZED, "the request carries no authenticated caller"));
    };
    let (method, path) = (req.method().clone(), req.uri().path().to_owned());
    let audited = method != http::Method::GET || path.ends_with("/url") || path.ends_with("/signing-secret");
    let resp = next.run(req).await;
    // Counters this call added (an intake, a replay), before answering.
    st.backend.stats.flush_if_due().await;
    if audited {
        tracing::info!(target: "audit", caller = %caller.0, %method, %path, status = resp.status().as_u16(), "management call");
    }
    Ok(resp)
}
