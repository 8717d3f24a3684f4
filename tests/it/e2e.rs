//! The README walk-through over real sockets against the local runner, and every status of
//! the ingress contract for GENERIC.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

fn strip_key(url: &str) -> &str {
    url.split("?apiKey=").next().unwrap()
}

async fn walkthrough_create_bind_activate_post_receive(app: TestApp) {
    // No admin token, or a wrong one: 401 with the error shape.
    let resp = app.http.get(format!("{}/v1/webhooks", app.base)).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(resp.json::<Value>().await.unwrap()["code"], "UNAUTHORIZED");
    let resp = app.http.get(format!("{}/v1/webhooks", app.base)).bearer_auth("nope").send().await.unwrap();
    assert_eq!(resp.status(), 401);

    let (status, created) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"name": "orders", "description": "Shop orders", "provider": "GENERIC",
                "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["state"], "INACTIVE");
    assert_eq!(created["provider"], "GENERIC");
    assert_eq!(created["description"], "Shop orders");
    assert_eq!(created["location"], json!({"orgId": "acme", "workspaceId": "main", "appId": "shop"}));
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));
    let keys: Vec<&String> = created.as_object().unwrap().keys().collect();
    assert!(!keys.iter().any(|k| k.to_lowercase().contains("key")), "no key in {created}");
    let id = created["id"].as_str().unwrap().to_owned();

    let (status, body) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("NO_BINDINGS")));

    let (status, binding) = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/bindings"),
            Some(json!({"type": "START_PROCESS", "processDefinitionId": "order-flow", "queue": "order-starts"})),
        )
        .await;
    assert_eq!(status, 201, "{binding}");
    let binding_id = binding["id"].as_str().unwrap().to_owned();

    let (status, active) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!((status, active["state"].as_str()), (200, Some("ACTIVE")));
    let (status, got) = app.call(Method::GET, &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!((status, got["state"].as_str()), (200, Some("ACTIVE")));
    let (status, list) = app.call(Method::GET, "/v1/webhooks?orgId=acme&workspaceId=main&appId=shop", None).await;
    assert_eq!(status, 200);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);

    let url = app.url_of(&id).await;
    assert_eq!(strip_key(&url), format!("{}/webhooks/generic/acme/main/shop/{id}", app.base));
    let key = url.split("?apiKey=").nth(1).unwrap();
    assert_eq!(key.len(), 43);
    for (_, v) in [&created, &active, &got, &list, &binding].iter().map(|v| ((), v.to_string())) {
        assert!(!v.contains(key), "the key appears only in the URL endpoints");
    }

    // The event: JSON body, a repeated header, a custom one.
    let raw = "{\"order\": {\"id\": 42, \"items\": [\"a\", \"b\"]},\n \"note\": \"exact bytes\"}";
    let resp = app
        .http
        .post(&url)
        .header("content-type", "application/json")
        .header("x-multi", "one")
        .header("x-multi", "two")
        .header("x-custom", "c")
        .body(raw)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let accepted: Value = resp.json().await.unwrap();
    let event_id = accepted["eventId"].as_str().unwrap().to_owned();

    let msgs = app.receive_n("order-starts", 1).await;
    let m = &msgs[0]["body"];
    assert_eq!(m["type"], "START_PROCESS");
    assert_eq!(m["eventId"], event_id.as_str());
    assert_eq!(m["webhookId"], id.as_str());
    assert_eq!(m["bindingId"], binding_id.as_str());
    assert_eq!(m["processDefinitionId"], "order-flow");
    assert_eq!(m["deliveryId"].as_str().unwrap().len(), 36);
    let wm = &m["webhookMessage"];
    assert_eq!(wm["payload"], serde_json::from_str::<Value>(raw).unwrap());
    assert_eq!(wm["headers"]["x-multi"], json!(["one", "two"]));
    assert_eq!(wm["headers"]["x-custom"], json!(["c"]));
    assert_eq!(wm["headers"]["content-type"], json!(["application/json"]));
    assert_eq!(wm["headers"]["x-forwarded-for"], json!(["127.0.0.1"]));
    assert_eq!(wm["headers"]["x-request-id"], json!([event_id]));
    let when = chrono::DateTime::parse_from_rfc3339(wm["dateTime"].as_str().unwrap()).unwrap();
    assert!((chrono::Utc::now() - when.to_utc()).num_seconds().abs() < 60);
    assert_eq!(STANDARD.decode(m["rawBody"].as_str().unwrap()).unwrap(), raw.as_bytes());

    app.stop().await;
}

