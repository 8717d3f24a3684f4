//! The dedup port: delivery-id claims with a TTL.

use super::*;

/// Dedup claims as conditional puts; an expired claim may be taken over before DynamoDB's
/// TTL sweep removes it (the condition compares the expiry in milliseconds).
pub struct DynamoDedup {
    client: Client,
    table: String,
}

impl DynamoDedup {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }
}

#[async_trait]
impl Dedup for DynamoDedup {
    async fn claim(&self, claim_key: &str, value: &str, ttl: Duration) -> Result<Claim, StoreError> {
        let now_ms = chrono::Utc::now().timestamp_millis();
        let expires_ms = now_ms.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2));
        let mut item = key(format!("DEDUP#{claim_key}"), "DEDUP");
        item.insert("value".into(), s(value));
        item.insert("expiresAtMs".into(), AttributeValue::N(expires_ms.to_string()));
        item.insert("ttl".into(), AttributeValue::N((expires_ms / 1000 + 1).to_string()));
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_not_exists(pk) OR expiresAtMs <= :now")
            .expression_attribute_values(":now", AttributeValue::N(now_ms.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(Claim::New),
            Err(e) if is_conditional(&e) => {
                let out = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(key(format!("DEDUP#{claim_key}"), "DEDUP")))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(sdk_error)?;
                let existing =
                    out.item.and_then(|i| i.get("value").and_then(|v| v.as_s().ok()).cloned()).unwrap_or_default();
                Ok(Claim::Existing(existing))
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn put(&self, claim_key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let expires_ms = chrono::Utc::now()
            .timestamp_millis()
            .saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2));
        let mut item = key(format!("DEDUP#{claim_key}"), "DEDUP");
        item.insert("value".into(), s(value));
        item.insert("expiresAtMs".into(), AttributeValue::N(expires_ms.to_string()));
        item.insert("ttl".into(), AttributeValue::N((expires_ms / 1000 + 1).to_string()));
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn release(&self, claim_key: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(format!("DEDUP#{claim_key}"), "DEDUP")))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}
