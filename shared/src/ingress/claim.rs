//! Delivery-id claims: how a provider's retry of an accepted delivery is recognised
//! without ever answering a delivery that was not queued as a duplicate.

use super::IngressState;
use crate::domain::EventId;
use crate::error::{ApiError, StoreError};
use crate::ports::Claim;

/// How long a claim stays "pending" before a retry may take it over: longer than one
/// ingress call can last (the Lambda timeout is 30 s), so a live first attempt is never
/// overtaken, and short enough that a crashed one delays the provider's retries briefly.
pub const PENDING_CLAIM_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const PENDING_PREFIX: &str = "pending:";

/// A provider delivery id claimed for one event. Written `pending:<event id>` with a short
/// TTL before queueing; confirmed to `<event id>` for the dedup window once the event is
/// queued; released if queueing failed. A crash between the steps leaves a pending claim
/// that expires by itself, so the provider's retry is queued rather than taken for a
/// duplicate (at least once, never zero times).
pub(crate) struct DeliveryClaim {
    key: String,
    event_id: EventId,
}

pub(crate) enum Claimed {
    Ours(DeliveryClaim),
    Duplicate(EventId),
}

impl DeliveryClaim {
    pub(crate) async fn take(st: &IngressState, key: String, event_id: EventId) -> Result<Claimed, ApiError> {
        let pending = format!("{PENDING_PREFIX}{event_id}");
        match st.backend.dedup.claim(&key, &pending, st.config.pending_claim_ttl).await? {
            Claim::New => Ok(Claimed::Ours(DeliveryClaim { key, event_id })),
            Claim::Existing(v) if v.starts_with(PENDING_PREFIX) => {
                // The first attempt is still in flight (or died moments ago): the provider
                // should retry shortly, and will then be answered for sure.
                Err(ApiError::Unavailable(StoreError::msg("the first delivery of this event is still being accepted")))
            }
            Claim::Existing(original) => Ok(Claimed::Duplicate(EventId::parse(&original).unwrap_or(event_id))),
        }
    }

    /// The event is queued: remember its delivery id for the whole window. A failure here
    /// only shortens the memory to the pending TTL (a later retry may be queued twice).
    pub(crate) async fn confirm(&self, st: &IngressState) {
        if let Err(e) = st.backend.dedup.put(&self.key, &self.event_id.to_string(), st.config.dedup_window).await {
            tracing::error!(event_id = %self.event_id, error = %e, "could not confirm a delivery claim; a retry may be queued again");
        }
    }

    /// The event was not queued: let the provider's retry through at once. If this fails the
    /// pending claim still expires within its TTL.
    pub(crate) async fn release(&self, st: &IngressState) {
        if let Err(e) = st.backend.dedup.release(&self.key).await {
            tracing::error!(event_id = %self.event_id, error = %e, "could not release a delivery claim; retries wait for it to expire");
        }
    }
}
