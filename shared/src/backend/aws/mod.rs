//! The AWS backend: DynamoDB (registry, dedup), Secrets Manager (secrets), SQS (queues)
//! and S3 (payload blobs), with the official SDK crates. Errors are classified by their
//! service error type or code, never by message text.
//!
//! Table design (one table, see `docs/aws.md`):
//!
//! | item | pk | sk | gsi1 (pk / sk) | gsi2 (pk / sk) |
//! |---|---|---|---|---|
//! | webhook | `WEBHOOK#{id}` | `WEBHOOK` | `LOC#{org}#{ws}#{app}` / `{id}` | `WEBHOOK` / `{id}` |
//! | name claim | `NAME#{org}#{ws}#{app}#{name}` | `NAME` | | |
//! | binding | `WEBHOOK#{id}` | `BINDING#{bindingId}` | | |
//! | failed trigger | `FAILED#{id}` | `FAILED` | `FAILEDBY#{webhookId}` / `{id}` | `FAILED` / `{id}` |
//! | dedup claim | `DEDUP#{key}` | `DEDUP` | | |
//!
//! `ttl` (epoch seconds) is the table's TTL attribute.

mod blobs;
pub mod calls;
mod dynamo;
pub mod envelope;
mod fallback;
pub mod provision;
mod queues;
mod secrets;

use std::sync::Arc;

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};

pub use blobs::S3Blobs;
pub use dynamo::{DynamoDedup, DynamoRegistry};
pub use queues::SqsQueues;
pub use secrets::SecretsManagerStore;

use crate::config::{ConfigError, optional, required};
use crate::error::StoreError;
use crate::ports::{Backend, SystemClock};

/// Where the AWS resources are, read once at start-up.
#[derive(Debug, Clone)]
pub struct AwsConfig {
    /// `HOOKBRIDGE_TABLE`: the DynamoDB table.
    pub table: String,
    /// `HOOKBRIDGE_PAYLOAD_BUCKET`: the S3 bucket for payloads over the queue message limit.
    pub bucket: String,
    /// `HOOKBRIDGE_SECRET_PREFIX`: prepended to every secret name (default empty), so a
    /// stack's secrets and its IAM policy share one prefix.
    pub secret_prefix: String,
    /// `AWS_ENDPOINT_URL`: an emulator's URL (tests); unset in AWS.
    pub endpoint_url: Option<String>,
    /// `HOOKBRIDGE_SECRET_STORAGE`: `ENVELOPE` (the template's default) or `PER_ITEM` (the
    /// default without the variable, as before it existed).
    pub secret_storage: SecretStorage,
}

/// Where secret documents are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStorage {
    /// One Secrets Manager secret each.
    PerItem,
    /// Sealed with AES-256-GCM under data keys kept in one secret (`{prefix}hookbridge/data-keys`),
    /// on DynamoDB items.
    Envelope,
}

/// The data keys' secret, under the stack's prefix (the template creates it).
pub const DATA_KEYS_SECRET: &str = "hookbridge/data-keys";

impl AwsConfig {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Self {
            table: required("HOOKBRIDGE_TABLE")?,
            bucket: required("HOOKBRIDGE_PAYLOAD_BUCKET")?,
            secret_prefix: optional("HOOKBRIDGE_SECRET_PREFIX").unwrap_or_default(),
            endpoint_url: optional("AWS_ENDPOINT_URL"),
            secret_storage: match optional("HOOKBRIDGE_SECRET_STORAGE").as_deref() {
                None | Some("PER_ITEM") => SecretStorage::PerItem,
                Some("ENVELOPE") => SecretStorage::Envelope,
                Some(other) => {
                    return Err(ConfigError {
                        var: "HOOKBRIDGE_SECRET_STORAGE",
                        reason: format!("{other:?} is neither ENVELOPE nor PER_ITEM"),
                    });
                }
            },
        })
    }
}

/// The SDK clients, built once per process.
#[derive(Clone, Debug)]
pub struct Clients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    pub s3: aws_sdk_s3::Client,
}

impl Clients {
    pub async fn new(endpoint_url: Option<&str>) -> Self {
        Self::load(endpoint_url, None).await
    }

    /// Clients signing with the given access key instead of the environment's credentials
    /// (the IAM-enforced tests: one key per function's policy).
    pub async fn with_credentials(endpoint_url: Option<&str>, access_key: &str, secret_key: &str) -> Self {
        let creds = aws_sdk_dynamodb::config::Credentials::new(access_key, secret_key, None, None, "hookbridge-test");
        Self::load(endpoint_url, Some(creds)).await
    }

    /// [`Clients::with_credentials`] with every call counted by `counter`.
    pub async fn counted(
        endpoint_url: Option<&str>,
        access_key: &str,
        secret_key: &str,
        counter: &calls::CallCounter,
    ) -> Self {
        let creds = aws_sdk_dynamodb::config::Credentials::new(access_key, secret_key, None, None, "hookbridge-test");
        Self::load_with(endpoint_url, Some(creds), Some(counter)).await
    }

    async fn load(endpoint_url: Option<&str>, creds: Option<aws_sdk_dynamodb::config::Credentials>) -> Self {
        Self::load_with(endpoint_url, creds, None).await
    }

