//! Fault injection, measured: for each area (ingress, fan-out, dispatch, replay,
//! management) and each port call it makes, one call fails, times out or hangs. The caller
//! then gets a retryable answer (503 with `Retry-After`, a batch item failure that the queue
//! redelivers) and a retry succeeds, or the work is done anyway; never a 200 with nothing
//! queued, never a claim that hides an event, never a delivery left PENDING with no message.
//! Each case prints a `FAULT-MATRIX` line (RELIABILITY.md keeps the counts).

use std::sync::Arc;
use std::time::Duration;

use hookbridge_local::LocalConfig;
use hookbridge_tests::faults::{Fault, Faults};
use hookbridge_tests::{TestApp, TestReceiver, eventually};
use reqwest::Method;
use serde_json::{Value, json};

const KINDS: [(&str, Fault); 3] =
    [("fail", Fault::Fail), ("throttle", Fault::Throttle), ("timeout", Fault::Timeout(Duration::from_millis(300)))];

fn quick(c: &mut LocalConfig) {
    // Redelivery after a failed batch in about a second, not 30 s / 120 s.
    c.visibility = Duration::from_secs(1);
    c.dispatch_visibility = Duration::from_secs(1);
    c.settings.pending_claim_ttl = Duration::from_secs(1);
}

async fn app(on_aws: bool) -> (TestApp, Arc<Faults>) {
    let faults = Faults::new();
    let f = faults.clone();
    let app = if on_aws {
        TestApp::spawn_aws_wrapped(move |b| f.wrap(b), quick).await
    } else {
        TestApp::spawn_wrapped_with(move |b| f.wrap(b), quick).await
    };
    (app, faults)
}

fn report(area: &str, op: &str, kind: &str, injected: u64, first: u16, aws: bool) {
    let backend = if aws { "aws" } else { "local" };
    println!(
        "FAULT-MATRIX backend={backend} area={area} op={op} fault={kind} injected={injected} first_answer={first}"
    );
}

/// An answer to a fault is the work done (2xx) or a retryable refusal (503 + Retry-After).
fn retryable_or_done(status: u16, headers: &reqwest::header::HeaderMap, what: &str) {
    assert!(
        (200..300).contains(&status) || (status == 503 && headers.contains_key("retry-after")),
        "{what}: answered {status}"
    );
}

async fn ingress_cases(on_aws: bool) {
    let ops = [
        "registry.get_webhook",
        "registry.list_bindings",
        "secrets.get_secret",
        "dedup.claim",
        "dedup.put",
        "dedup.release",
        "queues.send_batch",
        "blobs.put_blob",
    ];
    for op in ops {
        for (kind, fault) in KINDS {
            let (app, faults) = app(on_aws).await;
            let id = app.create_webhook("fm-ingress").await;
            let url = app.bind_and_activate(&id, "p", "fm-starts").await;
            // Cold cache, so the registration is read under the fault too; a large body
            // travels by claim check (the blob store is on the path).
            let body = json!({"big": "x".repeat(300 * 1024)});
            faults.inject(op, fault, 0, 1);
            let send = || app.http.post(&url).header("idempotency-key", "fm-1").json(&body).send();
            let first = send().await.unwrap();
            let (status, headers) = (first.status().as_u16(), first.headers().clone());
            retryable_or_done(status, &headers, &format!("ingress {op} {kind}"));
            let first: Value = first.json().await.unwrap_or(Value::Null);
            // Answered 200: that event is queued. Refused: the provider's retry gets it queued.
            let accepted = if status == 200 {
                first
            } else {
                eventually(|| async {
                    let r = send().await.unwrap();
                    let s = r.status().as_u16();
                    let v: Value = r.json().await.unwrap_or(Value::Null);
                    (s == 200).then_some(v)
                })
                .await
            };
            assert_ne!(accepted["duplicate"], json!(true), "ingress {op} {kind}: a claim hid the event");
            let got = app.receive_n("fm-starts", 1).await;
            assert_eq!(got[0]["body"]["eventId"], accepted["eventId"], "ingress {op} {kind}");
            report("ingress", op, kind, faults.injected(op), status, on_aws);
            app.stop().await;
        }
    }
}

