//! Provider verification, read from the catalog (`domain::provider_catalog`): each entry
//! says how its requests are signed, and the code here has one path per kind of scheme,
//! never one per provider. Everything is verified over the raw body bytes, compared in
//! constant time (length included), against the current secret and, during a rotation's
//! overlap, the previous one.

mod describe;
mod generic;
pub mod handshake;
mod mac;
mod public_key;
mod special;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::domain::Provider;
use crate::domain::provider_spec::{DeliveryIdRule, KeyAlgorithm, Part, Scheme, SecretShape};
pub use crate::domain::{GenericHmac, HashAlgorithm, ProviderSecret, SignatureEncoding};
use crate::secret::SecretString;
pub use describe::{ProviderInfo, SecretField, describe};
pub use generic::verify_configured;

/// What URL-bound schemes sign besides the body: the method and the externally visible URL
/// the provider called. Behind proxies that URL is not certain, so the ingress passes every
/// candidate (the configured public URL, the one rebuilt from `X-Forwarded-Proto`/`Host`)
/// and a signature over any of them counts.
#[derive(Clone, Copy, Debug, Default)]
pub struct Target<'a> {
    pub method: &'a str,
    /// Full URLs with path and query, as sent.
    pub urls: &'a [String],
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

/// The first of `names` present, as text.
fn header<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok())
}

/// Every value of every one of `names` present, as text.
fn headers_all<'h>(headers: &'h HeaderMap, names: &[&str]) -> Vec<&'h str> {
    names.iter().flat_map(|n| headers.get_all(*n)).filter_map(|v| v.to_str().ok()).collect()
}

/// The header whose value is the provider's secret itself (token and Basic schemes), which
/// must not travel further than the ingress.
pub fn credential_header(p: Provider) -> Option<&'static str> {
    match p.spec().scheme {
        Scheme::Token { header, .. } => Some(header),
        Scheme::Basic => Some("authorization"),
        _ => None,
    }
}

/// Whether the provider signs the URL it called (the ingress then works out the candidates).
pub fn signs_url(provider: Provider) -> bool {
    match provider.spec().scheme {
        Scheme::Twilio => true,
        Scheme::Mac(h) => h.signed.iter().any(|p| matches!(p, Part::Url)),
        _ => false,
    }
}

/// Checks a request against a provider's scheme with any of `secrets` (current first), for
/// schemes that do not sign the URL (see [`verify_at`]).
pub fn verify(
    provider: Provider,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    verify_at(provider, secrets, headers, body, now, Target::default())
}

/// Checks a request against a provider's scheme with any of `secrets` (current first);
/// `target` is what URL-bound schemes sign besides the body.
pub fn verify_at(
    provider: Provider,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    target: Target<'_>,
) -> Result<(), VerifyError> {
    match provider.spec().scheme {
        Scheme::None => Ok(()),
        // Verified with the whole configuration: see `verify_configured`.
        Scheme::Configured => Err(VerifyError::NoSecret),
        // Every other scheme needs a secret: without one, nothing verifies.
        _ if secrets.is_empty() => Err(VerifyError::NoSecret),
        Scheme::Token { header: name, prefix } => {
            let presented = header(headers, &[name]).ok_or(VerifyError::Missing)?;
            let presented = presented.strip_prefix(prefix).ok_or(VerifyError::Missing)?;
            if secrets.iter().any(|s| s.ct_eq(presented.as_bytes())) { Ok(()) } else { Err(VerifyError::Mismatch) }
        }
        Scheme::Basic => {
            let presented = header(headers, &["authorization"]).ok_or(VerifyError::Missing)?.trim();
            let (scheme, creds) = presented.split_once(' ').ok_or(VerifyError::Missing)?;
            if !scheme.eq_ignore_ascii_case("basic") {
                return Err(VerifyError::Missing);
            }
            let creds = STANDARD.decode(creds.trim()).map_err(|_| VerifyError::Mismatch)?;
            if secrets.iter().any(|s| s.ct_eq(&creds)) { Ok(()) } else { Err(VerifyError::Mismatch) }
        }
        Scheme::ClientState => special::client_state(secrets, body),
        Scheme::MailgunBody => special::mailgun(secrets, body, now),
        Scheme::Twilio => special::twilio(secrets, headers, body, target),
        Scheme::Jwt(j) => special::jwt(&j, secrets, headers, body, now),
        Scheme::PublicKey { algorithm, signature, timestamp, separator, tolerance } => {
            let sig = header(headers, &[signature]).ok_or(VerifyError::Missing)?;
            let ts = header(headers, &[timestamp]).ok_or(VerifyError::Missing)?;
            let message = [ts.as_bytes(), separator.as_bytes(), body].concat();
            public_key::verify(algorithm, secrets, sig, &message)?;
            // Checked after the signature, like every other timestamp.
            match tolerance {
                Some(t) if !mac::fresh(now, ts.trim().parse().map_err(|_| VerifyError::Missing)?, t) => {
                    Err(VerifyError::Stale)
                }
                _ => Ok(()),
            }
        }
        Scheme::Mac(h) => mac::verify(&h, secrets, headers, body, now, target),
    }
}

