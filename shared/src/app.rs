//! The composition root: [`App`] turns one [`Settings`] and a backend into each function's
//! router or handler. The Lambda binaries (through [`crate::lambda`]) and the local runner
//! both build from here, so a setting reaches every function the same way.

use std::sync::Arc;

use axum::Router;

use crate::config::{ConfigError, Settings};
use crate::console::{Console, SignIn};
use crate::dispatch::{DispatchConfig, Dispatcher, OutboundClient};
use crate::domain::QueueRef;
use crate::fanout::{Fanout, FanoutConfig};
use crate::ingress::{self, IngressConfig, IngressState};
use crate::management::{self, ManagementConfig, ManagementState};
use crate::ports::{Backend, DispatchQueues, QueueRefs};
use crate::registration::RegistrationCache;
use crate::secret::SecretString;

/// One function's view of the application: its backend (in Lambda, its own role's
/// clients), the registration cache it shares with whatever runs in the same process, and
/// the settings.
#[derive(Clone)]
pub struct App {
    pub backend: Backend,
    pub cache: Arc<RegistrationCache>,
    pub settings: Settings,
}

impl App {
    pub fn new(backend: Backend, settings: Settings) -> Self {
        let cache = Arc::new(RegistrationCache::new(settings.cache_ttl));
        Self { backend, cache, settings }
    }

    /// The same application seen by another function (the local runner gives each its own
    /// backend; they share the cache, so a management change is seen at once).
    pub fn with_backend(&self, backend: Backend) -> Self {
        Self { backend, ..self.clone() }
    }

    /// The ingress router; `events` is where accepted events are queued.
    pub fn ingress(&self, events: QueueRef) -> Router {
        ingress::router(Arc::new(IngressState {
            backend: self.backend.clone(),
            cache: self.cache.clone(),
            queues: QueueRefs { events },
            config: self.settings.ingress_config(),
        }))
    }

    /// The management API's state; `admin_token`, when set, is required on every call.
    pub fn management_state(
        &self,
        dispatcher: Arc<Dispatcher>,
        events: QueueRef,
        admin_token: Option<SecretString>,
    ) -> Arc<ManagementState> {
        Arc::new(ManagementState {
            backend: self.backend.clone(),
            dispatcher,
            queues: QueueRefs { events },
            cache: self.cache.clone(),
            config: self.settings.management_config(admin_token),
        })
    }

    /// The management API with its OpenAPI document.
    pub fn management(
        &self,
        dispatcher: Arc<Dispatcher>,
        events: QueueRef,
        admin_token: Option<SecretString>,
    ) -> Router {
        let console = self.console(admin_token.is_some());
        management::router(self.management_state(dispatcher, events, admin_token))
            .merge(crate::openapi::route())
            .merge(console)
    }

    /// The console: signing in with OpenID Connect when an issuer is configured, else with
    /// the admin token when there is one, else not at all (IAM).
    pub fn console(&self, admin_token: bool) -> Router {
        let sign_in = match (&self.settings.oidc, admin_token) {
            (Some(oidc), _) => SignIn::Oidc(oidc.clone()),
            (None, true) => SignIn::AdminToken,
            (None, false) => SignIn::Iam,
        };
        crate::console::router(Arc::new(Console::new(sign_in)))
    }

    pub fn fanout(&self) -> Fanout {
        Fanout::new(self.backend.clone(), self.cache.clone(), self.settings.fanout_config())
    }

    /// The dispatcher; its outbound client (with the SSRF guard) is built here, once.
    pub fn dispatcher(&self, queues: DispatchQueues) -> Result<Dispatcher, ConfigError> {
        let client = OutboundClient::new(self.settings.allow_targets.clone())
            .map_err(|e| ConfigError { var: "HOOKBRIDGE_ALLOW_TARGETS", reason: format!("HTTP client: {e}") })?;
        Ok(Dispatcher::new(self.backend.clone(), queues, client, self.settings.dispatch_config()))
    }
}

impl Settings {
    pub fn ingress_config(&self) -> IngressConfig {
        IngressConfig {
            max_body_bytes: self.max_body_bytes,
            max_message_bytes: crate::accept::MAX_MESSAGE_BYTES,
            dedup_window: self.dedup_window,
            pending_claim_ttl: self.pending_claim_ttl,
            revalidate: self.revalidate_registrations,
            public_url: self.public_url.clone(),
        }
    }

    pub fn fanout_config(&self) -> FanoutConfig {
        FanoutConfig {
            max_receives: self.max_receives,
            send_attempts: crate::fanout::SEND_ATTEMPTS,
            max_message_bytes: self.max_process_message_bytes,
        }
    }

    pub fn dispatch_config(&self) -> DispatchConfig {
        DispatchConfig {
            schedule_override: self.retry_schedule.clone(),
            cache_ttl: self.cache_ttl,
            disable_after: self.disable_after,
        }
    }

    pub fn management_config(&self, admin_token: Option<SecretString>) -> ManagementConfig {
        ManagementConfig {
            public_base_url: self.public_url.as_deref().map(|u| u.trim_end_matches('/').to_owned()),
            admin_token,
            helper_timeout: self.helper_timeout,
            idempotency_pending: self.idempotency_pending,
        }
    }
}

impl Default for IngressConfig {
    fn default() -> Self {
        Settings::default().ingress_config()
    }
}

impl Default for FanoutConfig {
    fn default() -> Self {
        Settings::default().fanout_config()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each function's configuration comes from the one `Settings`: a value set there is
    /// what every function sees.
    #[test]
    fn every_function_reads_the_same_settings() {
        let s = Settings {
            max_body_bytes: 7,
            cache_ttl: std::time::Duration::from_secs(3),
            max_receives: 9,
            public_url: Some("https://hooks.example.com/".into()),
            retry_schedule: Some(vec![std::time::Duration::from_secs(1)]),
            ..Settings::local()
        };
        assert_eq!(s.ingress_config().max_body_bytes, 7);
        assert!(!s.ingress_config().revalidate);
        assert_eq!(s.ingress_config().public_url.as_deref(), Some("https://hooks.example.com/"));
        assert_eq!(s.fanout_config().max_receives, 9);
        assert_eq!(s.fanout_config().max_message_bytes, usize::MAX);
        assert_eq!(s.dispatch_config().cache_ttl, std::time::Duration::from_secs(3));
        assert_eq!(s.dispatch_config().schedule_override.as_ref().map(Vec::len), Some(1));
        assert_eq!(s.management_config(None).public_base_url.as_deref(), Some("https://hooks.example.com"));
        // Lambda's defaults differ from the local runner's only where one process on a laptop needs it.
        let (lambda, local) = (Settings::default(), Settings::local());
        assert!(lambda.revalidate_registrations && !local.revalidate_registrations);
        assert_eq!(lambda.fanout_config().max_message_bytes, 256 * 1024);
        assert_eq!(lambda.max_body_bytes, local.max_body_bytes);
    }
}
