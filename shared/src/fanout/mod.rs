//! The fan-out: consumes the events queue and sends one message per (event, binding) to
//! each bound process's queue. Sends are grouped per queue across the whole batch, in
//! batches of ten; only the entries that failed are retried, and a record whose messages
//! could not all be sent is reported as a batch item failure so SQS redelivers it
//! (consumers deduplicate on `deliveryId`).

use std::collections::HashMap;
use std::sync::Arc;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent, SqsMessage};
use futures::future::join_all;

use crate::domain::{BindingKind, EventEnvelope, FailureSource, QueueRef, TriggerFailure};
use crate::error::StoreError;
use crate::messages::{EventMessage, ProcessMessage, ResumeTarget, process_blob_key};
use crate::ports::{Backend, MAX_BATCH, OutgoingMessage, send_with_retries};
use crate::registration::RegistrationCache;
use crate::stats;

#[derive(Debug, Clone)]
pub struct FanoutConfig {
    /// The events queue's max receives: on the last one, a failing record is also recorded
    /// as a failed trigger before it goes to the dead-letter queue.
    pub max_receives: u32,
    /// Tries per entry within one invocation before the record is handed back to the queue.
    pub send_attempts: u32,
    /// Largest process message sent inline; a larger one is stored in the blob store and
    /// the message carries `payloadRef` (SQS: 256 KiB; the local runner has no limit).
    pub max_message_bytes: usize,
}

/// Tries per entry within one invocation before the record goes back to the queue.
pub const SEND_ATTEMPTS: u32 = 3;

pub struct Fanout {
    backend: Backend,
    cache: Arc<RegistrationCache>,
    config: FanoutConfig,
}

/// Why one record could not be fanned out.
#[derive(Debug, thiserror::Error)]
enum RecordError {
    #[error("malformed events-queue message: {0}")]
    Malformed(String),
    #[error("the event's stored payload is missing")]
    PayloadMissing,
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("a process message could not be sent: {1}")]
    Send(QueueRef, String),
}

impl RecordError {
    fn code(&self) -> &'static str {
        match self {
            RecordError::Malformed(_) => "MALFORMED_MESSAGE",
            RecordError::PayloadMissing => "EVENT_EXPIRED",
            RecordError::Store(_) => "STORE_UNAVAILABLE",
            RecordError::Send(..) => "PROCESS_QUEUE_SEND_FAILED",
        }
    }
}

struct Pending {
    record: usize,
    queue: QueueRef,
    message: OutgoingMessage,
}

impl Fanout {
    pub fn new(backend: Backend, cache: Arc<RegistrationCache>, config: FanoutConfig) -> Self {
        Self { backend, cache, config }
    }

    /// Handles one SQS batch; the response names only the records to retry.
    pub async fn handle(&self, event: SqsEvent) -> SqsBatchResponse {
        let records = event.records;
        let mut failed: HashMap<usize, RecordError> = HashMap::new();
        let mut envelopes: Vec<Option<(EventEnvelope, Vec<ResumeTarget>)>> = Vec::with_capacity(records.len());
        for (i, r) in records.iter().enumerate() {
            match self.envelope(r).await {
                Ok(e) => envelopes.push(Some(e)),
                Err(e) => {
                    failed.insert(i, e);
                    envelopes.push(None);
                }
            }
        }

        let mut pending = Vec::new();
        for (i, envelope) in envelopes.iter().enumerate() {
            let Some((envelope, resume)) = envelope else { continue };
            match self.messages_for(i, envelope, resume).await {
                Ok(mut msgs) => pending.append(&mut msgs),
                Err(e) => {
                    failed.insert(i, e);
                }
            }
        }

        let to_send = pending.len();
        let unsent = self.send_all(pending).await;
        self.backend.stats.add(stats::PROCESS_MESSAGES, (to_send - unsent.len()) as u64, self.backend.clock.now());
        for (record, cause) in unsent {
            failed.entry(record).or_insert(cause);
        }

        let mut response = SqsBatchResponse::default();
        for (i, cause) in failed {
            let r = &records[i];
            let id = r.message_id.clone().unwrap_or_default();
            tracing::warn!(message_id = %id, error = %cause, "fan-out failed for a record");
            if receive_count(r) >= self.config.max_receives {
                self.record_failed(r, envelopes[i].as_ref().map(|(e, _)| e), &cause).await;
            }
            let mut failure = BatchItemFailure::default();
            failure.item_identifier = id;
            response.batch_item_failures.push(failure);
        }
        self.backend.stats.flush_if_due().await;
        response
    }

    async fn envelope(&self, r: &SqsMessage) -> Result<(EventEnvelope, Vec<ResumeTarget>), RecordError> {
        let body = r.body.as_deref().unwrap_or_default();
        let msg: EventMessage = serde_json::from_str(body).map_err(|e| RecordError::Malformed(e.to_string()))?;
        if let Some(e) = msg.event {
            return Ok((e, msg.resume));
        }
        let key = msg.blob_key.ok_or_else(|| RecordError::Malformed("neither event nor blobKey".into()))?;
        let bytes = self.backend.blobs.get_blob(&key).await?.ok_or(RecordError::PayloadMissing)?;
        let envelope = serde_json::from_slice(&bytes).map_err(|e| RecordError::Malformed(e.to_string()))?;
        Ok((envelope, msg.resume))
    }

