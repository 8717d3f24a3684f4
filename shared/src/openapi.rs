//! The OpenAPI 3.1 document, generated from the code: every route is registered through
//! `utoipa_axum`'s router together with its `#[utoipa::path]` description, so a route cannot
//! exist undocumented; the error codes come from [`ErrorCode`]'s one list. Served at
//! `GET /v1/openapi.json`.

use utoipa::openapi::Required;
use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::error::ErrorCode;

/// An error answer: a stable code, a message safe to show, and for bad input the path of
/// the offending field.
#[derive(ToSchema)]
#[schema(as = Error)]
#[allow(dead_code)]
pub struct ErrorSchema {
    code: ErrorCode,
    message: String,
    /// The offending field (`location.orgId`, `registration.auth.token`), when one is known.
    field: Option<String>,
}

/// The OpenAPI 3.1 document of this API
#[utoipa::path(get, operation_id = "getOpenApi", path = "/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document", content_type = "application/json")))]
#[allow(dead_code)] // documents the route `route()` serves
fn openapi_document() {}

/// The whole API's document as served at `/v1/openapi.json`: the management routes and the
/// ingress routes, with the shared conventions and the constraints utoipa's model cannot
/// carry (see [`constraints`]). Assembled here, at the top, so neither part imports the other.
pub fn document() -> serde_json::Value {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::management::openapi());
    doc.merge(crate::ingress::openapi());
    Modify::modify(&Conventions, &mut doc);
    let mut doc = serde_json::to_value(&doc).expect("the OpenAPI document serializes");
    constraints::apply(&mut doc);
    doc
}

/// `GET /v1/openapi.json`: public (the description holds no data). The composition roots
/// (the management Lambda, the local runner) mount it beside the management router.
pub fn route() -> axum::Router {
    let doc = std::sync::Arc::new(document());
    axum::Router::new()
        .route("/v1/openapi.json", axum::routing::get(move || std::future::ready(axum::Json(doc.clone()))))
}

#[derive(OpenApi)]
#[openapi(
    paths(openapi_document),
    info(
        title = "hookbridge",
        description = "Webhook platform: provider ingress, fan-out to processes, outbound dispatch, and this management API.",
        license(name = "Apache-2.0")
    ),
    components(schemas(ErrorSchema, ErrorCode)),
    tags(
        (name = "webhooks", description = "Webhooks, their bindings to processes, waiters, keys and provider secrets"),
        (name = "triggers", description = "The Manage Triggers view and failed triggers"),
        (name = "connectors", description = "Outbound endpoints and their deliveries"),
        (name = "config", description = "Config parameters referenced by secrets"),
        (name = "ingress", description = "What providers call"),
        (name = "meta", description = "This document")
    )
)]
pub struct ApiDoc;

/// What every operation shares: bearer auth on `/v1` (IAM in front of it in AWS), the
/// answers any management call may give, and the error code catalogue. Applied once every
/// path is in the document.
pub struct Conventions;

fn error_response(description: &str) -> RefOr<Response> {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            utoipa::openapi::ContentBuilder::new()
                .schema(Some(utoipa::openapi::Ref::from_schema_name("Error")))
                .build(),
        )
        .into()
}

