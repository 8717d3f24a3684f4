//! The management API's JSON request bodies (`shared/src/management/*.rs`): arbitrary bytes
//! go through the server's own extractor (`ApiJson`: `serde_path_to_error`, then the
//! `{code, message, field}` mapping of its errors) into each request type, then through the
//! checks the handler makes before it touches the store. What passes is built into the
//! stored item (webhook, connector, binding, secrets), which must read back the same.
//!
//! Input: one byte choosing the request (`'0'` + index, see `Body`), then the body.

#![no_main]

use std::collections::BTreeMap;

use axum::body::Body as HttpBody;
use axum::extract::FromRequest;
use axum::response::IntoResponse;
use chrono::{TimeZone, Utc};
use futures::FutureExt;
use hookbridge::ApiError;
use hookbridge::domain::{
    ApiKey, Binding, BindingId, BindingKind, Connector, ConnectorId, ConnectorName, ConnectorSecrets, EndpointUrl,
    Helpers, HttpMethod, OutboundEvent, Provider, RetryPolicy, Webhook, WebhookId, WebhookName, WebhookSecrets,
    WebhookState, correlation_text,
};
use hookbridge::fuzzing::{
    CreateConnector, CreateWebhook, ParamValue, RotateProviderSecret, RotateRequest, UpdateConnector, UpdateWebhook,
    WaitRequest, check_description, check_location, valid_name, validate_provider_secret,
};
use hookbridge::management::ApiJson;
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;

const BODIES: u8 = 10;

/// The body as `POST`ed, through the server's extractor.
fn extract<T: DeserializeOwned>(body: &[u8]) -> Option<T> {
    let req = http::Request::builder()
        .method("POST")
        .uri("/v1/fuzz")
        .header("content-type", "application/json")
        .body(HttpBody::from(body.to_vec()))
        .unwrap();
    let result = ApiJson::<T>::from_request(req, &()).now_or_never().expect("a full body is read at once");
    match result {
        Ok(ApiJson(t)) => Some(t),
        Err(e) => {
            assert_eq!(e.code(), "INVALID_REQUEST_BODY", "{e}");
            refused(e);
            None
        }
    }
}

/// A refusal: a 4xx answer whose field, when named, is in the message.
fn refused(e: ApiError) {
    let status = e.status();
    assert!(status.is_client_error(), "{status} for {e}");
    if let Some(field) = e.field() {
        assert!(e.to_string().contains(field), "field {field:?} not named in {e}");
    }
    let _ = e.into_response();
}

fn ok_or_refused<T>(r: Result<T, ApiError>) -> Option<T> {
    r.map_err(refused).ok()
}

fn at() -> chrono::DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

fn round_trip<T: serde::Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(v: &T) {
    let json = serde_json::to_string(v).expect("serializes");
    let back: T = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{json} does not read back: {e}"));
    assert_eq!(&back, v, "{json}");
}

fn base_connector() -> Connector {
    Connector {
        id: ConnectorId::from(uuid::Uuid::from_u128(1)),
        name: ConnectorName::parse("fuzz connector").unwrap(),
        description: String::new(),
        base_url: EndpointUrl::parse("https://hooks.example.com").unwrap(),
        method: HttpMethod::Post,
        path: String::new(),
        auth: Default::default(),
        headers: BTreeMap::new(),
        signing: None,
        signing_algorithm: Default::default(),
        signing_key_id: None,
        trust_any_certificate: false,
        tls: None,
        event_types: Vec::new(),
        filters: Vec::new(),
        batch_max_events: None,
        body_template: None,
        timeout_ms: 10_000,
        retry: RetryPolicy::default(),
        enabled: true,
        disabled_reason: None,
        created_at: at(),
        updated_at: at(),
        version: 1,
    }
}

/// A connector as stored: reads back the same, and its own checks hold.
fn stored_connector(c: &Connector) {
    round_trip(c);
    let _ = c.target_url();
    for t in ["audit.login", "", "process.step.done", "é"] {
        for tenants in [None, Some(vec!["t-1".to_owned()])] {
            let event = hookbridge::domain::OutboundEvent {
                id: "e".into(),
                kind: t.into(),
                occurred_at: at(),
                source: String::new(),
                data: serde_json::Value::Null,
                tenants,
            };
            let _ = c.accepts(&event);
        }
    }
    if let Some(t) = &c.body_template {
        let v: serde_json::Value = serde_json::from_str(t).expect("a stored template is JSON");
        assert!(hookbridge::dispatch::template::validate(&v).is_ok());
    }
}

