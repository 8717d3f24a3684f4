//! Outbound dispatch: events from audit streams and process steps go to every connector
//! whose event types match, at least once, with retries that wait in the dispatch queue.
//!
//! The files in pipeline order: this one holds the entry points ([`handle_invocation`],
//! [`Dispatcher::handle_sqs`]) and the dispatcher; `intake.rs` records a delivery per
//! matching connector and queues a small `DELIVERY` message; `attempt.rs` prepares the
//! request (auth, headers, signature) and calls the endpoint; `record.rs` records the outcome
//! and decides what follows ([`decide`], a pure function), scheduling the next attempt as a
//! delayed message. `sources.rs` tells the invocation shapes apart; `client.rs` and
//! `guard.rs` are the outbound HTTP client and its SSRF guard.

mod attempt;
mod call;
pub mod client;
pub mod guard;
mod intake;
mod oauth;
mod record;
pub mod signing;
mod sigv4;
pub mod sources;
pub mod template;

pub use attempt::{apply_auth, prepare};
pub use call::{CallMethod, CallResult, FlowCall, MAX_CALL_RESPONSE};
pub use record::{Decision, decide, next_delay};

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
    DeliveryStatus, HttpMethod, KeyPlacement, OutboundEvent, delivery_id,
};
use crate::error::{Conflict, StoreError};
use crate::ports::{Backend, DispatchQueues, OutgoingMessage, PageRequest, send_with_retries};

// ---- entry points: what the Lambda runtime and the local runner call ----

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

impl Dispatcher {
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
        self.backend.stats.flush_if_due().await;
        response
    }
}

// ---- the dispatcher and its settings ----

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
    /// OAuth 2.0 tokens, one per connector that uses client credentials.
    tokens: oauth::Tokens,
    /// Credentials of roles assumed for AWS_SIGV4 connectors.
    roles: sigv4::AssumedRoles,
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
            tokens: oauth::Tokens::default(),
            roles: sigv4::AssumedRoles::default(),
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
}

/// What a direct invocation fails with (the Lambda runtime reports it to the caller).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_parse_seconds_with_fractions() {
        assert_eq!(
            parse_schedule("0.01, 5,300").unwrap(),
            vec![Duration::from_millis(10), Duration::from_secs(5), Duration::from_secs(300)]
        );
        assert!(parse_schedule("1,x").is_err());
        assert!(parse_schedule("-1").is_err());
    }
}
