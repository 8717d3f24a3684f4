//! Management over real sockets on both backends: registration helpers (a round trip
//! against an in-process helper, its failure, its timeout and the SSRF guard).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

/// What the helper was sent: path, headers, JSON body.
type Calls = Arc<Mutex<Vec<(String, http::HeaderMap, Value)>>>;

/// An in-process registration helper: `/register` answers a subscription, `/deregister`
/// 204, `/fail` 500, `/late` never in time.
async fn helper() -> (String, Calls) {
    let (base, calls, _) = helper_with_release().await;
    (base, calls)
}

/// The helper, and what releases its `/held` answer.
async fn helper_with_release() -> (String, Calls, Arc<tokio::sync::Notify>) {
    use axum::routing::post;
    let calls: Calls = Arc::default();
    let release = Arc::new(tokio::sync::Notify::new());
    let record = |calls: Calls, answer: fn() -> axum::response::Response| {
        move |uri: http::Uri, headers: http::HeaderMap, body: axum::body::Bytes| {
            let calls = calls.clone();
            async move {
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                calls.lock().unwrap().push((uri.path().to_owned(), headers, body));
                answer()
            }
        }
    };
    use axum::response::IntoResponse;
    let app = axum::Router::new()
        .route(
            "/register",
            post(record(calls.clone(), || axum::Json(json!({"subscriptionId": "sub-123"})).into_response())),
        )
        .route("/deregister", post(record(calls.clone(), || http::StatusCode::NO_CONTENT.into_response())))
        .route(
            "/held",
            post({
                let (calls, release) = (calls.clone(), release.clone());
                move |uri: http::Uri, headers: http::HeaderMap| {
                    calls.lock().unwrap().push((uri.path().to_owned(), headers, Value::Null));
                    let release = release.clone();
                    async move {
                        // Answers once the test says so.
                        release.notified().await;
                        axum::Json(json!({"subscriptionId": "held"}))
                    }
                }
            }),
        )
        .route("/fail", post(record(calls.clone(), || http::StatusCode::INTERNAL_SERVER_ERROR.into_response())))
        .route(
            "/late",
            post({
                let calls = calls.clone();
                move |uri: http::Uri, headers: http::HeaderMap| {
                    calls.lock().unwrap().push((uri.path().to_owned(), headers, Value::Null));
                    async {
                        // Later than the runner's helper timeout (1 s in these tests).
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        "too late"
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, calls, release)
}

fn take(calls: &Calls) -> Vec<(String, http::HeaderMap, Value)> {
    std::mem::take(&mut *calls.lock().unwrap())
}

async fn registration_round_trip(app: TestApp) {
    let (helper_base, calls) = helper().await;
    let (status, created) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({
                "name": "okta-flow",
                "provider": "GENERIC",
                "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"},
                "registration": {
                    "url": format!("{helper_base}/register"),
                    "headers": {"X-Tenant": "acme"},
                    "auth": {"type": "BEARER", "token": "reg-token"},
                    "options": {"events": ["push"]}
                },
                "deregistration": {
                    "url": format!("{helper_base}/deregister"),
                    "auth": {"type": "API_KEY", "key": "X-Api-Key", "value": "dereg-key"},
                    "options": {"scope": "all"}
                }
            })),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["registration"]["auth"], json!({"type": "BEARER"}), "no credential in the view");
    assert!(!created.to_string().contains("reg-token") && !created.to_string().contains("dereg-key"));
    let (status, _) = app
        .call(
            Method::POST,
            &format!("/v1/webhooks/{id}/bindings"),
            Some(json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "reg-starts"})),
        )
        .await;
    assert_eq!(status, 201);

    // Activation registers: the helper gets the event URL, its answer is kept.
    let (status, active) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!(status, 200, "{active}");
    assert_eq!(active["state"], "ACTIVE");
    assert_eq!(active["registrationData"], json!({"subscriptionId": "sub-123"}));
    let url = app.url_of(&id).await;
    let got = take(&calls);
    assert_eq!(got.len(), 1);
    let (path, headers, body) = &got[0];
    assert_eq!(path, "/register");
    assert_eq!(headers["authorization"], "Bearer reg-token");
    assert_eq!(headers["x-tenant"], "acme");
    assert_eq!(body, &json!({"eventUrl": url, "webhookId": id, "options": {"events": ["push"]}}));
    // The URL it was given works.
    assert_eq!(app.http.post(&url).body("{}").send().await.unwrap().status(), 200);
    assert_eq!(app.receive_n("reg-starts", 1).await.len(), 1);

    // Deactivation deregisters with the registration data.
    let (status, inactive) = app.call(Method::POST, &format!("/v1/webhooks/{id}/deactivate"), None).await;
    assert_eq!(status, 200, "{inactive}");
    assert_eq!(inactive["state"], "INACTIVE");
    assert!(inactive.get("registrationData").is_none(), "{inactive}");
    let got = take(&calls);
    assert_eq!(got.len(), 1);
    let (path, headers, body) = &got[0];
    assert_eq!(path, "/deregister");
    assert_eq!(headers["x-api-key"], "dereg-key");
    assert_eq!(body, &json!({"registrationData": {"subscriptionId": "sub-123"}, "options": {"scope": "all"}}));

    // A failing registration leaves the webhook inactive with 502.
    let patch = |field: &str, path: &str| json!({ field: {"url": format!("{helper_base}{path}")} });
    let webhook_path = format!("/v1/webhooks/{id}");
    assert_eq!(app.call(Method::PATCH, &webhook_path, Some(patch("registration", "/fail"))).await.0, 200);
    let (status, err) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!((status, err["code"].as_str()), (502, Some("REGISTRATION_FAILED")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("500"), "{err}");
    assert_eq!(app.call(Method::GET, &webhook_path, None).await.1["state"], "INACTIVE");

    // So does a late one (the helper timeout is 1 s here).
    assert_eq!(app.call(Method::PATCH, &webhook_path, Some(patch("registration", "/late"))).await.0, 200);
    let (status, err) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!((status, err["code"].as_str()), (502, Some("REGISTRATION_FAILED")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("timeout"), "{err}");
    assert_eq!(app.call(Method::GET, &webhook_path, None).await.1["state"], "INACTIVE");
    assert_eq!(app.http.post(&url).body("{}").send().await.unwrap().status(), 404, "still not receiving");

    // A failed deregistration is recorded; the webhook deactivates regardless.
    assert_eq!(app.call(Method::PATCH, &webhook_path, Some(patch("registration", "/register"))).await.0, 200);
    assert_eq!(app.call(Method::PATCH, &webhook_path, Some(patch("deregistration", "/fail"))).await.0, 200);
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let (status, inactive) = app.call(Method::POST, &format!("/v1/webhooks/{id}/deactivate"), None).await;
    assert_eq!(status, 200);
    assert_eq!(inactive["state"], "INACTIVE");
    assert!(inactive["lastDeregistrationError"]["message"].as_str().unwrap().contains("500"), "{inactive}");
    assert_eq!(inactive["registrationData"], json!({"subscriptionId": "sub-123"}), "kept for a manual clean-up");

    // Removing the helpers with null: activation calls nothing.
    take(&calls);
    let none = json!({"registration": null, "deregistration": null});
    let (status, patched) = app.call(Method::PATCH, &webhook_path, Some(none)).await;
    assert_eq!(status, 200);
    assert!(patched.get("registration").is_none() && patched.get("deregistration").is_none(), "{patched}");
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    assert!(take(&calls).is_empty());
    app.stop().await;
}

async fn registration_targets_pass_the_outbound_guard_and_validation(app: TestApp) {
    let create = |name: &str, registration: Value| {
        json!({"name": name, "provider": "GENERIC",
            "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}, "registration": registration})
    };
    // The metadata service is never a registration target.
    let (status, created) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(create("to-metadata", json!({"url": "http://169.254.169.254/latest/meta-data"}))),
        )
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let binding = json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "guard-starts"});
    app.call(Method::POST, &format!("/v1/webhooks/{id}/bindings"), Some(binding)).await;
    let (status, err) = app.call(Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!((status, err["code"].as_str()), (502, Some("REGISTRATION_FAILED")), "{err}");
    assert!(err["message"].as_str().unwrap().contains("guard"), "{err}");

    // Bad helper definitions name the field.
    for (registration, field) in [
        (json!({"url": "ftp://x"}), "registration.url"),
        (json!({"url": "http://127.0.0.1/x", "auth": {"type": "BEARER", "token": ""}}), "registration.auth.token"),
        (json!({"url": "http://127.0.0.1/x", "headers": {"bad header": "v"}}), "registration.headers.bad header"),
        (json!({"url": "http://127.0.0.1/x", "extra": 1}), "registration.extra"),
    ] {
        let (status, err) = app.call(Method::POST, "/v1/webhooks", Some(create("bad-helper", registration))).await;
        assert_eq!(status, 400, "{err}");
        assert_eq!(err["field"], field, "{err}");
    }
    app.stop().await;
}

fn fast_helpers(config: &mut hookbridge_local::LocalConfig) {
    config.settings.helper_timeout = Duration::from_secs(1);
}

mod local {
    #[tokio::test]
    async fn registration_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        super::registration_round_trip(hookbridge_tests::TestApp::spawn_in(dir, super::fast_helpers).await).await;
    }

    #[tokio::test]
    async fn registration_targets_pass_the_outbound_guard_and_validation() {
        super::registration_targets_pass_the_outbound_guard_and_validation(hookbridge_tests::TestApp::spawn().await)
            .await;
    }
}

