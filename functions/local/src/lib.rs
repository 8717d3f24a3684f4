//! The local runner: every hookbridge function in one process on the embedded SQLite
//! store. One listener serves the ingress and management routers (the same ones the Lambda
//! functions serve) plus `/local/*` helpers; workers drive the fan-out from the local
//! events queue with Lambda's `SqsEvent` batches.

mod local_routes;

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
use hookbridge::config::{CommonConfig, ConfigError, number, optional};
use hookbridge::dispatch::{
    AllowList, DEFAULT_DISABLE_AFTER, DispatchConfig, Dispatcher, OutboundClient, parse_schedule,
};
use hookbridge::domain::QueueRef;
use hookbridge::error::{StoreError, with_json_fallbacks};
use hookbridge::fanout::{Fanout, FanoutConfig};
use hookbridge::ingress::{self, ClientAddr, IngressConfig, IngressState};
use hookbridge::management::{self, ManagementConfig, ManagementState};
use hookbridge::ports::{DispatchQueues, QueueRefs, QueueSpec};
use hookbridge::registration::RegistrationCache;
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

#[derive(Debug, Clone)]
pub struct LocalConfig {
    /// `HOOKBRIDGE_ADDR`, default `127.0.0.1:3000`.
    pub addr: SocketAddr,
    /// `HOOKBRIDGE_DATA_DIR`, default `./.hookbridge`.
    pub data_dir: PathBuf,
    /// `HOOKBRIDGE_ADMIN_TOKEN`; when unset, one is generated once and kept in the data dir.
    pub admin_token: Option<String>,
    /// `HOOKBRIDGE_PUBLIC_URL`: the base of handed-out ingress URLs (default `http://{addr}`).
    pub public_url: Option<String>,
    /// `HOOKBRIDGE_FANOUT_WORKERS`, default 8.
    pub fanout_workers: usize,
    /// `HOOKBRIDGE_MAX_RECEIVES`: receives of an event before it is dead-lettered, default 5.
    pub max_receives: u32,
    /// `HOOKBRIDGE_VISIBILITY_TIMEOUT_SECS`: how long a failed batch waits before retry, default 30.
    pub visibility: Duration,
    /// `HOOKBRIDGE_DISPATCH_WORKERS`, default 4.
    pub dispatch_workers: usize,
    /// `HOOKBRIDGE_DISPATCH_VISIBILITY_SECS`: how long a delivery message whose attempt could
    /// not be recorded waits before it is tried again (default 120, longer than a 60 s call).
    pub dispatch_visibility: Duration,
    /// `HOOKBRIDGE_ALLOW_TARGETS`: CIDRs outbound calls may reach despite the SSRF guard;
    /// default loopback (local receivers are the point of local mode).
    pub allow_targets: AllowList,
    /// `HOOKBRIDGE_RETRY_SCHEDULE`: seconds, comma-separated, replacing connectors' schedules.
    pub retry_schedule: Option<Vec<Duration>>,
    /// `HOOKBRIDGE_DISABLE_AFTER_SECS`: failing this long without a success disables a
    /// connector (default 5 days).
    pub disable_after: Duration,
    /// `HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS`: how long a registration helper has to answer
    /// (default 60).
    pub helper_timeout: Duration,
    /// Largest process message sent inline; larger ones go by claim check. Local queues have
    /// no size limit (default: unlimited); on SQS it is SQS's limit.
    pub max_process_message_bytes: usize,
    /// How long an Idempotency-Key stays "in progress" if its request dies (120 s).
    pub idempotency_pending: Duration,
    pub common: CommonConfig,
}

