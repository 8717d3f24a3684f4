//! What the ingress and fan-out need to know about a webhook, read through a short-lived
//! cache so a warm function answers without a registry or secret-store call per request.
//!
//! Two ways to read it:
//! - [`RegistrationCache::get`] trusts an entry for its TTL (default 30 s;
//!   `HOOKBRIDGE_CACHE_TTL_SECS`). The local runner shares one cache between management and
//!   ingress and invalidates it on every change, so there changes apply at once; the fan-out
//!   uses it too.
//! - [`RegistrationCache::get_current`] reads the webhook item on every call (one
//!   consistent registry read, no secret-store call) and keeps the cached secrets and
//!   bindings only while the webhook's version is the one they were read with. Every change
//!   of state, key, secret or binding bumps that version, so in AWS a reset key or a
//!   deactivated webhook stops working on the next request.

use std::sync::Arc;
use std::time::Duration;

use crate::cache::TtlCache;

use crate::domain::{Binding, Webhook, WebhookId, WebhookSecrets};
use crate::error::StoreError;
use crate::ports::Backend;

/// A webhook with its secrets and bindings, as one consistent-enough snapshot.
#[derive(Debug)]
pub struct Registration {
    pub webhook: Webhook,
    pub secrets: WebhookSecrets,
    pub bindings: Vec<Binding>,
}

/// The secret-store name of a webhook's secrets.
pub fn webhook_secret_name(id: &WebhookId) -> String {
    format!("hookbridge/webhooks/{id}")
}

pub struct RegistrationCache {
    /// Known webhooks and unknown ids apart, so a flood of made-up ids (anyone can send
    /// them) evicts only other made-up ids, never a real webhook.
    known: TtlCache<WebhookId, Arc<Registration>>,
    unknown: TtlCache<WebhookId, ()>,
}

/// Entries kept at most in each map (bounded memory under a flood of unknown ids).
const MAX_ENTRIES: usize = 10_000;

impl RegistrationCache {
    pub fn new(ttl: Duration) -> Self {
        Self { known: TtlCache::new(ttl, MAX_ENTRIES), unknown: TtlCache::new(ttl, MAX_ENTRIES) }
    }

    /// The registration, or `None` if the webhook (or its secrets) does not exist. Misses are
    /// cached too, so unknown ids do not each cost a lookup.
    pub async fn get(&self, backend: &Backend, id: &WebhookId) -> Result<Option<Arc<Registration>>, StoreError> {
        if let Some(reg) = self.known.get(id) {
            return Ok(Some(reg));
        }
        if self.unknown.get(id).is_some() {
            return Ok(None);
        }
        let reg = load(backend, id).await?.map(Arc::new);
        self.remember(id, reg.as_ref());
        Ok(reg)
    }

    /// The registration as of now: the webhook is read on every call; its secrets and
    /// bindings come from the cache while its version is unchanged (and within the TTL).
    pub async fn get_current(
        &self,
        backend: &Backend,
        id: &WebhookId,
    ) -> Result<Option<Arc<Registration>>, StoreError> {
        let Some(webhook) = backend.registry.get_webhook(id).await? else {
            self.known.remove(id);
            return Ok(None);
        };
        if let Some(reg) = self.known.get_if(id, |r| r.webhook.version == webhook.version) {
            return Ok(Some(reg));
        }
        let reg = complete(backend, webhook).await?.map(Arc::new);
        match &reg {
            Some(r) => self.known.insert(*id, r.clone()),
            None => self.known.remove(id),
        }
        Ok(reg)
    }

    fn remember(&self, id: &WebhookId, reg: Option<&Arc<Registration>>) {
        match reg {
            Some(r) => self.known.insert(*id, r.clone()),
            None => {
                self.known.remove(id);
                self.unknown.insert(*id, ());
            }
        }
    }

    pub fn invalidate(&self, id: &WebhookId) {
        self.known.remove(id);
        self.unknown.remove(id);
    }
}

/// The webhook first: an id that names nothing costs one registry read and no secret-store
/// call (anyone can send made-up ids; Secrets Manager charges per call).
async fn load(backend: &Backend, id: &WebhookId) -> Result<Option<Registration>, StoreError> {
    match backend.registry.get_webhook(id).await? {
        Some(webhook) => complete(backend, webhook).await,
        None => Ok(None),
    }
}

/// A webhook's secrets and bindings, read beside it.
async fn complete(backend: &Backend, webhook: Webhook) -> Result<Option<Registration>, StoreError> {
    let id = &webhook.id;
    let secret_name = webhook_secret_name(id);
    let (secret, bindings) =
        tokio::try_join!(backend.secrets.get_secret(&secret_name), backend.registry.list_bindings(id))?;
    let Some(secret) = secret else { return Ok(None) };
    let secrets = WebhookSecrets::from_secret(&secret).map_err(|_| StoreError::msg("webhook secret is malformed"))?;
    Ok(Some(Registration { webhook, secrets, bindings }))
}
