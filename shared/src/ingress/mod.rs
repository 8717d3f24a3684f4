//! The ingress: `POST /webhooks/{provider}/{orgId}/{workspaceId}/{appId}/{webhookId}?apiKey=`.
//! Authenticates the call, turns it into an event and queues it durably before answering.

mod handler;
pub mod route;

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::post;

pub use handler::{IngressConfig, enqueue_event};

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

pub fn router(state: Arc<IngressState>) -> Router {
    Router::new()
        .route(
            "/webhooks/{provider}/{org_id}/{workspace_id}/{app_id}/{webhook_id}",
            post(handler::receive).get(handler::handshake),
        )
        .with_state(state)
}
