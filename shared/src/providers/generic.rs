//! GENERIC_HMAC: a scheme configured per webhook, verified by the same MAC engine as the
//! catalog's schemes.

use http::HeaderMap;

use super::mac::{decode, mac, matches};
use super::{VerifyError, header};
use crate::domain::provider_spec::{Encoding, MacAlgorithm};
use crate::domain::{GenericHmac, HashAlgorithm, ProviderSecret, SignatureEncoding};

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
        let encoding = match self.encoding {
            SignatureEncoding::Hex => Encoding::Hex,
            SignatureEncoding::Base64 => Encoding::Base64,
        };
        let presented = decode(encoding, sig).ok_or(VerifyError::Mismatch)?;
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
        let alg = match self.algorithm {
            HashAlgorithm::Sha256 => MacAlgorithm::Sha256,
            HashAlgorithm::Sha512 => MacAlgorithm::Sha512,
        };
        if !matches(&mac(alg, self.secret.expose().as_bytes(), &pieces), &[presented]) {
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
