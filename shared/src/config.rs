//! Configuration read once from the environment at start-up; a bad value stops the start
//! with a message naming the variable.

use std::time::Duration;

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

/// Settings every function shares.
#[derive(Debug, Clone)]
pub struct CommonConfig {
    /// `HOOKBRIDGE_MAX_BODY_BYTES`, default 1 MiB.
    pub max_body_bytes: usize,
    /// `HOOKBRIDGE_CACHE_TTL_SECS`, default 30.
    pub cache_ttl: Duration,
    /// `HOOKBRIDGE_DEDUP_WINDOW_SECS`: how long provider delivery ids are remembered,
    /// default 72 hours.
    pub dedup_window: Duration,
    /// `HOOKBRIDGE_PENDING_CLAIM_SECS`: how long a delivery claim whose event is not yet
    /// queued holds off the provider's retries (default 60 s, longer than an ingress call).
    pub pending_claim_ttl: Duration,
}

impl CommonConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            max_body_bytes: number("HOOKBRIDGE_MAX_BODY_BYTES", 1024 * 1024)?,
            cache_ttl: seconds("HOOKBRIDGE_CACHE_TTL_SECS", Duration::from_secs(30))?,
            dedup_window: seconds("HOOKBRIDGE_DEDUP_WINDOW_SECS", Duration::from_secs(72 * 3600))?,
            pending_claim_ttl: seconds("HOOKBRIDGE_PENDING_CLAIM_SECS", crate::ingress::PENDING_CLAIM_TTL)?,
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

/// Logs as JSON in Lambda (CloudWatch), as text locally; level from `RUST_LOG`.
pub fn init_tracing(json: bool) {
    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        let _ = builder.json().without_time().try_init();
    } else {
        let _ = builder.try_init();
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
