//! Building each Lambda function's handler from its environment, once per cold start. The
//! `functions/*` binaries call these and hand the result to the Lambda runtime.

use std::sync::Arc;

use axum::Router;

use crate::backend::aws::{self, AwsConfig, Clients};
use crate::config::{CommonConfig, ConfigError, number, optional, required};
use crate::dispatch::{AllowList, DispatchConfig, Dispatcher, OutboundClient, parse_schedule};
use crate::domain::QueueRef;
use crate::fanout::{Fanout, FanoutConfig};
use crate::ingress::{self, IngressConfig, IngressState};
use crate::management::{self, ManagementConfig, ManagementState};
use crate::ports::{Backend, DispatchQueues, QueueRefs};
use crate::registration::RegistrationCache;

/// What every function shares: clients, backend, cache and common settings.
pub struct AwsApp {
    pub clients: Clients,
    pub aws: AwsConfig,
    pub backend: Backend,
    pub cache: Arc<RegistrationCache>,
    pub common: CommonConfig,
}

impl AwsApp {
    /// Reads the configuration and builds the clients; fails naming a missing variable.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = AwsConfig::from_env()?;
        let common = CommonConfig::from_env()?;
        Ok(Self::new(Clients::new(aws.endpoint_url.as_deref()).await, aws, common))
    }

    pub fn new(clients: Clients, aws: AwsConfig, common: CommonConfig) -> Self {
        let backend = aws::backend(&clients, &aws);
        let cache = Arc::new(RegistrationCache::new(common.cache_ttl));
        Self { clients, aws, backend, cache, common }
    }

    /// Opens connections to every service now rather than on the first request.
    pub async fn warm(&self, what: &aws::WarmUp) {
        aws::warm(&self.clients, &self.aws, what).await;
    }

    /// The ingress router; `events_queue` is the events queue URL.
    pub fn ingress(&self, events_queue: QueueRef) -> Router {
        crate::error::with_json_fallbacks(ingress::router(Arc::new(IngressState {
            backend: self.backend.clone(),
            cache: self.cache.clone(),
            queues: QueueRefs { events: events_queue },
            config: IngressConfig {
                max_body_bytes: self.common.max_body_bytes,
                dedup_window: self.common.dedup_window,
                pending_claim_ttl: self.common.pending_claim_ttl,
                // Each function has its own cache: see revocation on every request.
                revalidate: true,
                public_url: crate::config::optional("HOOKBRIDGE_PUBLIC_URL"),
                ..IngressConfig::default()
            },
        })))
    }

    pub fn management(&self, config: ManagementConfig, dispatcher: Arc<Dispatcher>, events_queue: QueueRef) -> Router {
        let api = management::router(Arc::new(ManagementState {
            backend: self.backend.clone(),
            dispatcher,
            queues: QueueRefs { events: events_queue },
            cache: self.cache.clone(),
            config,
        }));
        crate::error::with_json_fallbacks(api.merge(crate::openapi::route()))
            .layer(axum::middleware::from_fn(management_caller))
    }

    pub fn fanout(&self, config: FanoutConfig) -> Fanout {
        Fanout::new(self.backend.clone(), self.cache.clone(), config)
    }

    /// The dispatcher; the outbound client is built here, once.
    pub fn dispatcher(&self, settings: DispatchSettings) -> Result<Dispatcher, ConfigError> {
        let client = OutboundClient::new(settings.allow)
            .map_err(|e| ConfigError { var: "HOOKBRIDGE_ALLOW_TARGETS", reason: format!("HTTP client: {e}") })?;
        let config = DispatchConfig {
            schedule_override: settings.schedule,
            cache_ttl: self.common.cache_ttl,
            disable_after: settings.disable_after,
        };
        Ok(Dispatcher::new(self.backend.clone(), settings.queues, client, config))
    }
}

/// The dispatch side's settings.
pub struct DispatchSettings {
    pub queues: DispatchQueues,
    pub allow: AllowList,
    pub schedule: Option<Vec<std::time::Duration>>,
    pub disable_after: std::time::Duration,
}

fn queue_var(var: &'static str) -> Result<QueueRef, ConfigError> {
    QueueRef::parse(&required(var)?).map_err(|e| ConfigError { var, reason: e.to_string() })
}

