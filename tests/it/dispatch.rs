//! Outbound dispatch over real sockets: the local runner delivers to an in-process
//! receiver whose answers change mid-test.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use hookbridge_tests::{TestApp, TestReceiver, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

fn fast_retries(c: &mut hookbridge_local::LocalConfig) {
    c.settings.retry_schedule = Some(vec![Duration::from_millis(10), Duration::from_millis(10)]);
}

fn no_retries(c: &mut hookbridge_local::LocalConfig) {
    c.settings.retry_schedule = Some(vec![]);
}

fn no_allowed_targets(c: &mut hookbridge_local::LocalConfig) {
    c.settings.allow_targets = hookbridge::dispatch::AllowList::default();
}

async fn connector(app: &TestApp, body: Value) -> Value {
    let (status, c) = app.call(Method::POST, "/v1/connectors", Some(body)).await;
    assert_eq!(status, 201, "{c}");
    c
}

fn event(id: &str, kind: &str) -> Value {
    json!({"id": id, "type": kind, "occurredAt": "2026-11-23T10:00:00Z", "source": "audit", "data": {"user": "u1", "n": 1}})
}

async fn send_events(app: &TestApp, events: Vec<Value>) -> Vec<String> {
    let (status, body) = app.call(Method::POST, "/local/events", Some(json!({"events": events}))).await;
    assert_eq!(status, 202, "{body}");
    body["deliveries"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

async fn delivery_when_done(app: &TestApp, id: &str) -> Value {
    eventually(|| async {
        let (_, d) = app.call(Method::GET, &format!("/v1/deliveries/{id}"), None).await;
        (d["status"] != "PENDING").then_some(d)
    })
    .await
}

async fn every_auth_type_and_signing_scheme_arrives_as_configured(app: TestApp) {
    let rx = TestReceiver::start().await;
    let base = rx.url("");
    let specs = [
        ("bearer", json!({"type": "BEARER", "token": "tok-123"}), json!(null)),
        ("apikey-header", json!({"type": "API_KEY", "key": "X-Api-Key", "value": "k-1", "in": "HEADER"}), json!(null)),
        ("apikey-query", json!({"type": "API_KEY", "key": "key", "value": "k 2", "in": "QUERY"}), json!(null)),
        ("basic", json!({"type": "BASIC", "username": "user", "password": "p@ss"}), json!(null)),
        ("client-secret", json!({"type": "CLIENT_SECRET", "secret": "cs-9"}), json!(null)),
        ("std-webhooks", json!({"type": "NONE"}), json!({"scheme": "STANDARD_WEBHOOKS"})),
        ("descope", json!({"type": "NONE"}), json!({"scheme": "DESCOPE", "secret": "descope-secret"})),
        ("hub", json!({"type": "NONE"}), json!({"scheme": "HUB_SIGNATURE_256"})),
    ];
    let mut ids = std::collections::HashMap::new();
    for (name, auth, signing) in &specs {
        let mut body = json!({"name": format!("sink {name}"), "baseUrl": base, "path": format!("/c/{name}"),
            "auth": auth, "headers": {"X-Tenant": "acme"}, "eventTypes": ["audit.*"]});
        if !signing.is_null() {
            body["signing"] = signing.clone();
        }
        let c = connector(&app, body).await;
        let text = c.to_string();
        for secret in ["tok-123", "k-1", "k 2", "p@ss", "cs-9", "descope-secret"] {
            assert!(!text.contains(secret), "a credential leaked in {text}");
        }
        ids.insert(name.to_string(), c["id"].as_str().unwrap().to_owned());
    }
    // A connector for other event types receives nothing.
    connector(&app, json!({"name": "steps only", "baseUrl": base, "path": "/c/steps", "eventTypes": ["step.*"]})).await;

    let deliveries = send_events(&app, vec![event("evt-1", "audit.user.created")]).await;
    assert_eq!(deliveries.len(), specs.len());
    let mut got = std::collections::HashMap::new();
    for _ in 0..specs.len() {
        let r = rx.next().await;
        got.insert(r.path.trim_start_matches("/c/").to_owned(), r);
    }
    assert!(rx.quiet_for(300).await, "the step-only connector got nothing");

    for r in got.values() {
        assert_eq!(r.headers["x-tenant"], "acme");
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.headers["webhook-id"].to_str().unwrap().len(), 36);
    }
    let h = |name: &str, header: &str| got[name].headers.get(header).map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(h("bearer", "authorization").unwrap(), "Bearer tok-123");
    assert_eq!(h("apikey-header", "x-api-key").unwrap(), "k-1");
    assert_eq!(got["apikey-query"].query.as_deref(), Some("key=k+2"));
    assert_eq!(h("basic", "authorization").unwrap(), format!("Basic {}", STANDARD.encode("user:p@ss")));
    let cs: Value = serde_json::from_slice(&got["client-secret"].body).unwrap();
    assert_eq!(cs["clientSecret"], "cs-9");
    assert_eq!(cs["id"], "evt-1");
    let plain: Value = serde_json::from_slice(&got["bearer"].body).unwrap();
    assert_eq!(plain, event("evt-1", "audit.user.created"));

    // Standard Webhooks: recompute over id.timestamp.body with the shown secret.
    let (_, secret) =
        app.call(Method::GET, &format!("/v1/connectors/{}/signing-secret", ids["std-webhooks"]), None).await;
    let secret = secret["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    let key = STANDARD.decode(&secret[6..]).unwrap();
    let r = &got["std-webhooks"];
    let (id, ts) = (h("std-webhooks", "webhook-id").unwrap(), h("std-webhooks", "webhook-timestamp").unwrap());
    let signed = [id.as_bytes(), b".", ts.as_bytes(), b".", &r.body].concat();
    assert_eq!(h("std-webhooks", "webhook-signature").unwrap(), format!("v1,{}", STANDARD.encode(hmac(&key, &signed))));
    assert!((chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap()).abs() < 60);
    // Descope: base64 HMAC of the body with the given secret.
    assert_eq!(
        h("descope", "x-descope-webhook-s256").unwrap(),
        STANDARD.encode(hmac(b"descope-secret", &got["descope"].body))
    );
    // X-Hub-Signature-256 with the generated secret.
    let (_, secret) = app.call(Method::GET, &format!("/v1/connectors/{}/signing-secret", ids["hub"]), None).await;
    let expected =
        format!("sha256={}", hex::encode(hmac(secret["secret"].as_str().unwrap().as_bytes(), &got["hub"].body)));
    assert_eq!(h("hub", "x-hub-signature-256").unwrap(), expected);
    // No signing: no signing secret to show.
    let (status, body) = app.call(Method::GET, &format!("/v1/connectors/{}/signing-secret", ids["bearer"]), None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("SIGNING_NOT_CONFIGURED")));

    for id in &deliveries {
        assert_eq!(delivery_when_done(&app, id).await["status"], "SUCCEEDED");
    }
    app.stop().await;
}

async fn a_receiver_that_fails_twice_gets_the_event_once_more_with_every_attempt_logged(app: TestApp) {
    let rx = TestReceiver::start().await;
    rx.answer(&[500, 503], 200);
    let c = connector(&app, json!({"name": "flaky sink", "baseUrl": rx.url("/hook")})).await;
    let ids = send_events(&app, vec![event("evt-retry", "audit.login")]).await;
    let first = rx.next().await;
    let second = rx.next().await;
    let third = rx.next().await;
    assert!(rx.quiet_for(300).await, "delivered exactly once after recovering");
    let id = first.headers["webhook-id"].clone();
    assert_eq!(second.headers["webhook-id"], id);
    assert_eq!(third.headers["webhook-id"], id);
    assert_eq!(first.body, third.body);

    let d = delivery_when_done(&app, &ids[0]).await;
    assert_eq!(d["status"], "SUCCEEDED");
    let statuses: Vec<u64> = d["attempts"].as_array().unwrap().iter().map(|a| a["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![500, 503, 200]);
    assert_eq!(d["attempts"][0]["response"], "answered 500");

    let (_, list) = app
        .call(Method::GET, &format!("/v1/deliveries?connectorId={}&status=SUCCEEDED", c["id"].as_str().unwrap()), None)
        .await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    // Redeliver sends it again under the same id.
    let (status, _) = app.call(Method::POST, &format!("/v1/deliveries/{}/redeliver", ids[0]), None).await;
    assert_eq!(status, 202);
    assert_eq!(rx.next().await.headers["webhook-id"], id);
    // The same event taken in again is not a new delivery.
    let again = send_events(&app, vec![event("evt-retry", "audit.login")]).await;
    assert!(again.is_empty() || again == ids);
    app.stop().await;
}

async fn exhausted_deliveries_fail_to_the_dead_letter_queue_and_410_disables(app: TestApp) {
    let rx = TestReceiver::start().await;
    rx.answer(&[], 500);
    connector(&app, json!({"name": "down sink", "baseUrl": rx.url("/down"), "eventTypes": ["down.*"]})).await;
    let gone =
        connector(&app, json!({"name": "gone sink", "baseUrl": rx.url("/gone"), "eventTypes": ["gone.*"]})).await;
    let ids = send_events(&app, vec![event("evt-x", "down.x")]).await;
    for _ in 0..3 {
        assert_eq!(rx.next().await.path, "/down");
    }
    let d = delivery_when_done(&app, &ids[0]).await;
    assert_eq!(d["status"], "FAILED");
    assert_eq!(d["attempts"].as_array().unwrap().len(), 3, "one attempt and two retries");
    let dead = app.receive_n("hookbridge-dispatch-dlq", 1).await;
    assert_eq!(dead[0]["body"]["deliveryId"], ids[0].as_str());

    rx.answer(&[410], 200);
    let ids = send_events(&app, vec![event("evt-g", "gone.y")]).await;
    assert_eq!(rx.next().await.path, "/gone");
    assert_eq!(delivery_when_done(&app, &ids[0]).await["status"], "FAILED");
    let c = eventually(|| async {
        let (_, c) = app.call(Method::GET, &format!("/v1/connectors/{}", gone["id"].as_str().unwrap()), None).await;
        (c["enabled"] == false).then_some(c)
    })
    .await;
    assert!(c["disabledReason"].as_str().unwrap().contains("410"));
    // A disabled connector receives nothing more.
    assert!(send_events(&app, vec![event("evt-g2", "gone.y")]).await.is_empty());
    app.stop().await;
}

async fn blocked_targets_are_never_reached(app: TestApp) {
    let rx = TestReceiver::start().await;
    let port = rx.addr.port();
    for (name, url) in [
        ("literal v4", format!("http://127.0.0.1:{port}/x")),
        ("by name", format!("http://localhost:{port}/x")),
        ("literal v6", format!("http://[::1]:{port}/x")),
        ("metadata", "http://169.254.169.254/latest/meta-data/".to_owned()),
    ] {
        let c = connector(&app, json!({"name": format!("blocked {name}"), "baseUrl": url, "timeoutMs": 2000})).await;
        let (status, r) = app
            .call(
                Method::POST,
                &format!("/v1/connectors/{}/invoke", c["id"].as_str().unwrap()),
                Some(event("evt-b", "audit.b")),
            )
            .await;
        assert_eq!(status, 200, "{r}");
        assert!(r["status"].is_null(), "{name}: {r}");
        assert!(r["error"].as_str().unwrap().contains("not allowed"), "{name}: {r}");
    }
    assert!(rx.quiet_for(300).await, "nothing reached the loopback receiver");
    app.stop().await;
}

async fn immediate_calls_return_the_answer_and_redirects_are_not_followed(app: TestApp) {
    let rx = TestReceiver::start().await;
    let c = connector(
        &app,
        json!({"name": "step sink", "baseUrl": rx.url("/step"), "method": "PUT",
        "auth": {"type": "BEARER", "token": "t"}}),
    )
    .await;
    let path = format!("/v1/connectors/{}/invoke", c["id"].as_str().unwrap());
    rx.answer(&[201], 200);
    let (status, r) = app.call(Method::POST, &path, Some(event("evt-i", "step.completed"))).await;
    assert_eq!(status, 200);
    assert_eq!(r["status"], 201);
    assert_eq!(r["body"], "answered 201");
    assert_eq!(rx.next().await.headers["authorization"], "Bearer t");

    rx.answer(&[302], 200);
    let (_, r) = app.call(Method::POST, &path, Some(event("evt-r", "step.completed"))).await;
    assert_eq!(r["status"], 302);
    assert_eq!(rx.next().await.path, "/step");
    assert!(rx.quiet_for(300).await, "the redirect was not followed");

    let (status, r) =
        app.call(Method::POST, &path, Some(json!({"id": "", "type": "x", "occurredAt": "2026-01-01T00:00:00Z"}))).await;
    assert_eq!((status, r["code"].as_str()), (400, Some("INVALID_EVENT")));
    app.stop().await;
}

async fn connector_management_validation_and_updates(app: TestApp) {
    let bad = [
        json!({"name": "x1", "baseUrl": "https://example.com"}),
        json!({"name": "bad url", "baseUrl": "ftp://example.com"}),
        json!({"name": "bad basic", "baseUrl": "https://example.com", "auth": {"type": "BASIC", "username": "u", "password": "p".repeat(101)}}),
        json!({"name": "bad secret", "baseUrl": "https://example.com", "auth": {"type": "CLIENT_SECRET", "secret": "s".repeat(251)}}),
        json!({"name": "bad timeout", "baseUrl": "https://example.com", "timeoutMs": 5}),
        json!({"name": "unknown", "baseUrl": "https://example.com", "nope": 1}),
    ];
    for body in bad {
        let (status, err) = app.call(Method::POST, "/v1/connectors", Some(body.clone())).await;
        assert_eq!(status, 400, "{body} -> {err}");
    }
    let c =
        connector(&app, json!({"name": "audit sink", "baseUrl": "https://example.com", "trustAnyCertificate": true}))
            .await;
    assert_eq!(c["insecure"], true);
    assert_eq!(c["enabled"], true);
    assert!(c["retry"]["scheduleSecs"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap()).sum::<u64>() >= 86_400);
    let (status, err) = app
        .call(Method::POST, "/v1/connectors", Some(json!({"name": "audit sink", "baseUrl": "https://example.org"})))
        .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("NAME_TAKEN")));
    let id = c["id"].as_str().unwrap();
    let (status, u) = app
        .call(
            Method::PATCH,
            &format!("/v1/connectors/{id}"),
            Some(json!({"enabled": false, "signing": {"scheme": "DESCOPE"}})),
        )
        .await;
    assert_eq!(status, 200, "{u}");
    assert_eq!((u["enabled"].clone(), u["signing"]["scheme"].clone()), (json!(false), json!("DESCOPE")));
    let (status, s) = app.call(Method::GET, &format!("/v1/connectors/{id}/signing-secret"), None).await;
    assert_eq!(status, 200);
    assert_eq!(STANDARD.decode(s["secret"].as_str().unwrap()).unwrap().len(), 32);
    // The list pages with a cursor and never shows a secret.
    connector(&app, json!({"name": "second sink", "baseUrl": "https://example.org/2"})).await;
    let (status, first) = app.call(Method::GET, "/v1/connectors?limit=1", None).await;
    assert_eq!(status, 200);
    assert_eq!(first["items"].as_array().unwrap().len(), 1);
    let cursor = first["nextCursor"].as_str().expect("a second page");
    let (_, second) = app.call(Method::GET, &format!("/v1/connectors?limit=1&cursor={cursor}"), None).await;
    let mut names: Vec<&str> = [&first, &second].iter().map(|p| p["items"][0]["name"].as_str().unwrap()).collect();
    names.sort();
    assert_eq!(names, ["audit sink", "second sink"]);
    assert!(!first.to_string().contains(s["secret"].as_str().unwrap()));
    let (status, _) = app.call(Method::DELETE, &format!("/v1/connectors/{id}"), None).await;
    assert_eq!(status, 204);
    let (status, e) = app.call(Method::GET, &format!("/v1/connectors/{id}"), None).await;
    assert_eq!((status, e["code"].as_str()), (404, Some("CONNECTOR_NOT_FOUND")));
    app.stop().await;
}

async fn templates_rotation_recovery_and_disabling_after_a_failing_period(app: TestApp) {
    let rx = TestReceiver::start().await;

    // A body template shapes the request from the event.
    connector(
        &app,
        json!({"name": "templated", "baseUrl": rx.url("/t"), "eventTypes": ["tpl.*"],
        "bodyTemplate": {"text": "user ${data.user} did ${type}", "n": "${data.n}", "id": "${id}"}}),
    )
    .await;
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/connectors",
            Some(json!({"name": "bad template", "baseUrl": rx.url("/x"), "bodyTemplate": {"a": "${data.[1]}"}})),
        )
        .await;
    assert_eq!(status, 400);
    assert!(err["message"].as_str().unwrap().contains("position"), "{err}");
    send_events(
        &app,
        vec![
            json!({"id": "t-1", "type": "tpl.x", "occurredAt": "2026-11-23T10:00:00Z", "data": {"user": "u1", "n": 5}}),
        ],
    )
    .await;
    let r = rx.next().await;
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap(),
        json!({"text": "user u1 did tpl.x", "n": 5, "id": "t-1"})
    );

    // Rotation: during the overlap both signatures travel; each verifies with its secret.
    let c = connector(
        &app,
        json!({"name": "rotating", "baseUrl": rx.url("/r"), "eventTypes": ["rot.*"],
        "signing": {"scheme": "STANDARD_WEBHOOKS"}}),
    )
    .await;
    let cid = c["id"].as_str().unwrap();
    let (_, old) = app.call(Method::GET, &format!("/v1/connectors/{cid}/signing-secret"), None).await;
    let (status, rotated) = app
        .call(
            Method::POST,
            &format!("/v1/connectors/{cid}/signing-secret/rotate"),
            Some(json!({"overlapSeconds": 3600})),
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    assert!(rotated["previousValidUntil"].is_string());
    send_events(&app, vec![json!({"id": "r-1", "type": "rot.x", "occurredAt": "2026-11-23T10:00:00Z"})]).await;
    let r = rx.next().await;
    let sig = r.headers["webhook-signature"].to_str().unwrap().to_owned();
    let parts: Vec<&str> = sig.split(' ').collect();
    assert_eq!(parts.len(), 2, "{sig}");
    let signed =
        [r.headers["webhook-id"].as_bytes(), b".", r.headers["webhook-timestamp"].as_bytes(), b".", &r.body].concat();
    for (part, secret) in parts.iter().zip([rotated["secret"].as_str().unwrap(), old["secret"].as_str().unwrap()]) {
        let key = STANDARD.decode(&secret[6..]).unwrap();
        assert_eq!(*part, format!("v1,{}", STANDARD.encode(hmac(&key, &signed))));
    }
    let (_, shown) = app.call(Method::GET, &format!("/v1/connectors/{cid}/signing-secret"), None).await;
    assert_eq!(shown["secret"], rotated["secret"]);
    // Without an overlap the old secret stops at once.
    app.call(Method::POST, &format!("/v1/connectors/{cid}/signing-secret/rotate"), Some(json!({"overlapSeconds": 0})))
        .await;
    send_events(&app, vec![json!({"id": "r-2", "type": "rot.x", "occurredAt": "2026-11-23T10:00:00Z"})]).await;
    assert_eq!(rx.next().await.headers["webhook-signature"].to_str().unwrap().split(' ').count(), 1);

    // Recovery: failed deliveries since a time go again.
    rx.answer(&[400, 400], 200);
    let c = connector(&app, json!({"name": "recovering", "baseUrl": rx.url("/rec"), "eventTypes": ["rec.*"]})).await;
    let cid = c["id"].as_str().unwrap();
    let ids = send_events(
        &app,
        vec![
            json!({"id": "rec-1", "type": "rec.x", "occurredAt": "2026-11-23T10:00:00Z"}),
            json!({"id": "rec-2", "type": "rec.x", "occurredAt": "2026-11-23T10:00:00Z"}),
        ],
    )
    .await;
    rx.next().await;
    rx.next().await;
    for id in &ids {
        assert_eq!(delivery_when_done(&app, id).await["status"], "FAILED");
    }
    let (status, r) =
        app.call(Method::POST, &format!("/v1/connectors/{cid}/recover?since=2020-01-01T00:00:00Z"), None).await;
    assert_eq!((status, r["redelivered"].as_u64()), (202, Some(2)));
    let mut got = vec![rx.next().await.path, rx.next().await.path];
    got.sort();
    assert_eq!(got, vec!["/rec", "/rec"]);
    for id in &ids {
        assert_eq!(delivery_when_done(&app, id).await["status"], "SUCCEEDED");
    }
    app.stop().await;

    // Failing without a success for the configured period disables the connector.
    let dir = tempfile::tempdir().unwrap();
    let app = TestApp::spawn_in(dir, |c| {
        c.settings.retry_schedule = Some(vec![]);
        c.settings.disable_after = Duration::ZERO;
    })
    .await;
    rx.answer(&[], 503);
    let c = connector(&app, json!({"name": "always failing", "baseUrl": rx.url("/f")})).await;
    send_events(&app, vec![event("f-1", "audit.x")]).await;
    rx.next().await;
    let c = eventually(|| async {
        let (_, c) = app.call(Method::GET, &format!("/v1/connectors/{}", c["id"].as_str().unwrap()), None).await;
        (c["enabled"] == false).then_some(c)
    })
    .await;
    assert!(c["disabledReason"].as_str().unwrap().contains("without a success"), "{c}");
    app.stop().await;
}

