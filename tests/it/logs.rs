//! Logs never carry a key, secret or credential, at any level: the whole system runs with
//! `RUST_LOG=trace` (through the production filter and JSON formatter, into a buffer) while
//! every kind of secret goes through it — the admin token, API keys (old and reset), a
//! provider secret (and its rotation), a connector's password and signing secret, a
//! helper's token — and the output is searched for each. The same lines must carry the
//! request's webhook and event ids as fields (from the spans they are in). One test per
//! backend.

use std::sync::{Arc, Mutex};

use base64::Engine;
use hmac::Mac;
use hookbridge_tests::{TestApp, TestReceiver};
use reqwest::Method;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process's one subscriber (under `cargo test` both tests share a process: then they
/// share the buffer, and each looks only for its own webhook's lines).
fn capture() -> Buffer {
    static BUF: std::sync::OnceLock<Buffer> = std::sync::OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Buffer::default();
        let writer = buf.clone();
        let filter = hookbridge::config::log_filter(Some("trace"));
        let subscriber = hookbridge::config::subscriber(true, true, filter, move || writer.clone());
        tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this process");
        buf
    })
    .clone()
}

fn github_signature(secret: &str, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

fn key_of(url: &str) -> String {
    url.split("apiKey=").nth(1).expect("a key in the URL").to_owned()
}

async fn no_secret_reaches_the_logs(app: TestApp, logs: Buffer) {
    const PROVIDER: &str = "gh-provider-secret-4c1f9e";
    const ROTATED: &str = "gh-rotated-secret-8d2a71";
    const PASSWORD: &str = "receiver-password-5b3e0c";
    const SIGNING: &str = "whsec_c2lnbmluZy1zZWNyZXQtZm9yLXRoZS1sb2ctdGVzdA==";
    const HELPER: &str = "helper-bearer-token-7f1d3a";
    let mut secrets = vec![app.token.clone(), PROVIDER.to_owned(), ROTATED.to_owned(), PASSWORD.to_owned()];
    secrets.push(SIGNING.trim_start_matches("whsec_").to_owned());
    secrets.push(HELPER.to_owned());
    secrets.push(base64::engine::general_purpose::STANDARD.encode(format!("ops:{PASSWORD}")));

    // A GitHub webhook with a deregistration helper that holds a token.
    let helper = TestReceiver::start().await;
    let (status, made) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"name": "logged", "provider": "GITHUB", "providerSecret": PROVIDER,
                "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"},
                "deregistration": {"url": helper.url("/deregister"), "auth": {"type": "BEARER", "token": HELPER}}})),
        )
        .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let queue = hookbridge_tests::unique("logged-q");
    let url = app.bind_and_activate(&id, "p", &queue).await;
    secrets.push(key_of(&url));

    let body = br#"{"action":"opened","number":1}"#;
    let post = |url: String, sig: String, delivery: &'static str| {
        let http = app.http.clone();
        async move {
            http.post(url)
                .header("content-type", "application/json")
                .header("x-github-event", "pull_request")
                .header("x-github-delivery", delivery)
                .header("x-hub-signature-256", sig)
                .body(body.to_vec())
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(post(url.clone(), github_signature(PROVIDER, body), "d-1").await, 200);
    assert_eq!(post(url.clone(), github_signature("not-the-secret", body), "d-2").await, 401);
    assert_eq!(post(url.replace(&key_of(&url), "wrong-key"), github_signature(PROVIDER, body), "d-3").await, 401);
    assert_eq!(app.receive_n(&queue, 1).await.len(), 1);

    // Reset the key, rotate the provider secret, read the URL (a secret-revealing call).
    let (status, reset) = app.call(Method::POST, &format!("/v1/webhooks/{id}/api-key"), None).await;
    assert_eq!(status, 200);
    let new_url = reset["url"].as_str().unwrap().to_owned();
    secrets.push(key_of(&new_url));
    let rotate = json!({"providerSecret": ROTATED, "overlapSeconds": 0});
    assert_eq!(app.call(Method::PUT, &format!("/v1/webhooks/{id}/provider-secret"), Some(rotate)).await.0, 200);
    assert_eq!(post(new_url.clone(), github_signature(ROTATED, body), "d-4").await, 200);
    assert_eq!(app.call(Method::GET, &format!("/v1/webhooks/{id}/url"), None).await.0, 200);
    // Deactivation calls the helper with its token.
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/deactivate"), None).await.0, 200);
    assert_eq!(helper.next().await.headers["authorization"], format!("Bearer {HELPER}"));

    // A connector with a password and a signing secret; an event delivered, a call refused.
    let receiver = TestReceiver::start().await;
    let (status, connector) = app
        .call(
            Method::POST,
            "/v1/connectors",
            Some(json!({"name": "logged-sink", "baseUrl": receiver.url(""),
                "auth": {"type": "BASIC", "username": "ops", "password": PASSWORD},
                "signing": {"scheme": "STANDARD_WEBHOOKS", "secret": SIGNING}})),
        )
        .await;
    assert_eq!(status, 201, "{connector}");
    let cid = connector["id"].as_str().unwrap().to_owned();
    let event = json!({"id": "evt-logged", "type": "user.created", "occurredAt": "2026-12-02T05:00:00Z", "data": {}});
    let (status, answer) = app.call(Method::POST, &format!("/v1/connectors/{cid}/invoke"), Some(event)).await;
    assert_eq!(status, 200, "{answer}");
    assert!(receiver.next().await.headers.contains_key("webhook-signature"));
    receiver.answer(&[401], 401);
    let event = json!({"id": "evt-refused", "type": "user.created", "occurredAt": "2026-12-02T05:00:00Z"});
    let (status, refused) = app.call(Method::POST, &format!("/v1/connectors/{cid}/invoke"), Some(event)).await;
    assert_eq!((status, refused["status"].as_u64()), (200, Some(401)), "{refused}");
    let (status, shown) = app.call(Method::GET, &format!("/v1/connectors/{cid}/signing-secret"), None).await;
    assert_eq!(status, 200);
    assert!(shown["secret"].as_str().unwrap().contains(SIGNING.trim_start_matches("whsec_")));
    app.stop().await;

    let text = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    // The most verbose level was on: debug and trace lines are there.
    let lines: Vec<Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(lines.len() > 20, "{} JSON lines", lines.len());
    assert!(lines.iter().any(|l| l["level"] == "DEBUG"), "no debug line");
    for secret in &secrets {
        assert!(!text.contains(secret.as_str()), "a secret reached the logs: {}…", &secret[..6]);
    }
    // The request's ids are fields of its lines (from the spans they are in).
    let refused = lines.iter().filter(|l| l["message"] == "provider signature refused");
    assert!(refused.into_iter().any(|l| l["spans"].to_string().contains(&id)), "the refusal names its webhook");
    assert!(lines.iter().any(|l| l["spans"].to_string().contains("event_id")), "no line names its event");
}

#[tokio::test]
async fn logs_hold_no_secret_local() {
    let logs = capture();
    no_secret_reaches_the_logs(TestApp::spawn().await, logs).await;
}

#[tokio::test]
async fn logs_hold_no_secret_aws() {
    let logs = capture();
    no_secret_reaches_the_logs(TestApp::spawn_aws().await, logs).await;
}
