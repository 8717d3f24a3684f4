//! Webhooks, bindings and failed triggers on SQLite. Each row keeps the item as JSON
//! (`doc`) beside the columns it is looked up by, as the DynamoDB item does.

mod connectors;
mod deliveries;
mod stats;

use std::sync::Arc;

use async_trait::async_trait;
use rusqlite::{OptionalExtension, params};

use super::{Db, from_json, to_json};
use crate::domain::{
    Binding, BindingId, Connector, ConnectorId, DeliveryId, DeliveryRecord, FailedTrigger, FailedTriggerId, Location,
    Waiter, Webhook, WebhookId,
};
use crate::error::{Conflict, StoreError};
use crate::ports::{ConnectorStore, DeliveryFilter, DeliveryLog, Page, PageRequest, Registry, cursor};

pub struct LocalRegistry {
    db: Arc<Db>,
}

impl LocalRegistry {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

/// Tells a taken name (the UNIQUE index) from a taken id (the primary key) by SQLite's
/// extended result code.
fn classify(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
    {
        return StoreError::Conflict(Conflict::NameTaken);
    }
    e.into()
}

fn limit(page: &PageRequest) -> i64 {
    i64::from(page.limit.clamp(1, 1000))
}

fn paged<T>(mut items: Vec<T>, page: &PageRequest, key: impl Fn(&T) -> String) -> Page<T> {
    let n = limit(page) as usize;
    let next = if items.len() > n {
        items.truncate(n);
        items.last().map(|i| cursor::encode(&key(i)))
    } else {
        None
    };
    Page { items, next }
}

fn name_key(w: &Webhook) -> String {
    format!("{}{}", w.name.as_str(), w.location.name_scope())
}

#[async_trait]
impl Registry for LocalRegistry {
    async fn create_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        let doc = to_json(w)?;
        // The name column holds the name with its scope below the app (project, branch), so
        // the table's UNIQUE (org, workspace, app, name) covers the whole location.
        let (id, l, name, version) = (w.id.to_string(), w.location.clone(), name_key(w), w.version);
        self.db
            .write(move |c| {
                let exists: bool = c.query_row("SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)", [&id], |r| r.get(0))?;
                if exists {
                    return Err(StoreError::Conflict(Conflict::AlreadyExists));
                }
                c.execute(
                    "INSERT INTO webhooks (id, org_id, workspace_id, app_id, name, version, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![id, l.org_id.as_str(), l.workspace_id.as_str(), l.app_id.as_str(), name, version as i64, doc],
                )
                .map_err(classify)?;
                Ok(())
            })
            .await
    }

