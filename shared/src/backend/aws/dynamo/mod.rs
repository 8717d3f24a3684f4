//! Registry, connectors, delivery log and dedup on one DynamoDB table (layout in
//! `backend/aws/mod.rs`): the item helpers and the registry's conditional writes here, one
//! file per port.

mod connectors;
mod dedup;
mod deliveries;
mod registry;
mod stats;

pub use dedup::DynamoDedup;

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
        self.query_all(pk, "begins_with(sk, :sk)", prefix).await
    }

    /// Every item of a partition whose sort key meets `sk_condition` on `:sk` (all pages,
    /// consistent reads).
    async fn query_all(&self, pk: String, sk_condition: &str, sk: &str) -> Result<Vec<Item>, StoreError> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression(format!("pk = :pk AND {sk_condition}"))
                .expression_attribute_values(":pk", s(pk.clone()))
                .expression_attribute_values(":sk", s(sk))
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
