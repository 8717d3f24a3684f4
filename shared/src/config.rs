//! Configuration read once from the environment at start-up; a bad value stops the start
//! with a message naming the variable.

use std::time::Duration;

use crate::dispatch::{AllowList, parse_schedule};

/// A configuration problem, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {var}: {reason}")]
pub struct ConfigError {
    pub var: &'static str,
    pub reason: String,
}

/// The variable's value, if set and not empty.
pub fn optional(var: &'static str) -> Option<String> {
    std::env::var(var).ok().filter(|v| !v.trim().is_empty())
}

/// The variable's value, or an error naming it.
pub fn required(var: &'static str) -> Result<String, ConfigError> {
    optional(var).ok_or(ConfigError { var, reason: "is required".into() })
}

/// A number from the environment, or `default` when unset.
pub fn number<T: std::str::FromStr>(var: &'static str, default: T) -> Result<T, ConfigError> {
    match optional(var) {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError { var, reason: format!("{v:?} is not a valid number") }),
    }
}

/// Seconds from the environment, or `default`.
pub fn seconds(var: &'static str, default: Duration) -> Result<Duration, ConfigError> {
    Ok(Duration::from_secs(number(var, default.as_secs())?))
}

/// Every setting the functions share, each default written here once. [`Settings::default`]
/// is the Lambda functions'; [`Settings::local`] the local runner's (whose differences are
/// what one process on a laptop needs). [`Settings::from_env`] reads the variables over
/// either, so a variable means the same in both. [`crate::app::App`] builds every function
/// from it.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `HOOKBRIDGE_MAX_BODY_BYTES`, default 1 MiB.
    pub max_body_bytes: usize,
    /// `HOOKBRIDGE_CACHE_TTL_SECS`, default 30: registrations, secrets and connectors.
    pub cache_ttl: Duration,
    /// `HOOKBRIDGE_DEDUP_WINDOW_SECS`: how long provider delivery ids are remembered,
    /// default 72 hours (longer than any provider retries).
    pub dedup_window: Duration,
    /// `HOOKBRIDGE_PENDING_CLAIM_SECS`: how long a delivery claim whose event is not yet
    /// queued holds off the provider's retries (default 60 s, longer than an ingress call).
    pub pending_claim_ttl: Duration,
    /// `HOOKBRIDGE_PUBLIC_URL`: the base of handed-out ingress URLs, and what URL-signing
    /// providers sign. Unset: rebuilt from each request (Lambda), `http://{addr}` (local).
    pub public_url: Option<String>,
    /// `HOOKBRIDGE_MAX_RECEIVES`: the events queue's `maxReceiveCount`, default 5.
    pub max_receives: u32,
    /// `HOOKBRIDGE_MAX_MESSAGE_BYTES`: the largest process message sent inline, larger ones
    /// go by claim check (SQS: 256 KiB; local queues have no limit).
    pub max_process_message_bytes: usize,
    /// `HOOKBRIDGE_ALLOW_TARGETS`: CIDRs outbound calls may reach despite the SSRF guard
    /// (Lambda: none; local: loopback, where local receivers live).
    pub allow_targets: AllowList,
    /// `HOOKBRIDGE_RETRY_SCHEDULE`: seconds, comma-separated, replacing connectors' schedules.
    pub retry_schedule: Option<Vec<Duration>>,
    /// `HOOKBRIDGE_DISABLE_AFTER_SECS`: failing this long without a success disables a
    /// connector (default 5 days).
    pub disable_after: Duration,
    /// `HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS`: how long a registration helper has to answer
    /// (default 60 s).
    pub helper_timeout: Duration,
    /// How long an Idempotency-Key stays "in progress" if its request dies (120 s).
    pub idempotency_pending: Duration,
    /// Whether the ingress reads the webhook on every request, reusing cached secrets only
    /// while its version is unchanged. Lambda: yes, each function has its own cache, and a
    /// revocation must apply at once. Local: no, management invalidates the shared cache.
    pub revalidate_registrations: bool,
    /// The console's OpenID Connect sign-in (`HOOKBRIDGE_OIDC_*`); on AWS the HTTP API's JWT
    /// authorizer checks the tokens, locally the runner does.
    pub oidc: Option<OidcSettings>,
}

