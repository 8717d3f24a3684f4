//! The Lambda handlers on the AWS backend against the emulator, driven by real API Gateway
//! v2 and SQS event JSON: management creates and binds a webhook, the ingress accepts
//! events (one of 1 MiB), the fan-out moves them to the process queue, and the 1 MiB body
//! arrives byte-exact through the S3 claim checks.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hookbridge::domain::QueueRef;
use hookbridge::ports::{QueueSpec, ReceivedMessage};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

pub(crate) const APIGW: &str = include_str!("../fixtures/apigw-v2-request.json");
/// A Lambda function URL's event (auth NONE): the same payload version, `accountId`
/// "anonymous", no stage in the path, the URL's own host.
const FUNCTION_URL: &str = include_str!("../fixtures/function-url-request.json");
const APIGW_IAM: &str = include_str!("../fixtures/apigw-v2-request-iam.json");
const SQS: &str = include_str!("../fixtures/sqs-event-two-records.json");

/// An API Gateway v2 event from a fixture, with this request's method, path, query,
/// headers and body (base64 when binary).
pub(crate) fn apigw_event(
    template: &str,
    method: &str,
    path: &str,
    query: &str,
    body: Option<&[u8]>,
    ct: &str,
) -> String {
    let mut v: Value = serde_json::from_str(template).unwrap();
    v["rawPath"] = json!(path);
    v["rawQueryString"] = json!(query);
    v["requestContext"]["http"]["method"] = json!(method);
    v["requestContext"]["http"]["path"] = json!(path);
    v.as_object_mut().unwrap().remove("queryStringParameters");
    v.as_object_mut().unwrap().remove("pathParameters");
    let headers = v["headers"].as_object_mut().unwrap();
    headers.insert("content-type".into(), json!(ct));
    match body {
        Some(b) => {
            headers.insert("content-length".into(), json!(b.len().to_string()));
            v["body"] = json!(STANDARD.encode(b));
            v["isBase64Encoded"] = json!(true);
        }
        None => {
            headers.insert("content-length".into(), json!("0"));
            v.as_object_mut().unwrap().remove("body");
            v["isBase64Encoded"] = json!(false);
        }
    }
    v.to_string()
}

