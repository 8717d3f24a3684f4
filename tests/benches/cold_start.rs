//! Cold start of each Lambda binary (release build, this machine's architecture): the
//! binary is started as Lambda starts it, against a fake Lambda Runtime API served here
//! (`AWS_LAMBDA_RUNTIME_API`), with the AWS services of the emulator `make test` starts.
//!
//! - **init**: from exec to the runtime's first `GET /runtime/invocation/next` (tracing,
//!   configuration, SDK clients, warming the connections);
//! - **first invocation**: from handing out the first event to its response being posted
//!   (a real event of the function's kind: an API Gateway request to a bound webhook, an
//!   SQS batch, a management call).
//!
//! `make bench-cold-start` builds the binaries and runs this under the emulator;
//! COLD_START_RUNS (default 5) starts per function. Figures: BENCHMARKS.md.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::Notify;

const APIGW: &str = include_str!("../fixtures/apigw-v2-request.json");
const APIGW_IAM: &str = include_str!("../fixtures/apigw-v2-request-iam.json");
const SQS: &str = include_str!("../fixtures/sqs-event-two-records.json");

#[derive(Default)]
struct Runtime {
    events: Mutex<std::collections::VecDeque<String>>,
    first_next: Mutex<Option<Instant>>,
    handed_out: Mutex<Vec<Instant>>,
    answered: Mutex<Vec<(Instant, String, bool)>>,
    expected: usize,
    done: Notify,
}

async fn next(State(rt): State<Arc<Runtime>>) -> axum::response::Response {
    let now = Instant::now();
    rt.first_next.lock().unwrap().get_or_insert(now);
    let Some(event) = rt.events.lock().unwrap().pop_front() else {
        // Every event handed out: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
        unreachable!()
    };
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", "8476a536-e9f4-11e8-9739-2dfe598c3fcd".parse().unwrap());
    let deadline = chrono::Utc::now().timestamp_millis() + 30_000;
    headers.insert("lambda-runtime-deadline-ms", deadline.to_string().parse().unwrap());
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        "arn:aws:lambda:us-east-1:123456789012:function:cold-start".parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1".parse().unwrap(),
    );
    rt.handed_out.lock().unwrap().push(Instant::now());
    (headers, event).into_response()
}

async fn answer(State(rt): State<Arc<Runtime>>, Path((_, kind)): Path<(String, String)>, body: String) -> &'static str {
    let mut answered = rt.answered.lock().unwrap();
    answered.push((Instant::now(), body, kind == "response"));
    if answered.len() == rt.expected || kind != "response" {
        rt.done.notify_one();
    }
    "{}"
}

async fn init_error(State(rt): State<Arc<Runtime>>, body: String) -> &'static str {
    rt.answered.lock().unwrap().push((Instant::now(), body, false));
    rt.done.notify_one();
    "{}"
}

struct Sample {
    init: Duration,
    first: Duration,
    /// The invocations after the first, each from hand-out to response.
    warm: Vec<Duration>,
}

/// One start of the binary, handed `events` one after the other.
async fn start_once(binary: &std::path::Path, env: &[(String, String)], events: Vec<String>) -> Sample {
    let rt = Arc::new(Runtime { expected: events.len(), events: Mutex::new(events.into()), ..Runtime::default() });
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(answer))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let exec = Instant::now();
    let mut child = std::process::Command::new(binary)
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the function binary starts");
    tokio::time::timeout(Duration::from_secs(30), rt.done.notified()).await.expect("an answer within 30 s");
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let answered = rt.answered.lock().unwrap().clone();
    let handed = rt.handed_out.lock().unwrap().clone();
    for (_, body, ok) in &answered {
        assert!(ok, "{}: {body}", binary.display());
        assert!(
            !body.contains("\"statusCode\":5") && !body.contains("batchItemFailures\":[{"),
            "{}: {body}",
            binary.display()
        );
    }
    assert_eq!(answered.len(), handed.len());
    let first_next = rt.first_next.lock().unwrap().expect("polled");
    let mut latencies = answered.iter().zip(&handed).map(|((at, _, _), h)| *at - *h);
    let first = latencies.next().expect("one answer");
    Sample { init: first_next - exec, first, warm: latencies.collect() }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn apigw(template: &str, method: &str, path: &str, query: &str, body: Option<&str>) -> String {
    let mut v: Value = serde_json::from_str(template).unwrap();
    v["rawPath"] = json!(path);
    v["rawQueryString"] = json!(query);
    v["requestContext"]["http"]["method"] = json!(method);
    v["requestContext"]["http"]["path"] = json!(path);
    v["headers"]["content-type"] = json!("application/json");
    if let Some(b) = body {
        v["body"] = json!(b);
        v["headers"]["content-length"] = json!(b.len().to_string());
    }
    v.to_string()
}

