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

    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        match self.client.get_secret_value().secret_id(self.id(name)).send().await {
            Ok(out) => Ok(out.secret_string.map(SecretString::new)),
            Err(e) if matches!(e.as_service_error(), Some(GetSecretValueError::ResourceNotFoundException(_))) => {
                Ok(None)
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
