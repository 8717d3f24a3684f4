//! Outbound dispatch: events from audit streams and process steps go to every connector
//! whose event types match, at least once, with retries that wait in the dispatch queue.
//!
//! The pipeline per delivery: [`Dispatcher::intake`] records it and queues a small
//! `DELIVERY` message; each attempt [`prepare`](Dispatcher::prepare)s the request (auth,
//! headers, signature), [`call`](OutboundClient::send)s the endpoint, and records success or
//! failure ([`Dispatcher::record`]), scheduling the next attempt as a delayed message.

pub mod client;
pub mod guard;
pub mod signing;
pub mod sources;
pub mod template;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};

pub use client::{MAX_RESPONSE, OutboundClient, OutboundRequest, OutboundResponse};
pub use guard::AllowList;

use crate::cache::TtlCache;
use crate::domain::{
    Connector, ConnectorAuth, ConnectorId, ConnectorSecrets, DeliveryAttempt, DeliveryId, DeliveryRecord,
    DeliveryStatus, HttpMethod, KeyPlacement, OutboundEvent, SigningScheme, delivery_id,
};
use crate::error::{Conflict, StoreError};
use crate::ports::{Backend, DispatchQueues, OutgoingMessage, PageRequest, send_with_retries};

/// SQS delays a message at most 15 minutes; longer waits take several hops.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// The longest wait before one retry (a schedule entry, or twice one after `Retry-After`):
/// a week. Longer entries are refused when saved and capped when read.
pub const MAX_RETRY_DELAY: Duration = Duration::from_secs(7 * 24 * 3600);

/// Events larger than this are refused (a delivery record holds its event).
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

/// The most event bytes one batch delivery holds: with its attempt log (at most 21 x 4 KiB
/// of answers) a record stays under DynamoDB's 400 KB item limit (review M10).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct DispatchConfig {
    /// `HOOKBRIDGE_RETRY_SCHEDULE`: replaces every connector's schedule (tests use
    /// milliseconds: `0.01,0.01`).
    pub schedule_override: Option<Vec<Duration>>,
    /// How long connectors and their secrets are cached.
    pub cache_ttl: Duration,
    /// `HOOKBRIDGE_DISABLE_AFTER_SECS`: a connector failing this long without a success is
    /// disabled (default 5 days).
    pub disable_after: Duration,
}

/// Five days.
pub const DEFAULT_DISABLE_AFTER: Duration = Duration::from_secs(5 * 24 * 3600);

/// Parses `HOOKBRIDGE_RETRY_SCHEDULE`-style lists: seconds, fractions allowed.
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite() && *v >= 0.0)
                .ok_or_else(|| format!("{p:?} is not a number of seconds"))
                .and_then(|v| {
                    Duration::try_from_secs_f64(v)
                        .ok()
                        .filter(|d| *d <= MAX_RETRY_DELAY)
                        .ok_or_else(|| format!("{p:?} is more than {} seconds", MAX_RETRY_DELAY.as_secs()))
                })
        })
        .collect()
}

/// The message on the dispatch queue: which delivery to attempt, and not before when.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryMessage {
    #[serde(rename = "type")]
    pub kind: DeliveryMessageType,
    pub delivery_id: DeliveryId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryMessageType {
    Delivery,
}

/// Why an event could not be taken in.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("invalid event: {0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A call's outcome as the caller of an immediate invocation sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ImmediateResult {
    pub delivery_id: DeliveryId,
    pub status: Option<u16>,
    pub headers: HashMap<String, String>,
    pub body: String,
    pub error: Option<String>,
    pub latency_ms: u64,
}

type CachedConnector = Option<Arc<(Connector, ConnectorSecrets)>>;

pub struct Dispatcher {
    backend: Backend,
    queues: DispatchQueues,
    client: OutboundClient,
    config: DispatchConfig,
    caches: Arc<Caches>,
}

/// What a dispatcher remembers between calls (shared by the dispatchers of one process).
struct Caches {
    connectors: TtlCache<ConnectorId, CachedConnector>,
    listing: TtlCache<(), Arc<Vec<Connector>>>,
    /// Last known health per connector (`Some(since)` failing), so only changes are written.
    health: Mutex<HashMap<ConnectorId, Option<DateTime<Utc>>>>,
}

/// The secret-store name of a connector's secrets.
pub fn connector_secret_name(id: &ConnectorId) -> String {
    format!("hookbridge/connectors/{id}")
}

impl Dispatcher {
    pub fn new(backend: Backend, queues: DispatchQueues, client: OutboundClient, config: DispatchConfig) -> Self {
        let caches = Arc::new(Caches {
            connectors: TtlCache::new(config.cache_ttl, 10_000),
            listing: TtlCache::new(config.cache_ttl, 1),
            health: Mutex::default(),
        });
        Self { backend, queues, client, config, caches }
    }

