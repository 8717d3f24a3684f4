//! The connector store port on SQLite.

use super::*;

#[async_trait]
impl ConnectorStore for LocalRegistry {
    async fn create_connector(&self, c: &Connector) -> Result<(), StoreError> {
        let doc = to_json(c)?;
        let (id, name, version) = (c.id.to_string(), c.name.as_str().to_owned(), c.version as i64);
        self.db
            .write(move |db| {
                let exists: bool =
                    db.query_row("SELECT EXISTS (SELECT 1 FROM connectors WHERE id = ?1)", [&id], |r| r.get(0))?;
                if exists {
                    return Err(StoreError::Conflict(Conflict::AlreadyExists));
                }
                db.execute(
                    "INSERT INTO connectors (id, name, version, doc) VALUES (?1, ?2, ?3, ?4)",
                    params![id, name, version, doc],
                )
                .map_err(classify)?;
                Ok(())
            })
            .await
    }

    async fn get_connector(&self, id: &ConnectorId) -> Result<Option<Connector>, StoreError> {
        let id = id.to_string();
        self.db
            .read(move |c| {
                let doc: Option<String> =
                    c.query_row("SELECT doc FROM connectors WHERE id = ?1", [id], |r| r.get(0)).optional()?;
                doc.as_deref().map(from_json).transpose()
            })
            .await
    }

    async fn list_connectors(&self, page: PageRequest) -> Result<Page<Connector>, StoreError> {
        let after = page.cursor.as_deref().map(cursor::decode).transpose()?.unwrap_or_default();
        let n = limit(&page);
        let items = self
            .db
            .read(move |c| {
                let mut stmt = c.prepare_cached("SELECT doc FROM connectors WHERE id > ?1 ORDER BY id LIMIT ?2")?;
                let rows = stmt.query_map(params![after, n + 1], |r| r.get::<_, String>(0))?;
                rows.map(|r| from_json::<Connector>(&r?)).collect::<Result<Vec<_>, _>>()
            })
            .await?;
        Ok(paged(items, &page, |c| c.id.to_string()))
    }

    async fn update_connector(&self, c: &Connector) -> Result<(), StoreError> {
        let doc = to_json(c)?;
        let (id, name, version) = (c.id.to_string(), c.name.as_str().to_owned(), c.version as i64);
        self.db
            .write(move |db| {
                let n = db
                    .execute(
                        "UPDATE connectors SET name = ?2, version = ?3, doc = ?4 WHERE id = ?1 AND version = ?3 - 1",
                        params![id, name, version, doc],
                    )
                    .map_err(classify)?;
                if n == 1 {
                    return Ok(());
                }
                let exists: bool =
                    db.query_row("SELECT EXISTS (SELECT 1 FROM connectors WHERE id = ?1)", [&id], |r| r.get(0))?;
                Err(if exists { StoreError::Conflict(Conflict::VersionMismatch) } else { StoreError::NotFound })
            })
            .await
    }

    async fn delete_connector(&self, id: &ConnectorId) -> Result<(), StoreError> {
        let id = id.to_string();
        self.db
            .write(move |c| {
                let n = c.execute("DELETE FROM connectors WHERE id = ?1", [&id])?;
                c.execute("DELETE FROM connector_health WHERE id = ?1", [&id])?;
                if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
            })
            .await
    }

    async fn record_outcome(
        &self,
        id: &ConnectorId,
        success: bool,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<Option<chrono::DateTime<chrono::Utc>>, StoreError> {
        let (id, at_ms) = (id.to_string(), at.timestamp_millis());
        self.db
            .write(move |c| {
                if success {
                    c.execute(
                        "INSERT INTO connector_health (id, failing_since) VALUES (?1, NULL)
                         ON CONFLICT (id) DO UPDATE SET failing_since = NULL",
                        [&id],
                    )?;
                    return Ok(None);
                }
                let since: i64 = c.query_row(
                    "INSERT INTO connector_health (id, failing_since) VALUES (?1, ?2)
                     ON CONFLICT (id) DO UPDATE SET failing_since = COALESCE(failing_since, excluded.failing_since)
                     RETURNING failing_since",
                    params![id, at_ms],
                    |r| r.get(0),
                )?;
                Ok(chrono::DateTime::from_timestamp_millis(since))
            })
            .await
    }
}
