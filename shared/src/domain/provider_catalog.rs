//! The provider catalog: one entry per provider (see [`ProviderSpec`] for what each field
//! means). Adding a provider is an entry here and its vector test in
//! `providers/tests/vectors.rs`; README's provider table is checked against this list.
//! A data table: longer than the 400-line guide for code, and meant to be read row by row.

use super::provider_spec::DeliveryIdRule::{Body, Header, HeaderOrSigned, IdempotencyKey, Signed};
use super::provider_spec::{
    Encoding, Handshake as H, JwtScheme, KeyAlgorithm, KeyForm, MacAlgorithm, MacKind, MacScheme, Part, ProviderSpec,
    Scheme, SecretShape as S, SigFormat, Tolerance, TsFormat,
};

const FIVE_MINUTES: Option<Tolerance> = Some(Tolerance { secs: 300, future: true });
const fn past_only(secs: i64) -> Option<Tolerance> {
    Some(Tolerance { secs, future: false })
}

/// HMAC-SHA256 of the raw body, hex, one signature without a prefix: the most common shape;
/// entries change what differs with `..BODY`.
const BODY: MacScheme = MacScheme {
    mac: MacKind::Hmac(MacAlgorithm::Sha256),
    signature: &[],
    timestamp: &[],
    id: &[],
    signed: &[Part::Body],
    encoding: Encoding::Hex,
    format: SigFormat::Single(""),
    key: KeyForm::Utf8,
    tolerance: None,
    ts_format: TsFormat::Unix,
    body_timestamp: None,
};

/// `{timestamp}.{body}` with the timestamp and signatures as `key=value` pairs in one
/// header (Stripe's shape, which many copied).
const fn stamped(header: &'static [&'static str], ts: &'static str, sig: &'static str) -> MacScheme {
    MacScheme {
        signature: header,
        signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
        format: SigFormat::Pairs { seps: &[',', ' '], ts, sig },
        tolerance: FIVE_MINUTES,
        ..BODY
    }
}

/// Standard Webhooks: `{id}.{timestamp}.{body}`, base64, `v1,` list, `whsec_` base64 key.
const STANDARD_WEBHOOKS: MacScheme = MacScheme {
    signature: &["webhook-signature"],
    timestamp: &["webhook-timestamp"],
    id: &["webhook-id"],
    signed: &[Part::Id, Part::Lit("."), Part::Timestamp, Part::Lit("."), Part::Body],
    encoding: Encoding::Base64,
    format: SigFormat::List { sep: ' ', prefix: "v1," },
    key: KeyForm::WhsecBase64,
    tolerance: FIVE_MINUTES,
    ..BODY
};

/// Svix: Standard Webhooks under `svix-*` names (or the standard ones).
const SVIX: MacScheme = MacScheme {
    signature: &["svix-signature", "webhook-signature"],
    timestamp: &["svix-timestamp", "webhook-timestamp"],
    id: &["svix-id", "webhook-id"],
    ..STANDARD_WEBHOOKS
};
const SVIX_ID: &[&str] = &["svix-id", "webhook-id"];

/// `v0:{timestamp}:{body}` (Slack; Zoom, Customer.io and Frame.io sign the same way).
const V0: &[Part] = &[Part::Lit("v0:"), Part::Timestamp, Part::Lit(":"), Part::Body];

const fn mac(m: MacScheme) -> Scheme {
    Scheme::Mac(m)
}
const fn hmac(alg: MacAlgorithm) -> MacKind {
    MacKind::Hmac(alg)
}

const fn entry(
    name: &'static str,
    scheme: Scheme,
    secret: super::provider_spec::SecretShape,
    handshake: super::provider_spec::Handshake,
    delivery_id: super::provider_spec::DeliveryIdRule,
    docs: &'static str,
) -> ProviderSpec {
    ProviderSpec { name, scheme, secret, handshake, delivery_id, docs }
}

use Encoding::{Base64, Base64Url, Hex};
use MacAlgorithm::{Md5, Sha1, Sha512};

