//! The schemes that are not a MAC over headers and body: Twilio's URL-and-form signature,
//! Mailgun's signature in the body, Microsoft Graph's `clientState`, and JWTs that carry a
//! hash of the body (Netlify, Upstash QStash, Vonage).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use http::HeaderMap;
use sha2::{Digest, Sha256};

use super::mac::{mac, matches, sorted_form};
use super::{Target, VerifyError, header};
use crate::domain::provider_spec::{Encoding, JwtScheme, MacAlgorithm};
use crate::secret::{SecretString, ct_eq};

/// Twilio: `X-Twilio-Signature` = base64 HMAC-SHA1(auth token, url + params). Form bodies
/// append every parameter as name + value, names sorted and each name's values de-duplicated
/// and sorted; other bodies (JSON) are covered by the URL's `bodySHA256`, which must equal
/// the hex SHA-256 of the raw body. Each URL is tried with and without its default port,
/// as Twilio's SDKs do.
pub fn twilio(
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    target: Target<'_>,
) -> Result<(), VerifyError> {
    let presented = header(headers, &["x-twilio-signature"]).ok_or(VerifyError::Missing)?;
    let presented = STANDARD.decode(presented.trim()).map_err(|_| VerifyError::Mismatch)?;
    if target.urls.is_empty() {
        return Err(VerifyError::Missing);
    }
    let form = header(headers, &["content-type"])
        .is_some_and(|ct| ct.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    let params = if form { sorted_form(body, true) } else { String::new() };
    let body_hash = if form { None } else { Some(hex::encode(Sha256::digest(body))) };
    let presented = [presented];
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
            let expected = mac(MacAlgorithm::Sha1, secret.expose().as_bytes(), &[url.as_bytes(), params.as_bytes()]);
            matched |= matches(&expected, &presented);
        }
    }
    if matched { Ok(()) } else { Err(VerifyError::Mismatch) }
}

/// A URL as given, without its port, and with the scheme's default port when it has none.
pub(super) fn twilio_port_variants(url: &str) -> Vec<String> {
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

/// Mailgun: `signature.signature` = hex HMAC-SHA256(key, timestamp + token), in the body.
/// The body is not signed: only fresh signatures count (tokens are deduplicated).
pub fn mailgun(secrets: &[&SecretString], body: &[u8], now: i64) -> Result<(), VerifyError> {
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|_| VerifyError::Missing)?;
    let sig = v.get("signature").ok_or(VerifyError::Missing)?;
    let field = |k: &str| sig.get(k).and_then(serde_json::Value::as_str).ok_or(VerifyError::Missing);
    let (ts, token, presented) = (field("timestamp")?, field("token")?, field("signature")?);
    let presented = [hex::decode(presented).map_err(|_| VerifyError::Mismatch)?];
    let matched = secrets.iter().fold(false, |hit, s| {
        hit | matches(&mac(MacAlgorithm::Sha256, s.expose().as_bytes(), &[ts.as_bytes(), token.as_bytes()]), &presented)
    });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    let ts: i64 = ts.parse().map_err(|_| VerifyError::Missing)?;
    if now.abs_diff(ts) > 300 { Err(VerifyError::Stale) } else { Ok(()) }
}

/// Microsoft Graph: every notification's `clientState` equals the secret.
pub fn client_state(secrets: &[&SecretString], body: &[u8]) -> Result<(), VerifyError> {
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

/// A JWT signed HS256 with the secret, whose `body_claim` is the body's SHA-256. Only HS256
/// is accepted (the header's `alg` is checked, never followed), `exp` and `nbf` are honoured
/// when present, and `iss` when the scheme names one.
///
/// Written here rather than with a JWT crate: one pinned algorithm over the MAC engine
/// every other scheme uses leaves no algorithm choice to get wrong, and adds no dependency.
pub fn jwt(
    scheme: &JwtScheme,
    secrets: &[&SecretString],
    headers: &HeaderMap,
    body: &[u8],
    now: i64,
) -> Result<(), VerifyError> {
    let raw = header(headers, &[scheme.header]).ok_or(VerifyError::Missing)?.trim();
    let token = raw.strip_prefix(scheme.prefix).ok_or(VerifyError::Missing)?;
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(VerifyError::Missing);
    };
    let b64 = |p: &str| URL_SAFE_NO_PAD.decode(p.trim_end_matches('='));
    let head: serde_json::Value =
        serde_json::from_slice(&b64(h).map_err(|_| VerifyError::Missing)?).map_err(|_| VerifyError::Missing)?;
    if head.get("alg").and_then(serde_json::Value::as_str) != Some("HS256") {
        return Err(VerifyError::Mismatch);
    }
    let presented = [b64(s).map_err(|_| VerifyError::Mismatch)?];
    let signing_input = &token.as_bytes()[..h.len() + 1 + c.len()];
    let matched = secrets.iter().fold(false, |hit, k| {
        hit | matches(&mac(MacAlgorithm::Sha256, k.expose().as_bytes(), &[signing_input]), &presented)
    });
    if !matched {
        return Err(VerifyError::Mismatch);
    }
    let claims: serde_json::Value =
        serde_json::from_slice(&b64(c).map_err(|_| VerifyError::Missing)?).map_err(|_| VerifyError::Missing)?;
    let digest = Sha256::digest(body);
    let expected = match scheme.body_encoding {
        Encoding::Hex => hex::encode(digest),
        Encoding::Base64 => STANDARD.encode(digest),
        Encoding::Base64Url => URL_SAFE_NO_PAD.encode(digest),
    };
    let claimed = claims.get(scheme.body_claim).and_then(serde_json::Value::as_str).ok_or(VerifyError::Missing)?;
    let claimed = claimed.trim_end_matches('=');
    let same = match scheme.body_encoding {
        Encoding::Hex => ct_eq(claimed.to_ascii_lowercase().as_bytes(), expected.as_bytes()),
        _ => ct_eq(claimed.as_bytes(), expected.as_bytes()),
    };
    if !same {
        return Err(VerifyError::Mismatch);
    }
    if let Some(iss) = scheme.issuer
        && claims.get("iss").and_then(serde_json::Value::as_str) != Some(iss)
    {
        return Err(VerifyError::Mismatch);
    }
    let at = |k: &str| claims.get(k).and_then(serde_json::Value::as_i64);
    if at("exp").is_some_and(|exp| now > exp) || at("nbf").is_some_and(|nbf| now < nbf) {
        return Err(VerifyError::Stale);
    }
    Ok(())
}
