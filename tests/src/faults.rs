//! Fault injection for every port: a wrapper around a real backend that counts each call
//! (`"queues.send_batch"`, `"registry.take_waiter"`, ...) and, when told to, fails it,
//! throttles it, hangs it or delays it, and skews the clock. The real store does the work
//! whenever no fault applies, so a test sees exactly one injected failure and otherwise the
//! backend's own behaviour.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use hookbridge::Backend;
use hookbridge::domain::{
    Binding, BindingId, Connector, ConnectorId, DeliveryId, DeliveryRecord, FailedTrigger, FailedTriggerId, Location,
    QueueRef, Waiter, Webhook, WebhookId,
};
use hookbridge::error::StoreError;
use hookbridge::ports::{
    BlobStore, Claim, Clock, ConnectorStore, Dedup, DeliveryFilter, DeliveryLog, OutgoingMessage, Page, PageRequest,
    QueueSpec, Queues, ReceivedMessage, Registry, SecretStore, SendFailure,
};
use hookbridge::secret::SecretString;

/// What happens to a call a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Fails as an unreachable service does (`StoreError::Backend`).
    Fail,
    /// Fails as a throttled service does (`StoreError::Throttled`).
    Throttle,
    /// Never answers (the caller's own deadline must end it).
    Hang,
    /// Answers after this long, then fails (a call that timed out inside the SDK).
    Timeout(Duration),
    /// Answers after this long, then does the work (a slow call that succeeds).
    Delay(Duration),
}

#[derive(Debug)]
struct Rule {
    op: &'static str,
    /// Calls of `op` let through before the rule applies.
    skip: u32,
    /// Calls it applies to after that (`u32::MAX`: until cleared).
    times: u32,
    fault: Fault,
}

/// The switchboard a test holds: rules, call counts and the clock's skew.
#[derive(Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    calls: Mutex<HashMap<&'static str, u64>>,
    injected: Mutex<HashMap<&'static str, u64>>,
    skew_secs: AtomicI64,
}

impl Faults {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// `fault` for the `times` calls of `op` after the next `skip`.
    pub fn inject(&self, op: &'static str, fault: Fault, skip: u32, times: u32) {
        self.rules.lock().unwrap().push(Rule { op, skip, times, fault });
    }

    /// `fault` for every call of `op` until [`Faults::clear`].
    pub fn always(&self, op: &'static str, fault: Fault) {
        self.inject(op, fault, 0, u32::MAX);
    }

    pub fn clear(&self) {
        self.rules.lock().unwrap().clear();
    }

    /// Moves the backend's clock by `secs` (negative: into the past).
    pub fn skew_clock(&self, secs: i64) {
        self.skew_secs.store(secs, Ordering::SeqCst);
    }