mod aws {
    #[tokio::test]
    async fn registration_round_trip() {
        super::registration_round_trip(hookbridge_tests::TestApp::spawn_aws_with(super::fast_helpers).await).await;
    }

    #[tokio::test]
    async fn registration_targets_pass_the_outbound_guard_and_validation() {
        super::registration_targets_pass_the_outbound_guard_and_validation(
            hookbridge_tests::TestApp::spawn_aws().await,
        )
        .await;
    }
}

/// Projects and branches: names are unique per whole location, and the triggers view
/// filters down to a project and a branch.
async fn projects_and_branches_in_the_triggers_view(app: TestApp) {
    let create = |name: &str, extra: Value| {
        let mut location = json!({"orgId": "acme", "workspaceId": "main", "appId": "flows"});
        location.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        json!({"name": name, "provider": "GENERIC", "location": location})
    };
    for (name, extra) in [
        ("order-created", json!({})),
        ("order-created", json!({"projectId": "billing", "branchId": "main"})),
        ("order-created", json!({"projectId": "billing", "branchId": "dev"})),
        ("invoice-paid", json!({"projectId": "billing"})),
    ] {
        let (status, body) = app.call(Method::POST, "/v1/webhooks", Some(create(name, extra.clone()))).await;
        assert_eq!(status, 201, "{extra}: {body}");
    }
    let (status, err) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(create("order-created", json!({"projectId": "billing", "branchId": "dev"}))),
        )
        .await;
    assert_eq!((status, err["code"].as_str()), (409, Some("NAME_TAKEN")), "same name, same branch");
    let (status, err) =
        app.call(Method::POST, "/v1/webhooks", Some(create("orphan-branch", json!({"branchId": "dev"})))).await;
    assert_eq!((status, err["field"].as_str()), (400, Some("location.branchId")), "{err}");

    let rows = |q: &'static str| {
        let app = &app;
        async move {
            let (status, page) = app.call(Method::GET, &format!("/v1/triggers?{q}"), None).await;
            assert_eq!(status, 200, "{page}");
            let mut names: Vec<String> = page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    let l = &r["location"];
                    format!(
                        "{}@{}/{}",
                        r["eventName"].as_str().unwrap(),
                        l["projectId"].as_str().unwrap_or("-"),
                        l["branchId"].as_str().unwrap_or("-")
                    )
                })
                .collect();
            names.sort();
            names
        }
    };
    let app_q = "orgId=acme&workspaceId=main&appId=flows";
    assert_eq!(rows(app_q).await.len(), 4);
    assert_eq!(
        rows("orgId=acme&workspaceId=main&appId=flows&projectId=billing").await,
        ["invoice-paid@billing/-", "order-created@billing/dev", "order-created@billing/main"]
    );
    assert_eq!(
        rows("orgId=acme&workspaceId=main&appId=flows&projectId=billing&branchId=dev").await,
        ["order-created@billing/dev"]
    );
    let (status, err) = app.call(Method::GET, &format!("/v1/triggers?{app_q}&branchId=dev"), None).await;
    assert_eq!((status, err["field"].as_str()), (400, Some("branchId")), "{err}");
    let (status, page) =
        app.call(Method::GET, &format!("/v1/webhooks?{app_q}&projectId=billing&branchId=main"), None).await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    app.stop().await;
}