    /// The same dispatcher calling the stores with another function's backend (its own
    /// credentials), sharing this one's caches: the local runner gives the management API
    /// and the dispatch workers one each, as Lambda gives each function its own role.
    pub fn for_backend(&self, backend: Backend) -> Self {
        Self {
            backend,
            queues: self.queues.clone(),
            client: self.client.clone(),
            config: self.config.clone(),
            caches: self.caches.clone(),
        }
    }

    /// Forgets cached connectors (the local runner calls this on every connector change).
    /// The guarded outbound client (registration helpers call out through it too).
    pub fn client(&self) -> &OutboundClient {
        &self.client
    }

    pub fn invalidate(&self) {
        self.caches.connectors.clear();
        self.caches.listing.clear();
    }

    async fn all_connectors(&self) -> Result<Arc<Vec<Connector>>, StoreError> {
        if let Some(list) = self.caches.listing.get(&()) {
            return Ok(list);
        }
        let mut all = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.backend.connectors.list_connectors(PageRequest { cursor, limit: 1000 }).await?;
            all.extend(page.items);
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let list = Arc::new(all);
        self.caches.listing.insert((), list.clone());
        Ok(list)
    }

    async fn connector(&self, id: &ConnectorId) -> Result<Option<Arc<(Connector, ConnectorSecrets)>>, StoreError> {
        if let Some(c) = self.caches.connectors.get(id) {
            return Ok(c);
        }
        let loaded = match self.backend.connectors.get_connector(id).await? {
            None => None,
            Some(c) => {
                let secrets = match self.backend.secrets.get_secret(&connector_secret_name(id)).await? {
                    Some(s) => ConnectorSecrets::from_secret(&s)
                        .map_err(|_| StoreError::msg("connector secret is malformed"))?,
                    None => ConnectorSecrets::default(),
                };
                Some(Arc::new((c, secrets)))
            }
        };
        self.caches.connectors.insert(*id, loaded.clone());
        Ok(loaded)
    }

    /// Takes events in: one delivery per matching enabled connector, recorded and queued.
    /// Returns the delivery ids. Taking the same event in twice creates nothing new (a
    /// still-pending delivery is queued again, in case its first message was lost).
    pub async fn intake(&self, events: &[OutboundEvent]) -> Result<Vec<DeliveryId>, IntakeError> {
        for e in events {
            e.validate().map_err(|e| IntakeError::Invalid(e.to_string()))?;
            let size = serde_json::to_vec(e).map(|v| v.len()).unwrap_or(usize::MAX);
            if size > MAX_EVENT_BYTES {
                return Err(IntakeError::Invalid(format!("event {} exceeds {MAX_EVENT_BYTES} bytes", e.id)));
            }
        }
        let connectors = self.all_connectors().await?;
        let now = self.backend.clock.now();
        let mut ids = Vec::new();
        let mut messages = Vec::new();
        // One delivery per (event, connector), or per chunk of events for batch connectors.
        let mut units: Vec<(&Connector, Vec<&OutboundEvent>)> = Vec::new();
        for c in connectors.iter().filter(|c| c.enabled) {
            let matching: Vec<&OutboundEvent> = events.iter().filter(|e| c.accepts(&e.kind)).collect();
            match c.batch_max_events {
                Some(max) => {
                    let size = |e: &OutboundEvent| serde_json::to_vec(e).map_or(MAX_EVENT_BYTES, |v| v.len());
                    for chunk in batch_chunks(&matching, max.max(1) as usize, MAX_BATCH_BYTES, size) {
                        units.push((c, chunk));
                    }
                }
                None => units.extend(matching.into_iter().map(|e| (c, vec![e]))),
            }
        }
        for (c, chunk) in units {
            let (id, batch, event) = if c.batch_max_events.is_some() {
                let owned: Vec<OutboundEvent> = chunk.iter().map(|e| (*e).clone()).collect();
                let text = serde_json::to_string(&owned).map_err(StoreError::backend)?;
                // The batch holds every event; the record's own event only names the first
                // (its data is not kept twice).
                let summary = OutboundEvent { data: serde_json::Value::Null, ..chunk[0].clone() };
                (crate::domain::batch_delivery_id(&owned, &c.id), Some(text), summary)
            } else {
                (delivery_id(&chunk[0].id, &c.id), None, chunk[0].clone())
            };
            let record = DeliveryRecord {
                id,
                connector_id: c.id,
                event,
                batch,
                status: DeliveryStatus::Pending,
                attempts: Vec::new(),
                next_attempt_at: Some(now),
                created_at: now,
                updated_at: now,
            };
            match self.backend.deliveries.create_delivery(&record).await {
                Ok(()) => {}
                Err(StoreError::Conflict(Conflict::AlreadyExists)) => {
                    let existing = self.backend.deliveries.get_delivery(&record.id).await?;
                    if !existing.is_some_and(|d| d.status == DeliveryStatus::Pending) {
                        continue;
                    }
                }
                Err(e) => {
                    // The records made so far get their messages: none is left PENDING
                    // with nothing queued (the caller's retry finds them pending).
                    if let Err(send) = self.send(&messages).await {
                        tracing::error!(error = %send, "could not queue deliveries of a failed intake");
                    }
                    return Err(e.into());
                }
            }
            ids.push(record.id);
            messages.push(message(record.id, None, Duration::ZERO));
        }
        self.send(&messages).await?;
        Ok(ids)
    }