/// Checks a provider secret's shape when it is saved (`Err`: what is wrong, for the caller).
pub fn check_secret(provider: Provider, secret: Option<&ProviderSecret>) -> Result<(), String> {
    let name = provider.name();
    let plain = |s: Option<&ProviderSecret>| match s {
        Some(ProviderSecret::Plain(s)) if !s.expose().trim().is_empty() => Ok(Some(s.clone())),
        Some(ProviderSecret::Plain(_)) => Err("must not be empty".to_owned()),
        Some(_) => Err("must be a string for this provider".to_owned()),
        None => Ok(None),
    };
    let shape = provider.spec().secret;
    match (shape, secret) {
        (SecretShape::None, None) => Ok(()),
        (SecretShape::None, Some(_)) => Err(format!("{name} webhooks use the API key only")),
        (SecretShape::Scheme, Some(ProviderSecret::GenericHmac(g))) => g.validate(),
        (SecretShape::Scheme, _) => Err("GENERIC_HMAC needs {\"secret\", \"header\", ...} (see the docs)".into()),
        (_, Some(ProviderSecret::GenericHmac(_))) => Err("a scheme is only for GENERIC_HMAC".into()),
        (SecretShape::MetaPair, Some(ProviderSecret::Meta { verify_token: Some(v), app_secret: Some(a) }))
            if !v.expose().is_empty() && !a.expose().is_empty() =>
        {
            Ok(())
        }
        (SecretShape::MetaPair, _) => Err(format!("{name} needs {{\"verifyToken\", \"appSecret\"}}, both non-empty")),
        (_, Some(ProviderSecret::Meta { .. })) => Err("must be a string for this provider".into()),
        // A string secret may be left out and set later (PUT .../provider-secret): until
        // then nothing verifies.
        (_, s) => match plain(s)? {
            Some(s) => check_string(provider, shape, &s),
            None => Ok(()),
        },
    }
}

/// A string secret's shape.
fn check_string(provider: Provider, shape: SecretShape, s: &SecretString) -> Result<(), String> {
    let name = provider.name();
    let raw = s.expose().trim();
    match shape {
        SecretShape::UserPassword => {
            raw.contains(':').then_some(()).ok_or_else(|| format!("{name} needs \"user:password\""))
        }
        SecretShape::Base64 => STANDARD
            .decode(raw.strip_prefix("whsec_").unwrap_or(raw))
            .map(drop)
            .map_err(|_| format!("{name} needs a base64 secret")),
        SecretShape::Hex => hex::decode(raw).map(drop).map_err(|_| format!("{name} needs a hex secret")),
        SecretShape::Ed25519Hex | SecretShape::Ed25519Base64 | SecretShape::P256 => {
            let algorithm = match shape {
                SecretShape::Ed25519Hex => KeyAlgorithm::Ed25519Hex,
                SecretShape::Ed25519Base64 => KeyAlgorithm::Ed25519Base64,
                _ => KeyAlgorithm::EcdsaP256,
            };
            public_key::is_public_key(algorithm, s)
                .then_some(())
                .ok_or_else(|| format!("{name} needs the provider's public key ({})", describe::key_text(shape)))
        }
        _ => Ok(()),
    }
}

/// Zoom's answer to `endpoint.url_validation`: hex HMAC-SHA256(secret token, plainToken).
pub fn zoom_encrypted_token(secret: &SecretString, plain: &str) -> String {
    hex::encode(mac::mac(
        crate::domain::provider_spec::MacAlgorithm::Sha256,
        secret.expose().as_bytes(),
        &[plain.as_bytes()],
    ))
}

/// The provider's own id of a delivery, used to recognise its retries (see
/// [`DeliveryIdRule`]). Providers that sign each delivery but give it no id are keyed by a
/// digest of what they sign (their timestamp and the body): a retry or a replay carries the
/// same, however its signature is spelled, and a header the sender does not sign
/// (`Idempotency-Key`) cannot make a replay look new.
pub fn delivery_id(provider: Provider, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let own = |names: &[&str]| header(headers, names).map(str::to_owned);
    // Only for requests that verified: the digest of the signed timestamp and body.
    let signed = |timestamp: &[&str]| {
        let mut h = Sha256::new();
        h.update(header(headers, timestamp).map(str::trim).unwrap_or_default());
        h.update([0u8]);
        h.update(body);
        Some(format!("signed-{}", hex::encode(h.finalize())))
    };
    let id = match provider.spec().delivery_id {
        DeliveryIdRule::IdempotencyKey => own(&["idempotency-key"]),
        DeliveryIdRule::Header(names) => own(names),
        DeliveryIdRule::Body(pointer) => {
            serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| match v.pointer(pointer)? {
                serde_json::Value::String(s) => Some(s.clone()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
        }
        DeliveryIdRule::HeaderOrSigned(names) => own(names).or_else(|| signed(&[])),
        DeliveryIdRule::Signed(timestamp) => signed(timestamp),
    };
    id.filter(|i| !i.is_empty() && i.len() <= 256)
}

#[cfg(test)]
mod tests;