fn create_webhook(body: &[u8]) {
    let Some(req) = extract::<CreateWebhook>(body) else { return };
    // (`${configParam.…}` references are resolved against the secret store first: left as given.)
    let checks = validate_provider_secret(req.provider, &req.provider_secret)
        .and_then(|()| check_location(&req.location, "location."))
        .and_then(|()| check_description(&req.description));
    if ok_or_refused(checks).is_none() {
        return;
    }
    let Some((registration, registration_credential)) =
        ok_or_refused(req.registration.map(|h| h.split("registration")).transpose().map(Option::unzip))
    else {
        return;
    };
    let Some((deregistration, deregistration_credential)) =
        ok_or_refused(req.deregistration.map(|h| h.split("deregistration")).transpose().map(Option::unzip))
    else {
        return;
    };
    let webhook = Webhook {
        id: WebhookId::from(uuid::Uuid::from_u128(2)),
        name: req.name,
        description: req.description,
        provider: req.provider,
        state: WebhookState::Inactive,
        location: req.location,
        created_at: at(),
        updated_at: at(),
        version: 1,
        helpers: Helpers { registration, deregistration, ..Helpers::default() },
    };
    round_trip(&webhook);
    let key: ApiKey = serde_json::from_str("\"fuzz-key\"").unwrap();
    let mut secrets = WebhookSecrets::new(key);
    secrets.provider = req.provider_secret;
    secrets.registration_credential = registration_credential.flatten();
    secrets.deregistration_credential = deregistration_credential.flatten();
    let back = WebhookSecrets::from_secret(&secrets.to_secret()).expect("the webhook's secret reads back");
    assert_eq!(back.provider, secrets.provider);
    assert_eq!(back.registration_credential, secrets.registration_credential);
    assert_eq!(back.deregistration_credential, secrets.deregistration_credential);
    // A saved webhook has the keys it verifies with.
    let _ = back.provider_keys(at());
}

fn update_webhook(body: &[u8]) {
    let Some(req) = extract::<UpdateWebhook>(body) else { return };
    if let Some(d) = &req.description
        && ok_or_refused(check_description(d)).is_none()
    {
        return;
    }
    let _ = req.name.as_ref().map(WebhookName::as_str);
    let _ = req.provider;
    for (h, at) in [(req.registration, "registration"), (req.deregistration, "deregistration")] {
        if let Some(Some(h)) = h {
            ok_or_refused(h.split(at));
        }
    }
}

fn rotate_provider_secret(body: &[u8]) {
    let Some(req) = extract::<RotateProviderSecret>(body) else { return };
    let next = Some(req.provider_secret);
    for p in Provider::all() {
        ok_or_refused(validate_provider_secret(p, &next));
    }
    let _ = req.overlap_seconds.is_some_and(|o| o > 7 * 86_400);
}

fn add_binding(body: &[u8]) {
    let Some(kind) = extract::<BindingKind>(body) else { return };
    let _ = kind.queue().name();
    let binding = Binding {
        id: BindingId::from(uuid::Uuid::from_u128(3)),
        webhook_id: WebhookId::from(uuid::Uuid::from_u128(2)),
        kind,
        created_at: at(),
    };
    round_trip(&binding);
}

fn put_waiter(body: &[u8]) {
    let Some(req) = extract::<WaitRequest>(body) else { return };
    let v = &req.correlation_value;
    let text = correlation_text(v);
    assert_eq!(text.is_some(), v.is_string() || v.is_number() || v.is_boolean());
    if let Some(s) = v.as_str() {
        assert_eq!(text.as_deref(), Some(s));
    }
}

fn create_connector(body: &[u8]) {
    let Some(req) = extract::<CreateConnector>(body) else { return };
    // The handler's own construction and checks (no I/O), then what the store keeps.
    let Some((connector, secrets)) = ok_or_refused(req.build(at())) else { return };
    stored_connector(&connector);
    let back = ConnectorSecrets::from_secret(&secrets.to_secret()).expect("the connector's secret reads back");
    assert_eq!(back.credential, secrets.credential);
    assert_eq!(back.signing_secret, secrets.signing_secret);
}

fn update_connector(body: &[u8]) {
    let Some(req) = extract::<UpdateConnector>(body) else { return };
    let mut c = base_connector();
    // The handler's own change and checks (no I/O), then what the store does with the result.
    let mut secrets = hookbridge::domain::ConnectorSecrets::default();
    if ok_or_refused(req.apply(&mut c, &mut secrets)).is_some() {
        stored_connector(&c);
    }
}

/// The signing-secret rotation reads its optional body itself (not through `ApiJson`).
fn rotate_signing_secret(body: &[u8]) {
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest { secret: None, overlap_seconds: None }
    } else {
        match serde_json::from_slice::<RotateRequest>(body) {
            Ok(r) => r,
            Err(_) => return,
        }
    };
    let _ = req.overlap_seconds.unwrap_or(86_400) > 7 * 86_400;
    let _ = req.secret.map(|s| s.expose().len());
}

fn invoke(body: &[u8]) {
    let Some(event) = extract::<OutboundEvent>(body) else { return };
    if event.validate().is_ok() {
        let json = serde_json::to_string(&event).unwrap();
        let back: OutboundEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back.id, event.id);
        assert_eq!(back.kind, event.kind);
        assert_eq!(back.occurred_at, event.occurred_at);
    }
}

fn put_param(body: &[u8]) {
    let _ = extract::<ParamValue>(body);
    // The parameter's name is a path segment; the body's text stands in for it.
    if let Ok(name) = std::str::from_utf8(body)
        && valid_name(name).is_ok()
    {
        assert!(!name.is_empty() && name.len() <= 128);
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b)));
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&which, body)) = data.split_first() else { return };
    match which.wrapping_sub(b'0') % BODIES {
        0 => create_webhook(body),
        1 => update_webhook(body),
        2 => rotate_provider_secret(body),
        3 => add_binding(body),
        4 => put_waiter(body),
        5 => create_connector(body),
        6 => update_connector(body),
        7 => rotate_signing_secret(body),
        8 => invoke(body),
        _ => put_param(body),
    }
});
