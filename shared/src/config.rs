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
}

impl CommonConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            max_body_bytes: number("HOOKBRIDGE_MAX_BODY_BYTES", 1024 * 1024)?,
            cache_ttl: seconds("HOOKBRIDGE_CACHE_TTL_SECS", Duration::from_secs(30))?,
            dedup_window: seconds("HOOKBRIDGE_DEDUP_WINDOW_SECS", Duration::from_secs(72 * 3600))?,
        })
    }
}

/// Logs as JSON in Lambda (CloudWatch), as text locally; level from `RUST_LOG`.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(false);
    if json {
        let _ = builder.json().without_time().try_init();
    } else {
        let _ = builder.try_init();
    }
}
