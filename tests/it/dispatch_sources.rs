//! The dispatch Lambda's inputs on the AWS backend (emulator): real EventBridge, Kinesis and
//! SQS event JSON and direct invocations become deliveries, and the queued attempts reach a
//! receiver.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use hookbridge::dispatch::{AllowList, handle_invocation};
use hookbridge::domain::*;
use hookbridge::ports::{DispatchQueues, QueueSpec, ReceivedMessage};
use hookbridge_tests::{TestReceiver, unique};
use serde_json::{Value, json};

const EVENTBRIDGE: &str = include_str!("../fixtures/eventbridge-event.json");
const KINESIS: &str = include_str!("../fixtures/kinesis-event.json");
const SQS: &str = include_str!("../fixtures/sqs-event-two-records.json");

fn event(id: &str) -> Value {
    json!({"id": id, "type": "audit.user.created", "occurredAt": "2026-11-23T10:00:00Z", "source": "audit", "data": {"n": 1}})
}

fn sqs_from(messages: &[ReceivedMessage]) -> Value {
    let v: Value = serde_json::from_str(SQS).unwrap();
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut r = v["Records"][0].clone();
            r["messageId"] = json!(m.message_id);
            r["receiptHandle"] = json!(m.receipt_handle);
            r["body"] = json!(m.body);
            r
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test]
async fn every_source_becomes_deliveries_that_reach_the_receiver() {
    let app = hookbridge_tests::aws_app().await;
    let spec = |name: String| QueueSpec {
        name,
        visibility_timeout: Duration::from_secs(60),
        max_receives: 0,
        dead_letter: None,
    };
    // Named as the template's queues; the dispatcher runs with the dispatch function's policy.
    let ns = unique("q");
    let deliveries = app.app.backend.queues.create_queue(&spec(format!("{ns}-hookbridge-dispatch"))).await.unwrap();
    let dlq = app.app.backend.queues.create_queue(&spec(format!("{ns}-hookbridge-dispatch-dlq"))).await.unwrap();
    let mut dispatch_app = hookbridge_tests::function_app(&app, "DispatchFunction").await;
    dispatch_app.app.settings.allow_targets = AllowList::loopback();
    let dispatcher =
        Arc::new(dispatch_app.dispatcher(DispatchQueues { deliveries: deliveries.clone(), dead_letter: dlq }).unwrap());
    let rx = TestReceiver::start().await;
    let now = Utc::now();
    let connector = Connector {
        filters: Vec::new(),
        id: ConnectorId::generate(),
        name: ConnectorName::parse(&unique("sink")).unwrap(),
        description: String::new(),
        base_url: EndpointUrl::parse(&rx.url("/in")).unwrap(),
        method: HttpMethod::Post,
        path: String::new(),
        auth: ConnectorAuth::None,
        headers: Default::default(),
        signing: None,
        signing_algorithm: Default::default(),
        signing_key_id: None,
        trust_any_certificate: false,
        tls: None,
        event_types: vec![],
        body_template: None,
        batch_max_events: None,
        timeout_ms: 5000,
        retry: RetryPolicy::default(),
        enabled: true,
        disabled_reason: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    app.app.backend.connectors.create_connector(&connector).await.unwrap();

    // Direct invocation: an audit batch.
    let out = handle_invocation(&dispatcher, json!({"events": [event("direct-1"), event("direct-2")]})).await.unwrap();
    assert_eq!(out["deliveries"].as_array().unwrap().len(), 2);

    // EventBridge: the envelope becomes the event.
    let out = handle_invocation(&dispatcher, serde_json::from_str(EVENTBRIDGE).unwrap()).await.unwrap();
    assert_eq!(out["deliveries"].as_array().unwrap().len(), 1);

    // Kinesis: each record's data is an event; a record that is not one is reported by its
    // sequence number.
    let mut kinesis: Value = serde_json::from_str(KINESIS).unwrap();
    kinesis["Records"][0]["kinesis"]["data"] = json!(STANDARD.encode(event("kinesis-1").to_string()));
    let out = handle_invocation(&dispatcher, kinesis.clone()).await.unwrap();
    let failures = out["batchItemFailures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "the fixture's second record (\"Hello World\") is not an event");
    assert_eq!(failures[0]["itemIdentifier"], kinesis["Records"][1]["kinesis"]["sequenceNumber"]);

    // SQS: a producer's event queued directly.
    let fake = ReceivedMessage {
        message_id: "m-1".into(),
        receipt_handle: "r-1".into(),
        body: event("sqs-1").to_string(),
        receive_count: 1,
        sent_at: now,
    };
    let out = handle_invocation(&dispatcher, sqs_from(&[fake])).await.unwrap();
    assert_eq!(out["batchItemFailures"], json!([]));

    // An immediate call answers with the endpoint's response.
    rx.answer(&[202], 200);
    let out = handle_invocation(
        &dispatcher,
        json!({"mode": "immediate", "connectorId": connector.id, "event": event("now-1")}),
    )
    .await
    .unwrap();
    assert_eq!(out["status"], 202);
    assert_eq!(rx.next().await.path, "/in");

    // Garbage is an error, not a silent success.
    assert!(handle_invocation(&dispatcher, json!({"hello": "world"})).await.is_err());

    // The five queued attempts, driven as Lambda's SQS event source would, reach the receiver.
    let mut queued = Vec::new();
    for _ in 0..20 {
        if queued.len() >= 5 {
            break;
        }
        queued.extend(
            app.app
                .backend
                .queues
                .receive(&deliveries, 10, Duration::from_secs(60), Duration::from_secs(1))
                .await
                .unwrap(),
        );
    }
    assert_eq!(queued.len(), 5);
    let out = handle_invocation(&dispatcher, sqs_from(&queued)).await.unwrap();
    assert_eq!(out["batchItemFailures"], json!([]));
    let mut ids = Vec::new();
    for _ in 0..5 {
        let r = rx.next().await;
        ids.push(serde_json::from_slice::<Value>(&r.body).unwrap()["id"].as_str().unwrap().to_owned());
    }
    ids.sort();
    assert_eq!(ids, vec!["7bf73129-1428-4cd3-a780-95db273d1602", "direct-1", "direct-2", "kinesis-1", "sqs-1"]);
}
