//! Test harness: a local runner on a free port with its own data dir, an HTTP client, and
//! backends for the contract suite (embedded SQLite in a temp dir; AWS against the moto
//! server that `make test` starts and names in `HOOKBRIDGE_TEST_AWS_ENDPOINT`).

pub mod faults;

use std::net::SocketAddr;
use std::path::Path;

use hookbridge::Backend;
use hookbridge::error::StoreError;
use hookbridge_local::{LocalConfig, Running, start};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A running local runner and what a test needs to talk to it.
pub struct TestApp {
    pub running: Running,
    pub base: String,
    pub token: String,
    pub http: reqwest::Client,
    pub dir: TempDir,
    /// What an AWS-backed runner needs kept alive (its clients).
    _keep: Option<Box<dyn std::any::Any + Send + Sync>>,
}

/// Every `.rs` file under `dir`, recursively (for the source rules in `it/rules.rs`).
pub fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// A configuration on port 0 with tests' settings.
pub fn test_config(dir: &Path) -> LocalConfig {
    let mut config = LocalConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), dir.to_owned());
    config.admin_token = Some("test-admin-token".into());
    config
}

impl TestApp {
    pub async fn spawn() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        Self::spawn_in(dir, |_| {}).await
    }

    /// The same runner on the AWS backend (DynamoDB, SQS, Secrets Manager and S3 served by
    /// the emulator `make test` starts): a fresh table, bucket and secret prefix, and queue
    /// names of its own (see [`TestQueues`]), so tests run in parallel.
    pub async fn spawn_aws() -> Self {
        Self::spawn_aws_with(|_| {}).await
    }

    /// [`TestApp::spawn_aws`], adjusting the config.
    pub async fn spawn_aws_with(adjust: impl FnOnce(&mut LocalConfig)) -> Self {
        Self::spawn_aws_wrapped(|b| b, adjust).await
    }

    fn around(running: Running, dir: TempDir, keep: Option<Box<dyn std::any::Any + Send + Sync>>) -> Self {
        let base = format!("http://{}", running.addr);
        Self {
            token: running.admin_token.expose().to_owned(),
            running,
            base,
            http: reqwest::Client::builder().no_proxy().build().expect("client"),
            dir,
            _keep: keep,
        }
    }

    /// A runner on the embedded store with its ports adjusted first (fault injection).
    pub async fn spawn_wrapped(wrap: impl FnOnce(Backend) -> Backend) -> Self {
        Self::spawn_wrapped_with(wrap, |_| {}).await
    }

    /// [`TestApp::spawn_wrapped`], adjusting the config.
    pub async fn spawn_wrapped_with(
        wrap: impl FnOnce(Backend) -> Backend,
        adjust: impl FnOnce(&mut LocalConfig),
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let (backend, _) = hookbridge::backend::local::open(dir.path()).expect("local store opens");
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let running = hookbridge_local::start_on(config, wrap(backend)).await.expect("runner starts");
        Self::around(running, dir, None)
    }

    /// [`TestApp::spawn_aws_with`] with its ports adjusted first (fault injection on the
    /// emulator's backend).
    ///
    /// Each function runs on its own backend: under IAM enforcement (see
    /// [`iam_credentials`]) with the credentials of its policy in `template.yaml`, so a call
    /// its policy does not grant fails the test.
    pub async fn spawn_aws_wrapped(wrap: impl Fn(Backend) -> Backend, adjust: impl FnOnce(&mut LocalConfig)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let aws = aws_app().await;
        let prefix = unique("q");
        let admin_queues = aws.backend().queues.clone();
        let namespaced = |mut b: Backend| {
            b.queues = std::sync::Arc::new(TestQueues::namespaced_as(b.queues.clone(), admin_queues.clone(), &prefix));
            wrap(b)
        };
        let mut functions = Vec::new();
        for f in FUNCTIONS {
            functions.push(namespaced(function_app(&aws, f).await.backend().clone()));
        }
        let [ingress, fanout, dispatch, management] = <[Backend; 4]>::try_from(functions).ok().expect("four functions");
        let backends = hookbridge_local::FunctionBackends {
            ingress,
            fanout,
            dispatch,
            management,
            operator: namespaced(aws.backend().clone()),
        };
        let mut config = test_config(dir.path());
        // Fewer pollers: every idle one is a long poll on the emulator.
        config.fanout_workers = 2;
        config.dispatch_workers = 1;
        config.settings.max_process_message_bytes = hookbridge::fanout::FanoutConfig::default().max_message_bytes;
        adjust(&mut config);
        let running = hookbridge_local::start_on_functions(config, backends).await.expect("runner starts");
        Self::around(running, dir, Some(Box::new(aws)))
    }

    /// Which backend this runner stores in.
    pub fn is_aws(&self) -> bool {
        self._keep.is_some()
    }

    /// Starts a runner on `dir` (kept, so a restart can reuse it), adjusting the config.
    pub async fn spawn_in(dir: TempDir, adjust: impl FnOnce(&mut LocalConfig)) -> Self {
        let mut config = test_config(dir.path());
        adjust(&mut config);
        let running = start(config).await.expect("runner starts");
        Self::around(running, dir, None)
    }

    /// Stops the runner and hands back its data dir.
    pub async fn stop(self) -> TempDir {
        self.running.shutdown().await;
        self.dir
    }

    pub fn backend(&self) -> &Backend {
        &self.running.backend
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token)
    }

    /// Sends an admin request and returns (status, JSON body).
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self.admin(method, path);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("body");
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// Creates a GENERIC webhook in a location and returns its id.
    pub async fn create_webhook(&self, name: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                "/v1/webhooks",
                Some(json!({"name": name, "provider": "GENERIC",
                    "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().expect("id").to_owned()
    }

    /// Binds a webhook to a process-start queue and activates it; returns its ingress URL.
    pub async fn bind_and_activate(&self, id: &str, process: &str, queue: &str) -> String {
        let (status, body) = self
            .call(
                reqwest::Method::POST,
                &format!("/v1/webhooks/{id}/bindings"),
                Some(json!({"type": "START_PROCESS", "processDefinitionId": process, "queue": queue})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
        let (status, body) = self.call(reqwest::Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
        assert_eq!(status, 200, "{body}");
        self.url_of(id).await
    }

    pub async fn url_of(&self, id: &str) -> String {
        let (status, body) = self.call(reqwest::Method::GET, &format!("/v1/webhooks/{id}/url"), None).await;
        assert_eq!(status, 200, "{body}");
        body["url"].as_str().expect("url").to_owned()
    }

    /// Receives (and deletes) up to `max` messages from a local queue, waiting up to `wait_s`
    /// seconds for the first.
    pub async fn receive(&self, queue: &str, max: u32, wait_s: u32) -> Vec<Value> {
        let (status, body) = self
            .call(reqwest::Method::POST, &format!("/local/queues/{queue}/receive?max={max}&wait={wait_s}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["messages"].as_array().expect("messages").clone()
    }

    /// Receives until `n` messages arrived (each call waits for new ones; no fixed sleeps).
    pub async fn receive_n(&self, queue: &str, n: usize) -> Vec<Value> {
        let mut got = Vec::new();
        for _ in 0..20 {
            if got.len() >= n {
                break;
            }
            got.extend(self.receive(queue, 10, 5).await);
        }
        assert_eq!(got.len(), n, "expected {n} messages on {queue}");
        got
    }
}

/// A fresh embedded backend in its own temp dir.
pub fn local_backend() -> (Backend, TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (backend, _) = hookbridge::backend::local::open(dir.path()).expect("local store opens");
    (backend, dir)
}

/// A short random suffix so parallel tests on one emulator do not collide.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The emulator `make test` starts (see `infra/with-moto.sh`).
pub fn aws_endpoint() -> String {
    std::env::var("HOOKBRIDGE_TEST_AWS_ENDPOINT")
        .expect("HOOKBRIDGE_TEST_AWS_ENDPOINT is not set: run the tests with `make test`, which starts moto")
}

/// A fresh AWS app on the emulator: its own table, bucket and secret prefix, so tests run
/// in parallel without seeing each other. Secrets are stored as the template's default
/// (`SecretStorage=ENVELOPE`); [`aws_app_with`] chooses.
pub async fn aws_app() -> hookbridge::lambda::AwsApp {
    aws_app_with(hookbridge::backend::aws::SecretStorage::Envelope).await
}

/// [`aws_app`] with the given secret storage (the data keys exist either way, as in the
/// template).
pub async fn aws_app_with(secret_storage: hookbridge::backend::aws::SecretStorage) -> hookbridge::lambda::AwsApp {
    use hookbridge::backend::aws::{AwsConfig, Clients, provision};
    let endpoint = aws_endpoint();
    let clients = Clients::new(Some(&endpoint)).await;
    let config = AwsConfig {
        table: unique("hookbridge"),
        bucket: unique("hookbridge-payloads"),
        secret_prefix: format!("{}/", unique("test")),
        endpoint_url: Some(endpoint),
        secret_storage,
    };
    provision::create_table(&clients, &config.table).await.expect("table created");
    provision::create_bucket(&clients, &config.bucket).await.expect("bucket created");
    provision::create_data_keys(&clients, &config.secret_prefix).await.expect("data keys created");
    hookbridge::lambda::AwsApp::new(clients, config, hookbridge::config::Settings::default())
}

/// The template's functions, by logical id.
pub const FUNCTIONS: [&str; 4] = ["IngressFunction", "FanoutFunction", "DispatchFunction", "ManagementFunction"];

/// The per-function credentials `infra/moto_iam.py` made when `make test` turned the
/// emulator's IAM enforcement on (`HOOKBRIDGE_TEST_IAM` names the file); `None` when the
/// emulator runs without it.
pub fn iam_credentials() -> Option<Value> {
    let path = std::env::var("HOOKBRIDGE_TEST_IAM").ok()?;
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"));
    Some(serde_json::from_str(&text).expect("IAM credentials JSON"))
}

/// `admin`'s resources seen by one function (`"IngressFunction"`, ...): under IAM
/// enforcement its clients sign with the key of a user holding exactly that function's
/// policy from `template.yaml`; otherwise the same clients as `admin`.
pub async fn function_app(admin: &hookbridge::lambda::AwsApp, function: &str) -> hookbridge::lambda::AwsApp {
    let clients = match iam_credentials() {
        Some(creds) => {
            let c = &creds[function];
            let (key, secret) =
                (c["accessKeyId"].as_str().expect("a key"), c["secretAccessKey"].as_str().expect("a secret"));
            hookbridge::backend::aws::Clients::with_credentials(Some(&aws_endpoint()), key, secret).await
        }
        None => admin.clients.clone(),
    };
    hookbridge::lambda::AwsApp::new(clients, admin.aws.clone(), admin.app.settings.clone())
}

/// [`function_app`] with every AWS call counted by `counter` (the call-count tests).
pub async fn function_app_counted(
    admin: &hookbridge::lambda::AwsApp,
    function: &str,
    counter: &hookbridge::backend::aws::calls::CallCounter,
) -> hookbridge::lambda::AwsApp {
    let (key, secret) = match iam_credentials() {
        Some(creds) => {
            let c = &creds[function];
            (
                c["accessKeyId"].as_str().expect("a key").to_owned(),
                c["secretAccessKey"].as_str().expect("a secret").to_owned(),
            )
        }
        None => ("testing".to_owned(), "testing".to_owned()),
    };
    let clients = hookbridge::backend::aws::Clients::counted(Some(&aws_endpoint()), &key, &secret, counter).await;
    hookbridge::lambda::AwsApp::new(clients, admin.aws.clone(), admin.app.settings.clone())
}

/// A queue as the template makes the events and process queues: 60 s visibility, five
/// receives, no dead-letter queue.
pub fn queue_spec(name: String) -> hookbridge::ports::QueueSpec {
    hookbridge::ports::QueueSpec {
        name,
        visibility_timeout: std::time::Duration::from_secs(60),
        max_receives: 5,
        dead_letter: None,
    }
}

/// Every port on a fresh AWS app (for the contract suite), secrets sealed under data keys.
pub async fn aws_backend() -> (Backend, hookbridge::lambda::AwsApp) {
    let app = aws_app().await;
    (app.backend().clone(), app)
}

/// [`aws_backend`] with one Secrets Manager secret per item (`SecretStorage=PER_ITEM`).
pub async fn aws_backend_per_item() -> (Backend, hookbridge::lambda::AwsApp) {
    let app = aws_app_with(hookbridge::backend::aws::SecretStorage::PerItem).await;
    (app.backend().clone(), app)
}

/// A request the test receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

impl Received {
    pub fn method_path(&self) -> (String, String) {
        (self.method.clone(), self.path.clone())
    }
}

/// An HTTP endpoint on a free loopback port that records every request and answers with
/// a status the test can change at any time (a queue of statuses, then a default).
pub struct TestReceiver {
    pub addr: std::net::SocketAddr,
    pub script: std::sync::Arc<std::sync::Mutex<(std::collections::VecDeque<u16>, u16)>>,
    /// Milliseconds every answer is held back (a slow receiver).
    pub hold_ms: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The answer's content type and body, when not the default text.
    pub reply: std::sync::Arc<std::sync::Mutex<Option<(String, String)>>>,
    pub requests: tokio::sync::Mutex<tokio::sync::mpsc::UnboundedReceiver<Received>>,
}

impl TestReceiver {
    pub async fn start() -> Self {
        use axum::extract::Request;
        use std::sync::{Arc, Mutex};
        let script = Arc::new(Mutex::new((std::collections::VecDeque::new(), 200u16)));
        let hold_ms = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let reply: Arc<Mutex<Option<(String, String)>>> = Arc::new(Mutex::new(None));
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let s = script.clone();
        let hold = hold_ms.clone();
        let r = reply.clone();
        let app = axum::Router::new().fallback(move |req: Request| {
            let (s, tx, hold, reply) = (s.clone(), tx.clone(), hold.clone(), r.clone());
            async move {
                let (parts, body) = req.into_parts();
                let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
                let status = {
                    let mut g = s.lock().unwrap();
                    let d = g.1;
                    g.0.pop_front().unwrap_or(d)
                };
                let _ = tx.send(Received {
                    method: parts.method.to_string(),
                    path: parts.uri.path().to_owned(),
                    query: parts.uri.query().map(str::to_owned),
                    headers: parts.headers,
                    body,
                });
                let held = hold.load(std::sync::atomic::Ordering::SeqCst);
                if held > 0 {
                    tokio::time::sleep(std::time::Duration::from_millis(held)).await;
                }
                let custom = reply.lock().unwrap().clone();
                let text = custom.as_ref().map_or_else(|| format!("answered {status}"), |(_, b)| b.clone());
                let mut resp = axum::response::Response::new(axum::body::Body::from(text));
                *resp.status_mut() = http::StatusCode::from_u16(status).unwrap();
                if let Some((ct, _)) = custom {
                    resp.headers_mut().insert("content-type", http::HeaderValue::from_str(&ct).unwrap());
                }
                if status == 302 {
                    resp.headers_mut().insert("location", http::HeaderValue::from_static("/elsewhere"));
                }
                resp
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, script, hold_ms, reply, requests: tokio::sync::Mutex::new(rx) }
    }

    /// Answer with this content type and body from now on.
    pub fn reply_with(&self, content_type: &str, body: &str) {
        *self.reply.lock().unwrap() = Some((content_type.to_owned(), body.to_owned()));
    }

    /// Answer these statuses first, then `default`.
    pub fn answer(&self, first: &[u16], default: u16) {
        let mut g = self.script.lock().unwrap();
        g.0 = first.iter().copied().collect();
        g.1 = default;
    }

    /// The next request, waiting up to 10 s.
    pub async fn next(&self) -> Received {
        let mut rx = self.requests.lock().await;
        tokio::time::timeout(std::time::Duration::from_secs(10), rx.recv())
            .await
            .expect("a request within 10 s")
            .expect("receiver running")
    }

    /// True if no request arrives within `ms` milliseconds.
    pub async fn quiet_for(&self, ms: u64) -> bool {
        let mut rx = self.requests.lock().await;
        tokio::time::timeout(std::time::Duration::from_millis(ms), rx.recv()).await.is_err()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Polls `check` until it yields a value (condition-based waiting, bounded at 10 s).
pub async fn eventually<T, F, Fut>(mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "condition not reached within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// The local runner as its own OS process on a data dir it keeps across restarts, for
/// crash tests: `kill -9` it and start it again on the same dir and port.
pub struct ProcessRunner {
    pub child: std::process::Child,
    pub base: String,
    pub port: u16,
    pub dir: std::path::PathBuf,
    bin: std::path::PathBuf,
    token: String,
}

impl ProcessRunner {
    /// `hookbridge-local` from the same build as the running test (`make test` builds it).
    pub fn binary() -> std::path::PathBuf {
        let exe = std::env::current_exe().expect("test executable");
        let dir = exe.parent().and_then(|d| d.parent()).expect("target profile dir");
        let bin = dir.join("hookbridge-local");
        assert!(bin.exists(), "{} is missing: `make test` builds it (cargo build -p hookbridge-local)", bin.display());
        bin
    }

    pub async fn start(http: &reqwest::Client, dir: &Path, token: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut r = Self {
            child: Self::spawn(&Self::binary(), dir, port, token),
            base: format!("http://127.0.0.1:{port}"),
            port,
            dir: dir.to_owned(),
            bin: Self::binary(),
            token: token.to_owned(),
        };
        r.ready(http).await;
        r
    }

    fn spawn(bin: &Path, dir: &Path, port: u16, token: &str) -> std::process::Child {
        std::process::Command::new(bin)
            .env("HOOKBRIDGE_ADDR", format!("127.0.0.1:{port}"))
            .env("HOOKBRIDGE_DATA_DIR", dir)
            .env("HOOKBRIDGE_ADMIN_TOKEN", token)
            .env("RUST_LOG", "error")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("runner starts")
    }

    /// Waits until it answers (bounded: 20 s).
    pub async fn ready(&mut self, http: &reqwest::Client) {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let ok = http.get(format!("{}/v1/webhooks?limit=1", self.base)).bearer_auth(&self.token).send().await;
            if ok.is_ok_and(|r| r.status().is_success()) {
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "the runner did not come up");
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the runner exited: {status}");
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown, no flush, nothing but what was committed survives.
    pub fn kill9(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// Starts it again on the same data dir and port.
    pub async fn restart(&mut self, http: &reqwest::Client) {
        self.child = Self::spawn(&self.bin, &self.dir, self.port, &self.token);
        self.ready(http).await;
    }
}

impl Drop for ProcessRunner {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Helpers the load benchmarks share: the release runner as its own process.
pub mod bench {
    use std::process::{Child, Command, Stdio};
    use std::time::Duration;

    /// An admin call to a runner process; panics unless it succeeds; the JSON answer.
    pub async fn admin(
        http: &reqwest::Client,
        base: &str,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> serde_json::Value {
        let mut req = http.request(method, format!("{base}{path}")).bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("admin call");
        assert!(resp.status().is_success(), "{path}: {}", resp.status());
        resp.json().await.unwrap_or(serde_json::Value::Null)
    }

    /// A GENERIC webhook bound to start a process through `queue`, active; its URL.
    pub async fn started_webhook(http: &reqwest::Client, base: &str, token: &str, name: &str, queue: &str) -> String {
        use reqwest::Method;
        let location = serde_json::json!({"orgId": "o", "workspaceId": "w", "appId": "a"});
        let body = serde_json::json!({"name": name, "provider": "GENERIC", "location": location});
        let created = admin(http, base, token, Method::POST, "/v1/webhooks", Some(body)).await;
        let id = created["id"].as_str().expect("an id").to_owned();
        let binding = serde_json::json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": queue});
        admin(http, base, token, Method::POST, &format!("/v1/webhooks/{id}/bindings"), Some(binding)).await;
        admin(http, base, token, Method::POST, &format!("/v1/webhooks/{id}/activate"), None).await;
        let url = admin(http, base, token, Method::GET, &format!("/v1/webhooks/{id}/url"), None).await;
        url["url"].as_str().expect("a URL").to_owned()
    }

    /// A number from the environment, or `default`.
    pub fn env_num(var: &str, default: usize) -> usize {
        std::env::var(var).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
    }

    /// The middle value of a set of runs.
    pub fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[v.len() / 2]
    }

    /// `target/release/hookbridge-local` running on a free port with a fresh data dir;
    /// killed and reaped when dropped.
    pub struct ReleaseRunner {
        pub child: Child,
        pub base: String,
        _dir: tempfile::TempDir,
    }

    impl Drop for ReleaseRunner {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    impl ReleaseRunner {
        /// Starts it with `token` as admin token and waits until it answers.
        pub async fn start(http: &reqwest::Client, token: &str) -> Self {
            let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/release/hookbridge-local");
            assert!(bin.exists(), "build the runner first: cargo build --release -p hookbridge-local");
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = Command::new(bin)
                .env("HOOKBRIDGE_ADDR", format!("127.0.0.1:{port}"))
                .env("HOOKBRIDGE_DATA_DIR", dir.path())
                .env("HOOKBRIDGE_ADMIN_TOKEN", token)
                .env("RUST_LOG", "warn")
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap();
            // Owned at once, so the process is killed and reaped on every path (Drop).
            let runner = Self { child, base: format!("http://127.0.0.1:{port}"), _dir: dir };
            // Readiness: the runner answers once it listens.
            for _ in 0..500 {
                if http.get(format!("{}/v1/webhooks", runner.base)).bearer_auth(token).send().await.is_ok() {
                    return runner;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            panic!("the runner did not start");
        }
    }
}

/// The queues tests run on: the real backend's, optionally under a per-test name prefix and
/// optionally with an outage switch. With a prefix every queue name `n` is `{prefix}-n` on
/// the emulator, and a queue named for the first time is created (the embedded store creates
/// queues on use; tests bind webhooks to queue names freely). While `down` is set every send
/// fails as a whole, as SQS does when unreachable.
pub struct TestQueues {
    inner: std::sync::Arc<dyn hookbridge::ports::Queues>,
    /// Creates the queues a test names (the operator: no function may create queues).
    creator: std::sync::Arc<dyn hookbridge::ports::Queues>,
    prefix: Option<String>,
    down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    urls: tokio::sync::Mutex<std::collections::HashMap<String, hookbridge::domain::QueueRef>>,
}

impl TestQueues {
    pub fn namespaced(inner: std::sync::Arc<dyn hookbridge::ports::Queues>, prefix: &str) -> Self {
        Self::namespaced_as(inner.clone(), inner, prefix)
    }

    /// Namespaced, creating queues through `creator`.
    pub fn namespaced_as(
        inner: std::sync::Arc<dyn hookbridge::ports::Queues>,
        creator: std::sync::Arc<dyn hookbridge::ports::Queues>,
        prefix: &str,
    ) -> Self {
        Self { inner, creator, prefix: Some(prefix.to_owned()), down: Default::default(), urls: Default::default() }
    }

    pub fn with_outage(
        inner: std::sync::Arc<dyn hookbridge::ports::Queues>,
        down: std::sync::Arc<std::sync::atomic::AtomicBool>,
    ) -> Self {
        Self { creator: inner.clone(), inner, prefix: None, down, urls: Default::default() }
    }

    async fn resolve(&self, q: &hookbridge::domain::QueueRef) -> Result<hookbridge::domain::QueueRef, StoreError> {
        let Some(prefix) = &self.prefix else { return Ok(q.clone()) };
        if q.is_url() {
            return Ok(q.clone());
        }
        let mut urls = self.urls.lock().await;
        if let Some(u) = urls.get(q.name()) {
            return Ok(u.clone());
        }
        let spec = hookbridge::ports::QueueSpec {
            name: format!("{prefix}-{}", q.name()),
            visibility_timeout: std::time::Duration::from_secs(30),
            max_receives: 0,
            dead_letter: None,
        };
        let url = self.creator.create_queue(&spec).await?;
        urls.insert(q.name().to_owned(), url.clone());
        Ok(url)
    }
}

#[async_trait::async_trait]
impl hookbridge::ports::Queues for TestQueues {
    async fn create_queue(
        &self,
        spec: &hookbridge::ports::QueueSpec,
    ) -> Result<hookbridge::domain::QueueRef, StoreError> {
        let mut spec = spec.clone();
        if let Some(prefix) = &self.prefix {
            spec.name = format!("{prefix}-{}", spec.name);
        }
        if let Some(dlq) = &spec.dead_letter {
            spec.dead_letter = Some(self.resolve(dlq).await?);
        }
        self.creator.create_queue(&spec).await
    }

    async fn send_batch(
        &self,
        queue: &hookbridge::domain::QueueRef,
        messages: &[hookbridge::ports::OutgoingMessage],
    ) -> Result<Vec<Result<(), hookbridge::ports::SendFailure>>, StoreError> {
        if self.down.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(StoreError::msg("queue service unreachable (injected)"));
        }
        self.inner.send_batch(&self.resolve(queue).await?, messages).await
    }

    async fn receive(
        &self,
        queue: &hookbridge::domain::QueueRef,
        max: u32,
        visibility: std::time::Duration,
        wait: std::time::Duration,
    ) -> Result<Vec<hookbridge::ports::ReceivedMessage>, StoreError> {
        self.inner.receive(&self.resolve(queue).await?, max, visibility, wait).await
    }

    async fn delete(&self, queue: &hookbridge::domain::QueueRef, receipt_handle: &str) -> Result<(), StoreError> {
        self.inner.delete(&self.resolve(queue).await?, receipt_handle).await
    }

    async fn delete_batch(
        &self,
        queue: &hookbridge::domain::QueueRef,
        receipt_handles: &[String],
    ) -> Result<(), StoreError> {
        self.inner.delete_batch(&self.resolve(queue).await?, receipt_handles).await
    }

    async fn change_visibility(
        &self,
        queue: &hookbridge::domain::QueueRef,
        receipt_handle: &str,
        timeout: std::time::Duration,
    ) -> Result<(), StoreError> {
        self.inner.change_visibility(&self.resolve(queue).await?, receipt_handle, timeout).await
    }

    async fn depth(&self, queue: &hookbridge::domain::QueueRef) -> Result<u64, StoreError> {
        self.inner.depth(&self.resolve(queue).await?).await
    }
}

/// Runs an async test body once per backend: `mod local` on the embedded store and `mod aws`
/// on the emulator, each test taking a started [`TestApp`]. `with adjust;` first changes the
/// runner's config (`fn(&mut LocalConfig)`) on both.
#[macro_export]
macro_rules! on_both_backends {
    (with $adjust:path; $($name:ident),* $(,)?) => {
        mod local {
            $(
                #[tokio::test]
                async fn $name() {
                    let dir = tempfile::tempdir().expect("temp dir");
                    super::$name($crate::TestApp::spawn_in(dir, $adjust).await).await;
                }
            )*
        }
        mod aws {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name($crate::TestApp::spawn_aws_with($adjust).await).await;
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        $crate::on_both_backends!(with $crate::unchanged; $($name),*);
    };
}

/// The config as it is (for [`on_both_backends!`]).
pub fn unchanged(_: &mut LocalConfig) {}
