//! What a provider is, as data: how its requests are signed, what its secret looks like,
//! which handshake it expects and what identifies one of its deliveries. The catalog of
//! entries is [`super::provider_catalog`]; the `providers` module verifies and answers by
//! reading these descriptions, so a provider is one entry and no code of its own.

/// One provider.
#[derive(Debug)]
pub struct ProviderSpec {
    /// Upper case, `_` between words (`STANDARD_WEBHOOKS`); the URL segment is the lower
    /// case name with `-` for `_`.
    pub name: &'static str,
    pub scheme: Scheme,
    pub secret: SecretShape,
    pub handshake: Handshake,
    pub delivery_id: DeliveryIdRule,
    /// The provider's documentation of its scheme.
    pub docs: &'static str,
}

/// How a request is authenticated (besides the API key every webhook has).
#[derive(Clone, Copy, Debug)]
pub enum Scheme {
    /// The API key only.
    None,
    /// A MAC (or a keyed digest) over parts of the request.
    Mac(MacScheme),
    /// The secret itself in a header, optionally after a prefix (`Bearer `).
    Token { header: &'static str, prefix: &'static str },
    /// HTTP Basic credentials; the secret is `user:password`.
    Basic,
    /// Microsoft Graph: every notification's `clientState` equals the secret.
    ClientState,
    /// Mailgun: `signature.signature` = hex HMAC-SHA256(key, timestamp + token), in the body.
    MailgunBody,
    /// A public-key signature over the timestamp, a separator and the body; the secret is the
    /// provider's public key.
    PublicKey {
        algorithm: KeyAlgorithm,
        signature: &'static str,
        timestamp: &'static str,
        separator: &'static str,
        /// How far the signed timestamp may be from now (`None`: not checked).
        tolerance: Option<Tolerance>,
    },
    /// A JWT (HS256, keyed with the secret) in a header, whose claim holds a SHA-256 of the body.
    Jwt(JwtScheme),
    /// Twilio: base64 HMAC-SHA1 over the URL and the sorted form parameters, or over the
    /// URL carrying `bodySHA256` for other bodies; the URL with or without its default port.
    Twilio,
    /// GENERIC_HMAC: configured per webhook.
    Configured,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MacAlgorithm {
    Md5,
    Sha1,
    Sha256,
    Sha512,
}

/// How the MAC is computed.
#[derive(Clone, Copy, Debug)]
pub enum MacKind {
    Hmac(MacAlgorithm),
    /// HMAC whose algorithm the request names in a header (Sumsub's `X-Payload-Digest-Alg`:
    /// `HMAC_SHA1_HEX`, `HMAC_SHA256_HEX`, `HMAC_SHA512_HEX`).
    HmacNamedIn(&'static str),
    /// A plain digest of the signed parts followed by the secret (Cloudinary); SHA-1 or
    /// SHA-256, told apart by the signature's length.
    DigestWithSecretSuffix,
}

#[derive(Clone, Copy, Debug)]
pub enum Encoding {
    Hex,
    Base64,
    /// Base64url, padded or not.
    Base64Url,
}

/// A piece of the signed string.
#[derive(Clone, Copy, Debug)]
pub enum Part {
    Body,
    Timestamp,
    Id,
    Lit(&'static str),
    /// The URL the provider called, as it sees it: the ingress passes every candidate.
    Url,
    /// The HTTP method.
    Method,
    /// A form body's parameters sorted by name, each as name + value (Mandrill).
    SortedForm,
}

/// How the key bytes come from the secret.
#[derive(Clone, Copy, Debug)]
pub enum KeyForm {
    /// The secret's UTF-8 bytes (most providers, Stripe's `whsec_` included).
    Utf8,
    /// Base64 after an optional `whsec_` prefix (Standard Webhooks, Svix).
    WhsecBase64,
    /// The secret is base64 (Microsoft Teams, Airtable).
    Base64,
    /// The secret is hex (Close).
    Hex,
    /// The secret's UTF-8 bytes followed by a suffix (Fitbit's OAuth-style `secret&`).
    Utf8Suffix(&'static str),
}

/// Where the signatures are in their header.
#[derive(Clone, Copy, Debug)]
pub enum SigFormat {
    /// One signature after a prefix (`sha256=`, `v0=`, `HMAC `, or none).
    Single(&'static str),
    /// Several, split by `sep`, each after `prefix` (`v1,` space-separated; `v1=` comma-separated).
    List { sep: char, prefix: &'static str },
    /// `key=value` pairs split by any of `seps` (`t=..,v1=..`; Paddle's `ts=..;h1=..`): the
    /// timestamp under `ts`, the signatures under `sig` (repeatable).
    Pairs { seps: &'static [char], ts: &'static str, sig: &'static str },
    /// Recurly: `timestamp,signature[,signature...]`.
    TimestampThenList,
}

/// How a timestamp is written.
#[derive(Clone, Copy, Debug)]
pub enum TsFormat {
    /// Integer seconds since the epoch.
    Unix,
    /// RFC 3339, signed exactly as sent.
    Rfc3339,
    /// Integer milliseconds since the epoch.
    UnixMillis,
}

#[derive(Clone, Copy, Debug)]
pub struct Tolerance {
    pub secs: i64,
    /// Whether timestamps ahead of now are also limited (Stripe checks the past only).
    pub future: bool,
}

#[derive(Clone, Copy, Debug)]
pub struct MacScheme {
    pub mac: MacKind,
    /// The signature headers; signatures are taken from every one present (Box sends a
    /// primary and a secondary; DocuSign one per key; Svix `svix-*` or `webhook-*`).
    pub signature: &'static [&'static str],
    /// Where the timestamp is when it is not in the signature header.
    pub timestamp: &'static [&'static str],
    pub id: &'static [&'static str],
    pub signed: &'static [Part],
    pub encoding: Encoding,
    pub format: SigFormat,
    pub key: KeyForm,
    pub tolerance: Option<Tolerance>,
    pub ts_format: TsFormat,
    /// A timestamp inside the JSON body (Linear's `webhookTimestamp`, ms), checked after the
    /// signature, within this many seconds.
    pub body_timestamp: Option<(&'static str, i64)>,
}

#[derive(Clone, Copy, Debug)]
pub enum KeyAlgorithm {
    /// Hex signature and hex public key (Discord).
    Ed25519Hex,
    /// Base64 signature and base64 public key (Telnyx).
    Ed25519Base64,
    /// ECDSA P-256/SHA-256, base64 DER signature, base64 DER SubjectPublicKeyInfo key (SendGrid).
    EcdsaP256,
}

#[derive(Clone, Copy, Debug)]
pub struct JwtScheme {
    pub header: &'static str,
    /// Before the token (`Bearer `), if any.
    pub prefix: &'static str,
    /// The claim holding the body's SHA-256, and how it is written.
    pub body_claim: &'static str,
    pub body_encoding: Encoding,
    /// The `iss` the token must carry, if any.
    pub issuer: Option<&'static str>,
}

/// What the provider secret is, checked when it is saved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretShape {
    /// No secret (the API key alone).
    None,
    /// A non-empty string.
    Text,
    /// A non-empty string, optional at creation: the provider's handshake delivers it.
    Captured,
    /// Meta's `{"verifyToken", "appSecret"}`.
    MetaPair,
    /// 32 bytes of Ed25519 public key in hex.
    Ed25519Hex,
    /// 32 bytes of Ed25519 public key in base64.
    Ed25519Base64,
    /// A P-256 public key, base64 DER.
    P256,
    /// Base64 (after an optional `whsec_`).
    Base64,
    /// Hex.
    Hex,
    /// `user:password`.
    UserPassword,
    /// GENERIC_HMAC's scheme object.
    Scheme,
}

/// How the provider checks the endpoint before (or besides) sending events. Handshakes
/// the provider signs are verified before they are answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handshake {
    None,
    /// Slack's signed `{"type":"url_verification","challenge"}`: answered `{"challenge"}`.
    SlackChallenge,
    /// `GET ?hub.mode=subscribe&hub.challenge=&hub.verify_token=` (Meta, Strava): the
    /// challenge echoed when the token matches (Meta: as text; Strava: as `{"hub.challenge"}`).
    HubChallenge {
        json: bool,
    },
    /// Zoom's signed `endpoint.url_validation`: `{plainToken, encryptedToken}`.
    ZoomValidation,
    /// Discord's signed `{"type":1}` ping: `{"type":1}`.
    DiscordPing,
    /// Twitch's signed `webhook_callback_verification`: the challenge as text.
    TwitchChallenge,
    /// Okta's `GET` with `X-Okta-Verification-Challenge`: `{"verification"}`.
    OktaChallenge,
    /// Microsoft Graph's `?validationToken=`: the token as text.
    GraphValidationToken,
    /// X (Twitter) CRC: `GET ?crc_token=`: `{"response_token": "sha256=" + base64 HMAC}`.
    TwitterCrc,
    /// Dropbox: `GET ?challenge=`: the challenge as text.
    EchoChallengeQuery,
    /// Azure Event Grid's `SubscriptionValidation` event: `{"validationResponse"}`.
    EventGridValidation,
    /// Fitbit: `GET ?verify=`: 204 for the right code (the secret), 404 for any other.
    FitbitVerify,
    /// Asana: the first request's `X-Hook-Secret` is kept as the secret and echoed back.
    AsanaHookSecret,
    /// Notion: an unsigned `{"verification_token"}` POST; the token is kept as the secret.
    NotionVerificationToken,
    /// A `HEAD` check of the URL on setup (Trello, Mandrill): 200.
    HeadOk,
    /// WooCommerce's unsigned ping (`webhook_id=<n>` form body): 200.
    WooCommercePing,
}

/// The provider's own id of a delivery, used to recognise its retries.
#[derive(Clone, Copy, Debug)]
pub enum DeliveryIdRule {
    /// An `Idempotency-Key` header, when the sender adds one (the credential is the same on
    /// every request, so only an explicit key tells requests apart).
    IdempotencyKey,
    /// The first of these headers present.
    Header(&'static [&'static str]),
    /// A string or number at this JSON pointer in the body.
    Body(&'static str),
    /// A header, else a digest of what is signed.
    HeaderOrSigned(&'static [&'static str]),
    /// A digest of the signed timestamp (these headers) and the body: a retry carries the
    /// same, however its signature is spelled.
    Signed(&'static [&'static str]),
}
