//! Where an accepted event goes. A webhook bound to start processes queues every event; a
//! webhook bound to resume them first resolves the correlation key and takes the waiting
//! instance at the door, so an event that would resume nothing is refused (422) and an
//! instance is resumed by exactly one event.

use serde_json::Value;

use super::IngressConfig;
use super::handler::enqueue_event;
use crate::domain::{BindingKind, EventEnvelope, correlation_text};
use crate::error::{ApiError, ErrorCode, StoreError};
use crate::messages::ResumeTarget;
use crate::ports::{Backend, QueueRefs};
use crate::registration::Registration;

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the correlation key does not resolve in the payload")]
    Unresolved,
    #[error("no instance is waiting for this correlation value")]
    NoWaiter,
    #[error("the event could not be queued: {0}")]
    Store(#[from] StoreError),
}

impl AcceptError {
    /// What a failed trigger says of the cause: stable text an operator may see (a backend's
    /// own error, with account ids and role names, is logged instead).
    pub fn public_cause(&self) -> String {
        match self {
            AcceptError::Store(e) => {
                tracing::warn!(error = %e, "an accepted event could not be queued");
                "the event could not be queued: a backing service was unavailable".into()
            }
            other => other.to_string(),
        }
    }
}

impl From<AcceptError> for ApiError {
    fn from(e: AcceptError) -> Self {
        match e {
            AcceptError::Unresolved => ApiError::new(
                ErrorCode::CORRELATION_KEY_UNRESOLVED,
                "the webhook's correlation key does not resolve to a value in this payload",
            ),
            AcceptError::NoWaiter => ApiError::new(
                ErrorCode::NO_WAITING_INSTANCE,
                "no process instance is waiting for this correlation value",
            ),
            AcceptError::Store(e) => ApiError::Unavailable(e),
        }
    }
}

/// Resolves resume targets (if any) and queues the event durably.
pub async fn accept(
    backend: &Backend,
    queues: &QueueRefs,
    config: &IngressConfig,
    reg: &Registration,
    envelope: &EventEnvelope,
) -> Result<(), AcceptError> {
    let resume_bindings: Vec<_> = reg
        .bindings
        .iter()
        .filter_map(|b| match &b.kind {
            BindingKind::ResumeProcess { webhook_correlation_key, .. } => Some((b.id, webhook_correlation_key)),
            BindingKind::StartProcess { .. } => None,
        })
        .collect();
    if resume_bindings.is_empty() {
        return Ok(enqueue_event(backend, queues, config, envelope, Vec::new()).await?);
    }
    let payload: Value = serde_json::from_str(envelope.webhook_message.payload.get()).unwrap_or(Value::Null);
    let resolved: Vec<_> = resume_bindings
        .iter()
        .filter_map(|(id, path)| path.resolve(&payload).and_then(correlation_text).map(|v| (*id, v)))
        .collect();
    if resolved.is_empty() {
        return Err(AcceptError::Unresolved);
    }
    let mut taken = Vec::new();
    // No instance can wait for a value longer than a waiter may hold: nothing to take.
    for (binding, value) in resolved.iter().filter(|(_, v)| v.len() <= crate::domain::limits::MAX_CORRELATION_BYTES) {
        match backend.registry.take_waiter(&envelope.webhook_id, binding, value).await {
            Ok(Some(w)) => taken.push(w),
            Ok(None) => {}
            Err(e) => {
                // The instances taken so far must still be waiting when the provider retries.
                restore(backend, &taken).await;
                return Err(e.into());
            }
        }
    }
    if taken.is_empty() {
        return Err(AcceptError::NoWaiter);
    }
    let targets = taken
        .iter()
        .map(|w| ResumeTarget { binding_id: w.binding_id, process_instance_id: w.process_instance_id.clone() })
        .collect();
    if let Err(e) = enqueue_event(backend, queues, config, envelope, targets).await {
        // Not queued: the instances are still waiting.
        restore(backend, &taken).await;
        return Err(e.into());
    }
    Ok(())
}

/// Puts taken waiters back (the event that took them was not queued). A failure is logged:
/// the instance then needs its wait registered again.
async fn restore(backend: &Backend, taken: &[crate::domain::Waiter]) {
    for w in taken {
        if let Err(restore) = backend.registry.put_waiter(w).await {
            tracing::error!(error = %restore, instance = %w.process_instance_id, "could not restore a waiter");
        }
    }
}