    async fn send(&self, messages: &[OutgoingMessage]) -> Result<(), StoreError> {
        for chunk in messages.chunks(crate::ports::MAX_BATCH) {
            let tagged = chunk.iter().map(|m| ((), m.clone())).collect();
            let failed = send_with_retries(self.backend.queues.as_ref(), &self.queues.deliveries, tagged, 3).await;
            if let Some((_, cause)) = failed.first() {
                return Err(StoreError::msg(format!(
                    "{} delivery messages could not be queued ({cause})",
                    failed.len()
                )));
            }
        }
        Ok(())
    }

    /// Handles a batch from the dispatch queue: delivery attempts, or events a producer
    /// queued directly. Failed records come back through SQS.
    pub async fn handle_sqs(&self, event: SqsEvent) -> SqsBatchResponse {
        use futures::FutureExt;
        let outcomes = futures::future::join_all(event.records.iter().map(|r| async move {
            let body = r.body.as_deref().unwrap_or_default();
            let work = async {
                match serde_json::from_str::<DeliveryMessage>(body) {
                    Ok(m) => self.attempt(&m).await.map_err(|e| e.to_string()),
                    Err(_) => match serde_json::from_str::<OutboundEvent>(body) {
                        Ok(e) => self.intake(std::slice::from_ref(&e)).await.map(|_| ()).map_err(|e| e.to_string()),
                        Err(e) => Err(format!("neither a delivery message nor an event: {e}")),
                    },
                }
            };
            // A panic fails its own record, not the batch (nor, locally, the worker).
            let outcome = std::panic::AssertUnwindSafe(work)
                .catch_unwind()
                .await
                .unwrap_or_else(|_| Err("the record's handling panicked".into()));
            (r.message_id.clone(), outcome)
        }))
        .await;
        let mut response = SqsBatchResponse::default();
        for (id, outcome) in outcomes {
            if let Err(e) = outcome {
                tracing::warn!(message_id = ?id, error = %e, "dispatch record failed");
                let mut f = BatchItemFailure::default();
                f.item_identifier = id.unwrap_or_default();
                response.batch_item_failures.push(f);
            }
        }
        response
    }

    /// One attempt of a queued delivery. `Err` only when the outcome could not be recorded
    /// (the message is then retried by the queue).
    pub async fn attempt(&self, m: &DeliveryMessage) -> Result<(), StoreError> {
        let Some(record) = self.backend.deliveries.get_delivery(&m.delivery_id).await? else {
            tracing::warn!(delivery_id = %m.delivery_id, "message for an unknown delivery dropped");
            return Ok(());
        };
        if record.status != DeliveryStatus::Pending {
            return Ok(()); // a duplicate message: done already
        }
        let now = self.backend.clock.now();
        if let Some(at) = m.not_before.filter(|at| *at > now) {
            // Not due yet: wait another hop.
            let wait = (at - now).to_std().unwrap_or_default();
            return self.send(&[message(record.id, Some(at), wait)]).await;
        }
        let Some(entry) = self.connector(&record.connector_id).await? else {
            return self.finish(record, None, Some("the connector was deleted".into()), DeliveryStatus::Failed).await;
        };
        let (connector, secrets) = (&entry.0, &entry.1);
        if !connector.enabled {
            return self.finish(record, None, Some("the connector is disabled".into()), DeliveryStatus::Failed).await;
        }
        let response = match prepare(connector, secrets, &record, now) {
            Ok(req) => self.client.send(req).await,
            Err(e) => {
                return self.finish(record, None, Some(e), DeliveryStatus::Failed).await;
            }
        };
        self.record(connector, record, response).await
    }

    /// Records an attempt's outcome and decides what follows: done, retry later, dead
    /// letter, or (410) disable the connector.
    async fn record(
        &self,
        connector: &Connector,
        mut record: DeliveryRecord,
        resp: OutboundResponse,
    ) -> Result<(), StoreError> {
        let now = self.backend.clock.now();
        record.attempts.push(attempt_of(&resp, now));
        record.updated_at = now;
        let succeeded = resp.status.is_some_and(|s| (200..300).contains(&s));
        let recorded = self.settle(connector, record, resp, now).await;
        // After the attempt is recorded, and never failing it: a health write that fails
        // must not make the queue call the endpoint again (review M5).
        if let Err(e) = self.track_health(connector, succeeded, now).await {
            tracing::error!(connector_id = %connector.id, error = %e, "could not track the connector's health");
        }
        recorded
    }

