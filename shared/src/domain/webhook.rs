use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize};

use super::{EventId, FailedTriggerId, LocationId, ParseError, Provider, WebhookId};
use crate::secret::SecretString;

/// A webhook's display name: 3 to 50 letters, digits, spaces excluded, and `[ ] ( ) . _ -`.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct WebhookName(String);

impl WebhookName {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let n = s.chars().count();
        if !(3..=50).contains(&n) {
            return Err(ParseError::new("name", "must be 3 to 50 characters"));
        }
        if !s.chars().all(|c| c.is_ascii_alphanumeric() || "[]()._-".contains(c)) {
            return Err(ParseError::new("name", "may contain only letters, digits and [ ] ( ) . _ -"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WebhookName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl<'de> Deserialize<'de> for WebhookName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WebhookState {
    /// Saved but not receiving: the ingress answers 404.
    Inactive,
    /// Receiving: accepted events start the bound processes.
    Active,
}

/// Where a webhook belongs: organisation, workspace and app (all part of its URL), and
/// optionally a project and a branch within the app. Names are unique per whole location.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Location {
    #[serde(deserialize_with = "org")]
    pub org_id: LocationId,
    #[serde(deserialize_with = "workspace")]
    pub workspace_id: LocationId,
    #[serde(deserialize_with = "app")]
    pub app_id: LocationId,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "project")]
    pub project_id: Option<LocationId>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "branch")]
    pub branch_id: Option<LocationId>,
}

impl Location {
    pub fn new(org_id: LocationId, workspace_id: LocationId, app_id: LocationId) -> Self {
        Self { org_id, workspace_id, app_id, project_id: None, branch_id: None }
    }

    /// What a name is unique within below the app: empty, or `@p=<project>[@b=<branch>]`
    /// (`@` and `=` occur in neither ids nor names, so keys cannot collide).
    pub fn name_scope(&self) -> String {
        let mut scope = String::new();
        if let Some(p) = &self.project_id {
            scope.push_str("@p=");
            scope.push_str(p.as_str());
        }
        if let Some(b) = &self.branch_id {
            scope.push_str("@b=");
            scope.push_str(b.as_str());
        }
        scope
    }

    /// Whether this webhook location lies within a filter: same app, and the same project
    /// and branch where the filter names them.
    pub fn within(&self, filter: &Location) -> bool {
        self.org_id == filter.org_id
            && self.workspace_id == filter.workspace_id
            && self.app_id == filter.app_id
            && filter.project_id.as_ref().is_none_or(|p| self.project_id.as_ref() == Some(p))
            && filter.branch_id.as_ref().is_none_or(|b| self.branch_id.as_ref() == Some(b))
    }
}

fn org<'de, D: Deserializer<'de>>(d: D) -> Result<LocationId, D::Error> {
    LocationId::parse("location.orgId", &String::deserialize(d)?).map_err(serde::de::Error::custom)
}
fn workspace<'de, D: Deserializer<'de>>(d: D) -> Result<LocationId, D::Error> {
    LocationId::parse("location.workspaceId", &String::deserialize(d)?).map_err(serde::de::Error::custom)
}
fn app<'de, D: Deserializer<'de>>(d: D) -> Result<LocationId, D::Error> {
    LocationId::parse("location.appId", &String::deserialize(d)?).map_err(serde::de::Error::custom)
}
fn project<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LocationId>, D::Error> {
    LocationId::parse("location.projectId", &String::deserialize(d)?).map(Some).map_err(serde::de::Error::custom)
}
fn branch<'de, D: Deserializer<'de>>(d: D) -> Result<Option<LocationId>, D::Error> {
    LocationId::parse("location.branchId", &String::deserialize(d)?).map(Some).map_err(serde::de::Error::custom)
}

