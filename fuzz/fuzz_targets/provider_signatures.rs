//! Provider verification (`shared/src/providers`): for every provider, arbitrary headers
//! (the scheme's own names and any), body, clock, secrets and candidate URLs go through
//! `verify_at`, `delivery_id`, `credential_header`; GENERIC_HMAC configurations are parsed
//! from JSON (`ProviderSecret`) or built, validated and verified with `verify_configured`.
//!
//! Half the work is unsigned garbage (the result is Ok or Err, never a panic). When the
//! input asks for it, the target signs the request itself, independently of the crate's
//! code, so the checks after the signature (timestamps, body fields) are reached: a
//! correctly signed request must then never be refused as a `Mismatch`.

#![no_main]

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{TimeZone, Utc};
use hmac::{Hmac, Mac};
use hookbridge::domain::Provider;
use hookbridge::domain::provider_spec::{
    Encoding, KeyAlgorithm, KeyForm, MacAlgorithm, MacKind, MacScheme, Part, Scheme, SigFormat, TsFormat,
};
use hookbridge::providers::{self, GenericHmac, HashAlgorithm, ProviderSecret, SignatureEncoding, Target, VerifyError};
use hookbridge::secret::SecretString;
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

/// Headers some provider reads, besides each scheme's own.
const KNOWN: &[&str] = &[
    "content-type",
    "idempotency-key",
    "x-github-delivery",
    "webhook-id",
    "svix-id",
    "x-shopify-webhook-id",
    "linear-delivery",
    "x-gitlab-event-uuid",
    "twitch-eventsub-message-id",
    "twitch-eventsub-message-type",
    "i-twilio-idempotency-token",
    "x-twilio-signature",
    "x-zm-request-timestamp",
    "x-signature-timestamp",
    "x-hubspot-request-timestamp",
    "x-twilio-email-event-webhook-timestamp",
    "authorization",
];

fn scheme_headers(p: Provider) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = match p.spec().scheme {
        Scheme::Mac(h) => h.signature.iter().chain(h.timestamp).chain(h.id).copied().collect(),
        Scheme::Token { header, .. } => vec![header],
        Scheme::PublicKey { signature, timestamp, .. } => vec![signature, timestamp],
        Scheme::Jwt(j) => vec![j.header],
        _ => Vec::new(),
    };
    names.extend_from_slice(KNOWN);
    names
}

#[derive(Arbitrary, Debug)]
enum Name {
    Scheme(u8),
    Any(String),
}

/// The clock: realistic, or anything an `i64` holds.
#[derive(Arbitrary, Debug)]
enum Now {
    Around(u32),
    Any(i64),
}

/// The timestamp a signer puts in the request.
#[derive(Arbitrary, Debug)]
enum Ts {
    /// Seconds from now.
    Near(i16),
    Any(i64),
    Text(String),
}

#[derive(Arbitrary, Debug)]
struct Signing {
    ts: Ts,
    id: String,
    /// The key material for schemes whose secret is not free text (base64 keys, key pairs).
    key_seed: [u8; 32],
    /// Linear's `webhookTimestamp` (epoch ms) in the body.
    body_ts: Option<i64>,
}

#[derive(Arbitrary, Debug)]
struct GenericInput {
    secret: String,
    header: Name,
    sha512: bool,
    base64: bool,
    prefix: String,
    template: String,
    timestamp_header: Option<Name>,
    id_header: Option<Name>,
    tolerance_seconds: Option<u64>,
}

#[derive(Arbitrary, Debug)]
struct Input {
    provider: u8,
    now: Now,
    secrets: Vec<String>,
    headers: Vec<(Name, Vec<u8>)>,
    body: Vec<u8>,
    method: String,
    urls: Vec<String>,
    sign: Option<Signing>,
    /// A GENERIC_HMAC configuration as the management API receives it.
    generic_json: String,
    generic: Option<GenericInput>,
}

