//! Fan-out end to end on the local runner: a webhook with two start bindings, and one with
//! resume bindings for two catch events (the WhatsApp path among them), every rejection at
//! the door, failed triggers and replay.

use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

async fn post(app: &TestApp, url: &str, body: Value) -> (u16, Value) {
    let r = app.http.post(url).json(&body).send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

fn whatsapp(text: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages",
        "value": {"messages": [{"from": "4915", "type": "text", "text": {"body": text}}]}}]}]})
}

async fn two_start_bindings_each_get_every_event(app: TestApp) {
    let id = app.create_webhook("two-starts").await;
    app.bind_and_activate(&id, "onboarding", "onboarding-starts").await;
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/bindings"),
            Some(json!({"type": "START_PROCESS", "processDefinitionId": "audit", "queue": "audit-starts.fifo"})),
        )
        .await;
    assert_eq!(status, 201);
    let url = app.url_of(&id).await;
    let mut events = Vec::new();
    for i in 0..3 {
        let (status, body) = post(&app, &url, json!({"n": i})).await;
        assert_eq!(status, 200);
        events.push(body["eventId"].as_str().unwrap().to_owned());
    }
    let a = app.receive_n("onboarding-starts", 3).await;
    let b = app.receive_n("audit-starts.fifo", 3).await;
    let ids = |msgs: &[Value]| {
        let mut v: Vec<String> = msgs.iter().map(|m| m["body"]["eventId"].as_str().unwrap().to_owned()).collect();
        v.sort();
        v
    };
    events.sort();
    assert_eq!(ids(&a), events);
    assert_eq!(ids(&b), events);
    // The FIFO queue got each event once (its order is the fan-out's send order, which the
    // standard events queue does not tie to arrival order: see docs/messages.md).
    assert!(app.receive("audit-starts.fifo", 10, 0).await.is_empty());
    assert!(a.iter().all(|m| m["body"]["processDefinitionId"] == "onboarding"));
    // Mixing resume into a start webhook is refused.
    let (status, err) = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/bindings"),
            Some(json!({"type": "RESUME_PROCESS", "catchEventId": "c", "webhookCorrelationKey": "a",
                "processCorrelationKey": "k", "processKey": "p", "queue": "q"})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("TRIGGER_TYPE_MISMATCH")));
    app.stop().await;
}

