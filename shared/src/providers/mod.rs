//! Provider verification as data: most schemes are an HMAC over a signed-string template
//! with a header, encoding, prefix and timestamp rule, or a plain token; adding a provider
//! is a row in [`scheme`] and a test vector. Everything is verified over the raw body bytes,
//! compared in constant time (length included), against the current secret and, during a
//! rotation's overlap, the previous one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::domain::Provider;
use crate::secret::{SecretString, ct_eq};

/// GENERIC_HMAC: the scheme is given with the secret, for any provider not built in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HashAlgorithm {
    #[default]
    #[serde(rename = "SHA256")]
    Sha256,
    #[serde(rename = "SHA512")]
    Sha512,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SignatureEncoding {
    #[default]
    Hex,
    Base64,
}

impl GenericHmac {
    /// Checks the configuration when it is saved.
    pub fn validate(&self) -> Result<(), String> {
        if self.secret.expose().is_empty() {
            return Err("providerSecret.secret: must not be empty".into());
        }
        if http::HeaderName::from_bytes(self.header.as_bytes()).is_err() {
            return Err("providerSecret.header: not a valid header name".into());
        }
        if !self.template.contains("{body}") {
            return Err("providerSecret.template: must contain {body}".into());
        }
        if self.template.contains("{timestamp}") && self.timestamp_header.is_none() {
            return Err("providerSecret.timestampHeader: required by {timestamp}".into());
        }
        if self.template.contains("{id}") && self.id_header.is_none() {
            return Err("providerSecret.idHeader: required by {id}".into());
        }
        if self.tolerance_seconds.is_some() && self.timestamp_header.is_none() {
            return Err("providerSecret.timestampHeader: required by toleranceSeconds".into());
        }
        Ok(())
    }

    /// Verifies one request with this configuration.
    pub fn verify(&self, headers: &HeaderMap, body: &[u8], now: i64) -> Result<(), VerifyError> {
        let raw = header(headers, &[self.header.as_str()]).ok_or(VerifyError::Missing)?;
        let sig = raw.trim().strip_prefix(self.prefix.as_str()).ok_or(VerifyError::Missing)?;
        let presented = match self.encoding {
            SignatureEncoding::Hex => hex::decode(sig).map_err(|_| VerifyError::Mismatch)?,
            SignatureEncoding::Base64 => STANDARD.decode(sig).map_err(|_| VerifyError::Mismatch)?,
        };
        let ts = match &self.timestamp_header {
            Some(h) => Some(header(headers, &[h.as_str()]).ok_or(VerifyError::Missing)?),
            None => None,
        };
        let id = match &self.id_header {
            Some(h) => Some(header(headers, &[h.as_str()]).ok_or(VerifyError::Missing)?),
            None => None,
        };
        // The template, with its placeholders replaced, fed to the MAC piece by piece.
        let mut pieces: Vec<&[u8]> = Vec::new();
        let mut rest = self.template.as_str();
        while let Some(open) = rest.find('{') {
            pieces.push(&rest.as_bytes()[..open]);
            let after = &rest[open..];
            let (value, len): (&[u8], usize) = if after.starts_with("{body}") {
                (body, 6)
            } else if after.starts_with("{timestamp}") {
                (ts.unwrap_or_default().as_bytes(), 11)
            } else if after.starts_with("{id}") {
                (id.unwrap_or_default().as_bytes(), 4)
            } else {
                (b"{", 1)
            };
            pieces.push(value);
            rest = &after[len..];
        }
        pieces.push(rest.as_bytes());
        let key = self.secret.expose().as_bytes();
        let expected: Vec<u8> = match self.algorithm {
            HashAlgorithm::Sha256 => {
                let mut m = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
                pieces.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
            HashAlgorithm::Sha512 => {
                let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).expect("any key length");
                pieces.iter().for_each(|p| m.update(p));
                m.finalize().into_bytes().to_vec()
            }
        };
        if !ct_eq(&expected, &presented) {
            return Err(VerifyError::Mismatch);
        }
        if let (Some(tol), Some(ts)) = (self.tolerance_seconds, ts) {
            let ts: i64 = ts.trim().parse().map_err(|_| VerifyError::Missing)?;
            if (now - ts).unsigned_abs() > tol {
                return Err(VerifyError::Stale);
            }
        }
        Ok(())
    }
}

/// A provider's secret: a string, Meta's pair, or a GENERIC_HMAC scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Clone, Copy, Debug)]
pub enum Encoding {
    Hex,
    Base64,
}

/// A piece of the signed string.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    Body,
    Timestamp,
    Id,
    Lit(&'static str),
}