    async fn load_with(
        endpoint_url: Option<&str>,
        creds: Option<aws_sdk_dynamodb::config::Credentials>,
        counter: Option<&calls::CallCounter>,
    ) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(url) = endpoint_url {
            loader = loader.endpoint_url(url);
        }
        if let Some(creds) = creds {
            loader = loader.credentials_provider(creds);
        }
        let shared = loader.load().await;
        // Emulators serve buckets by path, not by virtual host.
        let mut s3 = aws_sdk_s3::config::Builder::from(&shared).force_path_style(endpoint_url.is_some());
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(&shared);
        let mut sqs = aws_sdk_sqs::config::Builder::from(&shared);
        let mut secrets = aws_sdk_secretsmanager::config::Builder::from(&shared);
        if let Some(c) = counter {
            s3.push_interceptor(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(c.clone()));
            dynamodb.push_interceptor(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(c.clone()));
            sqs.push_interceptor(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(c.clone()));
            secrets.push_interceptor(aws_smithy_runtime_api::client::interceptors::SharedInterceptor::new(c.clone()));
        }
        Self {
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb.build()),
            sqs: aws_sdk_sqs::Client::from_conf(sqs.build()),
            secrets: aws_sdk_secretsmanager::Client::from_conf(secrets.build()),
            s3: aws_sdk_s3::Client::from_conf(s3.build()),
        }
    }
}

/// Every port on AWS.
pub fn backend(clients: &Clients, config: &AwsConfig) -> Backend {
    let registry = Arc::new(DynamoRegistry::new(clients.dynamodb.clone(), config.table.clone()));
    Backend {
        registry: registry.clone(),
        connectors: registry.clone(),
        deliveries: registry.clone(),
        secrets: secret_store(clients, config),
        queues: Arc::new(SqsQueues::new(clients.sqs.clone())),
        blobs: Arc::new(S3Blobs::new(clients.s3.clone(), config.bucket.clone())),
        dedup: Arc::new(DynamoDedup::new(clients.dynamodb.clone(), config.table.clone())),
        clock: Arc::new(SystemClock),
        stats: Arc::new(crate::stats::Recorder::new(registry, STATS_INTERVAL)),
    }
}

/// The configured secret storage, reading the other one for what is not there yet.
fn secret_store(clients: &Clients, config: &AwsConfig) -> Arc<dyn crate::ports::SecretStore> {
    let per_item = SecretsManagerStore::new(clients.secrets.clone(), config.secret_prefix.clone());
    let ring = Arc::new(envelope::KeyRing::new(
        clients.secrets.clone(),
        format!("{}{DATA_KEYS_SECRET}", config.secret_prefix),
    ));
    let envelope = envelope::EnvelopeSecrets::new(clients.dynamodb.clone(), config.table.clone(), ring);
    match config.secret_storage {
        SecretStorage::Envelope => Arc::new(fallback::FallbackSecrets { primary: envelope, fallback: per_item }),
        SecretStorage::PerItem => Arc::new(fallback::FallbackSecrets { primary: per_item, fallback: envelope }),
    }
}

/// How often a function instance writes its counters (one DynamoDB write per interval, not
/// one per event).
pub const STATS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(10);

/// What a function touches at start-up to open its connections: calls its own policy
/// allows (no account-wide list call).
#[derive(Debug, Clone)]
pub struct WarmUp {
    /// A queue the function sends to (`GetQueueAttributes`).
    pub queue: crate::domain::QueueRef,
    /// A secret name within the function's own secrets (absent is fine: the call only
    /// opens the connection).
    pub secret_probe: &'static str,
}

/// Opens TLS connections and resolves endpoints during init, so the first request does
/// not pay for them. Failures are logged, not fatal: the function can still serve.
pub async fn warm(clients: &Clients, config: &AwsConfig, what: &WarmUp) {
    let table = clients.dynamodb.describe_table().table_name(&config.table).send();
    let bucket = clients.s3.head_bucket().bucket(&config.bucket).send();
    let secret_id = format!("{}{}", config.secret_prefix, what.secret_probe);
    let secrets = clients.secrets.get_secret_value().secret_id(secret_id).send();
    let sqs = clients
        .sqs
        .get_queue_attributes()
        .queue_url(what.queue.as_str())
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
        .send();
    let (t, b, s, q) = tokio::join!(table, bucket, secrets, sqs);
    // A missing probe secret is the expected answer.
    let s = s.err().filter(|e| !e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()));
    for (what, failed) in [
        ("dynamodb", t.err().map(|e| DisplayErrorContext(e).to_string())),
        ("s3", b.err().map(|e| DisplayErrorContext(e).to_string())),
        ("secretsmanager", s.map(|e| DisplayErrorContext(e).to_string())),
        ("sqs", q.err().map(|e| DisplayErrorContext(e).to_string())),
    ] {
        if let Some(e) = failed {
            tracing::warn!(service = what, error = %e, "warm-up call failed");
        }
    }
}

/// Error codes that mean "slow down", across the services we call.
const THROTTLING: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "SlowDown",
    "RequestThrottled",
];

/// Maps any SDK error to a [`StoreError`] by its code: throttling, or a backend failure
/// carrying the SDK's full context (logged at the edge, never shown to callers).
pub(crate) fn sdk_error<E>(e: E) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    if e.code().is_some_and(|c| THROTTLING.contains(&c)) {
        return StoreError::Throttled;
    }
    StoreError::msg(DisplayErrorContext(e).to_string())
}