async fn resume_bindings_resume_exactly_the_waiting_instance(app: TestApp) {
    let id = app.create_webhook("resumes").await;
    let bindings_path = format!("/v1/webhooks/{id}/bindings");
    let bind = |body: Value| app.call(Method::POST, &bindings_path, Some(body));
    let (status, err) =
        bind(json!({"type": "RESUME_PROCESS", "catchEventId": "reply", "webhookCorrelationKey": "entry[0].changes[x]",
        "processCorrelationKey": "code", "processKey": "reply", "queue": "resumes"}))
        .await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("position 17"), "{err}");
    let (status, wa) = bind(json!({"type": "RESUME_PROCESS", "catchEventId": "reply",
        "webhookCorrelationKey": "entry[0].changes[0].value.messages[0].text.body",
        "processCorrelationKey": "code", "processKey": "reply", "queue": "wa-resumes"}))
    .await;
    assert_eq!(status, 201, "{wa}");
    let (status, orders) = bind(json!({"type": "RESUME_PROCESS", "catchEventId": "shipped",
        "webhookCorrelationKey": "data.orders[2].id", "processCorrelationKey": "orderId", "processKey": "shipment",
        "queue": "order-resumes"}))
    .await;
    assert_eq!(status, 201);
    let (wa, orders) = (wa["id"].as_str().unwrap().to_owned(), orders["id"].as_str().unwrap().to_owned());
    let (status, _) = bind(json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "q"})).await;
    assert_eq!(status, 409);
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let url = app.url_of(&id).await;

    let app = &app;
    let wait = |instance: &str, binding: &str, value: Value| {
        let path = format!("/v1/webhooks/{id}/waiters/{instance}");
        let body = json!({"bindingId": binding, "correlationValue": value});
        async move { app.call(Method::PUT, &path, Some(body)).await }
    };
    assert_eq!(wait("inst-wa-1", &wa, json!("CODE-1")).await.0, 200);
    assert_eq!(wait("inst-wa-2", &wa, json!("CODE-2")).await.0, 200);
    assert_eq!(wait("inst-order-7", &orders, json!(7)).await.0, 200);
    let (status, err) = wait("inst-other", &wa, json!("CODE-1")).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("CORRELATION_VALUE_TAKEN")));

    // The WhatsApp reply resumes inst-wa-1 only, with its catch event and process key.
    let (status, accepted) = post(app, &url, whatsapp("CODE-1")).await;
    assert_eq!(status, 200, "{accepted}");
    let got = app.receive_n("wa-resumes", 1).await;
    let m = &got[0]["body"];
    assert_eq!(m["type"], "RESUME_PROCESS");
    assert_eq!(m["processInstanceId"], "inst-wa-1");
    assert_eq!(m["catchEventId"], "reply");
    assert_eq!(m["processKey"], "reply");
    assert_eq!(m["bindingId"], wa.as_str());
    assert_eq!(m["eventId"], accepted["eventId"]);
    assert_eq!(m["webhookMessage"]["payload"], whatsapp("CODE-1"));
    assert!(m.get("processDefinitionId").is_none());

    // The waiter was consumed: the same reply again resumes nothing.
    let (status, err) = post(app, &url, whatsapp("CODE-1")).await;
    assert_eq!((status, err["code"].as_str()), (422, Some("NO_WAITING_INSTANCE")));

    // The order path (a number compared as text) resumes the order instance.
    let order = json!({"data": {"orders": [{"id": 1}, {"id": 2}, {"id": 7}]}});
    assert_eq!(post(app, &url, order.clone()).await.0, 200);
    let got = app.receive_n("order-resumes", 1).await;
    assert_eq!(got[0]["body"]["processInstanceId"], "inst-order-7");
    assert_eq!(got[0]["body"]["catchEventId"], "shipped");

    // Rejections at the door: missing field, index out of bounds, null leaf.
    for payload in [
        json!({"unrelated": true}),
        json!({"data": {"orders": [{"id": 1}]}}),
        json!({"entry": [{"changes": [{"value": {"messages": [{"text": {"body": null}}]}}]}]}),
    ] {
        let (status, err) = post(app, &url, payload.clone()).await;
        assert_eq!((status, err["code"].as_str()), (422, Some("CORRELATION_KEY_UNRESOLVED")), "{payload}");
    }
    let r = app.http.post(&url).header("content-type", "text/plain").body("CODE-2").send().await.unwrap();
    assert_eq!(r.status(), 422);
    assert!(app.receive("wa-resumes", 10, 0).await.is_empty(), "nothing was resumed by rejected events");

    // Every rejection is a failed trigger with its cause.
    let triggers = hookbridge_tests::eventually(|| async {
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={id}"), None).await;
        let items = page["items"].as_array().cloned().unwrap_or_default();
        (items.len() >= 5).then_some(items)
    })
    .await;
    assert_eq!(triggers.len(), 5);
    assert!(triggers.iter().any(|t| t["message"].as_str().unwrap().contains("no instance is waiting")));
    assert!(triggers.iter().any(|t| t["code"] == "CORRELATION_KEY_UNRESOLVED"));
    // Each names its cause by code, the binding and its catch event, where it failed, and
    // what the event held at the correlation key.
    for t in &triggers {
        assert_eq!(t["source"], "INGRESS", "{t}");
        assert!(t["bindingId"].is_string() && t["processDefinitionId"].is_string(), "{t}");
        assert!(t["details"]["webhookCorrelationKey"].is_string(), "{t}");
    }
    let no_waiter = triggers.iter().find(|t| t["code"] == "NO_WAITING_INSTANCE").unwrap();
    assert!(no_waiter["details"]["correlationValue"].is_string(), "{no_waiter}");

    // Replay the NO_WAITING_INSTANCE one once an instance waits for CODE-1 again.
    let replay = format!("/v1/failed-triggers/{}/replay", no_waiter["id"].as_str().unwrap());
    let (status, err) = app.call(Method::POST, &replay, None).await;
    assert_eq!((status, err["code"].as_str()), (422, Some("NO_WAITING_INSTANCE")));
    assert_eq!(wait("inst-wa-3", &wa, json!("CODE-1")).await.0, 200);
    let (status, replayed) = app.call(Method::POST, &replay, None).await;
    assert_eq!(status, 202, "{replayed}");
    assert!(replayed["failedTrigger"]["replayedAt"].is_string());
    let got = app.receive_n("wa-resumes", 1).await;
    assert_eq!(got[0]["body"]["processInstanceId"], "inst-wa-3");
    assert_eq!(got[0]["body"]["eventId"], no_waiter["eventId"]);

    // An instance stops waiting.
    assert_eq!(app.call(Method::DELETE, &format!("/v1/webhooks/{id}/waiters/inst-wa-2"), None).await.0, 204);
    let (status, err) = app.call(Method::DELETE, &format!("/v1/webhooks/{id}/waiters/inst-wa-2"), None).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("WAITER_NOT_FOUND")));
    let (status, _) = post(app, &url, whatsapp("CODE-2")).await;
    assert_eq!(status, 422);
}

mod plain {
    use super::*;
    hookbridge_tests::on_both_backends!(
        two_start_bindings_each_get_every_event,
        resume_bindings_resume_exactly_the_waiting_instance,
    );
}