async fn ingress_statuses_for_generic(app: TestApp) {
    let id = app.create_webhook("statuses").await;
    let url = app.bind_and_activate(&id, "p", "status-starts").await;
    let post = |u: String, ct: &'static str, body: Vec<u8>| {
        let http = app.http.clone();
        async move {
            let r = http.post(u).header("content-type", ct).body(body).send().await.unwrap();
            let status = r.status().as_u16();
            (status, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };

    // 400: declared JSON, not JSON.
    let (s, b) = post(url.clone(), "application/json", b"{\"a\":".to_vec()).await;
    assert_eq!((s, b["code"].as_str()), (400, Some("INVALID_JSON")));
    // 401: no key, wrong key, truncated key.
    let (s, b) = post(strip_key(&url).to_owned(), "text/plain", b"x".to_vec()).await;
    assert_eq!((s, b["code"].as_str()), (401, Some("API_KEY_INVALID")));
    let (s, _) = post(format!("{}?apiKey=wrong", strip_key(&url)), "text/plain", b"x".to_vec()).await;
    assert_eq!(s, 401);
    let (s, _) = post(url[..url.len() - 1].to_owned(), "text/plain", b"x".to_vec()).await;
    assert_eq!(s, 401);
    // 404: unknown id, malformed id, wrong location, unknown provider segment.
    let other = url.replace(&id, &uuid::Uuid::now_v7().to_string());
    assert_eq!(post(other, "text/plain", b"x".to_vec()).await.0, 404);
    assert_eq!(post(url.replace(&id, "nope"), "text/plain", b"x".to_vec()).await.0, 404);
    assert_eq!(post(url.replace("/acme/", "/other/"), "text/plain", b"x".to_vec()).await.0, 404);
    let (s, b) = post(url.replace("/generic/", "/nosuch/"), "text/plain", b"x".to_vec()).await;
    assert_eq!((s, b["code"].as_str()), (404, Some("WEBHOOK_NOT_FOUND")));

    // 413 at 1 MiB + 1 (declared length, and chunked with no length); exactly 1 MiB passes
    // and travels by claim check (it is larger than a queue message).
    let (s, b) = post(url.clone(), "text/plain", vec![b'a'; 1024 * 1024 + 1]).await;
    assert_eq!((s, b["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")));
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> = (0..17).map(|_| Ok(vec![b'b'; 64 * 1024])).collect();
    let r = app.http.post(&url).body(reqwest::Body::wrap_stream(futures::stream::iter(chunks))).send().await.unwrap();
    assert_eq!(r.status(), 413);
    let exact: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let (s, b) = post(url.clone(), "text/plain", exact.clone()).await;
    assert_eq!(s, 200, "{b}");
    let msgs = app.receive_n("status-starts", 1).await;
    // On SQS the process message itself is too large: it comes by claim check.
    let m = &match msgs[0]["body"]["payloadRef"].as_str() {
        Some(uri) => {
            assert!(app.is_aws(), "only SQS has a message size limit");
            let key = uri.splitn(4, '/').nth(3).expect("s3://bucket/key");
            let blob = app.backend().blobs.get_blob(key).await.unwrap().expect("the claim-checked message");
            serde_json::from_slice::<Value>(&blob).unwrap()
        }
        None => msgs[0]["body"].clone(),
    };
    assert_eq!(m["eventId"], b["eventId"]);
    assert_eq!(STANDARD.decode(m["rawBody"].as_str().unwrap()).unwrap(), exact);
    assert_eq!(m["webhookMessage"]["payload"].as_str().unwrap().as_bytes(), &exact[..]);

    // Other methods and unknown paths answer JSON too.
    let r = app.http.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "METHOD_NOT_ALLOWED");
    let r = app.http.post(format!("{}/nope", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "NOT_FOUND");

    // Rejected requests started nothing.
    assert!(app.receive("status-starts", 10, 0).await.is_empty());
    app.stop().await;
}

async fn reset_key_and_deactivate(app: TestApp) {
    let id = app.create_webhook("lifecycle").await;
    let old = app.bind_and_activate(&id, "p", "life-starts").await;
    assert_eq!(app.http.post(&old).body("1").send().await.unwrap().status(), 200);

    let (status, reset) = app.call(Method::POST, &format!("/v1/webhooks/{id}/api-key"), None).await;
    assert_eq!(status, 200);
    let new = reset["url"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(strip_key(&new), strip_key(&old));
    assert_eq!(app.http.post(&old).body("2").send().await.unwrap().status(), 401);
    assert_eq!(app.http.post(&new).body("3").send().await.unwrap().status(), 200);

    let (status, body) = app.call(Method::POST, &format!("/v1/webhooks/{id}/deactivate"), None).await;
    assert_eq!((status, body["state"].as_str()), (200, Some("INACTIVE")));
    let r = app.http.post(&new).body("4").send().await.unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "WEBHOOK_NOT_FOUND");
    // Deactivation keeps key and URL: reactivation needs nothing else.
    assert_eq!(app.url_of(&id).await, new);
    let (status, _) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!(status, 200);
    assert_eq!(app.http.post(&new).body("5").send().await.unwrap().status(), 200);

    let bodies: Vec<String> = app
        .receive_n("life-starts", 3)
        .await
        .iter()
        .map(|m| m["body"]["webhookMessage"]["payload"].to_string())
        .collect();
    let mut sorted = bodies.clone();
    sorted.sort();
    assert_eq!(sorted, vec!["\"1\"", "\"3\"", "\"5\""]);
    app.stop().await;
}

async fn management_validation_errors(app: TestApp) {
    let cases = [
        (
            json!({"name": "ab", "provider": "GENERIC", "location": {"orgId": "o", "workspaceId": "w", "appId": "a"}}),
            "name",
        ),
        (
            json!({"name": "okay", "provider": "NOPE", "location": {"orgId": "o", "workspaceId": "w", "appId": "a"}}),
            "provider",
        ),
        (
            json!({"name": "okay", "provider": "GENERIC", "location": {"orgId": "o", "workspaceId": "w"}}),
            "location.appId",
        ),
        (
            json!({"name": "okay", "provider": "GENERIC", "location": {"orgId": "o/x", "workspaceId": "w", "appId": "a"}}),
            "location.orgId",
        ),
        (
            json!({"name": "okay", "provider": "GENERIC", "location": {"orgId": "o", "workspaceId": "w", "appId": "a"}, "extra": 1}),
            "extra",
        ),
    ];
    for (body, mentions) in cases {
        let (status, err) = app.call(Method::POST, "/v1/webhooks", Some(body.clone())).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(err["code"], "INVALID_REQUEST_BODY");
        assert_eq!(err["field"], mentions, "{err}");
        assert!(err["message"].as_str().unwrap().starts_with(mentions), "{err} should start with {mentions}");
    }
    let id = app.create_webhook("valid-one").await;
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"name": "valid-one", "provider": "GENERIC",
                "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("NAME_TAKEN")));
    let (status, err) = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/bindings"),
            Some(json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "bad queue"})),
        )
        .await;
    assert_eq!(
        (status, err["code"].as_str(), err["field"].as_str()),
        (400, Some("INVALID_REQUEST_BODY"), Some("queue"))
    );
    let (status, err) = app.call(Method::GET, "/v1/webhooks?limit=many", None).await;
    assert_eq!((status, err["code"].as_str(), err["field"].as_str()), (400, Some("INVALID_QUERY"), Some("limit")));
    let (status, err) = app.call(Method::GET, "/v1/webhooks/not-a-uuid", None).await;
    assert_eq!((status, err["code"].as_str()), (404, Some("WEBHOOK_NOT_FOUND")));
    let (status, err) = app.call(Method::GET, "/v1/webhooks?cursor=%25%25", None).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("INVALID_CURSOR")));
    let (status, err) = app.call(Method::GET, "/v1/webhooks?orgId=acme", None).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));
    app.stop().await;
}

