//! Provider verification as data: most schemes are an HMAC over a signed-string template
//! with a header, encoding, prefix and timestamp rule, or a plain token; adding a provider
//! is a row in [`scheme`] and a test vector. Everything is verified over the raw body bytes,
//! compared in constant time (length included), against the current secret and, during a
//! rotation's overlap, the previous one.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use crate::domain::Provider;
use crate::secret::{SecretString, ct_eq};

pub use crate::domain::{GenericHmac, HashAlgorithm, ProviderSecret, SignatureEncoding};

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
            if now.abs_diff(ts) > tol {
                return Err(VerifyError::Stale);
            }
        }
        Ok(())
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
    /// The URL the provider called, as it sees it (Square, HubSpot): see [`Target`].
    Url,
    /// The HTTP method (HubSpot).
    Method,
}

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
    /// Integer milliseconds since the epoch (HubSpot).
    UnixMillis,
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
    /// A public-key signature over timestamp + body; the secret is the provider's public key.
    PublicKey {
        algorithm: KeyAlgorithm,
        signature: &'static str,
        timestamp: &'static str,
        /// How far the signed timestamp may be from now (`None`: not checked).
        tolerance: Option<Tolerance>,
    },
    /// Twilio: base64 HMAC-SHA1 over the URL and the sorted form parameters, or over the
    /// URL carrying `bodySHA256` for other bodies; the URL with or without its default port.
    Twilio,
    /// GENERIC_HMAC: configured per webhook (see [`GenericHmac`]).
    Configured,
}

#[derive(Clone, Copy, Debug)]
pub enum KeyAlgorithm {
    /// Discord: hex signature, hex public key.
    Ed25519,
    /// SendGrid: ECDSA P-256/SHA-256, base64 DER signature, base64 DER SubjectPublicKeyInfo key.
    EcdsaP256,
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

/// Slack's `v0:{ts}:{body}` (Zoom signs the same way under its own headers).
const SLACK: HmacScheme = HmacScheme {
    signature: &["x-slack-signature"],
    timestamp: &["x-slack-request-timestamp"],
    id: &[],
    signed: &[Part::Lit("v0:"), Part::Timestamp, Part::Lit(":"), Part::Body],
    encoding: Encoding::Hex,
    format: SigFormat::Single("v0="),
    key: KeyForm::Utf8,
    tolerance: FIVE_MINUTES_BOTH,
    ts_format: TsFormat::Unix,
};

/// HMAC-SHA256 of the raw body, one signature in `header` after `prefix`.
const fn body_hmac(header: &'static [&'static str], encoding: Encoding, prefix: &'static str) -> HmacScheme {
    HmacScheme {
        signature: header,
        timestamp: &[],
        id: &[],
        signed: &[Part::Body],
        encoding,
        format: SigFormat::Single(prefix),
        key: KeyForm::Utf8,
        tolerance: None,
        ts_format: TsFormat::Unix,
    }
}