async fn fanout_cases(on_aws: bool) {
    for op in
        ["registry.get_webhook", "registry.list_bindings", "queues.send_batch", "blobs.get_blob", "blobs.put_blob"]
    {
        for (kind, fault) in KINDS {
            let (app, faults) = app(on_aws).await;
            let id = app.create_webhook("fm-fanout").await;
            let url = app.bind_and_activate(&id, "p", "fm-fan-starts").await;
            // The fault waits for the fan-out: the ingress's own calls come first.
            let r = app.http.post(&url).json(&json!({"big": "y".repeat(300 * 1024)})).send().await.unwrap();
            assert_eq!(r.status(), 200);
            let event: Value = r.json().await.unwrap();
            faults.inject(op, fault, 0, 1);
            let got = app.receive_n("fm-fan-starts", 1).await;
            assert_eq!(got[0]["body"]["eventId"], event["eventId"], "fan-out {op} {kind}");
            report("fanout", op, kind, faults.injected(op), 200, on_aws);
            app.stop().await;
        }
    }
}

async fn dispatch_cases(on_aws: bool) {
    let ops = [
        "connectors.list_connectors",
        "deliveries.create_delivery",
        "deliveries.get_delivery",
        "deliveries.update_delivery",
        "queues.send_batch",
        "connectors.get_connector",
        "secrets.get_secret",
    ];
    for op in ops {
        for (kind, fault) in KINDS {
            let (app, faults) = app(on_aws).await;
            let rx = TestReceiver::start().await;
            let (status, c) = app
                .call(Method::POST, "/v1/connectors", Some(json!({"name": "fm-sink", "baseUrl": rx.url("/in")})))
                .await;
            assert_eq!(status, 201, "{c}");
            faults.inject(op, fault, 0, 1);
            let event =
                json!({"events": [{"id": "fm-e1", "type": "t", "occurredAt": "2026-12-01T00:00:00Z", "data": {}}]});
            let first = app.admin(Method::POST, "/local/events").json(&event).send().await.unwrap();
            let (status, headers) = (first.status().as_u16(), first.headers().clone());
            retryable_or_done(status, &headers, &format!("dispatch {op} {kind}"));
            eventually(|| async {
                let r = app.admin(Method::POST, "/local/events").json(&event).send().await.unwrap();
                (r.status().as_u16() == 202).then_some(())
            })
            .await;
            let got = rx.next().await;
            assert_eq!(serde_json::from_slice::<Value>(&got.body).unwrap()["id"], "fm-e1");
            // The delivery's id follows from the event and the connector. (A retried intake
            // lists only deliveries it created: under load the first call, which the client
            // gave up on, may have created it.)
            let connector_id = hookbridge::domain::ConnectorId::parse(c["id"].as_str().unwrap()).unwrap();
            let id = hookbridge::domain::delivery_id("fm-e1", &connector_id).to_string();
            let done = eventually(|| async {
                let (_, d) = app.call(Method::GET, &format!("/v1/deliveries/{id}"), None).await;
                (d["status"] == "SUCCEEDED").then_some(d)
            })
            .await;
            assert!(done["attempts"].as_array().is_some_and(|a| !a.is_empty()));
            // Nothing left PENDING without a message.
            let (_, pending) = app.call(Method::GET, "/v1/deliveries?status=PENDING", None).await;
            assert_eq!(pending["items"].as_array().map_or(0, Vec::len), 0, "dispatch {op} {kind}: {pending}");
            report("dispatch", op, kind, faults.injected(op), status, on_aws);
            app.stop().await;
        }
    }
}