/// `HOOKBRIDGE_DISPATCH_QUEUE_URL`, `HOOKBRIDGE_DISPATCH_DLQ_URL`, `HOOKBRIDGE_ALLOW_TARGETS`
/// (default empty: no private address is reachable) and `HOOKBRIDGE_RETRY_SCHEDULE`.
pub fn dispatch_settings_from_env() -> Result<DispatchSettings, ConfigError> {
    Ok(DispatchSettings {
        queues: DispatchQueues {
            deliveries: queue_var("HOOKBRIDGE_DISPATCH_QUEUE_URL")?,
            dead_letter: queue_var("HOOKBRIDGE_DISPATCH_DLQ_URL")?,
        },
        allow: AllowList::parse(&optional("HOOKBRIDGE_ALLOW_TARGETS").unwrap_or_default())
            .map_err(|reason| ConfigError { var: "HOOKBRIDGE_ALLOW_TARGETS", reason })?,
        schedule: optional("HOOKBRIDGE_RETRY_SCHEDULE")
            .map(|s| parse_schedule(&s))
            .transpose()
            .map_err(|reason| ConfigError { var: "HOOKBRIDGE_RETRY_SCHEDULE", reason })?,
        disable_after: crate::config::seconds("HOOKBRIDGE_DISABLE_AFTER_SECS", crate::dispatch::DEFAULT_DISABLE_AFTER)?,
    })
}

/// `HOOKBRIDGE_EVENTS_QUEUE_URL`: where the ingress queues accepted events.
pub fn events_queue_from_env() -> Result<QueueRef, ConfigError> {
    queue_var("HOOKBRIDGE_EVENTS_QUEUE_URL")
}

/// `HOOKBRIDGE_MAX_RECEIVES` (the events queue's redrive `maxReceiveCount`, default 5).
pub fn fanout_config_from_env() -> Result<FanoutConfig, ConfigError> {
    Ok(FanoutConfig {
        max_receives: number("HOOKBRIDGE_MAX_RECEIVES", 5)?,
        max_message_bytes: number("HOOKBRIDGE_MAX_MESSAGE_BYTES", 256 * 1024)?,
        ..FanoutConfig::default()
    })
}

/// `HOOKBRIDGE_PUBLIC_URL` (the ingress base URL) and, optionally,
/// `HOOKBRIDGE_ADMIN_TOKEN_SECRET`: a secret holding a bearer token required on top of IAM.
pub async fn management_config_from_env(app: &AwsApp) -> Result<ManagementConfig, ConfigError> {
    let public_base_url = optional("HOOKBRIDGE_PUBLIC_URL").map(|u| u.trim_end_matches('/').to_owned());
    let admin_token = match optional("HOOKBRIDGE_ADMIN_TOKEN_SECRET") {
        None => None,
        Some(name) => {
            let value = app.backend.secrets.get_secret(&name).await.map_err(|e| ConfigError {
                var: "HOOKBRIDGE_ADMIN_TOKEN_SECRET",
                reason: format!("cannot read the secret: {e}"),
            })?;
            Some(value.ok_or(ConfigError { var: "HOOKBRIDGE_ADMIN_TOKEN_SECRET", reason: "no such secret".into() })?)
        }
    };
    let helper_timeout = crate::config::seconds("HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS", management::HELPER_TIMEOUT)?;
    Ok(ManagementConfig {
        public_base_url,
        admin_token,
        helper_timeout,
        idempotency_pending: management::IDEMPOTENCY_PENDING_TTL,
    })
}

/// Takes the caller API Gateway's authorizer established (IAM: the principal's ARN; JWT:
/// the token's subject) from the Lambda event into a [`management::Caller`]. A request that
/// came through no authorizer gets none, and is refused without an admin token.
async fn management_caller(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use lambda_http::request::RequestContext;
    let caller = match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref().and_then(|a| {
            a.iam
                .as_ref()
                .and_then(|iam| iam.user_arn.clone().or_else(|| iam.caller_id.clone()))
                .map(|arn| format!("iam:{arn}"))
                .or_else(|| a.jwt.as_ref().and_then(|jwt| jwt.claims.get("sub").map(|sub| format!("jwt:{sub}"))))
        }),
        _ => None,
    };
    if let Some(caller) = caller {
        req.extensions_mut().insert(management::Caller(caller));
    }
    next.run(req).await
}
