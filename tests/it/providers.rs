//! Providers over real sockets on the local runner: signatures, handshakes, rotation.

use hmac::{Hmac, Mac};
use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

fn hex_hmac(key: &str, parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

async fn webhook(app: &TestApp, name: &str, provider: &str, secret: Value, queue: &str) -> (u16, Value) {
    let mut body = json!({"name": name, "provider": provider, "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}});
    if !secret.is_null() {
        body["providerSecret"] = secret;
    }
    let (status, created) = app.call(Method::POST, "/v1/webhooks", Some(body)).await;
    if status != 201 {
        return (status, created);
    }
    let id = created["id"].as_str().unwrap().to_owned();
    let url = app.bind_and_activate(&id, "p", queue).await;
    (status, json!({"id": id, "url": url}))
}

fn slack_headers(secret: &str, ts: i64, body: &str) -> [(String, String); 2] {
    let sig = format!("v0={}", hex_hmac(secret, &[b"v0:", ts.to_string().as_bytes(), b":", body.as_bytes()]));
    [("x-slack-signature".into(), sig), ("x-slack-request-timestamp".into(), ts.to_string())]
}

async fn post(app: &TestApp, url: &str, headers: &[(String, String)], body: &str) -> reqwest::Response {
    let mut req = app.http.post(url).header("content-type", "application/json").body(body.to_owned());
    for (k, v) in headers {
        req = req.header(k, v);
    }
    req.send().await.unwrap()
}

#[tokio::test]
async fn slack_verifies_answers_its_handshake_and_refuses_the_rest() {
    let app = TestApp::spawn().await;
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let (_, w) = webhook(&app, "slack-events", "SLACK", json!(secret), "slack-starts").await;
    let url = w["url"].as_str().unwrap();
    assert!(url.contains("/webhooks/slack/"), "{url}");
    let now = chrono::Utc::now().timestamp();

    let challenge =
        r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = post(&app, url, &slack_headers(secret, now, challenge), challenge).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P");
    // An unsigned handshake is refused like anything else.
    assert_eq!(post(&app, url, &[], challenge).await.status(), 401);

    let event = r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":"hi"}}"#;
    let r = post(&app, url, &slack_headers(secret, now, event), event).await;
    assert_eq!(r.status(), 200);
    let got = app.receive_n("slack-starts", 1).await;
    assert_eq!(got[0]["body"]["webhookMessage"]["payload"]["event"]["text"], "hi");

    for (headers, what) in [
        (slack_headers("wrong", now, event), "wrong secret"),
        (slack_headers(secret, now - 301, event), "stale"),
        (slack_headers(secret, now + 301, event), "future"),
        (slack_headers(secret, now, "{}"), "tampered body"),
    ] {
        let r = post(&app, url, &headers, event).await;
        assert_eq!(r.status(), 401, "{what}");
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["code"], "SIGNATURE_INVALID", "{what}");
        assert!(!body.to_string().contains(secret));
    }
    assert!(app.receive("slack-starts", 10, 0).await.is_empty(), "handshakes and refusals start nothing");

    // A Slack webhook without a signing secret refuses everything.
    let (_, bare) = webhook(&app, "slack-bare", "SLACK", Value::Null, "bare-starts").await;
    let r = post(&app, bare["url"].as_str().unwrap(), &slack_headers(secret, now, event), event).await;
    assert_eq!(r.status(), 401);

    // The URL must name the webhook's provider.
    let r = post(&app, &url.replace("/slack/", "/github/"), &slack_headers(secret, now, event), event).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "PROVIDER_MISMATCH");
    app.stop().await;
}

#[tokio::test]
async fn meta_handshake_and_signed_events() {
    let app = TestApp::spawn().await;
    for secret in
        [Value::Null, json!("just-a-string"), json!({"verifyToken": "v"}), json!({"verifyToken": "", "appSecret": "a"})]
    {
        let (status, err) = webhook(&app, "meta-bad", "META", secret.clone(), "x").await;
        assert_eq!((status, err["code"].as_str()), (400, Some("WEBHOOK_META_SECRETS_REQUIRED")), "{secret}");
    }
    let (_, w) = webhook(
        &app,
        "whatsapp",
        "META",
        json!({"verifyToken": "meatyhamhock", "appSecret": "meta_app_secret"}),
        "wa-starts",
    )
    .await;
    let url = w["url"].as_str().unwrap().to_owned();
    let get = |q: &str| app.http.get(format!("{url}&{q}")).send();
    let r = get("hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "1158201444");
    for q in [
        "hub.mode=subscribe&hub.challenge=1&hub.verify_token=wrong",
        "hub.mode=subscribe&hub.verify_token=meatyhamhock",
        "hub.mode=unsubscribe&hub.challenge=1&hub.verify_token=meatyhamhock",
        "hub.challenge=1",
    ] {
        let r = get(q).await.unwrap();
        assert_eq!(r.status(), 403, "{q}");
        assert_eq!(r.json::<Value>().await.unwrap()["code"], "VERIFY_TOKEN_MISMATCH");
    }
    let body = r#"{"id":"evt_1","type":"test.event","data":{"ok":true}}"#;
    let sig = "sha256=f1efe139b33deff307fb29e89d034759d5bb454c8a86eb9c1b0643e92c7eeb7a";
    let r = post(&app, &url, &[("x-hub-signature-256".into(), sig.into())], body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.receive_n("wa-starts", 1).await.len(), 1);
    let r = post(&app, &url, &[("x-hub-signature-256".into(), sig.replace('f', "0"))], body).await;
    assert_eq!(r.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn provider_secret_rotation_keeps_the_old_secret_for_the_overlap() {
    let app = TestApp::spawn().await;
    let (_, w) = webhook(&app, "github-repo", "GITHUB", json!("old-secret"), "gh-starts").await;
    let (id, url) = (w["id"].as_str().unwrap().to_owned(), w["url"].as_str().unwrap().to_owned());
    let body = r#"{"zen":"Keep it logically awesome."}"#;
    let signed = |secret: &str| {
        vec![("x-hub-signature-256".to_owned(), format!("sha256={}", hex_hmac(secret, &[body.as_bytes()])))]
    };
    assert_eq!(post(&app, &url, &signed("old-secret"), body).await.status(), 200);

    let path = format!("/v1/webhooks/{id}/provider-secret");
    let (status, r) =
        app.call(Method::PUT, &path, Some(json!({"providerSecret": "new-secret", "overlapSeconds": 3600}))).await;
    assert_eq!(status, 200, "{r}");
    assert!(r["previousValidUntil"].is_string());
    assert_eq!(post(&app, &url, &signed("new-secret"), body).await.status(), 200);
    assert_eq!(post(&app, &url, &signed("old-secret"), body).await.status(), 200, "within the overlap");
    // The API key did not change.
    assert_eq!(app.url_of(&id).await, url);

    let (status, _) =
        app.call(Method::PUT, &path, Some(json!({"providerSecret": "newest", "overlapSeconds": 0}))).await;
    assert_eq!(status, 200);
    assert_eq!(post(&app, &url, &signed("newest"), body).await.status(), 200);
    assert_eq!(
        post(&app, &url, &signed("new-secret"), body).await.status(),
        401,
        "no overlap: the old one fails at once"
    );
    let (status, err) =
        app.call(Method::PUT, &path, Some(json!({"providerSecret": "x", "overlapSeconds": 700000}))).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));
    assert_eq!(app.receive_n("gh-starts", 4).await.len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn stripe_and_standard_webhooks_over_http() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now().timestamp();
    let body = r#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    let (_, s) = webhook(&app, "stripe-payments", "STRIPE", json!("whsec_test_secret"), "stripe-starts").await;
    let sig = hex_hmac("whsec_test_secret", &[now.to_string().as_bytes(), b".", body.as_bytes()]);
    let h = vec![("stripe-signature".to_owned(), format!("t={now},v1={sig}"))];
    assert_eq!(post(&app, s["url"].as_str().unwrap(), &h, body).await.status(), 200);
    let stale = vec![(
        "stripe-signature".to_owned(),
        format!(
            "t={},v1={}",
            now - 400,
            hex_hmac("whsec_test_secret", &[(now - 400).to_string().as_bytes(), b".", body.as_bytes()])
        ),
    )];
    assert_eq!(post(&app, s["url"].as_str().unwrap(), &stale, body).await.status(), 401);

    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode([7u8; 24]);
    let (_, sw) = webhook(&app, "std-hooks", "STANDARD_WEBHOOKS", json!(format!("whsec_{key}")), "std-starts").await;
    assert!(sw["url"].as_str().unwrap().contains("/webhooks/standard-webhooks/"));
    let mut m = Hmac::<Sha256>::new_from_slice(&[7u8; 24]).unwrap();
    m.update(format!("msg_1.{now}.{body}").as_bytes());
    let sig = base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes());
    let h = vec![
        ("webhook-id".to_owned(), "msg_1".to_owned()),
        ("webhook-timestamp".to_owned(), now.to_string()),
        ("webhook-signature".to_owned(), format!("v1,{sig}")),
    ];
    assert_eq!(post(&app, sw["url"].as_str().unwrap(), &h, body).await.status(), 200);
    assert_eq!(app.receive_n("stripe-starts", 1).await.len(), 1);
    assert_eq!(app.receive_n("std-starts", 1).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn provider_retries_start_nothing_twice() {
    let app = TestApp::spawn().await;
    let (_, w) = webhook(&app, "github-dedup", "GITHUB", json!("s3cret"), "dedup-starts").await;
    let url = w["url"].as_str().unwrap().to_owned();
    let body = r#"{"action":"opened"}"#;
    let sig = format!("sha256={}", hex_hmac("s3cret", &[body.as_bytes()]));
    let send = |delivery: &'static str| {
        let h = vec![
            ("x-hub-signature-256".to_owned(), sig.clone()),
            ("x-github-delivery".to_owned(), delivery.to_owned()),
        ];
        let (app, url) = (&app, url.clone());
        async move {
            let r = post(app, &url, &h, body).await;
            assert_eq!(r.status(), 200);
            r.json::<Value>().await.unwrap()
        }
    };
    let first = send("d-1").await;
    let retry = send("d-1").await;
    assert_eq!(retry["eventId"], first["eventId"], "the retry answers with the original event id");
    assert_eq!(retry["duplicate"], true);
    assert!(first.get("duplicate").is_none());
    let other = send("d-2").await;
    assert_ne!(other["eventId"], first["eventId"]);
    let got = app.receive_n("dedup-starts", 2).await;
    assert!(app.receive("dedup-starts", 10, 1).await.is_empty(), "the retry started nothing");
    let mut ids: Vec<&str> = got.iter().map(|m| m["body"]["eventId"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected = vec![first["eventId"].as_str().unwrap(), other["eventId"].as_str().unwrap()];
    expected.sort();
    assert_eq!(ids, expected);

    // GENERIC senders deduplicate with Idempotency-Key.
    let id = app.create_webhook("generic-dedup").await;
    let gurl = app.bind_and_activate(&id, "p", "generic-dedup-starts").await;
    let a: Value =
        app.http.post(&gurl).header("idempotency-key", "k1").body("x").send().await.unwrap().json().await.unwrap();
    let b: Value =
        app.http.post(&gurl).header("idempotency-key", "k1").body("x").send().await.unwrap().json().await.unwrap();
    assert_eq!(a["eventId"], b["eventId"]);
    assert_eq!(app.receive_n("generic-dedup-starts", 1).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn handshakes_of_zoom_twitch_okta_and_graph() {
    let app = TestApp::spawn().await;
    let now = chrono::Utc::now();

    // Zoom: a signed endpoint.url_validation gets {plainToken, encryptedToken}.
    let (_, z) = webhook(&app, "zoom-meetings", "ZOOM", json!("zoom_secret_token"), "zoom-starts").await;
    let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let ts = now.timestamp().to_string();
    let sig = format!("v0={}", hex_hmac("zoom_secret_token", &[b"v0:", ts.as_bytes(), b":", body.as_bytes()]));
    let r = post(
        &app,
        z["url"].as_str().unwrap(),
        &[("x-zm-signature".into(), sig), ("x-zm-request-timestamp".into(), ts)],
        body,
    )
    .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": "bd48235863f4a6323ccc4963c594908b7c97f88b4a6a95278f4f093690b12726"})
    );

    // Twitch: webhook_callback_verification echoes the challenge as text/plain.
    let (_, t) = webhook(&app, "twitch-subs", "TWITCH", json!("keepItSecretKeepItSafe"), "twitch-starts").await;
    let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{"type":"channel.follow"}}"#;
    let ts = now.to_rfc3339();
    let sig = format!("sha256={}", hex_hmac("keepItSecretKeepItSafe", &[b"m-1", ts.as_bytes(), body.as_bytes()]));
    let h = vec![
        ("twitch-eventsub-message-id".to_owned(), "m-1".to_owned()),
        ("twitch-eventsub-message-timestamp".to_owned(), ts),
        ("twitch-eventsub-message-signature".to_owned(), sig),
        ("twitch-eventsub-message-type".to_owned(), "webhook_callback_verification".to_owned()),
    ];
    let r = post(&app, t["url"].as_str().unwrap(), &h, body).await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    assert_eq!(r.text().await.unwrap(), "pogchamp-kappa-360noscope-vohiyo");

    // Okta: GET with the verification challenge.
    let (_, o) = webhook(&app, "okta-events", "OKTA", json!("Basic c2VjcmV0"), "okta-starts").await;
    let r = app
        .http
        .get(o["url"].as_str().unwrap())
        .header("x-okta-verification-challenge", "gq0Tl4H8yXw1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"verification": "gq0Tl4H8yXw1"}));
    let r = post(
        &app,
        o["url"].as_str().unwrap(),
        &[("authorization".into(), "Basic c2VjcmV0".into())],
        r#"{"data":{"events":[]}}"#,
    )
    .await;
    assert_eq!(r.status(), 200);

    // Microsoft Graph: ?validationToken= is echoed decoded; notifications need clientState.
    let (_, g) = webhook(&app, "graph-mail", "MSGRAPH", json!("cs-secret"), "graph-starts").await;
    let url = g["url"].as_str().unwrap();
    let r = app
        .http
        .post(format!("{url}&validationToken=Validation%3A%20Testing%20client%20application%20reachability"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "Validation: Testing client application reachability");
    assert_eq!(
        post(&app, url, &[], r#"{"value":[{"clientState":"cs-secret","resource":"me/messages"}]}"#).await.status(),
        200
    );
    assert_eq!(post(&app, url, &[], r#"{"value":[{"clientState":"nope"}]}"#).await.status(), 401);

    // Discord: the signed interactions PING gets PONG (RFC 8032 test key, no freshness rule).
    let (_, d) = webhook(
        &app,
        "discord-app",
        "DISCORD",
        json!("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
        "discord-starts",
    )
    .await;
    let sig = "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f";
    let h = vec![
        ("x-signature-ed25519".to_owned(), sig.to_owned()),
        ("x-signature-timestamp".to_owned(), "1700000000".to_owned()),
    ];
    let r = post(&app, d["url"].as_str().unwrap(), &h, r#"{"type":1}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"type": 1}));
    let bad = vec![
        ("x-signature-ed25519".to_owned(), sig.replace('1', "2")),
        ("x-signature-timestamp".to_owned(), "1700000000".to_owned()),
    ];
    assert_eq!(post(&app, d["url"].as_str().unwrap(), &bad, r#"{"type":1}"#).await.status(), 401);
    assert!(app.receive("discord-starts", 10, 0).await.is_empty());

    // Handshakes started nothing; the real notifications did.
    assert!(app.receive("zoom-starts", 10, 0).await.is_empty());
    assert!(app.receive("twitch-starts", 10, 0).await.is_empty());
    assert_eq!(app.receive_n("okta-starts", 1).await.len(), 1);
    assert_eq!(app.receive_n("graph-starts", 1).await.len(), 1);
    app.stop().await;
}

#[tokio::test]
async fn config_params_resolve_into_provider_secrets() {
    let app = TestApp::spawn().await;
    let (status, _) =
        app.call(Method::PUT, "/v1/config-params/slack.signing", Some(json!({"value": "from-a-param"}))).await;
    assert_eq!(status, 200);
    let (_, w) = webhook(&app, "slack-param", "SLACK", json!("${configParam.slack.signing}"), "param-starts").await;
    let url = w["url"].as_str().unwrap();
    let body = r#"{"type":"event_callback","event_id":"Ev9"}"#;
    let now = chrono::Utc::now().timestamp();
    assert_eq!(post(&app, url, &slack_headers("from-a-param", now, body), body).await.status(), 200);
    assert_eq!(post(&app, url, &slack_headers("${configParam.slack.signing}", now, body), body).await.status(), 401);
    let (status, err) = webhook(&app, "slack-missing", "SLACK", json!("${configParam.nope}"), "x").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("CONFIG_PARAM_NOT_FOUND")));
    assert_eq!(app.call(Method::DELETE, "/v1/config-params/slack.signing", None).await.0, 204);
    app.stop().await;
}
