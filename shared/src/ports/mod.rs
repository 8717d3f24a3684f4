//! The narrow interfaces the functions need. Each has two real implementations
//! (`backend::local` on SQLite, `backend::aws` on DynamoDB/SQS/Secrets Manager/S3) and one
//! contract test suite (`tests/it/contract.rs`) that both must pass.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};

use crate::domain::{
    Binding, BindingId, Connector, ConnectorId, DeliveryId, DeliveryRecord, DeliveryStatus, FailedTrigger,
    FailedTriggerId, Location, QueueRef, Waiter, Webhook, WebhookId,
};
use crate::error::StoreError;
use crate::secret::SecretString;

/// One page of a listing; `next` is an opaque cursor for the following page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Which page to read: at most `limit` items after `cursor`.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub cursor: Option<String>,
    pub limit: u32,
}

/// Registrations: webhooks, their bindings and failed triggers.
#[async_trait]
pub trait Registry: Send + Sync {
    /// Creates a webhook. `Conflict(AlreadyExists)` if the id exists, `Conflict(NameTaken)`
    /// if the name is used in the same location.
    async fn create_webhook(&self, webhook: &Webhook) -> Result<(), StoreError>;
    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Webhook>, StoreError>;
    /// Webhooks, optionally only those in one location, in id (creation) order.
    async fn list_webhooks(&self, location: Option<&Location>, page: PageRequest) -> Result<Page<Webhook>, StoreError>;
    /// Replaces a webhook if its stored version is `webhook.version - 1`
    /// (`Conflict(VersionMismatch)` otherwise, `NotFound` if it is gone).
    async fn update_webhook(&self, webhook: &Webhook) -> Result<(), StoreError>;
    /// Deletes a webhook and its bindings. `NotFound` if it did not exist.
    async fn delete_webhook(&self, id: &WebhookId) -> Result<(), StoreError>;

    async fn put_binding(&self, binding: &Binding) -> Result<(), StoreError>;
    async fn list_bindings(&self, webhook: &WebhookId) -> Result<Vec<Binding>, StoreError>;
    /// Removes a binding; `NotFound` if it did not exist.
    async fn delete_binding(&self, webhook: &WebhookId, binding: &BindingId) -> Result<(), StoreError>;

    /// Registers an instance's wait at a binding (replacing its earlier value there).
    /// `Conflict(AlreadyExists)` if another instance waits for the same value at that binding.
    async fn put_waiter(&self, waiter: &Waiter) -> Result<(), StoreError>;
    /// Removes every wait of an instance on a webhook; `NotFound` if it had none.
    async fn delete_waiters(&self, webhook: &WebhookId, instance: &str) -> Result<(), StoreError>;
    /// Takes (removes and returns) the waiter for `value` at a binding: of concurrent
    /// callers, exactly one gets it.
    async fn take_waiter(
        &self,
        webhook: &WebhookId,
        binding: &BindingId,
        value: &str,
    ) -> Result<Option<Waiter>, StoreError>;

    async fn put_failed_trigger(&self, trigger: &FailedTrigger) -> Result<(), StoreError>;
    async fn get_failed_trigger(&self, id: &FailedTriggerId) -> Result<Option<FailedTrigger>, StoreError>;
    /// Failed triggers, newest first, optionally of one webhook.
    async fn list_failed_triggers(
        &self,
        webhook: Option<&WebhookId>,
        page: PageRequest,
    ) -> Result<Page<FailedTrigger>, StoreError>;
}

