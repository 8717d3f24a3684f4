//! The OpenAPI document: served, valid OpenAPI 3.1, covering every route the server answers
//! and every error code.

use hookbridge::error::ErrorCode;
use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::Value;

/// Every endpoint of the management API and the ingress (the contract in the README).
const ENDPOINTS: &[(&str, &str)] = &[
    ("post", "/v1/webhooks"),
    ("get", "/v1/webhooks"),
    ("get", "/v1/webhooks/{id}"),
    ("patch", "/v1/webhooks/{id}"),
    ("delete", "/v1/webhooks/{id}"),
    ("post", "/v1/webhooks/{id}/bindings"),
    ("get", "/v1/webhooks/{id}/bindings"),
    ("delete", "/v1/webhooks/{id}/bindings/{binding_id}"),
    ("put", "/v1/webhooks/{id}/waiters/{instance_id}"),
    ("delete", "/v1/webhooks/{id}/waiters/{instance_id}"),
    ("post", "/v1/webhooks/{id}/activate"),
    ("post", "/v1/webhooks/{id}/deactivate"),
    ("get", "/v1/webhooks/{id}/url"),
    ("post", "/v1/webhooks/{id}/api-key"),
    ("put", "/v1/webhooks/{id}/provider-secret"),
    ("get", "/v1/triggers"),
    ("get", "/v1/failed-triggers"),
    ("get", "/v1/failed-triggers/{id}"),
    ("post", "/v1/failed-triggers/{id}/replay"),
    ("put", "/v1/config-params/{name}"),
    ("delete", "/v1/config-params/{name}"),
    ("post", "/v1/connectors"),
    ("get", "/v1/connectors"),
    ("get", "/v1/connectors/{id}"),
    ("patch", "/v1/connectors/{id}"),
    ("delete", "/v1/connectors/{id}"),
    ("get", "/v1/connectors/{id}/signing-secret"),
    ("post", "/v1/connectors/{id}/signing-secret/rotate"),
    ("post", "/v1/connectors/{id}/recover"),
    ("post", "/v1/connectors/{id}/invoke"),
    ("get", "/v1/deliveries"),
    ("get", "/v1/deliveries/{id}"),
    ("post", "/v1/deliveries/{id}/redeliver"),
    ("get", "/v1/providers"),
    ("get", "/v1/stats"),
    ("post", "/v1/secrets/rotate-key"),
    ("post", "/v1/secrets/migrate"),
    ("get", "/v1/events/{event_id}/deliveries"),
    ("get", "/v1/openapi.json"),
    ("post", "/webhooks/{provider}/{org_id}/{workspace_id}/{app_id}/{webhook_id}"),
    ("get", "/webhooks/{provider}/{org_id}/{workspace_id}/{app_id}/{webhook_id}"),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// Codes answered outside any one operation (an unknown route, a store conflict on ids).
const GLOBAL_CODES: &[&str] = &["NOT_FOUND", "ALREADY_EXISTS"];

fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in METHODS {
            if let Some(op) = item.get(*m) {
                out.push((m.to_string(), path.clone(), op.clone()));
            }
        }
    }
    out
}

#[tokio::test]
async fn the_document_is_valid_openapi_3_1_and_covers_every_route_and_error_code() {
    let app = TestApp::spawn().await;
    // Served without the admin token.
    let r = app.http.get(format!("{}/v1/openapi.json", app.base)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{}", doc["openapi"]);
    assert_eq!(doc, serde_json::to_value(hookbridge::openapi::document()).unwrap(), "served as generated");

    // Every endpoint is documented, and nothing else is.
    let documented: Vec<(String, String)> = operations(&doc).into_iter().map(|(m, p, _)| (m, p)).collect();
    let mut expected: Vec<(String, String)> = ENDPOINTS.iter().map(|(m, p)| (m.to_string(), p.to_string())).collect();
    expected.sort();
    let mut got = documented.clone();
    got.sort();
    assert_eq!(got, expected);

    // Every documented operation is answered by the server (a route, not the fallbacks).
    for (method, path) in &documented {
        let concrete = path
            .replace("{provider}", "generic")
            .replace("{id}", &uuid::Uuid::now_v7().to_string())
            .replace("{webhook_id}", &uuid::Uuid::now_v7().to_string())
            .replace(['{', '}'], "");
        let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let r = app.admin(m, &concrete).send().await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        assert!(
            status != 405 && body["code"] != "NOT_FOUND",
            "{method} {path} is documented but not served: {status} {body}"
        );
    }

    // Every operation has a summary, a success answer and JSON error answers.
    for (method, path, op) in operations(&doc) {
        assert!(op["summary"].as_str().is_some_and(|s| !s.is_empty()), "{method} {path} has no summary");
        let responses = op["responses"].as_object().unwrap();
        assert!(responses.keys().any(|k| k.starts_with('2')), "{method} {path} documents no success");
        for (status, r) in responses {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    r["content"]["application/json"]["schema"]["$ref"], "#/components/schemas/Error",
                    "{method} {path} {status}"
                );
            }
        }
        if path.starts_with("/v1/") && path != "/v1/openapi.json" {
            assert!(responses.contains_key("401"), "{method} {path} must document the admin token");
        }
    }

    // Every error code: in the Error schema's enum, in the catalogue with its status, and
    // named by at least one operation (or known to be global).
    let schema = &doc["components"]["schemas"]["ErrorCode"];
    let listed: Vec<&str> = schema["enum"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    let catalogue = schema["description"].as_str().unwrap();
    let all_descriptions: String = operations(&doc)
        .iter()
        .flat_map(|(_, _, op)| op["responses"].as_object().unwrap().values())
        .map(|r| r["description"].to_string())
        .collect();
    for code in ErrorCode::ALL {
        let name = code.as_str();
        assert!(listed.contains(&name), "{name} missing from the ErrorCode enum");
        let row = format!("| `{name}` | {} |", code.status().as_u16());
        assert!(catalogue.contains(&row), "{name} missing from the catalogue");
        assert!(
            GLOBAL_CODES.contains(&name) || all_descriptions.contains(&format!("`{name}`")),
            "no operation documents {name}"
        );
    }
    assert_eq!(listed.len(), ErrorCode::ALL.len());

    // And the document validates against the OpenAPI 3.1 schema.
    let validator = std::env::var("HOOKBRIDGE_OPENAPI_VALIDATOR")
        .expect("HOOKBRIDGE_OPENAPI_VALIDATOR is not set: run the tests with `make test`, which installs it");
    let file = app.dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    let out = std::process::Command::new(&validator)
        .args(["--schema", "3.1"])
        .arg(&file)
        .output()
        .expect("the validator runs");
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    app.stop().await;
}

