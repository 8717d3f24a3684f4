//! Registry and dedup on one DynamoDB table (layout in `mod.rs`).

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, TransactWriteItem};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};

use super::sdk_error;
use crate::domain::{
    Binding, BindingId, Connector, ConnectorId, DeliveryId, DeliveryRecord, FailedTrigger, FailedTriggerId, Location,
    Waiter, Webhook, WebhookId,
};
use crate::error::{Conflict, StoreError};
use crate::ports::{Claim, ConnectorStore, Dedup, DeliveryFilter, DeliveryLog, Page, PageRequest, Registry, cursor};

type Item = HashMap<String, AttributeValue>;

/// Attributes that are keys, not part of the domain value.
const KEY_ATTRS: &[&str] = &["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"];

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn item_of<T: Serialize>(value: &T, keys: &[(&str, String)]) -> Result<Item, StoreError> {
    let mut item: Item = to_item(value).map_err(StoreError::backend)?;
    for (k, v) in keys {
        item.insert((*k).to_owned(), s(v.clone()));
    }
    Ok(item)
}

fn value_of<T: DeserializeOwned>(mut item: Item) -> Result<T, StoreError> {
    for k in KEY_ATTRS {
        item.remove(*k);
    }
    from_item(item).map_err(StoreError::backend)
}

fn webhook_pk(id: &WebhookId) -> String {
    format!("WEBHOOK#{id}")
}

fn location_key(l: &Location) -> String {
    format!("LOC#{}#{}#{}", l.org_id, l.workspace_id, l.app_id)
}

fn name_pk(w: &Webhook) -> String {
    let l = &w.location;
    format!("NAME#{}#{}#{}#{}{}", l.org_id, l.workspace_id, l.app_id, w.name.as_str(), l.name_scope())
}

fn webhook_item(w: &Webhook) -> Result<Item, StoreError> {
    let id = w.id.to_string();
    item_of(
        w,
        &[
            ("pk", webhook_pk(&w.id)),
            ("sk", "WEBHOOK".into()),
            ("gsi1pk", location_key(&w.location)),
            ("gsi1sk", id.clone()),
            ("gsi2pk", "WEBHOOK".into()),
            ("gsi2sk", id),
        ],
    )
}

/// A uniqueness claim: the item whose existence reserves a name.
fn name_item(pk: String, owner: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s("NAME")), ("owner".to_owned(), s(owner))])
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

/// Which items of a cancelled transaction failed their condition, in order.
fn conditional_failures(e: &SdkError<TransactWriteItemsError>) -> Option<Vec<bool>> {
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(t)) => {
            Some(t.cancellation_reasons().iter().map(|r| r.code() == Some("ConditionalCheckFailed")).collect())
        }
        _ => None,
    }
}

fn is_conditional(e: &SdkError<PutItemError>) -> bool {
    matches!(e.as_service_error(), Some(PutItemError::ConditionalCheckFailedException(_)))
}

pub struct DynamoRegistry {
    client: Client,
    table: String,
}

impl DynamoRegistry {
    pub fn new(client: Client, table: String) -> Self {
        Self { client, table }
    }

    async fn get(&self, pk: String, sk: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }

    /// One page of an index query; `after` is the last sort key of the previous page.
    async fn query_index(
        &self,
        index: &str,
        pk: String,
        page: &PageRequest,
        forward: bool,
    ) -> Result<(Vec<Item>, Option<String>), StoreError> {
        let limit = page.limit.clamp(1, 1000) as i32;
        let mut q = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(index)
            .expression_attribute_names("#pk", format!("{index}pk"))
            .expression_attribute_values(":pk", s(pk.clone()))
            .scan_index_forward(forward)
            .limit(limit);
        if let Some(c) = &page.cursor {
            let after = cursor::decode(c)?;
            q = q
                .expression_attribute_names("#sk", format!("{index}sk"))
                .expression_attribute_values(":after", s(after));
            q = q.key_condition_expression(if forward {
                "#pk = :pk AND #sk > :after"
            } else {
                "#pk = :pk AND #sk < :after"
            });
        } else {
            q = q.key_condition_expression("#pk = :pk");
        }
        let out = q.send().await.map_err(sdk_error)?;
        let items = out.items.unwrap_or_default();
        // DynamoDB says whether more may follow; the cursor is our own (the sort key), so
        // it stays opaque and backend-neutral.
        let next = match out.last_evaluated_key {
            Some(_) if items.len() as i32 == limit => items
                .last()
                .and_then(|i| i.get(&format!("{index}sk")))
                .and_then(|v| v.as_s().ok())
                .map(|k| cursor::encode(k)),
            _ => None,
        };
        Ok((items, next))
    }

    /// Every item of a partition whose sort key starts with `prefix` (all pages).
    async fn prefix_items(&self, pk: String, prefix: &str) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":prefix", s(prefix))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            out.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
    }

    /// The sort keys in a partition that start with `prefix`.
    async fn partition_keys(&self, pk: String, prefix: &str) -> Result<Vec<String>, StoreError> {
        let items = self.prefix_items(pk, prefix).await?;
        Ok(items.iter().filter_map(|i| i.get("sk")?.as_s().ok().cloned()).collect())
    }

    fn put_if(&self, item: Item, condition: &str) -> Result<TransactWriteItem, StoreError> {
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().put(put).build())
    }

    fn delete_tx(&self, pk: String, sk: &str) -> Result<TransactWriteItem, StoreError> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(pk, sk)))
            .build()
            .map_err(StoreError::backend)?;
        Ok(TransactWriteItem::builder().delete(delete).build())
    }

    /// Writes an item and its name claim together: `AlreadyExists` if the item exists,
    /// `NameTaken` if the claim does.
    async fn create_claimed(&self, item: Item, claim: Item) -> Result<(), StoreError> {
        let result = self
            .client
            .transact_write_items()
            .transact_items(self.put_if(item, "attribute_not_exists(pk)")?)
            .transact_items(self.put_if(claim, "attribute_not_exists(pk)")?)
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) => Err(match conditional_failures(&e).as_deref() {
                Some([true, ..]) => StoreError::Conflict(Conflict::AlreadyExists),
                Some([_, true]) => StoreError::Conflict(Conflict::NameTaken),
                _ => sdk_error(e),
            }),
        }
    }

    /// Replaces an item at `version - 1`, moving its name claim when `rename` is given
    /// (old claim's pk, new claim item).
    async fn update_claimed(
        &self,
        item: Item,
        version: u64,
        rename: Option<(String, Item)>,
        pk: String,
        sk: &str,
    ) -> Result<(), StoreError> {
        let prev = version.saturating_sub(1);
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression("attribute_exists(pk) AND version = :prev")
            .expression_attribute_values(":prev", AttributeValue::N(prev.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        let mut tx = self.client.transact_write_items().transact_items(TransactWriteItem::builder().put(put).build());
        if let Some((old_claim, new_claim)) = rename {
            tx = tx
                .transact_items(self.delete_tx(old_claim, "NAME")?)
                .transact_items(self.put_if(new_claim, "attribute_not_exists(pk)")?);
        }
        match tx.send().await {
            Ok(_) => Ok(()),
            Err(e) => match conditional_failures(&e).as_deref() {
                Some([true, ..]) => Err(if self.get(pk, sk).await?.is_some() {
                    StoreError::Conflict(Conflict::VersionMismatch)
                } else {
                    StoreError::NotFound
                }),
                Some([_, _, true]) => Err(StoreError::Conflict(Conflict::NameTaken)),
                _ => Err(sdk_error(e)),
            },
        }
    }
}

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
