//! Secrets in AWS Secrets Manager, one secret per name (a webhook's secrets are one JSON
//! document, see `docs/aws.md` for the price).

use async_trait::async_trait;
use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::operation::create_secret::CreateSecretError;
use aws_sdk_secretsmanager::operation::get_secret_value::GetSecretValueError;
use aws_sdk_secretsmanager::operation::put_secret_value::PutSecretValueError;

use super::sdk_error;
use crate::error::StoreError;
use crate::ports::SecretStore;
use crate::secret::SecretString;

pub struct SecretsManagerStore {
    client: Client,
    prefix: String,
}

impl SecretsManagerStore {
    pub fn new(client: Client, prefix: String) -> Self {
        Self { client, prefix }
    }

    fn id(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }
}

#[async_trait]
impl SecretStore for SecretsManagerStore {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        let id = self.id(name);
        // Most puts update an existing secret; create it on first use. A concurrent
        // creator winning the race is fine: then we update.
        for _ in 0..2 {
            let put = self.client.put_secret_value().secret_id(&id).secret_string(value.expose()).send().await;
            match put {
                Ok(_) => return Ok(()),
                Err(e) if matches!(e.as_service_error(), Some(PutSecretValueError::ResourceNotFoundException(_))) => {}
                Err(e) => return Err(sdk_error(e)),
            }
            let created = self.client.create_secret().name(&id).secret_string(value.expose()).send().await;
            match created {
                Ok(_) => return Ok(()),
                Err(e) if matches!(e.as_service_error(), Some(CreateSecretError::ResourceExistsException(_))) => {}
                Err(e) => return Err(sdk_error(e)),
            }
        }
        Err(StoreError::msg("secret could not be written (create and update kept racing)"))
    }

    // AWSCURRENT is named although it is the default: the emulator's default does not
    // follow a label moved by `replace_secret`.
    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        match self.client.get_secret_value().secret_id(self.id(name)).version_stage("AWSCURRENT").send().await {
            Ok(out) => Ok(out.secret_string.map(SecretString::new)),
            Err(e) if matches!(e.as_service_error(), Some(GetSecretValueError::ResourceNotFoundException(_))) => {
                Ok(None)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn get_secret_versioned(&self, name: &str) -> Result<Option<(SecretString, String)>, StoreError> {
        match self.client.get_secret_value().secret_id(self.id(name)).version_stage("AWSCURRENT").send().await {
            Ok(out) => Ok(out.secret_string.map(SecretString::new).zip(out.version_id)),
            Err(e) if matches!(e.as_service_error(), Some(GetSecretValueError::ResourceNotFoundException(_))) => {
                Ok(None)
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Secrets Manager has no conditional put; its staging labels give one. The new value is
    /// written as a version labelled `HOOKBRIDGE_NEXT`, then `AWSCURRENT` is moved to it
    /// *from the version read*: if another writer moved `AWSCURRENT` meanwhile, the move is
    /// refused and the new version stays unlabelled (and is never read).
    async fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> Result<String, StoreError> {
        let id = self.id(name);
        let put = self
            .client
            .put_secret_value()
            .secret_id(&id)
            .secret_string(value.expose())
            .version_stages("HOOKBRIDGE_NEXT")
            .send()
            .await;
        let new_version = match put {
            Ok(out) => out.version_id.ok_or_else(|| StoreError::msg("Secrets Manager returned no version id"))?,
            Err(e) if matches!(e.as_service_error(), Some(PutSecretValueError::ResourceNotFoundException(_))) => {
                return Err(StoreError::NotFound);
            }
            Err(e) => return Err(sdk_error(e)),
        };
        let moved = self
            .client
            .update_secret_version_stage()
            .secret_id(&id)
            .version_stage("AWSCURRENT")
            .remove_from_version_id(token)
            .move_to_version_id(&new_version)
            .send()
            .await;
        match moved {
            Ok(_) => Ok(new_version),
            // AWSCURRENT is no longer on the version read: someone else wrote meanwhile.
            Err(e) if e.as_service_error().is_some_and(|se| se.is_invalid_parameter_exception()) => {
                Err(StoreError::Conflict(crate::error::Conflict::VersionMismatch))
            }
            Err(e) => Err(sdk_error(e)),
        }
    }

    async fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        // Without a recovery window: a deleted webhook's secrets are not coming back, and
        // the name must be free for reuse at once.
        let result =
            self.client.delete_secret().secret_id(self.id(name)).force_delete_without_recovery(true).send().await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(|se| se.is_resource_not_found_exception()) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }
}