/// How the key bytes come from the secret.
#[derive(Clone, Copy, Debug)]
pub enum KeyForm {
    /// The secret's UTF-8 bytes (most providers, Stripe's `whsec_` included).
    Utf8,
    /// Base64 after an optional `whsec_` prefix (Standard Webhooks, Svix).
    WhsecBase64,
}

/// Where the signatures are in their header.
#[derive(Clone, Copy, Debug)]
pub enum SigFormat {
    /// One signature after a prefix (`sha256=`, `v0=`, or none).
    Single(&'static str),
    /// Several, split by `sep`, each after `prefix` (`v1,` space-separated; `v1=` comma-separated).
    List { sep: char, prefix: &'static str },
    /// Stripe's `t=...,v1=...,v1=...`: the timestamp travels in the signature header.
    Stripe,
}

/// How a timestamp header is written.
#[derive(Clone, Copy, Debug)]
pub enum TsFormat {
    /// Integer seconds since the epoch.
    Unix,
    /// RFC 3339 (Twitch), signed exactly as sent.
    Rfc3339,
}

#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub secs: i64,
    /// Whether timestamps ahead of now are also limited (Stripe checks the past only).
    pub future: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct HmacScheme {
    /// The signature header; the first one present is used (Svix: `svix-*` or `webhook-*`).
    pub signature: &'static [&'static str],
    pub timestamp: &'static [&'static str],
    pub id: &'static [&'static str],
    pub signed: &'static [Part],
    pub encoding: Encoding,
    pub format: SigFormat,
    pub key: KeyForm,
    pub tolerance: Option<Tolerance>,
    pub ts_format: TsFormat,
}

#[derive(Clone, Copy, Debug)]
pub enum Scheme {
    /// API key only.
    None,
    Hmac(HmacScheme),
    /// The secret itself in a header (GitLab's `X-Gitlab-Token`, Okta's `Authorization`).
    Token(&'static str),
    /// Microsoft Graph: every notification's `clientState` equals the secret.
    ClientState,
    /// Mailgun: `signature.signature` = hex HMAC-SHA256(key, timestamp + token), in the body.
    MailgunBody,
    /// Discord: Ed25519 over timestamp + body; the secret is the app's public key (hex).
    Ed25519 {
        signature: &'static str,
        timestamp: &'static str,
    },
    /// GENERIC_HMAC: configured per webhook (see [`GenericHmac`]).
    Configured,
}

const FIVE_MINUTES_BOTH: Option<Tolerance> = Some(Tolerance { secs: 300, future: true });

const STANDARD_WEBHOOKS: HmacScheme = HmacScheme {
    signature: &["webhook-signature"],
    timestamp: &["webhook-timestamp"],
    id: &["webhook-id"],
    signed: &[Part::Id, Part::Lit("."), Part::Timestamp, Part::Lit("."), Part::Body],
    encoding: Encoding::Base64,
    format: SigFormat::List { sep: ' ', prefix: "v1," },
    key: KeyForm::WhsecBase64,
    tolerance: FIVE_MINUTES_BOTH,
    ts_format: TsFormat::Unix,
};

/// HMAC-SHA256 of the raw body, one signature in `header` after `prefix`.
const fn body_hmac(header: &'static [&'static str], encoding: Encoding, prefix: &'static str) -> Scheme {
    Scheme::Hmac(HmacScheme {
        signature: header,
        timestamp: &[],
        id: &[],
        signed: &[Part::Body],
        encoding,
        format: SigFormat::Single(prefix),
        key: KeyForm::Utf8,
        tolerance: None,
        ts_format: TsFormat::Unix,
    })
}

