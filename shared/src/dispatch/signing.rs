//! Signatures on outgoing requests: Standard Webhooks (`v1` HMAC, `v1a` Ed25519), Descope,
//! `X-Hub-Signature-256`, and RFC 9421 HTTP Message Signatures (HMAC-SHA256 or Ed25519) with
//! an RFC 9530 `Content-Digest`. During a rotation's overlap every scheme that can carry
//! several signatures carries one per key, so receivers switch keys at their own pace.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::{SigningAlgorithm, SigningConfig, SigningScheme};
use crate::secret::SecretString;

/// How long an RFC 9421 signature is valid (`expires` = `created` + this).
pub const SIGNATURE_LIFETIME_SECS: i64 = 300;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A new signing secret in the scheme's form: `whsec_` + base64 of 24 random bytes for
/// Standard Webhooks and RFC 9421 HMAC; `whsk_` + base64 of a 32-byte Ed25519 seed for
/// Ed25519; 32 random bytes, base64, otherwise.
pub fn generate_secret(scheme: SigningScheme, algorithm: SigningAlgorithm) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    match (scheme, algorithm) {
        (_, SigningAlgorithm::Ed25519) => SecretString::new(format!("whsk_{}", STANDARD.encode(bytes))),
        (SigningScheme::StandardWebhooks | SigningScheme::HttpMessageSignatures, _) => {
            SecretString::new(format!("whsec_{}", STANDARD.encode(&bytes[..24])))
        }
        _ => SecretString::new(STANDARD.encode(bytes)),
    }
}

/// The HMAC key of a `whsec_` secret: its base64, decoded.
fn whsec_key(secret: &SecretString) -> Result<Vec<u8>, String> {
    let raw = secret.expose();
    STANDARD.decode(raw.strip_prefix("whsec_").unwrap_or(raw)).map_err(|_| "the signing secret is not base64".into())
}

fn ed25519_key(secret: &SecretString) -> Result<ed25519_dalek::SigningKey, String> {
    let raw = secret.expose();
    let seed: [u8; 32] = STANDARD
        .decode(raw.strip_prefix("whsk_").unwrap_or(raw))
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or("an Ed25519 signing key is base64 of 32 bytes, optionally after `whsk_`")?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// Whether a secret suits the scheme and algorithm (checked when it is saved).
pub fn check_secret(scheme: SigningScheme, algorithm: SigningAlgorithm, secret: &SecretString) -> Result<(), String> {
    match (scheme, algorithm) {
        (_, SigningAlgorithm::Ed25519) => ed25519_key(secret).map(drop),
        (SigningScheme::StandardWebhooks | SigningScheme::HttpMessageSignatures, _) => {
            whsec_key(secret).map(drop).map_err(|_| "a secret in base64, optionally after `whsec_`".into())
        }
        _ => Ok(()),
    }
}

/// What receivers verify with, when it is not the secret itself: an Ed25519 key's public
/// half, `whpk_` + base64 (the private key is never shown).
pub fn public_key(algorithm: SigningAlgorithm, secret: &SecretString) -> Option<String> {
    match algorithm {
        SigningAlgorithm::Ed25519 => {
            ed25519_key(secret).ok().map(|k| format!("whpk_{}", STANDARD.encode(k.verifying_key().as_bytes())))
        }
        SigningAlgorithm::HmacSha256 => None,
    }
}

/// What is signed: the delivery id, the time, and the request as it will be sent.
pub struct Message<'a> {
    pub id: &'a str,
    pub timestamp: i64,
    pub method: &'a str,
    /// The full target URI, query included.
    pub url: &'a str,
    pub content_type: &'a str,
    pub body: &'a [u8],
}

/// RFC 9530 `Content-Digest` of a body.
pub fn content_digest(body: &[u8]) -> String {
    format!("sha-256=:{}:", STANDARD.encode(Sha256::digest(body)))
}

