use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};

use super::{ClientAddr, IngressState};
use crate::domain::{
    EventEnvelope, EventId, Headers, Provider, WebhookId, WebhookMessage, WebhookState, payload_from_body,
};
use crate::error::{ApiError, ErrorCode, StoreError};
use crate::metrics::AuthFailures;
use crate::ports::Claim;
use crate::providers::{self, ProviderSecret};
use crate::registration::Registration;

#[derive(Debug, Clone)]
pub struct IngressConfig {
    /// Largest accepted body (default 1 MiB).
    pub max_body_bytes: usize,
    /// Largest events-queue message; larger events travel by claim check.
    pub max_message_bytes: usize,
    /// How long a provider's delivery id is remembered, so its retries start nothing twice
    /// (default 72 hours: longer than any provider retries).
    pub dedup_window: std::time::Duration,
    /// How long a delivery claim stays pending before a retry may take it over (see
    /// [`PENDING_CLAIM_TTL`]).
    pub pending_claim_ttl: std::time::Duration,
    /// Read the webhook on every request and reuse cached secrets only while its version is
    /// unchanged (Lambda: revocation applies at once), rather than trusting the cache for
    /// its TTL (the local runner, whose management invalidates the shared cache).
    pub revalidate: bool,
    /// `HOOKBRIDGE_PUBLIC_URL`, the base of handed-out ingress URLs: what Twilio, Square and
    /// HubSpot sign, together with the URL rebuilt from the request's forwarded headers.
    pub public_url: Option<String>,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub(super) struct IngressPath {
    /// The provider's name in lower case with `-` for `_` (`standard-webhooks`).
    provider: String,
    org_id: String,
    workspace_id: String,
    app_id: String,
    webhook_id: String,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct KeyQuery {
    /// The webhook's API key (part of its URL).
    #[serde(rename = "apiKey")]
    api_key: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Accepted {
    event_id: EventId,
    /// True when this was a provider's retry of a delivery already accepted.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    duplicate: bool,
}

fn unknown_webhook() -> ApiError {
    ApiError::new(ErrorCode::WEBHOOK_NOT_FOUND, "no active webhook at this URL")
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(ErrorCode::PAYLOAD_TOO_LARGE, format!("the body exceeds {limit} bytes"))
}

/// Receive a provider's call
///
/// Checks the API key, verifies the provider's signature over the raw body, answers the
/// provider's handshake, deduplicates its retries, and queues the event durably before
/// answering 200.
#[utoipa::path(post, operation_id = "receiveEvent", path = "/webhooks/{provider}/{org_id}/{workspace_id}/{app_id}/{webhook_id}", tag = "ingress",
    params(IngressPath, KeyQuery),
    request_body(content = String, content_type = "*/*",
        description = "Any body up to 1 MiB (JSON, form-encoded, text); signatures cover the exact bytes"),
    security(()),
    responses(
        (status = 200, description = "Queued durably (`duplicate` for a provider's retry); or a handshake's answer", body = Accepted),
        (status = 204, description = "Discord's webhook-events PING"),
        (status = 400, description = "`INVALID_JSON`, `BODY_UNREADABLE`, `PROVIDER_MISMATCH`", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`API_KEY_INVALID`, `SIGNATURE_INVALID`", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND` (unknown, inactive, or another location)", body = crate::openapi::ErrorSchema),
        (status = 413, description = "`PAYLOAD_TOO_LARGE`", body = crate::openapi::ErrorSchema),
        (status = 422, description = "`CORRELATION_KEY_UNRESOLVED`, `NO_WAITING_INSTANCE` (resume webhooks)", body = crate::openapi::ErrorSchema),
    ))]
pub(super) async fn receive(
    State(st): State<Arc<IngressState>>,
    Path(p): Path<IngressPath>,
    req: Request,
) -> Result<Response, ApiError> {
    let limit = st.config.max_body_bytes;
    // Refuse a declared oversize body before reading any of it.
    if let Some(len) = req.headers().get(http::header::CONTENT_LENGTH)
        && len.to_str().ok().and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > limit as u64)
    {
        return Err(too_large(limit));
    }
    let (provider, reg) = locate(&st, &p).await?;
    let id = reg.webhook.id;
    check_api_key(&reg, req.uri())?;
    // Microsoft Graph validates a subscription with `?validationToken=` (nothing signed):
    // echo the decoded token as plain text.
    if provider == Provider::Msgraph
        && let Some(token) = Query::<GraphValidation>::try_from_uri(req.uri()).ok().and_then(|q| q.0.validation_token)
    {
        return Ok(plain_text(token));
    }