#[tokio::test]
async fn restart_loses_nothing_acknowledged() {
    let app = TestApp::spawn().await;
    let id = app.create_webhook("durable").await;
    let url = app.bind_and_activate(&id, "p", "durable-starts").await;
    let mut ids = Vec::new();
    for i in 0..20 {
        let r = app.http.post(&url).body(format!("event {i}")).send().await.unwrap();
        assert_eq!(r.status(), 200);
        ids.push(r.json::<Value>().await.unwrap()["eventId"].as_str().unwrap().to_owned());
    }
    let token = app.token.clone();
    let dir = app.stop().await;

    // Same data dir, new process state: every accepted event reaches the process queue.
    let app = TestApp::spawn_in(dir, |c| c.admin_token = Some(token)).await;
    let got = app.receive_n("durable-starts", 20).await;
    let mut got_ids: Vec<String> = got.iter().map(|m| m["body"]["eventId"].as_str().unwrap().to_owned()).collect();
    got_ids.sort();
    ids.sort();
    assert_eq!(got_ids, ids);
    app.stop().await;
}

async fn webhook_update_delete_and_the_triggers_view(app: TestApp) {
    let a = app.create_webhook("first-hook").await;
    let b = app.create_webhook("second-hook").await;
    let url = app.bind_and_activate(&a, "p", "view-starts").await;

    let (status, w) = app
        .call(Method::PATCH, &format!("/v1/webhooks/{b}"), Some(json!({"name": "renamed", "description": "d2"})))
        .await;
    assert_eq!((status, w["name"].as_str(), w["description"].as_str()), (200, Some("renamed"), Some("d2")));
    let (status, err) =
        app.call(Method::PATCH, &format!("/v1/webhooks/{b}"), Some(json!({"name": "first-hook"}))).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("NAME_TAKEN")));
    let (status, err) = app.call(Method::PATCH, &format!("/v1/webhooks/{b}"), Some(json!({"provider": "SLACK"}))).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("PROVIDER_IMMUTABLE")));
    let (status, _) = app.call(Method::PATCH, &format!("/v1/webhooks/{b}"), Some(json!({"provider": "GENERIC"}))).await;
    assert_eq!(status, 200, "the same provider is fine");

    let (status, view) = app.call(Method::GET, "/v1/triggers?orgId=acme&workspaceId=main&appId=shop", None).await;
    assert_eq!(status, 200);
    let rows = view["items"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    let row_a = rows.iter().find(|r| r["webhookId"] == a.as_str()).unwrap();
    assert_eq!(row_a["state"], "ACTIVE");
    assert_eq!(row_a["triggerType"], "START_PROCESS");
    assert_eq!(row_a["bindingCount"], 1);
    assert_eq!(row_a["eventName"], "first-hook");
    assert_eq!(row_a["location"]["appId"], "shop");
    let (_, active) = app.call(Method::GET, "/v1/triggers?state=INACTIVE", None).await;
    assert_eq!(active["items"].as_array().unwrap().len(), 1);
    assert!(active["items"][0]["triggerType"].is_null());

    let (status, err) = app.call(Method::DELETE, &format!("/v1/webhooks/{a}"), None).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("WEBHOOK_ACTIVE")));
    app.call(Method::POST, &format!("/v1/webhooks/{a}/deactivate"), None).await;
    let (status, _) = app.call(Method::DELETE, &format!("/v1/webhooks/{a}"), None).await;
    assert_eq!(status, 204);
    let (status, _) = app.call(Method::GET, &format!("/v1/webhooks/{a}"), None).await;
    assert_eq!(status, 404);
    assert_eq!(app.http.post(&url).body("x").send().await.unwrap().status(), 404);
    // Its name is free again in the location.
    app.create_webhook("first-hook").await;
    app.stop().await;
}