    /// What follows an attempt: done, retry later, dead letter, or (410) disable.
    async fn settle(
        &self,
        connector: &Connector,
        mut record: DeliveryRecord,
        resp: OutboundResponse,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let schedule = self.schedule(connector);
        match decide(&resp, record.attempts.len(), &schedule) {
            Decision::Done => {
                record.status = DeliveryStatus::Succeeded;
                record.next_attempt_at = None;
                self.save_attempt(&record).await.map(|_| ())
            }
            Decision::Gone => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at = None;
                self.save_attempt(&record).await?;
                if let Err(e) = self.disable(connector, "the endpoint answered 410 Gone").await {
                    tracing::error!(connector_id = %connector.id, error = %e, "could not disable a gone connector");
                }
                Ok(())
            }
            Decision::RetryAfter(delay) => {
                let delay = jitter(delay);
                let at = chrono::Duration::from_std(delay)
                    .ok()
                    .and_then(|d| now.checked_add_signed(d))
                    .unwrap_or(now + chrono::Duration::days(14));
                record.next_attempt_at = Some(at);
                if !self.save_attempt(&record).await? {
                    return Ok(()); // another attempt ran meanwhile: its chain goes on
                }
                self.send(&[message(record.id, Some(at), delay)]).await
            }
            Decision::Failed { exhausted } => {
                record.status = DeliveryStatus::Failed;
                record.next_attempt_at = None;
                if self.save_attempt(&record).await? && exhausted {
                    self.dead_letter(&record).await?;
                }
                Ok(())
            }
        }
    }

    /// Exhausted: a copy goes to the dead-letter queue for operators and alarms.
    async fn dead_letter(&self, record: &DeliveryRecord) -> Result<(), StoreError> {
        {
            // Exhausted: a copy goes to the dead-letter queue for operators and alarms.
            let body = serde_json::to_string(&DeliveryMessage {
                kind: DeliveryMessageType::Delivery,
                delivery_id: record.id,
                not_before: None,
            })
            .map_err(StoreError::backend)?;
            self.backend.queues.send_batch(&self.queues.dead_letter, &[OutgoingMessage::new(body)]).await?;
        }
        Ok(())
    }

    async fn finish(
        &self,
        mut record: DeliveryRecord,
        status: Option<u16>,
        error: Option<String>,
        outcome: DeliveryStatus,
    ) -> Result<(), StoreError> {
        let now = self.backend.clock.now();
        record.attempts.push(DeliveryAttempt { at: now, status, latency_ms: 0, error, response: None });
        record.status = outcome;
        record.next_attempt_at = None;
        record.updated_at = now;
        self.save_attempt(&record).await.map(|_| ())
    }

    /// Stores a record whose last attempt is this call's. When another attempt of the same
    /// delivery was recorded meanwhile (two messages for one delivery), both stay in the
    /// log: ours is added to the stored record and a success wins. `Ok(true)` when ours was
    /// stored as decided; `Ok(false)` when it was merged (the other chain decides what
    /// follows).
    async fn save_attempt(&self, record: &DeliveryRecord) -> Result<bool, StoreError> {
        let previous = record.attempts.len().saturating_sub(1);
        match self.backend.deliveries.update_delivery(record, previous).await {
            Ok(()) => return Ok(true),
            Err(StoreError::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
        for _ in 0..5 {
            let Some(mut stored) = self.backend.deliveries.get_delivery(&record.id).await? else { return Ok(false) };
            let base = stored.attempts.len();
            if let Some(ours) = record.attempts.last() {
                stored.attempts.push(ours.clone());
                stored.attempts.sort_by_key(|a| a.at);
            }
            if record.status == DeliveryStatus::Succeeded {
                stored.status = DeliveryStatus::Succeeded;
                stored.next_attempt_at = None;
            }
            stored.updated_at = stored.updated_at.max(record.updated_at);
            match self.backend.deliveries.update_delivery(&stored, base).await {
                Ok(()) => return Ok(false),
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(StoreError::Conflict(Conflict::VersionMismatch))
    }

    /// Remembers when a connector started failing; one failing longer than
    /// `disable_after` without a success is disabled.
    async fn track_health(&self, connector: &Connector, success: bool, now: DateTime<Utc>) -> Result<(), StoreError> {
        let known = self.caches.health.lock().expect("health").get(&connector.id).copied();
        let since = match (success, known) {
            (true, Some(None)) => return Ok(()), // healthy, known healthy: nothing to write
            (false, Some(Some(since))) => Some(since), // failing, start already recorded
            _ => self.backend.connectors.record_outcome(&connector.id, success, now).await?,
        };
        self.caches.health.lock().expect("health").insert(connector.id, since);
        if let Some(since) = since {
            let failing = (now - since).to_std().unwrap_or_default();
            if failing >= self.config.disable_after {
                let reason = format!("failing without a success since {}", since.to_rfc3339());
                self.disable(connector, &reason).await?;
            }
        }
        Ok(())
    }

    async fn disable(&self, connector: &Connector, reason: &str) -> Result<(), StoreError> {
        let Some(mut current) = self.backend.connectors.get_connector(&connector.id).await? else { return Ok(()) };
        if !current.enabled {
            return Ok(());
        }
        current.enabled = false;
        current.disabled_reason = Some(reason.to_owned());
        current.version += 1;
        current.updated_at = self.backend.clock.now();
        match self.backend.connectors.update_connector(&current).await {
            Ok(()) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound) => {}
            Err(e) => return Err(e),
        }
        self.invalidate();
        // The operational event: a structured log line operators alert on.
        tracing::warn!(event = "connector.disabled", connector_id = %connector.id, reason, "connector disabled");
        Ok(())
    }

    fn schedule(&self, connector: &Connector) -> Vec<Duration> {
        match &self.config.schedule_override {
            Some(s) => s.clone(),
            // Capped: connectors saved before the cap existed may hold any number.
            None => {
                connector.retry.schedule_secs.iter().map(|s| Duration::from_secs(*s).min(MAX_RETRY_DELAY)).collect()
            }
        }
    }

    /// Calls a connector now and returns its answer (flow steps); the call is logged as a
    /// delivery but not retried.
    pub async fn invoke(
        &self,
        connector_id: &ConnectorId,
        event: &OutboundEvent,
    ) -> Result<Option<ImmediateResult>, IntakeError> {
        event.validate().map_err(|e| IntakeError::Invalid(e.to_string()))?;
        let Some(entry) = self.connector(connector_id).await? else { return Ok(None) };
        let (connector, secrets) = (&entry.0, &entry.1);
        let now = self.backend.clock.now();
        let mut record = DeliveryRecord {
            id: delivery_id(&event.id, connector_id),
            connector_id: *connector_id,
            event: event.clone(),
            batch: None,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: None,
            created_at: now,
            updated_at: now,
        };
        let resp = match prepare(connector, secrets, &record, now) {
            Ok(req) => self.client.send(req).await,
            Err(e) => return Err(IntakeError::Invalid(e)),
        };
        record.attempts.push(attempt_of(&resp, now));
        record.status = if resp.status.is_some_and(|s| (200..300).contains(&s)) {
            DeliveryStatus::Succeeded
        } else {
            DeliveryStatus::Failed
        };
        // A new record, or (the same event invoked again) this call added to the existing one.
        match self.backend.deliveries.create_delivery(&record).await {
            Err(StoreError::Conflict(Conflict::AlreadyExists)) => {
                self.save_attempt(&record).await?;
            }
            other => other?,
        }
        Ok(Some(ImmediateResult {
            delivery_id: record.id,
            status: resp.status,
            headers: resp.headers.into_iter().collect(),
            body: resp.body,
            error: resp.error,
            latency_ms: resp.latency.as_millis() as u64,
        }))
    }

    /// Redelivers every failed delivery of a connector created at or after `since`; returns
    /// how many were queued.
    pub async fn recover(&self, connector: &ConnectorId, since: DateTime<Utc>) -> Result<usize, StoreError> {
        let filter = crate::ports::DeliveryFilter { connector: Some(*connector), status: Some(DeliveryStatus::Failed) };
        let mut cursor = None;
        let mut ids = Vec::new();
        'pages: loop {
            let page = self.backend.deliveries.list_deliveries(&filter, PageRequest { cursor, limit: 500 }).await?;
            for d in page.items {
                if d.created_at < since {
                    break 'pages; // newest first: the rest are older
                }
                ids.push(d.id);
            }
            match page.next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        for id in &ids {
            self.redeliver(id).await?;
        }
        Ok(ids.len())
    }

    /// Queues a delivery again from the start (operator's redeliver).
    pub async fn redeliver(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        let Some(mut record) = self.backend.deliveries.get_delivery(id).await? else { return Ok(None) };
        let now = self.backend.clock.now();
        record.status = DeliveryStatus::Pending;
        record.next_attempt_at = Some(now);
        record.updated_at = now;
        self.backend.deliveries.update_delivery(&record, record.attempts.len()).await?;
        self.send(&[message(record.id, None, Duration::ZERO)]).await?;
        Ok(Some(record))
    }
}

/// Splits a batch connector's events into chunks of at most `max` events and `max_bytes`
/// bytes (an event larger than `max_bytes` travels alone).
fn batch_chunks<'a>(
    events: &[&'a OutboundEvent],
    max: usize,
    max_bytes: usize,
    size: impl Fn(&OutboundEvent) -> usize,
) -> Vec<Vec<&'a OutboundEvent>> {
    let mut chunks: Vec<Vec<&OutboundEvent>> = Vec::new();
    let mut bytes = 0;
    for e in events {
        let n = size(e);
        match chunks.last_mut() {
            Some(last) if last.len() < max && bytes + n <= max_bytes => {
                last.push(e);
                bytes += n;
            }
            _ => {
                chunks.push(vec![e]);
                bytes = n;
            }
        }
    }
    chunks
}

fn message(id: DeliveryId, not_before: Option<DateTime<Utc>>, delay: Duration) -> OutgoingMessage {
    let body =
        serde_json::to_string(&DeliveryMessage { kind: DeliveryMessageType::Delivery, delivery_id: id, not_before })
            .expect("a delivery message serializes");
    OutgoingMessage { body, delay: delay.min(MAX_DELAY), ..OutgoingMessage::default() }
}

/// What follows an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// 2xx: delivered.
    Done,
    /// 410: the endpoint is gone; the connector is disabled.
    Gone,
    /// Retryable (no answer, 408, 429, 5xx) with retries left: wait this long (before jitter).
    RetryAfter(Duration),
    /// Not retryable, or (`exhausted`) retryable with no retry left.
    Failed { exhausted: bool },
}