    let client = req.extensions().get::<ClientAddr>().copied();
    let (parts, body) = req.into_parts();
    let body = read_limited(body, limit).await?;
    let now = st.backend.clock.now();
    let urls = if providers::signs_url(provider) {
        public_urls(st.config.public_url.as_deref(), &parts.headers, &parts.uri)
    } else {
        Vec::new()
    };
    let target = providers::Target { method: parts.method.as_str(), urls: &urls };
    let keys = reg.secrets.provider_keys(now);
    let verified = if provider == Provider::GenericHmac {
        // The scheme travels with each secret.
        providers::verify_configured(&reg.secrets.provider_secrets(now), &parts.headers, &body, now.timestamp())
    } else {
        providers::verify_at(provider, &keys, &parts.headers, &body, now.timestamp(), target)
    };
    if let Err(e) = verified {
        // Counted, and at debug level detailed (never the secret).
        AUTH_FAILURES.record("signature");
        tracing::debug!(webhook_id = %id, provider = ?provider, reason = %e, "provider signature refused");
        return Err(ApiError::new(ErrorCode::SIGNATURE_INVALID, "the request signature could not be verified"));
    }
    // Handshakes are answered after the signature passed, and start nothing.
    if let Some(answer) = signed_handshake(provider, &parts.headers, &body, keys.first().copied()) {
        return Ok(answer);
    }
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let payload =
        payload_from_body(content_type, &body).map_err(|e| ApiError::new(ErrorCode::INVALID_JSON, e.to_string()))?;

    let event_id = EventId::generate();
    // A provider's retry of a delivery we already accepted gets the original event id and
    // starts nothing. The claim is two-phase (see `DeliveryClaim`): a crash or timeout
    // between claiming and queueing must not turn the provider's retry into a "duplicate".
    let claim = match providers::delivery_id(provider, &parts.headers, &body) {
        Some(d) => match DeliveryClaim::take(&st, format!("delivery/{id}/{d}"), event_id).await? {
            Claimed::Ours(claim) => Some(claim),
            Claimed::Duplicate(original) => {
                return Ok(Json(Accepted { event_id: original, duplicate: true }).into_response());
            }
        },
        None => None,
    };
    let envelope = EventEnvelope {
        event_id,
        webhook_id: id,
        provider,
        webhook_message: WebhookMessage {
            date_time: st.backend.clock.now(),
            payload,
            headers: forwarded_headers(provider, &parts.headers, client, event_id),
        },
        raw_body: body,
    };
    if let Err(e) = crate::accept::accept(&st.backend, &st.queues, st.config.max_message_bytes, &reg, &envelope).await {
        // Not accepted: the provider's retry must be able to go through.
        if let Some(claim) = &claim {
            claim.release(&st).await;
        }
        // Authenticated but not handed on: keep it for an operator to see and replay. Awaited
        // (bounded) before answering: in Lambda nothing runs after the response.
        crate::accept::keep_failed(&st.backend, &envelope, e.public_cause()).await;
        return Err(e.into());
    }
    if let Some(claim) = &claim {
        claim.confirm(&st).await;
    }
    Ok(Json(Accepted { event_id, duplicate: false }).into_response())
}