/// The error codes the other suites do not reach, each over a socket.
async fn remaining_error_codes(app: TestApp) {
    let missing = uuid::Uuid::now_v7();
    let code = |(status, body): (u16, Value)| (status, body["code"].as_str().unwrap_or_default().to_owned());
    let id = app.create_webhook("codes-hook").await;
    assert_eq!(
        code(app.call(Method::DELETE, &format!("/v1/webhooks/{id}/bindings/{missing}"), None).await),
        (404, "BINDING_NOT_FOUND".into())
    );
    assert_eq!(
        code(app.call(Method::GET, &format!("/v1/deliveries/{missing}"), None).await),
        (404, "DELIVERY_NOT_FOUND".into())
    );
    assert_eq!(
        code(app.call(Method::GET, &format!("/v1/failed-triggers/{missing}"), None).await),
        (404, "FAILED_TRIGGER_NOT_FOUND".into())
    );

    // Okta's verification GET without its challenge header.
    let (status, okta) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"name": "okta-codes", "provider": "OKTA", "providerSecret": "Basic x",
                "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
        )
        .await;
    assert_eq!(status, 201);
    let okta_url = app.bind_and_activate(okta["id"].as_str().unwrap(), "p", "okta-code-starts").await;
    let r = app.http.get(&okta_url).send().await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "HANDSHAKE_INVALID");

    // A failed trigger whose stored event is gone cannot be replayed.
    let resume = app.create_webhook("codes-resume").await;
    let binding = json!({"type": "RESUME_PROCESS", "catchEventId": "c", "webhookCorrelationKey": "ref",
        "processCorrelationKey": "k", "processKey": "p", "queue": "codes-resumes"});
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{resume}/bindings"), Some(binding)).await.0, 201);
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{resume}/activate"), None).await.0, 200);
    let url = app.url_of(&resume).await;
    let r = app.http.post(&url).json(&json!({"ref": "nobody-waits"})).send().await.unwrap();
    assert_eq!(r.status(), 422);
    let trigger = hookbridge_tests::eventually(|| async {
        let (_, page) = app.call(Method::GET, &format!("/v1/failed-triggers?webhookId={resume}"), None).await;
        page["items"].as_array().and_then(|i| i.first().cloned())
    })
    .await;
    app.backend().blobs.delete_blob(trigger["eventRef"].as_str().unwrap()).await.unwrap();
    let replay = format!("/v1/failed-triggers/{}/replay", trigger["id"].as_str().unwrap());
    assert_eq!(code(app.call(Method::POST, &replay, None).await), (410, "EVENT_EXPIRED".into()));

    // A retry while the first request with its Idempotency-Key is still running.
    let (helper_base, calls) = helper().await;
    let slow = app.create_webhook("codes-slow").await;
    let patch = json!({"registration": {"url": format!("{helper_base}/late")}});
    assert_eq!(app.call(Method::PATCH, &format!("/v1/webhooks/{slow}"), Some(patch)).await.0, 200);
    let binding = json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "codes-slow-starts"});
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{slow}/bindings"), Some(binding)).await.0, 201);
    let activate =
        || app.admin(Method::POST, &format!("/v1/webhooks/{slow}/activate")).header("idempotency-key", "act-1").send();
    let first = tokio::spawn(activate());
    // Once the helper holds the first call, the retry finds it in progress.
    hookbridge_tests::eventually(|| async { (!calls.lock().unwrap().is_empty()).then_some(()) }).await;
    let retry = activate().await.unwrap();
    assert_eq!(retry.status(), 409);
    assert_eq!(retry.json::<Value>().await.unwrap()["code"], "IDEMPOTENCY_IN_PROGRESS");
    let first = first.await.unwrap().unwrap();
    assert_eq!(first.status(), 502, "the late helper fails the first one");
    app.stop().await;
}