impl Modify for Conventions {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "The admin token (local runner; optional in AWS, where the route is IAM-authorized)",
                    ))
                    .build(),
            ),
        );
        // The catalogue: code, status, meaning.
        let mut table = String::from(
            "Every error code, its HTTP status and when it is answered.\n\n| code | status | when |\n|---|---|---|\n",
        );
        for code in ErrorCode::ALL {
            table.push_str(&format!("| `{}` | {} | {} |\n", code.as_str(), code.status().as_u16(), code.description()));
        }
        if let Some(RefOr::T(utoipa::openapi::schema::Schema::Object(o))) = components.schemas.get_mut("ErrorCode") {
            o.description = Some(table);
        }
        for (path, item) in doc.paths.paths.iter_mut() {
            let management = path.starts_with("/v1/") && path != "/v1/openapi.json";
            let ops = [
                (false, &mut item.get),
                (true, &mut item.post),
                (false, &mut item.put),
                (false, &mut item.patch),
                (false, &mut item.delete),
            ];
            for (is_post, op) in ops {
                let Some(op) = op else { continue };
                let responses = &mut op.responses.responses;
                if management {
                    op.security = Some(vec![SecurityRequirement::new("bearer", Vec::<String>::new())]);
                    responses
                        .entry("401".into())
                        .or_insert_with(|| error_response("`UNAUTHORIZED`: missing or wrong admin token"));
                    if is_post {
                        // Every management POST honours Idempotency-Key (see `management::idempotency`).
                        op.parameters.get_or_insert_with(Vec::new).push(
                            ParameterBuilder::new()
                                .name("Idempotency-Key")
                                .parameter_in(ParameterIn::Header)
                                .required(Required::False)
                                .description(Some(
                                    "A retry with the same key gets the first successful answer (kept 24 h) with `Idempotent-Replayed: true`",
                                ))
                                .schema(Some(ObjectBuilder::new().schema_type(Type::String).max_length(Some(255))))
                                .build(),
                        );
                        let invalid = responses.entry("400".into()).or_insert_with(|| error_response(""));
                        if let RefOr::T(r) = invalid {
                            r.description = if r.description.is_empty() {
                                "`VALIDATION_FAILED` (`Idempotency-Key`)".into()
                            } else {
                                format!("{} (also for `Idempotency-Key`)", r.description)
                            };
                        }
                        let conflict = responses.entry("409".into()).or_insert_with(|| error_response(""));
                        if let RefOr::T(r) = conflict {
                            r.description = if r.description.is_empty() {
                                "`IDEMPOTENCY_IN_PROGRESS`, `IDEMPOTENCY_REPLAY_WITHHELD`".into()
                            } else {
                                format!("{}, `IDEMPOTENCY_IN_PROGRESS`, `IDEMPOTENCY_REPLAY_WITHHELD`", r.description)
                            };
                        }
                    }
                }
                responses.entry("500".into()).or_insert_with(|| error_response("`INTERNAL_ERROR`"));
                responses
                    .entry("503".into())
                    .or_insert_with(|| error_response("`SERVICE_UNAVAILABLE`: retry after `Retry-After`"));
            }
        }
    }
}

/// What utoipa's model cannot say (composite shapes, `dependentRequired`, exploded object
/// parameters) and the exact patterns, lengths and ranges the server checks, applied to the
/// document as JSON once every path is in it. Each constraint here mirrors a check in the
/// code named beside it, so that a request valid under the document is accepted (unless the
/// resource it names is missing or in another state: 404, 409) and one invalid under it is
/// refused with 400.
pub mod constraints {
    use serde_json::{Map, Value, json};

    use crate::domain::limits;

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

    fn schema_ref(name: &str) -> Value {
        json!({ "$ref": format!("#/components/schemas/{name}") })
    }

    fn nullable(schema: Value) -> Value {
        json!({ "oneOf": [{ "type": "null" }, schema] })
    }

    fn headers_schema() -> Value {
        json!({
            "type": "object",
            "description": format!(
                "At most {} headers; names are header tokens, values visible ASCII (spaces and tabs allowed) of at most {} bytes.",
                limits::MAX_HEADERS, limits::MAX_HEADER_VALUE_BYTES
            ),
            "maxProperties": limits::MAX_HEADERS,
            "propertyNames": { "type": "string", "pattern": HEADER_NAME },
            "additionalProperties": { "type": "string", "maxLength": limits::MAX_HEADER_VALUE_BYTES, "pattern": HEADER_VALUE },
        })
    }

    fn free_json(what: &str) -> Value {
        json!({ "description": format!(
            "{what}: any JSON value nesting at most {} levels and at most {} bytes serialized.",
            limits::MAX_JSON_DEPTH, limits::MAX_JSON_BYTES
        ) })
    }

    fn description_schema() -> Value {
        json!({ "type": "string", "maxLength": limits::MAX_DESCRIPTION_CHARS })
    }