/// The catalog: each provider's scheme.
pub fn scheme(p: Provider) -> Scheme {
    match p {
        Provider::Generic => Scheme::None,
        Provider::Slack => Scheme::Hmac(HmacScheme {
            signature: &["x-slack-signature"],
            timestamp: &["x-slack-request-timestamp"],
            id: &[],
            signed: &[Part::Lit("v0:"), Part::Timestamp, Part::Lit(":"), Part::Body],
            encoding: Encoding::Hex,
            format: SigFormat::Single("v0="),
            key: KeyForm::Utf8,
            tolerance: FIVE_MINUTES_BOTH,
            ts_format: TsFormat::Unix,
        }),
        Provider::Meta | Provider::Github => body_hmac(&["x-hub-signature-256"], Encoding::Hex, "sha256="),
        Provider::Shopify => body_hmac(&["x-shopify-hmac-sha256"], Encoding::Base64, ""),
        Provider::Descope => body_hmac(&["x-descope-webhook-s256"], Encoding::Base64, ""),
        Provider::Linear => body_hmac(&["linear-signature"], Encoding::Hex, ""),
        Provider::Pagerduty => Scheme::Hmac(HmacScheme {
            format: SigFormat::List { sep: ',', prefix: "v1=" },
            ..match body_hmac(&["x-pagerduty-signature"], Encoding::Hex, "") {
                Scheme::Hmac(h) => h,
                _ => unreachable!(),
            }
        }),
        Provider::Stripe => Scheme::Hmac(HmacScheme {
            signature: &["stripe-signature"],
            timestamp: &[],
            id: &[],
            signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
            encoding: Encoding::Hex,
            format: SigFormat::Stripe,
            key: KeyForm::Utf8,
            tolerance: Some(Tolerance { secs: 300, future: false }),
            ts_format: TsFormat::Unix,
        }),
        Provider::StandardWebhooks => Scheme::Hmac(STANDARD_WEBHOOKS),
        Provider::Svix => Scheme::Hmac(HmacScheme {
            signature: &["svix-signature", "webhook-signature"],
            timestamp: &["svix-timestamp", "webhook-timestamp"],
            id: &["svix-id", "webhook-id"],
            ..STANDARD_WEBHOOKS
        }),
        Provider::Gitlab => Scheme::Token("x-gitlab-token"),
        // Zoom's SDK checks no freshness; five minutes both ways guards against replays.
        Provider::Zoom => Scheme::Hmac(HmacScheme {
            signature: &["x-zm-signature"],
            timestamp: &["x-zm-request-timestamp"],
            id: &[],
            signed: &[Part::Lit("v0:"), Part::Timestamp, Part::Lit(":"), Part::Body],
            encoding: Encoding::Hex,
            format: SigFormat::Single("v0="),
            key: KeyForm::Utf8,
            tolerance: FIVE_MINUTES_BOTH,
            ts_format: TsFormat::Unix,
        }),
        // Twitch recommends refusing messages older than ten minutes.
        Provider::Twitch => Scheme::Hmac(HmacScheme {
            signature: &["twitch-eventsub-message-signature"],
            timestamp: &["twitch-eventsub-message-timestamp"],
            id: &["twitch-eventsub-message-id"],
            signed: &[Part::Id, Part::Timestamp, Part::Body],
            encoding: Encoding::Hex,
            format: SigFormat::Single("sha256="),
            key: KeyForm::Utf8,
            tolerance: Some(Tolerance { secs: 600, future: true }),
            ts_format: TsFormat::Rfc3339,
        }),
        Provider::Okta => Scheme::Token("authorization"),
        Provider::Msgraph => Scheme::ClientState,
        Provider::Mailgun => Scheme::MailgunBody,
        Provider::Discord => Scheme::Ed25519 { signature: "x-signature-ed25519", timestamp: "x-signature-timestamp" },
        // The scheme comes with the secret (see `GenericHmac`).
        Provider::GenericHmac => Scheme::Configured,
    }
}

/// Ed25519 verification (strict: no malleable signatures, no small-order keys).
fn verify_ed25519(public_keys: &[&SecretString], signature: &str, message: &[&[u8]]) -> Result<(), VerifyError> {
    use ed25519_dalek::{Signature, VerifyingKey};
    let sig: [u8; 64] = hex::decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or(VerifyError::Mismatch)?;
    let sig = Signature::from_bytes(&sig);
    let msg: Vec<u8> = message.concat();
    let ok = public_keys.iter().any(|k| {
        let key: Option<[u8; 32]> = hex::decode(k.expose().trim()).ok().and_then(|b| b.try_into().ok());
        key.and_then(|k| VerifyingKey::from_bytes(&k).ok()).is_some_and(|vk| vk.verify_strict(&msg, &sig).is_ok())
    });
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// Why a request was not verified. The message never says which part was wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the webhook has no provider secret")]
    NoSecret,
    #[error("signature or timestamp header missing or malformed")]
    Missing,
    #[error("the timestamp is outside the allowed window")]
    Stale,
    #[error("the signature does not match")]
    Mismatch,
}

fn header<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok())
}

fn key_bytes(form: KeyForm, secret: &SecretString) -> Option<Vec<u8>> {
    match form {
        KeyForm::Utf8 => Some(secret.expose().as_bytes().to_vec()),
        KeyForm::WhsecBase64 => {
            let raw = secret.expose();
            STANDARD.decode(raw.strip_prefix("whsec_").unwrap_or(raw)).ok()
        }
    }
}