/// A receiver over TLS with a self-signed certificate: refused unless the connector trusts
/// any certificate (and then flagged insecure).
async fn self_signed_receivers_need_trust_any_certificate(app: TestApp) {
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let config = axum_server::tls_rustls::RustlsConfig::from_pem(
        cert.cert.pem().into_bytes(),
        cert.signing_key.serialize_pem().into_bytes(),
    )
    .await
    .unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    let receiver = axum::Router::new().fallback(move |body: String| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(body);
            "secure ok"
        }
    });
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = axum_server::from_tcp_rustls(listener, config).unwrap();
    tokio::spawn(async move { server.serve(receiver.into_make_service()).await.unwrap() });

    let strict =
        connector(&app, json!({"name": "tls strict", "baseUrl": format!("https://localhost:{}", addr.port())})).await;
    assert_eq!(strict["insecure"], false);
    let (_, r) = app
        .call(
            Method::POST,
            &format!("/v1/connectors/{}/invoke", strict["id"].as_str().unwrap()),
            Some(event("tls-1", "audit.t")),
        )
        .await;
    assert!(r["status"].is_null(), "an unverifiable certificate is refused: {r}");
    assert!(r["error"].as_str().unwrap().contains("error"), "{r}");

    let lax = connector(&app, json!({"name": "tls lax", "baseUrl": format!("https://localhost:{}", addr.port()), "trustAnyCertificate": true})).await;
    assert_eq!(lax["insecure"], true);
    let (_, r) = app
        .call(
            Method::POST,
            &format!("/v1/connectors/{}/invoke", lax["id"].as_str().unwrap()),
            Some(event("tls-2", "audit.t")),
        )
        .await;
    assert_eq!(r["status"], 200, "{r}");
    assert_eq!(r["body"], "secure ok");
    let got: Value = serde_json::from_str(&rx.recv().await.unwrap()).unwrap();
    assert_eq!(got["id"], "tls-2");
    app.stop().await;
}

