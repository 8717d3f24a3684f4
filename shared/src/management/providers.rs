//! The provider catalog, read-only: what each provider needs and how it is verified (for
//! users and the console's provider picker).

use std::sync::Arc;

use axum::Json;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ManagementState;
use crate::domain::Provider;
use crate::providers::{ProviderInfo, describe};

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new().routes(routes!(list))
}

/// The provider catalog
///
/// Every provider a webhook can be created for, in catalog order: its name and URL segment,
/// the `providerSecret` fields it needs, its handshake, whether its signature covers the URL,
/// where a delivery's id is read, and its documentation.
#[utoipa::path(get, operation_id = "listProviders", path = "/v1/providers", tag = "providers",
    responses((status = 200, body = Vec<ProviderInfo>)))]
async fn list() -> Json<Vec<ProviderInfo>> {
    Json(Provider::all().map(describe).collect())
}
