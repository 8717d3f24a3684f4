//! Queue messages: small, tagged JSON. The events queue carries accepted events (inline, or
//! by reference when too large for a queue message); process-starter queues carry one
//! message per (event, binding).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::domain::{BindingId, DeliveryId, EventEnvelope, EventId, WebhookId, WebhookMessage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventMessageType {
    WebhookEvent,
}

/// A message on the events queue. Exactly one of `event` (inline) and `blobKey` (claim
/// check: the envelope is in the blob store) is set.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EventMessage {
    #[serde(rename = "type")]
    pub kind: EventMessageType,
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<EventEnvelope>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_key: Option<String>,
    /// For resume webhooks: the waiting instances this event resumes (taken at the door).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resume: Vec<ResumeTarget>,
}

/// An instance an event resumes, at one resume binding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResumeTarget {
    pub binding_id: BindingId,
    pub process_instance_id: String,
}

/// Where an event's envelope is kept when it does not travel inline (and for replays).
pub fn event_blob_key(event: &EventId) -> String {
    format!("events/{event}.json")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ProcessMessageType {
    StartProcess,
    ResumeProcess,
}

/// What a process starter receives. `deliveryId` is the same for the same (event,
/// binding) on every attempt and replay, so consumers deduplicate on it.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessMessage<'a> {
    #[serde(rename = "type")]
    pub kind: ProcessMessageType,
    pub delivery_id: DeliveryId,
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    pub binding_id: BindingId,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_definition_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub catch_event_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_instance_id: Option<&'a str>,
    /// Where the resumed instance stores the payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_key: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_message: Option<&'a WebhookMessage>,
    /// The request body byte-exact, base64 (standard alphabet, padded).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_body: Option<String>,
    /// Set instead of `webhookMessage` and `rawBody` when the message would exceed the
    /// queue's size limit: where the whole message is stored (`s3://bucket/key`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload_ref: Option<String>,
}

impl<'a> ProcessMessage<'a> {
    pub fn start(envelope: &'a EventEnvelope, binding: BindingId, process_definition_id: &'a str) -> Self {
        Self {
            kind: ProcessMessageType::StartProcess,
            delivery_id: DeliveryId::derive(&envelope.event_id, binding.as_uuid()),
            event_id: envelope.event_id,
            webhook_id: envelope.webhook_id,
            binding_id: binding,
            process_definition_id: Some(process_definition_id),
            catch_event_id: None,
            process_instance_id: None,
            process_key: None,
            webhook_message: Some(&envelope.webhook_message),
            raw_body: Some(STANDARD.encode(&envelope.raw_body)),
            payload_ref: None,
        }
    }

    /// Resumes `instance`, waiting at `catch_event_id`; the payload goes to `process_key`.
    pub fn resume(
        envelope: &'a EventEnvelope,
        binding: BindingId,
        catch_event_id: &'a str,
        instance: &'a str,
        process_key: &'a str,
    ) -> Self {
        Self {
            kind: ProcessMessageType::ResumeProcess,
            process_definition_id: None,
            catch_event_id: Some(catch_event_id),
            process_instance_id: Some(instance),
            process_key: Some(process_key),
            ..Self::start(envelope, binding, "")
        }
    }

    /// The same message pointing at its stored full form.
    pub fn by_reference(&self, uri: String) -> Self {
        Self { webhook_message: None, raw_body: None, payload_ref: Some(uri), ..*self }
    }
}

/// Where a process message too large for its queue is stored.
pub fn process_blob_key(delivery: &DeliveryId) -> String {
    format!("process/{delivery}.json")
}