/// Authentication failures are counted and reported at most once a second, not logged
/// per request (a flood of bad calls must not flood the logs).
static AUTH_FAILURES: std::sync::LazyLock<AuthFailures> =
    std::sync::LazyLock::new(|| AuthFailures::new(std::time::Duration::from_secs(1)));

/// How long a claim stays "pending" before a retry may take it over: longer than one
/// ingress call can last (the Lambda timeout is 30 s), so a live first attempt is never
/// overtaken, and short enough that a crashed one delays the provider's retries briefly.
pub const PENDING_CLAIM_TTL: std::time::Duration = std::time::Duration::from_secs(60);
const PENDING_PREFIX: &str = "pending:";

/// A provider delivery id claimed for one event. Written `pending:<event id>` with a short
/// TTL before queueing; confirmed to `<event id>` for the dedup window once the event is
/// queued; released if queueing failed. A crash between the steps leaves a pending claim
/// that expires by itself, so the provider's retry is queued rather than taken for a
/// duplicate (at least once, never zero times).
pub(crate) struct DeliveryClaim {
    key: String,
    event_id: EventId,
}

pub(crate) enum Claimed {
    Ours(DeliveryClaim),
    Duplicate(EventId),
}

impl DeliveryClaim {
    pub(crate) async fn take(st: &IngressState, key: String, event_id: EventId) -> Result<Claimed, ApiError> {
        let pending = format!("{PENDING_PREFIX}{event_id}");
        match st.backend.dedup.claim(&key, &pending, st.config.pending_claim_ttl).await? {
            Claim::New => Ok(Claimed::Ours(DeliveryClaim { key, event_id })),
            Claim::Existing(v) if v.starts_with(PENDING_PREFIX) => {
                // The first attempt is still in flight (or died moments ago): the provider
                // should retry shortly, and will then be answered for sure.
                Err(ApiError::Unavailable(StoreError::msg("the first delivery of this event is still being accepted")))
            }
            Claim::Existing(original) => Ok(Claimed::Duplicate(EventId::parse(&original).unwrap_or(event_id))),
        }
    }

    /// The event is queued: remember its delivery id for the whole window. A failure here
    /// only shortens the memory to the pending TTL (a later retry may be queued twice).
    pub(crate) async fn confirm(&self, st: &IngressState) {
        if let Err(e) = st.backend.dedup.put(&self.key, &self.event_id.to_string(), st.config.dedup_window).await {
            tracing::error!(event_id = %self.event_id, error = %e, "could not confirm a delivery claim; a retry may be queued again");
        }
    }

    /// The event was not queued: let the provider's retry through at once. If this fails the
    /// pending claim still expires within its TTL.
    pub(crate) async fn release(&self, st: &IngressState) {
        if let Err(e) = st.backend.dedup.release(&self.key).await {
            tracing::error!(event_id = %self.event_id, error = %e, "could not release a delivery claim; retries wait for it to expire");
        }
    }
}

/// The active webhook a URL names: 404 for anything unknown, inactive or in another
/// location; 400 when the URL names another provider than the webhook's.
async fn locate(st: &IngressState, p: &IngressPath) -> Result<(Provider, Arc<Registration>), ApiError> {
    let provider = Provider::from_path_segment(&p.provider).ok_or_else(unknown_webhook)?;
    let id = WebhookId::parse(&p.webhook_id).map_err(|_| unknown_webhook())?;
    let reg = if st.config.revalidate {
        st.cache.get_current(&st.backend, &id).await?
    } else {
        st.cache.get(&st.backend, &id).await?
    };
    let reg = reg.ok_or_else(unknown_webhook)?;
    let w = &reg.webhook;
    let loc = &w.location;
    if w.state != WebhookState::Active
        || loc.org_id.as_str() != p.org_id
        || loc.workspace_id.as_str() != p.workspace_id
        || loc.app_id.as_str() != p.app_id
    {
        return Err(unknown_webhook());
    }
    if provider != w.provider {
        return Err(ApiError::new(ErrorCode::PROVIDER_MISMATCH, "the URL names another provider than the webhook's"));
    }
    Ok((provider, reg))
}

