//! Envelope secret storage (`SecretStorage=ENVELOPE`): one Secrets Manager secret holds the
//! data keys; each secret document is sealed with AES-256-GCM under the current key and
//! kept as a DynamoDB item (`SECRET#{name}`), its name bound in as associated data, so an
//! item copied under another name does not open. A stack pays for one secret, not one per
//! webhook and connector (docs/cost.md).
//!
//! The keys secret is `{"current": "k2", "k1": "...", "k2": "..."}`: every member but
//! `current` is a key id and its material (at least 32 characters, e.g. what CloudFormation
//! generates); the AES key is HKDF-SHA256 of the material with the id as info. A new key id
//! seals from then on; the others still open, and [`EnvelopeSecrets::rotate`] seals every item
//! under the current one. A function that meets an id it does not know reads the keys again.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use rand::RngCore;
use tokio::sync::RwLock;

use super::sdk_error;
use crate::error::{Conflict, StoreError};
use crate::ports::{KeyRotation, SecretStore};
use crate::secret::SecretString;

type Item = HashMap<String, AttributeValue>;

const NONCE: usize = 12;
const MIN_MATERIAL: usize = 32;

/// The data keys, read from their secret once and again when an unknown id turns up.
pub struct KeyRing {
    client: aws_sdk_secretsmanager::Client,
    secret_id: String,
    keys: RwLock<Option<(Keys, std::time::Instant)>>,
}

/// How long an instance seals under the key it read before reading the keys again: after a
/// rotation, every instance seals under the new key within this (docs/aws.md).
pub const KEYS_TTL: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Clone)]
struct Keys {
    current: String,
    ciphers: HashMap<String, Arc<Aes256Gcm>>,
}

impl Keys {
    fn parse(text: &str) -> Result<Self, StoreError> {
        let doc: HashMap<String, String> = serde_json::from_str(text)
            .map_err(|_| StoreError::msg("the data keys secret is not a JSON object of strings"))?;
        let current =
            doc.get("current").cloned().ok_or_else(|| StoreError::msg("the data keys name no current key"))?;
        let mut ciphers = HashMap::new();
        for (id, material) in doc.iter().filter(|(id, _)| *id != "current") {
            if material.len() < MIN_MATERIAL {
                return Err(StoreError::msg(format!("data key {id} is shorter than {MIN_MATERIAL} characters")));
            }
            let mut key = [0u8; 32];
            hkdf::Hkdf::<sha2::Sha256>::new(None, material.as_bytes())
                .expand(format!("hookbridge data key {id}").as_bytes(), &mut key)
                .map_err(|_| StoreError::msg("key derivation failed"))?;
            ciphers.insert(id.clone(), Arc::new(Aes256Gcm::new(&key.into())));
        }
        if !ciphers.contains_key(&current) {
            return Err(StoreError::msg(format!("the current data key {current} is not in the secret")));
        }
        Ok(Self { current, ciphers })
    }
}

impl KeyRing {
    pub fn new(client: aws_sdk_secretsmanager::Client, secret_id: String) -> Self {
        Self { client, secret_id, keys: RwLock::new(None) }
    }

    /// The keys secret's current text.
    async fn text(&self) -> Result<String, StoreError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .version_stage("AWSCURRENT")
            .send()
            .await
            .map_err(sdk_error)?;
        out.secret_string.ok_or_else(|| StoreError::msg("the data keys secret has no string"))
    }

    async fn keys(&self, need: Option<&str>) -> Result<Keys, StoreError> {
        if let Some((k, read_at)) = self.keys.read().await.as_ref()
            && need.is_none_or(|id| k.ciphers.contains_key(id))
            && read_at.elapsed() < KEYS_TTL
        {
            return Ok(k.clone());
        }
        let fresh = Keys::parse(&self.text().await?)?;
        *self.keys.write().await = Some((fresh.clone(), std::time::Instant::now()));
        Ok(fresh)
    }

    /// Adds a new key (random material) and makes it current, over the version read: two
    /// rotations at once cannot both write `k{n}` (the second is refused, 409).
    async fn add_key(&self) -> Result<String, StoreError> {
        use crate::ports::SecretStore;
        let store = super::SecretsManagerStore::new(self.client.clone(), String::new());
        let (text, version) = store.get_secret_versioned(&self.secret_id).await?.ok_or(StoreError::NotFound)?;
        let mut doc: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(text.expose()).map_err(StoreError::backend)?;
        let next = (1..).map(|n| format!("k{n}")).find(|id| !doc.contains_key(id)).expect("a free id");
        let mut material = [0u8; 48];
        rand::rng().fill_bytes(&mut material);
        doc.insert(next.clone(), hex::encode(material).into());
        doc.insert("current".into(), next.clone().into());
        let doc = SecretString::new(serde_json::Value::Object(doc).to_string());
        store.replace_secret(&self.secret_id, &doc, &version).await?;
        *self.keys.write().await = None;
        Ok(next)
    }
}

