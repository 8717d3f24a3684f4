//! Signatures on outgoing requests, one function per scheme.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

use crate::domain::SigningScheme;
use crate::secret::SecretString;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// A new signing secret in the scheme's usual form (`whsec_` + base64 of 24 random bytes for
/// Standard Webhooks; 32 random bytes, base64, otherwise).
pub fn generate_secret(scheme: SigningScheme) -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    match scheme {
        SigningScheme::StandardWebhooks => SecretString::new(format!("whsec_{}", STANDARD.encode(&bytes[..24]))),
        _ => SecretString::new(STANDARD.encode(bytes)),
    }
}

/// The signature headers for one request.
pub fn sign(
    scheme: SigningScheme,
    secret: &SecretString,
    delivery_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<Vec<(&'static str, String)>, String> {
    Ok(match scheme {
        SigningScheme::StandardWebhooks => {
            // The key is the base64-decoded secret without its `whsec_` prefix.
            let raw = secret.expose();
            let key = STANDARD
                .decode(raw.strip_prefix("whsec_").unwrap_or(raw))
                .map_err(|_| "the Standard Webhooks secret is not base64".to_owned())?;
            let ts = timestamp.to_string();
            let sig = hmac(&key, &[delivery_id.as_bytes(), b".", ts.as_bytes(), b".", body]);
            vec![("webhook-timestamp", ts), ("webhook-signature", format!("v1,{}", STANDARD.encode(sig)))]
        }
        SigningScheme::Descope => {
            vec![("x-descope-webhook-s256", STANDARD.encode(hmac(secret.expose().as_bytes(), &[body])))]
        }
        SigningScheme::HubSignature256 => {
            vec![("x-hub-signature-256", format!("sha256={}", hex::encode(hmac(secret.expose().as_bytes(), &[body]))))]
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks reference vector (standard-webhooks spec, also in
    /// `../shared/reference/providers.md`).
    #[test]
    fn standard_webhooks_reference_vector() {
        let secret = SecretString::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let body = br#"{"test": 2432232314}"#;
        let headers =
            sign(SigningScheme::StandardWebhooks, &secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(headers[0], ("webhook-timestamp", "1614265330".to_owned()));
        assert_eq!(headers[1], ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".to_owned()));
    }

    #[test]
    fn hub_and_descope_shapes() {
        let secret = SecretString::new("It's a Secret to Everybody");
        let h = sign(SigningScheme::HubSignature256, &secret, "d", 0, b"Hello, World!").unwrap();
        // GitHub's documented example.
        assert_eq!(h[0].1, "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
        let d = sign(SigningScheme::Descope, &secret, "d", 0, b"Hello, World!").unwrap();
        assert_eq!(d[0].0, "x-descope-webhook-s256");
        assert_eq!(STANDARD.decode(&d[0].1).unwrap(), hex::decode(&h[0].1[7..]).unwrap());
    }

    #[test]
    fn generated_secrets() {
        let s = generate_secret(SigningScheme::StandardWebhooks);
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(STANDARD.decode(&s.expose()[6..]).unwrap().len(), 24);
        assert_ne!(generate_secret(SigningScheme::Descope), generate_secret(SigningScheme::Descope));
    }
}