/// Checks a request against a provider's scheme with any of `secrets` (current first).
pub fn verify(
    provider: Provider,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    match scheme(provider) {
        Scheme::None => Ok(()),
        Scheme::Token(name) => {
            if secrets.is_empty() {
                return Err(VerifyError::NoSecret);
            }
            let presented = header(headers, &[name]).ok_or(VerifyError::Missing)?;
            if secrets.iter().any(|s| s.ct_eq(presented.as_bytes())) { Ok(()) } else { Err(VerifyError::Mismatch) }
        }
        Scheme::ClientState => {
            if secrets.is_empty() {
                return Err(VerifyError::NoSecret);
            }
            let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| VerifyError::Missing)?;
            let items = v.get("value").and_then(serde_json::Value::as_array).ok_or(VerifyError::Missing)?;
            if items.is_empty() {
                return Err(VerifyError::Missing);
            }
            let all = items.iter().all(|n| {
                n.get("clientState")
                    .and_then(serde_json::Value::as_str)
                    .is_some_and(|cs| secrets.iter().any(|s| s.ct_eq(cs.as_bytes())))
            });
            if all { Ok(()) } else { Err(VerifyError::Mismatch) }
        }
        // Verified with the whole configuration: see `verify_configured`.
        Scheme::Configured => Err(VerifyError::NoSecret),
        Scheme::Ed25519 { signature, timestamp } => {
            if secrets.is_empty() {
                return Err(VerifyError::NoSecret);
            }
            let sig = header(headers, &[signature]).ok_or(VerifyError::Missing)?;
            let ts = header(headers, &[timestamp]).ok_or(VerifyError::Missing)?;
            verify_ed25519(secrets, sig, &[ts.as_bytes(), body])
        }
        Scheme::MailgunBody => {
            if secrets.is_empty() {
                return Err(VerifyError::NoSecret);
            }
            let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| VerifyError::Missing)?;
            let sig = v.get("signature").ok_or(VerifyError::Missing)?;
            let field = |k: &str| sig.get(k).and_then(serde_json::Value::as_str).ok_or(VerifyError::Missing);
            let (ts, token, presented) = (field("timestamp")?, field("token")?, field("signature")?);
            let presented = hex::decode(presented).map_err(|_| VerifyError::Mismatch)?;
            let mut matched = false;
            for s in secrets {
                let mut mac = Hmac::<Sha256>::new_from_slice(s.expose().as_bytes()).expect("any key length");
                mac.update(ts.as_bytes());
                mac.update(token.as_bytes());
                matched |= ct_eq(&mac.finalize().into_bytes(), &presented);
            }
            if !matched {
                return Err(VerifyError::Mismatch);
            }
            // The body is not signed: only fresh signatures count (tokens are deduplicated).
            let ts: i64 = ts.parse().map_err(|_| VerifyError::Missing)?;
            if (now - ts).abs() > 300 { Err(VerifyError::Stale) } else { Ok(()) }
        }
        Scheme::Hmac(h) => {
            verify_hmac(&h, secrets, headers, body, now)?;
            if provider == Provider::Linear {
                linear_timestamp(body, now)?;
            }
            Ok(())
        }
    }
}

/// Linear puts its timestamp in the body (`webhookTimestamp`, epoch ms): within 60 s, and
/// required (its SDK skips a missing one; a gateway should not).
fn linear_timestamp(body: &[u8], now: i64) -> Result<(), VerifyError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| VerifyError::Missing)?;
    let ts = v.get("webhookTimestamp").and_then(serde_json::Value::as_i64).ok_or(VerifyError::Missing)?;
    if (now * 1000 - ts).abs() > 60_000 { Err(VerifyError::Stale) } else { Ok(()) }
}