/// The seeds' form, so real requests can seed the corpus: `key: value` lines, a blank line,
/// then the body. Keys: `provider` (its URL segment, first), `now`, `secret`, `header`
/// (`name: value`), `url`, `method`, `sign` (`<timestamp> <id>`: the target signs),
/// `generic` (a GENERIC_HMAC configuration as JSON). Anything else is read with `Arbitrary`.
fn from_text(data: &[u8]) -> Option<Input> {
    if !data.starts_with(b"provider: ") {
        return None;
    }
    let split = data.windows(2).position(|w| w == b"\n\n");
    let (head, body) = match split {
        Some(i) => (&data[..i], data[i + 2..].to_vec()),
        None => (data, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let mut input = Input {
        provider: 0,
        now: Now::Around(0),
        secrets: Vec::new(),
        headers: Vec::new(),
        body,
        method: "POST".into(),
        urls: Vec::new(),
        sign: None,
        generic_json: String::new(),
        generic: None,
    };
    for line in head.lines() {
        let (key, value) = line.split_once(": ")?;
        match key {
            "provider" => {
                let p = Provider::from_path_segment(value)?;
                input.provider = Provider::all().position(|q| q == p)? as u8;
            }
            "now" => input.now = Now::Any(value.parse().ok()?),
            "secret" => input.secrets.push(value.to_owned()),
            "header" => {
                let (name, v) = value.split_once(':')?;
                input.headers.push((Name::Any(name.to_owned()), v.trim().as_bytes().to_vec()));
            }
            "url" => input.urls.push(value.to_owned()),
            "method" => input.method = value.to_owned(),
            "sign" => {
                let (ts, id) = value.split_once(' ').unwrap_or((value, ""));
                let ts = ts.parse().map_or_else(|_| Ts::Text(ts.to_owned()), Ts::Any);
                input.sign = Some(Signing { ts, id: id.to_owned(), key_seed: [7; 32], body_ts: None });
            }
            "generic" => input.generic_json = value.to_owned(),
            _ => return None,
        }
    }
    Some(input)
}

fn name(n: &Name, known: &[&'static str]) -> Option<HeaderName> {
    match n {
        Name::Scheme(i) => Some(HeaderName::from_static(known[*i as usize % known.len()])),
        Name::Any(s) => HeaderName::from_bytes(s.as_bytes()).ok(),
    }
}

/// The first of `names` present, as text (what the crate reads).
fn first<'h>(headers: &'h HeaderMap, names: &[&str]) -> Option<&'h str> {
    names.iter().find_map(|n| headers.get(*n)).and_then(|v| v.to_str().ok())
}

fn hmac256(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    parts.iter().for_each(|p| m.update(p));
    m.finalize().into_bytes().to_vec()
}

fn ts_text(ts: &Ts, now: i64, format: TsFormat) -> String {
    let secs = match ts {
        Ts::Near(d) => now.saturating_add(i64::from(*d)),
        Ts::Any(n) => *n,
        Ts::Text(s) => return s.clone(),
    };
    match format {
        TsFormat::Unix => secs.to_string(),
        TsFormat::UnixMillis => secs.saturating_mul(1000).to_string(),
        TsFormat::Rfc3339 => match Utc.timestamp_opt(secs, 0).single() {
            Some(t) => t.to_rfc3339(),
            None => secs.to_string(),
        },
    }
}

fn set(headers: &mut HeaderMap, name: &str, value: &str) -> bool {
    match (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        (Ok(n), Ok(v)) => {
            headers.insert(n, v);
            true
        }
        _ => false,
    }
}

fn mac_of(alg: MacAlgorithm, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
        parts.iter().for_each(|p| m.update(p));
        m.finalize().into_bytes().to_vec()
    }
    match alg {
        MacAlgorithm::Md5 => run::<Hmac<md5::Md5>>(key, parts),
        MacAlgorithm::Sha1 => run::<Hmac<sha1::Sha1>>(key, parts),
        MacAlgorithm::Sha256 => hmac256(key, parts),
        MacAlgorithm::Sha512 => run::<Hmac<sha2::Sha512>>(key, parts),
    }
}

