//! The delivery log port.

use super::*;

fn delivery_item(d: &DeliveryRecord) -> Result<Item, StoreError> {
    let sort = d.sort_key();
    let mut item = item_of(
        d,
        &[
            ("pk", format!("DELIVERY#{}", d.id)),
            ("sk", "DELIVERY".into()),
            ("gsi1pk", format!("DELIVERIESOF#{}", d.connector_id)),
            ("gsi1sk", sort.clone()),
            ("gsi2pk", "DELIVERY".into()),
            ("gsi2sk", sort),
        ],
    )?;
    // The event's data is arbitrary JSON; keep it as a JSON string so any shape (empty
    // strings, deep nesting, mixed arrays) round-trips exactly.
    if let Some(AttributeValue::M(event)) = item.get_mut("event") {
        let data = serde_json::to_string(&d.event.data).map_err(StoreError::backend)?;
        event.insert("data".into(), s(data));
    }
    Ok(item)
}

fn delivery_of(mut item: Item) -> Result<DeliveryRecord, StoreError> {
    if let Some(AttributeValue::M(event)) = item.get_mut("event")
        && let Some(AttributeValue::S(data)) = event.remove("data")
    {
        let value: serde_json::Value = serde_json::from_str(&data).map_err(StoreError::backend)?;
        event.insert("data".into(), to_attribute(&value)?);
    }
    value_of(item)
}

fn to_attribute(v: &serde_json::Value) -> Result<AttributeValue, StoreError> {
    serde_dynamo::aws_sdk_dynamodb_1::to_attribute_value(v).map_err(StoreError::backend)
}

#[async_trait]
impl DeliveryLog for DynamoRegistry {
    async fn update_delivery(&self, d: &DeliveryRecord, previous_attempts: usize) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(d)?))
            .condition_expression("attribute_exists(pk) AND size(attempts) = :n")
            .expression_attribute_values(":n", AttributeValue::N(previous_attempts.to_string()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(match self.get(format!("DELIVERY#{}", d.id), "DELIVERY").await? {
                Some(_) => StoreError::Conflict(Conflict::VersionMismatch),
                None => StoreError::NotFound,
            }),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn create_delivery(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(delivery_item(d)?))
            .condition_expression("attribute_not_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional(&e) => Err(StoreError::Conflict(Conflict::AlreadyExists)),
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        self.get(format!("DELIVERY#{id}"), "DELIVERY").await?.map(delivery_of).transpose()
    }

    async fn list_deliveries(&self, f: &DeliveryFilter, page: PageRequest) -> Result<Page<DeliveryRecord>, StoreError> {
        let (index, pk) = match f.connector {
            Some(c) => ("gsi1", format!("DELIVERIESOF#{c}")),
            None => ("gsi2", "DELIVERY".to_owned()),
        };
        // A status filter drops items after DynamoDB's limit applies: read on until the page
        // is full or the index is exhausted.
        let want = page.limit.clamp(1, 1000) as usize;
        let mut out = Vec::new();
        let mut cursor_key = page.cursor.clone();
        loop {
            let (items, next) = self
                .query_index(index, pk.clone(), &PageRequest { cursor: cursor_key, limit: page.limit }, false)
                .await?;
            for item in items {
                let d = delivery_of(item)?;
                if f.status.is_none_or(|s| s == d.status) && out.len() < want {
                    out.push(d);
                }
            }
            if out.len() >= want || next.is_none() {
                let next = if out.len() >= want { out.last().map(|d| cursor::encode(&d.sort_key())) } else { None };
                return Ok(Page { items: out, next });
            }
            cursor_key = next;
        }
    }
}
