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
        (name = "providers", description = "The provider catalog"),
        (name = "stats", description = "Overview figures for the console"),
        (name = "secrets", description = "Data-key rotation and moving secrets between storages"),
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

pub mod constraints;