/// A correctly signed request for a catalog MAC scheme, written from the scheme's
/// description; `false` when it cannot be made (a key that does not decode, a timestamp
/// that is no header value).
fn sign_mac(
    h: &MacScheme,
    s: &Signing,
    secret: &str,
    now: i64,
    headers: &mut HeaderMap,
    body: &[u8],
    target: Target<'_>,
) -> bool {
    let key = match h.key {
        KeyForm::Utf8 => secret.as_bytes().to_vec(),
        KeyForm::WhsecBase64 => match STANDARD.decode(secret.strip_prefix("whsec_").unwrap_or(secret)) {
            Ok(k) => k,
            Err(_) => return false,
        },
        KeyForm::Base64 => match STANDARD.decode(secret.trim()) {
            Ok(k) => k,
            Err(_) => return false,
        },
        KeyForm::Hex => match hex::decode(secret.trim()) {
            Ok(k) => k,
            Err(_) => return false,
        },
        KeyForm::Utf8Suffix(x) => [secret.as_bytes(), x.as_bytes()].concat(),
    };
    // The timestamp travels in the signature header for these formats.
    let in_header = matches!(h.format, SigFormat::Pairs { .. } | SigFormat::TimestampThenList);
    let mut ts = ts_text(&s.ts, now, h.ts_format);
    if in_header && !ts.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
        ts = now.to_string();
    }
    let needs_ts = h.signed.iter().any(|p| matches!(p, Part::Timestamp));
    if needs_ts && !in_header && !set(headers, h.timestamp[0], &ts) {
        return false;
    }
    if h.signed.iter().any(|p| matches!(p, Part::Id)) && !set(headers, h.id[0], &s.id) {
        return false;
    }
    // What the verifier will read back.
    let ts_read = if in_header { Some(ts.clone()) } else { first(headers, h.timestamp).map(str::to_owned) };
    let id_read = first(headers, h.id).map(str::to_owned);
    let url = target.urls.first().cloned().unwrap_or_default();
    let form = {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        pairs.sort();
        pairs.into_iter().map(|(k, v)| k + &v).collect::<String>()
    };
    let mut parts: Vec<&[u8]> = Vec::new();
    for p in h.signed {
        parts.push(match p {
            Part::Body => body,
            Part::Timestamp => ts_read.as_deref().unwrap_or_default().as_bytes(),
            Part::Id => id_read.as_deref().unwrap_or_default().as_bytes(),
            Part::Lit(l) => l.as_bytes(),
            Part::Url => url.as_bytes(),
            Part::Method => target.method.as_bytes(),
            Part::SortedForm => form.as_bytes(),
        });
    }
    let mac = match h.mac {
        MacKind::Hmac(alg) => mac_of(alg, &key, &parts),
        MacKind::HmacNamedIn(name) => {
            if !set(headers, name, "HMAC_SHA256_HEX") {
                return false;
            }
            hmac256(&key, &parts)
        }
        MacKind::DigestWithSecretSuffix => {
            let mut d = Sha256::new();
            parts.iter().for_each(|p| d.update(p));
            d.update(secret.as_bytes());
            d.finalize().to_vec()
        }
    };
    let sig = match h.encoding {
        Encoding::Hex => hex::encode(mac),
        Encoding::Base64 => STANDARD.encode(mac),
        Encoding::Base64Url => base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac),
    };
    let value = match h.format {
        SigFormat::Single(prefix) => format!("{prefix}{sig}"),
        SigFormat::List { sep, prefix } => format!("{prefix}AAAA{sep}{prefix}{sig}"),
        SigFormat::Pairs { seps, ts: tk, sig: sk } => {
            let sep = seps[0];
            format!("{tk}={ts}{sep}{sk}=00{sep}{sk}={sig}")
        }
        SigFormat::TimestampThenList => format!("{ts},00,{sig}"),
    };
    set(headers, h.signature[0], &value)
}

/// Twilio: the URL (carrying `bodySHA256` for bodies that are not forms) and the sorted
/// form parameters, HMAC-SHA1, base64.
fn sign_twilio(secret: &str, headers: &mut HeaderMap, body: &[u8], url: &str) -> Option<String> {
    let form = first(headers, &["content-type"])
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let (url, params) = if form {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
        pairs.sort();
        pairs.dedup();
        (url.to_owned(), pairs.into_iter().map(|(k, v)| k + &v).collect::<String>())
    } else {
        let hash = hex::encode(Sha256::digest(body));
        let sep = if url.contains('?') { '&' } else { '?' };
        let url = format!("{url}{sep}bodySHA256={hash}");
        // Only when the verifier will find this hash (not an earlier `bodySHA256`).
        let query = url.split_once('?').map(|(_, q)| q).unwrap_or_default();
        let declared = form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == "bodySHA256").map(|(_, v)| v);
        if declared.as_deref() != Some(hash.as_str()) {
            return None;
        }
        (url, String::new())
    };
    let mut m = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).unwrap();
    m.update(url.as_bytes());
    m.update(params.as_bytes());
    set(headers, "x-twilio-signature", &STANDARD.encode(m.finalize().into_bytes())).then_some(url)
}

