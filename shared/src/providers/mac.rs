//! The one MAC engine: every HMAC (and keyed-digest) scheme, catalog or GENERIC_HMAC,
//! computes and compares through [`mac`] and [`matches`]. A scheme is data: which parts
//! are signed, how the key comes from the secret, where the signatures and timestamp are.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use http::HeaderMap;
use sha2::Digest;

use super::{Target, VerifyError, header, headers_all};
use crate::domain::provider_spec::{Encoding, KeyForm, MacAlgorithm, MacKind, MacScheme, Part, SigFormat, TsFormat};
use crate::secret::{SecretString, ct_eq};

fn hmac_of<M: Mac + hmac::digest::KeyInit>(key: &[u8], pieces: &[&[u8]]) -> Vec<u8> {
    let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    pieces.iter().for_each(|p| m.update(p));
    m.finalize().into_bytes().to_vec()
}

fn digest_of<D: Digest>(pieces: &[&[u8]], suffix: &[u8]) -> Vec<u8> {
    let mut d = D::new();
    pieces.iter().for_each(|p| d.update(p));
    d.update(suffix);
    d.finalize().to_vec()
}

/// HMAC of the pieces, in order, under `key`.
pub fn mac(alg: MacAlgorithm, key: &[u8], pieces: &[&[u8]]) -> Vec<u8> {
    match alg {
        MacAlgorithm::Md5 => hmac_of::<Hmac<md5::Md5>>(key, pieces),
        MacAlgorithm::Sha1 => hmac_of::<Hmac<sha1::Sha1>>(key, pieces),
        MacAlgorithm::Sha256 => hmac_of::<Hmac<sha2::Sha256>>(key, pieces),
        MacAlgorithm::Sha512 => hmac_of::<Hmac<sha2::Sha512>>(key, pieces),
    }
}

/// Whether `expected` equals any presented signature (all compared, in constant time each).
pub fn matches(expected: &[u8], presented: &[Vec<u8>]) -> bool {
    presented.iter().fold(false, |hit, p| hit | ct_eq(expected, p))
}

/// A signature as sent, decoded (`None`: not in the scheme's encoding).
pub fn decode(encoding: Encoding, s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    match encoding {
        Encoding::Hex => hex::decode(s).ok(),
        // Some senders percent-encode the signature (Fitbit documents it).
        Encoding::Base64 => STANDARD.decode(s).ok().or_else(|| {
            let decoded = percent_decode(s)?;
            STANDARD.decode(decoded).ok()
        }),
        Encoding::Base64Url => URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).ok(),
    }
}

fn percent_decode(s: &str) -> Option<String> {
    s.contains('%').then(|| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned()))?
}

/// The key bytes a scheme takes from a secret (`None`: the secret is not in that form).
pub fn key_bytes(form: KeyForm, secret: &SecretString) -> Option<Vec<u8>> {
    let raw = secret.expose();
    match form {
        KeyForm::Utf8 => Some(raw.as_bytes().to_vec()),
        KeyForm::WhsecBase64 => STANDARD.decode(raw.strip_prefix("whsec_").unwrap_or(raw)).ok(),
        KeyForm::Base64 => STANDARD.decode(raw.trim()).ok(),
        KeyForm::Hex => hex::decode(raw.trim()).ok(),
        KeyForm::Utf8Suffix(suffix) => Some([raw.as_bytes(), suffix.as_bytes()].concat()),
    }
}

/// A form body's parameters, names sorted, each as name + value (Mandrill; Twilio also
/// drops repeated pairs).
pub fn sorted_form(body: &[u8], dedup: bool) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    pairs.sort();
    if dedup {
        pairs.dedup();
    }
    pairs.into_iter().fold(String::new(), |mut s, (k, v)| {
        s.push_str(&k);
        s.push_str(&v);
        s
    })
}

/// Parses a timestamp as the scheme writes it, in seconds.
pub fn seconds(ts: &str, format: TsFormat) -> Result<i64, VerifyError> {
    let ts = ts.trim();
    match format {
        TsFormat::Unix => ts.parse().map_err(|_| VerifyError::Missing),
        TsFormat::UnixMillis => ts.parse::<i64>().map(|ms| ms.div_euclid(1000)).map_err(|_| VerifyError::Missing),
        TsFormat::Rfc3339 => {
            chrono::DateTime::parse_from_rfc3339(ts).map(|t| t.timestamp()).map_err(|_| VerifyError::Missing)
        }
    }
}

/// Whether a signed time is within the window (saturating: however far, never an overflow).
pub fn fresh(now: i64, ts: i64, tol: crate::domain::provider_spec::Tolerance) -> bool {
    !(now.saturating_sub(ts) > tol.secs || (tol.future && ts.saturating_sub(now) > tol.secs))
}

