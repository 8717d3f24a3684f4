//! Creates the table and bucket hookbridge expects, as `template.yaml` declares them. Used
//! by the tests (against the emulator) and by `infra/` helpers; in AWS the stack creates them.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use aws_sdk_dynamodb::client::Waiters;

use super::{Clients, sdk_error};
use crate::error::StoreError;

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(StoreError::backend)
}

fn attr(name: &str) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(StoreError::backend)
}

fn gsi(name: &str) -> Result<GlobalSecondaryIndex, StoreError> {
    GlobalSecondaryIndex::builder()
        .index_name(name)
        .key_schema(key(&format!("{name}pk"), KeyType::Hash)?)
        .key_schema(key(&format!("{name}sk"), KeyType::Range)?)
        .projection(Projection::builder().projection_type(ProjectionType::All).build())
        .build()
        .map_err(StoreError::backend)
}

/// Creates the table (pk/sk, gsi1, gsi2, TTL on `ttl`) and waits until it is active.
pub async fn create_table(clients: &Clients, table: &str) -> Result<(), StoreError> {
    let db = &clients.dynamodb;
    let mut req = db
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key("pk", KeyType::Hash)?)
        .key_schema(key("sk", KeyType::Range)?)
        .global_secondary_indexes(gsi("gsi1")?)
        .global_secondary_indexes(gsi("gsi2")?);
    for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
        req = req.attribute_definitions(attr(a)?);
    }
    req.send().await.map_err(sdk_error)?;
    db.wait_until_table_exists()
        .table_name(table)
        .wait(std::time::Duration::from_secs(60))
        .await
        .map_err(|e| StoreError::msg(format!("table did not become active: {e}")))?;
    db.update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .map_err(StoreError::backend)?,
        )
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}

/// Creates the payload bucket.
pub async fn create_bucket(clients: &Clients, bucket: &str) -> Result<(), StoreError> {
    clients.s3.create_bucket().bucket(bucket).send().await.map_err(sdk_error)?;
    Ok(())
}

/// Creates the data keys' secret with one random key (what the template's generated secret
/// holds), for envelope storage.
pub async fn create_data_keys(clients: &Clients, secret_prefix: &str) -> Result<(), StoreError> {
    use rand::RngCore;
    let mut material = [0u8; 48];
    rand::rng().fill_bytes(&mut material);
    let doc = serde_json::json!({"current": "k1", "k1": hex::encode(material)});
    clients
        .secrets
        .create_secret()
        .name(format!("{secret_prefix}{}", super::DATA_KEYS_SECRET))
        .secret_string(doc.to_string())
        .send()
        .await
        .map_err(sdk_error)?;
    Ok(())
}