/// An OpenID Connect issuer the console signs in with (authorization code + PKCE, a public
/// client: no client secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OidcSettings {
    /// `HOOKBRIDGE_OIDC_ISSUER`: its discovery document is `{issuer}/.well-known/openid-configuration`.
    pub issuer: String,
    /// `HOOKBRIDGE_OIDC_CLIENT_ID`.
    pub client_id: String,
    /// `HOOKBRIDGE_OIDC_AUDIENCE`: the `aud` API tokens carry (default: the client id).
    pub audience: String,
    /// `HOOKBRIDGE_OIDC_SCOPES` (default `openid`).
    pub scopes: String,
    /// `HOOKBRIDGE_OIDC_REQUIRED_SCOPE`: a scope every API token must carry (its `scope` or
    /// `scp` claim), so that signing in at the issuer is not enough by itself: only users
    /// the issuer grants it may manage. On AWS the authorizer's `OidcScope` does the same.
    pub required_scope: Option<String>,
}

impl OidcSettings {
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        let Some(issuer) = optional("HOOKBRIDGE_OIDC_ISSUER") else { return Ok(None) };
        let client_id = required("HOOKBRIDGE_OIDC_CLIENT_ID")?;
        Ok(Some(Self {
            issuer: issuer.trim_end_matches('/').to_owned(),
            audience: optional("HOOKBRIDGE_OIDC_AUDIENCE").unwrap_or_else(|| client_id.clone()),
            client_id,
            scopes: optional("HOOKBRIDGE_OIDC_SCOPES").unwrap_or_else(|| "openid".into()),
            required_scope: optional("HOOKBRIDGE_OIDC_REQUIRED_SCOPE"),
        }))
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            max_body_bytes: 1024 * 1024,
            cache_ttl: Duration::from_secs(30),
            dedup_window: Duration::from_secs(72 * 3600),
            pending_claim_ttl: crate::ingress::PENDING_CLAIM_TTL,
            public_url: None,
            max_receives: 5,
            max_process_message_bytes: crate::accept::MAX_MESSAGE_BYTES,
            allow_targets: AllowList::default(),
            retry_schedule: None,
            disable_after: crate::dispatch::DEFAULT_DISABLE_AFTER,
            helper_timeout: crate::management::HELPER_TIMEOUT,
            idempotency_pending: crate::management::IDEMPOTENCY_PENDING_TTL,
            revalidate_registrations: true,
            oidc: None,
        }
    }
}

impl Settings {
    /// The local runner's defaults: one process, one shared cache, receivers on loopback,
    /// queues without a size limit.
    pub fn local() -> Self {
        Self {
            allow_targets: AllowList::loopback(),
            max_process_message_bytes: usize::MAX,
            revalidate_registrations: false,
            ..Self::default()
        }
    }

    /// `defaults` with every variable that is set read over it; a bad value names its variable.
    pub fn from_env(defaults: Self) -> Result<Self, ConfigError> {
        let d = defaults;
        Ok(Self {
            max_body_bytes: number("HOOKBRIDGE_MAX_BODY_BYTES", d.max_body_bytes)?,
            cache_ttl: seconds("HOOKBRIDGE_CACHE_TTL_SECS", d.cache_ttl)?,
            dedup_window: seconds("HOOKBRIDGE_DEDUP_WINDOW_SECS", d.dedup_window)?,
            pending_claim_ttl: seconds("HOOKBRIDGE_PENDING_CLAIM_SECS", d.pending_claim_ttl)?,
            public_url: optional("HOOKBRIDGE_PUBLIC_URL").or(d.public_url),
            max_receives: number("HOOKBRIDGE_MAX_RECEIVES", d.max_receives)?,
            max_process_message_bytes: number("HOOKBRIDGE_MAX_MESSAGE_BYTES", d.max_process_message_bytes)?,
            allow_targets: match optional("HOOKBRIDGE_ALLOW_TARGETS") {
                None => d.allow_targets,
                Some(s) => {
                    AllowList::parse(&s).map_err(|reason| ConfigError { var: "HOOKBRIDGE_ALLOW_TARGETS", reason })?
                }
            },
            retry_schedule: match optional("HOOKBRIDGE_RETRY_SCHEDULE") {
                None => d.retry_schedule,
                Some(s) => Some(
                    parse_schedule(&s).map_err(|reason| ConfigError { var: "HOOKBRIDGE_RETRY_SCHEDULE", reason })?,
                ),
            },
            disable_after: seconds("HOOKBRIDGE_DISABLE_AFTER_SECS", d.disable_after)?,
            helper_timeout: seconds("HOOKBRIDGE_REGISTRATION_TIMEOUT_SECS", d.helper_timeout)?,
            idempotency_pending: d.idempotency_pending,
            revalidate_registrations: d.revalidate_registrations,
            oidc: OidcSettings::from_env()?.or(d.oidc),
        })
    }
}

