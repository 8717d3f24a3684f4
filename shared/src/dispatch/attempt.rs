//! An attempt: load the delivery and its connector, prepare the request (auth, headers,
//! signature) and call the endpoint; the outcome goes to `record`.

use super::intake::message;
use super::record::attempt_of;
use super::*;
use crate::secret::SecretString;

impl Dispatcher {
    /// One attempt of a queued delivery. `Err` only when the outcome could not be recorded
    /// (the message is then retried by the queue).
    #[tracing::instrument(name = "attempt", skip_all, fields(delivery_id = %m.delivery_id))]
    pub async fn attempt(&self, m: &DeliveryMessage) -> Result<(), StoreError> {
        let Some(record) = self.backend.deliveries.get_delivery(&m.delivery_id).await? else {
            tracing::warn!(delivery_id = %m.delivery_id, "message for an unknown delivery dropped");
            return Ok(());
        };
        if record.status != DeliveryStatus::Pending {
            return Ok(()); // a duplicate message: done already
        }
        let now = self.backend.clock.now();
        if let Some(at) = m.not_before.filter(|at| *at > now) {
            // Not due yet: wait another hop.
            let wait = (at - now).to_std().unwrap_or_default();
            return self.send(&[message(record.id, Some(at), wait)]).await;
        }
        let Some(entry) = self.connector(&record.connector_id).await? else {
            return self.finish(record, None, Some("the connector was deleted".into()), DeliveryStatus::Failed).await;
        };
        let (connector, secrets) = (&entry.0, &entry.1);
        if !connector.enabled {
            return self.finish(record, None, Some("the connector is disabled".into()), DeliveryStatus::Failed).await;
        }
        let response =
            match self.send_authorized(connector, secrets, |c| prepare(connector, secrets, c, &record, now)).await {
                Ok(response) => response,
                Err(e) => {
                    return self.finish(record, None, Some(e), DeliveryStatus::Failed).await;
                }
            };
        self.record(connector, record, response).await
    }

    /// Calls a connector now and returns its answer (flow steps); the call is logged as a
    /// delivery but not retried.
    pub async fn invoke(
        &self,
        connector_id: &ConnectorId,
        event: &OutboundEvent,
    ) -> Result<Option<ImmediateResult>, IntakeError> {
        event.validate().map_err(|e| IntakeError::Invalid(e.to_string()))?;
        let Some(entry) = self.connector(connector_id).await? else { return Ok(None) };
        let (connector, secrets) = (&entry.0, &entry.1);
        let now = self.backend.clock.now();
        let mut record = DeliveryRecord {
            id: delivery_id(&event.id, connector_id),
            connector_id: *connector_id,
            event: event.clone(),
            batch: None,
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            next_attempt_at: None,
            created_at: now,
            updated_at: now,
        };
        let resp = self
            .send_authorized(connector, secrets, |c| prepare(connector, secrets, c, &record, now))
            .await
            .map_err(IntakeError::Invalid)?;
        record.attempts.push(attempt_of(&resp, now));
        let succeeded = resp.status.is_some_and(|s| (200..300).contains(&s));
        record.status = if succeeded { DeliveryStatus::Succeeded } else { DeliveryStatus::Failed };
        self.backend.stats.count_immediate(succeeded, now);
        // A new record, or (the same event invoked again) this call added to the existing one.
        match self.backend.deliveries.create_delivery(&record).await {
            Err(StoreError::Conflict(Conflict::AlreadyExists)) => {
                self.save_attempt(&record).await?;
            }
            other => other?,
        }
        Ok(Some(ImmediateResult {
            delivery_id: record.id,
            status: resp.status,
            headers: resp.headers.into_iter().collect(),
            body: resp.body,
            error: resp.error,
            latency_ms: resp.latency.as_millis() as u64,
        }))
    }

