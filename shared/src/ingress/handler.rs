use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, Query, Request, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use http_body_util::{BodyExt, Limited};
use serde::{Deserialize, Serialize};

use super::claim::{Claimed, DeliveryClaim};
use super::{ClientAddr, IngressState};
use crate::domain::provider_spec::Scheme;
use crate::domain::{
    EventEnvelope, EventId, Headers, Provider, WebhookId, WebhookMessage, WebhookState, payload_from_body,
};
use crate::error::{ApiError, ErrorCode};
use crate::metrics::AuthFailures;
use crate::providers::handshake::{self, Answer, Outcome, Refused};
use crate::providers::{self, ProviderSecret};
use crate::registration::Registration;
use crate::stats;

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
    /// The same key under FlowX's parameter name, for URLs written for FlowX.
    #[serde(rename = "flowxApiKey")]
    flowx_api_key: Option<String>,
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
    let result = receive_event(&st, p, req).await;
    if let Err(e) = &result {
        st.backend.stats.add(&format!("{}{}", stats::EVENTS_REFUSED, e.code()), 1, st.backend.clock.now());
    }
    // Before answering: in Lambda nothing runs after the response.
    st.backend.stats.flush_if_due().await;
    result
}

// Every line logged for the request names the webhook (and, once it has one, the event).
#[tracing::instrument(name = "ingress", skip_all, fields(webhook_id = %p.webhook_id, event_id = tracing::field::Empty))]
async fn receive_event(st: &Arc<IngressState>, p: IngressPath, req: Request) -> Result<Response, ApiError> {
    let limit = st.config.max_body_bytes;
    // Refuse a declared oversize body before reading any of it.
    if let Some(len) = req.headers().get(http::header::CONTENT_LENGTH)
        && len.to_str().ok().and_then(|v| v.parse::<u64>().ok()).is_some_and(|n| n > limit as u64)
    {
        return Err(too_large(limit));
    }
    let (provider, reg) = locate(st, &p).await?;
    let id = reg.webhook.id;
    check_api_key(&reg, req.uri())?;

    let client = req.extensions().get::<ClientAddr>().copied();
    let (parts, body) = req.into_parts();
    let body = read_limited(body, limit).await?;
    let now = st.backend.clock.now();
    let query = parts.uri.query().unwrap_or_default();
    // Handshakes the provider does not sign are answered first, and start nothing.
    let has_secret = reg.secrets.provider.is_some();
    match handshake::before_verification(provider, query, &parts.headers, &body, has_secret) {
        Some(Outcome::Answer(answer)) => return Ok(respond(answer)),
        Some(Outcome::Capture { secret, answer }) => {
            capture_secret(st, &reg, secret).await?;
            return Ok(respond(answer));
        }
        None => {}
    }
    let urls = if providers::signs_url(provider) {
        public_urls(st.config.public_url.as_deref(), &parts.headers, &parts.uri)
    } else {
        Vec::new()
    };
    let target = providers::Target { method: parts.method.as_str(), urls: &urls };
    let keys = reg.secrets.provider_keys(now);
    let verified = if matches!(provider.spec().scheme, Scheme::Configured) {
        // The scheme travels with each secret.
        providers::verify_configured(&reg.secrets.provider_secrets(now), &parts.headers, &body, now.timestamp())
    } else {
        providers::verify_at(provider, &keys, &parts.headers, &body, now.timestamp(), target)
    };
    if let Err(e) = verified {
        // Counted, and at debug level detailed (never the secret).
        AUTH_FAILURES.record("signature");
        st.backend.stats.add(&format!("{}{provider}", stats::SIGNATURE_FAILED), 1, now);
        tracing::debug!(webhook_id = %id, provider = %provider, reason = %e, "provider signature refused");
        return Err(ApiError::new(ErrorCode::SIGNATURE_INVALID, "the request signature could not be verified"));
    }
    // Signed handshakes are answered after the signature passed, and start nothing.
    if let Some(answer) = handshake::after_verification(provider, &parts.headers, &body, keys.first().copied()) {
        return Ok(respond(answer));
    }
    let content_type = parts.headers.get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let payload =
        payload_from_body(content_type, &body).map_err(|e| ApiError::new(ErrorCode::INVALID_JSON, e.to_string()))?;

    let event_id = EventId::generate();
    tracing::Span::current().record("event_id", tracing::field::display(event_id));
    // A provider's retry of a delivery we already accepted gets the original event id and
    // starts nothing. The claim is two-phase (see `DeliveryClaim`): a crash or timeout
    // between claiming and queueing must not turn the provider's retry into a "duplicate".
    let claim = match providers::delivery_id(provider, &parts.headers, &body) {
        Some(d) => match DeliveryClaim::take(st, format!("delivery/{id}/{d}"), event_id).await? {
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
            claim.release(st).await;
        }
        // Authenticated but not handed on: keep it for an operator to see and replay. Awaited
        // (bounded) before answering: in Lambda nothing runs after the response.
        crate::accept::keep_failed(&st.backend, &envelope, e.failure()).await;
        return Err(e.into());
    }
    if let Some(claim) = &claim {
        claim.confirm(st).await;
    }
    st.backend.stats.add(stats::EVENTS_ACCEPTED, 1, now);
    tracing::debug!(provider = %provider, bytes = envelope.raw_body.len(), "event queued");
    Ok(Json(Accepted { event_id, duplicate: false }).into_response())
}