pub fn check_api_key(reg: &Registration, uri: &http::Uri) -> Result<(), ApiError> {
    let presented = Query::<KeyQuery>::try_from_uri(uri).ok().and_then(|q| q.0.api_key).unwrap_or_default();
    if reg.secrets.api_key.matches(&presented) {
        Ok(())
    } else {
        AUTH_FAILURES.record("api_key");
        Err(ApiError::new(ErrorCode::API_KEY_INVALID, "missing or invalid API key"))
    }
}

/// The URLs a provider may have called to reach this request (URL-bound signatures): the
/// configured public base and the base rebuilt from the request's forwarded headers, each
/// with the request's path and query. A forged header only adds a candidate that no genuine
/// signature covers.
pub fn public_urls(public_base: Option<&str>, headers: &HeaderMap, uri: &http::Uri) -> Vec<String> {
    let path = uri.path_and_query().map_or("/", |pq| pq.as_str());
    let mut urls = Vec::with_capacity(2);
    if let Some(base) = public_base {
        urls.push(format!("{}{path}", base.trim_end_matches('/')));
    }
    if let Some(base) = crate::public_url::request_base(headers, uri) {
        let rebuilt = format!("{base}{path}");
        if !urls.contains(&rebuilt) {
            urls.push(rebuilt);
        }
    }
    urls
}