/// Targets that log whole requests, events or wire traffic below `info` (lambda_runtime
/// traces every raw event: API keys, provider secrets, connector credentials). They are
/// held at `info` whatever `RUST_LOG` says.
const WIRE_TARGETS: &[&str] = &[
    "lambda_runtime",
    "lambda_http",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_http",
    "aws_sdk_dynamodb",
    "aws_sdk_sqs",
    "aws_sdk_secretsmanager",
    "aws_sdk_s3",
    "aws_config",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
    "tower_http",
];

/// The log filter for a `RUST_LOG` value (`info` when unset or invalid), with the wire
/// targets capped at `info`.
pub fn log_filter(spec: Option<&str>) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let mut filter = spec.and_then(|s| EnvFilter::try_new(s).ok()).unwrap_or_else(|| EnvFilter::new("info"));
    for target in WIRE_TARGETS {
        filter = filter.add_directive(format!("{target}=info").parse().expect("a valid directive"));
    }
    filter
}

/// Logs as JSON in Lambda (for CloudWatch Logs Insights), and locally with
/// `HOOKBRIDGE_LOG_FORMAT=json`; as text otherwise. Level from `RUST_LOG`.
pub fn init_tracing(json: bool) {
    let json = json || optional("HOOKBRIDGE_LOG_FORMAT").is_some_and(|f| f.eq_ignore_ascii_case("json"));
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let in_lambda = std::env::var_os("AWS_LAMBDA_FUNCTION_NAME").is_some();
    let _ = tracing::subscriber::set_global_default(subscriber(json, !in_lambda, filter, std::io::stdout));
}

/// The subscriber every binary logs through (and the secret-scan test, into a buffer).
/// JSON lines carry the event's fields at the top level and the fields of the spans it is
/// in (`requestId` from the Lambda runtime, `webhook_id`, `event_id`, `delivery_id`), so a
/// Logs Insights query filters on them directly. Lambda stamps the time itself.
pub fn subscriber<W>(
    json: bool,
    with_time: bool,
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false).with_writer(writer);
    match (json, with_time) {
        (true, true) => Box::new(builder.json().flatten_event(true).with_span_list(true).finish()),
        (true, false) => Box::new(builder.json().flatten_event(true).with_span_list(true).without_time().finish()),
        (false, true) => Box::new(builder.finish()),
        (false, false) => Box::new(builder.without_time().finish()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::{Context, SubscriberExt};

    struct Capture(Arc<Mutex<Vec<String>>>);

    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Capture {
        fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
            self.0.lock().unwrap().push(event.metadata().target().to_owned());
        }
    }

    /// Review M9: `RUST_LOG=trace` (a template option) must not make lambda_runtime log raw
    /// events, nor the SDKs their wire traffic; our own trace lines still show.
    #[test]
    fn trace_level_never_reaches_the_wire_targets() {
        for spec in ["trace", "lambda_runtime=trace,trace", "debug"] {
            let seen = Arc::new(Mutex::new(Vec::new()));
            let subscriber =
                tracing_subscriber::registry().with(super::log_filter(Some(spec))).with(Capture(seen.clone()));
            tracing::subscriber::with_default(subscriber, || {
                tracing::trace!(target: "lambda_runtime::layers::api_response", body = "apiKey=secret", "raw JSON event");
                tracing::debug!(target: "aws_smithy_runtime::client", "wire");
                tracing::debug!(target: "hookbridge_shared::ingress", "ours");
                tracing::info!(target: "lambda_runtime", "info still shows");
            });
            let seen = seen.lock().unwrap();
            assert!(!seen.iter().any(|t| t.starts_with("lambda_runtime::layers")), "{spec}: {seen:?}");
            assert!(!seen.iter().any(|t| t.starts_with("aws_smithy")), "{spec}: {seen:?}");
            assert!(seen.iter().any(|t| t == "hookbridge_shared::ingress"), "{spec}: {seen:?}");
            assert!(seen.iter().any(|t| t == "lambda_runtime"), "{spec}: {seen:?}");
        }
    }
}