/// The signature headers for one request, one signature per key (current first); schemes
/// with a single signature use the current key only.
pub fn headers(
    cfg: &SigningConfig<'_>,
    keys: &[&SecretString],
    m: &Message<'_>,
) -> Result<Vec<(&'static str, String)>, String> {
    let current = keys.first().ok_or("the connector has no signing secret")?;
    let ts = m.timestamp.to_string();
    Ok(match cfg.scheme {
        SigningScheme::StandardWebhooks => {
            let mut sigs = Vec::with_capacity(keys.len());
            for key in keys {
                let signed = [m.id.as_bytes(), b".", ts.as_bytes(), b".", m.body].concat();
                sigs.push(match cfg.algorithm {
                    SigningAlgorithm::HmacSha256 => {
                        format!("v1,{}", STANDARD.encode(hmac(&whsec_key(key)?, &[&signed])))
                    }
                    SigningAlgorithm::Ed25519 => {
                        format!("v1a,{}", STANDARD.encode(ed25519_key(key)?.sign(&signed).to_bytes()))
                    }
                });
            }
            vec![("webhook-timestamp", ts), ("webhook-signature", sigs.join(" "))]
        }
        SigningScheme::Descope => {
            vec![("x-descope-webhook-s256", STANDARD.encode(hmac(current.expose().as_bytes(), &[m.body])))]
        }
        SigningScheme::HubSignature256 => {
            vec![(
                "x-hub-signature-256",
                format!("sha256={}", hex::encode(hmac(current.expose().as_bytes(), &[m.body]))),
            )]
        }
        SigningScheme::HttpMessageSignatures => message_signatures(cfg, keys, m)?,
    })
}