/// Secrets sealed under the data keys, one item each.
pub struct EnvelopeSecrets {
    client: aws_sdk_dynamodb::Client,
    table: String,
    ring: Arc<KeyRing>,
}

fn pk(name: &str) -> String {
    format!("SECRET#{name}")
}

fn key_of(name: &str) -> Item {
    HashMap::from([
        ("pk".to_owned(), AttributeValue::S(pk(name))),
        ("sk".to_owned(), AttributeValue::S("SECRET".into())),
    ])
}

/// The associated data: the item's own name.
fn aad(name: &str) -> Vec<u8> {
    format!("hookbridge secret {name}").into_bytes()
}

fn conditional<E: aws_sdk_dynamodb::error::ProvideErrorMetadata>(e: &aws_sdk_dynamodb::error::SdkError<E>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

impl EnvelopeSecrets {
    pub fn new(client: aws_sdk_dynamodb::Client, table: String, ring: Arc<KeyRing>) -> Self {
        Self { client, table, ring }
    }

    async fn seal(&self, name: &str, value: &SecretString) -> Result<(String, Vec<u8>), StoreError> {
        let keys = self.ring.keys(None).await?;
        let mut nonce = [0u8; NONCE];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = keys.ciphers[&keys.current]
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: value.expose().as_bytes(), aad: &aad(name) })
            .map_err(|_| StoreError::msg("sealing a secret failed"))?;
        Ok((keys.current, [nonce.as_slice(), &sealed].concat()))
    }

    async fn open(&self, name: &str, item: &Item) -> Result<(SecretString, String, String), StoreError> {
        let field = |k: &str| item.get(k).ok_or_else(|| StoreError::msg(format!("secret item without {k}")));
        let key_id = field("kid")?.as_s().map_err(|_| StoreError::msg("kid"))?.clone();
        let version = field("ver")?.as_s().map_err(|_| StoreError::msg("ver"))?.clone();
        let blob = field("ct")?.as_b().map_err(|_| StoreError::msg("ct"))?.as_ref();
        if blob.len() < NONCE {
            return Err(StoreError::msg("secret item too short"));
        }
        let keys = self.ring.keys(Some(&key_id)).await?;
        let cipher = keys.ciphers.get(&key_id).ok_or_else(|| StoreError::msg(format!("no data key {key_id}")))?;
        let (nonce, sealed) = blob.split_at(NONCE);
        // A wrong name (associated data), key or a changed byte: refused, never guessed.
        let plain = cipher
            .decrypt(Nonce::from_slice(nonce), Payload { msg: sealed, aad: &aad(name) })
            .map_err(|_| StoreError::msg("a secret item does not open under its key"))?;
        let text = String::from_utf8(plain).map_err(|_| StoreError::msg("a secret is not UTF-8"))?;
        Ok((SecretString::new(text), version, key_id))
    }

    async fn item(&self, name: &str) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_of(name)))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out.item)
    }

    /// Writes the sealed value; with `over`, only over that version.
    async fn write(&self, name: &str, value: &SecretString, over: Option<&str>) -> Result<String, StoreError> {
        let (key_id, blob) = self.seal(name, value).await?;
        let version = uuid::Uuid::now_v7().to_string();
        let mut item = key_of(name);
        item.insert("kid".into(), AttributeValue::S(key_id));
        item.insert("ver".into(), AttributeValue::S(version.clone()));
        item.insert("ct".into(), AttributeValue::B(blob.into()));
        // Listed by rotation.
        item.insert("gsi2pk".into(), AttributeValue::S("SECRET".into()));
        item.insert("gsi2sk".into(), AttributeValue::S(name.to_owned()));
        let mut put = self.client.put_item().table_name(&self.table).set_item(Some(item));
        if let Some(token) = over {
            put =
                put.condition_expression("ver = :v").expression_attribute_values(":v", AttributeValue::S(token.into()));
        }
        match put.send().await {
            Ok(_) => Ok(version),
            Err(e) if conditional(&e) => match self.item(name).await? {
                None => Err(StoreError::NotFound),
                Some(_) => Err(StoreError::Conflict(Conflict::VersionMismatch)),
            },
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Adds a data key, makes it current and seals every item under it again (each only
    /// over the version read: one changed meanwhile was sealed under the new key anyway).
    pub async fn rotate(&self, new_key: bool) -> Result<KeyRotation, StoreError> {
        if new_key {
            self.ring.add_key().await?;
        }
        let current = self.ring.keys(None).await?.current;
        let mut resealed = 0;
        let mut start = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .index_name("gsi2")
                .key_condition_expression("gsi2pk = :p")
                .expression_attribute_values(":p", AttributeValue::S("SECRET".into()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(sdk_error)?;
            for item in page.items() {
                let Some(name) = item.get("gsi2sk").and_then(|v| v.as_s().ok()) else { continue };
                if item.get("kid").and_then(|v| v.as_s().ok()) == Some(&current) {
                    continue;
                }
                let (value, version, _) = match self.open(name, item).await {
                    Ok(opened) => opened,
                    Err(e) => {
                        // Left as it is (and named in the log); the others are still resealed.
                        tracing::error!(secret = %name, error = %e, "a sealed secret does not open; left as it is");
                        continue;
                    }
                };
                match self.write(name, &value, Some(&version)).await {
                    Ok(_) => resealed += 1,
                    Err(StoreError::Conflict(_) | StoreError::NotFound) => {}
                    Err(e) => return Err(e),
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        Ok(KeyRotation { current_key: current, resealed })
    }
}

#[async_trait]
impl SecretStore for EnvelopeSecrets {
    async fn put_secret(&self, name: &str, value: &SecretString) -> Result<(), StoreError> {
        self.write(name, value, None).await.map(|_| ())
    }

    async fn get_secret(&self, name: &str) -> Result<Option<SecretString>, StoreError> {
        Ok(self.get_secret_versioned(name).await?.map(|(v, _)| v))
    }

    async fn get_secret_versioned(&self, name: &str) -> Result<Option<(SecretString, String)>, StoreError> {
        match self.item(name).await? {
            Some(item) => self.open(name, &item).await.map(|(v, ver, _)| Some((v, ver))),
            None => Ok(None),
        }
    }

    async fn replace_secret(&self, name: &str, value: &SecretString, token: &str) -> Result<String, StoreError> {
        self.write(name, value, Some(token)).await
    }

    async fn delete_secret(&self, name: &str) -> Result<(), StoreError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(key_of(name)))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn rotate_keys(&self, new_key: bool) -> Result<Option<KeyRotation>, StoreError> {
        self.rotate(new_key).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_refuse_what_would_be_weak() {
        let k = Keys::parse(
            r#"{"current":"k2","k1":"0123456789abcdef0123456789abcdef","k2":"fedcba9876543210fedcba9876543210"}"#,
        )
        .unwrap();
        assert_eq!(k.current, "k2");
        assert_eq!(k.ciphers.len(), 2);
        assert!(Keys::parse(r#"{"current":"k1","k1":"short"}"#).is_err());
        assert!(Keys::parse(r#"{"current":"k3","k1":"0123456789abcdef0123456789abcdef"}"#).is_err());
        assert!(Keys::parse(r#"{"k1":"0123456789abcdef0123456789abcdef"}"#).is_err());
    }
}
