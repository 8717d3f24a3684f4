//! Outbound controls over real sockets, on both backends: Descope's audit filters, a flow
//! step's call through a connector, and the status of every delivery of one event.

use hmac::{Hmac, Mac};
use hookbridge_tests::{TestApp, TestReceiver, eventually};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

async fn connector(app: &TestApp, body: Value) -> Value {
    let (status, c) = app.call(Method::POST, "/v1/connectors", Some(body)).await;
    assert_eq!(status, 201, "{c}");
    c
}

async fn event_deliveries(app: &TestApp, event: &str) -> Vec<Value> {
    let (status, body) = app.call(Method::GET, &format!("/v1/events/{event}/deliveries"), None).await;
    assert_eq!(status, 200, "{body}");
    body.as_array().unwrap().clone()
}

/// Filters decide which connector streams which audit event: actions against the event's
/// type, tenants against its `tenants`, every filter must pass; `GET /v1/events/{id}/
/// deliveries` then shows each event's deliveries with their status.
async fn audit_filters_and_the_deliveries_of_an_event(app: TestApp) {
    let rx = TestReceiver::start().await;
    let users = connector(
        &app,
        json!({"name": "users only", "baseUrl": rx.url("/users"), "filters": [
            {"key": "actions", "operator": "includes", "values": ["user.created", "user.updated"]},
            {"key": "tenants", "operator": "excludes", "values": ["t-bad"]},
        ]}),
    )
    .await;
    let tenant = connector(
        &app,
        json!({"name": "tenant one", "baseUrl": rx.url("/tenant"), "filters": [
            {"key": "tenants", "operator": "includes", "values": ["t-1"]},
        ]}),
    )
    .await;
    let ev = |id: &str, kind: &str, tenants: Value| {
        let mut e =
            json!({"id": id, "type": kind, "occurredAt": "2026-12-02T10:00:00Z", "source": "audit", "data": {}});
        if !tenants.is_null() {
            e["tenants"] = tenants;
        }
        e
    };
    let events = vec![
        ev("e1", "user.created", json!(["t-1"])),
        ev("e2", "user.deleted", json!(["t-1", "t-2"])),
        ev("e3", "user.created", json!(["t-bad"])),
        ev("e4", "user.updated", Value::Null),
    ];
    let (status, body) = app.call(Method::POST, "/local/events", Some(json!({"events": events}))).await;
    assert_eq!(status, 202, "{body}");
    let expected = [
        ("e1", vec!["users only", "tenant one"]),
        ("e2", vec!["tenant one"]),
        ("e3", vec![]),
        ("e4", vec!["users only"]),
    ];
    for (event, names) in expected {
        let got = eventually(|| async {
            let d = event_deliveries(&app, event).await;
            (d.len() == names.len() && d.iter().all(|d| d["status"] == "SUCCEEDED")).then_some(d)
        })
        .await;
        let mut got: Vec<&str> = got.iter().map(|d| d["connectorName"].as_str().unwrap()).collect();
        got.sort();
        let mut want = names.clone();
        want.sort();
        assert_eq!(got, want, "{event}");
    }
    let shown = event_deliveries(&app, "e1").await;
    assert_eq!(shown[0]["attempts"], 1);
    assert_eq!(shown[0]["lastAttempt"]["status"], 200);
    // The receiver got exactly those four requests.
    let mut paths = Vec::new();
    for _ in 0..4 {
        paths.push(rx.next().await.path);
    }
    paths.sort();
    assert_eq!(paths, ["/tenant", "/tenant", "/users", "/users"]);
    assert!(rx.quiet_for(300).await);
    // The filters are on the connector as written, and checked.
    let (_, c) = app.call(Method::GET, &format!("/v1/connectors/{}", users["id"].as_str().unwrap()), None).await;
    assert_eq!(c["filters"][1]["operator"], "excludes");
    let bad = json!({"filters": [{"key": "actions", "operator": "includes", "values": []}]});
    let (status, e) =
        app.call(Method::PATCH, &format!("/v1/connectors/{}", tenant["id"].as_str().unwrap()), Some(bad)).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("filters[0].values")), "{e}");
    let (status, _) = app.call(Method::GET, &format!("/v1/events/{}/deliveries", "x".repeat(257)), None).await;
    assert_eq!(status, 400);
    app.stop().await;
}

