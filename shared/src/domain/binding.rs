use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{BindingId, JsonPath, ParseError, QueueRef, WebhookId};

/// The process engine's id of a process definition (opaque to hookbridge).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct ProcessDefinitionId(String);

impl ProcessDefinitionId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        if s.trim().is_empty() || s.chars().count() > 256 || s.chars().any(char::is_control) {
            return Err(ParseError::new("processDefinitionId", "must be 1 to 256 printable characters"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ProcessDefinitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for ProcessDefinitionId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// What a webhook's events do to a process. Tagged by `type` so new kinds
/// (`RESUME_PROCESS`) are added as variants without changing stored items.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
// Fields are renamed per variant (not `rename_all_fields`) so the OpenAPI schema shows
// them as they are sent.
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", deny_unknown_fields)]
pub enum BindingKind {
    /// Every accepted event starts a new instance of the process.
    #[serde(rename_all = "camelCase")]
    StartProcess {
        process_definition_id: ProcessDefinitionId,
        /// The process starter's queue (a local queue name, or an SQS queue URL).
        queue: QueueRef,
    },
    /// An event resumes the waiting instance whose correlation value equals the value at
    /// `webhookCorrelationKey` in the payload.
    #[serde(rename_all = "camelCase")]
    ResumeProcess {
        /// The catch event (in the process definition) that waits for this webhook.
        catch_event_id: ProcessDefinitionId,
        webhook_correlation_key: JsonPath,
        /// Where the process keeps its correlation value (for the engine; opaque here).
        process_correlation_key: ProcessDefinitionId,
        /// Where the payload is stored in the resumed instance.
        process_key: ProcessDefinitionId,
        queue: QueueRef,
    },
}

/// Whether a webhook starts processes or resumes them: all its bindings are of one type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TriggerType {
    StartProcess,
    ResumeProcess,
}

impl BindingKind {
    pub fn queue(&self) -> &QueueRef {
        match self {
            BindingKind::StartProcess { queue, .. } | BindingKind::ResumeProcess { queue, .. } => queue,
        }
    }

    /// The process definition a start binding starts, or the catch event a resume binding
    /// resumes.
    pub fn process_definition(&self) -> &str {
        match self {
            BindingKind::StartProcess { process_definition_id, .. } => process_definition_id.as_str(),
            BindingKind::ResumeProcess { catch_event_id, .. } => catch_event_id.as_str(),
        }
    }

    pub fn trigger_type(&self) -> TriggerType {
        match self {
            BindingKind::StartProcess { .. } => TriggerType::StartProcess,
            BindingKind::ResumeProcess { .. } => TriggerType::ResumeProcess,
        }
    }
}

/// A process instance waiting at a resume binding for an event whose correlation value
/// equals `correlation_value`. Consumed by the event that resumes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Waiter {
    pub webhook_id: WebhookId,
    pub binding_id: BindingId,
    pub process_instance_id: String,
    pub correlation_value: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Binding {
    pub id: BindingId,
    pub webhook_id: WebhookId,
    #[serde(flatten)]
    pub kind: BindingKind,
    pub created_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_json_is_tagged_and_flat() {
        let b = Binding {
            id: BindingId::generate(),
            webhook_id: WebhookId::generate(),
            kind: BindingKind::StartProcess {
                process_definition_id: ProcessDefinitionId::parse("onboarding").unwrap(),
                queue: QueueRef::parse("starts").unwrap(),
            },
            created_at: Utc::now(),
        };
        let v = serde_json::to_value(&b).unwrap();
        assert_eq!(v["type"], "START_PROCESS");
        assert_eq!(v["processDefinitionId"], "onboarding");
        assert_eq!(v["queue"], "starts");
        assert_eq!(serde_json::from_value::<Binding>(v).unwrap(), b);
    }

    #[test]
    fn resume_bindings_parse_their_path() {
        let k: BindingKind = serde_json::from_str(
            r#"{"type":"RESUME_PROCESS","catchEventId":"c1","webhookCorrelationKey":"entry[0].id","processCorrelationKey":"orderId","processKey":"payload","queue":"q"}"#,
        )
        .unwrap();
        assert_eq!(k.trigger_type(), TriggerType::ResumeProcess);
        let err = serde_json::from_str::<BindingKind>(
            r#"{"type":"RESUME_PROCESS","catchEventId":"c1","webhookCorrelationKey":"entry[x]","processCorrelationKey":"k","processKey":"p","queue":"q"}"#,
        )
        .unwrap_err();
        assert!(err.to_string().contains("position 6"), "{err}");
    }

    #[test]
    fn binding_kind_rejects_unknown_types_and_bad_fields() {
        assert!(serde_json::from_str::<BindingKind>(r#"{"type":"NOPE","queue":"q"}"#).is_err());
        assert!(
            serde_json::from_str::<BindingKind>(r#"{"type":"START_PROCESS","processDefinitionId":"","queue":"q"}"#)
                .is_err()
        );
        assert!(
            serde_json::from_str::<BindingKind>(r#"{"type":"START_PROCESS","processDefinitionId":"p","queue":"a b"}"#)
                .is_err()
        );
    }
}