/// Connectors (outbound endpoints). Names are unique.
#[async_trait]
pub trait ConnectorStore: Send + Sync {
    /// `Conflict(AlreadyExists)` for a taken id, `Conflict(NameTaken)` for a taken name.
    async fn create_connector(&self, connector: &Connector) -> Result<(), StoreError>;
    async fn get_connector(&self, id: &ConnectorId) -> Result<Option<Connector>, StoreError>;
    /// Connectors in id (creation) order.
    async fn list_connectors(&self, page: PageRequest) -> Result<Page<Connector>, StoreError>;
    /// Replaces a connector if its stored version is `version - 1`.
    async fn update_connector(&self, connector: &Connector) -> Result<(), StoreError>;
    async fn delete_connector(&self, id: &ConnectorId) -> Result<(), StoreError>;
    /// Records an attempt's outcome; returns since when the connector has been failing
    /// without a success (`None` after a success).
    async fn record_outcome(
        &self,
        id: &ConnectorId,
        success: bool,
        at: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, StoreError>;
}

/// Which deliveries to list.
#[derive(Debug, Clone, Default)]
pub struct DeliveryFilter {
    pub connector: Option<ConnectorId>,
    pub status: Option<DeliveryStatus>,
}

/// The delivery log: one record per (event, connector) with every attempt.
#[async_trait]
pub trait DeliveryLog: Send + Sync {
    /// Replaces a record if the stored one holds exactly `previous_attempts` attempts: two
    /// attempts of one delivery never overwrite each other's outcome
    /// (`Conflict(VersionMismatch)` otherwise, `NotFound` if there is none).
    async fn update_delivery(&self, record: &DeliveryRecord, previous_attempts: usize) -> Result<(), StoreError>;
    /// Creates a record unless one exists (`Conflict(AlreadyExists)`): an event delivered twice
    /// to the same connector is one delivery.
    async fn create_delivery(&self, record: &DeliveryRecord) -> Result<(), StoreError>;
    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError>;
    /// Newest first.
    async fn list_deliveries(
        &self,
        filter: &DeliveryFilter,
        page: PageRequest,
    ) -> Result<Page<DeliveryRecord>, StoreError>;
}

/// Named secrets. Values never leave as anything but [`SecretString`].
#[async_trait]
pub trait SecretStore: Send + Sync {
    /// Creates or replaces the secret's current value.
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError>;
    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError>;
    /// The current value and a token naming that version of it (for [`SecretStore::replace_secret`]).
    async fn get_secret_versioned(&self, name: &str) -> Result<Option<(SecretString, String)>, StoreError>;
    /// Replaces the value only if it is still the version `token` names: a read-modify-write
    /// never undoes a concurrent one (`Conflict(VersionMismatch)` if the value moved on,
    /// `NotFound` if the secret is gone). Returns the new version's token.
    async fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> Result<String, StoreError>;
    /// Removes a secret; removing a missing one is not an error.
    async fn delete_secret(&self, name: &str) -> Result<(), StoreError>;
    /// Envelope storage only: seal every secret under the current data key, after adding a
    /// new one when `new_key`. `None` where secrets are not sealed under data keys.
    async fn rotate_keys(&self, _new_key: bool) -> Result<Option<KeyRotation>, StoreError> {
        Ok(None)
    }
}

/// What a data-key rotation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRotation {
    /// The key now sealing.
    pub current_key: String,
    /// Secrets sealed again under it.
    pub resealed: u64,
}

/// A message to send. `group_id` and `dedup_id` are used by FIFO queues only.
#[derive(Debug, Clone, Default)]
pub struct OutgoingMessage {
    pub body: String,
    pub group_id: Option<String>,
    pub dedup_id: Option<String>,
    pub delay: Duration,
}

impl OutgoingMessage {
    pub fn new(body: impl Into<String>) -> Self {
        Self { body: body.into(), ..Default::default() }
    }
}

/// Why one entry of a batch was not sent. `retryable` entries may be sent again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendFailure {
    pub code: String,
    pub retryable: bool,
}

/// A received message; the receipt handle acknowledges or extends it.
#[derive(Debug, Clone)]
pub struct ReceivedMessage {
    pub message_id: String,
    pub receipt_handle: String,
    pub body: String,
    /// How often it has been received, this time included.
    pub receive_count: u32,
    pub sent_at: DateTime<Utc>,
}

/// How to create a queue (tests and the local runner; in AWS the template creates them).
#[derive(Debug, Clone)]
pub struct QueueSpec {
    pub name: String,
    pub visibility_timeout: Duration,
    /// After this many receives without acknowledgement a message moves to `dead_letter`.
    pub max_receives: u32,
    pub dead_letter: Option<QueueRef>,
}

/// The most entries one send call takes (SQS's `SendMessageBatch` limit).
pub const MAX_BATCH: usize = 10;

