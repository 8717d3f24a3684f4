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
use crate::domain::{Binding, BindingId, FailedTrigger, FailedTriggerId, Location, Webhook, WebhookId};
use crate::error::{Conflict, StoreError};
use crate::ports::{Claim, Dedup, Page, PageRequest, Registry, cursor};

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
    format!("NAME#{}#{}#{}#{}", l.org_id, l.workspace_id, l.app_id, w.name.as_str())
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

fn name_item(w: &Webhook) -> Item {
    HashMap::from([
        ("pk".to_owned(), s(name_pk(w))),
        ("sk".to_owned(), s("NAME")),
        ("webhookId".to_owned(), s(w.id.to_string())),
    ])
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

    async fn exists(&self, id: &WebhookId) -> Result<bool, StoreError> {
        Ok(self.get(webhook_pk(id), "WEBHOOK").await?.is_some())
    }
}

#[async_trait]
impl Registry for DynamoRegistry {
    async fn create_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        // The webhook and its name claim are written together or not at all.
        let result = self
            .client
            .transact_write_items()
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(webhook_item(w)?))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(StoreError::backend)?,
                    )
                    .build(),
            )
            .transact_items(
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(name_item(w)))
                            .condition_expression("attribute_not_exists(pk)")
                            .build()
                            .map_err(StoreError::backend)?,
                    )
                    .build(),
            )
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
        let prev = (w.version - 1) as i64;
        let put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(webhook_item(w)?))
            .condition_expression("attribute_exists(pk) AND version = :prev")
            .expression_attribute_values(":prev", AttributeValue::N(prev.to_string()))
            .build()
            .map_err(StoreError::backend)?;
        let mut tx = self.client.transact_write_items().transact_items(TransactWriteItem::builder().put(put).build());
        let renamed = current.name != w.name;
        if renamed {
            // Move the name claim: release the old one, take the new one.
            tx = tx
                .transact_items(
                    TransactWriteItem::builder()
                        .delete(
                            Delete::builder()
                                .table_name(&self.table)
                                .set_key(Some(key(name_pk(&current), "NAME")))
                                .build()
                                .map_err(StoreError::backend)?,
                        )
                        .build(),
                )
                .transact_items(
                    TransactWriteItem::builder()
                        .put(
                            Put::builder()
                                .table_name(&self.table)
                                .set_item(Some(name_item(w)))
                                .condition_expression("attribute_not_exists(pk)")
                                .build()
                                .map_err(StoreError::backend)?,
                        )
                        .build(),
                );
        }
        match tx.send().await {
            Ok(_) => Ok(()),
            Err(e) => match conditional_failures(&e).as_deref() {
                Some([true, ..]) => Err(if self.exists(&w.id).await? {
                    StoreError::Conflict(Conflict::VersionMismatch)
                } else {
                    StoreError::NotFound
                }),
                Some([_, _, true]) => Err(StoreError::Conflict(Conflict::NameTaken)),
                _ => Err(sdk_error(e)),
            },
        }
    }

    async fn delete_webhook(&self, id: &WebhookId) -> Result<(), StoreError> {
        let Some(current) = self.get_webhook(id).await? else { return Err(StoreError::NotFound) };
        let bindings = self.list_bindings(id).await?;
        let delete = |pk: String, sk: String| -> Result<TransactWriteItem, StoreError> {
            Ok(TransactWriteItem::builder()
                .delete(
                    Delete::builder()
                        .table_name(&self.table)
                        .set_key(Some(key(pk, &sk)))
                        .build()
                        .map_err(StoreError::backend)?,
                )
                .build())
        };
        // A transaction takes 100 items: the webhook, its name and up to 98 bindings go
        // together; any further bindings are removed after.
        let mut items = vec![delete(webhook_pk(id), "WEBHOOK".into())?, delete(name_pk(&current), "NAME".into())?];
        let mut rest = Vec::new();
        for (i, b) in bindings.iter().enumerate() {
            let d = delete(webhook_pk(id), format!("BINDING#{}", b.id))?;
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
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :prefix)")
                .expression_attribute_values(":pk", s(webhook_pk(webhook)))
                .expression_attribute_values(":prefix", s("BINDING#"))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                out.push(value_of(item)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(out),
            }
        }
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