impl LocalConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        let addr = optional("HOOKBRIDGE_ADDR").unwrap_or_else(|| "127.0.0.1:3000".into());
        Ok(Self {
            addr: addr
                .parse()
                .map_err(|_| ConfigError { var: "HOOKBRIDGE_ADDR", reason: format!("{addr:?} is not host:port") })?,
            data_dir: optional("HOOKBRIDGE_DATA_DIR").unwrap_or_else(|| "./.hookbridge".into()).into(),
            admin_token: optional("HOOKBRIDGE_ADMIN_TOKEN"),
            public_url: optional("HOOKBRIDGE_PUBLIC_URL"),
            fanout_workers: number("HOOKBRIDGE_FANOUT_WORKERS", 8)?,
            max_receives: number("HOOKBRIDGE_MAX_RECEIVES", 5)?,
            visibility: hookbridge::config::seconds("HOOKBRIDGE_VISIBILITY_TIMEOUT_SECS", Duration::from_secs(30))?,
            dispatch_workers: number("HOOKBRIDGE_DISPATCH_WORKERS", 4)?,
            dispatch_visibility: hookbridge::config::seconds(
                "HOOKBRIDGE_DISPATCH_VISIBILITY_SECS",
                Duration::from_secs(120),
            )?,
            allow_targets: match optional("HOOKBRIDGE_ALLOW_TARGETS") {
                None => AllowList::loopback(),
                Some(s) => {
                    AllowList::parse(&s).map_err(|reason| ConfigError { var: "HOOKBRIDGE_ALLOW_TARGETS", reason })?
                }
            },
            retry_schedule: optional("HOOKBRIDGE_RETRY_SCHEDULE")
                .map(|s| parse_schedule(&s))
                .transpose()
                .map_err(|reason| ConfigError { var: "HOOKBRIDGE_RETRY_SCHEDULE", reason })?,
            disable_after: hookbridge::config::seconds("HOOKBRIDGE_DISABLE_AFTER_SECS", DEFAULT_DISABLE_AFTER)?,
            max_process_message_bytes: usize::MAX,
            idempotency_pending: hookbridge::management::IDEMPOTENCY_PENDING_TTL,
            helper_timeout: hookbridge::config::seconds(
                "HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS",
                hookbridge::management::HELPER_TIMEOUT,
            )?,
            common: CommonConfig::from_env()?,
        })
    }

    /// Defaults for a given data dir and address (tests use port 0).
    pub fn new(addr: SocketAddr, data_dir: PathBuf) -> Self {
        Self {
            addr,
            data_dir,
            admin_token: None,
            public_url: None,
            fanout_workers: 8,
            max_receives: 5,
            visibility: Duration::from_secs(30),
            dispatch_workers: 4,
            dispatch_visibility: Duration::from_secs(120),
            allow_targets: AllowList::loopback(),
            retry_schedule: None,
            disable_after: DEFAULT_DISABLE_AFTER,
            helper_timeout: hookbridge::management::HELPER_TIMEOUT,
            max_process_message_bytes: usize::MAX,
            idempotency_pending: hookbridge::management::IDEMPOTENCY_PENDING_TTL,
            common: CommonConfig {
                max_body_bytes: 1024 * 1024,
                cache_ttl: Duration::from_secs(30),
                dedup_window: Duration::from_secs(72 * 3600),
                pending_claim_ttl: hookbridge::ingress::PENDING_CLAIM_TTL,
            },
        }
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

    let (events, _) =
        queue_with_dlq(&backend, EVENTS_QUEUE, EVENTS_DLQ, config.max_receives, config.visibility).await?;
    let queue_refs = QueueRefs { events: events.clone() };
    let (deliveries, dispatch_dlq) =
        queue_with_dlq(&backend, DISPATCH_QUEUE, DISPATCH_DLQ, 20, config.visibility).await?;
    let client = OutboundClient::new(config.allow_targets.clone()).map_err(|e| StartError::Client(e.to_string()))?;
    let dispatcher = Arc::new(Dispatcher::new(
        backends.management.clone(),
        DispatchQueues { deliveries: deliveries.clone(), dead_letter: dispatch_dlq },
        client,
        // Local changes invalidate the dispatcher's cache at once (see management).
        DispatchConfig {
            schedule_override: config.retry_schedule.clone(),
            cache_ttl: config.common.cache_ttl,
            disable_after: config.disable_after,
        },
    ));

    let listener =
        TcpListener::bind(config.addr).await.map_err(|source| StartError::Listen { addr: config.addr, source })?;
    let addr = listener.local_addr().map_err(|source| StartError::Listen { addr: config.addr, source })?;
    let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));

    // One cache for management and ingress: a management change invalidates it at once.
    let cache = Arc::new(RegistrationCache::new(config.common.cache_ttl));
    // The dispatch workers and `/local/events` (the dispatch function's direct invocation)
    // call the stores as the dispatch function; they share the management's caches.
    let worker_dispatcher = Arc::new(dispatcher.for_backend(backends.dispatch.clone()));
    let ingress = Arc::new(IngressState {
        backend: backends.ingress.clone(),
        cache: cache.clone(),
        queues: queue_refs.clone(),
        config: IngressConfig {
            max_body_bytes: config.common.max_body_bytes,
            dedup_window: config.common.dedup_window,
            pending_claim_ttl: config.common.pending_claim_ttl,
            public_url: Some(public_url.clone()),
            ..IngressConfig::default()
        },
    });
    let management_config = ManagementConfig {
        public_base_url: Some(public_url.trim_end_matches('/').to_owned()),
        admin_token: Some(admin_token.clone()),
        helper_timeout: config.helper_timeout,
        idempotency_pending: config.idempotency_pending,
    };
    let management = Arc::new(ManagementState {
        backend: backends.management.clone(),
        dispatcher: dispatcher.clone(),
        queues: queue_refs.clone(),
        cache: cache.clone(),
        config: management_config.clone(),
    });
    let local = Arc::new(ManagementState {
        backend: backend.clone(),
        dispatcher: worker_dispatcher.clone(),
        queues: queue_refs.clone(),
        cache: cache.clone(),
        config: management_config,
    });
    let app = with_json_fallbacks(
        Router::new()
            .merge(ingress::router(ingress))
            .merge(management::router(management))
            .merge(hookbridge::openapi::route())
            .merge(local_routes::router(local)),
    )
    .layer(middleware::from_fn(client_addr));

    let (stop, stopped) = watch::channel(false);
    let mut tasks = JoinSet::new();
    let mut server_stop = stopped.clone();
    tasks.spawn(async move {
        let served = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .with_graceful_shutdown(async move {
                let _ = server_stop.wait_for(|s| *s).await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "server stopped");
        }
    });

    let fanout = Arc::new(Fanout::new(
        backends.fanout.clone(),
        cache,
        FanoutConfig {
            max_receives: config.max_receives,
            max_message_bytes: config.max_process_message_bytes,
            ..FanoutConfig::default()
        },
    ));
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

    Ok(Running { addr, admin_token, public_url, backend, allow_targets: config.allow_targets, stop, tasks })
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