fn sqs(bodies: &[String]) -> String {
    let v: Value = serde_json::from_str(SQS).unwrap();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let mut r = v["Records"][0].clone();
            r["messageId"] = json!(format!("m-{i}"));
            r["body"] = json!(b);
            r
        })
        .collect();
    json!({ "Records": records }).to_string()
}

#[tokio::main]
async fn main() {
    let runs: usize = std::env::var("COLD_START_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(5);
    let bin_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release");
    let endpoint = hookbridge_tests::aws_endpoint();
    let app = hookbridge_tests::aws_app().await;
    let spec = hookbridge_tests::queue_spec;
    let ns = hookbridge_tests::unique("q");
    let q = |name: &str| spec(format!("{ns}-{name}"));
    let queues = &app.app.backend.queues;
    let events = queues.create_queue(&q("hookbridge-events")).await.unwrap();
    let starts = queues.create_queue(&q("starts")).await.unwrap();
    let dispatch = queues.create_queue(&q("hookbridge-dispatch")).await.unwrap();

    // A bound, active GENERIC webhook made through the management router in-process.
    let dq = hookbridge::ports::DispatchQueues { deliveries: dispatch.clone(), dead_letter: dispatch.clone() };
    let management = app.management_with(Arc::new(app.dispatcher(dq).unwrap()), events.clone(), None);
    let call = |method: &str, path: &str, body: Option<Value>| {
        let event = apigw(APIGW_IAM, method, path, "", body.map(|b| b.to_string()).as_deref());
        let router = management.clone();
        async move {
            use tower::ServiceExt;
            let req = lambda_http::request::from_str(&event).unwrap();
            let resp = router.oneshot(req).await.unwrap();
            let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
            serde_json::from_slice::<Value>(&bytes).unwrap_or(Value::Null)
        }
    };
    let made = call("POST", "/v1/webhooks", Some(json!({"name": "cold", "provider": "GENERIC", "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}}))).await;
    let id = made["id"].as_str().expect("created").to_owned();
    call(
        "POST",
        &format!("/v1/webhooks/{id}/bindings"),
        Some(json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": starts.as_str()})),
    )
    .await;
    call("POST", &format!("/v1/webhooks/{id}/activate"), None).await;
    let url = call("GET", &format!("/v1/webhooks/{id}/url"), None).await["url"].as_str().unwrap().to_owned();
    let path_query = &url[url.find("/webhooks/").unwrap()..];
    let (path, query) = path_query.split_once('?').unwrap();
    let body = json!({"order": {"id": 42, "note": "x".repeat(980)}}).to_string();

    // Real events-queue messages for the fan-out: events accepted by the ingress in-process
    // (each run's first alone, then warm batches of ten).
    const WARM: usize = 20;
    let per_run = 1 + WARM * 10;
    let ingress = app.ingress(events.clone());
    for _ in 0..runs * per_run {
        use tower::ServiceExt;
        let req = lambda_http::request::from_str(&apigw(APIGW, "POST", path, query, Some(&body))).unwrap();
        assert_eq!(ingress.clone().oneshot(req).await.unwrap().status(), 200);
    }
    let mut event_messages = Vec::new();
    while event_messages.len() < runs * per_run {
        for m in queues.receive(&events, 10, Duration::from_secs(300), Duration::from_secs(1)).await.unwrap() {
            event_messages.push(m.body);
        }
    }
    let outbound = |n: usize| {
        json!({"id": format!("cold-{n}"), "type": "user.created", "occurredAt": "2026-12-02T05:00:00Z", "data": {}})
            .to_string()
    };

    let common: Vec<(String, String)> = [
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/cold-start"),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/12/02/[$LATEST]cold"),
        ("HOOKBRIDGE_TABLE", app.aws.table.as_str()),
        ("HOOKBRIDGE_PAYLOAD_BUCKET", app.aws.bucket.as_str()),
        ("HOOKBRIDGE_SECRET_PREFIX", app.aws.secret_prefix.as_str()),
        ("HOOKBRIDGE_SECRET_STORAGE", "ENVELOPE"),
        ("HOOKBRIDGE_EVENTS_QUEUE_URL", events.as_str()),
        ("HOOKBRIDGE_DISPATCH_QUEUE_URL", dispatch.as_str()),
        ("HOOKBRIDGE_DISPATCH_DLQ_URL", dispatch.as_str()),
        ("RUST_LOG", "info"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();

    // What the emulator itself takes for the warm ingress's two calls (its webhook read and
    // its queue send), made directly with the ingress's credentials (the emulator evaluates
    // its policy on each): the part of a warm invocation that is not hookbridge's.
    let as_ingress = hookbridge_tests::function_app(&app, "IngressFunction").await;
    let mut direct = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        as_ingress.app.backend.registry.get_webhook(&id.parse().unwrap()).await.unwrap();
        let send = [hookbridge::ports::OutgoingMessage::new(body.clone())];
        as_ingress.app.backend.queues.send_batch(&events, &send).await.unwrap();
        direct.push(ms(t.elapsed()));
    }
    println!(
        "emulator round trips of the ingress's two calls (GetItem + SendMessageBatch), made directly: median {:.1} ms\n",
        hookbridge_tests::bench::median(direct)
    );
    println!(
        "| Function | binary (x86_64, MB) | init median (ms) | init max (ms) | first invocation median (ms) | first invocation max (ms) | warm invocation median (ms) |"
    );
    println!("|---|---|---|---|---|---|---|");
    for function in ["ingress", "fanout", "dispatch", "management"] {
        let binary = bin_dir.join(format!("hookbridge-{function}"));
        let size = std::fs::metadata(&binary)
            .unwrap_or_else(|_| panic!("{} is not built: run `make bench-cold-start`", binary.display()))
            .len();
        let mut env = common.clone();
        env.push(("AWS_LAMBDA_FUNCTION_NAME".into(), format!("hookbridge-{function}")));
        // The function's own policy (the emulator enforces IAM under `make`), else the
        // environment's credentials.
        let logical = format!("{}{}Function", function[..1].to_uppercase(), &function[1..]);
        if let Some(creds) = hookbridge_tests::iam_credentials() {
            let c = &creds[logical.as_str()];
            env.push(("AWS_ACCESS_KEY_ID".into(), c["accessKeyId"].as_str().unwrap().into()));
            env.push(("AWS_SECRET_ACCESS_KEY".into(), c["secretAccessKey"].as_str().unwrap().into()));
        }
        let mut inits = Vec::new();
        let mut firsts = Vec::new();
        let mut warm = Vec::new();
        for n in 0..runs {
            // The first event alone, then WARM more (fan-out: batches of ten, as an SQS
            // event source hands them over).
            let events: Vec<String> = match function {
                "ingress" => (0..=WARM).map(|_| apigw(APIGW, "POST", path, query, Some(&body))).collect(),
                "fanout" => {
                    let mine = &event_messages[n * per_run..(n + 1) * per_run];
                    std::iter::once(sqs(&mine[..1])).chain(mine[1..].chunks(10).map(sqs)).collect()
                }
                "dispatch" => (0..=WARM).map(|i| sqs(&[outbound(n * 100 + i)])).collect(),
                _ => (0..=WARM).map(|_| apigw(APIGW_IAM, "GET", "/v1/webhooks", "", None)).collect(),
            };
            let s = start_once(&binary, &env, events).await;
            inits.push(ms(s.init));
            firsts.push(ms(s.first));
            warm.extend(s.warm.into_iter().map(ms));
        }
        let max = |v: &[f64]| v.iter().cloned().fold(0.0, f64::max);
        println!(
            "| {function} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} | {:.1} |",
            size as f64 / 1e6,
            hookbridge_tests::bench::median(inits.clone()),
            max(&inits),
            hookbridge_tests::bench::median(firsts.clone()),
            max(&firsts),
            hookbridge_tests::bench::median(warm),
        );
    }
}
