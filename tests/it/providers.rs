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

async fn slack_verifies_answers_its_handshake_and_refuses_the_rest(app: TestApp) {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let (_, w) = webhook(&app, "slack-events", "SLACK", json!(secret), "slack-starts").await;
    let url = w["url"].as_str().unwrap();
    assert!(url.contains("/webhooks/slack/"), "{url}");
    let now = chrono::Utc::now().timestamp();

    let challenge =
        r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let r = post(&app, url, &slack_headers(secret, now, challenge), challenge).await;
    assert_eq!(r.status(), 200);
    // As FlowX documents it: JSON `{"challenge"}` (Slack accepts it as well as text).
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"})
    );
    // An unsigned handshake is refused like anything else.
    assert_eq!(post(&app, url, &[], challenge).await.status(), 401);

    let event = r#"{"type":"event_callback","event_id":"Ev1","event":{"type":"message","text":"hi"}}"#;
    let r = post(&app, url, &slack_headers(secret, now, event), event).await;
    assert_eq!(r.status(), 200);
    let got = app.receive_n("slack-starts", 1).await;
    assert_eq!(got[0]["body"]["webhookMessage"]["payload"]["event"]["text"], "hi");

    for (headers, what) in [
        (slack_headers("wrong", now, event), "wrong secret"),
        (slack_headers(secret, now - 400, event), "stale"),
        (slack_headers(secret, now + 400, event), "future"),
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

async fn meta_handshake_and_signed_events(app: TestApp) {
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

async fn provider_secret_rotation_keeps_the_old_secret_for_the_overlap(app: TestApp) {
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

async fn stripe_and_standard_webhooks_over_http(app: TestApp) {
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

async fn provider_retries_start_nothing_twice(app: TestApp) {
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

async fn handshakes_of_zoom_twitch_okta_and_graph(app: TestApp) {
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

    // Discord: the signed interactions PING gets PONG (RFC 8032 test 1 key pair, signed now:
    // Discord's timestamp must be within five minutes).
    let (_, d) = webhook(
        &app,
        "discord-app",
        "DISCORD",
        json!("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
        "discord-starts",
    )
    .await;
    let discord_key = ed25519_dalek::SigningKey::from_bytes(
        &hex::decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap().try_into().unwrap(),
    );
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig = {
        use ed25519_dalek::Signer;
        hex::encode(discord_key.sign(format!("{ts}{}", r#"{"type":1}"#).as_bytes()).to_bytes())
    };
    let sig = sig.as_str();
    let h = vec![("x-signature-ed25519".to_owned(), sig.to_owned()), ("x-signature-timestamp".to_owned(), ts.clone())];
    let r = post(&app, d["url"].as_str().unwrap(), &h, r#"{"type":1}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({"type": 1}));
    let bad = vec![("x-signature-ed25519".to_owned(), sig.replace('1', "2")), ("x-signature-timestamp".to_owned(), ts)];
    // The RFC's own vector is signed at 1700000000: a replay that old is refused.
    let stale = vec![
        ("x-signature-ed25519".to_owned(), "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f".to_owned()),
        ("x-signature-timestamp".to_owned(), "1700000000".to_owned()),
    ];
    assert_eq!(post(&app, d["url"].as_str().unwrap(), &stale, r#"{"type":1}"#).await.status(), 401);
    assert_eq!(post(&app, d["url"].as_str().unwrap(), &bad, r#"{"type":1}"#).await.status(), 401);
    assert!(app.receive("discord-starts", 10, 0).await.is_empty());

    // Handshakes started nothing; the real notifications did.
    assert!(app.receive("zoom-starts", 10, 0).await.is_empty());
    assert!(app.receive("twitch-starts", 10, 0).await.is_empty());
    assert_eq!(app.receive_n("okta-starts", 1).await.len(), 1);
    assert_eq!(app.receive_n("graph-starts", 1).await.len(), 1);
    app.stop().await;
}

async fn config_params_resolve_into_provider_secrets(app: TestApp) {
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

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn b64_hmac(key: &str, parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    for p in parts {
        m.update(p);
    }
    b64(&m.finalize().into_bytes())
}

fn twilio_sig(token: &str, signed: &str) -> String {
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(token.as_bytes()).unwrap();
    m.update(signed.as_bytes());
    b64(&m.finalize().into_bytes())
}

/// Twilio, Square and HubSpot sign the URL they called: the ingress URL as handed out, or
/// the public one a proxy in front shows (`X-Forwarded-Proto`/`X-Forwarded-Host`).
async fn url_bound_providers(app: TestApp) {
    // Twilio, form body: URL + sorted name/value pairs.
    let (_, tw) = webhook(&app, "twilio-sms", "TWILIO", json!("twilio-auth-token"), "twilio-starts").await;
    let url = tw["url"].as_str().unwrap().to_owned();
    let form = "To=%2B18005551212&From=%2B14158675309&Body=hello";
    let signed = format!("{url}BodyhelloFrom+14158675309To+18005551212");
    let send = |url: String, sig: String, ct: &'static str, body: String, extra: Vec<(&'static str, String)>| {
        let mut req = app.http.post(url).header("content-type", ct).header("x-twilio-signature", sig).body(body);
        for (k, v) in extra {
            req = req.header(k, v);
        }
        async move { req.send().await.unwrap() }
    };
    let form_ct = "application/x-www-form-urlencoded";
    let r = send(url.clone(), twilio_sig("twilio-auth-token", &signed), form_ct, form.into(), vec![]).await;
    assert_eq!(r.status(), 200);
    let got = app.receive_n("twilio-starts", 1).await;
    // Form bodies arrive as their raw string.
    assert_eq!(got[0]["body"]["webhookMessage"]["payload"], form);
    let r = send(url.clone(), twilio_sig("wrong", &signed), form_ct, form.into(), vec![]).await;
    assert_eq!(r.status(), 401);
    let r = send(url.clone(), twilio_sig("twilio-auth-token", &signed), form_ct, format!("{form}x"), vec![]).await;
    assert_eq!(r.status(), 401, "tampered parameter");

    // Twilio, JSON body: bodySHA256 in the URL, signature over the URL alone.
    let json_body = r#"{"property": "value", "boolean": true}"#;
    let hash = {
        use sha2::Digest;
        hex::encode(Sha256::digest(json_body.as_bytes()))
    };
    let json_url = format!("{url}&bodySHA256={hash}");
    let r = send(
        json_url.clone(),
        twilio_sig("twilio-auth-token", &json_url),
        "application/json",
        json_body.into(),
        vec![("i-twilio-idempotency-token", "tw-1".into())],
    )
    .await;
    assert_eq!(r.status(), 200);
    let r = send(
        json_url.clone(),
        twilio_sig("twilio-auth-token", &json_url),
        "application/json",
        r#"{"property": "other"}"#.into(),
        vec![],
    )
    .await;
    assert_eq!(r.status(), 401, "the body is not the one hashed in the URL");
    assert_eq!(app.receive_n("twilio-starts", 1).await[0]["body"]["webhookMessage"]["payload"]["boolean"], true);

    // Behind a proxy: the provider signed the public URL, which the forwarded headers name.
    let path_and_query = &url[url.find("/webhooks/").unwrap()..];
    let public = format!("https://hooks.example.com{path_and_query}");
    let signed = format!("{public}BodyhelloFrom+14158675309To+18005551212");
    let proxied = vec![("x-forwarded-proto", "https".to_owned()), ("x-forwarded-host", "hooks.example.com".to_owned())];
    let r = send(url.clone(), twilio_sig("twilio-auth-token", &signed), form_ct, form.into(), proxied).await;
    assert_eq!(r.status(), 200, "public URL rebuilt from X-Forwarded-*");
    let r = send(url.clone(), twilio_sig("twilio-auth-token", &signed), form_ct, form.into(), vec![]).await;
    assert_eq!(r.status(), 401, "without the proxy's headers that URL is not the one called");
    assert_eq!(app.receive_n("twilio-starts", 1).await.len(), 1);

    // Square: base64 HMAC-SHA256 over URL + body; event_id deduplicates.
    let (_, sq) = webhook(&app, "square-payments", "SQUARE", json!("Ibxx_5AKakO-3qeNVR61Dw"), "square-starts").await;
    let sq_url = sq["url"].as_str().unwrap().to_owned();
    let body = r#"{"merchant_id":"M1","type":"payment.created","event_id":"sq-evt-1","data":{"id":"p1"}}"#;
    let sig = b64_hmac("Ibxx_5AKakO-3qeNVR61Dw", &[sq_url.as_bytes(), body.as_bytes()]);
    let h = vec![("x-square-hmacsha256-signature".to_owned(), sig.clone())];
    let first: Value = post(&app, &sq_url, &h, body).await.json().await.unwrap();
    let again: Value = post(&app, &sq_url, &h, body).await.json().await.unwrap();
    assert_eq!(again["eventId"], first["eventId"]);
    assert_eq!(again["duplicate"], true);
    let other = b64_hmac("Ibxx_5AKakO-3qeNVR61Dw", &[b"https://elsewhere.example/x", body.as_bytes()]);
    assert_eq!(post(&app, &sq_url, &[("x-square-hmacsha256-signature".into(), other)], body).await.status(), 401);
    assert_eq!(app.receive_n("square-starts", 1).await.len(), 1);

    // HubSpot v3: method + URL + body + timestamp (ms), five minutes into the past.
    let (_, hs) = webhook(&app, "hubspot-crm", "HUBSPOT", json!("hubspot-client-secret"), "hubspot-starts").await;
    let hs_url = hs["url"].as_str().unwrap().to_owned();
    let body = r#"[{"eventId":1,"subscriptionType":"contact.creation","objectId":123}]"#;
    let signed_at = |ms: i64| {
        let ts = ms.to_string();
        let sig = b64_hmac("hubspot-client-secret", &[b"POST", hs_url.as_bytes(), body.as_bytes(), ts.as_bytes()]);
        vec![("x-hubspot-signature-v3".to_owned(), sig), ("x-hubspot-request-timestamp".to_owned(), ts)]
    };
    let now_ms = chrono::Utc::now().timestamp_millis();
    assert_eq!(post(&app, &hs_url, &signed_at(now_ms), body).await.status(), 200);
    assert_eq!(post(&app, &hs_url, &signed_at(now_ms - 301_000), body).await.status(), 401, "stale");
    assert_eq!(app.receive_n("hubspot-starts", 1).await[0]["body"]["webhookMessage"]["payload"][0]["objectId"], 123);
    app.stop().await;
}

/// SendGrid's ECDSA with a key pair made here; the key is checked when it is saved.
async fn sendgrid_ecdsa_and_key_checks(app: TestApp) {
    use p256::ecdsa::signature::Signer;
    use p256::ecdsa::{Signature, SigningKey};
    use p256::pkcs8::EncodePublicKey;
    let signing = SigningKey::from_slice(&[42u8; 32]).unwrap();
    let public = b64(p256::PublicKey::from(*signing.verifying_key()).to_public_key_der().unwrap().as_bytes());
    let (status, err) = webhook(&app, "sendgrid-bad", "SENDGRID", json!("not-a-key"), "x").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));
    let (status, err) = webhook(&app, "discord-bad", "DISCORD", json!("abcd"), "x").await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));

    let (_, sg) = webhook(&app, "sendgrid-events", "SENDGRID", json!(public), "sendgrid-starts").await;
    let url = sg["url"].as_str().unwrap();
    let body = "[{\"email\":\"a@example.com\",\"event\":\"delivered\"}]\r\n";
    let ts = chrono::Utc::now().timestamp().to_string();
    let sig: Signature = signing.sign(format!("{ts}{body}").as_bytes());
    let h = vec![
        ("x-twilio-email-event-webhook-signature".to_owned(), b64(sig.to_der().as_bytes())),
        ("x-twilio-email-event-webhook-timestamp".to_owned(), ts.clone()),
    ];
    assert_eq!(post(&app, url, &h, body).await.status(), 200);
    assert_eq!(post(&app, url, &h, body.trim_end()).await.status(), 401, "the trailing CRLF is signed");
    let forged: Signature = SigningKey::from_slice(&[9u8; 32]).unwrap().sign(format!("{ts}{body}").as_bytes());
    let h2 = vec![
        ("x-twilio-email-event-webhook-signature".to_owned(), b64(forged.to_der().as_bytes())),
        ("x-twilio-email-event-webhook-timestamp".to_owned(), ts),
    ];
    assert_eq!(post(&app, url, &h2, body).await.status(), 401, "another key");
    assert_eq!(app.receive_n("sendgrid-starts", 1).await.len(), 1);
    app.stop().await;
}

/// GENERIC_HMAC: the scheme comes with the secret.
async fn generic_hmac_over_http(app: TestApp) {
    let scheme = json!({
        "secret": "acme-signing-secret",
        "header": "X-Acme-Signature",
        "algorithm": "SHA256",
        "encoding": "BASE64",
        "prefix": "sha256=",
        "template": "{timestamp}.{body}",
        "timestampHeader": "X-Acme-Timestamp",
        "toleranceSeconds": 300
    });
    let (status, w) = webhook(&app, "acme-hooks", "GENERIC_HMAC", scheme, "acme-starts").await;
    assert_eq!(status, 201, "{w}");
    let url = w["url"].as_str().unwrap();
    assert!(url.contains("/webhooks/generic-hmac/"), "{url}");
    let body = r#"{"order":42}"#;
    let at = |secret: &str, ts: i64| {
        let sig = b64_hmac(secret, &[ts.to_string().as_bytes(), b".", body.as_bytes()]);
        vec![("x-acme-signature".to_owned(), format!("sha256={sig}")), ("x-acme-timestamp".to_owned(), ts.to_string())]
    };
    let now = chrono::Utc::now().timestamp();
    assert_eq!(post(&app, url, &at("acme-signing-secret", now), body).await.status(), 200);
    assert_eq!(post(&app, url, &at("wrong", now), body).await.status(), 401);
    assert_eq!(post(&app, url, &at("acme-signing-secret", now - 600), body).await.status(), 401, "stale");
    assert_eq!(post(&app, url, &[], body).await.status(), 401, "unsigned");
    let (status, err) =
        webhook(&app, "acme-bad", "GENERIC_HMAC", json!({"secret": "s", "header": "X-Sig", "template": "{ts}"}), "x")
            .await;
    assert_eq!((status, err["code"].as_str()), (400, Some("VALIDATION_FAILED")));
    assert_eq!(app.receive_n("acme-starts", 1).await[0]["body"]["webhookMessage"]["payload"]["order"], 42);
    app.stop().await;
}

/// The providers the other tests here do not reach, each once correctly signed (started)
/// and once tampered with (401), over HTTP.
async fn the_other_providers_accept_signed_and_refuse_tampered(app: TestApp) {
    use base64::Engine;
    let now = chrono::Utc::now();
    let ts = now.timestamp().to_string();
    let body = r#"{"id":"evt_9","type":"thing.happened"}"#;
    let svix_key = [9u8; 24];
    let svix_secret = format!("whsec_{}", b64(&svix_key));
    let svix_sig = {
        let mut m = Hmac::<Sha256>::new_from_slice(&svix_key).unwrap();
        m.update(format!("msg_9.{ts}.{body}").as_bytes());
        format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(m.finalize().into_bytes()))
    };
    let linear_body = format!(r#"{{"action":"create","type":"Issue","webhookTimestamp":{}}}"#, now.timestamp_millis());
    let mailgun_body = |sig: &str| {
        json!({"signature": {"timestamp": ts, "token": "tok-9", "signature": sig}, "event-data": {"event": "delivered"}})
            .to_string()
    };
    let mailgun_sig = hex_hmac("mailgun-key", &[ts.as_bytes(), b"tok-9"]);
    let h = |pairs: &[(&str, String)]| pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect::<Vec<_>>();
    type Headers = Vec<(String, String)>;
    // (provider, secret, signed headers, body, tampered headers, tampered body)
    type Case = (&'static str, String, Headers, String, Headers, String);
    let cases: Vec<Case> = vec![
        (
            "SVIX",
            svix_secret.clone(),
            h(&[("svix-id", "msg_9".into()), ("svix-timestamp", ts.clone()), ("svix-signature", svix_sig.clone())]),
            body.into(),
            h(&[("svix-id", "msg_8".into()), ("svix-timestamp", ts.clone()), ("svix-signature", svix_sig.clone())]),
            body.into(),
        ),
        (
            "SHOPIFY",
            "shopify-secret".into(),
            h(&[("x-shopify-hmac-sha256", b64_hmac("shopify-secret", &[body.as_bytes()]))]),
            body.into(),
            h(&[("x-shopify-hmac-sha256", b64_hmac("shopify-secret", &[body.as_bytes()]))]),
            body.replace("evt_9", "evt_0"),
        ),
        (
            "DESCOPE",
            "descope-secret".into(),
            h(&[("x-descope-webhook-s256", b64_hmac("descope-secret", &[body.as_bytes()]))]),
            body.into(),
            h(&[("x-descope-webhook-s256", b64_hmac("other", &[body.as_bytes()]))]),
            body.into(),
        ),
        (
            "LINEAR",
            "linear-secret".into(),
            h(&[("linear-signature", hex_hmac("linear-secret", &[linear_body.as_bytes()]))]),
            linear_body.clone(),
            h(&[("linear-signature", hex_hmac("linear-secret", &[linear_body.as_bytes()]))]),
            linear_body.replace("Issue", "Comment"),
        ),
        (
            "PAGERDUTY",
            "pd-secret".into(),
            h(&[("x-pagerduty-signature", format!("v1=00ff,v1={}", hex_hmac("pd-secret", &[body.as_bytes()])))]),
            body.into(),
            h(&[("x-pagerduty-signature", format!("v0={}", hex_hmac("pd-secret", &[body.as_bytes()])))]),
            body.into(),
        ),
        (
            "GITLAB",
            "gitlab-token".into(),
            h(&[("x-gitlab-token", "gitlab-token".into())]),
            body.into(),
            h(&[("x-gitlab-token", "gitlab-tokeN".into())]),
            body.into(),
        ),
        (
            "MAILGUN",
            "mailgun-key".into(),
            vec![],
            mailgun_body(&mailgun_sig),
            vec![],
            mailgun_body(&mailgun_sig.replace('a', "b")),
        ),
    ];
    for (provider, secret, good, good_body, bad, bad_body) in cases {
        let queue = format!("{}-starts", provider.to_lowercase());
        let (status, w) =
            webhook(&app, &format!("{}-hook", provider.to_lowercase()), provider, json!(secret), &queue).await;
        assert_eq!(status, 201, "{provider}: {w}");
        let url = w["url"].as_str().unwrap();
        let r = post(&app, url, &good, &good_body).await;
        assert_eq!(r.status(), 200, "{provider} signed: {}", r.text().await.unwrap());
        let r = post(&app, url, &bad, &bad_body).await;
        assert_eq!(r.status(), 401, "{provider} tampered");
        // Mailgun's signature travels in the body.
        let unsigned = if provider == "MAILGUN" { r#"{"event-data":{}}"#.to_owned() } else { good_body };
        assert_eq!(post(&app, url, &[], &unsigned).await.status(), 401, "{provider} unsigned");
        assert_eq!(app.receive_n(&queue, 1).await.len(), 1, "{provider} started once");
    }
    app.stop().await;
}

/// Providers without a delivery id: a retry (the same signed request) answers with the
/// original event and starts nothing; other deliveries from the same subscription start.
async fn signature_keyed_retries_and_distinct_linear_events(app: TestApp) {
    let (_, lin) = webhook(&app, "linear-dedup", "LINEAR", json!("linear-secret"), "linear-dedup-starts").await;
    let lin_url = lin["url"].as_str().unwrap();
    let now_ms = chrono::Utc::now().timestamp_millis();
    let event = |issue: &str| {
        format!(
            r#"{{"action":"create","type":"Issue","webhookId":"wh-1","data":{{"id":"{issue}"}},"webhookTimestamp":{now_ms}}}"#
        )
    };
    let send = |url: String, header: &'static str, sig: String, body: String| {
        let app = &app;
        async move { post(app, &url, &[(header.to_owned(), sig)], &body).await.json::<Value>().await.unwrap() }
    };
    let (one, two) = (event("ISS-1"), event("ISS-2"));
    let first =
        send(lin_url.into(), "linear-signature", hex_hmac("linear-secret", &[one.as_bytes()]), one.clone()).await;
    let other =
        send(lin_url.into(), "linear-signature", hex_hmac("linear-secret", &[two.as_bytes()]), two.clone()).await;
    let retry = send(lin_url.into(), "linear-signature", hex_hmac("linear-secret", &[one.as_bytes()]), one).await;
    assert_ne!(first["eventId"], other["eventId"], "the same subscription, another delivery");
    assert_eq!((retry["eventId"].clone(), retry["duplicate"].clone()), (first["eventId"].clone(), json!(true)));
    assert_eq!(app.receive_n("linear-dedup-starts", 2).await.len(), 2);

    let (_, meta) = webhook(
        &app,
        "meta-dedup",
        "META",
        json!({"verifyToken": "v", "appSecret": "meta-secret"}),
        "meta-dedup-starts",
    )
    .await;
    let body = r#"{"object":"whatsapp_business_account","entry":[{"id":"1","time":1700000000}]}"#;
    let sig = format!("sha256={}", hex_hmac("meta-secret", &[body.as_bytes()]));
    let meta_url = meta["url"].as_str().unwrap();
    let first = send(meta_url.into(), "x-hub-signature-256", sig.clone(), body.into()).await;
    let retry = send(meta_url.into(), "x-hub-signature-256", sig.clone(), body.into()).await;
    assert_eq!((retry["eventId"].clone(), retry["duplicate"].clone()), (first["eventId"].clone(), json!(true)));
    // A replay is no new delivery for adding an unsigned Idempotency-Key or spelling the
    // signature in upper case (review M4).
    for headers in [
        vec![("x-hub-signature-256".to_owned(), sig.clone()), ("idempotency-key".to_owned(), "x1".to_owned())],
        vec![("x-hub-signature-256".to_owned(), format!("sha256={}", sig["sha256=".len()..].to_uppercase()))],
    ] {
        let r = post(&app, meta_url, &headers, body).await;
        assert_eq!(r.status(), 200);
        let v = r.json::<Value>().await.unwrap();
        assert_eq!(
            (v["eventId"].clone(), v["duplicate"].clone()),
            (first["eventId"].clone(), json!(true)),
            "{headers:?}"
        );
    }
    assert_eq!(app.receive_n("meta-dedup-starts", 1).await.len(), 1);
    assert!(app.receive("meta-dedup-starts", 10, 1).await.is_empty(), "the retry started nothing");
    app.stop().await;
}

/// The catalog's handshakes over real sockets: Asana's and Notion's secrets kept from their
/// first request (in AWS, by the ingress role's own permission), Trello's HEAD, Dropbox's
/// challenge, FlowX's `flowxApiKey`, and the catalog itself at `GET /v1/providers`.
async fn catalog_handshakes_over_http(app: TestApp) {
    // Asana: created without a secret; its handshake brings one.
    let (status, a) = webhook(&app, "asana-tasks", "ASANA", Value::Null, "asana-starts").await;
    assert_eq!(status, 201, "{a}");
    let url = a["url"].as_str().unwrap();
    let hook_secret = "b537207f20cbfa02357cf448134da559";
    let r = app.http.post(url).header("x-hook-secret", hook_secret).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["x-hook-secret"], hook_secret);
    let event = r#"{"events":[{"action":"changed","resource":{"gid":"1"}}]}"#;
    let signed = [("x-hook-signature".to_owned(), hex_hmac(hook_secret, &[event.as_bytes()]))];
    assert_eq!(post(&app, url, &signed, event).await.status(), 200);
    // A second X-Hook-Secret replaces nothing: it is an unsigned request, refused.
    let r = app.http.post(url).header("x-hook-secret", "another").send().await.unwrap();
    assert_eq!(r.status(), 401);
    // The kept secret still verifies (and the same signed body is Asana's retry).
    let again = post(&app, url, &signed, event).await;
    assert_eq!(again.status(), 200);
    assert_eq!(again.json::<Value>().await.unwrap()["duplicate"], true);
    let wrong = [("x-hook-signature".to_owned(), hex_hmac("another", &[event.as_bytes()]))];
    assert_eq!(post(&app, url, &wrong, event).await.status(), 401);
    assert_eq!(app.receive_n("asana-starts", 1).await.len(), 1);

    // Notion: the unsigned verification_token is kept, then events are signed with it.
    let (_, n) = webhook(&app, "notion-pages", "NOTION", Value::Null, "notion-starts").await;
    let url = n["url"].as_str().unwrap();
    let token = "secret_tMrlL1qK5vuQAh1b6cZGhFChZTSYJlce98V0pYn7yBl";
    assert_eq!(post(&app, url, &[], &json!({"verification_token": token}).to_string()).await.status(), 200);
    let event = r#"{"id":"e-1","type":"page.created"}"#;
    let sig = [("x-notion-signature".to_owned(), format!("sha256={}", hex_hmac(token, &[event.as_bytes()])))];
    assert_eq!(post(&app, url, &sig, event).await.status(), 200);
    assert_eq!(app.receive_n("notion-starts", 1).await.len(), 1);

    // Trello checks the URL with HEAD; Dropbox echoes its challenge.
    let (_, t) = webhook(&app, "trello-board", "TRELLO", json!("trello-secret"), "trello-starts").await;
    assert_eq!(app.http.head(t["url"].as_str().unwrap()).send().await.unwrap().status(), 200);
    let (_, d) = webhook(&app, "dropbox-files", "DROPBOX", json!("app-secret"), "dropbox-starts").await;
    let r = app.http.get(format!("{}&challenge=abc123", d["url"].as_str().unwrap())).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "abc123");

    // FlowX's parameter name for the key.
    let (_, g) = webhook(&app, "flowx-generic", "GENERIC", Value::Null, "flowx-starts").await;
    let flowx = g["url"].as_str().unwrap().replace("apiKey=", "flowxApiKey=");
    assert_eq!(post(&app, &flowx, &[], r#"{"a":1}"#).await.status(), 200);
    assert_eq!(post(&app, &flowx.replace("flowxApiKey=", "flowxApiKey=x"), &[], r#"{"a":1}"#).await.status(), 401);

    // The catalog.
    let (status, catalog) = app.call(Method::GET, "/v1/providers", None).await;
    assert_eq!(status, 200);
    let catalog = catalog.as_array().unwrap();
    assert!(catalog.len() >= 80, "{} providers", catalog.len());
    let asana = catalog.iter().find(|p| p["name"] == "ASANA").unwrap();
    assert_eq!(asana["urlSegment"], "asana");
    assert_eq!(asana["secretFields"][0]["name"], "providerSecret");
    assert!(asana["handshake"].as_str().unwrap().contains("X-Hook-Secret"));
    let meta = catalog.iter().find(|p| p["name"] == "META").unwrap();
    let fields: Vec<&str> =
        meta["secretFields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(fields, ["verifyToken", "appSecret"]);
    assert_eq!(catalog.iter().find(|p| p["name"] == "TRELLO").unwrap()["urlBound"], true);
    app.stop().await;
}

hookbridge_tests::on_both_backends!(
    catalog_handshakes_over_http,
    signature_keyed_retries_and_distinct_linear_events,
    the_other_providers_accept_signed_and_refuse_tampered,
    slack_verifies_answers_its_handshake_and_refuses_the_rest,
    meta_handshake_and_signed_events,
    provider_secret_rotation_keeps_the_old_secret_for_the_overlap,
    stripe_and_standard_webhooks_over_http,
    provider_retries_start_nothing_twice,
    handshakes_of_zoom_twitch_okta_and_graph,
    config_params_resolve_into_provider_secrets,
    url_bound_providers,
    sendgrid_ecdsa_and_key_checks,
    generic_hmac_over_http,
);