fn plain_text(body: String) -> Response {
    ([(http::header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

#[derive(Deserialize)]
struct GraphValidation {
    #[serde(rename = "validationToken")]
    validation_token: Option<String>,
}

/// Handshakes that come signed (the signature was verified first): Slack's
/// `url_verification`, Zoom's `endpoint.url_validation`, Twitch's callback verification.
pub fn signed_handshake(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&crate::secret::SecretString>,
) -> Option<Response> {
    match provider {
        Provider::Slack => {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            if v.get("type")?.as_str()? != "url_verification" {
                return None;
            }
            Some(plain_text(v.get("challenge")?.as_str()?.to_owned()))
        }
        Provider::Zoom => {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            if v.get("event")?.as_str()? != "endpoint.url_validation" {
                return None;
            }
            let plain = v.pointer("/payload/plainToken")?.as_str()?;
            let encrypted = providers::zoom_encrypted_token(secret?, plain);
            Some(Json(serde_json::json!({"plainToken": plain, "encryptedToken": encrypted})).into_response())
        }
        Provider::Discord => {
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            match v.get("type")?.as_i64()? {
                // Interactions endpoint PING: answer PONG.
                1 if v.get("event").is_none() => Some(Json(serde_json::json!({"type": 1})).into_response()),
                // Webhook events PING: 204, no body.
                0 => Some(StatusCode::NO_CONTENT.into_response()),
                _ => None,
            }
        }
        Provider::Twitch => {
            let kind = headers.get("twitch-eventsub-message-type")?.to_str().ok()?;
            if kind != "webhook_callback_verification" {
                return None;
            }
            let v: serde_json::Value = serde_json::from_slice(body).ok()?;
            Some(plain_text(v.get("challenge")?.as_str()?.to_owned()))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct MetaHandshake {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
}

/// Answer a provider's GET handshake
///
/// Meta's subscription handshake (echo `hub.challenge` as text when `hub.verify_token`
/// matches, 403 otherwise) and Okta's one-time verification (`{"verification": ...}` from
/// `X-Okta-Verification-Challenge`). Other providers have no GET handshake (405).
#[utoipa::path(get, operation_id = "answerHandshake", path = "/webhooks/{provider}/{org_id}/{workspace_id}/{app_id}/{webhook_id}", tag = "ingress",
    params(IngressPath, KeyQuery),
    security(()),
    responses(
        (status = 200, description = "The challenge (text for Meta, JSON for Okta)", body = String),
        (status = 400, description = "`HANDSHAKE_INVALID`, `PROVIDER_MISMATCH`", body = crate::openapi::ErrorSchema),
        (status = 401, description = "`API_KEY_INVALID`", body = crate::openapi::ErrorSchema),
        (status = 403, description = "`VERIFY_TOKEN_MISMATCH`", body = crate::openapi::ErrorSchema),
        (status = 404, description = "`WEBHOOK_NOT_FOUND`", body = crate::openapi::ErrorSchema),
        (status = 405, description = "`METHOD_NOT_ALLOWED`: this provider has no GET handshake", body = crate::openapi::ErrorSchema),
    ))]
pub(super) async fn handshake(
    State(st): State<Arc<IngressState>>,
    Path(p): Path<IngressPath>,
    req: Request,
) -> Result<Response, ApiError> {
    let (provider, reg) = locate(&st, &p).await?;
    check_api_key(&reg, req.uri())?;
    if provider == Provider::Okta {
        // Okta's one-time verification: echo the challenge header as {"verification": ...}.
        let challenge = req
            .headers()
            .get("x-okta-verification-challenge")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::new(ErrorCode::HANDSHAKE_INVALID, "missing X-Okta-Verification-Challenge"))?;
        return Ok(Json(serde_json::json!({ "verification": challenge })).into_response());
    }
    if provider != Provider::Meta {
        return Err(ApiError::new(ErrorCode::METHOD_NOT_ALLOWED, "this provider has no GET handshake"));
    }
    let forbidden = || ApiError::new(ErrorCode::VERIFY_TOKEN_MISMATCH, "the handshake could not be verified");
    let q = Query::<MetaHandshake>::try_from_uri(req.uri()).map_err(|_| forbidden())?.0;
    let (Some(mode), Some(challenge), Some(token)) = (q.mode, q.challenge, q.verify_token) else {
        return Err(forbidden());
    };
    let expected = match &reg.secrets.provider {
        Some(ProviderSecret::Meta { verify_token: Some(verify_token), .. }) => verify_token,
        _ => return Err(forbidden()),
    };
    if mode != "subscribe" || !expected.ct_eq(token.as_bytes()) {
        return Err(forbidden());
    }
    Ok(plain_text(challenge))
}

/// Reads at most `limit` bytes; more is a 413 without buffering the rest.
async fn read_limited(body: Body, limit: usize) -> Result<Bytes, ApiError> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large(limit)),
        Err(_) => Err(ApiError::new(ErrorCode::BODY_UNREADABLE, "the request body could not be read")),
    }
}

/// Headers that carry the sender's credentials, never handed on to process engines, queues,
/// blobs or failed triggers (whoever reads those must not be able to call us as the sender).
const CREDENTIAL_HEADERS: &[&str] = &["authorization", "proxy-authorization", "cookie"];

/// Every header as name -> all values, less credentials (see [`CREDENTIAL_HEADERS`] and the
/// provider's own token header); adds `x-forwarded-for` (the caller, appended) and
/// `x-request-id` (the event id, unless the caller sent one).
pub fn forwarded_headers(
    provider: Provider,
    headers: &HeaderMap,
    client: Option<ClientAddr>,
    event_id: EventId,
) -> Headers {
    let token = providers::credential_header(provider);
    let mut out = Headers::new();
    for (name, value) in headers {
        let name = name.as_str();
        if CREDENTIAL_HEADERS.contains(&name) || token == Some(name) {
            continue;
        }
        out.entry(name.to_owned()).or_default().push(String::from_utf8_lossy(value.as_bytes()).into_owned());
    }
    if let Some(ClientAddr(ip)) = client {
        out.entry("x-forwarded-for".into()).or_default().push(ip.to_string());
    }
    out.entry("x-request-id".into()).or_insert_with(|| vec![event_id.to_string()]);
    out
}