/// The retry decision, from the answer, the attempts made (this one included) and the
/// schedule: pure, so every branch is tested on its own.
pub fn decide(resp: &OutboundResponse, attempts_made: usize, schedule: &[Duration]) -> Decision {
    let status = resp.status;
    if status.is_some_and(|s| (200..300).contains(&s)) {
        return Decision::Done;
    }
    if status == Some(410) {
        return Decision::Gone;
    }
    let retryable = !resp.blocked && status.is_none_or(|s| s == 408 || s == 429 || s >= 500);
    match attempts_made.checked_sub(1).and_then(|i| schedule.get(i)) {
        Some(planned) if retryable => Decision::RetryAfter(next_delay(*planned, retry_after(resp))),
        _ => Decision::Failed { exhausted: retryable },
    }
}

/// The wait before the next attempt: the schedule's, or the endpoint's `Retry-After`
/// within [scheduled, 2 x scheduled] (so a receiver can slow us down, but neither stall a
/// delivery for days nor hurry it).
pub fn next_delay(planned: Duration, retry_after: Option<Duration>) -> Duration {
    let planned = planned.min(MAX_RETRY_DELAY);
    retry_after.map_or(planned, |ra| ra.clamp(planned, planned.saturating_mul(2)))
}

/// ±20% so retries of many deliveries do not arrive together.
fn jitter(d: Duration) -> Duration {
    d.mul_f64(rand::rng().random_range(0.8..=1.2))
}