async fn idempotency_keys_replay_the_first_answer(app: TestApp) {
    let body = json!({"name": "idem-hook", "provider": "GENERIC", "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}});
    let send = |key: &'static str, body: Value| {
        let app = &app;
        async move {
            let r = app
                .admin(Method::POST, "/v1/webhooks")
                .header("idempotency-key", key)
                .json(&body)
                .send()
                .await
                .unwrap();
            let replayed = r.headers().contains_key("idempotent-replayed");
            (r.status().as_u16(), replayed, r.json::<Value>().await.unwrap())
        }
    };
    let (s1, r1, first) = send("create-1", body.clone()).await;
    let (s2, r2, second) = send("create-1", body.clone()).await;
    assert_eq!((s1, r1), (201, false));
    assert_eq!((s2, r2), (201, true));
    assert_eq!(first, second, "the retry gets the first answer, not a second webhook");
    let (_, list) = app.call(Method::GET, "/v1/webhooks?orgId=acme&workspaceId=main&appId=shop", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    // A new key is a new request (here: the name is taken).
    let (s3, _, err) = send("create-2", body.clone()).await;
    assert_eq!((s3, err["code"].as_str()), (409, Some("NAME_TAKEN")));
    // Failures are not remembered: the same key may try again.
    let mut renamed = body.clone();
    renamed["name"] = json!("idem-hook-2");
    let (s4, r4, _) = send("create-2", renamed).await;
    assert_eq!((s4, r4), (201, false));
    app.stop().await;
}

mod plain {
    use super::*;
    hookbridge_tests::on_both_backends!(
        walkthrough_create_bind_activate_post_receive,
        ingress_statuses_for_generic,
        reset_key_and_deactivate,
        management_validation_errors,
        webhook_update_delete_and_the_triggers_view,
        idempotency_keys_replay_the_first_answer,
    );
}

/// A 2xx means queued: while the events queue is down the ingress answers 503 with
/// `Retry-After` (nothing acknowledged, the authenticated event kept as a failed trigger),
/// and the provider's retry goes through once it is back.
#[tokio::test]
async fn a_queue_outage_answers_503_and_the_retry_is_accepted() {
    let down = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = down.clone();
    let app = TestApp::spawn_wrapped(move |mut b| {
        b.queues = std::sync::Arc::new(hookbridge_tests::TestQueues::with_outage(b.queues.clone(), flag));
        b
    })
    .await;
    let id = app.create_webhook("outage-hook").await;
    let url = app.bind_and_activate(&id, "p", "outage-starts").await;
    down.store(true, std::sync::atomic::Ordering::SeqCst);
    let send = || app.http.post(&url).header("idempotency-key", "delivery-1").json(&json!({"n": 1})).send();
    let r = send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "SERVICE_UNAVAILABLE");
    let failed = hookbridge_tests::eventually(|| async {
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={id}"), None).await;
        page["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    assert_eq!(
        (failed["source"].as_str(), failed["code"].as_str()),
        (Some("INGRESS"), Some("QUEUE_UNAVAILABLE")),
        "{failed}"
    );

    down.store(false, std::sync::atomic::Ordering::SeqCst);
    let r = send().await.unwrap();
    assert_eq!(r.status(), 200, "the retry is not taken for a duplicate of the refused call");
    let accepted: Value = r.json().await.unwrap();
    assert!(accepted.get("duplicate").is_none());
    let got = app.receive_n("outage-starts", 1).await;
    assert_eq!(got[0]["body"]["eventId"], accepted["eventId"]);
    app.stop().await;
}

/// A body that breaks off mid-stream (here: a malformed chunk) is 400 `BODY_UNREADABLE`,
/// and nothing is queued. Written on a raw socket: no HTTP client sends such a body.
#[tokio::test]
async fn a_malformed_body_is_unreadable() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = TestApp::spawn().await;
    let id = app.create_webhook("broken-body").await;
    let url = app.bind_and_activate(&id, "p", "broken-starts").await;
    let path_and_query = &url[url.find("/webhooks/").unwrap()..];
    let mut socket = tokio::net::TcpStream::connect(app.running.addr).await.unwrap();
    let request = format!(
        "POST {path_and_query} HTTP/1.1\r\nHost: {}\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nzz\r\n",
        app.running.addr
    );
    socket.write_all(request.as_bytes()).await.unwrap();
    // The server closes the connection after answering; bounded in case it does not.
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains(r#""code":"BODY_UNREADABLE""#), "{answer}");
    assert!(app.receive("broken-starts", 10, 1).await.is_empty());
    app.stop().await;
}