/// A registered webhook. Its credentials are not here: they live in the secret store
/// ([`WebhookSecrets`]), so a registry read never carries a key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Webhook {
    pub id: WebhookId,
    pub name: WebhookName,
    #[serde(default)]
    pub description: String,
    pub provider: Provider,
    pub state: WebhookState,
    pub location: Location,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version: every update names the version it read.
    pub version: u64,
    /// Endpoints told of activation and deactivation (Okta Workflows-style helpers).
    #[serde(default, skip_serializing_if = "Helpers::is_empty")]
    pub helpers: Helpers,
}

/// A webhook's registration helpers: on activation hookbridge POSTs
/// `{"eventUrl","webhookId","options"}` to `registration` and keeps the JSON answer as
/// `registration_data`; on deactivation it POSTs `{"registrationData","options"}` to
/// `deregistration`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Helpers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<HelperEndpoint>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration: Option<HelperEndpoint>,
    /// What the registration endpoint answered on the last activation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_data: Option<serde_json::Value>,
    /// The last deregistration that failed (the webhook deactivated regardless).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_error: Option<HelperFailure>,
}

impl Helpers {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// An endpoint hookbridge calls, with its auth (the credential is in the webhook's secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelperEndpoint {
    pub url: super::EndpointUrl,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub headers: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    pub auth: super::ConnectorAuth,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<serde_json::Value>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HelperFailure {
    pub at: DateTime<Utc>,
    pub message: String,
}

/// A webhook's API key: 32 random bytes, base64url without padding.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ApiKey(SecretString);

impl ApiKey {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(SecretString::new(URL_SAFE_NO_PAD.encode(bytes)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// Constant-time check of a presented key. A stored key shorter than
    /// [`ApiKey::MIN_LEN`] (an operator's hand-written secret) matches nothing: an empty
    /// key must not open the webhook to anyone.
    pub fn matches(&self, presented: &str) -> bool {
        self.0.expose().len() >= Self::MIN_LEN && self.0.ct_eq(presented.as_bytes())
    }

    /// The shortest key that is honoured (generated keys have 43 characters).
    pub const MIN_LEN: usize = 16;
}

#[cfg(test)]
mod api_key_tests {
    use super::*;

    /// Review I5: an empty or short stored key opens nothing.
    #[test]
    fn short_stored_keys_match_nothing() {
        let k = |s: &str| ApiKey(SecretString::new(s));
        assert!(!k("").matches(""));
        assert!(!k("short").matches("short"));
        assert!(k("0123456789abcdef").matches("0123456789abcdef"));
        let g = ApiKey::generate();
        assert!(g.matches(g.expose()) && !g.matches(""));
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(***)")
    }
}

/// Everything secret about one webhook, kept as one secret-store entry (one Secrets
/// Manager secret per webhook, not one per value: it halves the monthly cost).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSecrets {
    pub api_key: ApiKey,
    /// The provider's signing secret (or Meta's pair).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<super::ProviderSecret>,
    /// The secret before the last rotation, still accepted until `previous_until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_provider: Option<super::ProviderSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_until: Option<DateTime<Utc>>,
    /// The registration helper's credential (token, key value, password or client secret).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration_credential: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deregistration_credential: Option<SecretString>,
}

impl WebhookSecrets {
    pub fn new(api_key: ApiKey) -> Self {
        Self {
            api_key,
            provider: None,
            previous_provider: None,
            previous_until: None,
            registration_credential: None,
            deregistration_credential: None,
        }
    }

    /// The provider secrets that verify now: the current one, then the previous one while
    /// its overlap lasts.
    pub fn provider_secrets(&self, now: DateTime<Utc>) -> Vec<&super::ProviderSecret> {
        let previous = self.previous_provider.as_ref().filter(|_| self.previous_until.is_some_and(|u| now < u));
        self.provider.iter().chain(previous).collect()
    }

    /// Their signing keys.
    pub fn provider_keys(&self, now: DateTime<Utc>) -> Vec<&SecretString> {
        self.provider_secrets(now).into_iter().filter_map(|p| p.signing_key()).collect()
    }

    pub fn to_secret(&self) -> SecretString {
        SecretString::new(serde_json::to_string(self).expect("secrets serialize"))
    }