/// Every provider, GENERIC first.
pub const CATALOG: &[ProviderSpec] = &[
    entry("GENERIC", Scheme::None, S::None, H::None, IdempotencyKey, "README.md#ingress-contract"),
    entry(
        "SLACK",
        mac(MacScheme {
            signature: &["x-slack-signature"],
            timestamp: &["x-slack-request-timestamp"],
            signed: V0,
            format: SigFormat::Single("v0="),
            tolerance: FIVE_MINUTES,
            ..BODY
        }),
        S::Text,
        H::SlackChallenge,
        Body("/event_id"),
        "https://api.slack.com/authentication/verifying-requests-from-slack",
    ),
    entry(
        "META",
        mac(MacScheme { signature: &["x-hub-signature-256"], format: SigFormat::Single("sha256="), ..BODY }),
        S::MetaPair,
        H::HubChallenge { json: false },
        Signed(&[]),
        "https://developers.facebook.com/docs/graph-api/webhooks/getting-started",
    ),
    entry(
        "GITHUB",
        mac(MacScheme { signature: &["x-hub-signature-256"], format: SigFormat::Single("sha256="), ..BODY }),
        S::Text,
        H::None,
        Header(&["x-github-delivery"]),
        "https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries",
    ),
    entry(
        "STRIPE",
        mac(MacScheme {
            format: SigFormat::Pairs { seps: &[','], ts: "t", sig: "v1" },
            tolerance: past_only(300),
            ..stamped(&["stripe-signature"], "t", "v1")
        }),
        S::Text,
        H::None,
        Body("/id"),
        "https://docs.stripe.com/webhooks#verify-manually",
    ),
    entry(
        "STANDARD_WEBHOOKS",
        mac(STANDARD_WEBHOOKS),
        S::Base64,
        H::None,
        Header(&["webhook-id"]),
        "https://www.standardwebhooks.com/",
    ),
    entry(
        "SVIX",
        mac(SVIX),
        S::Base64,
        H::None,
        Header(SVIX_ID),
        "https://docs.svix.com/receiving/verifying-payloads/how-manual",
    ),
    entry(
        "SHOPIFY",
        mac(MacScheme { signature: &["x-shopify-hmac-sha256"], encoding: Base64, ..BODY }),
        S::Text,
        H::None,
        Header(&["x-shopify-webhook-id"]),
        "https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook",
    ),
    entry(
        "DESCOPE",
        mac(MacScheme { signature: &["x-descope-webhook-s256"], encoding: Base64, ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://docs.descope.com/management/audit/connectors/http",
    ),
    entry(
        "LINEAR",
        mac(MacScheme { signature: &["linear-signature"], body_timestamp: Some(("/webhookTimestamp", 60)), ..BODY }),
        S::Text,
        H::None,
        HeaderOrSigned(&["linear-delivery"]),
        "https://linear.app/developers/webhooks#securing-webhooks",
    ),
    entry(
        "PAGERDUTY",
        mac(MacScheme {
            signature: &["x-pagerduty-signature"],
            format: SigFormat::List { sep: ',', prefix: "v1=" },
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.pagerduty.com/docs/webhooks/webhook-signatures/",
    ),
    entry(
        "GITLAB",
        Scheme::Token { header: "x-gitlab-token", prefix: "" },
        S::Text,
        H::None,
        Header(&["x-gitlab-event-uuid", "idempotency-key"]),
        "https://docs.gitlab.com/user/project/integrations/webhooks/#custom-headers",
    ),
    // Zoom's SDK checks no freshness; five minutes both ways guards against replays.
    entry(
        "ZOOM",
        mac(MacScheme {
            signature: &["x-zm-signature"],
            timestamp: &["x-zm-request-timestamp"],
            signed: V0,
            format: SigFormat::Single("v0="),
            tolerance: FIVE_MINUTES,
            ..BODY
        }),
        S::Text,
        H::ZoomValidation,
        Signed(&["x-zm-request-timestamp"]),
        "https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events",
    ),
    // Twitch recommends refusing messages older than ten minutes.
    entry(
        "TWITCH",
        mac(MacScheme {
            signature: &["twitch-eventsub-message-signature"],
            timestamp: &["twitch-eventsub-message-timestamp"],
            id: &["twitch-eventsub-message-id"],
            signed: &[Part::Id, Part::Timestamp, Part::Body],
            format: SigFormat::Single("sha256="),
            tolerance: Some(Tolerance { secs: 600, future: true }),
            ts_format: TsFormat::Rfc3339,
            ..BODY
        }),
        S::Text,
        H::TwitchChallenge,
        Header(&["twitch-eventsub-message-id"]),
        "https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message",
    ),
    entry(
        "OKTA",
        Scheme::Token { header: "authorization", prefix: "" },
        S::Text,
        H::OktaChallenge,
        IdempotencyKey,
        "https://developer.okta.com/docs/concepts/event-hooks/",
    ),
    entry(
        "MSGRAPH",
        Scheme::ClientState,
        S::Text,
        H::GraphValidationToken,
        IdempotencyKey,
        "https://learn.microsoft.com/graph/change-notifications-delivery-webhooks",
    ),
    entry(
        "MAILGUN",
        Scheme::MailgunBody,
        S::Text,
        H::None,
        Body("/signature/token"),
        "https://documentation.mailgun.com/docs/mailgun/user-manual/events/webhooks#securing-webhooks",
    ),
    // Discord signs a fresh timestamp on every attempt; five minutes bounds replays.
    entry(
        "DISCORD",
        Scheme::PublicKey {
            algorithm: KeyAlgorithm::Ed25519Hex,
            signature: "x-signature-ed25519",
            timestamp: "x-signature-timestamp",
            separator: "",
            tolerance: FIVE_MINUTES,
        },
        S::Ed25519Hex,
        H::DiscordPing,
        Signed(&["x-signature-timestamp"]),
        "https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers",
    ),
    entry(
        "TWILIO",
        Scheme::Twilio,
        S::Text,
        H::None,
        Header(&["i-twilio-idempotency-token"]),
        "https://www.twilio.com/docs/usage/webhooks/webhooks-security",
    ),
    entry(
        "SQUARE",
        mac(MacScheme {
            signature: &["x-square-hmacsha256-signature"],
            signed: &[Part::Url, Part::Body],
            encoding: Base64,
            ..BODY
        }),
        S::Text,
        H::None,
        Body("/event_id"),
        "https://developer.squareup.com/docs/webhooks/step3validate",
    ),
    // v3 only: the legacy v1/v2 are plain hashes HubSpot no longer sends to new apps.
    entry(
        "HUBSPOT",
        mac(MacScheme {
            signature: &["x-hubspot-signature-v3"],
            timestamp: &["x-hubspot-request-timestamp"],
            signed: &[Part::Method, Part::Url, Part::Body, Part::Timestamp],
            encoding: Base64,
            tolerance: past_only(300),
            ts_format: TsFormat::UnixMillis,
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&["x-hubspot-request-timestamp"]),
        "https://developers.hubspot.com/docs/api/webhooks/validating-requests",
    ),
    // SendGrid documents no freshness rule; replays are caught by the body digest.
    entry(
        "SENDGRID",
        Scheme::PublicKey {
            algorithm: KeyAlgorithm::EcdsaP256,
            signature: "x-twilio-email-event-webhook-signature",
            timestamp: "x-twilio-email-event-webhook-timestamp",
            separator: "",
            tolerance: None,
        },
        S::P256,
        H::None,
        Signed(&["x-twilio-email-event-webhook-timestamp"]),
        "https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features",
    ),
    // The scheme comes with the secret (see `GenericHmac`).
    entry("GENERIC_HMAC", Scheme::Configured, S::Scheme, H::None, IdempotencyKey, "README.md#ingress-contract"),
    // Paddle's SDKs allow 5 s; five minutes both ways tolerates real clocks and still bounds replays.
    entry(
        "PADDLE",
        mac(MacScheme {
            signed: &[Part::Timestamp, Part::Lit(":"), Part::Body],
            format: SigFormat::Pairs { seps: &[';'], ts: "ts", sig: "h1" },
            ..stamped(&["paddle-signature"], "ts", "h1")
        }),
        S::Text,
        H::None,
        Body("/notification_id"),
        "https://developer.paddle.com/webhooks/signature-verification",
    ),
    entry(
        "TYPEFORM",
        mac(MacScheme {
            signature: &["typeform-signature"],
            encoding: Base64,
            format: SigFormat::Single("sha256="),
            ..BODY
        }),
        S::Text,
        H::None,
        Body("/event_id"),
        "https://www.typeform.com/developers/webhooks/secure-your-webhooks/",
    ),
    entry(
        "CALENDLY",
        mac(MacScheme { tolerance: past_only(180), ..stamped(&["calendly-webhook-signature"], "t", "v1") }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures",
    ),
    entry(
        "INTERCOM",
        mac(MacScheme { mac: hmac(Sha1), signature: &["x-hub-signature"], format: SigFormat::Single("sha1="), ..BODY }),
        S::Text,
        H::None,
        Body("/id"),
        "https://developers.intercom.com/docs/webhooks/setting-up-webhooks#signed-notifications",
    ),
    entry(
        "SENTRY",
        mac(MacScheme { signature: &["sentry-hook-signature"], ..BODY }),
        S::Text,
        H::None,
        Header(&["request-id"]),
        "https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#sentry-hook-signature",
    ),
    entry(
        "VERCEL",
        mac(MacScheme { mac: hmac(Sha1), signature: &["x-vercel-signature"], ..BODY }),
        S::Text,
        H::None,
        Body("/id"),
        "https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks",
    ),
    entry(
        "HEROKU",
        mac(MacScheme { signature: &["heroku-webhook-hmac-sha256"], encoding: Base64, ..BODY }),
        S::Text,
        H::None,
        Body("/webhook_metadata/delivery/id"),
        "https://devcenter.heroku.com/articles/app-webhooks#securing-webhook-requests",
    ),
    entry(
        "LINE",
        mac(MacScheme { signature: &["x-line-signature"], encoding: Base64, ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developers.line.biz/en/docs/messaging-api/verify-webhook-signature/",
    ),
    entry(
        "ZENDESK",
        mac(MacScheme {
            signature: &["x-zendesk-webhook-signature"],
            timestamp: &["x-zendesk-webhook-signature-timestamp"],
            signed: &[Part::Timestamp, Part::Body],
            encoding: Base64,
            ..BODY
        }),
        S::Text,
        H::None,
        Header(&["x-zendesk-webhook-invocation-id"]),
        "https://developer.zendesk.com/documentation/webhooks/verifying/",
    ),
    entry(
        "PAYSTACK",
        mac(MacScheme { mac: hmac(Sha512), signature: &["x-paystack-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://paystack.com/docs/payments/webhooks/#verify-event-origin",
    ),
    entry(
        "RAZORPAY",
        mac(MacScheme { signature: &["x-razorpay-signature"], ..BODY }),
        S::Text,
        H::None,
        Header(&["x-razorpay-event-id"]),
        "https://razorpay.com/docs/webhooks/validate-test/",
    ),
    entry(
        "MUX",
        mac(MacScheme { tolerance: past_only(300), ..stamped(&["mux-signature"], "t", "v1") }),
        S::Text,
        H::None,
        Body("/id"),
        "https://www.mux.com/docs/core/verify-webhook-signatures",
    ),
    entry(
        "WORKOS",
        mac(MacScheme {
            tolerance: past_only(180),
            ts_format: TsFormat::UnixMillis,
            ..stamped(&["workos-signature"], "t", "v1")
        }),
        S::Text,
        H::None,
        Body("/id"),
        "https://workos.com/docs/events/data-syncing/webhooks",
    ),
    entry(
        "PATREON",
        mac(MacScheme { mac: hmac(Md5), signature: &["x-patreon-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://docs.patreon.com/#webhooks",
    ),
    entry(
        "NOTION",
        mac(MacScheme { signature: &["x-notion-signature"], format: SigFormat::Single("sha256="), ..BODY }),
        S::Captured,
        H::NotionVerificationToken,
        Body("/id"),
        "https://developers.notion.com/reference/webhooks",
    ),
    entry(
        "NETLIFY",
        Scheme::Jwt(JwtScheme {
            header: "x-webhook-signature",
            prefix: "",
            body_claim: "sha256",
            body_encoding: Hex,
            issuer: Some("netlify"),
        }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://docs.netlify.com/site-deploys/notifications/#payload-signature",
    ),
    entry(
        "TELNYX",
        Scheme::PublicKey {
            algorithm: KeyAlgorithm::Ed25519Base64,
            signature: "telnyx-signature-ed25519",
            timestamp: "telnyx-timestamp",
            separator: "|",
            tolerance: FIVE_MINUTES,
        },
        S::Ed25519Base64,
        H::None,
        Body("/data/id"),
        "https://developers.telnyx.com/docs/development/api-fundamentals/webhooks",
    ),
    entry(
        "TELEGRAM",
        Scheme::Token { header: "x-telegram-bot-api-secret-token", prefix: "" },
        S::Text,
        H::None,
        Body("/update_id"),
        "https://core.telegram.org/bots/api#setwebhook",
    ),
    entry(
        "TWITTER",
        mac(MacScheme {
            signature: &["x-twitter-webhooks-signature"],
            encoding: Base64,
            format: SigFormat::Single("sha256="),
            ..BODY
        }),
        S::Text,
        H::TwitterCrc,
        Signed(&[]),
        "https://docs.x.com/x-api/webhooks/quickstart",
    ),
    entry(
        "ASANA",
        mac(MacScheme { signature: &["x-hook-signature"], ..BODY }),
        S::Captured,
        H::AsanaHookSecret,
        Signed(&[]),
        "https://developers.asana.com/docs/webhooks-guide",
    ),
    entry(
        "DROPBOX",
        mac(MacScheme { signature: &["x-dropbox-signature"], ..BODY }),
        S::Text,
        H::EchoChallengeQuery,
        Signed(&[]),
        "https://www.dropbox.com/developers/reference/webhooks",
    ),
    entry(
        "BOX",
        mac(MacScheme {
            signature: &["box-signature-primary", "box-signature-secondary"],
            timestamp: &["box-delivery-timestamp"],
            signed: &[Part::Body, Part::Timestamp],
            encoding: Base64,
            tolerance: Some(Tolerance { secs: 600, future: true }),
            ts_format: TsFormat::Rfc3339,
            ..BODY
        }),
        S::Text,
        H::None,
        Header(&["box-delivery-id"]),
        "https://developer.box.com/guides/webhooks/v2/signatures-v2/",
    ),
    entry(
        "AIRTABLE",
        mac(MacScheme {
            signature: &["x-airtable-content-mac"],
            format: SigFormat::Single("hmac-sha256="),
            key: KeyForm::Base64,
            ..BODY
        }),
        S::Base64,
        H::None,
        Signed(&[]),
        "https://airtable.com/developers/web/api/webhooks-overview",
    ),
    entry(
        "CLERK",
        mac(SVIX),
        S::Base64,
        H::None,
        Header(SVIX_ID),
        "https://clerk.com/docs/reference/backend/verify-webhook",
    ),
    entry(
        "RESEND",
        mac(SVIX),
        S::Base64,
        H::None,
        Header(SVIX_ID),
        "https://resend.com/docs/webhooks/verify-webhooks-requests",
    ),
    entry(
        "OPENAI",
        mac(STANDARD_WEBHOOKS),
        S::Base64,
        H::None,
        Header(&["webhook-id"]),
        "https://platform.openai.com/docs/guides/webhooks",
    ),
    entry(
        "REPLICATE",
        mac(STANDARD_WEBHOOKS),
        S::Base64,
        H::None,
        Header(&["webhook-id"]),
        "https://replicate.com/docs/topics/webhooks/verify-webhook",
    ),
    entry(
        "WOOCOMMERCE",
        mac(MacScheme { signature: &["x-wc-webhook-signature"], encoding: Base64, ..BODY }),
        S::Text,
        H::WooCommercePing,
        Header(&["x-wc-webhook-delivery-id"]),
        "https://developer.woocommerce.com/docs/apis/rest-api/v2/webhooks/",
    ),
    entry(
        "LEMONSQUEEZY",
        mac(MacScheme { signature: &["x-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://docs.lemonsqueezy.com/help/webhooks/signing-requests",
    ),
    entry(
        "COINBASE_COMMERCE",
        mac(MacScheme { signature: &["x-cc-webhook-signature"], ..BODY }),
        S::Text,
        H::None,
        Body("/event/id"),
        "https://docs.cdp.coinbase.com/commerce/api-architecture/webhooks-security",
    ),
    entry(
        "GOCARDLESS",
        mac(MacScheme { signature: &["webhook-signature"], ..BODY }),
        S::Text,
        H::None,
        Body("/meta/webhook_id"),
        "https://developer.gocardless.com/getting-started/api/staying-up-to-date-with-webhooks",
    ),
    entry(
        "RECURLY",
        mac(MacScheme {
            signature: &["recurly-signature"],
            signed: &[Part::Timestamp, Part::Lit("."), Part::Body],
            format: SigFormat::TimestampThenList,
            tolerance: past_only(300),
            ts_format: TsFormat::UnixMillis,
            ..BODY
        }),
        S::Text,
        H::None,
        Body("/id"),
        "https://docs.recurly.com/recurly-subscriptions/docs/signature-verification",
    ),
    entry(
        "CHECKOUT_COM",
        mac(MacScheme { signature: &["cko-signature"], ..BODY }),
        S::Text,
        H::None,
        Body("/id"),
        "https://www.checkout.com/docs/developer-resources/webhooks/manage-webhooks/set-up-your-webhook-receiver",
    ),
    entry(
        "FASTSPRING",
        mac(MacScheme { signature: &["x-fs-signature"], encoding: Base64, ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.fastspring.com/docs/message-security",
    ),
    entry(
        "DOCUSIGN",
        mac(MacScheme {
            signature: &[
                "x-docusign-signature-1",
                "x-docusign-signature-2",
                "x-docusign-signature-3",
                "x-docusign-signature-4",
                "x-docusign-signature-5",
            ],
            encoding: Base64,
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developers.docusign.com/platform/webhooks/connect/hmac",
    ),
    entry(
        "PERSONA",
        mac(stamped(&["persona-signature"], "t", "v1")),
        S::Text,
        H::None,
        Body("/data/id"),
        "https://docs.withpersona.com/docs/webhooks-best-practices",
    ),
    entry(
        "ONFIDO",
        mac(MacScheme { signature: &["x-sha2-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://documentation.identity.entrust.com/api/manual-webhook-signature-verification/",
    ),
    entry(
        "VERIFF",
        mac(MacScheme { signature: &["x-hmac-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://devdocs.veriff.com/docs/hmac-authentication-and-endpoint-security",
    ),
    entry(
        "SUMSUB",
        mac(MacScheme { mac: MacKind::HmacNamedIn("x-payload-digest-alg"), signature: &["x-payload-digest"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://docs.sumsub.com/docs/webhooks",
    ),
    entry(
        "CUSTOMERIO",
        mac(MacScheme {
            signature: &["x-cio-signature"],
            timestamp: &["x-cio-timestamp"],
            signed: V0,
            tolerance: FIVE_MINUTES,
            ..BODY
        }),
        S::Text,
        H::None,
        Body("/event_id"),
        "https://docs.customer.io/api/webhooks/",
    ),
    entry(
        "SEGMENT",
        mac(MacScheme { mac: hmac(Sha1), signature: &["x-signature", "x-segment-signature"], ..BODY }),
        S::Text,
        H::None,
        Body("/messageId"),
        "https://www.twilio.com/docs/segment/connections/destinations/catalog/actions-webhook",
    ),
    entry(
        "CIRCLECI",
        mac(MacScheme {
            signature: &["circleci-signature"],
            format: SigFormat::List { sep: ',', prefix: "v1=" },
            ..BODY
        }),
        S::Text,
        H::None,
        Body("/id"),
        "https://circleci.com/docs/guides/integration/outbound-webhooks/",
    ),
    entry(
        "BITBUCKET",
        mac(MacScheme { signature: &["x-hub-signature"], format: SigFormat::Single("sha256="), ..BODY }),
        S::Text,
        H::None,
        Header(&["x-request-uuid"]),
        "https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/",
    ),
    entry(
        "GITEA",
        mac(MacScheme { signature: &["x-gitea-signature"], ..BODY }),
        S::Text,
        H::None,
        Header(&["x-gitea-delivery"]),
        "https://docs.gitea.com/usage/webhooks",
    ),
    entry(
        "JIRA",
        mac(MacScheme { signature: &["x-hub-signature"], format: SigFormat::Single("sha256="), ..BODY }),
        S::Text,
        H::None,
        Header(&["x-atlassian-webhook-identifier"]),
        "https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks",
    ),
    entry(
        "CLICKUP",
        mac(MacScheme { signature: &["x-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.clickup.com/docs/webhooksignature",
    ),
    entry(
        "CAL_COM",
        mac(MacScheme { signature: &["x-cal-signature-256"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://cal.com/docs/core-features/webhooks",
    ),
    entry(
        "CLOSE",
        mac(MacScheme {
            signature: &["close-sig-hash"],
            timestamp: &["close-sig-timestamp"],
            signed: &[Part::Timestamp, Part::Body],
            key: KeyForm::Hex,
            ..BODY
        }),
        S::Hex,
        H::None,
        Body("/event/id"),
        "https://developer.close.com/topics/webhooks/",
    ),
    entry(
        "ATTIO",
        mac(MacScheme { signature: &["attio-signature", "x-attio-signature"], ..BODY }),
        S::Text,
        H::None,
        Header(&["idempotency-key"]),
        "https://docs.attio.com/rest-api/guides/webhooks",
    ),
    entry(
        "FRAMEIO",
        mac(MacScheme {
            signature: &["x-frameio-signature"],
            timestamp: &["x-frameio-request-timestamp"],
            signed: V0,
            format: SigFormat::Single("v0="),
            tolerance: FIVE_MINUTES,
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&["x-frameio-request-timestamp"]),
        "https://developer.adobe.com/frameio/guides/Webhooks",
    ),
    // Sanity's toolkit checks no freshness; the idempotency key catches replays.
    entry(
        "SANITY",
        mac(MacScheme {
            encoding: Base64Url,
            tolerance: None,
            ts_format: TsFormat::UnixMillis,
            ..stamped(&["sanity-webhook-signature"], "t", "v1")
        }),
        S::Text,
        H::None,
        Header(&["idempotency-key"]),
        "https://www.sanity.io/docs/webhooks",
    ),
    entry(
        "GHOST",
        mac(MacScheme {
            signature: &["x-ghost-signature"],
            signed: &[Part::Body, Part::Timestamp],
            format: SigFormat::Pairs { seps: &[',', ' '], ts: "t", sig: "sha256" },
            ts_format: TsFormat::UnixMillis,
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://ghost.org/docs/webhooks/",
    ),
    entry(
        "ELEVENLABS",
        mac(MacScheme { tolerance: past_only(1800), ..stamped(&["elevenlabs-signature"], "t", "v0") }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://elevenlabs.io/docs/product-guides/administration/webhooks",
    ),
    entry(
        "CLOUDINARY",
        mac(MacScheme {
            mac: MacKind::DigestWithSecretSuffix,
            signature: &["x-cld-signature"],
            timestamp: &["x-cld-timestamp"],
            signed: &[Part::Body, Part::Timestamp],
            tolerance: past_only(7200),
            ..BODY
        }),
        S::Text,
        H::None,
        Signed(&["x-cld-timestamp"]),
        "https://cloudinary.com/documentation/notification_signatures",
    ),
    entry(
        "MSTEAMS",
        mac(MacScheme {
            signature: &["authorization"],
            encoding: Base64,
            format: SigFormat::Single("HMAC "),
            key: KeyForm::Base64,
            ..BODY
        }),
        S::Base64,
        H::None,
        Body("/id"),
        "https://learn.microsoft.com/microsoftteams/platform/webhooks-and-connectors/how-to/add-outgoing-webhook",
    ),
    entry(
        "WEBEX",
        mac(MacScheme { mac: hmac(Sha1), signature: &["x-spark-signature"], ..BODY }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.webex.com/docs/webhooks",
    ),
    // Strava signs nothing: the URL's API key and the subscription's verify token.
    entry(
        "STRAVA",
        Scheme::None,
        S::Text,
        H::HubChallenge { json: true },
        Signed(&[]),
        "https://developers.strava.com/docs/webhooks/",
    ),
    entry(
        "AZURE_EVENT_GRID",
        Scheme::None,
        S::None,
        H::EventGridValidation,
        Body("/0/id"),
        "https://learn.microsoft.com/azure/event-grid/end-point-validation-event-grid-events-schema",
    ),
    // The verify code (`verifyToken`) answers Fitbit's check; the client secret signs.
    entry(
        "FITBIT",
        mac(MacScheme {
            mac: hmac(Sha1),
            signature: &["x-fitbit-signature"],
            encoding: Base64,
            key: KeyForm::Utf8Suffix("&"),
            ..BODY
        }),
        S::MetaPair,
        H::FitbitVerify,
        Signed(&[]),
        "https://dev.fitbit.com/build/reference/web-api/developer-guide/using-subscriptions/",
    ),
    entry(
        "TRELLO",
        mac(MacScheme {
            mac: hmac(Sha1),
            signature: &["x-trello-webhook"],
            signed: &[Part::Body, Part::Url],
            encoding: Base64,
            ..BODY
        }),
        S::Text,
        H::HeadOk,
        Body("/action/id"),
        "https://developer.atlassian.com/cloud/trello/guides/rest-api/webhooks/#webhook-signatures",
    ),
    entry(
        "MANDRILL",
        mac(MacScheme {
            mac: hmac(Sha1),
            signature: &["x-mandrill-signature"],
            signed: &[Part::Url, Part::SortedForm],
            encoding: Base64,
            ..BODY
        }),
        S::Text,
        H::HeadOk,
        Signed(&[]),
        "https://mailchimp.com/developer/transactional/guides/track-respond-activity-webhooks/#authenticating-webhook-requests",
    ),
    entry(
        "UPSTASH_QSTASH",
        Scheme::Jwt(JwtScheme {
            header: "upstash-signature",
            prefix: "",
            body_claim: "body",
            body_encoding: Base64Url,
            issuer: Some("Upstash"),
        }),
        S::Text,
        H::None,
        Header(&["upstash-message-id"]),
        "https://upstash.com/docs/qstash/howto/signature",
    ),
    entry(
        "VONAGE",
        Scheme::Jwt(JwtScheme {
            header: "authorization",
            prefix: "Bearer ",
            body_claim: "payload_hash",
            body_encoding: Hex,
            issuer: None,
        }),
        S::Text,
        H::None,
        Signed(&[]),
        "https://developer.vonage.com/en/messages/concepts/signed-webhooks",
    ),
    entry(
        "AUTH0",
        Scheme::Token { header: "authorization", prefix: "" },
        S::Text,
        H::None,
        Signed(&[]),
        "https://auth0.com/docs/customize/log-streams/custom-log-streams",
    ),
    entry(
        "POSTMARK",
        Scheme::Basic,
        S::UserPassword,
        H::None,
        Signed(&[]),
        "https://postmarkapp.com/developer/webhooks/webhooks-overview#protecting-your-webhook",
    ),
];
