//! The catalog as users and the console read it (`GET /v1/providers`).

use serde::Serialize;

use crate::domain::Provider;
use crate::domain::provider_spec::{
    DeliveryIdRule, Encoding, Handshake, KeyAlgorithm, MacAlgorithm, MacKind, Part, Scheme, SecretShape,
};

/// One provider: what to configure and what to expect.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ProviderInfo {
    /// The upper-case name (`STANDARD_WEBHOOKS`), as `provider` takes it.
    pub name: &'static str,
    /// The provider's segment in the ingress URL.
    pub url_segment: String,
    /// How requests are verified, in a few words.
    pub verification: String,
    /// The fields of `providerSecret` (none: the API key alone).
    pub secret_fields: Vec<SecretField>,
    /// Whether the secret may be left out at creation (the provider's handshake delivers it).
    pub secret_optional: bool,
    /// The provider's handshake, if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handshake: Option<&'static str>,
    /// Whether the signature covers the URL (then `HOOKBRIDGE_PUBLIC_URL` must be the URL
    /// the provider calls).
    pub url_bound: bool,
    /// Where a delivery's own id is read, to recognise retries.
    pub delivery_id: String,
    pub docs: &'static str,
}

/// One field of a provider secret.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretField {
    /// The JSON field (`providerSecret` itself when the secret is a string).
    pub name: &'static str,
    /// What goes in it.
    pub shape: &'static str,
}

pub(super) fn key_text(shape: SecretShape) -> &'static str {
    match shape {
        SecretShape::Ed25519Hex => "Ed25519 public key, 64 hex characters",
        SecretShape::Ed25519Base64 => "Ed25519 public key, base64",
        SecretShape::P256 => "P-256 public key, base64 DER",
        SecretShape::Base64 => "base64 (a whsec_ prefix is accepted)",
        SecretShape::Hex => "hex",
        SecretShape::UserPassword => "user:password",
        SecretShape::Text | SecretShape::Captured => "the provider's secret, as shown",
        SecretShape::MetaPair | SecretShape::Scheme | SecretShape::None => "",
    }
}

fn handshake_text(h: Handshake) -> Option<&'static str> {
    Some(match h {
        Handshake::None => return None,
        Handshake::SlackChallenge => "url_verification: the challenge echoed as JSON",
        Handshake::HubChallenge { .. } => "GET hub.challenge echoed when hub.verify_token matches",
        Handshake::ZoomValidation => "endpoint.url_validation: plainToken and its HMAC",
        Handshake::DiscordPing => "PING answered with PONG",
        Handshake::TwitchChallenge => "webhook_callback_verification: the challenge as text",
        Handshake::OktaChallenge => "GET X-Okta-Verification-Challenge echoed as {\"verification\"}",
        Handshake::GraphValidationToken => "?validationToken= echoed as text",
        Handshake::TwitterCrc => "GET crc_token answered with its HMAC (response_token)",
        Handshake::EchoChallengeQuery => "GET challenge echoed as text",
        Handshake::EventGridValidation => "SubscriptionValidation answered with validationResponse",
        Handshake::FitbitVerify => "GET verify: 204 for the verification code, 404 otherwise",
        Handshake::AsanaHookSecret => "X-Hook-Secret kept as the secret and echoed",
        Handshake::NotionVerificationToken => "verification_token kept as the secret",
        Handshake::HeadOk => "HEAD answered 200",
        Handshake::WooCommercePing => "unsigned webhook_id ping answered 200",
    })
}

fn signed_text(parts: &[Part]) -> String {
    parts
        .iter()
        .map(|p| match p {
            Part::Body => "{body}",
            Part::Timestamp => "{timestamp}",
            Part::Id => "{id}",
            Part::Lit(s) => s,
            Part::Url => "{url}",
            Part::Method => "{method}",
            Part::SortedForm => "{sorted form fields}",
        })
        .collect()
}