    fn overlap_schema(what: &str) -> Value {
        json!({
            "type": ["integer", "null"], "format": "int64", "minimum": 0, "maximum": 7 * 86_400,
            "description": format!("How long the previous secret keeps {what}: 0 to 7 days (604800 s), default 24 hours."),
        })
    }

    fn event_types_schema() -> Value {
        json!({
            "type": "array",
            "description": "Patterns of event types (`*` matches any run of characters); empty means every type.",
            "maxItems": limits::MAX_EVENT_TYPES,
            "items": { "type": "string", "minLength": 1, "maxLength": limits::MAX_EVENT_TYPE_CHARS },
        })
    }

    fn timeout_schema() -> Value {
        json!({ "type": ["integer", "null"], "format": "int64", "minimum": 100, "maximum": 60_000,
                "description": "Per attempt, 100 to 60000 ms (default 10000)." })
    }

    /// The credential-carrying auth of connectors and helpers ([`crate::management::connectors::AuthInput::split`]).
    fn auth_input() -> Value {
        let variant = |kind: &str, description: &str, props: Value, required: &[&str]| {
            let mut properties = props.as_object().cloned().unwrap_or_default();
            properties.insert("type".into(), json!({ "type": "string", "enum": [kind] }));
            let mut req: Vec<&str> = required.to_vec();
            req.push("type");
            json!({ "type": "object", "description": description, "required": req, "properties": properties, "additionalProperties": false })
        };
        json!({
            "description": "Auth as given by the caller, secrets included (they are never shown again).",
            "oneOf": [
                variant("NONE", "No credentials.", json!({}), &[]),
                variant("BEARER", "`Authorization: Bearer <token>`.", json!({ "token": { "type": "string", "minLength": 1 } }), &["token"]),
                variant("API_KEY", "`<key>: <value>` as a header, or `?<key>=<value>`.", json!({
                    "key": { "type": "string", "pattern": HEADER_NAME },
                    "value": { "type": "string" },
                    "in": schema_ref("KeyPlacement"),
                }), &["key", "value"]),
                variant("BASIC", "`Authorization: Basic base64(username:password)`.", json!({
                    "username": { "type": "string", "pattern": "^[^:]{1,100}$" },
                    "password": { "type": "string", "minLength": 1, "maxLength": 100 },
                }), &["username", "password"]),
                variant("CLIENT_SECRET", "A top-level `clientSecret` field of the JSON body.", json!({
                    "secret": { "type": "string", "minLength": 1, "maxLength": 250 },
                }), &["secret"]),
            ],
        })
    }

    /// A signing configuration: Standard Webhooks secrets are base64 (after an optional
    /// `whsec_`), the others any text ([`crate::management::connectors::SigningInput`]).
    fn signing_input() -> Value {
        let b64 = r"^(?:whsec_)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";
        let variant = |schemes: Value, secret: Value| {
            json!({
                "type": "object", "required": ["scheme"], "additionalProperties": false,
                "properties": { "scheme": { "type": "string", "enum": schemes }, "secret": nullable(secret) },
            })
        };
        json!({
            "description": "How outgoing requests are signed; the secret is generated when omitted.",
            "oneOf": [
                variant(json!(["STANDARD_WEBHOOKS"]), json!({ "type": "string", "pattern": b64,
                    "description": "Base64 of the key, optionally after `whsec_`." })),
                variant(json!(["DESCOPE", "HUB_SIGNATURE_256"]), json!({ "type": "string" })),
            ],
        })
    }