    #[tracing::instrument(name = "fanout", skip_all, fields(webhook_id = %envelope.webhook_id, event_id = %envelope.event_id))]
    async fn messages_for(
        &self,
        record: usize,
        envelope: &EventEnvelope,
        resume: &[ResumeTarget],
    ) -> Result<Vec<Pending>, RecordError> {
        let Some(reg) = self.cache.get(&self.backend, &envelope.webhook_id).await? else {
            // Deleted since it was accepted: nothing is bound any more.
            tracing::warn!(event_id = %envelope.event_id, "event for a deleted webhook dropped");
            return Ok(Vec::new());
        };
        let mut out = Vec::with_capacity(reg.bindings.len());
        for b in &reg.bindings {
            let messages: Vec<ProcessMessage> = match &b.kind {
                BindingKind::StartProcess { process_definition_id, .. } => {
                    vec![ProcessMessage::start(envelope, b.id, process_definition_id.as_str())]
                }
                // Only the instances taken at the door for this binding are resumed.
                BindingKind::ResumeProcess { catch_event_id, process_key, .. } => resume
                    .iter()
                    .filter(|t| t.binding_id == b.id)
                    .map(|t| {
                        ProcessMessage::resume(
                            envelope,
                            b.id,
                            catch_event_id.as_str(),
                            &t.process_instance_id,
                            process_key.as_str(),
                        )
                    })
                    .collect(),
            };
            let queue = b.kind.queue();
            for pm in messages {
                let mut body = serde_json::to_string(&pm).map_err(StoreError::backend)?;
                if body.len() > self.config.max_message_bytes {
                    let key = process_blob_key(&pm.delivery_id);
                    self.backend.blobs.put_blob(&key, body.into()).await?;
                    body = serde_json::to_string(&pm.by_reference(self.backend.blobs.uri(&key)))
                        .map_err(StoreError::backend)?;
                }
                let mut message = OutgoingMessage::new(body);
                if queue.is_fifo() {
                    // One group per webhook keeps its events in order; the delivery id
                    // makes a resend within five minutes a no-op.
                    message.group_id = Some(envelope.webhook_id.to_string());
                    message.dedup_id = Some(pm.delivery_id.to_string());
                }
                out.push(Pending { record, queue: queue.clone(), message });
            }
        }
        tracing::debug!(messages = out.len(), "process messages prepared");
        Ok(out)
    }

    /// Sends everything, grouped per queue in batches of ten; returns the records with an
    /// entry that could not be sent.
    async fn send_all(&self, pending: Vec<Pending>) -> Vec<(usize, RecordError)> {
        let mut by_queue: HashMap<QueueRef, Vec<(usize, OutgoingMessage)>> = HashMap::new();
        for p in pending {
            by_queue.entry(p.queue).or_default().push((p.record, p.message));
        }
        let sends = by_queue.into_iter().flat_map(|(queue, entries)| {
            let chunks: Vec<Vec<(usize, OutgoingMessage)>> = entries.chunks(MAX_BATCH).map(<[_]>::to_vec).collect();
            chunks.into_iter().map(move |chunk| {
                let queue = queue.clone();
                async move {
                    send_with_retries(self.backend.queues.as_ref(), &queue, chunk, self.config.send_attempts)
                        .await
                        .into_iter()
                        .map(|(record, cause)| (record, RecordError::Send(queue.clone(), cause)))
                        .collect::<Vec<_>>()
                }
            })
        });
        join_all(sends).await.into_iter().flatten().collect()
    }

    async fn record_failed(&self, r: &SqsMessage, envelope: Option<&EventEnvelope>, cause: &RecordError) {
        let Some(envelope) = envelope else {
            tracing::error!(message_id = ?r.message_id, error = %cause, "unreadable event goes to the dead-letter queue");
            return;
        };
        // A backend's own error text (account ids, role names) is logged, not kept.
        let message = match cause {
            RecordError::Store(e) => {
                tracing::warn!(event_id = %envelope.event_id, error = %e, "fan-out could not reach a store");
                "a backing service was unavailable".to_owned()
            }
            RecordError::Send(..) => "a process message could not be sent".to_owned(),
            other => other.to_string(),
        };
        let mut failure = TriggerFailure {
            code: cause.code(),
            message,
            source: FailureSource::Fanout,
            binding_id: None,
            process_definition_id: None,
            details: Default::default(),
        };
        if let RecordError::Send(queue, code) = cause {
            failure.details.insert("queue".into(), queue.to_string());
            failure.details.insert("error".into(), code.clone());
            // The binding that sends to that queue (cached: the batch just read it).
            if let Ok(Some(reg)) = self.cache.get(&self.backend, &envelope.webhook_id).await
                && let Some(b) = reg.bindings.iter().find(|b| b.kind.queue() == queue)
            {
                failure.binding_id = Some(b.id);
                failure.process_definition_id = Some(b.kind.process_definition().to_owned());
            }
        }
        crate::accept::record_failed(&self.backend, envelope, failure).await;
    }
}

fn receive_count(r: &SqsMessage) -> u32 {
    r.attributes.get("ApproximateReceiveCount").and_then(|v| v.parse().ok()).unwrap_or(1)
}