/// Sends an API Gateway event through a router exactly as `lambda_http::run` does.
pub(crate) async fn invoke(router: &axum::Router, event: String) -> (u16, Value) {
    let req = lambda_http::request::from_str(&event).expect("a valid API Gateway event");
    let resp = router.clone().oneshot(req).await.unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

pub(crate) async fn admin(router: &axum::Router, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let bytes = body.map(|b| b.to_string().into_bytes());
    invoke(router, apigw_event(APIGW_IAM, method, path, "", bytes.as_deref(), "application/json")).await
}

/// The management Lambda's router on `app` (its function's credentials), as deployed:
/// IAM in front (no admin token), the dispatcher on `deliveries`.
pub(crate) fn management_of(
    app: &hookbridge::lambda::AwsApp,
    events: QueueRef,
    deliveries: QueueRef,
    base: Option<String>,
) -> axum::Router {
    let queues = hookbridge::ports::DispatchQueues { deliveries: deliveries.clone(), dead_letter: deliveries };
    let mut app =
        hookbridge::lambda::AwsApp { app: app.app.clone(), clients: app.clients.clone(), aws: app.aws.clone() };
    app.app.settings.public_url = base;
    app.management_with(std::sync::Arc::new(app.dispatcher(queues).unwrap()), events, None)
}

/// An SQS event as Lambda would deliver these received messages (from the fixture).
pub(crate) fn sqs_event(messages: &[ReceivedMessage]) -> aws_lambda_events::event::sqs::SqsEvent {
    let v: Value = serde_json::from_str(SQS).unwrap();
    let template = v["Records"][0].clone();
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            let mut r = template.clone();
            r["messageId"] = json!(m.message_id);
            r["receiptHandle"] = json!(m.receipt_handle);
            r["body"] = json!(m.body);
            r["attributes"]["ApproximateReceiveCount"] = json!(m.receive_count.to_string());
            r
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

pub(crate) async fn receive_n(app: &hookbridge::lambda::AwsApp, q: &QueueRef, n: usize) -> Vec<ReceivedMessage> {
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() >= n {
            break;
        }
        got.extend(
            app.app.backend.queues.receive(q, 10, Duration::from_secs(60), Duration::from_secs(1)).await.unwrap(),
        );
    }
    assert_eq!(got.len(), n);
    got
}

#[tokio::test]
async fn api_gateway_to_process_queue_on_aws_with_a_1_mib_payload() {
    let app = hookbridge_tests::aws_app().await;
    // Each handler as its own function, with its own policy's credentials.
    let mgmt = hookbridge_tests::function_app(&app, "ManagementFunction").await;
    let ingress_app = hookbridge_tests::function_app(&app, "IngressFunction").await;
    let fanout_app = hookbridge_tests::function_app(&app, "FanoutFunction").await;
    let queues = &app.app.backend.queues;
    let spec = |name: String, dlq| QueueSpec {
        name,
        visibility_timeout: Duration::from_secs(60),
        max_receives: 5,
        dead_letter: dlq,
    };
    // Named as the template's queues and a process queue (see infra/moto_iam.py).
    let ns = hookbridge_tests::unique("q");
    let dlq = queues.create_queue(&spec(format!("{ns}-hookbridge-events-dlq"), None)).await.unwrap();
    let events = queues.create_queue(&spec(format!("{ns}-hookbridge-events"), Some(dlq))).await.unwrap();
    let starts = queues.create_queue(&spec(format!("{ns}-starts"), None)).await.unwrap();
    assert!(events.is_url(), "SQS hands out URLs: {events}");

    let base = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let management = management_of(&mgmt, events.clone(), starts.clone(), Some(base.into()));
    let (status, created) = admin(
        &management,
        "POST",
        "/v1/webhooks",
        Some(json!({"name": "aws-orders", "provider": "GENERIC",
            "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let (status, _) = admin(
        &management,
        "POST",
        &format!("/v1/webhooks/{id}/bindings"),
        Some(json!({"type": "START_PROCESS", "processDefinitionId": "order-flow", "queue": starts.as_str()})),
    )
    .await;
    assert_eq!(status, 201);
    let (status, _) = admin(&management, "POST", &format!("/v1/webhooks/{id}/activate"), None).await;
    assert_eq!(status, 200);
    let (status, url) = admin(&management, "GET", &format!("/v1/webhooks/{id}/url"), None).await;
    assert_eq!(status, 200);
    let url = url["url"].as_str().unwrap().to_owned();
    let path = url.strip_prefix(base).unwrap().split('?').next().unwrap().to_owned();
    let query = url.split('?').nth(1).unwrap().to_owned();

    let ingress = ingress_app.ingress(events.clone());
    // A wrong key is refused, and nothing is queued for it.
    let (status, body) =
        invoke(&ingress, apigw_event(APIGW, "POST", &path, "apiKey=nope", Some(b"{}"), "application/json")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("API_KEY_INVALID")));

    let small = br#"{"order":{"id":7}}"#;
    let big: Vec<u8> = (0..1024 * 1024).map(|i| b'a' + (i % 26) as u8).collect();
    let (status, first) =
        invoke(&ingress, apigw_event(APIGW, "POST", &path, &query, Some(small), "application/json")).await;
    assert_eq!(status, 200, "{first}");
    let (status, second) = invoke(&ingress, apigw_event(APIGW, "POST", &path, &query, Some(&big), "text/plain")).await;
    assert_eq!(status, 200, "{second}");
    let (status, _) =
        invoke(&ingress, apigw_event(APIGW, "POST", &path, &query, Some(&[b'x'; 1024 * 1024 + 1]), "text/plain")).await;
    assert_eq!(status, 413);

    // The events queue holds both; the large one by claim check.
    let received = receive_n(&app, &events, 2).await;
    assert!(received.iter().any(|m| m.body.contains("\"blobKey\"")), "the 1 MiB event travels by reference");
    assert!(received.iter().all(|m| m.body.len() < 256 * 1024));

    let fanout = fanout_app.fanout();
    let response = fanout.handle(sqs_event(&received)).await;
    assert!(response.batch_item_failures.is_empty(), "{:?}", response.batch_item_failures);
    for m in &received {
        queues.delete(&events, &m.receipt_handle).await.unwrap();
    }

    let started = receive_n(&app, &starts, 2).await;
    let mut by_event = std::collections::HashMap::new();
    for m in &started {
        let v: Value = serde_json::from_str(&m.body).unwrap();
        by_event.insert(v["eventId"].as_str().unwrap().to_owned(), v);
    }
    let inline = &by_event[first["eventId"].as_str().unwrap()];
    assert_eq!(inline["type"], "START_PROCESS");
    assert_eq!(inline["webhookMessage"]["payload"], json!({"order": {"id": 7}}));
    assert_eq!(STANDARD.decode(inline["rawBody"].as_str().unwrap()).unwrap(), small);
    assert_eq!(inline["webhookMessage"]["headers"]["x-forwarded-for"], json!(["1.2.3.4"]));

    let by_ref = &by_event[second["eventId"].as_str().unwrap()];
    let uri = by_ref["payloadRef"].as_str().expect("a reference for the large message");
    let prefix = format!("s3://{}/", app.aws.bucket);
    let key = uri.strip_prefix(&prefix).expect("an s3 URI in the payload bucket");
    let stored = app.app.backend.blobs.get_blob(key).await.unwrap().expect("the stored message");
    let full: Value = serde_json::from_slice(&stored).unwrap();
    assert_eq!(full["deliveryId"], by_ref["deliveryId"]);
    assert_eq!(STANDARD.decode(full["rawBody"].as_str().unwrap()).unwrap(), big);
    assert_eq!(full["webhookMessage"]["payload"].as_str().unwrap().as_bytes(), &big[..]);
}

/// With `IngressEndpoint=HTTP_API` and no `PublicUrl` (the template's defaults), management
/// hands out URLs on the API's own domain, and a URL-bound signature (Twilio) over the URL
/// API Gateway was called at verifies in the Lambda ingress.
#[tokio::test]
async fn urls_and_url_bound_signatures_behind_api_gateway() {
    urls_and_url_bound_signatures(APIGW, None).await;
}

/// With `IngressEndpoint=FUNCTION_URL` the template gives management the function URL
/// (with its trailing slash) as the public base: handed-out URLs are on it, and the ingress
/// takes the function URL's events (the same Twilio signature check over its host).
#[tokio::test]
async fn urls_and_url_bound_signatures_through_a_function_url() {
    let fixture: Value = serde_json::from_str(FUNCTION_URL).unwrap();
    let base = format!("https://{}/", fixture["requestContext"]["domainName"].as_str().unwrap());
    urls_and_url_bound_signatures(FUNCTION_URL, Some(base)).await;
}

async fn urls_and_url_bound_signatures(ingress_template: &str, public_base: Option<String>) {
    use hmac::Mac;
    let app = hookbridge_tests::aws_app().await;
    let mgmt = hookbridge_tests::function_app(&app, "ManagementFunction").await;
    let ingress_app = hookbridge_tests::function_app(&app, "IngressFunction").await;
    let spec = hookbridge_tests::queue_spec;
    let ns = hookbridge_tests::unique("q");
    let events = app.app.backend.queues.create_queue(&spec(format!("{ns}-hookbridge-events"))).await.unwrap();
    let starts = app.app.backend.queues.create_queue(&spec(format!("{ns}-starts"))).await.unwrap();
    let management = management_of(&mgmt, events.clone(), starts.clone(), public_base.clone());
    let (status, created) = admin(
        &management,
        "POST",
        "/v1/webhooks",
        Some(json!({"name": "aws-twilio", "provider": "TWILIO", "providerSecret": "twilio-token",
            "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let binding = json!({"type": "START_PROCESS", "processDefinitionId": "sms", "queue": starts.as_str()});
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/bindings"), Some(binding)).await.0, 201);
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let (_, url) = admin(&management, "GET", &format!("/v1/webhooks/{id}/url"), None).await;
    let url = url["url"].as_str().unwrap().to_owned();
    let ingress_fixture: Value = serde_json::from_str(ingress_template).unwrap();
    let domain = match &public_base {
        // Handed out on the function URL's domain (no double slash after its trailing one).
        Some(base) => base.trim_start_matches("https://").trim_end_matches('/').to_owned(),
        None => serde_json::from_str::<Value>(APIGW_IAM).unwrap()["requestContext"]["domainName"]
            .as_str()
            .unwrap()
            .to_owned(),
    };
    assert!(url.starts_with(&format!("https://{domain}/webhooks/twilio/")), "{url}");

    // Twilio signs the URL it was given (on the ingress fixture's domain) and the form body.
    let host = ingress_fixture["headers"]["host"].as_str().unwrap();
    let path_and_query = &url[url.find("/webhooks/").unwrap()..];
    let (path, query) = path_and_query.split_once('?').unwrap();
    let called = format!("https://{host}{path_and_query}");
    let form = b"Body=hello&From=%2B14158675309";
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(b"twilio-token").unwrap();
    mac.update(format!("{called}BodyhelloFrom+14158675309").as_bytes());
    let sig = STANDARD.encode(mac.finalize().into_bytes());
    let event = |sig: &str| {
        let mut v: Value = serde_json::from_str(&apigw_event(
            ingress_template,
            "POST",
            path,
            query,
            Some(form),
            "application/x-www-form-urlencoded",
        ))
        .unwrap();
        v["headers"]["x-twilio-signature"] = json!(sig);
        v.to_string()
    };
    let ingress = ingress_app.ingress(events.clone());
    let (status, body) = invoke(&ingress, event(&sig)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = invoke(&ingress, event("AAAAAAAAAAAAAAAAAAAAAAAAAAA=")).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("SIGNATURE_INVALID")));
    assert_eq!(receive_n(&app, &events, 1).await.len(), 1);
}

/// Issue 11 item 6 (and review M3): management and ingress as separate functions, each
/// with its own cache. A reset API key and a deactivated webhook stop working on the next
/// request; a warm request costs one registry read and no secret-store call; an unknown
/// id costs no secret-store call at all.
#[tokio::test]
async fn revocation_applies_on_the_next_request_at_one_registry_read() {
    let admin_app = hookbridge_tests::aws_app().await;
    let mgmt_app = hookbridge_tests::function_app(&admin_app, "ManagementFunction").await;
    let faults = hookbridge_tests::faults::Faults::new();
    let mut ingress_app = hookbridge_tests::function_app(&admin_app, "IngressFunction").await;
    ingress_app.app.backend = faults.wrap(ingress_app.app.backend.clone());
    let spec = hookbridge_tests::queue_spec;
    let queues = &admin_app.app.backend.queues;
    let ns = hookbridge_tests::unique("q");
    let events = queues.create_queue(&spec(format!("{ns}-hookbridge-events"))).await.unwrap();
    let starts = queues.create_queue(&spec(format!("{ns}-starts"))).await.unwrap();
    let base = "https://abc123.execute-api.us-east-1.amazonaws.com";
    let management = management_of(&mgmt_app, events.clone(), starts.clone(), Some(base.into()));
    let (status, created) = admin(
        &management,
        "POST",
        "/v1/webhooks",
        Some(json!({"name": "revoked",
        "provider": "GENERIC", "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let binding = json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": starts.as_str()});
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/bindings"), Some(binding)).await.0, 201);
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let url_of = |v: Value| {
        let url = v["url"].as_str().unwrap().to_owned();
        let path = url.strip_prefix(base).unwrap().split('?').next().unwrap().to_owned();
        (path, url.split('?').nth(1).unwrap().to_owned())
    };
    let (path, old_query) = url_of(admin(&management, "GET", &format!("/v1/webhooks/{id}/url"), None).await.1);

    let ingress = ingress_app.ingress(events.clone());
    let post = |query: String| {
        let (ingress, path) = (&ingress, &path);
        async move { invoke(ingress, apigw_event(APIGW, "POST", path, &query, Some(b"{}"), "application/json")).await.0 }
    };
    assert_eq!(post(old_query.clone()).await, 200, "cold");
    let (reads, secret_reads, binding_reads) = (
        faults.calls("registry.get_webhook"),
        faults.calls("secrets.get_secret"),
        faults.calls("registry.list_bindings"),
    );
    assert_eq!(post(old_query.clone()).await, 200, "warm");
    assert_eq!(faults.calls("registry.get_webhook") - reads, 1, "one registry read per warm request");
    assert_eq!(faults.calls("secrets.get_secret") - secret_reads, 0, "no secret-store call per warm request");
    assert_eq!(faults.calls("registry.list_bindings") - binding_reads, 0);

    // The key is reset: the old one fails on the very next request, the new one works.
    let (status, reset) = admin(&management, "POST", &format!("/v1/webhooks/{id}/api-key"), None).await;
    assert_eq!(status, 200);
    let (_, new_query) = url_of(reset);
    assert_eq!(post(old_query).await, 401);
    assert_eq!(post(new_query.clone()).await, 200);
    // Deactivated: refused on the next request.
    assert_eq!(admin(&management, "POST", &format!("/v1/webhooks/{id}/deactivate"), None).await.0, 200);
    assert_eq!(post(new_query).await, 404);

    // An unknown id: no secret-store call.
    let before = faults.calls("secrets.get_secret");
    for _ in 0..50 {
        let unknown = format!("/webhooks/generic/acme/main/shop/{}", uuid::Uuid::now_v7());
        let (status, _) =
            invoke(&ingress, apigw_event(APIGW, "POST", &unknown, "apiKey=x", Some(b"{}"), "application/json")).await;
        assert_eq!(status, 404);
    }
    assert_eq!(faults.calls("secrets.get_secret"), before);
}

/// Review L5: the management Lambda checks the caller itself. A request that reached it
/// without API Gateway's IAM authorizer (a route added without `Auth`, a function URL) is
/// refused; one with the authorizer's identity is served.
#[tokio::test]
async fn management_refuses_requests_without_an_authorized_caller() {
    let admin_app = hookbridge_tests::aws_app().await;
    let mgmt = hookbridge_tests::function_app(&admin_app, "ManagementFunction").await;
    let ns = hookbridge_tests::unique("q");
    let spec = hookbridge_tests::queue_spec;
    let events = admin_app.app.backend.queues.create_queue(&spec(format!("{ns}-hookbridge-events"))).await.unwrap();
    let management = management_of(&mgmt, events.clone(), events.clone(), None);
    let (status, err) =
        invoke(&management, apigw_event(APIGW, "GET", "/v1/webhooks", "", None, "application/json")).await;
    assert_eq!((status, err["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, err) = invoke(
        &management,
        apigw_event(
            APIGW,
            "POST",
            "/v1/webhooks",
            "",
            Some(br#"{"name":"x-unauth","provider":"GENERIC","location":{"orgId":"a","workspaceId":"b","appId":"c"}}"#),
            "application/json",
        ),
    )
    .await;
    assert_eq!((status, err["code"].as_str()), (401, Some("UNAUTHORIZED")));
    let (status, _) = admin(&management, "GET", "/v1/webhooks", None).await;
    assert_eq!(status, 200, "the IAM-authorized caller is served");
}
