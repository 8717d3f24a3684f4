//! The accept pipeline: where an authenticated event goes, for the ingress and for replays
//! of failed triggers alike. A webhook bound to start processes queues every event; a
//! webhook bound to resume them first resolves the correlation key and takes the waiting
//! instance at the door, so an event that would resume nothing is refused (422) and an
//! instance is resumed by exactly one event. An event that cannot be handed on is kept as a
//! failed trigger before the caller answers.

use serde::Serialize;
use serde_json::Value;

use crate::domain::{
    BindingId, BindingKind, EventEnvelope, FailedTrigger, FailureSource, TriggerFailure, correlation_text,
};
use crate::error::{ApiError, ErrorCode, StoreError};
use crate::messages::{EventMessage, EventMessageType, ResumeTarget, event_blob_key};
use crate::ports::{Backend, OutgoingMessage, QueueRefs};
use crate::registration::Registration;

/// SQS's message limit: a larger event travels by claim check.
pub const MAX_MESSAGE_BYTES: usize = 256 * 1024;

/// A resume binding an event was refused for, with what the event held at its key.
#[derive(Debug, Clone)]
pub struct RefusedBinding {
    pub binding_id: BindingId,
    pub catch_event_id: String,
    pub correlation_key: String,
    /// The value read at the key (absent when it did not resolve).
    pub value: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AcceptError {
    #[error("the correlation key does not resolve in the payload")]
    Unresolved(RefusedBinding),
    #[error("no instance is waiting for this correlation value")]
    NoWaiter(RefusedBinding),
    #[error("the event could not be queued: {0}")]
    Store(#[from] StoreError),
}

/// Longest correlation value a failed trigger repeats (the payload holds it whole).
const SHOWN_VALUE_CHARS: usize = 200;

impl AcceptError {
    /// What a failed trigger says of the cause: a stable code and text an operator may see
    /// (a backend's own error, with account ids and role names, is logged instead).
    pub fn failure(&self) -> TriggerFailure {
        let (code, message, binding) = match self {
            AcceptError::Store(e) => {
                tracing::warn!(error = %e, "an accepted event could not be queued");
                ("QUEUE_UNAVAILABLE", "the event could not be queued: a backing service was unavailable".into(), None)
            }
            AcceptError::Unresolved(b) => (ErrorCode::CORRELATION_KEY_UNRESOLVED.as_str(), self.to_string(), Some(b)),
            AcceptError::NoWaiter(b) => (ErrorCode::NO_WAITING_INSTANCE.as_str(), self.to_string(), Some(b)),
        };
        let mut details = std::collections::BTreeMap::new();
        if let Some(b) = binding {
            details.insert("webhookCorrelationKey".to_owned(), b.correlation_key.clone());
            if let Some(v) = &b.value {
                details.insert("correlationValue".to_owned(), v.chars().take(SHOWN_VALUE_CHARS).collect());
            }
        }
        TriggerFailure {
            code,
            message,
            source: FailureSource::Ingress,
            binding_id: binding.map(|b| b.binding_id),
            process_definition_id: binding.map(|b| b.catch_event_id.clone()),
            details,
        }
    }
}

impl From<AcceptError> for ApiError {
    fn from(e: AcceptError) -> Self {
        match e {
            AcceptError::Unresolved(_) => ApiError::new(
                ErrorCode::CORRELATION_KEY_UNRESOLVED,
                "the webhook's correlation key does not resolve to a value in this payload",
            ),
            AcceptError::NoWaiter(_) => ApiError::new(
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
    max_message_bytes: usize,
    reg: &Registration,
    envelope: &EventEnvelope,
) -> Result<(), AcceptError> {
    let resume_bindings: Vec<_> = reg
        .bindings
        .iter()
        .filter_map(|b| match &b.kind {
            BindingKind::ResumeProcess { webhook_correlation_key, catch_event_id, .. } => {
                Some((b.id, webhook_correlation_key, catch_event_id))
            }
            BindingKind::StartProcess { .. } => None,
        })
        .collect();
    let Some(&(first, first_key, first_catch)) = resume_bindings.first() else {
        return Ok(enqueue_event(backend, queues, max_message_bytes, envelope, Vec::new()).await?);
    };
    let refused = |value: Option<String>| RefusedBinding {
        binding_id: first,
        catch_event_id: first_catch.as_str().to_owned(),
        correlation_key: first_key.to_string(),
        value,
    };
    let payload: Value = serde_json::from_str(envelope.webhook_message.payload.get()).unwrap_or(Value::Null);
    let resolved: Vec<_> = resume_bindings
        .iter()
        .filter_map(|(id, path, _)| path.resolve(&payload).and_then(correlation_text).map(|v| (*id, v)))
        .collect();
    if resolved.is_empty() {
        return Err(AcceptError::Unresolved(refused(None)));
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
        let (binding, value) = &resolved[0];
        let mut b = refused(Some(value.clone()));
        if let Some((_, key, catch)) = resume_bindings.iter().find(|(id, _, _)| id == binding) {
            (b.binding_id, b.correlation_key, b.catch_event_id) =
                (*binding, key.to_string(), catch.as_str().to_owned());
        }
        return Err(AcceptError::NoWaiter(b));
    }
    let targets = taken
        .iter()
        .map(|w| ResumeTarget { binding_id: w.binding_id, process_instance_id: w.process_instance_id.clone() })
        .collect();
    if let Err(e) = enqueue_event(backend, queues, max_message_bytes, envelope, targets).await {
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

/// Queues an accepted event: inline when it fits a queue message, else the envelope goes to
/// the blob store first and the message carries its key (claim check).
pub async fn enqueue_event(
    backend: &Backend,
    queues: &QueueRefs,
    max_message_bytes: usize,
    envelope: &EventEnvelope,
    resume: Vec<ResumeTarget>,
) -> Result<(), StoreError> {
    let mut msg = EventMessage {
        kind: EventMessageType::WebhookEvent,
        event_id: envelope.event_id,
        webhook_id: envelope.webhook_id,
        event: None,
        blob_key: None,
        resume,
    };
    // Base64 grows a raw body that is not the payload text by 4/3; if the estimate alone
    // would not fit, skip the inline try.
    let raw = if envelope.raw_body_is_payload() { 0 } else { envelope.raw_body.len() * 4 / 3 };
    let estimate = raw + envelope.webhook_message.payload.get().len();
    let body = if estimate < max_message_bytes {
        msg.event = Some(envelope.clone());
        let inline = to_json_sized(&msg, estimate)?;
        if inline.len() <= max_message_bytes { Some(inline) } else { None }
    } else {
        None
    };
    let body = match body {
        Some(b) => b,
        None => {
            let key = event_blob_key(&envelope.event_id);
            let bytes = to_json_sized(envelope, estimate)?;
            backend.blobs.put_blob(&key, bytes.into()).await?;
            msg.event = None;
            msg.blob_key = Some(key);
            serde_json::to_string(&msg).map_err(StoreError::backend)?
        }
    };
    let results = backend.queues.send_batch(&queues.events, &[OutgoingMessage::new(body)]).await?;
    match results.into_iter().next() {
        Some(Ok(())) => Ok(()),
        Some(Err(f)) => Err(StoreError::msg(format!("the events queue refused the event: {}", f.code))),
        None => Err(StoreError::msg("the events queue returned no result")),
    }
}

/// Serializes into one buffer sized for the payload (no regrowth copies of a large body).
fn to_json_sized<T: Serialize>(value: &T, estimate: usize) -> Result<String, StoreError> {
    let mut buf = Vec::with_capacity(estimate + 4096);
    serde_json::to_writer(&mut buf, value).map_err(StoreError::backend)?;
    String::from_utf8(buf).map_err(StoreError::backend)
}

/// How long the caller waits to keep a refused event before answering anyway.
const KEEP_FAILED_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps a refused event as a failed trigger before the answer goes out (nothing may run
/// after a Lambda's response); bounded, so an outage that also stops this cannot hold the
/// provider past its own timeout.
pub async fn keep_failed(backend: &Backend, envelope: &EventEnvelope, failure: TriggerFailure) {
    if tokio::time::timeout(KEEP_FAILED_TIMEOUT, record_failed(backend, envelope, failure)).await.is_err() {
        tracing::error!(event_id = %envelope.event_id, "keeping a failed event timed out");
    }
}

/// Keeps the event's envelope (for a replay) and records the failed trigger.
pub async fn record_failed(backend: &Backend, envelope: &EventEnvelope, failure: TriggerFailure) {
    let key = event_blob_key(&envelope.event_id);
    let stored = match serde_json::to_vec(envelope) {
        Ok(bytes) => backend.blobs.put_blob(&key, bytes.into()).await,
        Err(e) => Err(StoreError::backend(e)),
    };
    if let Err(e) = stored {
        tracing::error!(event_id = %envelope.event_id, error = %e, "could not keep a failed event");
        return;
    }
    let trigger = FailedTrigger::new(envelope.webhook_id, envelope.event_id, key, backend.clock.now(), failure);
    if let Err(e) = backend.registry.put_failed_trigger(&trigger).await {
        tracing::error!(event_id = %envelope.event_id, error = %e, "could not record a failed trigger");
    }
}
