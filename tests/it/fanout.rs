//! The fan-out handler driven by a real SQS event fixture, with injected partial batch
//! failures (a fault-injecting wrapper around a real queue backend, not a mock).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::SqsEvent;
use bytes::Bytes;
use chrono::Utc;
use hookbridge::Backend;
use hookbridge::domain::*;
use hookbridge::error::StoreError;
use hookbridge::fanout::{Fanout, FanoutConfig};
use hookbridge::messages::{EventMessage, EventMessageType, event_blob_key};
use hookbridge::ports::{OutgoingMessage, PageRequest, QueueSpec, Queues, ReceivedMessage, SendFailure};
use hookbridge::registration::{RegistrationCache, webhook_secret_name};
use serde_json::Value;

const FIXTURE: &str = include_str!("../fixtures/sqs-event-two-records.json");

/// Fails sends to chosen queues: `failures[queue]` entries fail (retryable) before any pass.
struct FlakyQueues {
    inner: Arc<dyn Queues>,
    failures: Mutex<HashMap<String, u32>>,
    calls: Mutex<u32>,
}

#[async_trait]
impl Queues for FlakyQueues {
    async fn create_queue(&self, spec: &QueueSpec) -> Result<QueueRef, StoreError> {
        self.inner.create_queue(spec).await
    }

    async fn send_batch(
        &self,
        queue: &QueueRef,
        messages: &[OutgoingMessage],
    ) -> Result<Vec<Result<(), SendFailure>>, StoreError> {
        *self.calls.lock().unwrap() += 1;
        let failing = {
            let mut f = self.failures.lock().unwrap();
            let left = f.entry(queue.name().to_owned()).or_default();
            let n = (*left).min(messages.len() as u32);
            *left -= n;
            n as usize
        };
        // The first `failing` entries fail; the rest go through.
        let mut results: Vec<Result<(), SendFailure>> =
            (0..failing).map(|_| Err(SendFailure { code: "ServiceUnavailable".into(), retryable: true })).collect();
        results.extend(self.inner.send_batch(queue, &messages[failing..]).await?);
        Ok(results)
    }

    async fn receive(
        &self,
        q: &QueueRef,
        max: u32,
        v: Duration,
        w: Duration,
    ) -> Result<Vec<ReceivedMessage>, StoreError> {
        self.inner.receive(q, max, v, w).await
    }

    async fn delete(&self, q: &QueueRef, r: &str) -> Result<(), StoreError> {
        self.inner.delete(q, r).await
    }

    async fn change_visibility(&self, q: &QueueRef, r: &str, t: Duration) -> Result<(), StoreError> {
        self.inner.change_visibility(q, r, t).await
    }

    async fn delete_batch(&self, q: &QueueRef, r: &[String]) -> Result<(), StoreError> {
        self.inner.delete_batch(q, r).await
    }

    async fn depth(&self, q: &QueueRef) -> Result<u64, StoreError> {
        self.inner.depth(q).await
    }
}

struct Setup {
    /// The operator's view (setup, reading the process queues).
    backend: Backend,
    /// The fan-out function's (on AWS: its own policy's credentials), its sends counted.
    function: Backend,
    flaky: Arc<FlakyQueues>,
    webhook: Webhook,
    bindings: Vec<Binding>,
    /// Logical queue name -> the queue's real (unique) name.
    names: HashMap<String, String>,
    _guard: Guard,
}

type Guard = Box<dyn std::any::Any + Send>;

impl Setup {
    fn q(&self, logical: &str) -> String {
        self.names[logical].clone()
    }
}