async fn replay_and_management_cases(on_aws: bool) {
    for (op, kind, fault) in [
        ("blobs.get_blob", "fail", Fault::Fail),
        ("queues.send_batch", "fail", Fault::Fail),
        ("registry.put_failed_trigger", "throttle", Fault::Throttle),
        ("registry.get_failed_trigger", "timeout", Fault::Timeout(Duration::from_millis(300))),
    ] {
        let (app, faults) = app(on_aws).await;
        let id = app.create_webhook("fm-replay").await;
        let url = app.bind_and_activate(&id, "p", "fm-replay-starts").await;
        // A refused event becomes a failed trigger (the queue is down once).
        faults.inject("queues.send_batch", Fault::Fail, 0, 1);
        assert_eq!(app.http.post(&url).json(&json!({"r": 1})).send().await.unwrap().status(), 503);
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={id}"), None).await;
        let trigger = page["items"][0]["id"].as_str().unwrap().to_owned();
        faults.inject(op, fault, 0, 1);
        let path = format!("/v1/failed-triggers/{trigger}/replay");
        let first = app.admin(Method::POST, &path).send().await.unwrap();
        let (status, headers) = (first.status().as_u16(), first.headers().clone());
        retryable_or_done(status, &headers, &format!("replay {op} {kind}"));
        if status != 202 {
            let (status, body) = app.call(Method::POST, &path, None).await;
            assert_eq!(status, 202, "replay retry after {op}: {body}");
        }
        // At least once: a replay whose bookkeeping failed after the event was queued is
        // queued again by its retry (a counted duplicate, never a loss).
        let got = app.receive("fm-replay-starts", 10, 5).await;
        assert!(!got.is_empty(), "replay {op} {kind}: nothing queued");
        println!("FAULT-MATRIX-DUPLICATES area=replay op={op} copies={}", got.len());
        report("replay", op, kind, faults.injected(op), status, on_aws);
        app.stop().await;
    }
    for (op, kind, fault) in [
        ("secrets.put_secret", "fail", Fault::Fail),
        ("registry.create_webhook", "throttle", Fault::Throttle),
        ("dedup.claim", "timeout", Fault::Timeout(Duration::from_millis(300))),
    ] {
        let (app, faults) = app(on_aws).await;
        faults.inject(op, fault, 0, 1);
        let create = || {
            app.admin(Method::POST, "/v1/webhooks").header("idempotency-key", "fm-create").json(&json!({
                "name": "fm-created", "provider": "GENERIC", "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}}))
            .send()
        };
        let first = create().await.unwrap();
        let (status, headers) = (first.status().as_u16(), first.headers().clone());
        retryable_or_done(status, &headers, &format!("management {op} {kind}"));
        let second = create().await.unwrap();
        assert!(second.status().is_success(), "management retry after {op}: {}", second.status());
        // One webhook, with its key: nothing half-made.
        let (_, list) = app.call(Method::GET, "/v1/webhooks", None).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "management {op} {kind}: {list}");
        let id = items[0]["id"].as_str().unwrap();
        app.url_of(id).await;
        report("management", op, kind, faults.injected(op), status, on_aws);
        app.stop().await;
    }
    // Clock skew: an hour either way changes no outcome for unsigned (GENERIC) events and
    // deliveries.
    for skew in [3600, -3600] {
        let (app, faults) = app(on_aws).await;
        faults.skew_clock(skew);
        let id = app.create_webhook("fm-skew").await;
        let url = app.bind_and_activate(&id, "p", "fm-skew-starts").await;
        assert_eq!(app.http.post(&url).json(&json!({"s": skew})).send().await.unwrap().status(), 200);
        assert_eq!(app.receive_n("fm-skew-starts", 1).await.len(), 1);
        report("skew", "clock.now", &format!("{skew}s"), 1, 200, on_aws);
        app.stop().await;
    }
}

#[tokio::test]
async fn ingress_faults_local() {
    ingress_cases(false).await;
}

#[tokio::test]
async fn ingress_faults_aws() {
    ingress_cases(true).await;
}

#[tokio::test]
async fn fanout_faults_local() {
    fanout_cases(false).await;
}

#[tokio::test]
async fn fanout_faults_aws() {
    fanout_cases(true).await;
}

#[tokio::test]
async fn dispatch_faults_local() {
    dispatch_cases(false).await;
}

#[tokio::test]
async fn dispatch_faults_aws() {
    dispatch_cases(true).await;
}

#[tokio::test]
async fn replay_management_and_clock_faults_local() {
    replay_and_management_cases(false).await;
}

#[tokio::test]
async fn replay_management_and_clock_faults_aws() {
    replay_and_management_cases(true).await;
}
