//! Building each Lambda function's handler from its environment, once per cold start. The
//! `functions/*` binaries call these and hand the result to the Lambda runtime.

use std::sync::Arc;

use axum::Router;

use crate::app::App;
use crate::backend::aws::{self, AwsConfig, Clients};
use crate::config::{ConfigError, Settings, optional, required};
use crate::dispatch::Dispatcher;
use crate::domain::QueueRef;
use crate::fanout::Fanout;
use crate::management;
use crate::ports::DispatchQueues;

/// One function's AWS clients and the [`App`] built on them.
pub struct AwsApp {
    pub clients: Clients,
    pub aws: AwsConfig,
    pub app: App,
}

impl AwsApp {
    /// Reads the configuration and builds the clients; fails naming a missing variable.
    pub async fn from_env() -> Result<Self, ConfigError> {
        let aws = AwsConfig::from_env()?;
        let settings = Settings::from_env(Settings::default())?;
        Ok(Self::new(Clients::new(aws.endpoint_url.as_deref()).await, aws, settings))
    }

    pub fn new(clients: Clients, aws: AwsConfig, settings: Settings) -> Self {
        let backend = aws::backend(&clients, &aws);
        Self { clients, aws, app: App::new(backend, settings) }
    }

    pub fn backend(&self) -> &crate::Backend {
        &self.app.backend
    }

    /// Opens connections to every service now rather than on the first request.
    pub async fn warm(&self, what: &aws::WarmUp) {
        aws::warm(&self.clients, &self.aws, what).await;
    }

    /// The ingress router; `events_queue` is the events queue URL.
    pub fn ingress(&self, events_queue: QueueRef) -> Router {
        crate::error::with_json_fallbacks(self.app.ingress(events_queue))
    }

    /// The management API; behind IAM (or a JWT authorizer), with an optional admin token
    /// on top (`HOOKBRIDGE_ADMIN_TOKEN_SECRET`).
    pub async fn management(&self, dispatcher: Arc<Dispatcher>, events_queue: QueueRef) -> Result<Router, ConfigError> {
        let admin_token = admin_token_from_env(self).await?;
        Ok(self.management_with(dispatcher, events_queue, admin_token))
    }

    /// The management router as deployed: the caller taken from the authorizer's context.
    pub fn management_with(
        &self,
        dispatcher: Arc<Dispatcher>,
        events_queue: QueueRef,
        admin_token: Option<crate::secret::SecretString>,
    ) -> Router {
        crate::error::with_json_fallbacks(self.app.management(dispatcher, events_queue, admin_token))
            .layer(axum::middleware::from_fn(management_caller))
    }

    pub fn fanout(&self) -> Fanout {
        self.app.fanout()
    }

    /// The dispatcher; the outbound client is built here, once.
    pub fn dispatcher(&self, queues: DispatchQueues) -> Result<Dispatcher, ConfigError> {
        self.app.dispatcher(queues)
    }
}

fn queue_var(var: &'static str) -> Result<QueueRef, ConfigError> {
    QueueRef::parse(&required(var)?).map_err(|e| ConfigError { var, reason: e.to_string() })
}

/// `HOOKBRIDGE_DISPATCH_QUEUE_URL` and `HOOKBRIDGE_DISPATCH_DLQ_URL`.
pub fn dispatch_queues_from_env() -> Result<DispatchQueues, ConfigError> {
    Ok(DispatchQueues {
        deliveries: queue_var("HOOKBRIDGE_DISPATCH_QUEUE_URL")?,
        dead_letter: queue_var("HOOKBRIDGE_DISPATCH_DLQ_URL")?,
    })
}

/// `HOOKBRIDGE_EVENTS_QUEUE_URL`: where the ingress queues accepted events.
pub fn events_queue_from_env() -> Result<QueueRef, ConfigError> {
    queue_var("HOOKBRIDGE_EVENTS_QUEUE_URL")
}

/// `HOOKBRIDGE_ADMIN_TOKEN_SECRET`, optionally: a secret holding a bearer token required on
/// top of IAM.
async fn admin_token_from_env(app: &AwsApp) -> Result<Option<crate::secret::SecretString>, ConfigError> {
    const VAR: &str = "HOOKBRIDGE_ADMIN_TOKEN_SECRET";
    let Some(name) = optional(VAR) else { return Ok(None) };
    let value = app
        .backend()
        .secrets
        .get_secret(&name)
        .await
        .map_err(|e| ConfigError { var: VAR, reason: format!("cannot read the secret: {e}") })?;
    Ok(Some(value.ok_or(ConfigError { var: VAR, reason: "no such secret".into() })?))
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
