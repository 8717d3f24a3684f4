//! What utoipa's model cannot say (composite shapes, `dependentRequired`, exploded object
//! parameters) and the exact patterns, lengths and ranges the server checks, applied to the
//! document as JSON once every path is in it. Each constraint here mirrors a check in the
//! code named beside it, so that a request valid under the document is accepted (unless the
//! resource it names is missing or in another state: 404, 409) and one invalid under it is
//! refused with 400.

mod schemas;

use serde_json::{Map, Value, json};

use crate::domain::limits;
use crate::domain::provider_spec::SecretShape;

/// Characters Rust's `char::is_whitespace` accepts and `str::trim` removes.
const WHITESPACE: &str = r"\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";
/// Control characters (`char::is_control`, Unicode Cc).
const CONTROL: &str = r"\x00-\x1f\x7f-\x9f";
/// A header name (`http::HeaderName::from_bytes`: an RFC 9110 token).
pub const HEADER_NAME: &str = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$";
/// A header value kept on a connector or helper: visible ASCII, spaces and tabs
/// ([`limits::check_headers`]).
pub const HEADER_VALUE: &str = r"^[\t\x20-\x7e]*$";
/// An `Idempotency-Key`: visible ASCII, inner spaces allowed (HTTP trims the ends).
pub const IDEMPOTENCY_KEY: &str = r"^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$";
/// A location id ([`crate::domain::LocationId::parse`]).
pub const LOCATION_ID: &str = r"^[A-Za-z0-9._~-]{1,128}$";
/// A webhook name ([`crate::domain::WebhookName::parse`]).
pub const WEBHOOK_NAME: &str = r"^[A-Za-z0-9\[\]()._-]{3,50}$";
/// A connector name ([`crate::domain::ConnectorName::parse`]).
pub const CONNECTOR_NAME: &str = r"^[A-Za-z0-9\[\]()._ -]{3,100}$";
/// A config parameter's name ([`crate::management::params::valid_name`]).
pub const CONFIG_PARAM_NAME: &str = r"^[A-Za-z0-9_.-]{1,128}$";
/// A queue name or an SQS queue URL ([`crate::domain::QueueRef::parse`]).
pub const QUEUE: &str = r"^(?:https?://(?:[\s\S]*/)?)?(?:[A-Za-z0-9_-]{1,80}|[A-Za-z0-9_-]{1,75}\.fifo)$";
/// A path into a payload ([`crate::domain::JsonPath::parse`]).
pub const JSON_PATH: &str = r"^[^.\[\]]+(?:\[0*[0-9]{1,19}\])*(?:\.[^.\[\]]+(?:\[0*[0-9]{1,19}\])*)*$";

/// At least one character that is not whitespace (what `trim().is_empty()` refuses).
pub fn not_blank() -> String {
    format!("[^{WHITESPACE}]")
}

/// No control character and at least one that is not whitespace
/// ([`crate::domain::ProcessDefinitionId::parse`]).
pub fn printable_not_blank() -> String {
    let printable = format!("[^{CONTROL}]*");
    format!(r"^{printable}[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]{printable}$")
}

/// An absolute `http`/`https` URL with a host name, IPv4 or IPv6 address and an optional
/// port ([`crate::domain::EndpointUrl::parse`], which also requires the URL to parse).
pub fn endpoint_url() -> String {
    let label = r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*";
    // The last label is not a number (a URL parser would read the host as an IPv4 address).
    let last = r"[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*";
    let octet = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9][0-9]|[0-9])";
    let h = "[0-9A-Fa-f]{1,4}";
    let ipv6 = format!(
        "(?:(?:{h}:){{7}}{h}|(?:{h}:){{1,7}}:|(?:{h}:){{1,6}}:{h}|(?:{h}:){{1,5}}(?::{h}){{1,2}}|(?:{h}:){{1,4}}(?::{h}){{1,3}}|(?:{h}:){{1,3}}(?::{h}){{1,4}}|(?:{h}:){{1,2}}(?::{h}){{1,5}}|{h}:(?::{h}){{1,6}}|:(?:(?::{h}){{1,7}}|:))"
    );
    let port = r"(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})";
    format!(
        r"^https?://(?:(?:{label}\.)*{last}|{octet}(?:\.{octet}){{3}}|\[{ipv6}\])(?::{port})?(?:[/?#][^{CONTROL}{WHITESPACE}]*)?$"
    )
}

use schemas::*;

fn merge(target: &mut Value, patch: Value) {
    if let (Some(t), Value::Object(p)) = (target.as_object_mut(), patch) {
        for (k, v) in p {
            t.insert(k, v);
        }
    }
}