/// Authentication failures are counted and reported at most once a second, not logged
/// per request (a flood of bad calls must not flood the logs).
static AUTH_FAILURES: std::sync::LazyLock<AuthFailures> =
    std::sync::LazyLock::new(|| AuthFailures::new(std::time::Duration::from_secs(1)));

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
    let presented =
        Query::<KeyQuery>::try_from_uri(uri).ok().and_then(|q| q.0.api_key.or(q.0.flowx_api_key)).unwrap_or_default();
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

/// A handshake's answer as HTTP.
fn respond(answer: Answer) -> Response {
    match answer {
        Answer::Text(text) => plain_text(text),
        Answer::Json(v) => Json(v).into_response(),
        Answer::Status(status) => status.into_response(),
        Answer::EchoHeader { name, value } => match http::HeaderValue::from_str(&value) {
            Ok(v) => (StatusCode::OK, [(name, v)]).into_response(),
            Err(_) => StatusCode::BAD_REQUEST.into_response(),
        },
    }
}

/// Keeps a secret the provider's handshake delivered (Asana, Notion) when the webhook has
/// none: written over the version read, so of two concurrent handshakes one wins and the
/// other is refused. Awaited before the answer, like every write.
async fn capture_secret(
    st: &IngressState,
    reg: &Registration,
    secret: crate::secret::SecretString,
) -> Result<(), ApiError> {
    let name = crate::registration::webhook_secret_name(&reg.webhook.id);
    let Some((current, version)) = st.backend.secrets.get_secret_versioned(&name).await? else {
        return Err(unknown_webhook());
    };
    let mut secrets =
        crate::domain::WebhookSecrets::from_secret(&current).map_err(|e| ApiError::Internal(Box::new(e)))?;
    if secrets.provider.is_some() {
        return Err(ApiError::new(ErrorCode::SIGNATURE_INVALID, "the request signature could not be verified"));
    }
    secrets.provider = Some(ProviderSecret::Plain(secret));
    st.backend.secrets.replace_secret(&name, &secrets.to_secret(), &version).await?;
    st.cache.invalidate(&reg.webhook.id);
    tracing::info!(webhook_id = %reg.webhook.id, "provider secret kept from the provider's handshake");
    Ok(())
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
    let query = req.uri().query().unwrap_or_default();
    match handshake::on_get(provider, req.method(), query, req.headers(), reg.secrets.provider.as_ref()) {
        Ok(answer) => Ok(respond(answer)),
        Err(Refused::NotAllowed) => {
            Err(ApiError::new(ErrorCode::METHOD_NOT_ALLOWED, "this provider has no GET handshake"))
        }
        Err(Refused::Invalid(why)) => Err(ApiError::new(ErrorCode::HANDSHAKE_INVALID, why)),
        Err(Refused::Mismatch) => {
            Err(ApiError::new(ErrorCode::VERIFY_TOKEN_MISMATCH, "the handshake could not be verified"))
        }
    }
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
