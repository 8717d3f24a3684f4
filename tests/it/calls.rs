//! What one event costs in AWS calls, counted by an SDK interceptor on the functions' own
//! clients (`backend::aws::calls::CallCounter`) against the emulator, through the Lambda
//! handlers as deployed (API Gateway and SQS event JSON). The budgets asserted here are the
//! ones docs/cost.md prices:
//!
//! - a warm ingress of a GENERIC event with one START binding: at most one SQS call and one
//!   DynamoDB read, nothing else;
//! - fan-out: at most one SendMessageBatch per ten messages per queue, no read when warm;
//! - dispatch: at most one DynamoDB write per attempt.
//!
//! `--no-capture` prints the counts per operation.

use std::collections::BTreeMap;
use std::time::Duration;

use hookbridge::backend::aws::calls::CallCounter;
use hookbridge::domain::QueueRef;
use serde_json::json;

use crate::aws_pipeline::{APIGW, admin, apigw_event, invoke, management_of, receive_n, sqs_event};

type Counts = BTreeMap<(String, String), u64>;

const DYNAMO_READS: &[&str] = &["GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"];
const DYNAMO_WRITES: &[&str] = &["PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"];

fn show(what: &str, per: u64, counts: &Counts) {
    let calls: Vec<String> = counts.iter().map(|((s, op), n)| format!("{s}.{op} {n}")).collect();
    eprintln!("{what} ({per}): {}", calls.join(", "));
}

fn total(counts: &Counts, service: &str) -> u64 {
    CallCounter::count(counts, service, |_| true)
}

fn of(counts: &Counts, service: &str, ops: &[&str]) -> u64 {
    CallCounter::count(counts, service, |op| ops.contains(&op))
}

/// An app whose counters are written once an hour: a flush would be a write the budgets do
/// not charge per event (docs/cost.md counts it apart: one per instance per ten seconds).
fn quiet(mut app: hookbridge::lambda::AwsApp) -> hookbridge::lambda::AwsApp {
    app.app.backend.stats = std::sync::Arc::new(app.app.backend.stats.with_interval(Duration::from_secs(3600)));
    app
}

