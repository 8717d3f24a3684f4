//! Outbound side: connectors (customer endpoints) and the record of deliveries to them.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{ConnectorId, DeliveryId, EventId, ParseError};

/// A connector's unique name (same rules as a webhook name, up to 100 characters).
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ConnectorName(String);

impl ConnectorName {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if !(3..=100).contains(&n) || !s.chars().all(|c| c.is_ascii_alphanumeric() || "[]()._- ".contains(c)) {
            return Err(ParseError::new("name", "must be 3 to 100 letters, digits, spaces or [ ] ( ) . _ -"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConnectorName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for ConnectorName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// An endpoint's base URL: absolute, `http` or `https` only, no credentials in it.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct EndpointUrl(String);

impl EndpointUrl {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or_else(|| ParseError::new("baseUrl", "must start with http:// or https://"))?;
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.is_empty() {
            return Err(ParseError::new("baseUrl", "must name a host"));
        }
        if authority.contains('@') {
            return Err(ParseError::new("baseUrl", "must not carry credentials; use the connector's auth"));
        }
        if s.len() > 2048 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::new("baseUrl", "must be at most 2048 characters without spaces"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for EndpointUrl {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::parse(&String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
}

/// A customer endpoint that receives outbound events.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Connector {
    pub id: ConnectorId,
    pub name: ConnectorName,
    #[serde(default)]
    pub description: String,
    pub base_url: EndpointUrl,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub path: String,
    /// Patterns of event types this connector receives (`audit.*`); empty means all.
    #[serde(default)]
    pub event_types: Vec<String>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub version: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One try of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    pub status: Option<u16>,
    pub latency_ms: u64,
    pub error: Option<String>,
    /// The response body, truncated to 4 KiB.
    pub response: Option<String>,
}

/// One event's delivery to one connector, with every attempt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub event_id: EventId,
    pub connector_id: ConnectorId,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_urls() {
        for ok in ["https://example.com", "http://127.0.0.1:8080/hook?x=1", "https://a.b/c"] {
            assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["ftp://x", "example.com", "https://", "https://u:p@host/", "https://a b", "javascript:alert(1)"] {
            assert_eq!(EndpointUrl::parse(bad).unwrap_err().field, "baseUrl", "{bad}");
        }
    }

    #[test]
    fn connector_names() {
        assert!(ConnectorName::parse("Audit sink (EU)").is_ok());
        assert!(ConnectorName::parse("ab").is_err());
        assert!(ConnectorName::parse("bad;name").is_err());
    }
}
