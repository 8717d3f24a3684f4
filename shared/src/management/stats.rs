//! The overview's figures: events accepted and refused, process messages sent, deliveries
//! by outcome, over the last hour and day (see [`crate::stats`] for how they are counted).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::ManagementState;
use crate::error::ApiError;
use crate::stats::{BUCKET_SECS, StatsWindow, bucket_of};

pub(super) fn routes() -> OpenApiRouter<Arc<ManagementState>> {
    OpenApiRouter::new().routes(routes!(read))
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
struct Stats {
    generated_at: DateTime<Utc>,
    /// The last hour, in whole five-minute buckets (the current one included).
    last_hour: StatsWindow,
    /// The last 24 hours, likewise.
    last_day: StatsWindow,
    /// How late the figures may be: each function instance writes its counts at most this
    /// often (seconds).
    flush_interval_secs: u64,
}

/// Overview figures
///
/// Events accepted and refused (by code), process messages sent, and deliveries
/// succeeded, failed, retried and pending, over the last hour and the last day.
#[utoipa::path(get, operation_id = "getStats", path = "/v1/stats", tag = "stats",
    responses((status = 200, body = Stats)))]
async fn read(State(st): State<Arc<ManagementState>>) -> Result<Json<Stats>, ApiError> {
    let now = st.backend.clock.now();
    let current = bucket_of(now);
    let (hour, day) = (current - 3600 + BUCKET_SECS, current - 86_400 + BUCKET_SECS);
    let buckets = st.backend.stats.read(day).await?;
    Ok(Json(Stats {
        generated_at: now,
        last_hour: StatsWindow::sum(&buckets, hour),
        last_day: StatsWindow::sum(&buckets, day),
        flush_interval_secs: st.backend.stats.interval().as_secs(),
    }))
}