    /// Sends a request made by `make` with the connector's credential. For OAuth 2.0 client
    /// credentials the credential is the connector's token (fetched or cached), and a 401
    /// gets one retry with a fresh token. `Err`: the request could not be made (not
    /// retried); a token endpoint that fails is an attempt that failed (retried).
    pub(super) async fn send_authorized(
        &self,
        connector: &Connector,
        secrets: &ConnectorSecrets,
        make: impl Fn(Option<&SecretString>) -> Result<OutboundRequest, String>,
    ) -> Result<OutboundResponse, String> {
        let started = std::time::Instant::now();
        if let ConnectorAuth::AwsSigv4 { service, region, role_arn, external_id } = &connector.auth {
            let cfg = super::sigv4::Sigv4 {
                service,
                region,
                role_arn: role_arn.as_deref(),
                external_id: external_id.as_deref(),
            };
            let creds = match self.caches.roles.credentials(&cfg).await {
                Ok(c) => c,
                Err(e) => return Ok(OutboundResponse::failed(e, started.elapsed(), false)),
            };
            let mut req = make(None)?;
            super::sigv4::sign_request(&mut req, &creds, &cfg)?;
            return Ok(self.client.send(req).await);
        }
        if !matches!(connector.auth, ConnectorAuth::OAuth2ClientCredentials { .. }) {
            return Ok(self.client.send(make(secrets.credential.as_ref())?).await);
        }
        // No token: a failed attempt, retried like a connection error.
        let no_token = |error: String| OutboundResponse::failed(error, started.elapsed(), false);
        let tokens = &self.caches.tokens;
        let token = match tokens.token(&self.client, connector, secrets.credential.as_ref(), None).await {
            Ok(t) => t,
            Err(e) => return Ok(no_token(e)),
        };
        let response = self.client.send(make(Some(&token))?).await;
        if response.status != Some(401) {
            return Ok(response);
        }
        match tokens.token(&self.client, connector, secrets.credential.as_ref(), Some(&token)).await {
            Ok(fresh) => Ok(self.client.send(make(Some(&fresh))?).await),
            Err(e) => Ok(no_token(e)),
        }
    }

    pub(super) async fn finish(
        &self,
        mut record: DeliveryRecord,
        status: Option<u16>,
        error: Option<String>,
        outcome: DeliveryStatus,
    ) -> Result<(), StoreError> {
        let now = self.backend.clock.now();
        record.attempts.push(DeliveryAttempt { at: now, status, latency_ms: 0, error, response: None });
        record.status = outcome;
        record.next_attempt_at = None;
        record.updated_at = now;
        self.save_attempt(&record).await.map(|_| ())
    }
}

/// Builds the request for one attempt: body, content type, custom headers, auth (with
/// `credential`: the stored one, or an OAuth 2.0 token), the stable `webhook-id`, and the
/// signature over the exact body bytes.
pub fn prepare(
    connector: &Connector,
    secrets: &ConnectorSecrets,
    credential: Option<&SecretString>,
    record: &DeliveryRecord,
    now: DateTime<Utc>,
) -> Result<OutboundRequest, String> {
    let url = reqwest::Url::parse(&connector.target_url()).map_err(|e| format!("invalid target URL: {e}"))?;
    let template = match &connector.body_template {
        Some(t) => Some(serde_json::from_str::<serde_json::Value>(t).map_err(|e| format!("bodyTemplate: {e}"))?),
        None => None,
    };
    let shape = |event: serde_json::Value| match &template {
        Some(t) => template::render(t, &event),
        None => event,
    };
    let body_value = match &record.batch {
        // A batch: every event, each shaped by the template, as {"events": [...]}.
        Some(text) => {
            let events: Vec<serde_json::Value> = serde_json::from_str(text).map_err(|e| format!("batch: {e}"))?;
            serde_json::json!({ "events": events.into_iter().map(shape).collect::<Vec<_>>() })
        }
        None => shape(serde_json::to_value(&record.event).map_err(|e| e.to_string())?),
    };
    let method = match connector.method {
        HttpMethod::Post => reqwest::Method::POST,
        HttpMethod::Put => reqwest::Method::PUT,
        HttpMethod::Patch => reqwest::Method::PATCH,
    };
    build(
        connector,
        secrets,
        credential,
        Target { url, method, headers: &[] },
        Payload::Value(body_value),
        &record.id.to_string(),
        now,
    )
}

/// A request's body: a JSON value hookbridge made, or JSON text sent exactly as given (a
/// flow step's call; only CLIENT_SECRET auth, which adds a field, rewrites it).
pub(super) enum Payload<'a> {
    Value(serde_json::Value),
    Raw(&'a serde_json::value::RawValue),
}

/// Where a request goes besides the connector's own settings: its URL, method and headers
/// of its own (a flow step's call).
pub(super) struct Target<'a> {
    pub url: reqwest::Url,
    pub method: reqwest::Method,
    pub headers: &'a [(String, String)],
}

