//! Moving between the two secret storages (`SecretStorage=PER_ITEM` and `ENVELOPE`) without
//! a stop: the configured storage is read first, the other one when a secret is not there
//! yet, and every write goes to the configured one (a replace over a version read from the
//! other storage writes it there). `POST /v1/secrets/migrate` then reads and writes every
//! webhook's and connector's secret once, after which the other storage's copies can be
//! deleted (docs/aws.md, "Secret storage").

use async_trait::async_trait;

use crate::error::StoreError;
use crate::ports::{KeyRotation, SecretStore};
use crate::secret::SecretString;

/// A token naming a version in the other storage.
const OTHER: &str = "other:";

pub struct FallbackSecrets<P, F> {
    pub primary: P,
    pub fallback: F,
}

#[async_trait]
impl<P: SecretStore, F: SecretStore> SecretStore for FallbackSecrets<P, F> {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        self.primary.put_secret(name, value).await
    }

    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        match self.primary.get_secret(name).await? {
            Some(v) => Ok(Some(v)),
            None => self.fallback.get_secret(name).await,
        }
    }

    async fn get_secret_versioned(&self, name: &str) -> Result<Option<(SecretString, String)>, StoreError> {
        match self.primary.get_secret_versioned(name).await? {
            Some(v) => Ok(Some(v)),
            None => Ok(self.fallback.get_secret_versioned(name).await?.map(|(v, t)| (v, format!("{OTHER}{t}")))),
        }
    }

    async fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> Result<String, StoreError> {
        let Some(other) = token.strip_prefix(OTHER) else {
            return self.primary.replace_secret(name, value, token).await;
        };
        // Still the version read over there, and not yet here: it moves here now.
        match self.fallback.get_secret_versioned(name).await? {
            Some((_, current)) if current == other => {}
            Some(_) => return Err(StoreError::Conflict(crate::error::Conflict::VersionMismatch)),
            None => return Err(StoreError::NotFound),
        }
        if self.primary.get_secret_versioned(name).await?.is_some() {
            return Err(StoreError::Conflict(crate::error::Conflict::VersionMismatch));
        }
        self.primary.put_secret(name, value).await?;
        let (_, token) = self.primary.get_secret_versioned(name).await?.ok_or(StoreError::NotFound)?;
        Ok(token)
    }

    async fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        self.primary.delete_secret(name).await?;
        self.fallback.delete_secret(name).await
    }

    async fn rotate_keys(&self, new_key: bool) -> Result<Option<KeyRotation>, StoreError> {
        self.primary.rotate_keys(new_key).await
    }
}