/// Durable queues with SQS semantics: at-least-once, visibility timeout, receive count,
/// dead-letter after max receives, delays, FIFO group/dedup ids.
#[async_trait]
pub trait Queues: Send + Sync {
    /// Creates the queue if missing and returns its reference.
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueRef, StoreError>;
    /// Sends up to [`MAX_BATCH`] messages; one result per entry, in order. `Err` only when
    /// the call as a whole failed (nothing is known to be sent).
    async fn send_batch(
        &self,
        queue: &QueueRef,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Result<(), SendFailure>>, StoreError>;
    /// Receives up to `max` (1 to 10) visible messages, hiding them for `visibility`;
    /// waits up to `wait` for one to arrive.
    async fn receive(
        &self,
        queue: &QueueRef,
        max: u32,
        visibility: Duration,
        wait: Duration,
    ) -> Result<Vec<ReceivedMessage>, StoreError>;
    /// Acknowledges (deletes) a received message.
    async fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> Result<(), StoreError>;
    /// Acknowledges up to [`MAX_BATCH`] messages in one call.
    async fn delete_batch(&self, queue: &QueueRef, receipt_handles: &[String]) -> Result<(), StoreError>;
    /// Makes a received message visible again after `timeout` (zero: now).
    async fn change_visibility(
        &self,
        queue: &QueueRef,
        receipt_handle: &str,
        timeout: Duration,
    ) -> Result<(), StoreError>;
    /// How many messages the queue holds (approximate in SQS: visible + in flight + delayed).
    async fn depth(&self, queue: &QueueRef) -> Result<u64, StoreError>;
}

/// Sends one chunk (at most [`MAX_BATCH`] entries, each tagged with what the caller needs to
/// know of it) in up to `attempts` calls, retrying only the entries that failed with a
/// retryable error (or all of them when the whole call failed). Returns the entries that
/// could not be sent, each with the reason. The fan-out and the dispatcher both send this way.
pub async fn send_with_retries<T>(
    queues: &dyn Queues,
    queue: &QueueRef,
    mut chunk: Vec<(T, OutgoingMessage)>,
    attempts: u32,
) -> Vec<(T, String)> {
    let mut failed = Vec::new();
    let mut last = String::new();
    for _ in 0..attempts.max(1) {
        if chunk.is_empty() {
            break;
        }
        let messages: Vec<OutgoingMessage> = chunk.iter().map(|(_, m)| m.clone()).collect();
        match queues.send_batch(queue, &messages).await {
            Ok(results) => {
                let mut retry = Vec::new();
                for ((tag, message), result) in chunk.into_iter().zip(results) {
                    if let Err(f) = result {
                        let cause = format!("{queue}: {}", f.code);
                        if f.retryable {
                            last = cause;
                            retry.push((tag, message));
                        } else {
                            failed.push((tag, cause));
                        }
                    }
                }
                chunk = retry;
            }
            Err(e) => last = format!("{queue}: {e}"),
        }
    }
    failed.extend(chunk.into_iter().map(|(tag, _)| (tag, last.clone())));
    failed
}

/// Payload blobs: events too large for a queue message, kept for replay.
#[async_trait]
pub trait BlobStore: Send + Sync {
    async fn put_blob(&self, key: &str, data: Bytes) -> Result<(), StoreError>;
    async fn get_blob(&self, key: &str) -> Result<Option<Bytes>, StoreError>;
    async fn delete_blob(&self, key: &str) -> Result<(), StoreError>;
    /// How a consumer outside hookbridge finds a blob (`s3://bucket/key`, `local:key`).
    fn uri(&self, key: &str) -> String;
}

/// The outcome of claiming a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// First claim in the window: the caller owns it.
    New,
    /// Claimed before (and not expired): the value stored by the first claim.
    Existing(String),
}

/// Deduplication of delivery ids and idempotency keys for a time window.
#[async_trait]
pub trait Dedup: Send + Sync {
    /// Claims `key` for `ttl`, storing `value`, unless an unexpired claim exists.
    async fn claim(&self, key: &str, value: &str, ttl: Duration) -> Result<Claim, StoreError>;
    /// Drops a claim (for example when the work it guarded failed).
    async fn release(&self, key: &str) -> Result<(), StoreError>;
    /// Replaces a claim's value (for example with the result of the work it guarded).
    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError>;
}

/// Time, injectable for tests of expiry.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The queues hookbridge itself owns (process-starter queues come from bindings).
#[derive(Debug, Clone)]
pub struct QueueRefs {
    /// Accepted events, consumed by the fan-out.
    pub events: QueueRef,
}

/// The dispatch side's queues: deliveries waiting for an attempt, and exhausted ones.
#[derive(Debug, Clone)]
pub struct DispatchQueues {
    pub deliveries: QueueRef,
    pub dead_letter: QueueRef,
}

/// Every port, as shared handles: what handlers receive.
#[derive(Clone)]
pub struct Backend {
    pub registry: Arc<dyn Registry>,
    pub connectors: Arc<dyn ConnectorStore>,
    pub deliveries: Arc<dyn DeliveryLog>,
    pub secrets: Arc<dyn SecretStore>,
    pub queues: Arc<dyn Queues>,
    pub blobs: Arc<dyn BlobStore>,
    pub dedup: Arc<dyn Dedup>,
    pub clock: Arc<dyn Clock>,
    /// This function instance's counters for the overview (written at most once per interval).
    pub stats: Arc<crate::stats::Recorder>,
}

/// Opaque page cursors: the last key of a page, base64url-encoded so callers do not build
/// them by hand.
pub mod cursor {
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::error::StoreError;

    pub fn encode(key: &str) -> String {
        URL_SAFE_NO_PAD.encode(key)
    }

    /// A malformed cursor is the caller's error (`InvalidCursor`, answered with 400).
    pub fn decode(cursor: &str) -> Result<String, StoreError> {
        URL_SAFE_NO_PAD.decode(cursor).ok().and_then(|b| String::from_utf8(b).ok()).ok_or(StoreError::InvalidCursor)
    }
}
