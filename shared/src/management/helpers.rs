//! Registration helpers (Okta Workflows style): a webhook may name an endpoint to tell when
//! it is activated (`registration`: it gets `{"eventUrl","webhookId","options"}` and its
//! JSON answer is kept as `registrationData`) and one to tell when it is deactivated
//! (`deregistration`: it gets `{"registrationData","options"}`). Calls go through the
//! dispatch client, so the same SSRF guard applies, and each has `helper_timeout` (60 s).

use crate::domain::limits;
use std::collections::BTreeMap;

use serde::Deserialize;

use super::ManagementState;
use super::connectors::AuthInput;
use crate::dispatch::{OutboundRequest, apply_auth};
use crate::domain::{EndpointUrl, HelperEndpoint, Webhook};
use crate::error::{ApiError, ErrorCode};
use crate::secret::SecretString;

/// A helper endpoint as the caller gives it, credential included.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelperInput {
    url: EndpointUrl,
    #[serde(default)]
    headers: BTreeMap<String, String>,
    auth: Option<AuthInput>,
    options: Option<serde_json::Value>,
}

impl HelperInput {
    /// The stored half and the credential (for the webhook's secret), validated; `at` names
    /// the field (`registration`, `deregistration`).
    pub fn split(self, at: &str) -> Result<(HelperEndpoint, Option<SecretString>), ApiError> {
        if reqwest::Url::parse(self.url.as_str()).is_err() {
            return Err(ApiError::invalid(format!("{at}.url"), "must be a valid URL"));
        }
        if let Err((k, reason)) = limits::check_headers(&self.headers) {
            let field = if k.is_empty() { format!("{at}.headers") } else { format!("{at}.headers.{k}") };
            return Err(ApiError::invalid(field, reason));
        }
        if let Some(options) = &self.options {
            limits::check_json(options).map_err(|reason| ApiError::invalid(format!("{at}.options"), reason))?;
        }
        let (auth, credential) = self.auth.unwrap_or(AuthInput::None {}).split(&format!("{at}.auth"))?;
        // A helper is called once, with its credential as given: no token is fetched for it.
        use crate::domain::ConnectorAuth;
        if matches!(auth, ConnectorAuth::OAuth2ClientCredentials { .. } | ConnectorAuth::AwsSigv4 { .. }) {
            return Err(ApiError::invalid(
                format!("{at}.auth.type"),
                "OAUTH2_CLIENT_CREDENTIALS and AWS_SIGV4 are for connectors",
            ));
        }
        Ok((HelperEndpoint { url: self.url, headers: self.headers, auth, options: self.options }, credential))
    }
}

/// Tells the registration endpoint where events for `webhook` go; its JSON answer (or
/// `null` for an empty one) is what the deregistration gets back later.
pub(super) async fn register(
    st: &ManagementState,
    webhook: &Webhook,
    endpoint: &HelperEndpoint,
    credential: Option<&SecretString>,
    event_url: &str,
) -> Result<serde_json::Value, ApiError> {
    let body = serde_json::json!({
        "eventUrl": event_url,
        "webhookId": webhook.id,
        "options": endpoint.options.clone().unwrap_or(serde_json::Value::Null),
    });
    let answer = call(st, endpoint, credential, body).await.and_then(|data| {
        // Kept on the webhook's item: it must fit there.
        limits::check_json(&data).map(|()| data).map_err(|why| format!("its answer {why}"))
    });
    answer.map_err(|reason| {
        tracing::warn!(webhook_id = %webhook.id, %reason, "registration failed; the webhook stays inactive");
        ApiError::new(
            ErrorCode::REGISTRATION_FAILED,
            format!("the registration endpoint did not accept the webhook: {reason}"),
        )
    })
}

/// Tells the deregistration endpoint the webhook no longer receives events.
pub(super) async fn deregister(
    st: &ManagementState,
    webhook: &Webhook,
    endpoint: &HelperEndpoint,
    credential: Option<&SecretString>,
) -> Result<(), String> {
    let body = serde_json::json!({
        "registrationData": webhook.helpers.registration_data.clone().unwrap_or(serde_json::Value::Null),
        "options": endpoint.options.clone().unwrap_or(serde_json::Value::Null),
    });
    call(st, endpoint, credential, body).await.map(|_| ())
}

/// One POST: 2xx with an empty or JSON body is success; anything else, a blocked target, a
/// network failure or no answer within the timeout is the reason it failed (never a secret:
/// the URL and headers are not repeated).
async fn call(
    st: &ManagementState,
    endpoint: &HelperEndpoint,
    credential: Option<&SecretString>,
    mut body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let mut url = reqwest::Url::parse(endpoint.url.as_str()).map_err(|e| format!("invalid URL: {e}"))?;
    let mut headers: Vec<(String, String)> = vec![("content-type".into(), "application/json".into())];
    headers.extend(endpoint.headers.iter().map(|(k, v)| (k.to_ascii_lowercase(), v.clone())));
    apply_auth(&endpoint.auth, credential, &mut url, &mut headers, &mut body)?;
    let request = OutboundRequest {
        method: reqwest::Method::POST,
        url,
        headers,
        body: serde_json::to_vec(&body).map_err(|e| e.to_string())?,
        timeout: st.config.helper_timeout,
        trust_any_certificate: false,
        max_response: crate::dispatch::MAX_RESPONSE,
        tls: None,
    };
    let response = st.dispatcher.client().send(request).await;
    match (response.status, response.error) {
        (_, Some(error)) if response.blocked => Err(format!("target refused by the outbound guard: {error}")),
        (_, Some(error)) => Err(error),
        (Some(status), None) if (200..300).contains(&status) => {
            if response.body.trim().is_empty() {
                return Ok(serde_json::Value::Null);
            }
            serde_json::from_str(&response.body).map_err(|_| {
                format!(
                    "answered {status} with a body that is not JSON (at most {} bytes)",
                    crate::dispatch::MAX_RESPONSE
                )
            })
        }
        (Some(status), None) => Err(format!("answered {status}")),
        (None, None) => Err("no answer".into()),
    }
}