/// `Retry-After` in seconds (an HTTP date is not honoured; the schedule applies).
fn retry_after(resp: &OutboundResponse) -> Option<Duration> {
    resp.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("retry-after"))
        .and_then(|(_, v)| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

fn attempt_of(resp: &OutboundResponse, at: DateTime<Utc>) -> DeliveryAttempt {
    DeliveryAttempt {
        at,
        status: resp.status,
        latency_ms: resp.latency.as_millis() as u64,
        error: resp.error.clone(),
        response: (!resp.body.is_empty()).then(|| resp.body.clone()),
    }
}

/// Builds the request for one attempt: body, content type, custom headers, auth, the
/// stable `webhook-id`, and the signature over the exact body bytes.
pub fn prepare(
    connector: &Connector,
    secrets: &ConnectorSecrets,
    record: &DeliveryRecord,
    now: DateTime<Utc>,
) -> Result<OutboundRequest, String> {
    let mut url = reqwest::Url::parse(&connector.target_url()).map_err(|e| format!("invalid target URL: {e}"))?;
    let template = match &connector.body_template {
        Some(t) => Some(serde_json::from_str::<serde_json::Value>(t).map_err(|e| format!("bodyTemplate: {e}"))?),
        None => None,
    };
    let shape = |event: serde_json::Value| match &template {
        Some(t) => template::render(t, &event),
        None => event,
    };
    let mut body_value = match &record.batch {
        // A batch: every event, each shaped by the template, as {"events": [...]}.
        Some(text) => {
            let events: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| format!("batch: {e}"))?;
            serde_json::json!({ "events": events.into_iter().map(shape).collect::<Vec<_>>() })
        }
        None => shape(serde_json::to_value(&record.event).map_err(|e| e.to_string())?),
    };
    let mut headers: Vec<(String, String)> = vec![("content-type".into(), "application/json".into())];
    headers.extend(connector.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())));
    apply_auth(&connector.auth, secrets.credential.as_ref(), &mut url, &mut headers, &mut body_value)?;
    let body = serde_json::to_vec(&body_value).map_err(|e| e.to_string())?;
    let id = record.id.to_string();
    headers.push(("webhook-id".into(), id.clone()));
    if let Some(scheme) = connector.signing {
        let secret = secrets.signing_secret.as_ref().ok_or("the connector has no signing secret")?;
        let mut signed = signing::sign(scheme, secret, &id, now.timestamp(), &body)?;
        // During a rotation's overlap Standard Webhooks carries both signatures (its header
        // is a space-separated list), so receivers can switch secrets at their own pace.
        if let (SigningScheme::StandardWebhooks, Some(previous)) = (scheme, secrets.previous_signing(now)) {
            let old = signing::sign(scheme, previous, &id, now.timestamp(), &body)?;
            for ((k, v), (_, o)) in signed.iter_mut().zip(old) {
                if *k == "webhook-signature" {
                    *v = format!("{v} {o}");
                }
            }
        }
        for (k, v) in signed {
            headers.retain(|(h, _)| h != k);
            headers.push((k.to_owned(), v));
        }
    }
    let method = match connector.method {
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
    };
    Ok(OutboundRequest {
        method,
        url,
        headers,
        body,
        timeout: Duration::from_millis(connector.timeout_ms.clamp(100, 60_000)),
        trust_any_certificate: connector.trust_any_certificate,
    })
}