/// The catalog: each provider's scheme.
pub fn scheme(p: Provider) -> Scheme {
    match p {
        Provider::Generic => Scheme::None,
        Provider::Slack => Scheme::Hmac(SLACK),
        Provider::Meta | Provider::Github => {
            Scheme::Hmac(body_hmac(&["x-hub-signature-256"], Encoding::Hex, "sha256="))
        }
        Provider::Shopify => Scheme::Hmac(body_hmac(&["x-shopify-hmac-sha256"], Encoding::Base64, "")),
        Provider::Descope => Scheme::Hmac(body_hmac(&["x-descope-webhook-s256"], Encoding::Base64, "")),
        Provider::Linear => Scheme::Hmac(body_hmac(&["linear-signature"], Encoding::Hex, "")),
        Provider::Pagerduty => Scheme::Hmac(HmacScheme {
            format: SigFormat::List { sep: ',', prefix: "v1=" },
            ..body_hmac(&["x-pagerduty-signature"], Encoding::Hex, "")
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
        Provider::Zoom => {
            Scheme::Hmac(HmacScheme { signature: &["x-zm-signature"], timestamp: &["x-zm-request-timestamp"], ..SLACK })
        }
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
        Provider::Discord => Scheme::PublicKey {
            algorithm: KeyAlgorithm::Ed25519,
            signature: "x-signature-ed25519",
            timestamp: "x-signature-timestamp",
            // Discord signs a fresh timestamp on every attempt; five minutes bounds replays.
            tolerance: FIVE_MINUTES_BOTH,
        },
        Provider::Square => Scheme::Hmac(HmacScheme {
            signed: &[Part::Url, Part::Body],
            ..body_hmac(&["x-square-hmacsha256-signature"], Encoding::Base64, "")
        }),
        // v3 only: the legacy v1/v2 are plain hashes HubSpot no longer sends to new apps.
        Provider::Hubspot => Scheme::Hmac(HmacScheme {
            signature: &["x-hubspot-signature-v3"],
            timestamp: &["x-hubspot-request-timestamp"],
            id: &[],
            signed: &[Part::Method, Part::Url, Part::Body, Part::Timestamp],
            encoding: Encoding::Base64,
            format: SigFormat::Single(""),
            key: KeyForm::Utf8,
            tolerance: Some(Tolerance { secs: 300, future: false }),
            ts_format: TsFormat::UnixMillis,
        }),
        Provider::Twilio => Scheme::Twilio,
        Provider::Sendgrid => Scheme::PublicKey {
            algorithm: KeyAlgorithm::EcdsaP256,
            signature: "x-twilio-email-event-webhook-signature",
            timestamp: "x-twilio-email-event-webhook-timestamp",
            // SendGrid documents no freshness rule; replays are caught by the body digest.
            tolerance: None,
        },
        // The scheme comes with the secret (see `GenericHmac`).
        Provider::GenericHmac => Scheme::Configured,
    }
}

/// The header whose value is the provider's secret itself (token schemes), which must not
/// travel further than the ingress.
pub fn credential_header(p: Provider) -> Option<&'static str> {
    match scheme(p) {
        Scheme::Token(name) => Some(name),
        _ => None,
    }
}

/// Ed25519 verification (strict: no malleable signatures, no small-order keys).
fn verify_ed25519(public_keys: &[&SecretString], signature: &str, msg: &[u8]) -> Result<(), VerifyError> {
    use ed25519_dalek::{Signature, VerifyingKey};
    let sig: [u8; 64] = hex::decode(signature).ok().and_then(|b| b.try_into().ok()).ok_or(VerifyError::Mismatch)?;
    let sig = Signature::from_bytes(&sig);
    let ok = public_keys.iter().any(|k| {
        let key: Option<[u8; 32]> = hex::decode(k.expose().trim()).ok().and_then(|b| b.try_into().ok());
        key.and_then(|k| VerifyingKey::from_bytes(&k).ok()).is_some_and(|vk| vk.verify_strict(msg, &sig).is_ok())
    });
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// SendGrid's ECDSA P-256/SHA-256 (DER signature, base64) with any of the verification keys
/// (base64 DER SubjectPublicKeyInfo).
fn verify_p256(public_keys: &[&SecretString], signature: &str, msg: &[u8]) -> Result<(), VerifyError> {
    use p256::ecdsa::signature::Verifier;
    use p256::ecdsa::{Signature, VerifyingKey};
    use p256::pkcs8::DecodePublicKey;
    let der = STANDARD.decode(signature.trim()).map_err(|_| VerifyError::Mismatch)?;
    let sig = Signature::from_der(&der).map_err(|_| VerifyError::Mismatch)?;
    let ok = public_keys.iter().any(|k| {
        let key = STANDARD.decode(k.expose().trim()).ok();
        key.and_then(|der| VerifyingKey::from_public_key_der(&der).ok()).is_some_and(|vk| vk.verify(msg, &sig).is_ok())
    });
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// Whether a secret is a usable SendGrid verification key (checked when it is saved).
pub fn is_p256_public_key(secret: &SecretString) -> bool {
    use p256::pkcs8::DecodePublicKey;
    STANDARD
        .decode(secret.expose().trim())
        .ok()
        .is_some_and(|der| p256::ecdsa::VerifyingKey::from_public_key_der(&der).is_ok())
}

/// Whether a secret is a usable Discord public key (32 bytes, hex).
pub fn is_ed25519_public_key(secret: &SecretString) -> bool {
    let key: Option<[u8; 32]> = hex::decode(secret.expose().trim()).ok().and_then(|b| b.try_into().ok());
    key.is_some_and(|k| ed25519_dalek::VerifyingKey::from_bytes(&k).is_ok())
}

/// Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1(auth token, url + params). Form bodies
/// append every parameter as name + value, names sorted and each name's values de-duplicated
/// and sorted; other bodies (JSON) are covered by the URL's `bodySHA256`, which must equal
/// the hex SHA-256 of the raw body. Each URL is tried with and without its default port,
/// as Twilio's SDKs do.
fn verify_twilio(
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    target: Target<'_>,
) -> Result<(), VerifyError> {
    use sha1::Sha1;
    let presented = header(headers, &["x-twilio-signature"]).ok_or(VerifyError::Missing)?;
    let presented = STANDARD.decode(presented.trim()).map_err(|_| VerifyError::Mismatch)?;
    if target.urls.is_empty() {
        return Err(VerifyError::Missing);
    }
    let form = header(headers, &["content-type"])
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let params = if form {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        pairs.sort();
        pairs.dedup();
        pairs.into_iter().fold(String::new(), |mut s, (k, v)| {
            s.push_str(&k);
            s.push_str(&v);
            s
        })
    } else {
        String::new()
    };
    let body_hash = if form { None } else { Some(hex::encode(Sha256::digest(body))) };
    let mut matched = false;
    for url in target.urls.iter().flat_map(|u| twilio_port_variants(u)) {
        if let Some(hash) = &body_hash {
            // The body is signed through the URL: its bodySHA256 must be this body's.
            let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
            let declared = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256").map(|(_, v)| v);
            if !declared.is_some_and(|d| ct_eq(d.to_ascii_lowercase().as_bytes(), hash.as_bytes())) {
                continue;
            }
        }
        for secret in secrets {
            let mut mac = Hmac::<Sha1>::new_from_slice(secret.expose().as_bytes()).expect("any key length");
            mac.update(url.as_bytes());
            mac.update(params.as_bytes());
            matched |= ct_eq(&mac.finalize().into_bytes(), &presented);
        }
    }
    if matched { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// A URL as given, without its port, and with the scheme's default port when it has none.
fn twilio_port_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    let Some((scheme, rest)) = url.split_once("://") else { return out };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    // `[v6]:port` keeps its brackets; the port is after the last `:` outside them.
    let host_end = authority.rfind(']').map_or(0, |i| i + 1);
    match authority[host_end..].rfind(':') {
        Some(i) => out.push(format!("{scheme}://{}{tail}", &authority[..host_end + i])),
        None => {
            let port = if scheme.eq_ignore_ascii_case("https") { 443 } else { 80 };
            out.push(format!("{scheme}://{authority}:{port}{tail}"));
        }
    }
    out
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

/// Whether the provider signs the URL it called (the ingress then works out the candidates).
pub fn signs_url(provider: Provider) -> bool {
    match scheme(provider) {
        Scheme::Twilio => true,
        Scheme::Hmac(h) => h.signed.iter().any(|p| matches!(p, Part::Url)),
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
    match scheme(provider) {
        Scheme::None => Ok(()),
        // Verified with the whole configuration: see `verify_configured`.
        Scheme::Configured => Err(VerifyError::NoSecret),
        // Every other scheme needs a secret: without one, nothing verifies.
        _ if secrets.is_empty() => Err(VerifyError::NoSecret),
        Scheme::Token(name) => {
            let presented = header(headers, &[name]).ok_or(VerifyError::Missing)?;
            if secrets.iter().any(|s| s.ct_eq(presented.as_bytes())) { Ok(()) } else { Err(VerifyError::Mismatch) }
        }
        Scheme::ClientState => {
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
        Scheme::PublicKey { algorithm, signature, timestamp, tolerance } => {
            let sig = header(headers, &[signature]).ok_or(VerifyError::Missing)?;
            let ts = header(headers, &[timestamp]).ok_or(VerifyError::Missing)?;
            let message = [ts.as_bytes(), body].concat();
            match algorithm {
                KeyAlgorithm::Ed25519 => verify_ed25519(secrets, sig, &message),
                KeyAlgorithm::EcdsaP256 => verify_p256(secrets, sig, &message),
            }?;
            // Checked after the signature, like every other timestamp.
            match tolerance {
                Some(t) => {
                    let ts: i64 = ts.trim().parse().map_err(|_| VerifyError::Missing)?;
                    let stale = now.saturating_sub(ts) > t.secs || (t.future && ts.saturating_sub(now) > t.secs);
                    if stale { Err(VerifyError::Stale) } else { Ok(()) }
                }
                None => Ok(()),
            }
        }
        Scheme::MailgunBody => {
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
            if now.abs_diff(ts) > 300 { Err(VerifyError::Stale) } else { Ok(()) }
        }
        Scheme::Twilio => verify_twilio(secrets, headers, body, target),
        Scheme::Hmac(h) => {
            verify_hmac(&h, secrets, headers, body, now, target)?;
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
    if now.saturating_mul(1000).abs_diff(ts) > 60_000 { Err(VerifyError::Stale) } else { Ok(()) }
}

fn verify_hmac(
    h: &HmacScheme,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    target: Target<'_>,
) -> Result<(), VerifyError> {
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
    // URL-bound schemes try each candidate URL; the others sign no URL (one empty stand-in).
    let no_url = [String::new()];
    let urls = if h.signed.iter().any(|p| matches!(p, Part::Url)) {
        if target.urls.is_empty() {
            return Err(VerifyError::Missing);
        }
        target.urls
    } else {
        &no_url
    };
    let mut matched = false;
    for secret in secrets {
        let Some(key) = key_bytes(h.key, secret) else { continue };
        for url in urls {
            let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
            for part in h.signed {
                match part {
                    Part::Body => mac.update(body),
                    Part::Timestamp => mac.update(timestamp.as_deref().unwrap_or_default().as_bytes()),
                    Part::Id => mac.update(id.unwrap_or_default().as_bytes()),
                    Part::Lit(s) => mac.update(s.as_bytes()),
                    Part::Url => mac.update(url.as_bytes()),
                    Part::Method => mac.update(target.method.as_bytes()),
                }
            }
            let expected = mac.finalize().into_bytes();
            // Every candidate is compared (no early exit on the first mismatch).
            for d in &decoded {
                matched |= ct_eq(&expected, d);
            }
        }
    }
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    if let (Some(tol), Some(ts)) = (h.tolerance, timestamp) {
        let ts: i64 = match h.ts_format {
            TsFormat::Unix => ts.trim().parse().map_err(|_| VerifyError::Missing)?,
            TsFormat::UnixMillis => ts.trim().parse::<i64>().map_err(|_| VerifyError::Missing)? / 1000,
            TsFormat::Rfc3339 => {
                chrono::DateTime::parse_from_rfc3339(ts.trim()).map_err(|_| VerifyError::Missing)?.timestamp()
            }
        };
        // Saturating: a signed timestamp however far from the clock is stale, never an overflow.
        if now.saturating_sub(ts) > tol.secs || (tol.future && ts.saturating_sub(now) > tol.secs) {
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

/// The provider's own id of a delivery, used to recognise its retries: a header or a
/// field of the body. GENERIC senders, Okta, Graph and GENERIC_HMAC may add an
/// `Idempotency-Key` header. Providers that sign each delivery but give it no id (Meta,
/// Descope, PagerDuty, Zoom, Discord, HubSpot, SendGrid, Linear without `Linear-Delivery`)
/// are keyed by a digest of what they sign (their timestamp and the body): a retry or a
/// replay carries the same, however its signature is spelled, and a header the sender does
/// not sign (`Idempotency-Key`) cannot make a replay look new.
pub fn delivery_id(provider: Provider, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    let from_body = |field: &str| -> Option<String> {
        let v: serde_json::Value = serde_json::from_slice(body).ok()?;
        v.get(field)?.as_str().map(str::to_owned)
    };
    let own = |names: &[&str]| header(headers, names).map(str::to_owned);
    // Only for requests that verified: the digest of the signed timestamp and body.
    let signed = |timestamp: &[&str]| {
        let mut h = Sha256::new();
        h.update(header(headers, timestamp).map(str::trim).unwrap_or_default());
        h.update([0u8]);
        h.update(body);
        Some(format!("signed-{}", hex::encode(h.finalize())))
    };
    let id = match provider {
        Provider::Generic => own(&["idempotency-key"]),
        Provider::Github => own(&["x-github-delivery"]),
        Provider::StandardWebhooks => own(&["webhook-id"]),
        Provider::Svix => own(&["svix-id", "webhook-id"]),
        Provider::Shopify => own(&["x-shopify-webhook-id"]),
        Provider::Stripe => from_body("id"),
        Provider::Slack => from_body("event_id"),
        // The body's `webhookId` names the subscription, not the delivery.
        Provider::Linear => own(&["linear-delivery"]).or_else(|| signed(&[])),
        Provider::Gitlab => own(&["x-gitlab-event-uuid", "idempotency-key"]),
        Provider::Twitch => own(&["twitch-eventsub-message-id"]),
        Provider::Square => from_body("event_id"),
        Provider::Twilio => own(&["i-twilio-idempotency-token"]),
        Provider::Mailgun => serde_json::from_slice::<serde_json::Value>(body)
            .ok()
            .and_then(|v| v.pointer("/signature/token")?.as_str().map(str::to_owned)),
        Provider::Meta | Provider::Descope | Provider::Pagerduty => signed(&[]),
        Provider::Zoom => signed(&["x-zm-request-timestamp"]),
        Provider::Discord => signed(&["x-signature-timestamp"]),
        Provider::Hubspot => signed(&["x-hubspot-request-timestamp"]),
        Provider::Sendgrid => signed(&["x-twilio-email-event-webhook-timestamp"]),
        // Their credential is the same on every request: only an explicit key identifies one.
        Provider::Okta | Provider::Msgraph | Provider::GenericHmac => own(&["idempotency-key"]),
    };
    id.filter(|i| !i.is_empty() && i.len() <= 256)
}

#[cfg(test)]
mod tests;