/// The management routes are all registered through the documented router: no `.route(`
/// in the management and ingress sources besides the served document itself.
#[test]
fn no_route_bypasses_the_documented_router() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/src");
    let mut offenders = Vec::new();
    let mut files = Vec::new();
    for dir in ["management", "ingress"] {
        hookbridge_tests::rust_files(&root.join(dir), &mut files);
    }
    for path in files {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            if line.contains(".route(") && !line.contains("/v1/openapi.json") {
                offenders.push(format!("{}:{}: {}", path.display(), n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "routes outside the OpenAPI router:\n{}", offenders.join("\n"));
}

/// The limits the server enforces are stated in the document (Schemathesis generates from
/// them: see docs/api-conformance.md), with the numbers of `domain::limits`.
#[test]
fn the_document_states_the_limits_the_server_enforces() {
    use hookbridge::domain::limits;
    let doc = hookbridge::openapi::document();
    let s = &doc["components"]["schemas"];
    assert_eq!((s["WebhookName"]["minLength"].as_u64(), s["WebhookName"]["maxLength"].as_u64()), (Some(3), Some(50)));
    assert_eq!(s["ConnectorName"]["maxLength"], 100);
    assert_eq!(s["LocationId"]["pattern"], "^[A-Za-z0-9._~-]{1,128}$");
    assert_eq!(s["EndpointUrl"]["maxLength"], 2048);
    assert_eq!(s["ProcessDefinitionId"]["maxLength"], 256);
    assert_eq!(s["JsonPath"]["maxLength"], 512);
    for connector in ["CreateConnector", "UpdateConnector"] {
        let text = s[connector].to_string();
        for fact in [
            format!("\"maxLength\":{}", limits::MAX_DESCRIPTION_CHARS),
            format!("\"maxProperties\":{}", limits::MAX_HEADERS),
            format!("\"maxLength\":{}", limits::MAX_HEADER_VALUE_BYTES),
            format!("\"maxItems\":{}", limits::MAX_EVENT_TYPES),
            format!("\"maxLength\":{}", limits::MAX_EVENT_TYPE_CHARS),
            "\"minimum\":100".into(),
            "\"maximum\":60000".into(),
        ] {
            assert!(text.contains(&fact), "{connector} lacks {fact}: {text}");
        }
    }
    assert_eq!(s["RetryPolicy"]["properties"]["scheduleSecs"]["maxItems"], 20);
    assert_eq!(s["RetryPolicy"]["properties"]["scheduleSecs"]["items"]["maximum"], 604_800);
    let batch = &s["BatchInput"]["properties"]["maxEvents"];
    assert_eq!((batch["minimum"].as_u64(), batch["maximum"].as_u64()), (Some(1), Some(1000)));
    assert_eq!(
        s["WaitRequest"]["properties"]["correlationValue"]["oneOf"][0]["maxLength"],
        limits::MAX_CORRELATION_BYTES
    );
    // Inputs refuse unknown fields, and say so.
    for name in ["CreateConnector", "UpdateConnector", "UpdateWebhook", "RotateRequest", "HelperInput"] {
        assert_eq!(s[name]["additionalProperties"], false, "{name}");
    }
    for list in ["AuthInput", "NewBinding", "CreateWebhook"] {
        for variant in s[list]["oneOf"].as_array().unwrap() {
            assert_eq!(variant["additionalProperties"], false, "{list}: {variant}");
        }
    }

    for (method, path, op) in operations(&doc) {
        if !path.starts_with("/v1/") || path == "/v1/openapi.json" {
            continue;
        }
        for p in op["parameters"].as_array().into_iter().flatten() {
            match (p["in"].as_str().unwrap(), p["name"].as_str().unwrap()) {
                ("path", "id" | "binding_id") => assert_eq!(p["schema"]["format"], "uuid", "{method} {path}"),
                ("query", "limit") => assert_eq!(p["schema"]["maximum"], u32::MAX, "{method} {path}"),
                ("query", "orgId" | "workspaceId" | "appId" | "projectId" | "branchId") => {
                    panic!("{method} {path}: location filters are one exploded `location` object")
                }
                ("header", "Idempotency-Key") => {
                    assert_eq!(
                        (p["schema"]["minLength"].as_u64(), p["schema"]["maxLength"].as_u64()),
                        (Some(1), Some(255))
                    )
                }
                _ => {}
            }
        }
        if method == "post" {
            // Every POST takes an Idempotency-Key, and so may refuse one (400).
            assert!(op["responses"]["400"].is_object(), "{method} {path} documents no 400");
        }
    }
}
