//! One event to 1, 10 and 100 bindings through the fan-out handler on the embedded backend:
//! messages per second and queue send calls per event, with every binding on one shared
//! queue and with every binding on its own queue. Events arrive in SQS batches of 10, as
//! Lambda delivers them.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use bytes::Bytes;
use chrono::Utc;
use hookbridge::domain::*;
use hookbridge::error::StoreError;
use hookbridge::fanout::{Fanout, FanoutConfig};
use hookbridge::messages::{EventMessage, EventMessageType};
use hookbridge::ports::{OutgoingMessage, QueueSpec, Queues, ReceivedMessage, SendFailure};
use hookbridge::registration::{RegistrationCache, webhook_secret_name};

/// Counts send calls and messages on the way to the real queues.
struct Counting {
    inner: Arc<dyn Queues>,
    calls: AtomicU64,
    messages: AtomicU64,
}

#[async_trait]
impl Queues for Counting {
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueRef, StoreError> {
        self.inner.create_queue(spec).await
    }
    async fn send_batch(
        &self,
        q: &QueueRef,
        m: &[OutgoingMessage],
    ) -> Result<Vec<Result<(), SendFailure>>, StoreError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.messages.fetch_add(m.len() as u64, Ordering::Relaxed);
        self.inner.send_batch(q, m).await
    }
    async fn receive(
        &self,
        q: &QueueRef,
        n: u32,
        v: Duration,
        w: Duration,
    ) -> Result<Vec<ReceivedMessage>, StoreError> {
        self.inner.receive(q, n, v, w).await
    }
    async fn delete(&self, q: &QueueRef, r: &str) -> Result<(), StoreError> {
        self.inner.delete(q, r).await
    }
    async fn delete_batch(&self, q: &QueueRef, r: &[String]) -> Result<(), StoreError> {
        self.inner.delete_batch(q, r).await
    }
    async fn change_visibility(&self, q: &QueueRef, r: &str, t: Duration) -> Result<(), StoreError> {
        self.inner.change_visibility(q, r, t).await
    }
    async fn depth(&self, q: &QueueRef) -> Result<u64, StoreError> {
        self.inner.depth(q).await
    }
}

async fn run(bindings: usize, shared_queue: bool, events: usize) -> (f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let (mut backend, _) = hookbridge::backend::local::open(dir.path()).unwrap();
    let counting =
        Arc::new(Counting { inner: backend.queues.clone(), calls: AtomicU64::new(0), messages: AtomicU64::new(0) });
    backend.queues = counting.clone();
    let now = Utc::now();
    let webhook = Webhook {
        id: WebhookId::generate(),
        name: WebhookName::parse("bench").unwrap(),
        description: String::new(),
        provider: Provider::GENERIC,
        state: WebhookState::Active,
        location: serde_json::from_str(r#"{"orgId":"o","workspaceId":"w","appId":"a"}"#).unwrap(),
        created_at: now,
        updated_at: now,
        version: 1,
        helpers: Default::default(),
    };
    backend.registry.create_webhook(&webhook).await.unwrap();
    backend
        .secrets
        .put_secret(&webhook_secret_name(&webhook.id), &WebhookSecrets::new(ApiKey::generate()).to_secret())
        .await
        .unwrap();
    for i in 0..bindings {
        let queue = if shared_queue { "bench-shared".to_owned() } else { format!("bench-{i}") };
        let b = Binding {
            id: BindingId::generate(),
            webhook_id: webhook.id,
            kind: BindingKind::StartProcess {
                process_definition_id: ProcessDefinitionId::parse(&format!("p{i}")).unwrap(),
                queue: QueueRef::parse(&queue).unwrap(),
            },
            created_at: now,
        };
        backend.registry.put_binding(&b).await.unwrap();
    }
    let fanout = Fanout::new(
        backend.clone(),
        Arc::new(RegistrationCache::new(Duration::from_secs(60))),
        FanoutConfig { max_message_bytes: usize::MAX, ..FanoutConfig::default() },
    );
    let body: &'static [u8] =
        Box::leak(format!("{{\"order\":\"{}\"}}", "x".repeat(1000)).into_bytes().into_boxed_slice());
    let batches: Vec<SqsEvent> = (0..events.div_ceil(10))
        .map(|b| {
            let mut e = SqsEvent::default();
            e.records = (0..10)
                .map(|i| {
                    let env = EventEnvelope {
                        event_id: EventId::generate(),
                        webhook_id: webhook.id,
                        provider: Provider::GENERIC,
                        webhook_message: WebhookMessage {
                            date_time: Utc::now(),
                            payload: payload_from_body(Some("application/json"), body).unwrap(),
                            headers: Headers::new(),
                        },
                        raw_body: Bytes::from_static(body),
                    };
                    let msg = EventMessage {
                        kind: EventMessageType::WebhookEvent,
                        event_id: env.event_id,
                        webhook_id: env.webhook_id,
                        event: Some(env),
                        blob_key: None,
                        resume: Vec::new(),
                    };
                    let mut r = SqsMessage::default();
                    r.message_id = Some(format!("{b}-{i}"));
                    r.body = Some(serde_json::to_string(&msg).unwrap());
                    r
                })
                .collect();
            e
        })
        .collect();
    let started = Instant::now();
    for batch in batches {
        let resp = fanout.handle(batch).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    let secs = started.elapsed().as_secs_f64();
    let messages = counting.messages.load(Ordering::Relaxed) as f64;
    assert_eq!(messages as usize, events.div_ceil(10) * 10 * bindings);
    (messages / secs, counting.calls.load(Ordering::Relaxed) as f64 / (events.div_ceil(10) * 10) as f64)
}

#[tokio::main]
async fn main() {
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "fanout_bindings") {
        return;
    }
    println!("| bindings | queues | events | messages/s | send calls per event |");
    println!("|---|---|---|---|---|");
    for (bindings, events) in [(1, 5000), (10, 2000), (100, 200)] {
        for shared in [true, false] {
            if bindings == 1 && !shared {
                continue;
            }
            let mut rates = Vec::new();
            let mut calls = 0.0;
            for _ in 0..3 {
                let (rate, c) = run(bindings, shared, events).await;
                rates.push(rate);
                calls = c;
            }
            rates.sort_by(|a, b| a.partial_cmp(b).unwrap());
            println!(
                "| {bindings} | {} | {events} | {:.0} | {calls:.2} |",
                if shared { "1 shared" } else { "1 per binding" },
                rates[1]
            );
        }
    }
}