/// The timestamp and the signatures a request presents under a scheme.
fn presented<'h>(h: &MacScheme, headers: &'h HeaderMap) -> Result<(Option<&'h str>, Vec<&'h str>), VerifyError> {
    let raws = headers_all(headers, h.signature);
    if raws.is_empty() {
        return Err(VerifyError::Missing);
    }
    let own_ts = || header(headers, h.timestamp);
    let mut ts = None;
    let mut sigs = Vec::new();
    for raw in raws {
        let raw = raw.trim();
        match h.format {
            SigFormat::Single(prefix) => {
                // A scheme word is compared without regard to case (`HMAC `, `sha256=`).
                if raw.len() >= prefix.len() && raw[..prefix.len()].eq_ignore_ascii_case(prefix) {
                    sigs.push(&raw[prefix.len()..]);
                }
                ts = own_ts();
            }
            SigFormat::List { sep, prefix } => {
                sigs.extend(raw.split(sep).map(str::trim).filter_map(|s| s.strip_prefix(prefix)));
                ts = own_ts();
            }
            SigFormat::Pairs { seps, ts: ts_key, sig } => {
                for item in raw.split(|c| seps.contains(&c)).map(str::trim).filter(|i| !i.is_empty()) {
                    match item.split_once('=') {
                        Some((k, v)) if k == ts_key => ts = Some(v),
                        // Other schemes (Stripe's v0) are ignored: no downgrade.
                        Some((k, v)) if k == sig => sigs.push(v),
                        _ => {}
                    }
                }
            }
            SigFormat::TimestampThenList => {
                let mut items = raw.split(',').map(str::trim);
                ts = items.next();
                sigs.extend(items);
            }
        }
    }
    if sigs.is_empty() {
        return Err(VerifyError::Missing);
    }
    Ok((ts, sigs))
}

/// Verifies a request under a catalog MAC scheme with any of `secrets`.
pub fn verify(
    h: &MacScheme,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
    target: Target<'_>,
) -> Result<(), VerifyError> {
    let (timestamp, sigs) = presented(h, headers)?;
    let signs = |want: fn(&Part) -> bool| h.signed.iter().any(want);
    if signs(|p| matches!(p, Part::Timestamp)) && timestamp.is_none() {
        return Err(VerifyError::Missing);
    }
    let id = header(headers, h.id);
    if signs(|p| matches!(p, Part::Id)) && id.is_none() {
        return Err(VerifyError::Missing);
    }
    let decoded: Vec<Vec<u8>> = sigs.iter().filter_map(|s| decode(h.encoding, s)).collect();
    // URL-bound schemes try each candidate URL; the others sign no URL (one empty stand-in).
    let no_url = [String::new()];
    let urls = if signs(|p| matches!(p, Part::Url)) {
        if target.urls.is_empty() {
            return Err(VerifyError::Missing);
        }
        target.urls
    } else {
        &no_url
    };
    let form = if signs(|p| matches!(p, Part::SortedForm)) { sorted_form(body, false) } else { String::new() };
    let mut matched = false;
    for url in urls {
        let pieces: Vec<&[u8]> = h
            .signed
            .iter()
            .map(|part| match part {
                Part::Body => body,
                Part::Timestamp => timestamp.unwrap_or_default().as_bytes(),
                Part::Id => id.unwrap_or_default().as_bytes(),
                Part::Lit(s) => s.as_bytes(),
                Part::Url => url.as_bytes(),
                Part::Method => target.method.as_bytes(),
                Part::SortedForm => form.as_bytes(),
            })
            .collect();
        for secret in secrets {
            matched |= match h.mac {
                MacKind::Hmac(alg) => {
                    key_bytes(h.key, secret).is_some_and(|k| matches(&mac(alg, &k, &pieces), &decoded))
                }
                MacKind::HmacNamedIn(name) => {
                    let alg = match header(headers, &[name]).map(str::trim) {
                        Some("HMAC_SHA1_HEX") => Some(MacAlgorithm::Sha1),
                        Some("HMAC_SHA256_HEX") | None => Some(MacAlgorithm::Sha256),
                        Some("HMAC_SHA512_HEX") => Some(MacAlgorithm::Sha512),
                        Some(_) => None,
                    };
                    alg.zip(key_bytes(h.key, secret)).is_some_and(|(a, k)| matches(&mac(a, &k, &pieces), &decoded))
                }
                MacKind::DigestWithSecretSuffix => {
                    let suffix = secret.expose().as_bytes();
                    matches(&digest_of::<sha1::Sha1>(&pieces, suffix), &decoded)
                        | matches(&digest_of::<sha2::Sha256>(&pieces, suffix), &decoded)
                }
            };
        }
    }
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    // The time is checked after the signature, so an unsigned one is never trusted.
    if let (Some(tol), Some(ts)) = (h.tolerance, timestamp)
        && !fresh(now, seconds(ts, h.ts_format)?, tol)
    {
        return Err(VerifyError::Stale);
    }
    if let Some((pointer, window)) = h.body_timestamp {
        let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| VerifyError::Missing)?;
        let ms = v.pointer(pointer).and_then(serde_json::Value::as_i64).ok_or(VerifyError::Missing)?;
        if now.saturating_mul(1000).abs_diff(ms) > (window as u64) * 1000 {
            return Err(VerifyError::Stale);
        }
    }
    Ok(())
}