/// Adds an endpoint's auth to a request: a header, a query parameter, or (CLIENT_SECRET) a
/// top-level `clientSecret` field of a JSON object body. Connectors and registration helpers
/// share it.
pub fn apply_auth(
    auth: &ConnectorAuth,
    credential: Option<&crate::secret::SecretString>,
    url: &mut reqwest::Url,
    headers: &mut Vec<(String, String)>,
    body: &mut serde_json::Value,
) -> Result<(), String> {
    let credential = || credential.map(|c| c.expose()).ok_or("the endpoint has no credential");
    match auth {
        ConnectorAuth::None => {}
        ConnectorAuth::Bearer => headers.push(("authorization".into(), format!("Bearer {}", credential()?))),
        ConnectorAuth::ApiKey { key, placement: KeyPlacement::Header } => {
            headers.push((key.to_ascii_lowercase(), credential()?.to_owned()))
        }
        ConnectorAuth::ApiKey { key, placement: KeyPlacement::Query } => {
            url.query_pairs_mut().append_pair(key, credential()?);
        }
        ConnectorAuth::Basic { username } => {
            let pair = format!("{username}:{}", credential()?);
            headers.push(("authorization".into(), format!("Basic {}", STANDARD.encode(pair))));
        }
        ConnectorAuth::ClientSecret => {
            if let Some(obj) = body.as_object_mut() {
                obj.insert("clientSecret".into(), serde_json::Value::String(credential()?.to_owned()));
            }
        }
    }
    Ok(())
}

/// Handles one invocation of the dispatch function, whatever its source (see
/// [`sources::DispatchInput`]). SQS and Kinesis batches answer with their partial batch
/// failures; direct batches and EventBridge with the delivery ids; immediate calls with the
/// endpoint's answer.
pub async fn handle_invocation(
    dispatcher: &Dispatcher,
    input: serde_json::Value,
) -> Result<serde_json::Value, InvocationError> {
    use sources::DispatchInput;
    match DispatchInput::detect(input).map_err(|e| InvocationError::Input(e.to_string()))? {
        DispatchInput::Sqs(event) => Ok(to_json(&dispatcher.handle_sqs(event).await)),
        DispatchInput::Batch(events) => {
            let ids = dispatcher.intake(&events).await?;
            Ok(serde_json::json!({ "deliveries": ids }))
        }
        DispatchInput::EventBridge(event) => {
            let ids = dispatcher.intake(std::slice::from_ref(&event)).await?;
            Ok(serde_json::json!({ "deliveries": ids }))
        }
        DispatchInput::Kinesis(batch) => {
            let mut failures = Vec::new();
            for r in batch.records {
                let seq = r.kinesis.sequence_number.clone();
                let taken = match serde_json::from_slice::<OutboundEvent>(&r.kinesis.data) {
                    Ok(e) => dispatcher.intake(std::slice::from_ref(&e)).await.map(|_| ()).map_err(|e| e.to_string()),
                    Err(e) => Err(format!("record is not an event: {e}")),
                };
                if let Err(e) = taken {
                    tracing::warn!(sequence_number = %seq, error = %e, "kinesis record failed");
                    failures.push(serde_json::json!({ "itemIdentifier": seq }));
                }
            }
            Ok(serde_json::json!({ "batchItemFailures": failures }))
        }
        DispatchInput::Immediate { connector_id, event } => match dispatcher.invoke(&connector_id, &event).await? {
            Some(result) => Ok(to_json(&result)),
            None => Err(InvocationError::Input(format!("connector {connector_id} does not exist"))),
        },
    }
}

