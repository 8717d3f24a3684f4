//! The event an accepted ingress request becomes, and what process starters receive.

use std::collections::BTreeMap;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::{EventId, Provider, WebhookId};

/// Request headers: each lower-case name to all of its values, in arrival order.
pub type Headers = BTreeMap<String, Vec<String>>;

/// What a process receives about the request that triggered it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookMessage {
    /// When hookbridge accepted the request (RFC 3339, UTC).
    pub date_time: DateTime<Utc>,
    /// The body as JSON when it is JSON, else the body as a JSON string. Kept as raw JSON
    /// text so a large payload is validated once and never re-serialized.
    pub payload: Box<RawValue>,
    pub headers: Headers,
}

/// An accepted event as stored and queued. `raw_body` is the request body byte-exact, so a
/// process can re-verify a provider's signature.
///
/// Serialized, the raw body is left out when it is exactly the payload's JSON text (the
/// common case: a JSON body without surrounding whitespace), so a large JSON body is not
/// base64-encoded and escaped on the ingress path; reading the envelope restores it.
#[derive(Clone, Debug)]
pub struct EventEnvelope {
    pub event_id: EventId,
    pub webhook_id: WebhookId,
    pub provider: Provider,
    pub webhook_message: WebhookMessage,
    pub raw_body: Bytes,
}

impl EventEnvelope {
    /// True when the raw body is byte for byte the payload's JSON text.
    pub fn raw_body_is_payload(&self) -> bool {
        self.raw_body.as_ref() == self.webhook_message.payload.get().as_bytes()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeOut<'a> {
    event_id: EventId,
    webhook_id: WebhookId,
    provider: Provider,
    webhook_message: &'a WebhookMessage,
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "base64_bytes::serialize_opt")]
    raw_body: Option<&'a Bytes>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EnvelopeIn {
    event_id: EventId,
    webhook_id: WebhookId,
    provider: Provider,
    webhook_message: WebhookMessage,
    #[serde(default, deserialize_with = "base64_bytes::deserialize_opt")]
    raw_body: Option<Bytes>,
}

impl Serialize for EventEnvelope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        EnvelopeOut {
            event_id: self.event_id,
            webhook_id: self.webhook_id,
            provider: self.provider,
            webhook_message: &self.webhook_message,
            raw_body: (!self.raw_body_is_payload()).then_some(&self.raw_body),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for EventEnvelope {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let e = EnvelopeIn::deserialize(d)?;
        let raw_body = e.raw_body.unwrap_or_else(|| Bytes::copy_from_slice(e.webhook_message.payload.get().as_bytes()));
        Ok(Self {
            event_id: e.event_id,
            webhook_id: e.webhook_id,
            provider: e.provider,
            webhook_message: e.webhook_message,
            raw_body,
        })
    }
}

/// Why a body cannot become a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    #[error("the body is declared as JSON but is not valid JSON: {0}")]
    InvalidJson(String),
}