/// RFC 9421: `sig1` in `Signature-Input` and `Signature` (dictionaries), over the method,
/// the target URI, the content type and the RFC 9530 content digest, with the current key
/// only: receivers find keys by `keyid`, so a rotation is a new key under a new `keyId`
/// (both signatures under one `keyid` could not be told apart).
fn message_signatures(
    cfg: &SigningConfig<'_>,
    keys: &[&SecretString],
    m: &Message<'_>,
) -> Result<Vec<(&'static str, String)>, String> {
    let key_id = cfg.key_id.ok_or("an HTTP Message Signatures connector needs a keyId")?;
    let digest = content_digest(m.body);
    let alg = match cfg.algorithm {
        SigningAlgorithm::HmacSha256 => "hmac-sha256",
        SigningAlgorithm::Ed25519 => "ed25519",
    };
    let params = format!(
        "(\"@method\" \"@target-uri\" \"content-type\" \"content-digest\");created={};expires={};keyid=\"{key_id}\";alg=\"{alg}\"",
        m.timestamp,
        m.timestamp.saturating_add(SIGNATURE_LIFETIME_SECS),
    );
    let base = format!(
        "\"@method\": {}\n\"@target-uri\": {}\n\"content-type\": {}\n\"content-digest\": {digest}\n\"@signature-params\": {params}",
        m.method.to_ascii_uppercase(),
        m.url,
        m.content_type,
    );
    let key = keys.first().ok_or("the connector has no signing secret")?;
    let sig = match cfg.algorithm {
        SigningAlgorithm::HmacSha256 => hmac(&whsec_key(key)?, &[base.as_bytes()]),
        SigningAlgorithm::Ed25519 => ed25519_key(key)?.sign(base.as_bytes()).to_bytes().to_vec(),
    };
    Ok(vec![
        ("content-digest", digest),
        ("signature-input", format!("sig1={params}")),
        ("signature", format!("sig1=:{}:", STANDARD.encode(sig))),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(scheme: SigningScheme) -> SigningConfig<'static> {
        SigningConfig { scheme, algorithm: SigningAlgorithm::HmacSha256, key_id: None }
    }

    fn msg<'a>(id: &'a str, timestamp: i64, body: &'a [u8]) -> Message<'a> {
        Message {
            id,
            timestamp,
            method: "POST",
            url: "https://example.com/hook",
            content_type: "application/json",
            body,
        }
    }

    /// The Standard Webhooks reference vector (standard-webhooks spec, also in
    /// `../shared/reference/providers.md`).
    #[test]
    fn standard_webhooks_reference_vector() {
        let secret = SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let m = msg("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        let headers = headers(&cfg(SigningScheme::StandardWebhooks), &[&secret], &m).unwrap();
        assert_eq!(headers[0], ("webhook-timestamp", "1614265330".to_owned()));
        assert_eq!(headers[1], ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()));
    }

    #[test]
    fn hub_and_descope_shapes() {
        let secret = SecretString::new("It's a Secret to Everybody");
        let m = msg("d", 0, b"Hello, World!");
        let h = headers(&cfg(SigningScheme::HubSignature256), &[&secret], &m).unwrap();
        // GitHub's documented example.
        assert_eq!(h[0].1, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        let d = headers(&cfg(SigningScheme::Descope), &[&secret], &m).unwrap();
        assert_eq!(d[0].0, "x-descope-webhook-s256");
        assert_eq!(STANDARD.decode(&d[0].1).unwrap(), hex::decode(&h[0].1[7..]).unwrap());
    }

    /// RFC 9530's example: `{"hello": "world"}` digests to `X48E9q...`.
    #[test]
    fn content_digest_matches_rfc_9530() {
        assert_eq!(content_digest(b"{\"hello\": \"world\"}"), "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    }

    /// Ed25519 secrets: generated, checked, and shown only as their public half.
    #[test]
    fn generated_secrets() {
        let s = generate_secret(SigningScheme::StandardWebhooks, SigningAlgorithm::HmacSha256);
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s.expose()[6..]).unwrap().len(), 24);
        let d = generate_secret(SigningScheme::Descope, SigningAlgorithm::HmacSha256);
        assert_ne!(d, generate_secret(SigningScheme::Descope, SigningAlgorithm::HmacSha256));
        let k = generate_secret(SigningScheme::StandardWebhooks, SigningAlgorithm::Ed25519);
        assert!(check_secret(SigningScheme::StandardWebhooks, SigningAlgorithm::Ed25519, &k).is_ok());
        let public = public_key(SigningAlgorithm::Ed25519, &k).unwrap();
        assert!(public.starts_with("whpk_") && !public.contains(&k.expose()[5..]));
        assert!(
            check_secret(
                SigningScheme::HttpMessageSignatures,
                SigningAlgorithm::HmacSha256,
                &SecretString::new("not base64!")
            )
            .is_err()
        );
    }

    /// Two keys during an overlap: two `v1a` signatures; RFC 9421 signs with the current
    /// key (keys are found by `keyid`).
    #[test]
    fn an_overlap_signs_with_both_keys() {
        let (a, b) = (
            SecretString::new(format!("whsk_{}", STANDARD.encode([1u8; 32]))),
            SecretString::new(format!("whsk_{}", STANDARD.encode([2u8; 32]))),
        );
        let c = SigningConfig {
            scheme: SigningScheme::StandardWebhooks,
            algorithm: SigningAlgorithm::Ed25519,
            key_id: None,
        };
        let h = headers(&c, &[&a, &b], &msg("m", 1, b"{}")).unwrap();
        assert_eq!(h[1].1.split(' ').filter(|s| s.starts_with("v1a,")).count(), 2);
        let c = SigningConfig {
            scheme: SigningScheme::HttpMessageSignatures,
            algorithm: SigningAlgorithm::Ed25519,
            key_id: Some("k"),
        };
        let h = headers(&c, &[&a, &b], &msg("m", 1, b"{}")).unwrap();
        assert!(h[1].1.starts_with("sig1=(\"@method\"") && !h[1].1.contains("sig2"), "{}", h[1].1);
        assert!(h[1].1.contains(";created=1;expires=301;keyid=\"k\";alg=\"ed25519\""));
    }
}