#[tokio::test]
async fn aws_calls_per_event_are_within_budget() {
    let admin_app = hookbridge_tests::aws_app().await;
    let mgmt_app = hookbridge_tests::function_app(&admin_app, "ManagementFunction").await;
    let spec = hookbridge_tests::queue_spec;
    let queues = &admin_app.app.backend.queues;
    let ns = hookbridge_tests::unique("q");
    let events = queues.create_queue(&spec(format!("{ns}-hookbridge-events"))).await.unwrap();
    let starts_a = queues.create_queue(&spec(format!("{ns}-starts-a"))).await.unwrap();
    let starts_b = queues.create_queue(&spec(format!("{ns}-starts-b"))).await.unwrap();
    let deliveries = queues.create_queue(&spec(format!("{ns}-hookbridge-dispatch"))).await.unwrap();
    let base = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let management = management_of(&mgmt_app, events.clone(), deliveries.clone(), Some(base.into()));

    // A GENERIC webhook with one START binding (a second one for the fan-out below, added
    // after the ingress is measured).
    let location = json!({"orgId": "acme", "workspaceId": "main", "appId": "shop"});
    let (status, created) = admin(
        &management,
        "POST",
        "/v1/webhooks",
        Some(json!({"name": "counted", "provider": "GENERIC", "location": location})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let bind = |queue: &QueueRef| json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": queue.as_str()});
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/bindings"), Some(bind(&starts_a))).await.0, 201);
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let url =
        admin(&management, "GET", &format!("/v1/webhooks/{id}/url"), None).await.1["url"].as_str().unwrap().to_owned();
    let (path, query) = url.strip_prefix(base).unwrap().split_once('?').unwrap();

    // Ingress: one cold request, then ten warm ones of 1 KiB.
    let counter = CallCounter::default();
    let ingress_app = quiet(hookbridge_tests::function_app_counted(&admin_app, "IngressFunction", &counter).await);
    let ingress = ingress_app.ingress(events.clone());
    let body = json!({"order": {"id": 42, "note": "x".repeat(980)}}).to_string();
    assert!((1000..1100).contains(&body.len()));
    let post = || invoke(&ingress, apigw_event(APIGW, "POST", path, query, Some(body.as_bytes()), "application/json"));
    assert_eq!(post().await.0, 200, "cold");
    show("ingress, cold", 1, &counter.take());
    const WARM: u64 = 10;
    for _ in 0..WARM {
        assert_eq!(post().await.0, 200);
    }
    let warm = counter.take();
    show("ingress, warm", WARM, &warm);
    // At most one of each per event, and (the counter counts) exactly that here.
    assert_eq!(total(&warm, "sqs"), WARM, "one SQS call per event: {warm:?}");
    assert_eq!(of(&warm, "dynamodb", DYNAMO_READS), WARM, "one DynamoDB read per event: {warm:?}");
    assert_eq!(of(&warm, "dynamodb", DYNAMO_WRITES), 0, "{warm:?}");
    assert_eq!(total(&warm, "secretsmanager") + total(&warm, "s3"), 0, "{warm:?}");
    assert_eq!(
        total(&warm, "dynamodb") + total(&warm, "sqs"),
        of(&warm, "dynamodb", DYNAMO_READS) + total(&warm, "sqs")
    );

    // Fan-out: a second START binding on another queue; one cold record, then a batch of
    // twelve (a batching window lets Lambda hand over more than ten).
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/bindings"), Some(bind(&starts_b))).await.0, 201);
    let received = receive_n(&admin_app, &events, 1 + WARM as usize).await;
    assert_eq!(post().await.0, 200);
    assert_eq!(post().await.0, 200);
    let received: Vec<_> = received.into_iter().chain(receive_n(&admin_app, &events, 2).await).collect();
    let fanout_app = quiet(hookbridge_tests::function_app_counted(&admin_app, "FanoutFunction", &counter).await);
    let fanout = fanout_app.fanout();
    assert!(fanout.handle(sqs_event(&received[..1])).await.batch_item_failures.is_empty());
    show("fan-out, cold", 1, &counter.take());
    let batch = &received[1..];
    assert_eq!(batch.len(), 12);
    assert!(fanout.handle(sqs_event(batch)).await.batch_item_failures.is_empty());
    let warm = counter.take();
    show("fan-out, warm batch of 12 events, 2 queues", 12, &warm);
    let sends = of(&warm, "sqs", &["SendMessageBatch"]);
    assert_eq!(sends, 2 * 12_u64.div_ceil(10), "one SendMessageBatch per ten messages per queue: {warm:?}");
    assert_eq!(total(&warm, "sqs"), sends, "{warm:?}");
    assert_eq!(total(&warm, "dynamodb") + total(&warm, "secretsmanager") + total(&warm, "s3"), 0, "{warm:?}");
    // Every event reached the second queue too (the cold one included).
    assert_eq!(receive_n(&admin_app, &starts_b, 13).await.len(), 13);

    // Dispatch: a connector to a receiver on loopback; each event is taken in (a delivery
    // record and its message), then attempted from the delivery message.
    let receiver = hookbridge_tests::TestReceiver::start().await;
    let connector =
        json!({"name": "counted-sink", "baseUrl": receiver.url(""), "auth": {"type": "BEARER", "token": "t0ken"}});
    let (status, made) = admin(&management, "POST", "/v1/connectors", Some(connector)).await;
    assert_eq!(status, 201, "{made}");
    let mut dispatch_app =
        quiet(hookbridge_tests::function_app_counted(&admin_app, "DispatchFunction", &counter).await);
    dispatch_app.app.settings.allow_targets = hookbridge::dispatch::AllowList::loopback();
    let dispatch_queues =
        hookbridge::ports::DispatchQueues { deliveries: deliveries.clone(), dead_letter: deliveries.clone() };
    let dispatcher = dispatch_app.dispatcher(dispatch_queues).unwrap();
    let mut attempt_writes = Vec::new();
    for n in 0..3 {
        let event = json!({"id": format!("evt-{n}"), "type": "user.created", "occurredAt": "2026-12-02T05:00:00Z", "data": {"n": n}});
        let sent = hookbridge::ports::OutgoingMessage::new(event.to_string());
        queues.send_batch(&deliveries, &[sent]).await.unwrap();
        let taken = receive_n(&admin_app, &deliveries, 1).await;
        counter.take();
        assert!(dispatcher.handle_sqs(sqs_event(&taken)).await.batch_item_failures.is_empty());
        let intake = counter.take();
        let attempt = receive_n(&admin_app, &deliveries, 1).await;
        assert!(dispatcher.handle_sqs(sqs_event(&attempt)).await.batch_item_failures.is_empty());
        let attempted = counter.take();
        assert_eq!(receiver.next().await.method_path().0, "POST");
        if n > 0 {
            show("dispatch intake, warm", 1, &intake);
            show("dispatch attempt, warm", 1, &attempted);
            attempt_writes.push(of(&attempted, "dynamodb", DYNAMO_WRITES));
            assert_eq!(of(&intake, "dynamodb", DYNAMO_WRITES), 1, "{intake:?}");
        }
    }
    assert_eq!(attempt_writes, vec![1, 1], "one DynamoDB write per attempt");
}