/// A flow step's call: its method, path, headers and body go to the connector's base URL
/// exactly as given, with the connector's auth, headers and signature; the answer comes
/// back parsed, and the call is in the delivery log.
async fn a_flow_step_calls_through_a_connector(app: TestApp) {
    let rx = TestReceiver::start().await;
    rx.reply_with("application/json", r#"{"ok":true,"user":{"id":"u1"}}"#);
    let c = connector(
        &app,
        json!({"name": "crm", "baseUrl": rx.url("/api"), "path": "/not-for-calls",
        "auth": {"type": "BEARER", "token": "tok-9"}, "headers": {"X-Tenant": "acme"},
        "signing": {"scheme": "HUB_SIGNATURE_256", "secret": "sign-me"}}),
    )
    .await;
    let id = c["id"].as_str().unwrap();
    // Sent as text: the body's key order and spacing are the flow's own.
    let call =
        r#"{"method": "PUT", "path": "/users/1", "headers": {"X-Trace": "t-1"}, "body": {"name": "Ada", "n": [1,2]}}"#;
    let r = app
        .admin(Method::POST, &format!("/v1/connectors/{id}/invoke"))
        .header("content-type", "application/json")
        .body(call)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let answer: Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["body"], json!({"ok": true, "user": {"id": "u1"}}), "parsed, not text");
    let got = rx.next().await;
    assert_eq!(got.path, "/api/users/1");
    assert_eq!(&got.body[..], br#"{"name": "Ada", "n": [1,2]}"#, "the body exactly, no wrapper");
    assert_eq!(got.headers["authorization"], "Bearer tok-9");
    assert_eq!(
        (&got.headers["x-trace"], &got.headers["x-tenant"]),
        (&"t-1".parse().unwrap(), &"acme".parse().unwrap())
    );
    let mut m = Hmac::<Sha256>::new_from_slice(b"sign-me").unwrap();
    m.update(&got.body);
    assert_eq!(got.headers["x-hub-signature-256"], format!("sha256={}", hex::encode(m.finalize().into_bytes())));
    let (_, logged) =
        app.call(Method::GET, &format!("/v1/deliveries/{}", answer["deliveryId"].as_str().unwrap()), None).await;
    assert_eq!(logged["status"], "SUCCEEDED");
    assert_eq!(logged["event"]["type"], "flow.call");
    // A text answer comes back as text; a failing one with its status.
    rx.reply_with("text/plain", "nope");
    rx.answer(&[422], 200);
    let call = json!({"path": "users", "body": "plain"});
    let (_, answer) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(call)).await;
    assert_eq!((answer["status"].as_u64(), answer["body"].as_str()), (Some(422), Some("nope")));
    assert_eq!(rx.next().await.method_path(), ("POST".to_owned(), "/api/users".to_owned()));
    // An event is still delivered as an event.
    let event = json!({"id": "ev-1", "type": "step.completed", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (status, answer) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(event)).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(rx.next().await.path, "/api/not-for-calls");
    let (status, e) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(json!({"path": "x"}))).await;
    assert_eq!(status, 400, "{e}");
    app.stop().await;
}

