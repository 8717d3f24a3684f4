//! The registry port: webhooks, bindings, waiters, instance pointers and failed triggers.

use super::*;

#[async_trait]
impl Registry for DynamoRegistry {
    async fn create_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        self.create_claimed(webhook_item(w)?, name_item(name_pk(w), &w.id.to_string())).await
    }

    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        self.get(webhook_pk(id), "WEBHOOK").await?.map(value_of).transpose()
    }

    async fn list_webhooks(&self, location: Option<&Location>, page: PageRequest) -> Result<Page<Webhook>, StoreError> {
        let (items, next) = match location {
            Some(l) => self.query_index("gsi1", location_key(l), &page, true).await?,
            None => self.query_index("gsi2", "WEBHOOK".into(), &page, true).await?,
        };
        let items = items.into_iter().map(value_of).collect::<Result<Vec<Webhook>, _>>()?;
        Ok(Page { items, next })
    }

    async fn update_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        let Some(current) = self.get_webhook(&w.id).await? else { return Err(StoreError::NotFound) };
        let rename = (current.name != w.name).then(|| (name_pk(&current), name_item(name_pk(w), &w.id.to_string())));
        self.update_claimed(webhook_item(w)?, w.version, rename, webhook_pk(&w.id), "WEBHOOK").await
    }

    async fn delete_webhook(&self, id: &WebhookId) -> Result<(), StoreError> {
        let Some(current) = self.get_webhook(id).await? else { return Err(StoreError::NotFound) };
        let bindings = self.list_bindings(id).await?;
        let waits = self.partition_keys(webhook_pk(id), "WAITER#").await?;
        let pointers = self.partition_keys(webhook_pk(id), "WINST#").await?;
        let delete = |pk: String, sk: String| self.delete_tx(pk, &sk);
        // A transaction takes 100 items: the webhook, its name and up to 98 bindings go
        // together; any further bindings are removed after.
        let mut items = vec![delete(webhook_pk(id), "WEBHOOK".into())?, delete(name_pk(&current), "NAME".into())?];
        let mut rest = Vec::new();
        let children = bindings.iter().map(|b| format!("BINDING#{}", b.id)).chain(waits).chain(pointers);
        for (i, sk) in children.enumerate() {
            let d = delete(webhook_pk(id), sk)?;
            if i < 98 { items.push(d) } else { rest.push(d) }
        }
        self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(sdk_error)?;
        for chunk in rest.chunks(100) {
            self.client
                .transact_write_items()
                .set_transact_items(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(sdk_error)?;
        }
        Ok(())
    }

    async fn put_binding(&self, b: &Binding) -> Result<(), StoreError> {
        let item = item_of(b, &[("pk", webhook_pk(&b.webhook_id)), ("sk", format!("BINDING#{}", b.id))])?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn list_bindings(&self, webhook: &WebhookId) -> Result<Vec<Binding>, StoreError> {
        self.prefix_items(webhook_pk(webhook), "BINDING#").await?.into_iter().map(value_of).collect()
    }

    async fn delete_binding(&self, webhook: &WebhookId, binding: &BindingId) -> Result<(), StoreError> {
        let result = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(webhook_pk(webhook), &format!("BINDING#{binding}"))))
            .condition_expression("attribute_exists(pk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_conditional_check_failed_exception()) => {
                Err(StoreError::NotFound)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn put_waiter(&self, w: &Waiter) -> Result<(), StoreError> {
        let pk = webhook_pk(&w.webhook_id);
        let pointer_sk = format!("WINST#{}#{}", w.process_instance_id, w.binding_id);
        let previous = self.get(pk.clone(), &pointer_sk).await?;
        let previous_value = previous.as_ref().and_then(|i| i.get("value")).and_then(|v| v.as_s().ok()).cloned();
        let waiter =
            item_of(w, &[("pk", pk.clone()), ("sk", format!("WAITER#{}#{}", w.binding_id, w.correlation_value))])?;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(waiter))
            .condition_expression("attribute_not_exists(pk) OR processInstanceId = :inst")
            .expression_attribute_values(":inst", s(w.process_instance_id.clone()))
            .build()
            .map_err(StoreError::backend)?;
        let mut pointer = key(pk.clone(), &pointer_sk);
        pointer.insert("value".into(), s(w.correlation_value.clone()));
        // The pointer is written only over the value read above: two concurrent PUTs for
        // one instance cannot leave it waiting on two values.
        let pointer_put = match &previous_value {
            Some(v) => Put::builder()
                .condition_expression("#v = :prev")
                .expression_attribute_names("#v", "value")
                .expression_attribute_values(":prev", s(v.clone())),
            None => Put::builder().condition_expression("attribute_not_exists(pk)"),
        };
        let mut tx = self
            .client
            .transact_write_items()
            .transact_items(TransactWriteItem::builder().put(put).build())
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        pointer_put
                            .table_name(&self.table)
                            .set_item(Some(pointer))
                            .build()
                            .map_err(StoreError::backend)?,
                    )
                    .build(),
            );
        if let Some(old) = previous_value.filter(|v| *v != w.correlation_value) {
            tx = tx.transact_items(self.delete_tx(pk, &format!("WAITER#{}#{old}", w.binding_id))?);
        }
        match tx.send().await {
            Ok(_) => Ok(()),
            Err(e) => Err(match conditional_failures(&e).as_deref() {
                Some([true, ..]) => StoreError::Conflict(Conflict::AlreadyExists),
                Some([_, true, ..]) => StoreError::Conflict(Conflict::VersionMismatch),
                _ => sdk_error(e),
            }),
        }
    }

    async fn delete_waiters(&self, webhook: &WebhookId, instance: &str) -> Result<(), StoreError> {
        let pk = webhook_pk(webhook);
        let prefix = format!("WINST#{instance}#");
        // The prefix also matches instance `{instance}#...`: keep only this instance's
        // pointers (a binding id has no `#`).
        let pointers: Vec<_> = self
            .prefix_items(pk.clone(), &prefix)
            .await?
            .into_iter()
            .filter(|p| {
                p.get("sk")
                    .and_then(|v| v.as_s().ok())
                    .and_then(|sk| sk.strip_prefix(&prefix))
                    .is_some_and(|b| !b.contains('#'))
            })
            .collect();
        if pointers.is_empty() {
            return Err(StoreError::NotFound);
        }
        for p in pointers {
            let sk = p.get("sk").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let binding = sk.rsplit('#').next().unwrap_or_default().to_owned();
            let value = p.get("value").and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
            let items = vec![
                self.delete_tx(pk.clone(), &sk)?,
                self.delete_tx(pk.clone(), &format!("WAITER#{binding}#{value}"))?,
            ];
            self.client.transact_write_items().set_transact_items(Some(items)).send().await.map_err(sdk_error)?;
        }
        Ok(())
    }

    async fn take_waiter(
        &self,
        webhook: &WebhookId,
        binding: &BindingId,
        value: &str,
    ) -> Result<Option<Waiter>, StoreError> {
        let pk = webhook_pk(webhook);
        let out = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk.clone(), &format!("WAITER#{binding}#{value}"))))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(sdk_error)?;
        let Some(item) = out.attributes.filter(|a| !a.is_empty()) else { return Ok(None) };
        let waiter: Waiter = value_of(item)?;
        // Drop the instance's pointer unless it has moved on to another value meanwhile.
        let _ = self
            .client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, &format!("WINST#{}#{binding}", waiter.process_instance_id))))
            .condition_expression("#v = :value")
            .expression_attribute_names("#v", "value")
            .expression_attribute_values(":value", s(value))
            .send()
            .await;
        Ok(Some(waiter))
    }

    async fn put_failed_trigger(&self, t: &FailedTrigger) -> Result<(), StoreError> {
        let id = t.id.to_string();
        let item = item_of(
            t,
            &[
                ("pk", format!("FAILED#{id}")),
                ("sk", "FAILED".into()),
                ("gsi1pk", format!("FAILEDBY#{}", t.webhook_id)),
                ("gsi1sk", id.clone()),
                ("gsi2pk", "FAILED".into()),
                ("gsi2sk", id),
            ],
        )?;
        self.client.put_item().table_name(&self.table).set_item(Some(item)).send().await.map_err(sdk_error)?;
        Ok(())
    }

    async fn get_failed_trigger(&self, id: &FailedTriggerId) -> Result<Option<FailedTrigger>, StoreError> {
        self.get(format!("FAILED#{id}"), "FAILED").await?.map(value_of).transpose()
    }

    async fn list_failed_triggers(
        &self,
        webhook: Option<&WebhookId>,
        page: PageRequest,
    ) -> Result<Page<FailedTrigger>, StoreError> {
        let (items, next) = match webhook {
            Some(w) => self.query_index("gsi1", format!("FAILEDBY#{w}"), &page, false).await?,
            None => self.query_index("gsi2", "FAILED".into(), &page, false).await?,
        };
        let items = items.into_iter().map(value_of).collect::<Result<Vec<FailedTrigger>, _>>()?;
        Ok(Page { items, next })
    }
}
