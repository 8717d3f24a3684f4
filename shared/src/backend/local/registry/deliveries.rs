//! The delivery log port on SQLite.

use super::*;

#[async_trait]
impl DeliveryLog for LocalRegistry {
    async fn update_delivery(&self, d: &DeliveryRecord, previous_attempts: usize) -> Result<(), StoreError> {
        let doc = to_json(d)?;
        let status = serde_json::to_value(d.status).map_err(StoreError::backend)?;
        let status = status.as_str().unwrap_or_default().to_owned();
        let id = d.id.to_string();
        self.db
            .write(move |c| {
                // Compared and replaced inside the single writer's transaction.
                let stored: Option<String> =
                    c.query_row("SELECT doc FROM deliveries WHERE id = ?1", [&id], |r| r.get(0)).optional()?;
                let stored = stored.ok_or(StoreError::NotFound)?;
                let stored: serde_json::Value = serde_json::from_str(&stored).map_err(StoreError::backend)?;
                let attempts = stored.get("attempts").and_then(serde_json::Value::as_array).map_or(0, Vec::len);
                if attempts != previous_attempts {
                    return Err(StoreError::Conflict(crate::error::Conflict::VersionMismatch));
                }
                c.prepare_cached("UPDATE deliveries SET status = ?2, doc = ?3 WHERE id = ?1")?
                    .execute(params![id, status, doc])?;
                Ok(())
            })
            .await
    }

    async fn create_delivery(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        self.write_delivery(d).await
    }

    async fn get_delivery(&self, id: &DeliveryId) -> Result<Option<DeliveryRecord>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM deliveries WHERE id = ?1", [id], |r| r.get(0)).optional()?;
                doc.as_deref().map(from_json).transpose()
            })
            .await
    }

    async fn list_deliveries(&self, f: &DeliveryFilter, page: PageRequest) -> Result<Page<DeliveryRecord>, StoreError> {
        let before = page.cursor.as_deref().map(cursor::decode).transpose()?.unwrap_or_else(|| "~".into());
        let connector = f.connector.map(|c| c.to_string());
        let status = f.status.map(|s| serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)));
        let status = status.flatten();
        let n = limit(&page);
        let items = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached(
                    "SELECT doc FROM deliveries WHERE sort_key < ?1 AND (?2 IS NULL OR connector_id = ?2)
                     AND (?3 IS NULL OR status = ?3) ORDER BY sort_key DESC LIMIT ?4",
                )?;
                let rows = stmt.query_map(params![before, connector, status, n + 1], |r| r.get::<_, String>(0))?;
                rows.map(|r| from_json::<DeliveryRecord>(&r?)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(paged(items, &page, DeliveryRecord::sort_key))
    }
}

impl LocalRegistry {
    async fn write_delivery(&self, d: &DeliveryRecord) -> Result<(), StoreError> {
        let doc = to_json(d)?;
        let status = serde_json::to_value(d.status).map_err(StoreError::backend)?;
        let status = status.as_str().unwrap_or_default().to_owned();
        let (id, connector, sort_key) = (d.id.to_string(), d.connector_id.to_string(), d.sort_key());
        self.db
            .write(move |c| {
                let sql =
                    "INSERT INTO deliveries (id, connector_id, status, sort_key, doc) VALUES (?1, ?2, ?3, ?4, ?5)";
                c.prepare_cached(sql)?.execute(params![id, connector, status, sort_key, doc])?;
                Ok(())
            })
            .await
    }
}