/// What a direct invocation fails with (the Lambda runtime reports it to the caller).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_honoured_within_bounds() {
        let s = Duration::from_secs;
        assert_eq!(next_delay(s(300), None), s(300));
        assert_eq!(next_delay(s(300), Some(s(450))), s(450));
        assert_eq!(next_delay(s(300), Some(s(5))), s(300), "not sooner than scheduled");
        assert_eq!(next_delay(s(300), Some(s(86_400))), s(600), "at most twice the schedule");
    }

    #[test]
    fn schedules_parse_seconds_with_fractions() {
        assert_eq!(
            parse_schedule("0.01, 5,300").unwrap(),
            vec![Duration::from_millis(10), Duration::from_secs(5), Duration::from_secs(300)]
        );
        assert!(parse_schedule("1,x").is_err());
        assert!(parse_schedule("-1").is_err());
    }

    fn answer(status: Option<u16>, headers: &[(&str, &str)], blocked: bool) -> OutboundResponse {
        OutboundResponse {
            status,
            headers: headers.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            body: String::new(),
            error: status.is_none().then(|| "timed out".to_owned()),
            latency: Duration::ZERO,
            blocked,
        }
    }

    #[test]
    fn the_retry_decision() {
        let s = Duration::from_secs;
        let schedule = [s(5), s(300)];
        assert_eq!(decide(&answer(Some(204), &[], false), 1, &schedule), Decision::Done);
        assert_eq!(decide(&answer(Some(410), &[], false), 1, &schedule), Decision::Gone);
        for retryable in [None, Some(408), Some(429), Some(500), Some(503)] {
            assert_eq!(
                decide(&answer(retryable, &[], false), 1, &schedule),
                Decision::RetryAfter(s(5)),
                "{retryable:?}"
            );
            assert_eq!(decide(&answer(retryable, &[], false), 2, &schedule), Decision::RetryAfter(s(300)));
            assert_eq!(decide(&answer(retryable, &[], false), 3, &schedule), Decision::Failed { exhausted: true });
        }
        for final_ in [Some(400), Some(401), Some(404), Some(302)] {
            assert_eq!(decide(&answer(final_, &[], false), 1, &schedule), Decision::Failed { exhausted: false });
        }
        // A target the guard refused is not retried; Retry-After is honoured within bounds.
        assert_eq!(decide(&answer(None, &[], true), 1, &schedule), Decision::Failed { exhausted: false });
        assert_eq!(
            decide(&answer(Some(503), &[("Retry-After", "8")], false), 1, &schedule),
            Decision::RetryAfter(s(8))
        );
        assert_eq!(decide(&answer(Some(503), &[], false), 1, &[]), Decision::Failed { exhausted: true });
    }

    #[test]
    fn batches_are_cut_by_count_and_by_bytes() {
        let events: Vec<OutboundEvent> = (0..5)
            .map(|i| OutboundEvent {
                id: format!("e{i}"),
                kind: "t".into(),
                occurred_at: Utc::now(),
                source: String::new(),
                data: serde_json::Value::Null,
            })
            .collect();
        let refs: Vec<&OutboundEvent> = events.iter().collect();
        let ids = |chunks: Vec<Vec<&OutboundEvent>>| -> Vec<Vec<String>> {
            chunks.into_iter().map(|c| c.into_iter().map(|e| e.id.clone()).collect()).collect()
        };
        assert_eq!(ids(batch_chunks(&refs, 2, 1000, |_| 10)), [vec!["e0", "e1"], vec!["e2", "e3"], vec!["e4"]]);
        // Three 200 KiB events never share a 256 KiB batch.
        assert_eq!(ids(batch_chunks(&refs[..3], 10, 256 * 1024, |_| 200 * 1024)), [["e0"], ["e1"], ["e2"]]);
        assert_eq!(ids(batch_chunks(&refs[..3], 10, 256 * 1024, |_| 100 * 1024)), [vec!["e0", "e1"], vec!["e2"]]);
    }

    #[test]
    fn schedules_refuse_entries_past_the_cap() {
        assert!(parse_schedule("604800").is_ok());
        assert!(parse_schedule("604801").is_err());
        assert!(parse_schedule("1e19").is_err());
        assert!(parse_schedule("1e300").is_err());
    }

    proptest::proptest! {
        /// Review M6: no schedule value and no `Retry-After` overflows the delay arithmetic.
        #[test]
        fn delays_never_overflow(planned in proptest::prelude::any::<u64>(), ra in proptest::option::of(proptest::prelude::any::<u64>())) {
            let d = jitter(next_delay(Duration::from_secs(planned), ra.map(Duration::from_secs)));
            proptest::prop_assert!(d <= MAX_RETRY_DELAY.saturating_mul(3));
            let now = Utc::now();
            let at = chrono::Duration::from_std(d).ok().and_then(|d| now.checked_add_signed(d));
            proptest::prop_assert!(at.is_some());
        }
    }

    #[test]
    fn jitter_stays_within_twenty_percent() {
        for _ in 0..1000 {
            let d = jitter(Duration::from_secs(100)).as_secs_f64();
            assert!((80.0..=120.0).contains(&d), "{d}");
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InvocationError {
    #[error("invalid input: {0}")]
    Input(String),
    #[error(transparent)]
    Intake(#[from] IntakeError),
}

/// A response as JSON (plain data: serializing it cannot fail).
fn to_json<T: Serialize>(value: &T) -> serde_json::Value {
    serde_json::to_value(value).unwrap_or(serde_json::Value::Null)
}
