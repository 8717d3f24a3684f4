//! Outbound side: connectors (customer endpoints), the events sent to them, and the record
//! of every delivery.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use super::{ConnectorId, DeliveryId, ParseError};
use crate::secret::SecretString;

/// A connector's unique name: 3 to 100 letters, digits, spaces or `[ ] ( ) . _ -`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
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
        if !valid_authority(authority) {
            return Err(ParseError::new(
                "baseUrl",
                "must name a host name, an IPv4 or a bracketed IPv6 address, and a port up to 65535",
            ));
        }
        if s.chars().count() > 2048 || s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::new("baseUrl", "must be at most 2048 characters without spaces"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `host[:port]` as the OpenAPI document states it (`openapi::constraints::endpoint_url`):
/// DNS labels whose last one is not a number, a dotted IPv4 address without leading zeros,
/// or `[IPv6]` (hex groups); a port up to 65535.
fn valid_authority(authority: &str) -> bool {
    let (host, port) = if let Some(inner) = authority.strip_prefix('[') {
        let Some((v6, after)) = inner.split_once(']') else { return false };
        let ok = v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':') && v6.parse::<std::net::Ipv6Addr>().is_ok();
        if !ok {
            return false;
        }
        match after {
            "" => return true,
            p => match p.strip_prefix(':') {
                Some(p) => ("", Some(p)),
                None => return false,
            },
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    if let Some(p) = port {
        let digits = !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        let fits = p.len() <= 4 || (p.len() == 5 && !p.starts_with('0') && p.parse::<u32>().is_ok_and(|n| n <= 65535));
        if !(digits && fits) {
            return false;
        }
    }
    if host.is_empty() {
        return authority.starts_with('[');
    }
    let octet = |o: &str| {
        !o.is_empty()
            && o.len() <= 3
            && o.bytes().all(|b| b.is_ascii_digit())
            && (o == "0" || !o.starts_with('0'))
            && o.parse::<u16>().is_ok_and(|n| n <= 255)
    };
    let quad: Vec<&str> = host.split('.').collect();
    if quad.len() == 4 && quad.iter().all(|o| octet(o)) {
        return true;
    }
    let label = |l: &str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
            && !l.contains("--")
    };
    let labels: Vec<&str> = host.split('.').collect();
    labels.iter().all(|l| label(l))
        && labels.last().is_some_and(|l| l.as_bytes()[0].is_ascii_alphabetic() || l.starts_with('_'))
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

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    #[default]
    Post,
    Put,
    Patch,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum KeyPlacement {
    #[default]
    Header,
    Query,
}

/// How a connector authenticates, without its secret parts (those are in the secret store).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, Default, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase")]
pub enum ConnectorAuth {
    #[default]
    None,
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `<key>: <value>` as a header, or `?<key>=<value>`.
    ApiKey {
        key: String,
        #[serde(rename = "in", default)]
        placement: KeyPlacement,
    },
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String },
    /// The secret travels in the message: a top-level `clientSecret` field of the JSON body.
    ClientSecret,
    /// OAuth 2.0 client credentials (RFC 6749 4.4): a token from `tokenUrl`, cached until
    /// shortly before it expires and sent as `Authorization: Bearer`; the client secret is
    /// the credential.
    #[serde(rename = "OAUTH2_CLIENT_CREDENTIALS", rename_all = "camelCase")]
    OAuth2ClientCredentials {
        token_url: EndpointUrl,
        client_id: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        scopes: Vec<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        audience: Option<String>,
        #[serde(default)]
        client_auth: ClientAuth,
    },
    /// AWS Signature Version 4 (endpoints behind API Gateway IAM auth, Lambda function
    /// URLs): signed with the dispatch function's credentials, or a role assumed for it.
    #[serde(rename = "AWS_SIGV4", rename_all = "camelCase")]
    AwsSigv4 {
        service: String,
        region: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        role_arn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        external_id: Option<String>,
    },
}

/// How an OAuth 2.0 client authenticates to the token endpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum ClientAuth {
    /// `Authorization: Basic` with the form-encoded id and secret (`client_secret_basic`).
    #[default]
    Basic,
    /// `client_id` and `client_secret` in the form body (`client_secret_post`).
    Post,
}