    async fn get_webhook(&self, id: &WebhookId) -> Result<Option<Webhook>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM webhooks WHERE id = ?1", [id], |r| r.get(0)).optional()?;
                doc.as_deref().map(from_json).transpose()
            })
            .await
    }

    async fn list_webhooks(&self, location: Option<&Location>, page: PageRequest) -> Result<Page<Webhook>, StoreError> {
        let after = page.cursor.as_deref().map(cursor::decode).transpose()?.unwrap_or_default();
        let loc = location.cloned();
        let n = limit(&page);
        let items = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT doc FROM webhooks
                     WHERE id > ?1 AND (?2 IS NULL OR (org_id = ?2 AND workspace_id = ?3 AND app_id = ?4))
                     ORDER BY id LIMIT ?5",
                )?;
                let (o, w, a) = match &loc {
                    Some(l) => (Some(l.org_id.as_str()), Some(l.workspace_id.as_str()), Some(l.app_id.as_str())),
                    None => (None, None, None),
                };
                let rows = stmt.query_map(params![after, o, w, a, n + 1], |r| r.get::<_, String>(0))?;
                rows.map(|r| from_json::<Webhook>(&r?)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(paged(items, &page, |w| w.id.to_string()))
    }

    async fn update_webhook(&self, w: &Webhook) -> Result<(), StoreError> {
        let doc = to_json(w)?;
        let (id, name, version) = (w.id.to_string(), name_key(w), w.version as i64);
        self.db
            .write(move |c| {
                let n = c
                    .execute(
                        "UPDATE webhooks SET name = ?2, version = ?3, doc = ?4 WHERE id = ?1 AND version = ?3 - 1",
                        params![id, name, version, doc],
                    )
                    .map_err(classify)?;
                if n == 1 {
                    return Ok(());
                }
                let exists: bool =
                    c.query_row("SELECT EXISTS (SELECT 1 FROM webhooks WHERE id = ?1)", [&id], |r| r.get(0))?;
                Err(if exists { StoreError::Conflict(Conflict::VersionMismatch) } else { StoreError::NotFound })
            })
            .await
    }

    async fn delete_webhook(&self, id: &WebhookId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .write(move |c| {
                let n = c.execute("DELETE FROM webhooks WHERE id = ?1", [&id])?;
                c.execute("DELETE FROM bindings WHERE webhook_id = ?1", [&id])?;
                c.execute("DELETE FROM waiters WHERE webhook_id = ?1", [&id])?;
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
            .await
    }

    async fn put_binding(&self, b: &Binding) -> Result<(), StoreError> {
        let doc = to_json(b)?;
        let (wid, id) = (b.webhook_id.to_string(), b.id.to_string());
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO bindings (webhook_id, id, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (webhook_id, id) DO UPDATE SET doc = excluded.doc",
                    params![wid, id, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn list_bindings(&self, webhook: &WebhookId) -> Result<Vec<Binding>, StoreError> {
        let wid = webhook.to_string();
        self.db
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM bindings WHERE webhook_id = ?1 ORDER BY id")?;
                let rows = stmt.query_map([wid], |r| r.get::<_, String>(0))?;
                rows.map(|r| from_json::<Binding>(&r?)).collect()
            })
            .await
    }

    async fn delete_binding(&self, webhook: &WebhookId, binding: &BindingId) -> Result<(), StoreError> {
        let (wid, id) = (webhook.to_string(), binding.to_string());
        self.db
            .write(move |c| {
                let n = c.execute("DELETE FROM bindings WHERE webhook_id = ?1 AND id = ?2", params![wid, id])?;
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
            .await
    }

    async fn put_waiter(&self, w: &Waiter) -> Result<(), StoreError> {
        let doc = to_json(w)?;
        let (wid, bid, value, inst) = (
            w.webhook_id.to_string(),
            w.binding_id.to_string(),
            w.correlation_value.clone(),
            w.process_instance_id.clone(),
        );
        self.db
            .write(move |c| {
                let holder: Option<String> = c
                    .query_row(
                        "SELECT instance_id FROM waiters WHERE webhook_id = ?1 AND binding_id = ?2 AND value = ?3",
                        params![wid, bid, value],
                        |r| r.get(0),
                    )
                    .optional()?;
                if holder.is_some_and(|h| h != inst) {
                    return Err(StoreError::Conflict(Conflict::AlreadyExists));
                }
                c.execute(
                    "DELETE FROM waiters WHERE webhook_id = ?1 AND binding_id = ?2 AND instance_id = ?3",
                    params![wid, bid, inst],
                )?;
                c.execute(
                    "INSERT INTO waiters (webhook_id, binding_id, value, instance_id, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![wid, bid, value, inst, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn delete_waiters(&self, webhook: &WebhookId, instance: &str) -> Result<(), StoreError> {
        let (wid, inst) = (webhook.to_string(), instance.to_owned());
        self.db
            .write(move |c| {
                let n =
                    c.execute("DELETE FROM waiters WHERE webhook_id = ?1 AND instance_id = ?2", params![wid, inst])?;
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
            .await
    }

    async fn take_waiter(
        &self,
        webhook: &WebhookId,
        binding: &BindingId,
        value: &str,
    ) -> Result<Option<Waiter>, StoreError> {
        let (wid, bid, value) = (webhook.to_string(), binding.to_string(), value.to_owned());
        self.db
            .write(move |c| {
                let doc: Option<String> = c
                    .query_row(
                        "DELETE FROM waiters WHERE webhook_id = ?1 AND binding_id = ?2 AND value = ?3 RETURNING doc",
                        params![wid, bid, value],
                        |r| r.get(0),
                    )
                    .optional()?;
                doc.as_deref().map(from_json).transpose()
            })
            .await
    }

    async fn put_failed_trigger(&self, t: &FailedTrigger) -> Result<(), StoreError> {
        let doc = to_json(t)?;
        let (id, wid) = (t.id.to_string(), t.webhook_id.to_string());
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO failed_triggers (id, webhook_id, doc) VALUES (?1, ?2, ?3)
                     ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    params![id, wid, doc],
                )?;
                Ok(())
            })
            .await
    }

    async fn get_failed_trigger(&self, id: &FailedTriggerId) -> Result<Option<FailedTrigger>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM failed_triggers WHERE id = ?1", [id], |r| r.get(0)).optional()?;
                doc.as_deref().map(from_json).transpose()
            })
            .await
    }

    async fn list_failed_triggers(
        &self,
        webhook: Option<&WebhookId>,
        page: PageRequest,
    ) -> Result<Page<FailedTrigger>, StoreError> {
        // Newest first: ids are time-ordered, so "before the cursor" is "id < cursor".
        let before = page.cursor.as_deref().map(cursor::decode).transpose()?.unwrap_or_else(|| "~".into());
        let wid = webhook.map(|w| w.to_string());
        let n = limit(&page);
        let items = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT doc FROM failed_triggers WHERE id < ?1 AND (?2 IS NULL OR webhook_id = ?2) ORDER BY id DESC LIMIT ?3",
                )?;
                let rows = stmt.query_map(params![before, wid, n + 1], |r| r.get::<_, String>(0))?;
                rows.map(|r| from_json::<FailedTrigger>(&r?)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(paged(items, &page, |t| t.id.to_string()))
    }
}
