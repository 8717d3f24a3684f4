//! The local runner: every hookbridge function in one process on the embedded SQLite
//! store. One listener serves the ingress and management routers (the same ones the Lambda
//! functions serve) plus `/local/*` helpers; workers drive the fan-out from the local
//! events queue with Lambda's `SqsEvent` batches.

mod local_routes;
mod oidc;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::{self, Next};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hookbridge::app::App;
use hookbridge::config::{ConfigError, Settings, number, optional, seconds};
use hookbridge::dispatch::AllowList;
use hookbridge::domain::QueueRef;
use hookbridge::error::{StoreError, with_json_fallbacks};
use hookbridge::ingress::ClientAddr;
use hookbridge::management;
use hookbridge::ports::{DispatchQueues, QueueSpec};
use hookbridge::runtime::{PollConfig, drive_queue};
use hookbridge::secret::SecretString;
use rand::RngCore;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// The events queue's name in local mode, and its dead-letter queue.
pub const EVENTS_QUEUE: &str = "hookbridge-events";
pub const EVENTS_DLQ: &str = "hookbridge-events-dlq";
/// Deliveries waiting for an attempt, and exhausted ones.
pub const DISPATCH_QUEUE: &str = "hookbridge-dispatch";
pub const DISPATCH_DLQ: &str = "hookbridge-dispatch-dlq";

/// The local runner's own settings; what the functions share is in [`Settings`]
/// (defaults: [`Settings::local`]).
#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// `HOOKBRIDGE_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `HOOKBRIDGE_DATA_DIR`, default `./.hookbridge`.
    pub data_dir: PathBuf,
    /// `HOOKBRIDGE_ADMIN_TOKEN`; when unset, one is generated once and kept in the data dir.
    pub admin_token: Option<String>,
    /// `HOOKBRIDGE_FANOUT_WORKERS`, default 8.
    pub fanout_workers: usize,
    /// `HOOKBRIDGE_VISIBILITY_TIMEOUT_SECS`: how long a failed batch waits before retry, default 30.
    pub visibility: Duration,
    /// `HOOKBRIDGE_DISPATCH_WORKERS`, default 4.
    pub dispatch_workers: usize,
    /// `HOOKBRIDGE_DISPATCH_VISIBILITY_SECS`: how long a delivery message whose attempt could
    /// not be recorded waits before it is tried again (default 120, longer than a 60 s call).
    pub dispatch_visibility: Duration,
    pub settings: Settings,
}