    pub fn from_secret(s: &SecretString) -> Result<Self, serde_json::Error> {
        serde_json::from_str(s.expose())
    }
}

/// Where a trigger failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailureSource {
    /// Refused at the door: the provider was answered with the error.
    #[default]
    Ingress,
    /// Accepted, then fan-out could not hand it to a process queue.
    Fanout,
}

fn unknown_code() -> String {
    "UNKNOWN".into()
}

/// Why a trigger failed, as its record keeps it (everything but the ids and the time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TriggerFailure {
    pub code: &'static str,
    pub message: String,
    pub source: FailureSource,
    pub binding_id: Option<super::BindingId>,
    pub process_definition_id: Option<String>,
    pub details: std::collections::BTreeMap<String, String>,
}

/// An event that passed authentication but could not start its processes: kept so an
/// operator can see why and replay it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailedTrigger {
    pub id: FailedTriggerId,
    pub webhook_id: WebhookId,
    pub event_id: EventId,
    /// A stable code for the cause (`NO_WAITING_INSTANCE`, `CORRELATION_KEY_UNRESOLVED`,
    /// `PROCESS_QUEUE_SEND_FAILED`, ...), for filtering and alerting.
    #[serde(default = "unknown_code")]
    pub code: String,
    /// The cause in words. (Records kept before the code existed called it `cause`.)
    #[serde(alias = "cause")]
    pub message: String,
    /// Where it failed: at the door (ingress, the provider got the refusal) or in fan-out.
    #[serde(default)]
    pub source: FailureSource,
    /// The binding the failure concerns, and its process definition (or catch event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binding_id: Option<super::BindingId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_definition_id: Option<String>,
    /// What an operator needs to see why: the correlation key and the value it read, the
    /// queue that refused, ...
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub details: std::collections::BTreeMap<String, String>,
    pub failed_at: DateTime<Utc>,
    /// Where the event can be read back for a replay (a blob key).
    pub event_ref: String,
    /// When an operator last replayed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replayed_at: Option<DateTime<Utc>>,
}

impl FailedTrigger {
    pub fn new(
        webhook_id: WebhookId,
        event_id: EventId,
        event_ref: String,
        failed_at: DateTime<Utc>,
        f: TriggerFailure,
    ) -> Self {
        Self {
            id: FailedTriggerId::generate(),
            webhook_id,
            event_id,
            code: f.code.to_owned(),
            message: f.message,
            source: f.source,
            binding_id: f.binding_id,
            process_definition_id: f.process_definition_id,
            details: f.details,
            failed_at,
            event_ref,
            replayed_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_names() {
        for ok in ["abc", "Orders(EU)[v2]_x.y-z", &"n".repeat(50)] {
            assert!(WebhookName::parse(ok).is_ok(), "{ok:?}");
        }
        for bad in ["ab", &"n".repeat(51), "has space", "emoji😀x", "semi;colon", "slash/x"] {
            assert_eq!(WebhookName::parse(bad).unwrap_err().field, "name", "{bad:?}");
        }
    }

    #[test]
    fn api_keys_are_32_random_bytes_base64url() {
        let a = ApiKey::generate();
        let b = ApiKey::generate();
        assert_eq!(a.expose().len(), 43);
        assert!(a.expose().bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_ne!(a.expose(), b.expose());
        assert!(a.matches(a.expose()));
        assert!(!a.matches(b.expose()));
        assert!(!a.matches(&a.expose()[..42]));
        assert_eq!(format!("{a:?}"), "ApiKey(***)");
        let secrets = WebhookSecrets::new(a.clone());
        assert!(!format!("{secrets:?}").contains(a.expose()));
    }

    #[test]
    fn location_errors_name_the_field() {
        let err = serde_json::from_str::<Location>(r#"{"orgId":"o","workspaceId":"w/x","appId":"a"}"#).unwrap_err();
        assert!(err.to_string().contains("location.workspaceId"), "{err}");
        assert!(serde_json::from_str::<Location>(r#"{"orgId":"o","workspaceId":"w","appId":"a","x":1}"#).is_err());
    }
}