fn schemas(doc: &mut Value) -> &mut Map<String, Value> {
    doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut).expect("components.schemas")
}

fn patch_property(doc: &mut Value, schema: &str, property: &str, value: Value) {
    if let Some(p) = doc.pointer_mut(&format!("/components/schemas/{schema}/properties/{property}")) {
        *p = value;
    }
}

pub fn apply(doc: &mut Value) {
    let strings: [(&str, Value); 8] = [
        ("WebhookName", json!({ "pattern": WEBHOOK_NAME, "minLength": 3, "maxLength": 50 })),
        ("ConnectorName", json!({ "pattern": CONNECTOR_NAME, "minLength": 3, "maxLength": 100 })),
        ("LocationId", json!({ "pattern": LOCATION_ID, "minLength": 1, "maxLength": 128 })),
        ("EndpointUrl", json!({ "pattern": endpoint_url(), "maxLength": 2048 })),
        (
            "ProcessDefinitionId",
            json!({ "pattern": printable_not_blank(), "minLength": 1, "maxLength": 256,
            "description": "An id of the process engine's (opaque to hookbridge): 1 to 256 characters, not blank, no control characters." }),
        ),
        ("QueueRef", json!({ "pattern": QUEUE })),
        (
            "JsonPath",
            json!({ "pattern": JSON_PATH, "minLength": 1, "maxLength": 512,
            "description": "A path into the payload: names separated by `.`, each optionally followed by `[index]` steps (`entry[0].changes[0].value`); at most 512 characters.",
            "examples": ["data.order.id"] }),
        ),
        ("SecretString", json!({ "description": "A secret: accepted, never shown again." })),
    ];
    let s = schemas(doc);
    for (name, patch) in strings {
        if let Some(schema) = s.get_mut(name) {
            merge(schema, patch);
        }
    }
    s.insert("Location".into(), location());
    s.insert("AuthInput".into(), auth_input(true));
    s.insert("HelperAuthInput".into(), auth_input(false));
    s.insert("SigningInput".into(), signing_input());
    s.insert("GenericHmac".into(), generic_hmac());
    s.insert("HelperInput".into(), helper_input());
    s.insert("CreateWebhook".into(), create_webhook());
    s.insert("ProviderSecret".into(), any_provider_secret());
    // A new binding refuses unknown fields; `BindingKind` itself stays open, as `Binding`
    // (an answer) extends it.
    if let Some(mut kind) = s.get("BindingKind").cloned() {
        if let Some(variants) = kind.get_mut("oneOf").and_then(Value::as_array_mut) {
            for v in variants {
                v["additionalProperties"] = json!(false);
            }
        }
        s.insert("NewBinding".into(), kind);
    }
    if let Some(r) = s.get_mut("RotateRequest") {
        merge(
            r,
            json!({ "description": "Optional: a secret to use (for a STANDARD_WEBHOOKS connector, base64 after an optional `whsec_`) and the overlap." }),
        );
    }
    if let Some(b) = s.get_mut("BatchInput") {
        merge(
            b,
            json!({ "properties": { "maxEvents": { "type": "integer", "format": "int32", "minimum": 1, "maximum": 1000 } } }),
        );
    }
    if let Some(r) = s.get_mut("RetryPolicy") {
        merge(
            r,
            json!({ "properties": { "scheduleSecs": {
            "type": "array", "maxItems": 20,
            "description": "Seconds before each retry: at most 20, each at most 604800 (7 days).",
            "items": { "type": "integer", "format": "int64", "minimum": 0, "maximum": crate::dispatch::MAX_RETRY_DELAY.as_secs() },
        } } }),
        );
    }

    for connector in ["CreateConnector", "UpdateConnector"] {
        let update = connector == "UpdateConnector";
        let maybe = |v: Value| if update { nullable(v) } else { v };
        patch_property(doc, connector, "description", maybe(description_schema()));
        patch_property(doc, connector, "headers", maybe(headers_schema()));
        patch_property(doc, connector, "eventTypes", maybe(event_types_schema()));
        patch_property(
            doc,
            connector,
            "filters",
            maybe(json!({ "type": "array", "maxItems": limits::MAX_FILTERS, "items": schema_ref("EventFilter"),
                "description": "Every filter must pass for an event to be delivered." })),
        );
        patch_property(doc, connector, "timeoutMs", timeout_schema());
        patch_property(
            doc,
            connector,
            "bodyTemplate",
            json!({
                "description": "The request body: any JSON in which a string `${path}` stands for the value at that path in the event, and `${path}` inside a longer string for its text (every `${` closed with `}` around a valid path). The event as is when absent; `null` removes it on update."
            }),
        );
        patch_property(
            doc,
            connector,
            "path",
            json!({ "type": if update { json!(["string", "null"]) } else { json!("string") },
            "description": "Appended to `baseUrl` (after a `/`)." }),
        );
    }
    patch_property(doc, "UpdateWebhook", "description", nullable(description_schema()));
    patch_property(doc, "RotateProviderSecret", "overlapSeconds", overlap_schema("verifying"));
    patch_property(doc, "RotateRequest", "overlapSeconds", overlap_schema("signing"));
    for field in ["id", "type"] {
        patch_property(
            doc,
            "OutboundEvent",
            field,
            json!({ "type": "string", "minLength": 1, "maxLength": 256, "pattern": not_blank(),
            "description": "1 to 256 characters, not blank." }),
        );
    }
    patch_property(
        doc,
        "OutboundEvent",
        "tenants",
        json!({ "type": ["array", "null"], "maxItems": 100,
            "items": { "type": "string", "minLength": 1, "maxLength": 256 },
            "description": "The tenants the event concerns (for `tenants` filters)." }),
    );
    patch_property(doc, "FlowCall", "headers", headers_schema());
    // `invoke` tells a call from an event by `path`: an event never has one. Its two answers
    // share their fields (a call's body may be text too): `anyOf`, not `oneOf`.
    if let Some(req) = schemas(doc).get_mut("InvokeRequest")
        && let Some(branches) = req.get_mut("oneOf").and_then(Value::as_array_mut)
        && let Some(event) = branches.first_mut()
    {
        *event = json!({ "allOf": [event.clone(), { "not": { "required": ["path"] } }] });
    }
    if let Some(answer) = schemas(doc).get_mut("InvokeAnswer").and_then(Value::as_object_mut)
        && let Some(branches) = answer.remove("oneOf")
    {
        answer.insert("anyOf".into(), branches);
    }
    patch_property(
        doc,
        "EventFilter",
        "values",
        json!({ "type": "array", "minItems": 1, "maxItems": 100,
            "items": { "type": "string", "minLength": 1, "maxLength": limits::MAX_EVENT_TYPE_CHARS } }),
    );
    patch_property(
        doc,
        "WaitRequest",
        "correlationValue",
        json!({
            "description": "A string (at most 512 bytes as UTF-8), number or boolean; compared with the payload's value as text.",
            "oneOf": [
                { "type": "string", "maxLength": limits::MAX_CORRELATION_BYTES },
                { "type": "number" },
                { "type": "boolean" },
            ],
        }),
    );
    patch_property(doc, "ListPage_WebhookView", "nextCursor", json!({ "type": ["string", "null"] }));

    parameters(doc);
}