/// The secret halves of [`ConnectorAuth`] and the signing secret, as one secret-store entry.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConnectorSecrets {
    /// Bearer token, API key value, Basic password or client secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credential: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<SecretString>,
    /// The secret before the last rotation, still signing until `previous_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_signing_secret: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<DateTime<Utc>>,
    /// Mutual TLS: the client certificate (PEM) and its private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_certificate: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key: Option<SecretString>,
}

impl ConnectorSecrets {
    /// The previous signing secret, while its overlap window lasts.
    pub fn previous_signing(&self, now: DateTime<Utc>) -> Option<&SecretString> {
        self.previous_signing_secret.as_ref().filter(|_| self.previous_until.is_some_and(|u| now < u))
    }

    pub fn to_secret(&self) -> SecretString {
        SecretString::new(serde_json::to_string(self).expect("secrets serialize"))
    }

    pub fn from_secret(s: &SecretString) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s.expose())
    }
}

/// How outgoing requests are signed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SigningScheme {
    /// `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`; `whsec_` secret.
    StandardWebhooks,
    /// `x-descope-webhook-s256`: base64 HMAC-SHA256 of the body.
    Descope,
    /// `X-Hub-Signature-256: sha256=<hex>`.
    #[serde(rename = "HUB_SIGNATURE_256")]
    HubSignature256,
    /// RFC 9421 HTTP Message Signatures over `@method`, `@target-uri`, `content-type` and
    /// `content-digest` (RFC 9530 `sha-256`), with `created`, `expires` and `keyid`.
    HttpMessageSignatures,
}

/// The algorithm a signing scheme uses: HMAC-SHA256, or Ed25519 (Standard Webhooks `v1a`,
/// RFC 9421 `ed25519`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SigningAlgorithm {
    #[default]
    HmacSha256,
    Ed25519,
}

impl SigningAlgorithm {
    fn is_default(&self) -> bool {
        *self == Self::HmacSha256
    }
}

/// How a connector signs its requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigningConfig<'a> {
    pub scheme: SigningScheme,
    pub algorithm: SigningAlgorithm,
    /// RFC 9421's `keyid`.
    pub key_id: Option<&'a str>,
}

/// Delays between attempts, in seconds; an attempt past the last entry is not made.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RetryPolicy {
    #[serde(deserialize_with = "super::limits::whole::vec")]
    pub schedule_secs: Vec<u64>,
}

impl Default for RetryPolicy {
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h: about 27.6 hours in all.
    fn default() -> Self {
        Self { schedule_secs: vec![5, 300, 1800, 7200, 18000, 36000, 36000] }
    }
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
    #[serde(default)]
    pub auth: ConnectorAuth,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub signing: Option<SigningScheme>,
    #[serde(default, skip_serializing_if = "SigningAlgorithm::is_default")]
    pub signing_algorithm: SigningAlgorithm,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
    #[serde(default)]
    pub trust_any_certificate: bool,
    /// A private CA and a client certificate (mutual TLS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// Patterns of event types this connector receives (`audit.*`); empty means all.
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Descope's audit filters: every one must pass for an event to be delivered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filters: Vec<EventFilter>,
    /// Deliver the events of one audit batch together, at most this many per request,
    /// as `{"events": [...]}`; one event per request when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch_max_events: Option<u32>,
    /// The body template as JSON text (see `dispatch::template`); the event as is when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_template: Option<String>,
    pub timeout_ms: u64,
    #[serde(default)]
    pub retry: RetryPolicy,
    pub enabled: bool,
    /// Why it was disabled by hookbridge (for example the endpoint answered 410).
    #[serde(default)]
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl Connector {
    /// How it signs, if it does.
    pub fn signing_config(&self) -> Option<SigningConfig<'_>> {
        self.signing.map(|scheme| SigningConfig {
            scheme,
            algorithm: self.signing_algorithm,
            key_id: self.signing_key_id.as_deref(),
        })
    }