    /// GENERIC_HMAC's scheme ([`crate::providers::GenericHmac::validate`]): `{timestamp}` in the
    /// template or `toleranceSeconds` need `timestampHeader`, `{id}` needs `idHeader`.
    fn generic_hmac() -> Value {
        let with_body = |without: &[&str]| {
            if without.is_empty() {
                json!({ "type": "string", "pattern": r"\{body\}" })
            } else {
                json!({ "type": "string", "pattern": format!(r"^(?![\s\S]*\{{(?:{})\}})[\s\S]*\{{body\}}", without.join("|")) })
            }
        };
        let header = json!({ "type": "string" });
        let null = json!({ "type": "null" });
        let tolerance = json!({ "type": "integer", "format": "int64", "minimum": 0 });
        let branch = |template: Value, ts: &Value, id: &Value, tol: Value, required: &[&str]| {
            let mut req = vec!["secret", "header"];
            req.extend_from_slice(required);
            json!({
                "type": "object", "additionalProperties": false, "required": req,
                "properties": {
                    "secret": { "type": "string", "minLength": 1 },
                    "header": { "type": "string", "pattern": HEADER_NAME, "description": "The signature header." },
                    "algorithm": schema_ref("HashAlgorithm"),
                    "encoding": schema_ref("SignatureEncoding"),
                    "prefix": { "type": "string", "description": "Text before the signature in the header (`sha256=`)." },
                    "template": template,
                    "timestampHeader": ts,
                    "idHeader": id,
                    "toleranceSeconds": tol,
                },
            })
        };
        let any_tolerance = nullable(tolerance.clone());
        json!({
            "description": "GENERIC_HMAC: the scheme is given with the secret. The signed string `template` (default `{body}`) must contain `{body}`; `{timestamp}` and `toleranceSeconds` need `timestampHeader`, `{id}` needs `idHeader`.",
            "anyOf": [
                branch(with_body(&[]), &header, &header, any_tolerance.clone(), &["timestampHeader", "idHeader"]),
                branch(with_body(&["id"]), &header, &null, any_tolerance, &["timestampHeader"]),
                branch(with_body(&["timestamp"]), &null, &header, null.clone(), &["idHeader"]),
                branch(with_body(&["timestamp", "id"]), &null, &null, null.clone(), &[]),
            ],
        })
    }

    /// A provider secret given as text: not blank.
    fn plain_secret() -> Value {
        json!({ "type": "string", "pattern": not_blank(),
                "description": "The provider's signing secret or token (`${configParam.name}` references are resolved when saved)." })
    }

    fn meta_secret() -> Value {
        json!({
            "type": "object", "required": ["verifyToken", "appSecret"],
            "description": "META: the subscription's verify token and the app secret, both non-empty.",
            "properties": { "verifyToken": { "type": "string", "minLength": 1 }, "appSecret": { "type": "string", "minLength": 1 } },
        })
    }

    /// Which `providerSecret` each provider takes ([`crate::management::webhooks::validate_provider_secret`]).
    fn provider_secret_by_provider() -> Vec<(Vec<&'static str>, Value, bool)> {
        let ws = WHITESPACE;
        vec![
            (
                vec!["GENERIC"],
                json!({ "type": "null", "description": "GENERIC webhooks use the API key only." }),
                false,
            ),
            (vec!["META"], meta_secret(), true),
            (vec!["GENERIC_HMAC"], generic_hmac(), true),
            (
                vec!["SENDGRID"],
                nullable(json!({ "type": "string",
                    "pattern": format!("^[{ws}]*MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9+/]{{86}}==[{ws}]*$"),
                    "description": "The verification key: base64 DER of a P-256 public key (a point on the curve)." })),
                false,
            ),
            (
                vec!["DISCORD"],
                nullable(json!({ "type": "string", "pattern": format!("^[{ws}]*[0-9A-Fa-f]{{64}}[{ws}]*$"),
                    "description": "The application's Ed25519 public key, 64 hex characters (a point on the curve)." })),
                false,
            ),
            (
                vec![
                    "SLACK",
                    "GITHUB",
                    "STRIPE",
                    "STANDARD_WEBHOOKS",
                    "SVIX",
                    "SHOPIFY",
                    "DESCOPE",
                    "LINEAR",
                    "PAGERDUTY",
                    "GITLAB",
                    "ZOOM",
                    "TWITCH",
                    "OKTA",
                    "MSGRAPH",
                    "MAILGUN",
                    "TWILIO",
                    "SQUARE",
                    "HUBSPOT",
                ],
                nullable(plain_secret()),
                false,
            ),
        ]
    }