async fn audit_batches_reach_batch_connectors_in_one_post(app: TestApp) {
    let rx = TestReceiver::start().await;
    connector(
        &app,
        json!({"name": "batched sink", "baseUrl": rx.url("/batch"), "batch": {"maxEvents": 3},
        "auth": {"type": "CLIENT_SECRET", "secret": "cs"}, "signing": {"scheme": "HUB_SIGNATURE_256", "secret": "k"}}),
    )
    .await;
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/connectors",
            Some(json!({"name": "bad batch", "baseUrl": rx.url("/x"), "batch": {"maxEvents": 0}})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));
    let events: Vec<Value> = (0..5).map(|i| event(&format!("b-{i}"), "audit.bulk")).collect();
    let ids = send_events(&app, events.clone()).await;
    assert_eq!(ids.len(), 2, "5 events in batches of at most 3");
    let mut bodies = [rx.next().await, rx.next().await];
    assert!(rx.quiet_for(300).await);
    bodies.sort_by_key(|r| r.body.len());
    let small: Value = serde_json::from_slice(&bodies[0].body).unwrap();
    let large: Value = serde_json::from_slice(&bodies[1].body).unwrap();
    assert_eq!(large["events"].as_array().unwrap().len(), 3);
    assert_eq!(small["events"].as_array().unwrap().len(), 2);
    let mut all: Vec<Value> =
        large["events"].as_array().unwrap().iter().chain(small["events"].as_array().unwrap()).cloned().collect();
    all.sort_by_key(|e| e["id"].as_str().unwrap().to_owned());
    assert_eq!(all, events);
    assert_eq!(large["clientSecret"], "cs");
    let sig = format!("sha256={}", hex::encode(hmac(b"k", &bodies[1].body)));
    assert_eq!(bodies[1].headers["x-hub-signature-256"].to_str().unwrap(), sig);
    for id in &ids {
        assert_eq!(delivery_when_done(&app, id).await["status"], "SUCCEEDED");
    }
    app.stop().await;
}

mod plain {
    use super::*;
    hookbridge_tests::on_both_backends!(
        self_signed_receivers_need_trust_any_certificate,
        every_auth_type_and_signing_scheme_arrives_as_configured,
        immediate_calls_return_the_answer_and_redirects_are_not_followed,
        connector_management_validation_and_updates,
        audit_batches_reach_batch_connectors_in_one_post,
    );
}

mod with_fast_retries {
    use super::*;
    hookbridge_tests::on_both_backends!(with super::fast_retries; a_receiver_that_fails_twice_gets_the_event_once_more_with_every_attempt_logged,
    exhausted_deliveries_fail_to_the_dead_letter_queue_and_410_disables,
    );
}

mod with_no_allowed_targets {
    use super::*;
    hookbridge_tests::on_both_backends!(with super::no_allowed_targets; blocked_targets_are_never_reached,
    );
}

mod with_no_retries {
    use super::*;
    hookbridge_tests::on_both_backends!(with super::no_retries; templates_rotation_recovery_and_disabling_after_a_failing_period,
    );
}
