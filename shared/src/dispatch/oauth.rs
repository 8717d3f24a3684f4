//! OAuth 2.0 client credentials (RFC 6749 4.4) for connectors: one token per connector,
//! fetched once through the guarded client, shared by concurrent deliveries (they wait for
//! the one fetch), kept until shortly before it expires, and refreshed once when the
//! endpoint answers 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::client::{OutboundClient, OutboundRequest};
use crate::domain::{ClientAuth, Connector, ConnectorAuth};
use crate::secret::SecretString;

/// A token's life when the endpoint gives none.
const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// The token endpoint's answer is read up to this size.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

struct Token {
    value: SecretString,
    refresh_at: Instant,
}

/// The tokens of every connector that uses client credentials, one slot each: the slot's
/// lock makes concurrent deliveries wait for one fetch rather than fetch each.
#[derive(Default)]
pub(super) struct Tokens {
    slots: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Option<Token>>>>>,
}

impl Tokens {
    /// The connector's token: the cached one while it is fresh (and is not `failed`, the one
    /// an endpoint just refused), else a new one. `Err`: why none could be had (the token
    /// endpoint's status and a short excerpt of its answer, never a credential).
    pub(super) async fn token(
        &self,
        client: &OutboundClient,
        connector: &Connector,
        client_secret: Option<&SecretString>,
        failed: Option<&SecretString>,
    ) -> Result<SecretString, String> {
        // The connector's version is in the key: a changed client or secret gets its own.
        let key = format!("{}/{}", connector.id, connector.version);
        let slot = self.slots.lock().expect("tokens lock").entry(key).or_default().clone();
        let mut slot = slot.lock().await;
        if let Some(t) = slot.as_ref()
            && t.refresh_at > Instant::now()
            && failed.is_none_or(|f| *f != t.value)
        {
            return Ok(t.value.clone());
        }
        let (value, lifetime) = fetch(client, connector, client_secret).await?;
        // Refreshed a little before it expires: a tenth of its life, at most a minute.
        let margin = (lifetime / 10).min(Duration::from_secs(60));
        *slot = Some(Token { value: value.clone(), refresh_at: Instant::now() + lifetime - margin });
        Ok(value)
    }
}

/// `application/x-www-form-urlencoded` for the Basic credentials (RFC 6749 2.3.1).
fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

async fn fetch(
    client: &OutboundClient,
    connector: &Connector,
    client_secret: Option<&SecretString>,
) -> Result<(SecretString, Duration), String> {
    let ConnectorAuth::OAuth2ClientCredentials { token_url, client_id, scopes, audience, client_auth } =
        &connector.auth
    else {
        return Err("the connector does not use OAuth 2.0 client credentials".into());
    };
    let secret = client_secret.ok_or("the connector has no client secret")?;
    // The form is built apart: its serializer is not `Send` and must not live across the call.
    let (body, headers) = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("grant_type", "client_credentials");
        if !scopes.is_empty() {
            form.append_pair("scope", &scopes.join(" "));
        }
        if let Some(a) = audience {
            form.append_pair("audience", a);
        }
        let mut headers = vec![
            ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
            ("accept".to_owned(), "application/json".to_owned()),
        ];
        match client_auth {
            ClientAuth::Basic => {
                let pair = format!("{}:{}", form_encode(client_id), form_encode(secret.expose()));
                headers.push(("authorization".into(), format!("Basic {}", STANDARD.encode(pair))));
            }
            ClientAuth::Post => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", secret.expose());
            }
        }
        (form.finish().into_bytes(), headers)
    };
    let request = OutboundRequest {
        method: reqwest::Method::POST,
        url: reqwest::Url::parse(token_url.as_str()).map_err(|e| format!("token endpoint: {e}"))?,
        headers,
        body,
        timeout: Duration::from_millis(connector.timeout_ms.clamp(100, 60_000)),
        trust_any_certificate: connector.trust_any_certificate,
        max_response: MAX_TOKEN_RESPONSE,
        tls: None,
    };
    let answer = client.send(request).await;
    if let Some(error) = answer.error {
        return Err(format!("token endpoint: {error}"));
    }
    let status = answer.status.unwrap_or_default();
    if !(200..300).contains(&status) {
        // The error object (RFC 6749 5.2) says why; its description is the server's words.
        let excerpt: String = answer.body.chars().take(200).collect();
        return Err(format!("token endpoint answered {status}: {excerpt}"));
    }
    let v: serde_json::Value =
        serde_json::from_str(&answer.body).map_err(|_| "token endpoint: the answer is not JSON".to_owned())?;
    let token = v
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .filter(|t| !t.is_empty())
        .ok_or("token endpoint: no access_token in the answer")?;
    if let Some(kind) = v.get("token_type").and_then(serde_json::Value::as_str)
        && !kind.eq_ignore_ascii_case("bearer")
    {
        return Err(format!("token endpoint: token_type {kind:?} is not Bearer"));
    }
    let lifetime = v
        .get("expires_in")
        .and_then(|e| e.as_u64().or_else(|| e.as_str().and_then(|s| s.parse().ok())))
        .map_or(DEFAULT_LIFETIME, Duration::from_secs)
        .max(Duration::from_secs(1));
    Ok((SecretString::new(token.to_owned()), lifetime))
}
