//! Secret storage on AWS (`SecretStorage`): envelope-sealed items instead of one Secrets
//! Manager secret each, data-key rotation while other instances hold the old keys, and the
//! move from PER_ITEM to ENVELOPE without a stop — through the Lambda handlers, against
//! the emulator with IAM enforced. The local store has no data keys: rotation is refused
//! there with a stable code. (The port contract runs on both storages: `contract.rs`.)

use aws_sdk_dynamodb::types::AttributeValue;
use hookbridge::backend::aws::SecretStorage;
use hookbridge::domain::QueueRef;
use hookbridge_tests::TestApp;
use reqwest::Method;
use serde_json::{Value, json};

use crate::aws_pipeline::{APIGW, admin, apigw_event, invoke, management_of, receive_n};

struct Stack {
    admin: hookbridge::lambda::AwsApp,
    events: QueueRef,
    starts: QueueRef,
}

const BASE: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

async fn stack(storage: SecretStorage) -> Stack {
    let admin = hookbridge_tests::aws_app_with(storage).await;
    let spec = hookbridge_tests::queue_spec;
    let ns = hookbridge_tests::unique("q");
    let events = admin.app.backend.queues.create_queue(&spec(format!("{ns}-hookbridge-events"))).await.unwrap();
    let starts = admin.app.backend.queues.create_queue(&spec(format!("{ns}-starts"))).await.unwrap();
    Stack { admin, events, starts }
}

/// The same stack's function seen with another storage setting (a redeploy).
async fn as_function(s: &Stack, function: &str, storage: SecretStorage) -> hookbridge::lambda::AwsApp {
    let mut f = hookbridge_tests::function_app(&s.admin, function).await;
    let mut aws = f.aws.clone();
    aws.secret_storage = storage;
    f = hookbridge::lambda::AwsApp::new(f.clients.clone(), aws, f.app.settings.clone());
    f
}

async fn webhook(s: &Stack, management: &axum::Router, name: &str) -> (String, String, String) {
    let (status, made) = admin(
        management,
        "POST",
        "/v1/webhooks",
        Some(json!({"name": name, "provider": "SLACK", "providerSecret": format!("slack-secret-of-{name}"),
            "location": {"orgId": "acme", "workspaceId": "main", "appId": "shop"}})),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let bind = json!({"type": "START_PROCESS", "processDefinitionId": "p", "queue": s.starts.as_str()});
    assert_eq!(admin(management, "POST", &format!("/v1/webhooks/{id}/bindings"), Some(bind)).await.0, 201);
    assert_eq!(admin(management, "POST", &format!("/v1/webhooks/{id}/activate"), None).await.0, 200);
    let url =
        admin(management, "GET", &format!("/v1/webhooks/{id}/url"), None).await.1["url"].as_str().unwrap().to_owned();
    let (path, query) = url.strip_prefix(BASE).unwrap().split_once('?').unwrap();
    (id, path.to_owned(), query.to_owned())
}

/// A Slack-signed event through the ingress Lambda: its status.
async fn slack_event(ingress: &axum::Router, path: &str, query: &str, secret: &str) -> u16 {
    use hmac::Mac;
    // A delivery id of its own: Slack's retries of one event are deduplicated.
    let body =
        json!({"type": "event_callback", "event_id": uuid::Uuid::now_v7().to_string(), "event": {"type": "message"}});
    let body = body.to_string();
    let body = body.as_bytes();
    let ts = chrono::Utc::now().timestamp().to_string();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("v0:{ts}:").as_bytes());
    mac.update(body);
    let sig = format!("v0={}", hex::encode(mac.finalize().into_bytes()));
    let mut v: Value =
        serde_json::from_str(&apigw_event(APIGW, "POST", path, query, Some(body), "application/json")).unwrap();
    v["headers"]["x-slack-signature"] = json!(sig);
    v["headers"]["x-slack-request-timestamp"] = json!(ts);
    invoke(ingress, v.to_string()).await.0
}

async fn secret_item(s: &Stack, id: &str) -> Option<std::collections::HashMap<String, AttributeValue>> {
    s.admin
        .clients
        .dynamodb
        .get_item()
        .table_name(&s.admin.aws.table)
        .key("pk", AttributeValue::S(format!("SECRET#hookbridge/webhooks/{id}")))
        .key("sk", AttributeValue::S("SECRET".into()))
        .send()
        .await
        .unwrap()
        .item
}

async fn per_item_secret_exists(s: &Stack, id: &str) -> bool {
    let name = format!("{}hookbridge/webhooks/{id}", s.admin.aws.secret_prefix);
    s.admin.clients.secrets.get_secret_value().secret_id(name).send().await.is_ok()
}