/// GENERIC_HMAC's signed string: `{body}`, `{timestamp}`, `{id}` replaced in one pass.
fn generic_signed(template: &str, body: &[u8], ts: Option<&str>, id: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < template.len() {
        let rest = &template[i..];
        if rest.starts_with("{body}") {
            out.extend_from_slice(body);
            i += 6;
        } else if rest.starts_with("{timestamp}") {
            out.extend_from_slice(ts.unwrap_or_default().as_bytes());
            i += 11;
        } else if rest.starts_with("{id}") {
            out.extend_from_slice(id.unwrap_or_default().as_bytes());
            i += 4;
        } else {
            let c = rest.chars().next().unwrap();
            let mut buf = [0; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            i += c.len_utf8();
        }
    }
    out
}

fn check_generic(g: &GenericHmac, headers: &HeaderMap, body: &[u8], now: i64) {
    let _ = g.validate();
    let _ = g.verify(headers, body, now);
    let secret = ProviderSecret::GenericHmac(g.clone());
    assert_eq!(secret.signing_key(), Some(&g.secret));
    let _ = providers::verify_configured(&[&secret, &secret], headers, body, now);
    // A configuration survives its storage (the webhook's secret is JSON).
    let json = serde_json::to_string(&secret).unwrap();
    assert_eq!(serde_json::from_str::<ProviderSecret>(&json).unwrap(), secret, "{json}");
}

/// Signs with a GENERIC_HMAC configuration and expects no `Mismatch`.
fn sign_generic(g: &GenericHmac, s: &Signing, now: i64, mut headers: HeaderMap, body: &[u8]) {
    let (Ok(sig_name), true) = (HeaderName::from_bytes(g.header.as_bytes()), !g.secret.expose().is_empty()) else {
        return;
    };
    let ts = ts_text(&s.ts, now, TsFormat::Unix);
    for (h, v) in [(&g.timestamp_header, ts.as_str()), (&g.id_header, s.id.as_str())] {
        if let Some(h) = h {
            if HeaderName::from_bytes(h.as_bytes()).ok().as_ref() == Some(&sig_name) {
                return; // the signature would overwrite it
            }
            if !set(&mut headers, h, v) {
                return;
            }
        }
    }
    let ts_read = g.timestamp_header.as_deref().and_then(|h| first(&headers, &[h]));
    let id_read = g.id_header.as_deref().and_then(|h| first(&headers, &[h]));
    let signed = generic_signed(&g.template, body, ts_read, id_read);
    let key = g.secret.expose().as_bytes();
    let mac = match g.algorithm {
        HashAlgorithm::Sha256 => hmac256(key, &[&signed]),
        HashAlgorithm::Sha512 => {
            let mut m = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            m.update(&signed);
            m.finalize().into_bytes().to_vec()
        }
    };
    let sig = match g.encoding {
        SignatureEncoding::Hex => hex::encode(mac),
        SignatureEncoding::Base64 => STANDARD.encode(mac),
    };
    if !set(&mut headers, sig_name.as_str(), &format!("{}{sig}", g.prefix)) {
        return;
    }
    let r = g.verify(&headers, body, now);
    assert_ne!(r, Err(VerifyError::Mismatch), "a correctly signed GENERIC_HMAC request was refused: {g:?}");
    assert_ne!(r, Err(VerifyError::NoSecret));
    let secret = ProviderSecret::GenericHmac(g.clone());
    assert_eq!(providers::verify_configured(&[&secret], &headers, body, now), r);
}

fuzz_target!(|data: &[u8]| {
    let input = match from_text(data) {
        Some(input) => input,
        None => match Input::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(input) => input,
            Err(_) => return,
        },
    };
    let count = Provider::all().count();
    let provider = Provider::all().nth(input.provider as usize % count).unwrap();
    let now = match input.now {
        Now::Around(n) => 1_700_000_000 + i64::from(n),
        Now::Any(n) => n,
    };
    let known = scheme_headers(provider);
    let mut headers = HeaderMap::new();
    for (n, v) in &input.headers {
        if let (Some(n), Ok(v)) = (name(n, &known), HeaderValue::from_bytes(v)) {
            headers.append(n, v);
        }
    }
    let mut body = input.body.clone();
    let mut urls: Vec<String> = input.urls.clone();
    let mut owned: Vec<SecretString> = input.secrets.iter().take(3).map(|s| SecretString::new(s.as_str())).collect();

    // Properties of the catalog.
    let credential = providers::credential_header(provider);
    if let Some(c) = credential {
        assert!(matches!(provider.spec().scheme, Scheme::Token { header, .. } if header == c) || c == "authorization");
        assert_eq!(HeaderName::from_static(c).as_str(), c);
    }
    for s in &owned {
        let _ = providers::check_secret(provider, Some(&ProviderSecret::Plain(s.clone())));
        let _ = providers::zoom_encrypted_token(s, &input.method);
    }

    // Unsigned: anything goes.
    {
        let secrets: Vec<&SecretString> = owned.iter().collect();
        let target = Target { method: &input.method, urls: &urls };
        let r = providers::verify_at(provider, &secrets, &headers, &body, now, target);
        // The providers that sign nothing (GENERIC, Strava, Event Grid) pass on the API key.
        if matches!(provider.spec().scheme, Scheme::None) {
            assert_eq!(r, Ok(()));
        } else if secrets.is_empty() {
            assert_ne!(r, Ok(()), "{provider:?} verified without a secret");
        }
        if !providers::signs_url(provider) {
            assert_eq!(providers::verify(provider, &secrets, &headers, &body, now), r);
        }
    }

    // Signed by the target itself.
    let mut expect_verified = false;
    if let Some(s) = &input.sign {
        let secret = owned.first().map(|s| s.expose().to_owned()).unwrap_or_default();
        match provider.spec().scheme {
            Scheme::Mac(h) => {
                let secret = match h.key {
                    KeyForm::WhsecBase64 => format!("whsec_{}", STANDARD.encode(s.key_seed)),
                    KeyForm::Base64 => STANDARD.encode(s.key_seed),
                    KeyForm::Hex => hex::encode(s.key_seed),
                    KeyForm::Utf8 | KeyForm::Utf8Suffix(_) => secret,
                };
                owned.insert(0, SecretString::new(secret.clone()));
                // Linear's freshness is in the body.
                if provider == Provider::named("LINEAR")
                    && let Some(ms) = s.body_ts
                {
                    body = format!("{{\"webhookTimestamp\":{ms},\"type\":\"Issue\"}}").into_bytes();
                }
                let target = Target { method: &input.method, urls: &urls };
                expect_verified = sign_mac(&h, s, &secret, now, &mut headers, &body, target);
            }
            Scheme::Token { header, prefix } => {
                expect_verified = !owned.is_empty()
                    && secret.bytes().all(|b| (0x21..0x7f).contains(&b))
                    && set(&mut headers, header, &format!("{prefix}{secret}"));
            }
            Scheme::Basic => {
                expect_verified = !owned.is_empty()
                    && set(&mut headers, "authorization", &format!("Basic {}", STANDARD.encode(&secret)));
            }
            Scheme::Jwt(j) => {
                use base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let digest = Sha256::digest(&body);
                let hash = match j.body_encoding {
                    Encoding::Hex => hex::encode(digest),
                    Encoding::Base64 => STANDARD.encode(digest),
                    Encoding::Base64Url => URL_SAFE_NO_PAD.encode(digest),
                };
                let mut claims = serde_json::json!({ j.body_claim: hash, "iat": now });
                if let Some(iss) = j.issuer {
                    claims["iss"] = iss.into();
                }
                let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
                let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
                let sig = URL_SAFE_NO_PAD.encode(hmac256(secret.as_bytes(), &[format!("{head}.{claims}").as_bytes()]));
                expect_verified =
                    !owned.is_empty() && set(&mut headers, j.header, &format!("{}{head}.{claims}.{sig}", j.prefix));
            }
            Scheme::ClientState => {
                body = serde_json::to_vec(
                    &serde_json::json!({"value": [{"clientState": secret}, {"clientState": secret}]}),
                )
                .unwrap();
                expect_verified = !owned.is_empty();
            }
            Scheme::MailgunBody => {
                let ts = ts_text(&s.ts, now, TsFormat::Unix);
                let sig = hex::encode(hmac256(secret.as_bytes(), &[ts.as_bytes(), s.id.as_bytes()]));
                body = serde_json::to_vec(&serde_json::json!({
                    "signature": {"timestamp": ts, "token": &s.id, "signature": sig},
                    "event-data": {"event": "delivered"}
                }))
                .unwrap();
                expect_verified = !owned.is_empty();
            }
            Scheme::PublicKey { algorithm, signature, timestamp, separator, .. } => {
                let ts = ts_text(&s.ts, now, TsFormat::Unix);
                let message = [ts.as_bytes(), separator.as_bytes(), &body].concat();
                let signed = match algorithm {
                    KeyAlgorithm::Ed25519Hex => {
                        use ed25519_dalek::Signer;
                        let key = ed25519_dalek::SigningKey::from_bytes(&s.key_seed);
                        let sig = key.sign(&message);
                        Some((hex::encode(key.verifying_key().to_bytes()), hex::encode(sig.to_bytes())))
                    }
                    KeyAlgorithm::Ed25519Base64 => {
                        use ed25519_dalek::Signer;
                        let key = ed25519_dalek::SigningKey::from_bytes(&s.key_seed);
                        let sig = key.sign(&message);
                        Some((STANDARD.encode(key.verifying_key().to_bytes()), STANDARD.encode(sig.to_bytes())))
                    }
                    KeyAlgorithm::EcdsaP256 => {
                        use p256::ecdsa::signature::Signer;
                        p256::ecdsa::SigningKey::from_slice(&s.key_seed).ok().map(|key| {
                            let sig: p256::ecdsa::Signature = key.sign(&message);
                            // SubjectPublicKeyInfo of a P-256 key: the fixed header, then the point.
                            let mut der = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
                            der.extend_from_slice(key.verifying_key().to_encoded_point(false).as_bytes());
                            (STANDARD.encode(der), STANDARD.encode(sig.to_der().as_bytes()))
                        })
                    }
                };
                if let Some((public, sig)) = signed {
                    owned.insert(0, SecretString::new(public));
                    expect_verified = set(&mut headers, timestamp, &ts) && set(&mut headers, signature, &sig);
                }
            }
            Scheme::Twilio => {
                let base = urls.first().cloned().unwrap_or_else(|| "https://hooks.example.com/webhooks/twilio".into());
                if let Some(url) = sign_twilio(&secret, &mut headers, &body, &base) {
                    urls.insert(0, url);
                    expect_verified = !owned.is_empty();
                }
            }
            Scheme::None | Scheme::Configured => {}
        }
        let secrets: Vec<&SecretString> = owned.iter().collect();
        let target = Target { method: &input.method, urls: &urls };
        let r = providers::verify_at(provider, &secrets, &headers, &body, now, target);
        if expect_verified {
            assert_ne!(r, Err(VerifyError::Mismatch), "a correctly signed {provider:?} request was refused");
            assert_ne!(r, Err(VerifyError::NoSecret));
        }
    }

    // Replay keys.
    if let Some(id) = providers::delivery_id(provider, &headers, &body) {
        assert!(!id.is_empty() && id.len() <= 256);
    }

    // GENERIC_HMAC: the configuration as JSON, as management parses it...
    if let Ok(secret) = serde_json::from_str::<ProviderSecret>(&input.generic_json) {
        let _ = secret.signing_key();
        if let ProviderSecret::GenericHmac(g) = &secret {
            check_generic(g, &headers, &body, now);
            if let Some(s) = &input.sign {
                sign_generic(g, s, now, headers.clone(), &body);
            }
        }
        let _ = providers::verify_configured(&[&secret], &headers, &body, now);
    }
    // ...and built field by field, to reach more of them.
    if let Some(gi) = &input.generic {
        let header_name = |n: &Name| match n {
            Name::Scheme(i) => known[*i as usize % known.len()].to_owned(),
            Name::Any(s) => s.clone(),
        };
        let g = GenericHmac {
            secret: SecretString::new(gi.secret.as_str()),
            header: header_name(&gi.header),
            algorithm: if gi.sha512 { HashAlgorithm::Sha512 } else { HashAlgorithm::Sha256 },
            encoding: if gi.base64 { SignatureEncoding::Base64 } else { SignatureEncoding::Hex },
            prefix: gi.prefix.clone(),
            template: gi.template.clone(),
            timestamp_header: gi.timestamp_header.as_ref().map(header_name),
            id_header: gi.id_header.as_ref().map(header_name),
            tolerance_seconds: gi.tolerance_seconds,
        };
        check_generic(&g, &headers, &body, now);
        if let Some(s) = &input.sign {
            sign_generic(&g, s, now, headers.clone(), &body);
        }
    }
});
