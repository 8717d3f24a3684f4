//! Domain types. Every value that crosses a boundary is parsed into a newtype once
//! (parse, don't validate), so the rest of the code never re-checks it.

mod binding;
mod connector;
mod event;
mod ids;
pub mod limits;
mod path;
mod provider;
pub mod provider_catalog;
mod provider_secret;
pub mod provider_spec;
mod webhook;

pub use binding::{Binding, BindingKind, ProcessDefinitionId, TriggerType, Waiter};
pub use connector::{
    ClientAuth, Connector, ConnectorAuth, ConnectorName, ConnectorSecrets, DeliveryAttempt, DeliveryRecord,
    DeliveryStatus, EndpointUrl, EventFilter, FilterKey, FilterOperator, HttpMethod, KeyPlacement, OutboundEvent,
    RetryPolicy, SigningAlgorithm, SigningConfig, SigningScheme, TlsSettings, batch_delivery_id, delivery_id,
    glob_match,
};
pub use event::{EventEnvelope, Headers, WebhookMessage, payload_from_body};
pub use ids::{BindingId, ConnectorId, DeliveryId, EventId, FailedTriggerId, LocationId, QueueRef, WebhookId};
pub use path::{JsonPath, PathError, Step, correlation_text};
pub use provider::Provider;
pub use provider_secret::{GenericHmac, HashAlgorithm, ProviderSecret, SignatureEncoding};
pub use provider_spec::ProviderSpec;
pub use webhook::{
    ApiKey, FailedTrigger, FailureSource, HelperEndpoint, HelperFailure, Helpers, Location, TriggerFailure, Webhook,
    WebhookName, WebhookSecrets, WebhookState,
};

/// A value that did not parse: which field, and why (safe to show to the caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct ParseError {
    pub field: &'static str,
    pub reason: String,
}

impl ParseError {
    pub fn new(field: &'static str, reason: impl Into<String>) -> Self {
        Self { field, reason: reason.into() }
    }
}
