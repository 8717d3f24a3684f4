//! Public-key signatures: the secret is the provider's public key (Discord and Telnyx
//! Ed25519, SendGrid ECDSA P-256). Verified strictly, against every key in the overlap.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

use super::VerifyError;
use crate::domain::provider_spec::KeyAlgorithm;
use crate::secret::SecretString;

fn ed25519_key(secret: &SecretString, base64: bool) -> Option<ed25519_dalek::VerifyingKey> {
    let raw = secret.expose().trim();
    let bytes = if base64 { STANDARD.decode(raw).ok()? } else { hex::decode(raw).ok()? };
    let key: [u8; 32] = bytes.try_into().ok()?;
    ed25519_dalek::VerifyingKey::from_bytes(&key).ok()
}

fn p256_key(secret: &SecretString) -> Option<p256::ecdsa::VerifyingKey> {
    use p256::pkcs8::DecodePublicKey;
    let der = STANDARD.decode(secret.expose().trim()).ok()?;
    p256::ecdsa::VerifyingKey::from_public_key_der(&der).ok()
}

/// Whether a secret is a usable public key for the algorithm (checked when it is saved).
pub fn is_public_key(algorithm: KeyAlgorithm, secret: &SecretString) -> bool {
    match algorithm {
        KeyAlgorithm::Ed25519Hex => ed25519_key(secret, false).is_some(),
        KeyAlgorithm::Ed25519Base64 => ed25519_key(secret, true).is_some(),
        KeyAlgorithm::EcdsaP256 => p256_key(secret).is_some(),
    }
}

/// Verifies `signature` over `msg` with any of the keys (strict Ed25519: no malleable
/// signatures, no small-order keys).
pub fn verify(algorithm: KeyAlgorithm, keys: &[&SecretString], signature: &str, msg: &[u8]) -> Result<(), VerifyError> {
    let signature = signature.trim();
    let ok = match algorithm {
        KeyAlgorithm::Ed25519Hex | KeyAlgorithm::Ed25519Base64 => {
            let base64 = matches!(algorithm, KeyAlgorithm::Ed25519Base64);
            let bytes = if base64 { STANDARD.decode(signature).ok() } else { hex::decode(signature).ok() };
            let sig: [u8; 64] = bytes.and_then(|b| b.try_into().ok()).ok_or(VerifyError::Mismatch)?;
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            keys.iter().any(|k| ed25519_key(k, base64).is_some_and(|vk| vk.verify_strict(msg, &sig).is_ok()))
        }
        KeyAlgorithm::EcdsaP256 => {
            use p256::ecdsa::signature::Verifier;
            let der = STANDARD.decode(signature).map_err(|_| VerifyError::Mismatch)?;
            let sig = p256::ecdsa::Signature::from_der(&der).map_err(|_| VerifyError::Mismatch)?;
            keys.iter().any(|k| p256_key(k).is_some_and(|vk| vk.verify(msg, &sig).is_ok()))
        }
    };
    if ok { Ok(()) } else { Err(VerifyError::Mismatch) }
}
