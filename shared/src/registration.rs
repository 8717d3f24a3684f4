//! What the ingress and fan-out need to know about a webhook, read through a short-lived
//! cache so a warm function answers without a registry or secret-store call per request.
//!
//! Changes made through the management API reach a warm cache within its TTL (default 30 s;
//! `HOOKBRIDGE_CACHE_TTL_SECS`). The local runner shares one cache between management and
//! ingress and invalidates it on every change, so there changes apply at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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

type Entry = (Instant, Option<Arc<Registration>>);

pub struct RegistrationCache {
    ttl: Duration,
    entries: Mutex<HashMap<WebhookId, Entry>>,
}

/// Entries kept at most; past it the cache is cleared (cheap, and bounded memory under a
/// flood of unknown ids).
const MAX_ENTRIES: usize = 10_000;

impl RegistrationCache {
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, entries: Mutex::new(HashMap::new()) }
    }

    /// The registration, or `None` if the webhook (or its secrets) does not exist. Misses are
    /// cached too, so unknown ids do not each cost a lookup.
    pub async fn get(&self, backend: &Backend, id: &WebhookId) -> Result<Option<Arc<Registration>>, StoreError> {
        if let Some((at, reg)) = self.entries.lock().expect("cache").get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(reg.clone());
        }
        let reg = load(backend, id).await?.map(Arc::new);
        let mut entries = self.entries.lock().expect("cache");
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(*id, (Instant::now(), reg.clone()));
        Ok(reg)
    }

    pub fn invalidate(&self, id: &WebhookId) {
        self.entries.lock().expect("cache").remove(id);
    }
}

async fn load(backend: &Backend, id: &WebhookId) -> Result<Option<Registration>, StoreError> {
    let secret_name = webhook_secret_name(id);
    let (webhook, secret, bindings) = tokio::try_join!(
        backend.registry.get_webhook(id),
        backend.secrets.get_secret(&secret_name),
        backend.registry.list_bindings(id),
    )?;
    let (Some(webhook), Some(secret)) = (webhook, secret) else { return Ok(None) };
    let secrets = WebhookSecrets::from_secret(&secret).map_err(|_| StoreError::msg("webhook secret is malformed"))?;
    Ok(Some(Registration { webhook, secrets, bindings }))
}