async fn setup((backend, guard, mut function): (Backend, Guard, Backend), queues: &[&str]) -> Setup {
    let mut names = HashMap::new();
    for q in queues {
        let stem = q.trim_end_matches(".fifo");
        // `q-`: the tests' ProcessQueuePrefix (the fan-out may send only to such queues).
        let real = format!("q-{}{}", hookbridge_tests::unique(stem), if q.ends_with(".fifo") { ".fifo" } else { "" });
        backend
            .queues
            .create_queue(&QueueSpec {
                name: real.clone(),
                visibility_timeout: Duration::from_secs(30),
                max_receives: 0,
                dead_letter: None,
            })
            .await
            .unwrap();
        names.insert(q.to_string(), real);
    }
    let flaky = Arc::new(FlakyQueues {
        inner: function.queues.clone(),
        failures: Mutex::new(HashMap::new()),
        calls: Mutex::new(0),
    });
    function.queues = flaky.clone();
    let now = Utc::now();
    let webhook = Webhook {
        id: WebhookId::generate(),
        name: WebhookName::parse("fan").unwrap(),
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
    let secrets = WebhookSecrets::new(ApiKey::generate());
    backend.secrets.put_secret(&webhook_secret_name(&webhook.id), &secrets.to_secret()).await.unwrap();
    let mut bindings = Vec::new();
    for q in queues {
        let b = Binding {
            id: BindingId::generate(),
            webhook_id: webhook.id,
            kind: BindingKind::StartProcess {
                process_definition_id: ProcessDefinitionId::parse(&format!("proc-{q}")).unwrap(),
                queue: QueueRef::parse(&names[*q]).unwrap(),
            },
            created_at: now,
        };
        backend.registry.put_binding(&b).await.unwrap();
        bindings.push(b);
    }
    Setup { backend, function, flaky, webhook, bindings, names, _guard: guard }
}

fn envelope(webhook: &WebhookId, body: &'static [u8]) -> EventEnvelope {
    EventEnvelope {
        event_id: EventId::generate(),
        webhook_id: *webhook,
        provider: Provider::GENERIC,
        webhook_message: WebhookMessage {
            date_time: Utc::now(),
            payload: payload_from_body(None, body).unwrap(),
            headers: Headers::from([("x-a".to_owned(), vec!["1".to_owned()])]),
        },
        raw_body: Bytes::from_static(body),
    }
}

/// The fixture with its first record's body replaced and its receive count set.
fn event_with(body: String, receive_count: u32) -> SqsEvent {
    let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
    v["Records"][0]["body"] = Value::String(body);
    v["Records"][0]["attributes"]["ApproximateReceiveCount"] = Value::String(receive_count.to_string());
    serde_json::from_value(v).unwrap()
}

fn inline(env: &EventEnvelope) -> String {
    serde_json::to_string(&EventMessage {
        kind: EventMessageType::WebhookEvent,
        event_id: env.event_id,
        webhook_id: env.webhook_id,
        event: Some(env.clone()),
        blob_key: None,
        resume: Vec::new(),
    })
    .unwrap()
}

fn fanout(s: &Setup, attempts: u32) -> Fanout {
    Fanout::new(
        s.function.clone(),
        Arc::new(RegistrationCache::new(Duration::from_secs(30))),
        FanoutConfig { max_receives: 3, send_attempts: attempts, ..FanoutConfig::default() },
    )
}

async fn drain(s: &Setup, logical: &str) -> Vec<Value> {
    let q = QueueRef::parse(&s.q(logical)).unwrap();
    let got = s.backend.queues.receive(&q, 10, Duration::from_secs(30), Duration::from_millis(500)).await.unwrap();
    for m in &got {
        s.backend.queues.delete(&q, &m.receipt_handle).await.unwrap();
    }
    got.iter().map(|m| serde_json::from_str(&m.body).unwrap()).collect()
}

async fn every_binding_gets_a_message_and_poison_records_fail_alone(base: (Backend, Guard, Backend)) {
    let s = setup(base, &["starts-a", "starts-b.fifo"]).await;
    let env = envelope(&s.webhook.id, b"{\"k\":\"v\"}");
    let resp = fanout(&s, 3).handle(event_with(inline(&env), 1)).await;
    let failed: Vec<&str> = resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, vec!["2e1424d4-f796-459a-8184-9c92662be6da"], "only the malformed record fails");

    let a = drain(&s, "starts-a").await;
    let b = drain(&s, "starts-b.fifo").await;
    assert_eq!((a.len(), b.len()), (1, 1));
    for (msg, binding) in [(&a[0], &s.bindings[0]), (&b[0], &s.bindings[1])] {
        assert_eq!(msg["type"], "START_PROCESS");
        assert_eq!(msg["eventId"], env.event_id.to_string());
        assert_eq!(msg["bindingId"], binding.id.to_string());
        assert_eq!(msg["deliveryId"], DeliveryId::derive(&env.event_id, binding.id.as_uuid()).to_string());
        assert_eq!(msg["webhookMessage"]["payload"], serde_json::json!({"k": "v"}));
        assert_eq!(msg["webhookMessage"]["headers"]["x-a"], serde_json::json!(["1"]));
    }
    assert_ne!(a[0]["deliveryId"], b[0]["deliveryId"]);
    assert_eq!(a[0]["processDefinitionId"], "proc-starts-a");

    // The same event again (an SQS redelivery) carries the same delivery ids.
    fanout(&s, 3).handle(event_with(inline(&env), 2)).await;
    let again = drain(&s, "starts-a").await;
    assert_eq!(again[0]["deliveryId"], a[0]["deliveryId"]);
}