    /// Whether this connector receives `event`: its type matches a pattern (or none are
    /// set) and every filter passes.
    pub fn accepts(&self, event: &OutboundEvent) -> bool {
        (self.event_types.is_empty() || self.event_types.iter().any(|p| glob_match(p, &event.kind)))
            && self.filters.iter().all(|f| f.passes(event))
    }

    /// The full target URL (base URL joined with the path).
    pub fn target_url(&self) -> String {
        let base = self.base_url.as_str().trim_end_matches('/');
        match self.path.trim() {
            "" => self.base_url.as_str().to_owned(),
            p => format!("{base}/{}", p.trim_start_matches('/')),
        }
    }
}

/// TLS beyond the public roots: a private CA that signs the endpoint's certificate (trusted
/// besides the public roots), and a client certificate for mutual TLS (the certificate and
/// its key are in the secret store and never shown again).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TlsSettings {
    /// PEM.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_certificate: Option<String>,
    /// Whether a client certificate is configured.
    #[serde(default)]
    pub client_certificate: bool,
}

/// What an audit filter looks at: the event's type (its action) or its tenants.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FilterKey {
    Actions,
    Tenants,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FilterOperator {
    Includes,
    Excludes,
}

/// One filter of a connector, as Descope's audit connector writes it:
/// `{"key": "actions" | "tenants", "operator": "includes" | "excludes", "values": [...]}`.
/// Actions are the event's `type` (values may use `*`); tenants are the event's `tenants`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventFilter {
    pub key: FilterKey,
    pub operator: FilterOperator,
    /// 1 to 100 values of 1 to 256 characters.
    #[schema(min_items = 1, max_items = 100)]
    pub values: Vec<String>,
}

impl EventFilter {
    /// Whether `event` passes. An event without tenants includes none and excludes none.
    pub fn passes(&self, event: &OutboundEvent) -> bool {
        let hit = match self.key {
            FilterKey::Actions => self.values.iter().any(|v| glob_match(v, &event.kind)),
            FilterKey::Tenants => event.tenants.iter().flatten().any(|t| self.values.iter().any(|v| v == t)),
        };
        match self.operator {
            FilterOperator::Includes => hit,
            FilterOperator::Excludes => !hit,
        }
    }
}

/// `*` matches any run of characters; everything else matches itself.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == text;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !text.starts_with(first) || !text[first.len()..].ends_with(last) || text.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &text[first.len()..text.len() - last.len()];
    for mid in &parts[1..parts.len() - 1] {
        match rest.find(mid) {
            Some(i) => rest = &rest[i + mid.len()..],
            None => return false,
        }
    }
    true
}

/// An event for connectors: audit entries, process steps, anything with a type.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboundEvent {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub data: serde_json::Value,
    /// The tenants the event concerns (Descope audit events), for `tenants` filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenants: Option<Vec<String>>,
}