fn verification_text(scheme: Scheme) -> String {
    match scheme {
        Scheme::None => "the API key in the URL".into(),
        Scheme::Mac(m) => {
            let what = match m.mac {
                MacKind::Hmac(alg) => format!("HMAC-{}", alg_text(alg)),
                MacKind::HmacNamedIn(h) => format!("HMAC named in {h}"),
                MacKind::DigestWithSecretSuffix => "SHA-1/SHA-256 digest (secret appended)".into(),
            };
            let encoding = match m.encoding {
                Encoding::Hex => "hex",
                Encoding::Base64 => "base64",
                Encoding::Base64Url => "base64url",
            };
            format!("{what}, {encoding}, of `{}` in {}", signed_text(m.signed), m.signature.join(" / "))
        }
        Scheme::Token { header, .. } => format!("the secret in {header}"),
        Scheme::Basic => "HTTP Basic credentials".into(),
        Scheme::ClientState => "clientState in every notification".into(),
        Scheme::MailgunBody => "HMAC-SHA256 of timestamp and token in the body".into(),
        Scheme::PublicKey { algorithm, signature, separator, .. } => {
            let alg = match algorithm {
                KeyAlgorithm::Ed25519Hex | KeyAlgorithm::Ed25519Base64 => "Ed25519",
                KeyAlgorithm::EcdsaP256 => "ECDSA P-256",
            };
            format!("{alg} signature of `{{timestamp}}{separator}{{body}}` in {signature}")
        }
        Scheme::Jwt(j) => format!("HS256 JWT in {} carrying the body's SHA-256", j.header),
        Scheme::Twilio => "HMAC-SHA1, base64, of `{url}{sorted form fields}` in x-twilio-signature".into(),
        Scheme::Configured => "the scheme configured with the secret".into(),
    }
}

fn alg_text(alg: MacAlgorithm) -> &'static str {
    match alg {
        MacAlgorithm::Md5 => "MD5",
        MacAlgorithm::Sha1 => "SHA1",
        MacAlgorithm::Sha256 => "SHA256",
        MacAlgorithm::Sha512 => "SHA512",
    }
}

/// The catalog entry of a provider, for users.
pub fn describe(p: Provider) -> ProviderInfo {
    let spec = p.spec();
    let secret_fields = match spec.secret {
        SecretShape::None => vec![],
        SecretShape::MetaPair => vec![
            SecretField { name: "verifyToken", shape: "the token you chose for the subscription check" },
            SecretField { name: "appSecret", shape: "the app secret that signs requests" },
        ],
        SecretShape::Scheme => vec![
            SecretField { name: "secret", shape: "the HMAC key" },
            SecretField { name: "header", shape: "the signature header" },
            SecretField { name: "template", shape: "what is signed, with {body}, {timestamp}, {id}" },
            SecretField { name: "algorithm", shape: "SHA256 (default) or SHA512" },
            SecretField { name: "encoding", shape: "HEX (default) or BASE64" },
            SecretField { name: "prefix", shape: "text before the signature in the header (sha256=)" },
            SecretField { name: "timestampHeader", shape: "the header carrying the signed time, if any" },
            SecretField { name: "idHeader", shape: "the header carrying the signed delivery id, if any" },
            SecretField { name: "toleranceSeconds", shape: "how old a signed time may be, in seconds" },
        ],
        shape => vec![SecretField { name: "providerSecret", shape: key_text(shape) }],
    };
    let delivery_id = match spec.delivery_id {
        DeliveryIdRule::IdempotencyKey => "Idempotency-Key header, when sent".to_owned(),
        DeliveryIdRule::Header(h) | DeliveryIdRule::HeaderOrSigned(h) => format!("header {}", h.join(" / ")),
        DeliveryIdRule::Body(pointer) => format!("body {pointer}"),
        DeliveryIdRule::Signed(_) => "a digest of the signed timestamp and body".to_owned(),
    };
    ProviderInfo {
        name: spec.name,
        url_segment: p.path_segment(),
        verification: verification_text(spec.scheme),
        secret_fields,
        secret_optional: matches!(spec.secret, SecretShape::None | SecretShape::Captured),
        handshake: handshake_text(spec.handshake),
        url_bound: super::signs_url(p),
        delivery_id,
        docs: spec.docs,
    }
}