    fn helper_input() -> Value {
        json!({
            "type": "object", "required": ["url"], "additionalProperties": false,
            "description": "A helper endpoint as the caller gives it, credential included.",
            "properties": {
                "url": schema_ref("EndpointUrl"),
                "headers": headers_schema(),
                "auth": nullable(schema_ref("AuthInput")),
                "options": free_json("Sent to the helper as `options`"),
            },
        })
    }

    fn create_webhook() -> Value {
        let branches: Vec<Value> = provider_secret_by_provider()
            .into_iter()
            .map(|(providers, secret, required)| {
                let mut req = vec!["name", "provider", "location"];
                if required {
                    req.push("providerSecret");
                }
                json!({
                    "type": "object", "additionalProperties": false, "required": req,
                    "properties": {
                        "name": schema_ref("WebhookName"),
                        "description": description_schema(),
                        "provider": { "type": "string", "enum": providers },
                        "location": schema_ref("Location"),
                        "providerSecret": secret,
                        "registration": nullable(schema_ref("HelperInput")),
                        "deregistration": nullable(schema_ref("HelperInput")),
                    },
                })
            })
            .collect();
        json!({
            "description": "A new webhook. `providerSecret` depends on the provider: none for GENERIC, `{verifyToken, appSecret}` for META, a scheme for GENERIC_HMAC, a public key for SENDGRID and DISCORD, a non-blank string (optional) for the others. `registration` is called on activation, `deregistration` on deactivation.",
            "oneOf": branches,
        })
    }

    /// Any provider's secret (rotation: which one applies is the webhook's provider's).
    fn any_provider_secret() -> Value {
        json!({
            "description": "The new secret, shaped as the webhook's provider takes it (see `CreateWebhook`).",
            "oneOf": [ plain_secret(), meta_secret(), generic_hmac() ],
        })
    }

    /// A location ([`crate::domain::Location`], [`crate::management::webhooks::check_location`]):
    /// a branch only within a project (two shapes, as generators read `anyOf` better than
    /// `dependentRequired`).
    fn location() -> Value {
        let shape = |branch: bool| {
            let mut properties = Map::new();
            for name in ["orgId", "workspaceId", "appId", "projectId"] {
                properties.insert(name.into(), schema_ref("LocationId"));
            }
            let mut required = vec!["orgId", "workspaceId", "appId"];
            if branch {
                properties.insert("branchId".into(), schema_ref("LocationId"));
                required.push("projectId");
            }
            json!({ "type": "object", "required": required, "properties": properties, "additionalProperties": false })
        };
        json!({
            "description": "Where a webhook belongs: organisation, workspace and app (all part of its URL), and optionally a project and, within it, a branch. Names are unique per whole location.",
            "anyOf": [shape(false), shape(true)],
        })
    }

    /// The location filter of the lists, as one exploded query object: org, workspace and
    /// app together or none, a project only with them, a branch only with a project.
    fn location_filter() -> Value {
        let id = schema_ref("LocationId");
        let shape = |names: &[&str]| {
            let props: Map<String, Value> = names.iter().map(|n| ((*n).to_owned(), id.clone())).collect();
            json!({ "type": "object", "required": names, "properties": props, "additionalProperties": false })
        };
        json!({
            "name": "location",
            "in": "query",
            "style": "form",
            "explode": true,
            "required": false,
            "description": "Filter by location: `orgId`, `workspaceId` and `appId` together (or none), optionally `projectId`, and with it `branchId`.",
            "schema": {
                "type": "object",
                "anyOf": [
                    shape(&[]),
                    shape(&["orgId", "workspaceId", "appId"]),
                    shape(&["orgId", "workspaceId", "appId", "projectId"]),
                    shape(&["orgId", "workspaceId", "appId", "projectId", "branchId"]),
                ],
            },
        })
    }

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
        s.insert("AuthInput".into(), auth_input());
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
}
