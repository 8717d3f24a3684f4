//! Secrets, blobs and dedup claims on SQLite.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use rusqlite::{OptionalExtension, params};

use super::{Db, now_ms};
use crate::error::StoreError;
use crate::ports::{BlobStore, Claim, Dedup, SecretStore};
use crate::secret::SecretString;

/// A local secret's version: a digest of its value (no value is stored twice).
fn version_token(value: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(value.as_bytes()))
}

/// Secrets in the local file (owner-only permissions). Local mode is for development; in
/// AWS they live in Secrets Manager.
pub struct LocalSecrets {
    db: Arc<Db>,
}

impl LocalSecrets {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl SecretStore for LocalSecrets {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        let (name, value) = (name.to_owned(), value.expose().to_owned());
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO secrets (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                    params![name, value],
                )?;
                Ok(())
            })
            .await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        let name = name.to_owned();
        self.db
            .read(move |c| {
                let v: Option<String> =
                    c.query_row("SELECT value FROM secrets WHERE name = ?1", [name], |r| r.get(0)).optional()?;
                Ok(v.map(SecretString::new))
            })
            .await
    }

    async fn get_secret_versioned(&self, name: &str) -> Result<Option<(SecretString, String)>, StoreError> {
        Ok(self.get_secret(name).await?.map(|v| {
            let token = version_token(v.expose());
            (v, token)
        }))
    }

    async fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> Result<String, StoreError> {
        let new_token = version_token(value.expose());
        let (name, value, token) = (name.to_owned(), value.expose().to_owned(), token.to_owned());
        self.db
            .write(move |c| {
                // Compared and replaced inside the single writer's transaction.
                let current: Option<String> =
                    c.query_row("SELECT value FROM secrets WHERE name = ?1", [&name], |r| r.get(0)).optional()?;
                match current {
                    None => Err(StoreError::NotFound),
                    Some(v) if version_token(&v) != token => {
                        Err(StoreError::Conflict(crate::error::Conflict::VersionMismatch))
                    }
                    Some(_) => {
                        c.execute("UPDATE secrets SET value = ?2 WHERE name = ?1", params![name, value])?;
                        Ok(())
                    }
                }
            })
            .await?;
        Ok(new_token)
    }

    async fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        let name = name.to_owned();
        self.db
            .write(move |c| {
                c.execute("DELETE FROM secrets WHERE name = ?1", [name])?;
                Ok(())
            })
            .await
    }
}

pub struct LocalBlobs {
    db: Arc<Db>,
}

impl LocalBlobs {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl BlobStore for LocalBlobs {
    async fn put_blob(&self, key: &str, data: Bytes) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO blobs (key, data) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET data = excluded.data",
                    params![key, &data[..]],
                )?;
                Ok(())
            })
            .await
    }

    async fn get_blob(&self, key: &str) -> Result<Option<Bytes>, StoreError> {
        let key = key.to_owned();
        self.db
            .read(move |c| {
                let v: Option<Vec<u8>> =
                    c.query_row("SELECT data FROM blobs WHERE key = ?1", [key], |r| r.get(0)).optional()?;
                Ok(v.map(Bytes::from))
            })
            .await
    }

    async fn delete_blob(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.db
            .write(move |c| {
                c.execute("DELETE FROM blobs WHERE key = ?1", [key])?;
                Ok(())
            })
            .await
    }

    fn uri(&self, key: &str) -> String {
        format!("local:{key}")
    }
}

pub struct LocalDedup {
    db: Arc<Db>,
}

impl LocalDedup {
    pub fn new(db: Arc<Db>) -> Self {
        Self { db }
    }
}

#[async_trait]
impl Dedup for LocalDedup {
    async fn claim(&self, key: &str, value: &str, ttl: Duration) -> Result<Claim, StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.db
            .write(move |c| {
                let now = now_ms();
                let existing: Option<String> = c
                    .query_row("SELECT value FROM dedup WHERE key = ?1 AND expires_at > ?2", params![key, now], |r| {
                        r.get(0)
                    })
                    .optional()?;
                if let Some(v) = existing {
                    return Ok(Claim::Existing(v));
                }
                c.execute(
                    "INSERT INTO dedup (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                    params![key, value, now.saturating_add(ttl_ms)],
                )?;
                // Expired claims are swept as new ones arrive (SQLite has no TTL).
                c.execute(
                    "DELETE FROM dedup WHERE rowid IN (SELECT rowid FROM dedup WHERE expires_at <= ?1 LIMIT 16)",
                    [now],
                )?;
                Ok(Claim::New)
            })
            .await
    }

    async fn release(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.db
            .write(move |c| {
                c.execute("DELETE FROM dedup WHERE key = ?1", [key])?;
                Ok(())
            })
            .await
    }

    async fn put(&self, key: &str, value: &str, ttl: Duration) -> Result<(), StoreError> {
        let (key, value) = (key.to_owned(), value.to_owned());
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        self.db
            .write(move |c| {
                c.execute(
                    "INSERT INTO dedup (key, value, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at",
                    params![key, value, now_ms().saturating_add(ttl_ms)],
                )?;
                Ok(())
            })
            .await
    }
}