async fn failed_entries_are_retried_alone_and_reported_when_they_keep_failing(base: (Backend, Guard, Backend)) {
    let s = setup(base, &["flaky-a", "steady-b"]).await;
    let env = envelope(&s.webhook.id, b"hello");

    // Two failures then success: retried within the invocation, nothing reported.
    s.flaky.failures.lock().unwrap().insert(s.q("flaky-a"), 2);
    let resp = fanout(&s, 3).handle(event_with(inline(&env), 1)).await;
    assert_eq!(resp.batch_item_failures.len(), 1, "only the fixture's poison record");
    assert_eq!(drain(&s, "flaky-a").await.len(), 1);
    assert_eq!(drain(&s, "steady-b").await.len(), 1, "the steady queue got exactly one");

    // Always failing: the record is handed back to SQS; the other queue still got its
    // message; no failed trigger before the last receive.
    s.flaky.failures.lock().unwrap().insert(s.q("flaky-a"), 1000);
    let resp = fanout(&s, 3).handle(event_with(inline(&env), 1)).await;
    let failed: Vec<&str> = resp.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert!(failed.contains(&"059f36b4-87a3-44ab-83d2-661975830a7d"));
    assert_eq!(drain(&s, "steady-b").await.len(), 1);
    assert!(drain(&s, "flaky-a").await.is_empty());
    let none =
        s.backend.registry.list_failed_triggers(Some(&s.webhook.id), PageRequest { cursor: None, limit: 10 }).await;
    assert!(none.unwrap().items.is_empty());

    // On the last receive the failure is recorded with its cause and a readable event ref.
    let resp = fanout(&s, 3).handle(event_with(inline(&env), 3)).await;
    assert_eq!(resp.batch_item_failures.len(), 2);
    let page =
        s.backend.registry.list_failed_triggers(Some(&s.webhook.id), PageRequest { cursor: None, limit: 10 }).await;
    let items = page.unwrap().items;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].event_id, env.event_id);
    assert_eq!(items[0].code, "PROCESS_QUEUE_SEND_FAILED");
    assert_eq!(items[0].source, hookbridge::domain::FailureSource::Fanout);
    assert!(items[0].details["queue"].contains(&s.q("flaky-a")), "{:?}", items[0].details);
    // The binding that sends there, and its process.
    assert!(items[0].binding_id.is_some() && items[0].process_definition_id.is_some(), "{:?}", items[0]);
    let stored = s.backend.blobs.get_blob(&items[0].event_ref).await.unwrap().unwrap();
    let back: EventEnvelope = serde_json::from_slice(&stored).unwrap();
    assert_eq!(back.raw_body, env.raw_body);
}

async fn claim_checked_events_are_read_from_the_blob_store(base: (Backend, Guard, Backend)) {
    let s = setup(base, &["big-starts"]).await;
    let env = envelope(&s.webhook.id, b"{\"big\":true}");
    let key = event_blob_key(&env.event_id);
    s.backend.blobs.put_blob(&key, serde_json::to_vec(&env).unwrap().into()).await.unwrap();
    let msg = EventMessage {
        kind: EventMessageType::WebhookEvent,
        event_id: env.event_id,
        webhook_id: env.webhook_id,
        event: None,
        blob_key: Some(key),
        resume: Vec::new(),
    };
    let resp = fanout(&s, 3).handle(event_with(serde_json::to_string(&msg).unwrap(), 1)).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    let got = drain(&s, "big-starts").await;
    assert_eq!(got[0]["webhookMessage"]["payload"], serde_json::json!({"big": true}));

    // A reference to a missing blob fails the record (it is retried, not dropped).
    let mut missing = msg.clone();
    missing.blob_key = Some("events/missing.json".into());
    let resp = fanout(&s, 3).handle(event_with(serde_json::to_string(&missing).unwrap(), 1)).await;
    assert_eq!(resp.batch_item_failures.len(), 2);
}