/// The request for a body: JSON content type, the connector's headers (then the target's),
/// its auth, the stable `webhook-id`, and the signature over the exact body bytes.
pub(super) fn build(
    connector: &Connector,
    secrets: &ConnectorSecrets,
    credential: Option<&SecretString>,
    target: Target<'_>,
    payload: Payload<'_>,
    id: &str,
    now: DateTime<Utc>,
) -> Result<OutboundRequest, String> {
    let Target { mut url, method, headers: own } = target;
    let mut headers: Vec<(String, String)> = vec![("content-type".into(), "application/json".into())];
    for (k, v) in connector.headers.iter().chain(own.iter().map(|(k, v)| (k, v))) {
        let k = k.to_ascii_lowercase();
        headers.retain(|(h, _)| *h != k);
        headers.push((k, v.clone()));
    }
    let body = match payload {
        Payload::Raw(raw) if !matches!(connector.auth, ConnectorAuth::ClientSecret) => {
            apply_auth(&connector.auth, credential, &mut url, &mut headers, &mut serde_json::Value::Null)?;
            raw.get().as_bytes().to_vec()
        }
        payload => {
            let mut value = match payload {
                Payload::Value(v) => v,
                Payload::Raw(raw) => serde_json::from_str(raw.get()).map_err(|e| e.to_string())?,
            };
            apply_auth(&connector.auth, credential, &mut url, &mut headers, &mut value)?;
            serde_json::to_vec(&value).map_err(|e| e.to_string())?
        }
    };
    headers.push(("webhook-id".into(), id.to_owned()));
    if let Some(cfg) = connector.signing_config() {
        let current = secrets.signing_secret.as_ref().ok_or("the connector has no signing secret")?;
        // During a rotation's overlap the previous key signs too (where the scheme carries
        // several signatures), so receivers can switch at their own pace.
        let keys: Vec<&crate::secret::SecretString> =
            std::iter::once(current).chain(secrets.previous_signing(now)).collect();
        let content_type =
            headers.iter().find(|(k, _)| k == "content-type").map(|(_, v)| v.clone()).unwrap_or_default();
        let message = signing::Message {
            id,
            timestamp: now.timestamp(),
            method: method.as_str(),
            url: url.as_str(),
            content_type: &content_type,
            body: &body,
        };
        for (k, v) in signing::headers(&cfg, &keys, &message)? {
            headers.retain(|(h, _)| h != k);
            headers.push((k.to_owned(), v));
        }
    }
    Ok(OutboundRequest {
        method,
        url,
        headers,
        body,
        timeout: Duration::from_millis(connector.timeout_ms.clamp(100, 60_000)),
        trust_any_certificate: connector.trust_any_certificate,
        max_response: super::MAX_RESPONSE,
        tls: connector.tls.as_ref().map(|t| {
            let identity = match (&secrets.client_certificate, &secrets.client_key) {
                (Some(cert), Some(key)) => Some(SecretString::new(format!("{}\n{}", cert.expose(), key.expose()))),
                _ => None,
            };
            std::sync::Arc::new(super::client::ClientTls {
                key: format!("{}/{}", connector.id, connector.version),
                ca_certificate: t.ca_certificate.clone(),
                identity,
            })
        }),
    })
}

/// Adds an endpoint's auth to a request: a header, a query parameter, or (CLIENT_SECRET) a
/// top-level `clientSecret` field of a JSON object body. Connectors and registration helpers
/// share it.
pub fn apply_auth(
    auth: &ConnectorAuth,
    credential: Option<&crate::secret::SecretString>,
    url: &mut reqwest::Url,
    headers: &mut Vec<(String, String)>,
    body: &mut serde_json::Value,
) -> Result<(), String> {
    let credential = || credential.map(|c| c.expose()).ok_or("the endpoint has no credential");
    match auth {
        ConnectorAuth::None => {}
        ConnectorAuth::Bearer => headers.push(("authorization".into(), format!("Bearer {}", credential()?))),
        ConnectorAuth::ApiKey { key, placement: KeyPlacement::Header } => {
            headers.push((key.to_ascii_lowercase(), credential()?.to_owned()))
        }
        ConnectorAuth::ApiKey { key, placement: KeyPlacement::Query } => {
            url.query_pairs_mut().append_pair(key, credential()?);
        }
        ConnectorAuth::Basic { username } => {
            let pair = format!("{username}:{}", credential()?);
            headers.push(("authorization".into(), format!("Basic {}", STANDARD.encode(pair))));
        }
        ConnectorAuth::ClientSecret => {
            if let Some(obj) = body.as_object_mut() {
                obj.insert("clientSecret".into(), serde_json::Value::String(credential()?.to_owned()));
            }
        }
        // The credential here is the token (see `Dispatcher::send_authorized`).
        ConnectorAuth::OAuth2ClientCredentials { .. } => {
            headers.push(("authorization".into(), format!("Bearer {}", credential()?)))
        }
        // Signed once the request is whole (see `Dispatcher::send_authorized`).
        ConnectorAuth::AwsSigv4 { .. } => {}
    }
    Ok(())
}