impl OutboundEvent {
    pub fn validate(&self) -> Result<(), ParseError> {
        if self.id.trim().is_empty() || self.id.chars().count() > 256 {
            return Err(ParseError::new("id", "must be 1 to 256 characters"));
        }
        if self.kind.trim().is_empty() || self.kind.chars().count() > 256 {
            return Err(ParseError::new("type", "must be 1 to 256 characters"));
        }
        if self
            .tenants
            .as_ref()
            .is_some_and(|t| t.len() > 100 || t.iter().any(|t| t.is_empty() || t.chars().count() > 256))
        {
            return Err(ParseError::new("tenants", "at most 100 tenants of 1 to 256 characters"));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeliveryStatus {
    Pending,
    Succeeded,
    Failed,
}

/// One try of a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeliveryRecord {
    pub id: DeliveryId,
    pub connector_id: ConnectorId,
    /// The event (for a batch: its first event).
    pub event: OutboundEvent,
    /// For a batch delivery, every event of the batch as a JSON array (text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    pub status: DeliveryStatus,
    pub attempts: Vec<DeliveryAttempt>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl DeliveryRecord {
    /// The key deliveries are listed by: creation time, then id.
    pub fn sort_key(&self) -> String {
        format!("{:013}#{}", self.created_at.timestamp_millis(), self.id)
    }
}

/// The stable id of (event, connector): sent as `webhook-id` on every attempt.
pub fn delivery_id(event_id: &str, connector: &ConnectorId) -> DeliveryId {
    let mut name = Vec::with_capacity(event_id.len() + 16);
    name.extend_from_slice(connector.as_uuid().as_bytes());
    name.extend_from_slice(event_id.as_bytes());
    DeliveryId::from(uuid::Uuid::new_v5(&DELIVERY_NS, &name))
}

/// The stable id of a batch of events to one connector.
pub fn batch_delivery_id(events: &[OutboundEvent], connector: &ConnectorId) -> DeliveryId {
    let mut name = String::from("batch");
    for e in events {
        name.push('\u{1f}');
        name.push_str(&e.id);
    }
    delivery_id(&name, connector)
}

const DELIVERY_NS: uuid::Uuid = uuid::Uuid::from_u128(0x1f0e_2d3c_4b5a_4697_8877_6655_4433_2211);

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

    #[test]
    fn globs() {
        assert!(glob_match("audit.*", "audit.user.created"));
        assert!(glob_match("*", "x"));
        assert!(glob_match("step.completed", "step.completed"));
        assert!(glob_match("a*c*e", "abcde"));
        assert!(!glob_match("audit.*", "step.created"));
        assert!(!glob_match("a*a", "a"));
        assert!(!glob_match("step.completed", "step.completed2"));
    }

    #[test]
    fn auth_json_shapes() {
        let a: ConnectorAuth = serde_json::from_str(r#"{"type":"API_KEY","key":"X-Key","in":"QUERY"}"#).unwrap();
        assert_eq!(a, ConnectorAuth::ApiKey { key: "X-Key".into(), placement: KeyPlacement::Query });
        let b: ConnectorAuth = serde_json::from_str(r#"{"type":"BASIC","username":"u"}"#).unwrap();
        assert_eq!(serde_json::to_value(&b).unwrap(), serde_json::json!({"type":"BASIC","username":"u"}));
    }

    #[test]
    fn delivery_ids_are_stable() {
        let c = ConnectorId::generate();
        assert_eq!(delivery_id("e1", &c), delivery_id("e1", &c));
        assert_ne!(delivery_id("e1", &c), delivery_id("e2", &c));
        assert_ne!(delivery_id("e1", &c), delivery_id("e1", &ConnectorId::generate()));
    }
}

#[cfg(test)]
mod authority_tests {
    use super::EndpointUrl;

    /// The server accepts exactly the hosts the OpenAPI document describes.
    #[test]
    fn endpoint_hosts() {
        for ok in [
            "http://a",
            "https://api.example.com:8443/x",
            "http://127.0.0.1:3000",
            "http://[::1]:80/p",
            "http://a_b.c-d.e",
            "http://x:0000",
        ] {
            assert!(EndpointUrl::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://A0*",
            "http://a..b",
            "http://-a",
            "http://1.2.3.999",
            "http://01.2.3.4",
            "http://a:70000",
            "http://a:00080",
            "http://[::ffff:1.2.3.4]",
            "http://[zz]",
            "http://a:",
            "http://a--b",
        ] {
            assert!(EndpointUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
