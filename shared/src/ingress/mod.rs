//! The ingress: `POST /webhooks/{provider}/{orgId}/{workspaceId}/{appId}/{webhookId}?apiKey=`.
//! Authenticates the call, turns it into an event and queues it durably before answering.

mod claim;
pub(crate) mod handler;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use claim::PENDING_CLAIM_TTL;
pub use handler::IngressConfig;

use crate::ports::{Backend, QueueRefs};
use crate::registration::RegistrationCache;

/// The caller's address, when the server knows it (the local runner sets it from the
/// socket; behind API Gateway the `X-Forwarded-For` header already carries it).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

pub struct IngressState {
    pub backend: Backend,
    pub cache: Arc<RegistrationCache>,
    pub queues: QueueRefs,
    pub config: IngressConfig,
}

fn routes() -> OpenApiRouter<Arc<IngressState>> {
    OpenApiRouter::new().routes(routes!(handler::receive, handler::handshake))
}

pub fn router(state: Arc<IngressState>) -> Router {
    Router::from(routes()).with_state(state)
}

/// The ingress's part of the OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}
