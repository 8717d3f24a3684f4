//! A flow step's call (Descope's HTTP connector in a flow): the flow's own payload sent as
//! given to the connector's base URL and a path, with the connector's auth, headers and
//! signing, and the answer handed back. Logged as a delivery, never retried.

use std::collections::BTreeMap;

use super::attempt::{Payload, Target, build};
use super::record::attempt_of;
use super::*;

/// The methods a call may use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum CallMethod {
    Get,
    #[default]
    Post,
    Put,
    Patch,
    Delete,
}

/// `{"method"?, "path", "headers"?, "body"}`: what a flow step sends through a connector.
#[derive(Clone, Debug, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlowCall {
    /// POST when left out.
    #[serde(default)]
    pub method: CallMethod,
    /// Appended to the connector's base URL (not its own path); at most 2048 characters.
    #[schema(max_length = 2048)]
    pub path: String,
    /// Added to the connector's headers (a name given here wins).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Sent exactly as given (no wrapper, the same bytes), as JSON.
    #[schema(value_type = serde_json::Value)]
    pub body: Box<serde_json::value::RawValue>,
}

/// The endpoint's answer to a call.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CallResult {
    /// The call as logged (`GET /v1/deliveries/{id}`).
    pub delivery_id: DeliveryId,
    /// None when nothing came back (see `error`).
    pub status: Option<u16>,
    pub headers: HashMap<String, String>,
    /// Parsed when it is JSON, text otherwise (up to 1 MiB).
    pub body: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub latency_ms: u64,
}

/// The largest answer a call reads.
pub const MAX_CALL_RESPONSE: usize = 1024 * 1024;

impl FlowCall {
    /// Checks what the caller controls: the path's length (where it leads is checked with
    /// the base URL), headers within the limits every stored header keeps.
    pub fn validate(&self) -> Result<(), String> {
        if self.path.chars().count() > 2048 {
            return Err("path: at most 2048 characters".into());
        }
        crate::domain::limits::check_headers(&self.headers).map_err(|(k, why)| format!("headers.{k}: {why}"))
    }

    /// The connector's base URL with this path (the base URL's origin, always).
    fn url(&self, base: &crate::domain::EndpointUrl) -> Result<reqwest::Url, String> {
        let base_url = reqwest::Url::parse(base.as_str()).map_err(|e| format!("invalid base URL: {e}"))?;
        let joined = format!("{}/{}", base.as_str().trim_end_matches('/'), self.path.trim_start_matches('/'));
        let url = reqwest::Url::parse(&joined).map_err(|e| format!("path: {e}"))?;
        if url.origin() != base_url.origin() {
            return Err("path: must stay on the connector's base URL".into());
        }
        Ok(url)
    }
}

impl Dispatcher {
    /// Sends a flow step's call through a connector and returns the answer; `None` when
    /// there is no such connector.
    pub async fn call(&self, connector_id: &ConnectorId, call: &FlowCall) -> Result<Option<CallResult>, IntakeError> {
        call.validate().map_err(IntakeError::Invalid)?;
        let Some(entry) = self.connector(connector_id).await? else { return Ok(None) };
        let (connector, secrets) = (&entry.0, &entry.1);
        let url = call.url(&connector.base_url).map_err(IntakeError::Invalid)?;
        let now = self.backend.clock.now();
        // The call's own record: an event named for the call, its body as the data.
        let event = OutboundEvent {
            id: format!("call-{}", uuid::Uuid::now_v7()),
            kind: "flow.call".into(),
            occurred_at: now,
            source: "flow".into(),
            data: serde_json::from_str(call.body.get()).unwrap_or_default(),
            tenants: None,
        };
        let id = delivery_id(&event.id, connector_id);
        let method = match call.method {
            CallMethod::Get => reqwest::Method::GET,
            CallMethod::Post => reqwest::Method::POST,
            CallMethod::Put => reqwest::Method::PUT,
            CallMethod::Patch => reqwest::Method::PATCH,
            CallMethod::Delete => reqwest::Method::DELETE,
        };
        let own: Vec<(String, String)> = call.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let make = |credential: Option<&crate::secret::SecretString>| {
            let target = Target { url: url.clone(), method: method.clone(), headers: &own };
            let mut req =
                build(connector, secrets, credential, target, Payload::Raw(&call.body), &id.to_string(), now)?;
            req.max_response = MAX_CALL_RESPONSE;
            Ok(req)
        };
        let resp = self.send_authorized(connector, secrets, make).await.map_err(IntakeError::Invalid)?;
        let mut attempt = attempt_of(&resp, now);
        // The log keeps an excerpt, as for every delivery.
        if let Some(r) = &mut attempt.response {
            *r = r.chars().take(MAX_RESPONSE).collect();
        }
        let succeeded = resp.status.is_some_and(|s| (200..300).contains(&s));
        let record = DeliveryRecord {
            id,
            connector_id: *connector_id,
            event,
            batch: None,
            status: if succeeded { DeliveryStatus::Succeeded } else { DeliveryStatus::Failed },
            attempts: vec![attempt],
            next_attempt_at: None,
            created_at: now,
            updated_at: now,
        };
        self.backend.deliveries.create_delivery(&record).await?;
        self.backend.stats.count_immediate(succeeded, now);
        let is_json = resp.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("content-type") && v.contains("json"));
        let body = match serde_json::from_str::<serde_json::Value>(&resp.body) {
            Ok(v) if is_json || resp.body.trim_start().starts_with(['{', '[']) => v,
            _ => serde_json::Value::String(resp.body),
        };
        Ok(Some(CallResult {
            delivery_id: id,
            status: resp.status,
            headers: resp.headers.into_iter().collect(),
            body,
            error: resp.error,
            latency_ms: resp.latency.as_millis() as u64,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(path: &str) -> FlowCall {
        let body = serde_json::value::RawValue::from_string("{}".into()).unwrap();
        FlowCall { method: CallMethod::Post, path: path.into(), headers: BTreeMap::new(), body }
    }

    #[test]
    fn the_path_stays_on_the_base_url() {
        let base = crate::domain::EndpointUrl::parse("https://api.example.com/v2").unwrap();
        assert_eq!(call("/users/1").url(&base).unwrap().as_str(), "https://api.example.com/v2/users/1");
        assert_eq!(call("users?x=1").url(&base).unwrap().as_str(), "https://api.example.com/v2/users?x=1");
        assert!(call("//evil.example/x").url(&base).unwrap().as_str().starts_with("https://api.example.com/"));
        assert!(call("@evil.example/x").url(&base).is_ok_and(|u| u.host_str() == Some("api.example.com")));
        assert!(call("https://evil.example/x").url(&base).is_ok_and(|u| u.host_str() == Some("api.example.com")));
        assert!(call(&"x".repeat(2049)).validate().is_err());
    }
}
