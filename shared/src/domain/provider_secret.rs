//! What a webhook keeps to verify its provider: a plain secret, Meta's pair, or a
//! GENERIC_HMAC scheme given with the secret. Data only: how each one verifies is in
//! `providers`.

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

/// GENERIC_HMAC: the scheme is given with the secret, for any provider not built in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericHmac {
    pub secret: SecretString,
    /// The signature header.
    pub header: String,
    #[serde(default)]
    pub algorithm: HashAlgorithm,
    #[serde(default)]
    pub encoding: SignatureEncoding,
    /// Text before the signature in the header (`sha256=`).
    #[serde(default)]
    pub prefix: String,
    /// The signed string: `{body}`, `{timestamp}` and `{id}` stand for the raw body and the
    /// timestamp and id headers (default `{body}`).
    #[serde(default = "default_template")]
    pub template: String,
    pub timestamp_header: Option<String>,
    pub id_header: Option<String>,
    /// Refuse timestamps further than this from now, either way.
    pub tolerance_seconds: Option<u64>,
}

fn default_template() -> String {
    "{body}".into()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HashAlgorithm {
    #[default]
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

/// A provider's secret: a string, Meta's pair, or a GENERIC_HMAC scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum ProviderSecret {
    GenericHmac(GenericHmac),
    /// Both parts are optional here so that a missing one is reported by validation with
    /// its own code, not as a shapeless body.
    Meta {
        #[serde(rename = "verifyToken", default, skip_serializing_if = "Option::is_none")]
        verify_token: Option<SecretString>,
        #[serde(rename = "appSecret", default, skip_serializing_if = "Option::is_none")]
        app_secret: Option<SecretString>,
    },
    Plain(SecretString),
}

impl ProviderSecret {
    /// The key requests are signed with.
    pub fn signing_key(&self) -> Option<&SecretString> {
        match self {
            ProviderSecret::Plain(s) => Some(s),
            ProviderSecret::Meta { app_secret, .. } => app_secret.as_ref(),
            ProviderSecret::GenericHmac(g) => Some(&g.secret),
        }
    }
}
