//! The connector store port.

use super::*;

fn connector_item(c: &Connector) -> Result<Item, StoreError> {
    let id = c.id.to_string();
    item_of(
        c,
        &[
            ("pk", format!("CONNECTOR#{id}")),
            ("sk", "CONNECTOR".into()),
            ("gsi2pk", "CONNECTOR".into()),
            ("gsi2sk", id),
        ],
    )
}

fn connector_name_pk(c: &Connector) -> String {
    format!("CNAME#{}", c.name.as_str())
}

#[async_trait]
impl ConnectorStore for DynamoRegistry {
    async fn create_connector(&self, c: &Connector) -> Result<(), StoreError> {
        self.create_claimed(connector_item(c)?, name_item(connector_name_pk(c), &c.id.to_string())).await
    }

    async fn get_connector(&self, id: &ConnectorId) -> Result<Option<Connector>, StoreError> {
        self.get(format!("CONNECTOR#{id}"), "CONNECTOR").await?.map(value_of).transpose()
    }

    async fn list_connectors(&self, page: PageRequest) -> Result<Page<Connector>, StoreError> {
        let (items, next) = self.query_index("gsi2", "CONNECTOR".into(), &page, true).await?;
        let items = items.into_iter().map(value_of).collect::<Result<Vec<Connector>, _>>()?;
        Ok(Page { items, next })
    }

    async fn update_connector(&self, c: &Connector) -> Result<(), StoreError> {
        let Some(current) = self.get_connector(&c.id).await? else { return Err(StoreError::NotFound) };
        let rename = (current.name != c.name)
            .then(|| (connector_name_pk(&current), name_item(connector_name_pk(c), &c.id.to_string())));
        self.update_claimed(connector_item(c)?, c.version, rename, format!("CONNECTOR#{}", c.id), "CONNECTOR").await
    }

    async fn delete_connector(&self, id: &ConnectorId) -> Result<(), StoreError> {
        let Some(current) = self.get_connector(id).await? else { return Err(StoreError::NotFound) };
        let items = vec![
            self.delete_tx(format!("CONNECTOR#{id}"), "CONNECTOR")?,
            self.delete_tx(connector_name_pk(&current), "NAME")?,
            self.delete_tx(format!("HEALTH#{id}"), "HEALTH")?,
        ];
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn record_outcome(
        &self,
        id: &ConnectorId,
        success: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let req =
            self.client.update_item().table_name(&self.table).set_key(Some(key(format!("HEALTH#{id}"), "HEALTH")));
        if success {
            req.update_expression("REMOVE failingSince").send().await.map_err(sdk_error)?;
            return Ok(None);
        }
        let out = req
            .update_expression("SET failingSince = if_not_exists(failingSince, :now)")
            .expression_attribute_values(":now", AttributeValue::N(at.timestamp_millis().to_string()))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let since = out
            .attributes
            .and_then(|a| a.get("failingSince").and_then(|v| v.as_n().ok()).and_then(|n| n.parse::<i64>().ok()));
        Ok(since.and_then(chrono::DateTime::from_timestamp_millis))
    }
}