    /// Calls of `op` so far, failed ones included.
    pub fn calls(&self, op: &str) -> u64 {
        self.calls.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    /// Faults injected into `op` so far.
    pub fn injected(&self, op: &str) -> u64 {
        self.injected.lock().unwrap().get(op).copied().unwrap_or(0)
    }

    /// Every port of `backend`, counted and subject to this switchboard.
    pub fn wrap(self: &Arc<Self>, b: Backend) -> Backend {
        let f = || self.clone();
        Backend {
            registry: Arc::new(FaultyRegistry { inner: b.registry, faults: f() }),
            connectors: Arc::new(FaultyConnectors { inner: b.connectors, faults: f() }),
            deliveries: Arc::new(FaultyDeliveries { inner: b.deliveries, faults: f() }),
            secrets: Arc::new(FaultySecrets { inner: b.secrets, faults: f() }),
            queues: Arc::new(FaultyQueues { inner: b.queues, faults: f() }),
            blobs: Arc::new(FaultyBlobs { inner: b.blobs, faults: f() }),
            dedup: Arc::new(FaultyDedup { inner: b.dedup, faults: f() }),
            clock: Arc::new(SkewedClock { inner: b.clock, faults: f() }),
            stats: b.stats,
        }
    }

    async fn gate(&self, op: &'static str) -> Result<(), StoreError> {
        *self.calls.lock().unwrap().entry(op).or_default() += 1;
        let fault = {
            let mut rules = self.rules.lock().unwrap();
            rules.iter_mut().filter(|r| r.op == op).find_map(|r| {
                if r.skip > 0 {
                    r.skip -= 1;
                    None
                } else if r.times > 0 {
                    r.times = r.times.saturating_sub(if r.times == u32::MAX { 0 } else { 1 });
                    Some(r.fault)
                } else {
                    None
                }
            })
        };
        let Some(fault) = fault else { return Ok(()) };
        *self.injected.lock().unwrap().entry(op).or_default() += 1;
        match fault {
            Fault::Fail => Err(StoreError::msg(format!("{op}: service unreachable (injected)"))),
            Fault::Throttle => Err(StoreError::Throttled),
            Fault::Hang => std::future::pending().await,
            Fault::Timeout(after) => {
                tokio::time::sleep(after).await;
                Err(StoreError::msg(format!("{op}: timed out (injected)")))
            }
            Fault::Delay(after) => {
                tokio::time::sleep(after).await;
                Ok(())
            }
        }
    }
}

/// Forwards each listed method to `inner` after the switchboard lets it through.
macro_rules! faulty_port {
    ($name:ident: $port:ident as $label:literal {
        $( fn $m:ident(&self $(, $a:ident : $t:ty)* ) -> $r:ty; )*
    }) => {
        struct $name {
            inner: Arc<dyn $port>,
            faults: Arc<Faults>,
        }

        #[async_trait]
        impl $port for $name {
            $(
                async fn $m(&self $(, $a: $t)*) -> Result<$r, StoreError> {
                    self.faults.gate(concat!($label, ".", stringify!($m))).await?;
                    self.inner.$m($($a),*).await
                }
            )*
        }
    };
}

faulty_port!(FaultyRegistry: Registry as "registry" {
    fn create_webhook(&self, webhook: &Webhook) -> ();
    fn get_webhook(&self, id: &WebhookId) -> Option<Webhook>;
    fn list_webhooks(&self, location: Option<&Location>, page: PageRequest) -> Page<Webhook>;
    fn update_webhook(&self, webhook: &Webhook) -> ();
    fn delete_webhook(&self, id: &WebhookId) -> ();
    fn put_binding(&self, binding: &Binding) -> ();
    fn list_bindings(&self, webhook: &WebhookId) -> Vec<Binding>;
    fn delete_binding(&self, webhook: &WebhookId, binding: &BindingId) -> ();
    fn put_waiter(&self, waiter: &Waiter) -> ();
    fn delete_waiters(&self, webhook: &WebhookId, instance: &str) -> ();
    fn take_waiter(&self, webhook: &WebhookId, binding: &BindingId, value: &str) -> Option<Waiter>;
    fn put_failed_trigger(&self, trigger: &FailedTrigger) -> ();
    fn get_failed_trigger(&self, id: &FailedTriggerId) -> Option<FailedTrigger>;
    fn list_failed_triggers(&self, webhook: Option<&WebhookId>, page: PageRequest) -> Page<FailedTrigger>;
});

faulty_port!(FaultyConnectors: ConnectorStore as "connectors" {
    fn create_connector(&self, connector: &Connector) -> ();
    fn get_connector(&self, id: &ConnectorId) -> Option<Connector>;
    fn list_connectors(&self, page: PageRequest) -> Page<Connector>;
    fn update_connector(&self, connector: &Connector) -> ();
    fn delete_connector(&self, id: &ConnectorId) -> ();
    fn record_outcome(&self, id: &ConnectorId, success: bool, at: DateTime<Utc>) -> Option<DateTime<Utc>>;
});

faulty_port!(FaultyDeliveries: DeliveryLog as "deliveries" {
    fn update_delivery(&self, record: &DeliveryRecord, previous_attempts: usize) -> ();
    fn create_delivery(&self, record: &DeliveryRecord) -> ();
    fn get_delivery(&self, id: &DeliveryId) -> Option<DeliveryRecord>;
    fn list_deliveries(&self, filter: &DeliveryFilter, page: PageRequest) -> Page<DeliveryRecord>;
});

faulty_port!(FaultySecrets: SecretStore as "secrets" {
    fn put_secret(&self, name: &str, value: &SecretString) -> ();
    fn get_secret(&self, name: &str) -> Option<SecretString>;
    fn get_secret_versioned(&self, name: &str) -> Option<(SecretString, String)>;
    fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> String;
    fn delete_secret(&self, name: &str) -> ();
});

faulty_port!(FaultyQueues: Queues as "queues" {
    fn create_queue(&self, spec: &QueueSpec) -> QueueRef;
    fn send_batch(&self, queue: &QueueRef, messages: &[OutgoingMessage]) -> Vec<Result<(), SendFailure>>;
    fn receive(&self, queue: &QueueRef, max: u32, visibility: Duration, wait: Duration) -> Vec<ReceivedMessage>;
    fn delete(&self, queue: &QueueRef, receipt_handle: &str) -> ();
    fn delete_batch(&self, queue: &QueueRef, receipt_handles: &[String]) -> ();
    fn change_visibility(&self, queue: &QueueRef, receipt_handle: &str, timeout: Duration) -> ();
    fn depth(&self, queue: &QueueRef) -> u64;
});

faulty_port!(FaultyDedup: Dedup as "dedup" {
    fn claim(&self, key: &str, value: &str, ttl: Duration) -> Claim;
    fn release(&self, key: &str) -> ();
    fn put(&self, key: &str, value: &str, ttl: Duration) -> ();
});

struct FaultyBlobs {
    inner: Arc<dyn BlobStore>,
    faults: Arc<Faults>,
}

#[async_trait]
impl BlobStore for FaultyBlobs {
    async fn put_blob(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        self.faults.gate("blobs.put_blob").await?;
        self.inner.put_blob(key, data).await
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        self.faults.gate("blobs.get_blob").await?;
        self.inner.get_blob(key).await
    }

    async fn delete_blob(&self, key: &str) -> Result<(), StoreError> {
        self.faults.gate("blobs.delete_blob").await?;
        self.inner.delete_blob(key).await
    }

    fn uri(&self, key: &str) -> String {
        self.inner.uri(key)
    }
}

struct SkewedClock {
    inner: Arc<dyn Clock>,
    faults: Arc<Faults>,
}

impl Clock for SkewedClock {
    fn now(&self) -> DateTime<Utc> {
        self.inner.now() + chrono::TimeDelta::seconds(self.faults.skew_secs.load(Ordering::SeqCst))
    }
}