fn verify_hmac(
    h: &HmacScheme,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    if secrets.is_empty() {
        return Err(VerifyError::NoSecret);
    }
    let raw = header(headers, h.signature).ok_or(VerifyError::Missing)?;
    let (timestamp, candidates): (Option<String>, Vec<&str>) = match h.format {
        SigFormat::Single(prefix) => {
            let sig = raw.trim().strip_prefix(prefix).ok_or(VerifyError::Missing)?;
            (header(headers, h.timestamp).map(str::to_owned), vec![sig])
        }
        SigFormat::List { sep, prefix } => (
            header(headers, h.timestamp).map(str::to_owned),
            raw.split(sep).map(str::trim).filter_map(|s| s.strip_prefix(prefix)).collect(),
        ),
        SigFormat::Stripe => {
            let mut t = None;
            let mut sigs = Vec::new();
            for item in raw.split(',') {
                match item.trim().split_once('=') {
                    Some(("t", v)) => t = Some(v.to_owned()),
                    Some(("v1", v)) => sigs.push(v),
                    _ => {} // other schemes (v0) are ignored: no downgrade
                }
            }
            (t, sigs)
        }
    };
    if candidates.is_empty() {
        return Err(VerifyError::Missing);
    }
    let needs_ts = h.signed.iter().any(|p| matches!(p, Part::Timestamp));
    if needs_ts && timestamp.is_none() {
        return Err(VerifyError::Missing);
    }
    let id = header(headers, h.id);
    if h.signed.iter().any(|p| matches!(p, Part::Id)) && id.is_none() {
        return Err(VerifyError::Missing);
    }
    let decoded: Vec<Vec<u8>> = candidates
        .iter()
        .filter_map(|c| match h.encoding {
            Encoding::Hex => hex::decode(c).ok(),
            Encoding::Base64 => STANDARD.decode(c).ok(),
        })
        .collect();
    let mut matched = false;
    for secret in secrets {
        let Some(key) = key_bytes(h.key, secret) else { continue };
        let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
        for part in h.signed {
            match part {
                Part::Body => mac.update(body),
                Part::Timestamp => mac.update(timestamp.as_deref().unwrap_or_default().as_bytes()),
                Part::Id => mac.update(id.unwrap_or_default().as_bytes()),
                Part::Lit(s) => mac.update(s.as_bytes()),
            }
        }
        let expected = mac.finalize().into_bytes();
        // Every candidate is compared (no early exit on the first mismatch).
        for d in &decoded {
            matched |= ct_eq(&expected, d);
        }
    }
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    if let (Some(tol), Some(ts)) = (h.tolerance, timestamp) {
        let ts: i64 = match h.ts_format {
            TsFormat::Unix => ts.trim().parse().map_err(|_| VerifyError::Missing)?,
            TsFormat::Rfc3339 => {
                chrono::DateTime::parse_from_rfc3339(ts.trim()).map_err(|_| VerifyError::Missing)?.timestamp()
            }
        };
        if now - ts > tol.secs || (tol.future && ts - now > tol.secs) {
            return Err(VerifyError::Stale);
        }
    }
    Ok(())
}

/// Verifies with every provider secret that carries its own scheme (GENERIC_HMAC); the
/// first match wins.
pub fn verify_configured(
    secrets: &[&ProviderSecret],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let mut last = VerifyError::NoSecret;
    for s in secrets {
        if let ProviderSecret::GenericHmac(g) = s {
            match g.verify(headers, body, now) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
        }
    }
    Err(last)
}

/// Zoom's answer to `endpoint.url_validation`: hex HMAC-SHA256(secret token, plainToken).
pub fn zoom_encrypted_token(secret: &SecretString, plain: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
    mac.update(plain.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The provider's own id for this delivery, used to deduplicate its retries: a header, or a
/// field of the body. GENERIC senders may send an `Idempotency-Key` header.
pub fn delivery_id(provider: Provider, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let from_body = |field: &str| -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v.get(field)?.as_str().map(str::to_owned)
    };
    let id = match provider {
        Provider::Generic => header(headers, &["idempotency-key"]).map(str::to_owned),
        Provider::Github => header(headers, &["x-github-delivery"]).map(str::to_owned),
        Provider::StandardWebhooks => header(headers, &["webhook-id"]).map(str::to_owned),
        Provider::Svix => header(headers, &["svix-id", "webhook-id"]).map(str::to_owned),
        Provider::Shopify => header(headers, &["x-shopify-webhook-id"]).map(str::to_owned),
        Provider::Stripe => from_body("id"),
        Provider::Slack => from_body("event_id"),
        Provider::Linear => from_body("webhookId"),
        Provider::Gitlab => header(headers, &["x-gitlab-event-uuid", "idempotency-key"]).map(str::to_owned),
        Provider::Twitch => header(headers, &["twitch-eventsub-message-id"]).map(str::to_owned),
        Provider::Mailgun => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.pointer("/signature/token")?.as_str().map(str::to_owned)),
        Provider::Meta
        | Provider::Descope
        | Provider::Pagerduty
        | Provider::Zoom
        | Provider::Okta
        | Provider::Msgraph
        | Provider::Discord
        | Provider::GenericHmac => header(headers, &["idempotency-key"]).map(str::to_owned),
    };
    id.filter(|i| !i.is_empty() && i.len() <= 256)
}

#[cfg(test)]
mod tests;
