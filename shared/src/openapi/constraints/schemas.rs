//! The schemas utoipa cannot derive: composite shapes and the exact checks of the server.

use super::*;

pub(super) fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

pub(super) fn nullable(schema: Value) -> Value {
    json!({ "oneOf": [{ "type": "null" }, schema] })
}

pub(super) fn headers_schema() -> Value {
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

pub(super) fn free_json(what: &str) -> Value {
    json!({ "description": format!(
        "{what}: any JSON value nesting at most {} levels and at most {} bytes serialized.",
        limits::MAX_JSON_DEPTH, limits::MAX_JSON_BYTES
    ) })
}

pub(super) fn description_schema() -> Value {
    json!({ "type": "string", "maxLength": limits::MAX_DESCRIPTION_CHARS })
}

pub(super) fn overlap_schema(what: &str) -> Value {
    json!({
        "type": ["integer", "null"], "format": "int64", "minimum": 0, "maximum": 7 * 86_400,
        "description": format!("How long the previous secret keeps {what}: 0 to 7 days (604800 s), default 24 hours."),
    })
}

pub(super) fn event_types_schema() -> Value {
    json!({
        "type": "array",
        "description": "Patterns of event types (`*` matches any run of characters); empty means every type.",
        "maxItems": limits::MAX_EVENT_TYPES,
        "items": { "type": "string", "minLength": 1, "maxLength": limits::MAX_EVENT_TYPE_CHARS },
    })
}

pub(super) fn timeout_schema() -> Value {
    json!({ "type": ["integer", "null"], "format": "int64", "minimum": 100, "maximum": 60_000,
            "description": "Per attempt, 100 to 60000 ms (default 10000)." })
}

/// The credential-carrying auth of connectors and helpers ([`crate::management::connectors::AuthInput::split`]).
/// Auth as given for a connector (`oauth`: with OAuth 2.0 client credentials) or for a
/// registration helper (without: a helper is called once, with no token fetched).
pub(super) fn auth_input(oauth: bool) -> Value {
    let variant = |kind: &str, description: &str, props: Value, required: &[&str]| {
        let mut properties = props.as_object().cloned().unwrap_or_default();
        properties.insert("type".into(), json!({ "type": "string", "enum": [kind] }));
        let mut req: Vec<&str> = required.to_vec();
        req.push("type");
        json!({ "type": "object", "description": description, "required": req, "properties": properties, "additionalProperties": false })
    };
    let mut doc = json!({
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
    });
    if oauth {
        let visible = json!({ "type": "string", "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]{1,256}$" });
        doc["oneOf"].as_array_mut().unwrap().push(variant(
            "OAUTH2_CLIENT_CREDENTIALS",
            "OAuth 2.0 client credentials: hookbridge fetches a token from `tokenUrl`, caches it until shortly before it expires, and sends `Authorization: Bearer <token>`.",
            json!({
                "tokenUrl": schema_ref("EndpointUrl"),
                "clientId": visible,
                "clientSecret": { "type": "string", "minLength": 1, "maxLength": 1024 },
                "scopes": { "type": "array", "maxItems": 50,
                    "items": { "type": "string", "pattern": "^[\\x21\\x23-\\x5b\\x5d-\\x7e]{1,256}$" } },
                "audience": nullable(visible.clone()),
                "clientAuth": nullable(schema_ref("ClientAuth")),
            }),
            &["tokenUrl", "clientId", "clientSecret"],
        ));
        let name = json!({ "type": "string", "pattern": "^[a-z0-9-]{1,64}$" });
        doc["oneOf"].as_array_mut().unwrap().push(variant(
            "AWS_SIGV4",
            "AWS Signature Version 4 (API Gateway IAM auth, Lambda function URLs), with the dispatch function's credentials or an assumed role.",
            json!({
                "service": name,
                "region": name,
                "roleArn": nullable(json!({ "type": "string",
                    "pattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}$" })),
                "externalId": { "type": "null", "description": "Only with `roleArn` (see below)." },
            }),
            &["service", "region"],
        ));
        doc["oneOf"].as_array_mut().unwrap().push(variant(
            "AWS_SIGV4",
            "AWS_SIGV4 with an assumed role and its external id.",
            json!({
                "service": name,
                "region": name,
                "roleArn": { "type": "string", "pattern": "^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}$" },
                "externalId": { "type": "string", "pattern": "^[A-Za-z0-9+=,.@:/_-]{2,1224}$" },
            }),
            &["service", "region", "roleArn", "externalId"],
        ));
    }
    doc
}

/// A signing configuration: Standard Webhooks secrets are base64 (after an optional
/// `whsec_`), the others any text ([`crate::management::connectors::SigningInput`]).
pub(super) fn signing_input() -> Value {
    let b64 = r"^(?:whsec_)?(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$";
    let seed = r"^(?:whsk_)?[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$";
    let key_id = json!({ "type": "string", "pattern": r"^[\x20\x21\x23-\x5b\x5d-\x7e]{1,256}$",
        "description": "RFC 9421 `keyid`: 1 to 256 visible ASCII characters, without `\"` or `\\`." });
    let hmac_secret =
        json!({ "type": "string", "pattern": b64, "description": "Base64 of the key, optionally after `whsec_`." });
    let ed_secret = json!({ "type": "string", "pattern": seed,
        "description": "The Ed25519 private key: base64 of its 32-byte seed, optionally after `whsk_`." });
    let variant = |schemes: Value, algorithm: Value, key: Option<&Value>, secret: Value| {
        let mut v = json!({
            "type": "object", "required": ["scheme"], "additionalProperties": false,
            "properties": { "scheme": { "type": "string", "enum": schemes }, "algorithm": algorithm, "secret": nullable(secret) },
        });
        if let Some(k) = key {
            v["required"].as_array_mut().unwrap().push(json!("keyId"));
            v["properties"]["keyId"] = k.clone();
        }
        // ED25519 is chosen explicitly: the branches then never overlap (`oneOf`).
        if v["properties"]["algorithm"]["enum"] == json!(["ED25519"]) {
            v["required"].as_array_mut().unwrap().push(json!("algorithm"));
        }
        v
    };
    let hmac = json!({ "type": ["string", "null"], "enum": ["HMAC_SHA256", null] });
    let ed = json!({ "type": "string", "enum": ["ED25519"] });
    json!({
        "description": "How outgoing requests are signed; the secret is generated when omitted. ED25519 signs Standard Webhooks `v1a` and RFC 9421 `ed25519`; HTTP_MESSAGE_SIGNATURES needs a `keyId`.",
        "oneOf": [
            variant(json!(["STANDARD_WEBHOOKS"]), hmac.clone(), None, hmac_secret.clone()),
            variant(json!(["STANDARD_WEBHOOKS"]), ed.clone(), None, ed_secret.clone()),
            variant(json!(["HTTP_MESSAGE_SIGNATURES"]), hmac.clone(), Some(&key_id), hmac_secret),
            variant(json!(["HTTP_MESSAGE_SIGNATURES"]), ed, Some(&key_id), ed_secret),
            variant(json!(["DESCOPE", "HUB_SIGNATURE_256"]), hmac, None, json!({ "type": "string" })),
        ],
    })
}

/// GENERIC_HMAC's scheme ([`crate::providers::GenericHmac::validate`]): `{timestamp}` in the
/// template or `toleranceSeconds` need `timestampHeader`, `{id}` needs `idHeader`.
pub(super) fn generic_hmac() -> Value {
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
pub(super) fn plain_secret() -> Value {
    json!({ "type": "string", "pattern": not_blank(),
            "description": "The provider's signing secret or token (`${configParam.name}` references are resolved when saved)." })
}

pub(super) fn meta_secret() -> Value {
    json!({
        "type": "object", "required": ["verifyToken", "appSecret"],
        "description": "META, FITBIT: the subscription's verify token and the app (client) secret, both non-empty.",
        "properties": { "verifyToken": { "type": "string", "minLength": 1 }, "appSecret": { "type": "string", "minLength": 1 } },
    })
}

/// Base64 as the server decodes it (canonical: padded, no stray bits in the last
/// character), optionally after `whsec_`.
pub(super) fn base64_pattern(len: Option<usize>) -> String {
    let ws = WHITESPACE;
    let body = match len {
        // 32 bytes: 42 characters, one of 16 canonical ones, `=`.
        Some(32) => "[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=".to_owned(),
        _ => "(?:(?:[A-Za-z0-9+/]{4})+(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?|[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)".to_owned(),
    };
    format!("^[{ws}]*(?:whsec_)?{body}[{ws}]*$")
}

/// The `providerSecret` a secret shape takes, and whether it is required
/// ([`crate::providers::check_secret`]).
pub(super) fn secret_schema(shape: SecretShape) -> (Value, bool) {
    let ws = WHITESPACE;
    let text = |pattern: String, description: &str| {
        nullable(json!({ "type": "string", "pattern": pattern, "description": description }))
    };
    match shape {
        SecretShape::None => {
            (json!({ "type": "null", "description": "The API key alone: no provider secret." }), false)
        }
        SecretShape::MetaPair => (meta_secret(), true),
        SecretShape::Scheme => (generic_hmac(), true),
        SecretShape::Text | SecretShape::Captured => (nullable(plain_secret()), false),
        SecretShape::P256 => (
            text(
                format!("^[{ws}]*MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE[A-Za-z0-9+/]{{86}}==[{ws}]*$"),
                "The verification key: base64 DER of a P-256 public key (a point on the curve).",
            ),
            false,
        ),
        SecretShape::Ed25519Hex => (
            text(
                format!("^[{ws}]*[0-9A-Fa-f]{{64}}[{ws}]*$"),
                "The application's Ed25519 public key, 64 hex characters (a point on the curve).",
            ),
            false,
        ),
        SecretShape::Ed25519Base64 => {
            (text(base64_pattern(Some(32)), "The Ed25519 public key, base64 (a point on the curve)."), false)
        }
        SecretShape::Base64 => {
            (text(base64_pattern(None), "The secret in base64 (a `whsec_` prefix is accepted)."), false)
        }
        SecretShape::Hex => (text(format!("^[{ws}]*(?:[0-9A-Fa-f]{{2}})+[{ws}]*$"), "The secret in hex."), false),
        SecretShape::UserPassword => {
            (text("^[^:]*:[\\s\\S]*$".to_owned(), "`user:password`, as the provider sends with Basic auth."), false)
        }
    }
}

/// Which `providerSecret` each provider takes, grouped by shape, from the catalog.
pub(super) fn provider_secret_by_provider() -> Vec<(Vec<&'static str>, Value, bool)> {
    let mut groups: Vec<(SecretShape, Vec<&'static str>)> = Vec::new();
    for p in crate::domain::Provider::all() {
        let shape = p.spec().secret;
        match groups.iter_mut().find(|(s, _)| *s == shape) {
            Some((_, names)) => names.push(p.name()),
            None => groups.push((shape, vec![p.name()])),
        }
    }
    groups
        .into_iter()
        .map(|(shape, names)| {
            let (schema, required) = secret_schema(shape);
            (names, schema, required)
        })
        .collect()
}

pub(super) fn helper_input() -> Value {
    json!({
        "type": "object", "required": ["url"], "additionalProperties": false,
        "description": "A helper endpoint as the caller gives it, credential included.",
        "properties": {
            "url": schema_ref("EndpointUrl"),
            "headers": headers_schema(),
            "auth": nullable(schema_ref("HelperAuthInput")),
            "options": free_json("Sent to the helper as `options`"),
        },
    })
}

pub(super) fn create_webhook() -> Value {
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
        "description": "A new webhook. `providerSecret` depends on the provider (`GET /v1/providers` lists each one's fields): none for GENERIC and AZURE_EVENT_GRID, `{verifyToken, appSecret}` for META and FITBIT, a scheme for GENERIC_HMAC, a public key for SENDGRID, DISCORD and TELNYX, base64 or hex where the provider's secret is, a non-blank string (optional) for the others. `registration` is called on activation, `deregistration` on deactivation.",
        "oneOf": branches,
    })
}

/// Any provider's secret (rotation: which one applies is the webhook's provider's).
pub(super) fn any_provider_secret() -> Value {
    json!({
        "description": "The new secret, shaped as the webhook's provider takes it (see `CreateWebhook`).",
        "oneOf": [ plain_secret(), meta_secret(), generic_hmac() ],
    })
}

/// A location ([`crate::domain::Location`], [`crate::management::webhooks::check_location`]):
/// a branch only within a project (two shapes, as generators read `anyOf` better than
/// `dependentRequired`).
pub(super) fn location() -> Value {
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
pub(super) fn location_filter() -> Value {
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