/// OAuth 2.0 client credentials: one token fetch for concurrent deliveries (a token
/// endpoint written here counts its calls), the token sent as Bearer, a 401 refreshed once,
/// a failing token endpoint logged on the attempt, and both client authentication methods.
async fn oauth2_client_credentials(app: TestApp) {
    use base64::Engine;
    let token = TestReceiver::start().await;
    token.reply_with("application/json", r#"{"access_token":"tok-1","token_type":"Bearer","expires_in":3600}"#);
    let api = TestReceiver::start().await;
    let auth = |client_auth: &str| {
        json!({"type": "OAUTH2_CLIENT_CREDENTIALS", "tokenUrl": token.url("/oauth/token"), "clientId": "client one",
            "clientSecret": "s3cr:t", "scopes": ["read", "write"], "audience": "https://api.example", "clientAuth": client_auth})
    };
    let c = connector(&app, json!({"name": "oauth sink", "baseUrl": api.url("/in"), "auth": auth("BASIC")})).await;
    assert!(!c.to_string().contains("s3cr:t"), "the client secret is never shown: {c}");
    assert_eq!(c["auth"]["clientId"], "client one");

    // Six deliveries at once (four dispatch workers): one token fetch.
    let events: Vec<Value> = (0..6)
        .map(|i| json!({"id": format!("oa-{i}"), "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {"i": i}}))
        .collect();
    let (status, body) = app.call(Method::POST, "/local/events", Some(json!({"events": events}))).await;
    assert_eq!(status, 202, "{body}");
    for _ in 0..6 {
        let got = api.next().await;
        assert_eq!(got.headers["authorization"], "Bearer tok-1");
    }
    let fetch = token.next().await;
    assert!(token.quiet_for(300).await, "one token fetch for six deliveries");
    assert_eq!(fetch.method_path(), ("POST".to_owned(), "/oauth/token".to_owned()));
    let basic = base64::engine::general_purpose::STANDARD.encode("client+one:s3cr%3At");
    assert_eq!(fetch.headers["authorization"], format!("Basic {basic}").as_str());
    let form: Vec<(String, String)> = form_urlencoded::parse(&fetch.body).into_owned().collect();
    assert_eq!(
        form,
        [
            ("grant_type".to_owned(), "client_credentials".to_owned()),
            ("scope".to_owned(), "read write".to_owned()),
            ("audience".to_owned(), "https://api.example".to_owned())
        ]
    );
    for i in 0..6 {
        let id = format!("oa-{i}");
        eventually(|| async { (event_deliveries(&app, &id).await.first()?["status"] == "SUCCEEDED").then_some(()) })
            .await;
    }

    // The endpoint refuses the token: one fresh fetch, one retry with it.
    token.reply_with("application/json", r#"{"access_token":"tok-2","expires_in":3600}"#);
    api.answer(&[401], 200);
    let event = json!({"id": "oa-401", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (_, answer) =
        app.call(Method::POST, &format!("/v1/connectors/{}/invoke", c["id"].as_str().unwrap()), Some(event)).await;
    assert_eq!(answer["status"], 200, "{answer}");
    assert_eq!(api.next().await.headers["authorization"], "Bearer tok-1");
    assert_eq!(api.next().await.headers["authorization"], "Bearer tok-2");
    token.next().await;
    assert!(token.quiet_for(200).await, "refreshed once");

    // A token endpoint that refuses: the attempt says why (and never the secret).
    token.reply_with("application/json", r#"{"error":"invalid_client"}"#);
    token.answer(&[], 400);
    let refused =
        connector(&app, json!({"name": "oauth refused", "baseUrl": api.url("/in"), "auth": auth("POST")})).await;
    let event = json!({"id": "oa-bad", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (_, answer) = app
        .call(Method::POST, &format!("/v1/connectors/{}/invoke", refused["id"].as_str().unwrap()), Some(event))
        .await;
    let error = answer["error"].as_str().unwrap();
    assert!(error.contains("token endpoint answered 400") && error.contains("invalid_client"), "{answer}");
    assert!(!answer.to_string().contains("s3cr:t"));
    let (_, logged) =
        app.call(Method::GET, &format!("/v1/deliveries/{}", answer["deliveryId"].as_str().unwrap()), None).await;
    assert!(logged["attempts"][0]["error"].as_str().unwrap().contains("invalid_client"), "{logged}");
    // client_secret_post: the id and secret in the form, no Authorization header.
    let post = token.next().await;
    assert!(post.headers.get("authorization").is_none());
    let form: std::collections::HashMap<String, String> = form_urlencoded::parse(&post.body).into_owned().collect();
    assert_eq!((form["client_id"].as_str(), form["client_secret"].as_str()), ("client one", "s3cr:t"));
    assert!(api.quiet_for(200).await, "nothing is sent without a token");

    // Helpers take no OAuth 2.0 (nothing would fetch their token).
    let (status, e) = app
        .call(
            Method::POST,
            "/v1/webhooks",
            Some(json!({"name": "oauth-helper", "provider": "GENERIC",
            "location": {"orgId": "o", "workspaceId": "w", "appId": "a"},
            "registration": {"url": api.url("/reg"), "auth": auth("BASIC")}})),
        )
        .await;
    assert_eq!((status, e["field"].as_str()), (400, Some("registration.auth.type")), "{e}");
    app.stop().await;
}

/// A captured request as the verifier script reads it.
fn case(kind: &str, got: &hookbridge_tests::Received, key: &str, key_id: Option<&str>) -> Value {
    use base64::Engine;
    let host = got.headers["host"].to_str().unwrap();
    let url = match &got.query {
        Some(q) => format!("http://{host}{}?{q}", got.path),
        None => format!("http://{host}{}", got.path),
    };
    let headers: serde_json::Map<String, Value> =
        got.headers.iter().map(|(k, v)| (k.as_str().to_owned(), json!(v.to_str().unwrap()))).collect();
    json!({"kind": kind, "method": got.method, "url": url, "headers": headers, "keyId": key_id,
        "body": base64::engine::general_purpose::STANDARD.encode(&got.body), "key": key})
}

/// Runs `tests/fixtures/verify_signatures.py` (http-message-signatures, cryptography) on the
/// captured requests: Ok(its output) or Err(its output).
fn verify_elsewhere(cases: &[Value]) -> Result<String, String> {
    use std::io::Write;
    let python = std::env::var("HOOKBRIDGE_TEST_PYTHON")
        .expect("HOOKBRIDGE_TEST_PYTHON is not set: run the tests with `make test`, which installs the verifiers");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/verify_signatures.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the verifier runs");
    child.stdin.take().unwrap().write_all(serde_json::to_string(cases).unwrap().as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(text) } else { Err(text) }
}

/// RFC 9421 HTTP Message Signatures (HMAC-SHA256 and Ed25519, with an RFC 9530
/// Content-Digest) and Standard Webhooks `v1a` (Ed25519), each verified by a library
/// hookbridge does not use; the Ed25519 private keys are never shown, and a rotation's
/// overlap carries both `v1a` signatures.
async fn signatures_verified_by_independent_libraries(app: TestApp) {
    let rx = TestReceiver::start().await;
    let specs = [
        ("rfc9421-hmac", json!({"scheme": "HTTP_MESSAGE_SIGNATURES", "keyId": "k-hmac"}), Some("k-hmac")),
        (
            "rfc9421-ed",
            json!({"scheme": "HTTP_MESSAGE_SIGNATURES", "algorithm": "ED25519", "keyId": "k-ed"}),
            Some("k-ed"),
        ),
        ("v1a", json!({"scheme": "STANDARD_WEBHOOKS", "algorithm": "ED25519"}), None),
    ];
    let mut cases = Vec::new();
    let mut ids = Vec::new();
    for (name, signing, key_id) in &specs {
        // The API key in the query: `@target-uri` covers it.
        let c = connector(
            &app,
            json!({"name": format!("signed {name}"), "baseUrl": rx.url("/in"), "path": format!("/{name}"),
            "auth": {"type": "API_KEY", "key": "key", "value": "q-1", "in": "QUERY"}, "signing": signing}),
        )
        .await;
        let id = c["id"].as_str().unwrap().to_owned();
        assert_eq!(c["signing"]["keyId"].as_str(), *key_id);
        let (_, shown) = app.call(Method::GET, &format!("/v1/connectors/{id}/signing-secret"), None).await;
        let key = if name.ends_with("hmac") {
            assert!(shown["secret"].as_str().unwrap().starts_with("whsec_") && shown.get("publicKey").is_none());
            shown["secret"].as_str().unwrap().to_owned()
        } else {
            assert!(shown.get("secret").is_none(), "an Ed25519 private key is never shown: {shown}");
            shown["publicKey"].as_str().unwrap().to_owned()
        };
        let event = json!({"id": format!("ev-{name}"), "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {"a": "é"}});
        let (status, answer) = app.call(Method::POST, &format!("/v1/connectors/{id}/invoke"), Some(event)).await;
        assert_eq!((status, answer["status"].as_u64()), (200, Some(200)), "{answer}");
        let got = rx.next().await;
        assert_eq!(got.query.as_deref(), Some("key=q-1"));
        let kind = if *name == "v1a" { "v1a" } else { "rfc9421" };
        cases.push(case(kind, &got, &key, *key_id));
        ids.push((id, key));
    }
    let out = verify_elsewhere(&cases).unwrap_or_else(|e| panic!("an independent verifier refused a signature:\n{e}"));
    assert_eq!(out.lines().filter(|l| l.contains(" ok (")).count(), 3, "{out}");
    assert!(
        out.contains("rfc9421 hmac-sha256 ok") && out.contains("rfc9421 ed25519 ok") && out.contains("v1a ok"),
        "{out}"
    );

    // A tampered body fails the same verifier (the test can fail).
    let mut tampered = cases[1].clone();
    tampered["body"] = json!("eyJ0YW1wZXJlZCI6dHJ1ZX0=");
    assert!(verify_elsewhere(&[tampered]).is_err());
    let mut wrong_key = cases[2].clone();
    wrong_key["key"] = cases[1]["key"].clone();
    assert!(verify_elsewhere(&[wrong_key]).is_err());

    // Rotating the v1a key: the overlap carries both signatures, each verifying with its key.
    let (v1a_id, old_key) = &ids[2];
    let rotate = format!("/v1/connectors/{v1a_id}/signing-secret/rotate");
    let (status, rotated) = app.call(Method::POST, &rotate, Some(json!({"overlapSeconds": 3600}))).await;
    assert_eq!(status, 200, "{rotated}");
    assert!(rotated.get("secret").is_none());
    let new_key = rotated["publicKey"].as_str().unwrap().to_owned();
    assert_ne!(&new_key, old_key);
    let event = json!({"id": "ev-rotated", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    app.call(Method::POST, &format!("/v1/connectors/{v1a_id}/invoke"), Some(event)).await;
    let got = rx.next().await;
    let sigs = got.headers["webhook-signature"].to_str().unwrap().to_owned();
    assert_eq!(sigs.split(' ').filter(|s| s.starts_with("v1a,")).count(), 2, "{sigs}");
    let both = [case("v1a", &got, &new_key, None), case("v1a", &got, old_key, None)];
    verify_elsewhere(&both).unwrap_or_else(|e| panic!("{e}"));

    // The combinations that make no sense are refused.
    for (signing, field) in [
        (json!({"scheme": "HTTP_MESSAGE_SIGNATURES"}), "signing.keyId"),
        (json!({"scheme": "HUB_SIGNATURE_256", "algorithm": "ED25519"}), "signing.algorithm"),
        (json!({"scheme": "DESCOPE", "keyId": "k"}), "signing.keyId"),
        (json!({"scheme": "STANDARD_WEBHOOKS", "algorithm": "ED25519", "secret": "whsk_short"}), "signing.secret"),
    ] {
        let body = json!({"name": "bad signing", "baseUrl": rx.url("/x"), "signing": signing});
        let (status, e) = app.call(Method::POST, "/v1/connectors", Some(body)).await;
        assert_eq!((status, e["field"].as_str()), (400, Some(field)), "{e}");
    }
    app.stop().await;
}

/// The test process's AWS credentials (the emulator's admin, from `make test`).
fn env_credentials() -> Value {
    let var = |k: &str| std::env::var(k).ok();
    json!({"key": var("AWS_ACCESS_KEY_ID"), "secret": var("AWS_SECRET_ACCESS_KEY"), "token": var("AWS_SESSION_TOKEN")})
}

/// AWS SigV4: signed by `aws-sigv4` with the function's own credentials and recomputed by
/// botocore; with an assumed role, the emulator's S3 (botocore's SigV4 check, IAM enforced)
/// accepts the request only if the signature and the role's credentials hold.
async fn aws_sigv4_signing(app: TestApp) {
    let rx = TestReceiver::start().await;
    let c = connector(
        &app,
        json!({"name": "sigv4 own", "baseUrl": rx.url("/prod"), "path": "/hooks",
        "auth": {"type": "AWS_SIGV4", "service": "execute-api", "region": "eu-west-1"}, "headers": {"X-Team": "a"}}),
    )
    .await;
    assert_eq!(c["auth"]["service"], "execute-api");
    let event = json!({"id": "sv-1", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {"q": "a b"}});
    let (_, answer) =
        app.call(Method::POST, &format!("/v1/connectors/{}/invoke", c["id"].as_str().unwrap()), Some(event)).await;
    assert_eq!(answer["status"], 200, "{answer}");
    let got = rx.next().await;
    assert!(got.headers["authorization"].to_str().unwrap().starts_with("AWS4-HMAC-SHA256 Credential="));
    let mut sigv4 = case("sigv4", &got, "", None);
    sigv4["credentials"] = env_credentials();
    let out =
        verify_elsewhere(&[sigv4.clone()]).unwrap_or_else(|e| panic!("botocore refused the SigV4 signature:\n{e}"));
    assert!(out.contains("sigv4 execute-api/eu-west-1 ok"), "{out}");
    sigv4["credentials"]["secret"] = json!("not-the-secret");
    assert!(verify_elsewhere(&[sigv4]).is_err(), "another secret must not verify");

    // An assumed role: the emulator's STS gives the credentials, its S3 checks them.
    let endpoint = hookbridge_tests::aws_endpoint();
    let (role, bucket) = (hookbridge_tests::unique("hookbridge-target"), hookbridge_tests::unique("sigv4-target"));
    let setup = format!(
        r#"import boto3, json
kw = dict(endpoint_url="{endpoint}", region_name="us-east-1")
trust = {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::123456789012:user/hookbridge-test-admin"}}, "Action": "sts:AssumeRole"}}]}}
iam = boto3.client("iam", **kw)
iam.create_role(RoleName="{role}", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="{role}", PolicyName="s3", PolicyDocument=json.dumps({{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}]}}))
untrusted = {{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::123456789012:user/someone-else"}}, "Action": "sts:AssumeRole"}}]}}
iam.create_role(RoleName="{role}-untrusted", AssumeRolePolicyDocument=json.dumps(untrusted))
boto3.client("s3", **kw).create_bucket(Bucket="{bucket}")
"#
    );
    let python = std::env::var("HOOKBRIDGE_TEST_PYTHON").expect("HOOKBRIDGE_TEST_PYTHON (make test)");
    let out = std::process::Command::new(python).arg("-c").arg(&setup).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // SAFETY: nextest runs each test in its own process; nothing else reads the variable yet.
    unsafe { std::env::set_var("AWS_ENDPOINT_URL_STS", &endpoint) };
    let role_arn = format!("arn:aws:iam::123456789012:role/{role}");
    let s3 = connector(
        &app,
        json!({"name": "sigv4 role", "baseUrl": format!("{endpoint}/{bucket}"), "path": "/event.json",
        "method": "PUT", "auth": {"type": "AWS_SIGV4", "service": "s3", "region": "us-east-1", "roleArn": role_arn}}),
    )
    .await;
    let event = json!({"id": "sv-2", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (_, answer) =
        app.call(Method::POST, &format!("/v1/connectors/{}/invoke", s3["id"].as_str().unwrap()), Some(event)).await;
    assert_eq!(answer["status"], 200, "S3 accepted the assumed role's signature: {answer}");
    // The role is really assumed: one whose trust policy names someone else is refused by
    // STS, and the attempt says so (nothing is sent).
    let untrusted = connector(
        &app,
        json!({"name": "sigv4 untrusted", "baseUrl": format!("{endpoint}/{bucket}"), "path": "/x.json", "method": "PUT",
            "auth": {"type": "AWS_SIGV4", "service": "s3", "region": "us-east-1", "roleArn": format!("{role_arn}-untrusted")}}),
    )
    .await;
    let event = json!({"id": "sv-3", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let invoke = format!("/v1/connectors/{}/invoke", untrusted["id"].as_str().unwrap());
    let (_, answer) = app.call(Method::POST, &invoke, Some(event)).await;
    assert!(answer["status"].is_null(), "{answer}");
    assert!(answer["error"].as_str().unwrap().contains("AccessDenied"), "{answer}");
    app.stop().await;
}

/// An HTTPS server from `tests/fixtures/mtls_server.py` (Python's `ssl`), which requires a
/// client certificate from its own CA: its first line (port and PEMs), and a channel of the
/// requests it then logs.
fn mtls_server() -> (Value, std::sync::mpsc::Receiver<Value>, std::process::Child) {
    use std::io::BufRead;
    let python = std::env::var("HOOKBRIDGE_TEST_PYTHON").expect("HOOKBRIDGE_TEST_PYTHON (make test)");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/mtls_server.py");
    let mut child = std::process::Command::new(python)
        .arg(script)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the TLS server starts");
    let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in lines.map_while(Result::ok) {
            if tx.send(serde_json::from_str(&line).unwrap()).is_err() {
                break;
            }
        }
    });
    (first, rx, child)
}

/// Mutual TLS with a private CA: the endpoint's certificate is trusted through the
/// connector's CA (no `trustAnyCertificate`), the client certificate is presented, the key
/// is never shown; without the client certificate, or without the CA, nothing gets through.
async fn mutual_tls_with_a_private_ca(app: TestApp) {
    let (pems, requests, mut server) = mtls_server();
    let base = format!("https://localhost:{}", pems["port"]);
    let tls = json!({"caCertificate": pems["ca"], "clientCertificate": pems["clientCertificate"], "clientKey": pems["clientKey"]});
    let c = connector(&app, json!({"name": "mtls", "baseUrl": base, "path": "/in", "tls": tls})).await;
    assert_eq!(c["tls"]["clientCertificate"], true);
    assert!(c["tls"]["caCertificate"].as_str().unwrap().contains("BEGIN CERTIFICATE"));
    assert!(!c.to_string().contains("PRIVATE KEY"), "the client key is never shown: {c}");
    assert_eq!(c["insecure"], false);
    let event = json!({"id": "tls-1", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let invoke = format!("/v1/connectors/{}/invoke", c["id"].as_str().unwrap());
    let (_, answer) = app.call(Method::POST, &invoke, Some(event)).await;
    assert_eq!((answer["status"].as_u64(), answer["body"].as_str()), (Some(200), Some("mutual ok")), "{answer}");
    let seen = requests.recv_timeout(std::time::Duration::from_secs(10)).unwrap();
    assert_eq!((seen["client"].as_str(), seen["path"].as_str()), (Some("hookbridge-client"), Some("/in")));

    // The CA alone: the server asks for a certificate and gets none.
    let ca_only =
        connector(&app, json!({"name": "mtls ca only", "baseUrl": base, "tls": {"caCertificate": pems["ca"]}})).await;
    let event = json!({"id": "tls-2", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (_, answer) = app
        .call(Method::POST, &format!("/v1/connectors/{}/invoke", ca_only["id"].as_str().unwrap()), Some(event))
        .await;
    assert!(answer["status"].is_null() && answer["error"].is_string(), "{answer}");
    // No CA: the server's certificate is not trusted.
    let no_ca = connector(&app, json!({"name": "mtls no ca", "baseUrl": base})).await;
    let event = json!({"id": "tls-3", "type": "audit.x", "occurredAt": "2026-12-02T10:00:00Z", "data": {}});
    let (_, answer) =
        app.call(Method::POST, &format!("/v1/connectors/{}/invoke", no_ca["id"].as_str().unwrap()), Some(event)).await;
    assert!(answer["status"].is_null() && answer["error"].is_string(), "{answer}");
    assert!(requests.try_recv().is_err(), "nothing reached the server without both");

    // PATCH `tls: null` removes it; a certificate without its key is refused.
    let path = format!("/v1/connectors/{}", c["id"].as_str().unwrap());
    let (status, e) =
        app.call(Method::PATCH, &path, Some(json!({"tls": {"clientCertificate": pems["clientCertificate"]}}))).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("tls.clientKey")), "{e}");
    let (status, e) = app.call(Method::PATCH, &path, Some(json!({"tls": {"caCertificate": "not a pem"}}))).await;
    assert_eq!((status, e["field"].as_str()), (400, Some("tls.caCertificate")), "{e}");
    let (status, patched) = app.call(Method::PATCH, &path, Some(json!({"tls": null}))).await;
    assert_eq!(status, 200, "{patched}");
    assert!(patched.get("tls").is_none(), "{patched}");
    server.kill().unwrap();
    let _ = server.wait();
    app.stop().await;
}

hookbridge_tests::on_both_backends!(
    mutual_tls_with_a_private_ca,
    aws_sigv4_signing,
    signatures_verified_by_independent_libraries,
    oauth2_client_credentials,
    audit_filters_and_the_deliveries_of_an_event,
    a_flow_step_calls_through_a_connector
);
