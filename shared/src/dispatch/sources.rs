//! What the dispatch function can be invoked with, told apart by shape: a direct audit
//! batch `{"events": [...]}`, an immediate call `{"mode": "immediate", ...}`, an SQS batch
//! (delivery attempts from the dispatch queue, or events a producer queued), an EventBridge
//! event, or a Kinesis batch.

use aws_lambda_events::event::kinesis::KinesisEvent;
use aws_lambda_events::event::sqs::SqsEvent;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use crate::domain::{ConnectorId, OutboundEvent};

#[derive(Debug)]
pub enum DispatchInput {
    Batch(Vec<OutboundEvent>),
    Immediate { connector_id: ConnectorId, event: OutboundEvent },
    Sqs(SqsEvent),
    Kinesis(KinesisEvent),
    EventBridge(OutboundEvent),
}

#[derive(Debug, thiserror::Error)]
#[error("unrecognised dispatch input: {0}")]
pub struct InputError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Immediate {
    #[allow(dead_code)]
    mode: String,
    connector_id: ConnectorId,
    event: OutboundEvent,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Batch {
    events: Vec<OutboundEvent>,
}

/// An EventBridge event: if its detail is itself an outbound event it is used as is;
/// otherwise the envelope becomes one (`detail-type` as the type, `detail` as the data).
#[derive(Deserialize)]
struct EventBridge {
    id: String,
    #[serde(rename = "detail-type")]
    detail_type: String,
    source: String,
    time: DateTime<Utc>,
    detail: Value,
}

impl DispatchInput {
    pub fn detect(v: Value) -> Result<Self, InputError> {
        let err = |e: serde_json::Error| InputError(e.to_string());
        if v.get("mode").and_then(Value::as_str) == Some("immediate") {
            let i: Immediate = serde_json::from_value(v).map_err(err)?;
            return Ok(Self::Immediate { connector_id: i.connector_id, event: i.event });
        }
        if v.get("events").is_some() {
            return Ok(Self::Batch(serde_json::from_value::<Batch>(v).map_err(err)?.events));
        }
        if let Some(records) = v.get("Records").and_then(Value::as_array) {
            let source = records.first().and_then(|r| r.get("eventSource").or_else(|| r.get("EventSource")));
            return match source.and_then(Value::as_str) {
                Some("aws:sqs") | None => Ok(Self::Sqs(serde_json::from_value(v).map_err(err)?)),
                Some("aws:kinesis") => Ok(Self::Kinesis(serde_json::from_value(v).map_err(err)?)),
                Some(other) => Err(InputError(format!("records from {other} are not accepted"))),
            };
        }
        if v.get("detail-type").is_some() {
            let eb: EventBridge = serde_json::from_value(v).map_err(err)?;
            let event = serde_json::from_value::<OutboundEvent>(eb.detail.clone()).unwrap_or(OutboundEvent {
                tenants: None,
                id: eb.id,
                kind: eb.detail_type,
                occurred_at: eb.time,
                source: eb.source,
                data: eb.detail,
            });
            return Ok(Self::EventBridge(event));
        }
        Err(InputError("expected {\"events\"}, {\"mode\":\"immediate\"}, an SQS, Kinesis or EventBridge event".into()))
    }
}