impl LocalConfig {
    /// Defaults for a given data dir and address (tests use port 0).
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            addr,
            data_dir,
            admin_token: None,
            fanout_workers: 8,
            visibility: Duration::from_secs(30),
            dispatch_workers: 4,
            dispatch_visibility: Duration::from_secs(120),
            settings: Settings::local(),
        }
    }

    /// [`LocalConfig::new`]'s defaults with the environment read over them.
    pub fn from_env() -> Result<Self, ConfigError> {
        let addr = optional("HOOKBRIDGE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        let addr = addr
            .parse()
            .map_err(|_| ConfigError { var: "HOOKBRIDGE_ADDR", reason: format!("{addr:?} is not host:port") })?;
        let d = Self::new(addr, optional("HOOKBRIDGE_DATA_DIR").unwrap_or_else(|| "./.hookbridge".into()).into());
        Ok(Self {
            admin_token: optional("HOOKBRIDGE_ADMIN_TOKEN"),
            fanout_workers: number("HOOKBRIDGE_FANOUT_WORKERS", d.fanout_workers)?,
            visibility: seconds("HOOKBRIDGE_VISIBILITY_TIMEOUT_SECS", d.visibility)?,
            dispatch_workers: number("HOOKBRIDGE_DISPATCH_WORKERS", d.dispatch_workers)?,
            dispatch_visibility: seconds("HOOKBRIDGE_DISPATCH_VISIBILITY_SECS", d.dispatch_visibility)?,
            settings: Settings::from_env(d.settings.clone())?,
            ..d
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot build the outbound HTTP client: {0}")]
    Client(String),
    #[error("cannot keep the admin token in {path}: {source}")]
    Token { path: PathBuf, source: std::io::Error },
}

/// A started runner. Dropping it does not stop it; call [`Running::shutdown`].
pub struct Running {
    pub addr: SocketAddr,
    pub admin_token: SecretString,
    pub public_url: String,
    pub backend: hookbridge::Backend,
    /// The outbound allow-list in force (printed at start).
    pub allow_targets: AllowList,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Running {
    /// Stops accepting, finishes requests and batches in progress, and returns when done.
    /// Everything acknowledged is already committed; nothing in flight is lost (unacknowledged
    /// queue messages come back after their visibility timeout).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        while self.tasks.join_next().await.is_some() {}
    }
}

/// Opens the store, binds the listener and starts the workers.
pub async fn start(config: LocalConfig) -> Result<Running, StartError> {
    let (backend, _local_queues) = hookbridge::backend::local::open(&config.data_dir)?;
    start_on(config, backend).await
}

/// Runs every function on a given backend: the embedded store normally; tests also run the
/// same HTTP surface on the AWS backend (against the emulator).
pub async fn start_on(config: LocalConfig, backend: hookbridge::Backend) -> Result<Running, StartError> {
    start_on_functions(config, FunctionBackends::all(backend)).await
}

/// Each function's view of the stores. In Lambda each function calls AWS with its own role;
/// the IAM-enforced tests give each one here the credentials of its role's policy.
#[derive(Clone)]
pub struct FunctionBackends {
    pub ingress: hookbridge::Backend,
    pub fanout: hookbridge::Backend,
    pub dispatch: hookbridge::Backend,
    pub management: hookbridge::Backend,
    /// What the runner itself does (creating its queues) and `/local/*` (a process engine
    /// reading its queues): the operator's, not a function's.
    pub operator: hookbridge::Backend,
}

impl FunctionBackends {
    /// One backend for everything (the embedded store).
    pub fn all(backend: hookbridge::Backend) -> Self {
        Self {
            ingress: backend.clone(),
            fanout: backend.clone(),
            dispatch: backend.clone(),
            management: backend.clone(),
            operator: backend,
        }
    }
}

/// [`start_on`] with each function on its own backend.
pub async fn start_on_functions(config: LocalConfig, backends: FunctionBackends) -> Result<Running, StartError> {
    let admin_token = admin_token(&config)?;
    let backend = backends.operator.clone();
    let mut settings = config.settings.clone();

    let (events, _) =
        queue_with_dlq(&backend, EVENTS_QUEUE, EVENTS_DLQ, settings.max_receives, config.visibility).await?;
    let (deliveries, dispatch_dlq) =
        queue_with_dlq(&backend, DISPATCH_QUEUE, DISPATCH_DLQ, 20, config.visibility).await?;

    let listener =
        TcpListener::bind(config.addr).await.map_err(|source| StartError::Listen { addr: config.addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.addr, source })?;
    let public_url = settings.public_url.get_or_insert_with(|| format!("http://{addr}")).clone();

    // One application, one cache: each function sees it through its own backend, and a
    // management change invalidates the cache the ingress and fan-out read at once.
    let app = App::new(backends.management.clone(), settings);
    let dispatcher = Arc::new(
        app.dispatcher(DispatchQueues { deliveries: deliveries.clone(), dead_letter: dispatch_dlq })
            .map_err(|e| StartError::Client(e.to_string()))?,
    );
    // The dispatch workers and `/local/events` (the dispatch function's direct invocation)
    // call the stores as the dispatch function; they share the management's caches.
    let worker_dispatcher = Arc::new(dispatcher.for_backend(backends.dispatch.clone()));
    let management = app.management_state(dispatcher.clone(), events.clone(), Some(admin_token.clone()));
    let local = app.with_backend(backend.clone()).management_state(
        worker_dispatcher.clone(),
        events.clone(),
        Some(admin_token.clone()),
    );
    let router = with_json_fallbacks(
        Router::new()
            .merge(app.with_backend(backends.ingress.clone()).ingress(events.clone()))
            .merge(management::router(management))
            .merge(hookbridge::openapi::route())
            .merge(app.console(true))
            .route("/", axum::routing::get(|| async { axum::response::Redirect::temporary("/console") }))
            .merge(local_routes::router(local)),
    )
    .layer(middleware::from_fn(client_addr));
    // Without API Gateway in front, the runner checks console JWTs itself.
    let router = match app.settings.oidc.clone() {
        Some(o) => router.layer(middleware::from_fn_with_state(Arc::new(oidc::JwtCheck::new(o)), oidc::authenticate)),
        None => router,
    };

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut server_stop = stopped.clone();
    tasks.spawn(async move {
        let served = axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "server stopped");
        }
    });

    let fanout = Arc::new(app.with_backend(backends.fanout.clone()).fanout());
    let poll = PollConfig { visibility: config.visibility, ..PollConfig::default() };
    for _ in 0..config.fanout_workers.max(1) {
        let fanout = fanout.clone();
        tasks.spawn(drive_queue(
            backends.fanout.queues.clone(),
            events.clone(),
            poll.clone(),
            move |event| {
                let fanout = fanout.clone();
                async move { fanout.handle(event).await }
            },
            stopped.clone(),
        ));
    }

    let dispatch_poll = PollConfig { visibility: config.dispatch_visibility, ..PollConfig::default() };
    for _ in 0..config.dispatch_workers.max(1) {
        let dispatcher = worker_dispatcher.clone();
        tasks.spawn(drive_queue(
            backends.dispatch.queues.clone(),
            deliveries.clone(),
            dispatch_poll.clone(),
            move |event| {
                let dispatcher = dispatcher.clone();
                async move { dispatcher.handle_sqs(event).await }
            },
            stopped.clone(),
        ));
    }

    Ok(Running { addr, admin_token, public_url, backend, allow_targets: app.settings.allow_targets, stop, tasks })
}

/// Creates a queue and its dead-letter queue (messages move there after `max_receives`).
async fn queue_with_dlq(
    backend: &hookbridge::Backend,
    name: &str,
    dlq: &str,
    max_receives: u32,
    visibility: Duration,
) -> Result<(QueueRef, QueueRef), StoreError> {
    let spec = |name: &str, max_receives, dead_letter| QueueSpec {
        name: name.to_owned(),
        visibility_timeout: visibility,
        max_receives,
        dead_letter,
    };
    let dlq = backend.queues.create_queue(&spec(dlq, 0, None)).await?;
    let queue = backend.queues.create_queue(&spec(name, max_receives, Some(dlq.clone()))).await?;
    Ok((queue, dlq))
}

/// Makes the socket's peer address known to the ingress (for `X-Forwarded-For`).
async fn client_addr(mut req: Request, next: Next) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        req.extensions_mut().insert(ClientAddr(peer.ip()));
    }
    next.run(req).await
}

/// The configured token, else the one kept in the data dir, else a new one kept there.
fn admin_token(config: &LocalConfig) -> Result<SecretString, StartError> {
    if let Some(t) = &config.admin_token {
        return Ok(SecretString::new(t.clone()));
    }
    let path = config.data_dir.join("admin-token");
    if let Ok(t) = std::fs::read_to_string(&path)
        && !t.trim().is_empty()
    {
        return Ok(SecretString::new(t.trim().to_owned()));
    }
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    write_private(&path, &token).map_err(|source| StartError::Token { path, source })?;
    Ok(SecretString::new(token))
}

fn write_private(path: &std::path::Path, content: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)?.write_all(content.as_bytes())
}

/// The local events queue (for tests and diagnostics).
pub fn events_queue() -> QueueRef {
    QueueRef::parse(EVENTS_QUEUE).expect("valid queue name")
}
