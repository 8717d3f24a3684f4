//! What was answered 200 is queued, and what was refused is kept: the review's findings on
//! the ingress (H1, H2, M1, M3, M7) shown with faults injected into the real backends.

use std::sync::Arc;
use std::time::Duration;

use hookbridge_local::LocalConfig;
use hookbridge_tests::faults::{Fault, Faults};
use hookbridge_tests::{TestApp, eventually};
use reqwest::Method;
use serde_json::{Value, json};

/// Both backends, each wrapped in its own switchboard, with a short pending-claim TTL so a
/// test sees an abandoned claim expire.
async fn apps(adjust: fn(&mut LocalConfig)) -> Vec<(TestApp, Arc<Faults>)> {
    let (local, aws) = (Faults::new(), Faults::new());
    let l = local.clone();
    let a = aws.clone();
    vec![
        (TestApp::spawn_wrapped_with(move |b| l.wrap(b), adjust).await, local),
        (TestApp::spawn_aws_wrapped(move |b| a.wrap(b), adjust).await, aws),
    ]
}

fn short_claims(c: &mut LocalConfig) {
    c.settings.pending_claim_ttl = Duration::from_secs(1);
}

async fn post(app: &TestApp, url: &str, headers: &[(&str, &str)], body: &Value) -> (u16, Value) {
    let mut req = app.http.post(url).json(body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.expect("sent");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// H1: the queue fails and so does releasing the delivery claim. The provider's retry must
/// never be answered `duplicate` for an event no queue holds: it is refused while the first
/// attempt's claim is pending, then queued.
#[tokio::test]
async fn a_failed_enqueue_with_a_failed_release_is_never_answered_as_a_duplicate() {
    for (app, faults) in apps(short_claims).await {
        let id = app.create_webhook("h1-lost").await;
        let url = app.bind_and_activate(&id, "p", "h1-starts").await;
        faults.inject("queues.send_batch", Fault::Fail, 0, 1);
        faults.inject("dedup.release", Fault::Fail, 0, 1);
        let key = [("idempotency-key", "delivery-1")];
        let (status, err) = post(&app, &url, &key, &json!({"n": 1})).await;
        assert_eq!((status, err["code"].as_str()), (503, Some("SERVICE_UNAVAILABLE")), "aws={}", app.is_aws());
        assert_eq!(faults.injected("dedup.release"), 1, "the release failed too");
        // Until it is queued, no answer says it was.
        let accepted = eventually(|| async {
            let (status, body) = post(&app, &url, &key, &json!({"n": 1})).await;
            assert_ne!(body["duplicate"], json!(true), "a retry of a lost event was taken for a duplicate");
            (status == 200).then_some(body)
        })
        .await;
        let got = app.receive_n("h1-starts", 1).await;
        assert_eq!(got[0]["body"]["eventId"], accepted["eventId"]);
        // Now it is a duplicate, for real.
        let (status, again) = post(&app, &url, &key, &json!({"n": 1})).await;
        assert_eq!(
            (status, again["duplicate"].clone(), again["eventId"].clone()),
            (200, json!(true), accepted["eventId"].clone())
        );
        assert!(app.receive("h1-starts", 10, 0).await.is_empty());
        app.stop().await;
    }
}

/// H1, the crash form: the call dies (its future is dropped, as a Lambda timeout or kill
/// does) between claiming the delivery and queueing it. The retry is queued.
#[tokio::test]
async fn an_ingress_call_that_dies_after_its_claim_does_not_swallow_the_retry() {
    for (app, faults) in apps(short_claims).await {
        let id = app.create_webhook("h1-crash").await;
        let url = app.bind_and_activate(&id, "p", "h1-crash-starts").await;
        faults.inject("queues.send_batch", Fault::Hang, 0, 1);
        let sent = app
            .http
            .post(&url)
            .header("idempotency-key", "d-9")
            .json(&json!({"n": 9}))
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        assert!(sent.is_err(), "the hung call times out at the client");
        eventually(|| async { (faults.injected("queues.send_batch") == 1).then_some(()) }).await;
        let accepted = eventually(|| async {
            let (status, body) = post(&app, &url, &[("idempotency-key", "d-9")], &json!({"n": 9})).await;
            assert_ne!(body["duplicate"], json!(true));
            (status == 200).then_some(body)
        })
        .await;
        let got = app.receive_n("h1-crash-starts", 1).await;
        assert_eq!(got[0]["body"]["eventId"], accepted["eventId"]);
        app.stop().await;
    }
}

/// H2: the second of two waiter takes fails; the first instance taken must still be waiting
/// (and so must both when queueing fails after the takes).
#[tokio::test]
async fn a_failed_take_or_enqueue_puts_every_taken_waiter_back() {
    for (app, faults) in apps(hookbridge_tests::unchanged).await {
        let id = app.create_webhook("h2-restore").await;
        let path = format!("/v1/webhooks/{id}/bindings");
        let mut bindings = Vec::new();
        for (catch, key) in [("a", "order.id"), ("b", "order.ref")] {
            let (status, b) = app
                .call(Method::POST, &path, Some(json!({"type": "RESUME_PROCESS", "catchEventId": catch,
                    "webhookCorrelationKey": key, "processCorrelationKey": "k", "processKey": catch, "queue": "h2-resumes"})))
                .await;
            assert_eq!(status, 201, "{b}");
            bindings.push(b["id"].as_str().unwrap().to_owned());
        }
        assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
        for (instance, binding, value) in [("inst-a", &bindings[0], "7"), ("inst-b", &bindings[1], "R7")] {
            let (status, body) = app
                .call(
                    Method::PUT,
                    &format!("/v1/webhooks/{id}/waiters/{instance}"),
                    Some(json!({"bindingId": binding, "correlationValue": value})),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
        let url = app.url_of(&id).await;
        let event = json!({"order": {"id": 7, "ref": "R7"}});
        // The second take fails.
        faults.inject("registry.take_waiter", Fault::Throttle, 1, 1);
        assert_eq!(post(&app, &url, &[], &event).await.0, 503);
        // Both takes succeed, queueing fails.
        faults.inject("queues.send_batch", Fault::Fail, 0, 1);
        assert_eq!(post(&app, &url, &[], &event).await.0, 503);
        // The retry resumes both instances.
        let (status, body) = post(&app, &url, &[], &event).await;
        assert_eq!(status, 200, "aws={} {body}", app.is_aws());
        let got = app.receive_n("h2-resumes", 2).await;
        let mut instances: Vec<_> =
            got.iter().map(|m| m["body"]["processInstanceId"].as_str().unwrap().to_owned()).collect();
        instances.sort();
        assert_eq!(instances, ["inst-a", "inst-b"]);
        app.stop().await;
    }
}

/// M1: the sender's credentials stay at the door: no process message carries Okta's
/// `Authorization`, GitLab's token header, or a GENERIC sender's cookie.
#[tokio::test]
async fn credentials_are_not_forwarded_to_process_queues() {
    for (app, _) in apps(hookbridge_tests::unchanged).await {
        let mut urls = Vec::new();
        for (name, provider, secret) in [("okta", "OKTA", "Basic b2t0YTpzZWNyZXQ="), ("gitlab", "GITLAB", "gl-token")] {
            let (status, w) = app
                .call(
                    Method::POST,
                    "/v1/webhooks",
                    Some(json!({"name": format!("m1-{name}"), "provider": provider,
                    "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}, "providerSecret": secret})),
                )
                .await;
            assert_eq!(status, 201, "{w}");
            let id = w["id"].as_str().unwrap().to_owned();
            urls.push(app.bind_and_activate(&id, "p", "m1-starts").await);
        }
        let generic = app.create_webhook("m1-generic").await;
        urls.push(app.bind_and_activate(&generic, "p", "m1-starts").await);
        let sends: [&[(&str, &str)]; 3] = [
            &[("authorization", "Basic b2t0YTpzZWNyZXQ=")],
            &[("x-gitlab-token", "gl-token"), ("x-gitlab-event", "Push Hook")],
            &[("cookie", "session=s3cr3t"), ("proxy-authorization", "Basic cA=="), ("authorization", "Bearer t0k")],
        ];
        for (url, headers) in urls.iter().zip(sends) {
            let (status, body) = post(&app, url, headers, &json!({"ok": true})).await;
            assert_eq!(status, 200, "{body}");
        }
        let got = app.receive_n("m1-starts", 3).await;
        for m in &got {
            let headers = &m["body"]["webhookMessage"]["headers"];
            for secret in ["authorization", "x-gitlab-token", "cookie", "proxy-authorization"] {
                assert!(headers.get(secret).is_none(), "{secret} forwarded: {headers}");
            }
            let text = m.to_string();
            for value in ["b2t0YTpzZWNyZXQ", "gl-token", "s3cr3t", "t0k"] {
                assert!(!text.contains(value), "{value} in {text}");
            }
        }
        assert!(got.iter().any(|m| m["body"]["webhookMessage"]["headers"]["x-gitlab-event"] == json!(["Push Hook"])));
        app.stop().await;
    }
}

/// M3: a made-up webhook id costs no secret-store call, however many arrive.
#[tokio::test]
async fn unknown_webhook_ids_cost_no_secret_store_call() {
    for (app, faults) in apps(hookbridge_tests::unchanged).await {
        let before = faults.calls("secrets.get_secret");
        for _ in 0..200 {
            let id = uuid::Uuid::now_v7();
            let (status, _) =
                post(&app, &format!("{}/webhooks/generic/acme/main/shop/{id}?apiKey=x", app.base), &[], &json!({}))
                    .await;
            assert_eq!(status, 404);
        }
        assert_eq!(faults.calls("secrets.get_secret") - before, 0);
        assert!(faults.calls("registry.get_webhook") >= 200);
        app.stop().await;
    }
}

/// M7: a refused event is kept before the answer goes out (nothing may run after a Lambda's
/// response), even when keeping it is slow.
#[tokio::test]
async fn a_refused_event_is_kept_before_the_answer() {
    for (app, faults) in apps(hookbridge_tests::unchanged).await {
        let id = app.create_webhook("m7-kept").await;
        let (status, _) = app
            .call(
                Method::POST,
                &format!("/v1/webhooks/{id}/bindings"),
                Some(json!({"type": "RESUME_PROCESS",
                "catchEventId": "c", "webhookCorrelationKey": "ref", "processCorrelationKey": "k", "processKey": "p",
                "queue": "m7-resumes"})),
            )
            .await;
        assert_eq!(status, 201);
        assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
        let url = app.url_of(&id).await;
        faults.inject("registry.put_failed_trigger", Fault::Delay(Duration::from_millis(300)), 0, 1);
        let (status, err) = post(&app, &url, &[], &json!({"ref": "nobody-waits"})).await;
        assert_eq!((status, err["code"].as_str()), (422, Some("NO_WAITING_INSTANCE")));
        // Read at once, no waiting: it was written before the 422.
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={id}"), None).await;
        let items = page["items"].as_array().unwrap();
        assert_eq!(items.len(), 1, "{page}");
        assert_eq!(items[0]["code"], "NO_WAITING_INSTANCE");
        // A backend's error text does not reach the failed trigger (I2).
        let start = app.create_webhook("m7-start").await;
        let start_url = app.bind_and_activate(&start, "p", "m7-starts").await;
        faults.inject("queues.send_batch", Fault::Fail, 0, 1);
        assert_eq!(post(&app, &start_url, &[], &json!({"n": 1})).await.0, 503);
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={start}"), None).await;
        let cause = page["items"][0]["message"].as_str().unwrap().to_owned();
        assert!(!cause.contains("injected"), "{cause}");
        app.stop().await;
    }
}

/// M2: an answer that shows a secret is not kept by the Idempotency-Key store (a replay is
/// told so); L9: a request that died holds its key only briefly.
#[tokio::test]
async fn idempotency_keeps_no_secret_and_a_dead_request_frees_its_key() {
    for (app, faults) in apps(|c| c.settings.idempotency_pending = Duration::from_secs(1)).await {
        let id = app.create_webhook("m2-secret").await;
        let path = format!("/v1/webhooks/{id}/api-key");
        let reset = || app.admin(Method::POST, &path).header("idempotency-key", "rk-1").send();
        let r = reset().await.unwrap();
        assert_eq!(r.status(), 200);
        let url = r.json::<Value>().await.unwrap()["url"].as_str().unwrap().to_owned();
        let key = url.split("apiKey=").nth(1).unwrap().to_owned();
        let kept = app
            .backend()
            .dedup
            .claim(&format!("idempotency/{path}/rk-1"), "probe", Duration::from_secs(1))
            .await
            .unwrap();
        let hookbridge::ports::Claim::Existing(kept) = kept else { panic!("the key was not remembered") };
        assert!(!kept.contains(&key), "the new API key is kept in the dedup store");
        let replay = reset().await.unwrap();
        assert_eq!(replay.status(), 409);
        assert_eq!(replay.json::<Value>().await.unwrap()["code"], "IDEMPOTENCY_REPLAY_WITHHELD");

        // The first request dies mid-way (its future is dropped); its key frees itself.
        faults.inject("registry.get_webhook", Fault::Hang, 0, 1);
        let activate = format!("/v1/webhooks/{id}/activate");
        let dead = app
            .admin(Method::POST, &activate)
            .header("idempotency-key", "act-9")
            .timeout(Duration::from_millis(500))
            .send()
            .await;
        assert!(dead.is_err());
        let answer = eventually(|| async {
            let r = app.admin(Method::POST, &activate).header("idempotency-key", "act-9").send().await.unwrap();
            let body = r.json::<Value>().await.unwrap();
            (body["code"] != "IDEMPOTENCY_IN_PROGRESS").then_some(body)
        })
        .await;
        assert_eq!(answer["code"], "NO_BINDINGS", "the retry was processed: {answer}");
        app.stop().await;
    }
}

/// L1: a PATCH that read the webhook's secrets before a concurrent key reset cannot write
/// the old key back: it is refused (409) and the reset key stays.
#[tokio::test]
async fn a_concurrent_patch_never_undoes_a_key_reset() {
    for (app, faults) in apps(hookbridge_tests::unchanged).await {
        let id = app.create_webhook("l1-race").await;
        let url = app.bind_and_activate(&id, "p", "l1-starts").await;
        // The PATCH's secret write waits until the reset is done.
        faults.inject("secrets.replace_secret", Fault::Delay(Duration::from_millis(800)), 0, 1);
        let patch = app
            .admin(Method::PATCH, &format!("/v1/webhooks/{id}"))
            .json(&json!({"deregistration": {"url": "https://example.com/bye", "auth": {"type": "BEARER", "token": "t"}}}))
            .send();
        let patch = tokio::spawn(patch);
        eventually(|| async { (faults.injected("secrets.replace_secret") == 1).then_some(()) }).await;
        let (status, reset) = app.call(Method::POST, &format!("/v1/webhooks/{id}/api-key"), None).await;
        assert_eq!(status, 200, "{reset}");
        let patched = patch.await.unwrap().unwrap();
        assert_eq!(patched.status(), 409);
        assert_eq!(patched.json::<Value>().await.unwrap()["code"], "CONCURRENT_UPDATE");
        assert_eq!(app.url_of(&id).await, reset["url"].as_str().unwrap(), "the reset key is the stored one");
        assert_eq!(post(&app, &url, &[], &json!({})).await.0, 401, "the old key stays revoked");
        assert_eq!(post(&app, reset["url"].as_str().unwrap(), &[], &json!({})).await.0, 200);
        app.stop().await;
    }
}

/// L8: values the store cannot hold are refused as the caller's error, never 503.
#[tokio::test]
async fn oversized_values_are_refused_with_4xx() {
    for (app, _) in apps(hookbridge_tests::unchanged).await {
        let id = app.create_webhook("l8-sizes").await;
        let (status, b) = app
            .call(
                Method::POST,
                &format!("/v1/webhooks/{id}/bindings"),
                Some(json!({"type": "RESUME_PROCESS",
                "catchEventId": "c", "webhookCorrelationKey": "ref", "processCorrelationKey": "k", "processKey": "p",
                "queue": "l8-resumes"})),
            )
            .await;
        assert_eq!(status, 201);
        let binding = b["id"].as_str().unwrap().to_owned();
        assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
        let long = "x".repeat(2048);
        // A 2 KiB correlation value: no instance can wait for it (422), none may register it (400).
        let (status, err) = post(&app, &app.url_of(&id).await, &[], &json!({"ref": long})).await;
        assert_eq!((status, err["code"].as_str()), (422, Some("NO_WAITING_INSTANCE")), "aws={}", app.is_aws());
        let (status, err) = app
            .call(
                Method::PUT,
                &format!("/v1/webhooks/{id}/waiters/i1"),
                Some(json!({"bindingId": binding, "correlationValue": long})),
            )
            .await;
        assert_eq!((status, err["field"].as_str()), (400, Some("correlationValue")));
        // Descriptions, deep options, many headers.
        let (status, err) = app
            .call(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(json!({"description": "d".repeat(1001)})))
            .await;
        assert_eq!((status, err["field"].as_str()), (400, Some("description")));
        let mut deep = json!(1);
        for _ in 0..40 {
            deep = json!([deep]);
        }
        let (status, err) = app
            .call(
                Method::PATCH,
                &format!("/v1/webhooks/{id}"),
                Some(json!({"registration": {"url": "https://example.com/r", "options": deep}})),
            )
            .await;
        assert_eq!((status, err["field"].as_str()), (400, Some("registration.options")), "{err}");
        let headers: serde_json::Map<String, Value> = (0..51).map(|i| (format!("x-h{i}"), json!("v"))).collect();
        let (status, err) = app
            .call(
                Method::POST,
                "/v1/connectors",
                Some(json!({"name": "l8-conn", "baseUrl": "https://example.com", "headers": headers})),
            )
            .await;
        assert_eq!((status, err["field"].as_str()), (400, Some("headers")), "{err}");
        // M6: a retry wait beyond a week is refused when saved.
        let (status, err) = app
            .call(
                Method::POST,
                "/v1/connectors",
                Some(json!({"name": "m6-conn", "baseUrl": "https://example.com",
                "retry": {"scheduleSecs": [5, 10000000000000u64]}})),
            )
            .await;
        assert_eq!((status, err["field"].as_str()), (400, Some("retry.scheduleSecs[1]")), "{err}");
        app.stop().await;
    }
}

/// L7: two attempts of one delivery at once (a delivery queued twice) both stay in its log,
/// and the success is the final status (no write overwrites the other).
#[tokio::test]
async fn concurrent_attempts_of_one_delivery_are_both_logged() {
    for (app, faults) in apps(|c| c.dispatch_workers = 2).await {
        let rx = hookbridge_tests::TestReceiver::start().await;
        let (status, c) =
            app.call(Method::POST, "/v1/connectors", Some(json!({"name": "l7-sink", "baseUrl": rx.url("/in")}))).await;
        assert_eq!(status, 201, "{c}");
        // Both attempts read the record before either writes.
        faults.inject("deliveries.update_delivery", Fault::Delay(Duration::from_millis(1500)), 0, 2);
        let event = json!({"id": format!("l7-{}", uuid::Uuid::new_v4()), "type": "user.created",
            "occurredAt": "2026-12-01T10:00:00Z", "data": {}});
        let (status, first) = app.call(Method::POST, "/local/events", Some(json!({"events": [event.clone()]}))).await;
        assert_eq!(status, 202, "{first}");
        rx.next().await;
        // Still pending: taking the event in again queues the delivery a second time.
        let (status, again) = app.call(Method::POST, "/local/events", Some(json!({"events": [event]}))).await;
        assert_eq!((status, &again["deliveries"]), (202, &first["deliveries"]));
        rx.next().await;
        let id = first["deliveries"][0].as_str().unwrap();
        let record = eventually(|| async {
            let (_, d) = app.call(Method::GET, &format!("/v1/deliveries/{id}"), None).await;
            (d["attempts"].as_array().map_or(0, Vec::len) == 2).then_some(d)
        })
        .await;
        assert_eq!(record["status"], "SUCCEEDED", "aws={} {record}", app.is_aws());
        app.stop().await;
    }
}

/// M10: a batch connector given three 200 KiB events: each batch delivery fits the store's
/// item limit (cut by bytes), every event is delivered, nothing is left PENDING.
#[tokio::test]
async fn large_batches_are_cut_to_fit_and_delivered() {
    for (app, _) in apps(hookbridge_tests::unchanged).await {
        let rx = hookbridge_tests::TestReceiver::start().await;
        let (status, c) = app
            .call(
                Method::POST,
                "/v1/connectors",
                Some(json!({"name": "m10-batch", "baseUrl": rx.url("/in"), "batch": {"maxEvents": 10}})),
            )
            .await;
        assert_eq!(status, 201, "{c}");
        let big = "z".repeat(200 * 1024);
        let events: Vec<Value> = (0..3)
            .map(|i| json!({"id": format!("m10-{i}"), "type": "t", "occurredAt": "2026-12-01T00:00:00Z", "data": {"blob": big}}))
            .collect();
        let (status, accepted) = app.call(Method::POST, "/local/events", Some(json!({"events": events}))).await;
        assert_eq!(status, 202, "aws={} {accepted}", app.is_aws());
        let deliveries = accepted["deliveries"].as_array().unwrap().len();
        assert_eq!(deliveries, 3, "200 KiB events never share a 256 KiB batch");
        let mut ids = Vec::new();
        for _ in 0..deliveries {
            let got: Value = serde_json::from_slice(&rx.next().await.body).unwrap();
            ids.extend(got["events"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap().to_owned()));
        }
        ids.sort();
        assert_eq!(ids, ["m10-0", "m10-1", "m10-2"]);
        let (_, pending) = eventually(|| async {
            let r = app.call(Method::GET, "/v1/deliveries?status=PENDING", None).await;
            (r.1["items"].as_array().map_or(0, Vec::len) == 0).then_some(r)
        })
        .await;
        assert!(pending["items"].as_array().unwrap().is_empty());
        app.stop().await;
    }
}