/// True for `application/json` and `application/*+json` (parameters ignored).
fn declares_json(content_type: Option<&str>) -> bool {
    let Some(ct) = content_type else { return false };
    let essence = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// The payload for a body: JSON when declared JSON (which must then be valid) or when an
/// undeclared body parses as a JSON object or array; otherwise the body as a string
/// (invalid UTF-8 replaced; the raw body stays exact beside it).
pub fn payload_from_body(content_type: Option<&str>, body: &[u8]) -> Result<Box<RawValue>, PayloadError> {
    if declares_json(content_type) {
        let text = std::str::from_utf8(body).map_err(|e| PayloadError::InvalidJson(e.to_string()))?;
        return RawValue::from_string(text.to_owned()).map_err(|e| PayloadError::InvalidJson(e.to_string()));
    }
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if matches!(first, Some(b'{') | Some(b'['))
        && let Ok(text) = std::str::from_utf8(body)
        && let Ok(raw) = RawValue::from_string(text.to_owned())
    {
        return Ok(raw);
    }
    let text = String::from_utf8_lossy(body);
    let quoted = serde_json::to_string(&text).expect("a string serializes");
    Ok(RawValue::from_string(quoted).expect("a serialized string is JSON"))
}

pub(crate) mod base64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(b))
    }

    pub fn serialize_opt<S: Serializer>(b: &Option<&Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match b {
            Some(b) => serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
        let s = <Option<std::borrow::Cow<'de, str>>>::deserialize(d)?;
        s.map(|s| STANDARD.decode(s.as_bytes()).map(Bytes::from).map_err(serde::de::Error::custom)).transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_json_must_be_valid() {
        assert_eq!(payload_from_body(Some("application/json"), b" {\"a\": [1, 2]} ").unwrap().get(), "{\"a\": [1, 2]}");
        assert!(payload_from_body(Some("application/json; charset=utf-8"), b"{\"a\":").is_err());
        assert!(payload_from_body(Some("application/cloudevents+json"), b"nope").is_err());
        assert!(payload_from_body(Some("Application/JSON"), b"").is_err());
    }

    #[test]
    fn undeclared_bodies_are_json_when_they_parse_else_strings() {
        assert_eq!(payload_from_body(None, b"{\"k\":1}").unwrap().get(), "{\"k\":1}");
        assert_eq!(payload_from_body(Some("text/plain"), b"{broken").unwrap().get(), "\"{broken\"");
        assert_eq!(
            payload_from_body(Some("application/x-www-form-urlencoded"), b"a=1&b=\"2\"").unwrap().get(),
            "\"a=1&b=\\\"2\\\"\""
        );
        // A bare number is not treated as JSON unless declared.
        assert_eq!(payload_from_body(None, b"42").unwrap().get(), "\"42\"");
        assert_eq!(payload_from_body(None, &[0xff, b'a']).unwrap().get(), "\"\u{fffd}a\"");
    }

    #[test]
    fn a_json_body_is_not_stored_twice() {
        let raw = Bytes::from_static(b"{\"a\": [1, 2.50, \"\\u00e4\"]}");
        let env = EventEnvelope {
            event_id: EventId::generate(),
            webhook_id: WebhookId::generate(),
            provider: Provider::GENERIC,
            webhook_message: WebhookMessage {
                date_time: Utc::now(),
                payload: payload_from_body(Some("application/json"), &raw).unwrap(),
                headers: Headers::new(),
            },
            raw_body: raw.clone(),
        };
        assert!(env.raw_body_is_payload());
        let json = serde_json::to_string(&env).unwrap();
        assert!(!json.contains("rawBody"));
        let back: EventEnvelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back.raw_body, raw, "restored byte-exact (escapes and number formats kept)");
    }

    #[test]
    fn envelope_round_trips_raw_body_exactly() {
        let raw = Bytes::from_static(b"{\"z\" : 1,\n \"a\":[true]}\x00\xff");
        let env = EventEnvelope {
            event_id: EventId::generate(),
            webhook_id: WebhookId::generate(),
            provider: Provider::GENERIC,
            webhook_message: WebhookMessage {
                date_time: Utc::now(),
                payload: payload_from_body(None, &raw).unwrap(),
                headers: Headers::from([("x-a".into(), vec!["1".into(), "2".into()])]),
            },
            raw_body: raw.clone(),
        };
        let json = serde_json::to_string(&env).unwrap();
        let back: EventEnvelope = serde_json::from_str(&json).unwrap();
        assert_eq!(back.raw_body, raw);
        assert!(json.contains("rawBody"), "a body that is not the payload text travels as base64");
        assert_eq!(back.webhook_message.headers["x-a"], vec!["1", "2"]);
        assert_eq!(back.webhook_message.payload.get(), env.webhook_message.payload.get());
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(v["webhookMessage"]["dateTime"].as_str().unwrap().ends_with('Z'));
    }
}