#[tokio::test]
async fn envelope_items_are_sealed_bound_to_their_name_and_survive_rotation() {
    let s = stack(SecretStorage::Envelope).await;
    let mgmt = hookbridge_tests::function_app(&s.admin, "ManagementFunction").await;
    let management = management_of(&mgmt, s.events.clone(), s.starts.clone(), Some(BASE.into()));
    let (id, path, query) = webhook(&s, &management, "sealed").await;
    let ingress_app = hookbridge_tests::function_app(&s.admin, "IngressFunction").await;
    let ingress = ingress_app.ingress(s.events.clone());
    assert_eq!(slack_event(&ingress, &path, &query, "slack-secret-of-sealed").await, 200);
    assert_eq!(slack_event(&ingress, &path, &query, "another-secret").await, 401);

    // One sealed item, no Secrets Manager secret of its own; neither the provider secret
    // nor the API key is readable in it.
    let item = secret_item(&s, &id).await.expect("a sealed item");
    assert!(!per_item_secret_exists(&s, &id).await);
    let blob = item["ct"].as_b().unwrap().as_ref().to_vec();
    let key = query.trim_start_matches("apiKey=");
    for plain in ["slack-secret-of-sealed".as_bytes(), key.as_bytes()] {
        assert!(!blob.windows(plain.len()).any(|w| w == plain));
    }
    assert_eq!(item["kid"].as_s().unwrap(), "k1");

    // Copied under another webhook's name, it does not open (its name is associated data).
    let (other, _, _) = webhook(&s, &management, "other").await;
    let mut moved = item.clone();
    moved.insert("pk".into(), AttributeValue::S(format!("SECRET#hookbridge/webhooks/{other}")));
    s.admin.clients.dynamodb.put_item().table_name(&s.admin.aws.table).set_item(Some(moved)).send().await.unwrap();
    let read = s.admin.app.backend.secrets.get_secret(&format!("hookbridge/webhooks/{other}")).await;
    assert!(read.is_err(), "a sealed item opened under another name");

    // Rotation: a new key seals everything again; the ingress, which holds the old keys,
    // reads the keys again when it meets the new id.
    let (status, rotated) = admin(&management, "POST", "/v1/secrets/rotate-key", None).await;
    assert_eq!(status, 200, "{rotated}");
    assert_eq!(rotated["currentKey"], "k2");
    assert!(rotated["resealed"].as_u64().unwrap() >= 1, "{rotated}");
    assert_eq!(secret_item(&s, &id).await.unwrap()["kid"].as_s().unwrap(), "k2");
    let (_, reset) = admin(&management, "POST", &format!("/v1/webhooks/{id}/api-key"), None).await;
    let new_query = reset["url"].as_str().unwrap().split_once('?').unwrap().1.to_owned();
    assert_eq!(slack_event(&ingress, &path, &new_query, "slack-secret-of-sealed").await, 200);
    assert_eq!(receive_n(&s.admin, &s.events, 2).await.len(), 2);
    // Nothing left to seal again without a new key.
    let (_, again) = admin(&management, "POST", "/v1/secrets/rotate-key", Some(json!({"newKey": false}))).await;
    assert_eq!((again["currentKey"].as_str(), again["resealed"].as_u64()), (Some("k2"), Some(0)), "{again}");
}

#[tokio::test]
async fn per_item_secrets_move_to_envelope_without_a_stop() {
    let s = stack(SecretStorage::PerItem).await;
    let before = hookbridge_tests::function_app(&s.admin, "ManagementFunction").await;
    let management = management_of(&before, s.events.clone(), s.starts.clone(), Some(BASE.into()));
    let (id, path, query) = webhook(&s, &management, "moving").await;
    assert!(per_item_secret_exists(&s, &id).await);
    assert!(secret_item(&s, &id).await.is_none());
    // PER_ITEM has no data keys to rotate.
    let (status, err) = admin(&management, "POST", "/v1/secrets/rotate-key", None).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("KEY_ROTATION_UNSUPPORTED")));

    // Redeployed with ENVELOPE: the secret is read where it still is.
    let ingress = as_function(&s, "IngressFunction", SecretStorage::Envelope).await.ingress(s.events.clone());
    assert_eq!(slack_event(&ingress, &path, &query, "slack-secret-of-moving").await, 200);
    let after = as_function(&s, "ManagementFunction", SecretStorage::Envelope).await;
    let management = management_of(&after, s.events.clone(), s.starts.clone(), Some(BASE.into()));
    let (status, moved) = admin(&management, "POST", "/v1/secrets/migrate", None).await;
    assert_eq!((status, moved["copied"].as_u64()), (200, Some(1)), "{moved}");
    assert!(secret_item(&s, &id).await.is_some());
    // The old copy can go: the webhook keeps working from the sealed item.
    let name = format!("{}hookbridge/webhooks/{id}", s.admin.aws.secret_prefix);
    s.admin.clients.secrets.delete_secret().secret_id(name).force_delete_without_recovery(true).send().await.unwrap();
    let ingress = as_function(&s, "IngressFunction", SecretStorage::Envelope).await.ingress(s.events.clone());
    assert_eq!(slack_event(&ingress, &path, &query, "slack-secret-of-moving").await, 200);
    assert_eq!(receive_n(&s.admin, &s.events, 2).await.len(), 2);
}

#[tokio::test]
async fn the_local_store_has_no_data_keys_to_rotate() {
    let app = TestApp::spawn().await;
    let (status, err) = app.call(Method::POST, "/v1/secrets/rotate-key", None).await;
    assert_eq!((status, err["code"].as_str()), (409, Some("KEY_ROTATION_UNSUPPORTED")));
    let id = app.create_webhook("local-secrets").await;
    let (status, moved) = app.call(Method::POST, "/v1/secrets/migrate", None).await;
    assert_eq!((status, moved["copied"].as_u64()), (200, Some(1)), "{moved}");
    assert_eq!(app.call(Method::GET, &format!("/v1/webhooks/{id}/url"), None).await.0, 200);
    app.stop().await;
}
