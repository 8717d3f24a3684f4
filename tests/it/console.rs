//! The console's assets and policy, and the overview's figures (`GET /v1/stats`), over
//! HTTP on both backends. The pages themselves are driven in Chromium by
//! `tests/console/test_console.py`.

use std::time::Duration;

use hookbridge_tests::{TestApp, eventually};
use reqwest::Method;
use serde_json::{Value, json};

async fn console_is_served_under_its_policy(app: &TestApp) {
    for (path, kind) in [
        ("/console", "text/html"),
        ("/console/app.js", "text/javascript"),
        ("/console/app.css", "text/css"),
        ("/console/config.json", "application/json"),
    ] {
        // No credential: the page must load to sign in (the API behind it needs one).
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(kind), "{path}");
        let csp = r.headers()["content-security-policy"].to_str().unwrap().to_owned();
        assert!(csp.starts_with("default-src 'self';"), "{csp}");
        assert!(csp.contains("connect-src 'self';") && csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        assert_eq!(r.headers()["x-frame-options"], "DENY");
    }
    let config: Value =
        app.http.get(format!("{}/console/config.json", app.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(config, json!({"signIn": "ADMIN_TOKEN"}));
    // `/console/` and `/` lead to the page.
    for path in ["/console/", "/"] {
        let r = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        assert_eq!((r.status().as_u16(), r.url().path()), (200, "/console"), "{path}");
    }
    // The API the page calls still wants the token.
    let r = app.http.get(format!("{}/v1/stats", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn stats_count_what_happened(app: &TestApp) {
    let id = app.create_webhook("stats-hook").await;
    let queue = hookbridge_tests::unique("stats-q");
    let url = app.bind_and_activate(&id, "p", &queue).await;
    for n in 0..3 {
        let r = app.http.post(&url).json(&json!({"n": n})).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    let no_key = url.split('?').next().unwrap().to_owned();
    assert_eq!(app.http.post(&no_key).json(&json!({})).send().await.unwrap().status(), 401);
    let wrong_place = url.replace("/webhooks/generic/", "/webhooks/github/");
    assert_eq!(app.http.post(&wrong_place).json(&json!({})).send().await.unwrap().status(), 400);
    assert_eq!(app.receive_n(&queue, 3).await.len(), 3);

    let stats = eventually(|| async {
        let (status, s) = app.call(Method::GET, "/v1/stats", None).await;
        assert_eq!(status, 200, "{s}");
        (s["lastHour"]["processMessagesSent"] == 3 && s["lastHour"]["eventsRefusedTotal"] == 2).then_some(s)
    })
    .await;
    let hour = &stats["lastHour"];
    assert_eq!(hour["eventsAccepted"], 3, "{stats}");
    assert_eq!(hour["eventsRefused"], json!({"API_KEY_INVALID": 1, "PROVIDER_MISMATCH": 1}), "{stats}");
    assert_eq!(stats["lastDay"]["eventsAccepted"], 3, "{stats}");
    assert_eq!(hour["deliveriesSucceeded"], 0);
}

/// Each function writes at once, so the figures can be read at once (on Lambda they are
/// written at most every ten seconds).
fn at_once(mut b: hookbridge::Backend) -> hookbridge::Backend {
    b.stats = std::sync::Arc::new(b.stats.with_interval(Duration::ZERO));
    b
}

#[tokio::test]
async fn console_local() {
    let app = TestApp::spawn().await;
    console_is_served_under_its_policy(&app).await;
    stats_count_what_happened(&app).await;
    app.stop().await;
}

#[tokio::test]
async fn console_aws() {
    let app = TestApp::spawn_aws_wrapped(at_once, hookbridge_tests::unchanged).await;
    console_is_served_under_its_policy(&app).await;
    stats_count_what_happened(&app).await;
    app.stop().await;
}