async fn bindings_page_with_a_cursor(app: TestApp) {
    let id = app.create_webhook("many-bindings").await;
    let path = format!("/v1/webhooks/{id}/bindings");
    let mut made = Vec::new();
    for n in 0..3 {
        let b = json!({"type": "START_PROCESS", "processDefinitionId": format!("p{n}"), "queue": format!("q{n}")});
        let (status, binding) = app.call(Method::POST, &path, Some(b)).await;
        assert_eq!(status, 201);
        made.push(binding["id"].as_str().unwrap().to_owned());
    }
    let (status, first) = app.call(Method::GET, &format!("{path}?limit=2"), None).await;
    assert_eq!(status, 200);
    let ids = |page: &Value| -> Vec<String> {
        page["items"].as_array().unwrap().iter().map(|b| b["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&first), made[..2]);
    let cursor = first["nextCursor"].as_str().expect("a next page");
    let (_, second) = app.call(Method::GET, &format!("{path}?limit=2&cursor={cursor}"), None).await;
    assert_eq!(ids(&second), made[2..]);
    assert!(second["nextCursor"].is_null());
    let (status, err) = app.call(Method::GET, &format!("{path}?cursor=bm9wZQ"), None).await;
    assert_eq!((status, err["code"].as_str()), (400, Some("INVALID_CURSOR")));
    app.stop().await;
}

/// A change that lands while the registration helper is answering makes the activation
/// fail with 409 `CONCURRENT_UPDATE`, and the registration it made is undone.
async fn a_concurrent_change_during_registration_is_undone(app: TestApp) {
    let (helper_base, calls, release) = helper_with_release().await;
    let id = app.create_webhook("held-hook").await;
    let helpers = json!({
        "registration": {"url": format!("{helper_base}/held")},
        "deregistration": {"url": format!("{helper_base}/deregister")}
    });
    assert_eq!(app.call(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(helpers)).await.0, 200);
    let binding = json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": "held-starts"});
    assert_eq!(app.call(Method::POST, &format!("/v1/webhooks/{id}/bindings"), Some(binding)).await.0, 201);
    let activation = tokio::spawn(app.admin(Method::POST, &format!("/v1/webhooks/{id}/activate")).send());
    hookbridge_tests::eventually(|| async { (!calls.lock().unwrap().is_empty()).then_some(()) }).await;
    let (status, _) =
        app.call(Method::PATCH, &format!("/v1/webhooks/{id}"), Some(json!({"description": "meanwhile"}))).await;
    assert_eq!(status, 200);
    release.notify_one();
    let r = activation.await.unwrap().unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "CONCURRENT_UPDATE");
    let (_, webhook) = app.call(Method::GET, &format!("/v1/webhooks/{id}"), None).await;
    assert_eq!((webhook["state"].as_str(), webhook["description"].as_str()), (Some("INACTIVE"), Some("meanwhile")));
    let got = take(&calls);
    let paths: Vec<&str> = got.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(paths, ["/held", "/deregister"], "registered, then undone");
    assert_eq!(got[1].2["registrationData"], json!({"subscriptionId": "held"}));
    app.stop().await;
}

mod both {
    use super::*;
    hookbridge_tests::on_both_backends!(with super::fast_helpers;
        projects_and_branches_in_the_triggers_view,
        remaining_error_codes,
        bindings_page_with_a_cursor,
        a_concurrent_change_during_registration_is_undone,
    );
}
