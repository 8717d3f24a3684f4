//! Outbound controls over real sockets, on both backends: Descope's audit filters, a flow
//! step's call through a connector, and the status of every delivery of one event.

use hmac::{Hmac, Mac};
use hookbridge_tests::{TestApp, TestReceiver, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

async fn connector(app: &TestApp, body: Value) -> Value {
    let (status, c) = app.call(Method::POST, "/v1/connectors", Some(body)).await;
    assert_eq!(status, 201, "{c}");
    c
}

async fn event_deliveries(app: &TestApp, event: &str) -> Vec<Value> {
    let (status, body) = app.call(Method::GET, &format!("/v1/events/{event}/deliveries"), None).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Filters decide which connector streams which audit event: actions against the event's
/// type, tenants against its `tenants`, every filter must pass; `GET /v1/events/{id}/
/// deliveries` then shows each event's deliveries with their status.
async fn audit_filters_and_the_deliveries_of_an_event(app: TestApp) {
    let rx = TestReceiver::start().await;
    let users = connector(
        &app,
        json!({"name": "users only", "baseUrl": rx.url("/users"), "filters": [
            {"key": "actions", "operator": "includes", "values": ["user.created", "user.updated"]},
            {"key": "tenants", "operator": "excludes", "values": ["t-bad"]},
        ]}),
    )
    .await;
    let tenant = connector(
        &app,
        json!({"name": "tenant one", "baseUrl": rx.url("/tenant"), "filters": [
            {"key": "tenants", "operator": "includes", "values": ["t-1"]},
        ]}),
    )
    .await;
    let ev = |id: &str, kind: &str, tenants: Value| {
        let mut e =
            json!({"id": id, "type": kind, "occurredAt": "2026-12-02T10:00:00Z", "source": "audit", "data": {}});
        if !tenants.is_null() {
            e["tenants"] = tenants;
        }
        e
    };
    let events = vec![
        ev("e1", "user.created", json!(["t-1"])),
        ev("e2", "user.deleted", json!(["t-1", "t-2"])),
        ev("e3", "user.created", json!(["t-bad"])),
        ev("e4", "user.updated", Value::Null),
    ];
    let (status, body) = app.call(Method::POST, "/local/events", Some(json!({"events": events}))).await;
    assert_eq!(status, 202, "{body}");
    let expected = [
        ("e1", vec!["users only", "tenant one"]),
        ("e2", vec!["tenant one"]),
        ("e3", vec![]),
        ("e4", vec!["users only"]),
    ];
    for (event, names) in expected {
        let got = eventually(|| async {
            let d = event_deliveries(&app, event).await;
            (d.len() == names.len() && d.iter().all(|d| d["status"] == "SUCCEEDED")).then_some(d)
        })
        .await;
        let mut got: Vec<&str> = got.iter().map(|d| d["connectorName"].as_str().unwrap()).collect();
        got.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(got, want, "{event}");
    }
    let shown = event_deliveries(&app, "e1").await;
    assert_eq!(shown[0]["attempts"], 1);
    assert_eq!(shown[0]["lastAttempt"]["status"], 200);
    // The receiver got exactly those four requests.
    let mut paths = Vec::new();
    for _ in 0..4 {
        paths.push(rx.next().await.path);
    }
    paths.sort();
    assert_eq!(paths, ["/tenant", "/tenant", "/users", "/users"]);
    assert!(rx.quiet_for(300).await);
    // The filters are on the connector as written, and checked.
    let (_, c) = app.call(Method::GET, &format!("/v1/connectors/{}", users["id"].as_str().unwrap()), None).await;
    assert_eq!(c["filters"][1]["operator"], "excludes");
    let bad = json!({"filters": [{"key": "actions", "operator": "includes", "values": []}]});
    let (status, e) =
        app.call(Method::PATCH, &format!("/v1/connectors/{}", tenant["id"].as_str().unwrap()), Some(bad)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("filters[0].values")), "{e}");
    let (status, _) = app.call(Method::GET, &format!("/v1/events/{}/deliveries", "x".repeat(257)), None).await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// A flow step's call: its method, path, headers and body go to the connector's base URL
/// exactly as given, with the connector's auth, headers and signature; the answer comes
/// back parsed, and the call is in the delivery log.
async fn a_flow_step_calls_through_a_connector(app: TestApp) {
    let rx = TestReceiver::start().await;
    rx.reply_with("application/json", r#"{"ok":true,"user":{"id":"u1"}}"#);
    let c = connector(
        &app,
        json!({"name": "crm", "baseUrl": rx.url("/api"), "path": "/not-for-calls",
        "auth": {"type": "BEARER", "token": "tok-9"}, "headers": {"X-Tenant": "acme"},
        "signing": {"scheme": "HUB_SIGNATURE_256", "secret": "sign-me"}}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    // Sent as text: the body's key order and spacing are the flow's own.
    let call =
        r#"{"method": "PUT", "path": "/users/1", "headers": {"X-Trace": "t-1"}, "body": {"name": "Ada", "n": [1,2]}}"#;
    let r = app
        .admin(Method::POST, &format!("/v1/connectors/{id}/invoke"))
        .header("content-type", "application/json")
        .body(call)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"], json!({"ok": true, "user": {"id": "u1"}}), "parsed, not text");
    let got = rx.next().await;
    assert_eq!(got.path, "/api/users/1");
    assert_eq!(&got.body[..], br#"{"name": "Ada", "n": [1,2]}"#, "the body exactly, no wrapper");
    assert_eq!(got.headers["authorization"], "Bearer tok-9");
    assert_eq!(
        (&got.headers["x-trace"], &got.headers["x-tenant"]),
        (&"t-1".parse().unwrap(), &"acme".parse().unwrap())
    );
    let mut m = Hmac::<Sha256>::new_from_slice(b"sign-me").unwrap();
    m.update(&got.body);
    assert_eq!(got.headers["x-hub-signature-256"], format!("sha256={}", hex::encode(m.finalize().into_bytes())));
    let (_, logged) =
        app.call(Method::GET, &format!("/v1/deliveries/{}", answer["deliveryId"].as_str().unwrap()), None).await;
    assert_eq!(logged["status"], "SUCCEEDED");
    assert_eq!(logged["event"]["type"], "flow.call");
    // A text answer comes back as text; a failing one with its status.
    rx.reply_with("text/plain", "nope");
    rx.answer(&[422], 200);
    let call = json!({"path": "users", "body": "plain"});
    let (_, answer) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(call)).await;
    assert_eq!((answer["status"].as_u64(), answer["body"].as_str()), (Some(422), Some("nope")));
    assert_eq!(rx.next().await.method_path(), ("POST".to_owned(), "/api/users".to_owned()));
    // An event is still delivered as an event.
    let event = json!({"id": "ev-1", "type": "step.completed", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (status, answer) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(event)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(rx.next().await.path, "/api/not-for-calls");
    let (status, e) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(json!({"path": "x"}))).await;
    assert_eq!(status, 400, "{e}");
    app.stop().await;
}

hookbridge_tests::on_both_backends!(
    audit_filters_and_the_deliveries_of_an_event,
    a_flow_step_calls_through_a_connector
);