async fn sends_are_batched_ten_per_call_per_queue(base: (Backend, Guard, Backend)) {
    let s = setup(base, &["batched"]).await;
    // 10 records in one SQS batch to one queue: one send call.
    let mut v: Value = serde_json::from_str(FIXTURE).unwrap();
    let template = v["Records"][0].clone();
    let records: Vec<Value> = (0..10)
        .map(|i| {
            let mut r = template.clone();
            r["messageId"] = Value::String(format!("m{i}"));
            r["body"] = Value::String(inline(&envelope(&s.webhook.id, b"{}")));
            r
        })
        .collect();
    v["Records"] = Value::Array(records);
    let resp = fanout(&s, 3).handle(serde_json::from_value(v).unwrap()).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(*s.flaky.calls.lock().unwrap(), 1);
    assert_eq!(drain(&s, "batched").await.len(), 10);
}

async fn resume_targets_become_resume_messages(base: (Backend, Guard, Backend)) {
    let s = setup(base, &[]).await;
    let queue = format!("q-{}", hookbridge_tests::unique("resumes"));
    s.backend
        .queues
        .create_queue(&QueueSpec {
            name: queue.clone(),
            visibility_timeout: Duration::from_secs(30),
            max_receives: 0,
            dead_letter: None,
        })
        .await
        .unwrap();
    let binding = Binding {
        id: BindingId::generate(),
        webhook_id: s.webhook.id,
        kind: BindingKind::ResumeProcess {
            catch_event_id: ProcessDefinitionId::parse("reply").unwrap(),
            webhook_correlation_key: JsonPath::parse("entry[0].id").unwrap(),
            process_correlation_key: ProcessDefinitionId::parse("code").unwrap(),
            process_key: ProcessDefinitionId::parse("answer").unwrap(),
            queue: QueueRef::parse(&queue).unwrap(),
        },
        created_at: Utc::now(),
    };
    s.backend.registry.put_binding(&binding).await.unwrap();
    let env = envelope(&s.webhook.id, b"{\"entry\":[{\"id\":\"A\"}]}");
    let msg = EventMessage {
        kind: EventMessageType::WebhookEvent,
        event_id: env.event_id,
        webhook_id: env.webhook_id,
        event: Some(env.clone()),
        blob_key: None,
        resume: vec![hookbridge::messages::ResumeTarget {
            binding_id: binding.id,
            process_instance_id: "inst-1".into(),
        }],
    };
    let resp = fanout(&s, 3).handle(event_with(serde_json::to_string(&msg).unwrap(), 1)).await;
    assert_eq!(resp.batch_item_failures.len(), 1, "only the fixture's poison record");
    let q = QueueRef::parse(&queue).unwrap();
    let got = s.backend.queues.receive(&q, 10, Duration::from_secs(30), Duration::from_secs(1)).await.unwrap();
    assert_eq!(got.len(), 1);
    let m: Value = serde_json::from_str(&got[0].body).unwrap();
    assert_eq!(m["type"], "RESUME_PROCESS");
    assert_eq!(m["processInstanceId"], "inst-1");
    assert_eq!(m["catchEventId"], "reply");
    assert_eq!(m["processKey"], "answer");
    assert_eq!(m["deliveryId"], DeliveryId::derive(&env.event_id, binding.id.as_uuid()).to_string());
    // An event without targets resumes nothing.
    let mut none = msg.clone();
    none.resume.clear();
    fanout(&s, 3).handle(event_with(serde_json::to_string(&none).unwrap(), 1)).await;
    assert!(
        s.backend.queues.receive(&q, 10, Duration::from_secs(30), Duration::from_millis(500)).await.unwrap().is_empty()
    );
}

/// Every test above, on both backends.
macro_rules! on_backends {
    ($($name:ident),*) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let (b, dir) = hookbridge_tests::local_backend();
                    super::$name((b.clone(), Box::new(dir), b)).await;
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test]
                async fn $name() {
                    let (b, app) = hookbridge_tests::aws_backend().await;
                    let f = hookbridge_tests::function_app(&app, "FanoutFunction").await.app.backend;
                    super::$name((b, Box::new(app), f)).await;
                }
            )*
        }
    };
}

on_backends!(
    every_binding_gets_a_message_and_poison_records_fail_alone,
    failed_entries_are_retried_alone_and_reported_when_they_keep_failing,
    claim_checked_events_are_read_from_the_blob_store,
    sends_are_batched_ten_per_call_per_queue,
    resume_targets_become_resume_messages
);