fn parameters(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        if !path.starts_with("/v1/") {
            continue;
        }
        let Some(item) = item.as_object_mut() else { continue };
        for op in item.values_mut() {
            if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
                refine_parameters(params);
            }
            if op["operationId"] == "addBinding" {
                op["requestBody"]["content"]["application/json"]["schema"] = schema_ref("NewBinding");
            }
            if op["operationId"] == "rotateSigningSecret"
                && let Some(body) = op.get_mut("requestBody")
            {
                // No body (or a blank one) rotates to a generated secret.
                body["required"] = json!(false);
            }
        }
    }
}

fn refine_parameters(params: &mut Vec<Value>) {
    // The location filter: five dependent parameters as one exploded object.
    if let Some(at) = params.iter().position(|p| p["name"] == "orgId") {
        params.retain(|p| {
            !matches!(p["name"].as_str(), Some("orgId" | "workspaceId" | "appId" | "projectId" | "branchId"))
        });
        params.insert(at.min(params.len()), location_filter());
    }
    for p in params.iter_mut() {
        let name = p["name"].as_str().unwrap_or_default().to_owned();
        let location = p["in"].as_str().unwrap_or_default().to_owned();
        let schema = match (location.as_str(), name.as_str()) {
            ("path", "id" | "binding_id") => json!({ "type": "string", "format": "uuid" }),
            ("path", "instance_id") => json!({ "type": "string", "minLength": 1, "maxLength": 256 }),
            ("path", "name") => json!({ "type": "string", "pattern": CONFIG_PARAM_NAME }),
            ("query", "limit") => {
                p["description"] = json!("Page size, default 100; values outside 1 to 1000 are clamped to them.");
                json!({ "type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX })
            }
            ("query", "cursor") => {
                p["description"] = json!(
                    "The `nextCursor` of the previous page (opaque: any other value is refused with `INVALID_CURSOR`)."
                );
                continue;
            }
            ("header", "Idempotency-Key") => {
                json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": IDEMPOTENCY_KEY })
            }
            _ => continue,
        };
        p["schema"] = schema;
    }
}
