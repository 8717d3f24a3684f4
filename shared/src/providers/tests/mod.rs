//! Every vector from `../shared/reference/providers.md` (official ones marked), and the
//! negative cases per scheme.

mod vectors;

use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use http::{HeaderMap, HeaderName, HeaderValue};

use super::special::twilio_port_variants;
use super::*;

fn is_p256_public_key(s: &SecretString) -> bool {
    public_key::is_public_key(KeyAlgorithm::EcdsaP256, s)
}

const BODY: &[u8] = br#"{"id":"evt_1","type":"test.event","data":{"ok":true}}"#;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
    }
    h
}

fn check(p: Provider, secret: &str, h: &[(&str, &str)], body: &[u8], now: i64) -> Result<(), VerifyError> {
    let s = SecretString::new(secret);
    verify(p, &[&s], &headers(h), body, now)
}

const SLACK_BODY: &[u8] = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SLACK_SIG: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

/// Official (slack_sdk test_signature_verifier.py).
#[test]
fn slack_vector_and_negatives() {
    let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    let ok = |sig: &str, ts: &str, body: &[u8], now: i64| {
        check(
            Provider::named("SLACK"),
            secret,
            &[("X-Slack-Signature", sig), ("X-Slack-Request-Timestamp", ts)],
            body,
            now,
        )
    };
    assert_eq!(ok(SLACK_SIG, "1531420618", SLACK_BODY, 1531420618), Ok(()));
    // Header names in any case.
    assert_eq!(
        check(
            Provider::named("SLACK"),
            secret,
            &[("x-slack-signature", SLACK_SIG), ("X-SLACK-REQUEST-TIMESTAMP", "1531420618")],
            SLACK_BODY,
            1531420618
        ),
        Ok(())
    );
    assert_eq!(ok(SLACK_SIG, "1531420618", b"token=tampered", 1531420618), Err(VerifyError::Mismatch));
    assert_eq!(
        check(
            Provider::named("SLACK"),
            "wrong",
            &[("X-Slack-Signature", SLACK_SIG), ("X-Slack-Request-Timestamp", "1531420618")],
            SLACK_BODY,
            1531420618
        ),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(ok("v0=", "1531420618", SLACK_BODY, 1531420618), Err(VerifyError::Mismatch), "empty");
    assert_eq!(ok(&SLACK_SIG[..40], "1531420618", SLACK_BODY, 1531420618), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(
        ok(&SLACK_SIG.replace("v0=", "v1="), "1531420618", SLACK_BODY, 1531420618),
        Err(VerifyError::Missing),
        "wrong version"
    );
    assert_eq!(ok(SLACK_SIG, "1531420618", SLACK_BODY, 1531420618 + 301), Err(VerifyError::Stale), "stale");
    assert_eq!(ok(SLACK_SIG, "1531420618", SLACK_BODY, 1531420618 - 301), Err(VerifyError::Stale), "future");
    assert_eq!(ok(SLACK_SIG, "1531420618", SLACK_BODY, 1531420618 + 300), Ok(()), "at the edge");
    assert_eq!(
        check(Provider::named("SLACK"), secret, &[("X-Slack-Signature", SLACK_SIG)], SLACK_BODY, 1531420618),
        Err(VerifyError::Missing)
    );
    assert_eq!(check(Provider::named("SLACK"), secret, &[], SLACK_BODY, 1531420618), Err(VerifyError::Missing));
    assert_eq!(
        verify(Provider::named("SLACK"), &[], &headers(&[("X-Slack-Signature", SLACK_SIG)]), SLACK_BODY, 0),
        Err(VerifyError::NoSecret)
    );
}

/// Computed in the reference (Meta); official (GitHub docs and Octokit).
#[test]
fn hub_signature_providers() {
    let meta = "sha256=f1efe139b33deff307fb29e89d034759d5bb454c8a86eb9c1b0643e92c7eeb7a";
    assert_eq!(check(Provider::named("META"), "meta_app_secret", &[("X-Hub-Signature-256", meta)], BODY, 0), Ok(()));
    assert_eq!(
        check(Provider::named("META"), "meta_app_secret", &[("X-Hub-Signature-256", meta)], b"{}", 0),
        Err(VerifyError::Mismatch)
    );
    let gh = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(
        check(
            Provider::named("GITHUB"),
            "It's a Secret to Everybody",
            &[("x-hub-signature-256", gh)],
            b"Hello, World!",
            0
        ),
        Ok(())
    );
    let octo = "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3";
    assert_eq!(
        check(Provider::named("GITHUB"), "mysecret", &[("X-Hub-Signature-256", octo)], br#"{"foo":"bar"}"#, 0),
        Ok(())
    );
    assert_eq!(
        check(
            Provider::named("GITHUB"),
            "mysecret",
            &[("X-Hub-Signature-256", &octo.replace("sha256=", "sha1="))],
            br#"{"foo":"bar"}"#,
            0
        ),
        Err(VerifyError::Missing)
    );
    assert_eq!(
        check(Provider::named("GITHUB"), "mysecret", &[("X-Hub-Signature-256", "sha256=zz")], br#"{"foo":"bar"}"#, 0),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(check(Provider::named("GITHUB"), "mysecret", &[], br#"{"foo":"bar"}"#, 0), Err(VerifyError::Missing));
}

/// Computed in the reference (stripe-python's algorithm, fixed time).
#[test]
fn stripe_vector_and_negatives() {
    let secret = "whsec_test_secret";
    let sig = "42e447c876a12c570f8d32a93c0f3c7035e072708e26375bd3ca86fd0542329e";
    let at = |h: &str, now| check(Provider::named("STRIPE"), secret, &[("Stripe-Signature", h)], BODY, now);
    assert_eq!(at(&format!("t=1700000000,v1={sig}"), 1700000000), Ok(()));
    // Any v1 may match (rolled secrets); v0 is ignored.
    assert_eq!(at(&format!("t=1700000000,v1=bad_signature,v1={sig},v0={sig}"), 1700000000), Ok(()));
    assert_eq!(at(&format!("t=1700000000,v0={sig}"), 1700000000), Err(VerifyError::Missing), "no v1");
    assert_eq!(at(&format!("v1={sig}"), 1700000000), Err(VerifyError::Missing), "no t");
    assert_eq!(at(&format!("t=1700000001,v1={sig}"), 1700000001), Err(VerifyError::Mismatch), "t is signed");
    assert_eq!(at(&format!("t=1700000000,v1={sig}"), 1700000000 + 301), Err(VerifyError::Stale));
    assert_eq!(at(&format!("t=1700000000,v1={sig}"), 1700000000 - 1000), Ok(()), "past only");
    assert_eq!(at("t=1700000000,v1=", 1700000000), Err(VerifyError::Mismatch));
}

/// Official (standard-webhooks Rust `test_sign`; Svix python `test_sign_function`).
#[test]
fn standard_webhooks_and_svix() {
    let secret = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let body = br#"{"email":"test@example.com","username":"test_user"}"#;
    let sig = "v1,tZ1I4/hDygAJgO5TYxiSd6Sd0kDW6hPenDe+bTa3Kkw=";
    let std = |sig: &str, now| {
        check(
            Provider::named("STANDARD_WEBHOOKS"),
            secret,
            &[
                ("webhook-id", "msg_27UH4WbU6Z5A5EzD8u03UvzRbpk"),
                ("webhook-timestamp", "1649367553"),
                ("webhook-signature", sig),
            ],
            body,
            now,
        )
    };
    assert_eq!(std(sig, 1649367553), Ok(()));
    assert_eq!(std(&format!("v1,bogus {sig}"), 1649367553), Ok(()), "any v1 in the list");
    assert_eq!(std(&sig.replace("v1,", "v2,"), 1649367553), Err(VerifyError::Missing), "wrong version");
    assert_eq!(std("v1,", 1649367553), Err(VerifyError::Mismatch), "empty");
    assert_eq!(std(&sig[..20], 1649367553), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(std(sig, 1649367553 + 301), Err(VerifyError::Stale));
    assert_eq!(std(sig, 1649367553 - 301), Err(VerifyError::Stale));
    let svix_sig = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";
    let svix =
        &[("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"), ("svix-timestamp", "1614265330"), ("svix-signature", svix_sig)];
    assert_eq!(
        check(
            Provider::named("SVIX"),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            svix,
            br#"{"test": 2432232314}"#,
            1614265330
        ),
        Ok(())
    );
    // Svix also sends (and accepts) the webhook-* names.
    let webhook_names = &[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        ("webhook-signature", svix_sig),
    ];
    assert_eq!(
        check(
            Provider::named("SVIX"),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            webhook_names,
            br#"{"test": 2432232314}"#,
            1614265330
        ),
        Ok(())
    );
    assert_eq!(
        check(
            Provider::named("SVIX"),
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            &svix[1..],
            br#"{"test": 2432232314}"#,
            1614265330
        ),
        Err(VerifyError::Missing),
        "no id"
    );
}

/// Official (Shopify validate.test.ts); computed (Descope, Linear, PagerDuty).
#[test]
fn base64_and_hex_body_schemes() {
    assert_eq!(
        check(
            Provider::named("SHOPIFY"),
            "test_secret_key",
            &[("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")],
            br#"{"foo": "bar"}"#,
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(
            Provider::named("SHOPIFY"),
            "test_secret_key",
            &[("X-Shopify-Hmac-Sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")],
            br#"{"foo":"bar"}"#,
            0
        ),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(
        check(
            Provider::named("DESCOPE"),
            "descope_hmac_secret",
            &[("x-descope-webhook-s256", "AvkrAUBiOKRGZW1DzUgAR3Pfpe466y0FdgF4UxRTBhs=")],
            BODY,
            0
        ),
        Ok(())
    );
    // The reference vector's body has no webhookTimestamp: the signature matches, the
    // timestamp rule then refuses it.
    assert_eq!(
        check(
            Provider::named("LINEAR"),
            "lin_wh_secret",
            &[("Linear-Signature", "006dd0740a70ab7d3a02f63f9e21451267b9d755fee8a3d04a0d22f6ed77b31a")],
            BODY,
            0
        ),
        Err(VerifyError::Missing)
    );
    assert_eq!(
        check(
            Provider::named("LINEAR"),
            "lin_wh_secret",
            &[("Linear-Signature", "006dd0740a70ab7d3a02f63f9e21451267b9d755fee8a3d04a0d22f6ed77b31b")],
            BODY,
            0
        ),
        Err(VerifyError::Mismatch)
    );
    let pd = "v1=5beee42dafd2a4f1b9f328021f1ec039653539747c7a1e18347dbd2cd1c7aa21";
    assert_eq!(check(Provider::named("PAGERDUTY"), "pd_secret", &[("X-PagerDuty-Signature", pd)], BODY, 0), Ok(()));
    assert_eq!(
        check(Provider::named("PAGERDUTY"), "pd_secret", &[("X-PagerDuty-Signature", &format!("v1=00,{pd}"))], BODY, 0),
        Ok(())
    );
    assert_eq!(
        check(Provider::named("PAGERDUTY"), "pd_secret", &[("X-PagerDuty-Signature", "v1=00")], BODY, 0),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn gitlab_token() {
    assert_eq!(check(Provider::named("GITLAB"), "tok", &[("X-Gitlab-Token", "tok")], BODY, 0), Ok(()));
    assert_eq!(
        check(Provider::named("GITLAB"), "tok", &[("X-Gitlab-Token", "to")], BODY, 0),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(check(Provider::named("GITLAB"), "tok", &[], BODY, 0), Err(VerifyError::Missing));
}

#[test]
fn a_previous_secret_verifies_too() {
    let (old, new) = (SecretString::new("mysecret"), SecretString::new("rotated"));
    let h =
        headers(&[("X-Hub-Signature-256", "sha256=4864d2759938a15468b5df9ade20bf161da9b4f737ea61794142f3484236bda3")]);
    assert_eq!(verify(Provider::named("GITHUB"), &[&new, &old], &h, br#"{"foo":"bar"}"#, 0), Ok(()));
    assert_eq!(verify(Provider::named("GITHUB"), &[&new], &h, br#"{"foo":"bar"}"#, 0), Err(VerifyError::Mismatch));
}

#[test]
fn generic_needs_no_secret() {
    assert_eq!(verify(Provider::GENERIC, &[], &HeaderMap::new(), BODY, 0), Ok(()));
}

/// Linear's timestamp is in the body (`webhookTimestamp`, ms, within 60 s).
#[test]
fn linear_body_timestamp() {
    use hmac::Mac;
    let now = 1_700_000_000i64;
    let sign = |body: &[u8]| {
        let mut m = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"lin_wh_secret").unwrap();
        m.update(body);
        hex::encode(m.finalize().into_bytes())
    };
    let fresh = format!(r#"{{"action":"create","webhookTimestamp":{}}}"#, now * 1000 - 30_000);
    let stale = format!(r#"{{"action":"create","webhookTimestamp":{}}}"#, now * 1000 - 61_000);
    let at = |body: &str| {
        check(
            Provider::named("LINEAR"),
            "lin_wh_secret",
            &[("Linear-Signature", &sign(body.as_bytes()))],
            body.as_bytes(),
            now,
        )
    };
    assert_eq!(at(&fresh), Ok(()));
    assert_eq!(at(&stale), Err(VerifyError::Stale));
    assert_eq!(at(r#"{"action":"create"}"#), Err(VerifyError::Missing));
}

/// Computed in the reference (Zoom, Twitch, Mailgun).
#[test]
fn zoom_twitch_and_mailgun() {
    let zoom = |sig: &str, body: &[u8], now| {
        check(
            Provider::named("ZOOM"),
            "zoom_secret_token",
            &[("x-zm-signature", sig), ("x-zm-request-timestamp", "1700000000")],
            body,
            now,
        )
    };
    assert_eq!(zoom("v0=90d1d3e604d4c89145f812df724688d9b3655864feacc94a4d4c6d8525cc569f", BODY, 1700000000), Ok(()));
    let validation = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    assert_eq!(
        zoom("v0=c914ce806ecfc847caee06fd9e019d6b15d662c44be7ba1cd7544227b79ae829", validation, 1700000000),
        Ok(())
    );
    assert_eq!(
        zoom_encrypted_token(&SecretString::new("zoom_secret_token"), "qgg8vlvZRS6UYooatFL8Aw"),
        "bd48235863f4a6323ccc4963c594908b7c97f88b4a6a95278f4f093690b12726"
    );
    assert_eq!(
        zoom("v0=90d1d3e604d4c89145f812df724688d9b3655864feacc94a4d4c6d8525cc569f", BODY, 1700000400),
        Err(VerifyError::Stale)
    );

    let twitch = |ts: &str, now| {
        check(
            Provider::named("TWITCH"),
            "keepItSecretKeepItSafe",
            &[
                ("Twitch-Eventsub-Message-Id", "e76c6bd4-55c9-4987-8304-da1588d8988b"),
                ("Twitch-Eventsub-Message-Timestamp", ts),
                (
                    "Twitch-Eventsub-Message-Signature",
                    "sha256=c559f961489733ee85b067be282adba79f028f4d49ee17add36f880ea79546c1",
                ),
            ],
            BODY,
            now,
        )
    };
    let t = chrono::DateTime::parse_from_rfc3339("2023-11-14T22:13:20.123456789Z").unwrap().timestamp();
    assert_eq!(twitch("2023-11-14T22:13:20.123456789Z", t), Ok(()));
    assert_eq!(twitch("2023-11-14T22:13:20.123456789Z", t + 601), Err(VerifyError::Stale));
    assert_eq!(twitch("2023-11-14T22:13:20.12345678Z", t), Err(VerifyError::Mismatch), "signed as sent");

    let mail = |sig: &str, now| {
        let body = format!(
            r#"{{"signature":{{"token":"e0b5477167110d68991efc6b9f89f0a11066af27834600e123","timestamp":"1770920772","signature":"{sig}"}},"event-data":{{}}}}"#
        );
        check(Provider::named("MAILGUN"), "mailgun_signing_key", &[], body.as_bytes(), now)
    };
    assert_eq!(mail("b0198d2dc1c3ddde82949d8c86e6bdc8db304df7e0c11d202e9a0429ee7b4db4", 1770920772), Ok(()));
    assert_eq!(
        mail("b0198d2dc1c3ddde82949d8c86e6bdc8db304df7e0c11d202e9a0429ee7b4db5", 1770920772),
        Err(VerifyError::Mismatch)
    );
    assert_eq!(mail("", 1770920772), Err(VerifyError::Mismatch));
    assert_eq!(
        mail("b0198d2dc1c3ddde82949d8c86e6bdc8db304df7e0c11d202e9a0429ee7b4db4", 1770920772 + 301),
        Err(VerifyError::Stale)
    );
    assert_eq!(check(Provider::named("MAILGUN"), "k", &[], b"{}", 0), Err(VerifyError::Missing));
}

#[test]
fn okta_token_and_graph_client_state() {
    assert_eq!(
        check(
            Provider::named("OKTA"),
            "Basic YWRtaW46c3VwZXJzZWNyZXQ=",
            &[("Authorization", "Basic YWRtaW46c3VwZXJzZWNyZXQ=")],
            BODY,
            0
        ),
        Ok(())
    );
    assert_eq!(
        check(Provider::named("OKTA"), "Basic YWRtaW46c3VwZXJzZWNyZXQ=", &[("Authorization", "Basic nope")], BODY, 0),
        Err(VerifyError::Mismatch)
    );
    let graph = |body: &str| check(Provider::named("MSGRAPH"), "cs-secret", &[], body.as_bytes(), 0);
    assert_eq!(graph(r#"{"value":[{"clientState":"cs-secret","resource":"r"},{"clientState":"cs-secret"}]}"#), Ok(()));
    assert_eq!(
        graph(r#"{"value":[{"clientState":"cs-secret"},{"clientState":"other"}]}"#),
        Err(VerifyError::Mismatch),
        "every notification"
    );
    assert_eq!(graph(r#"{"value":[{"resource":"r"}]}"#), Err(VerifyError::Mismatch));
    assert_eq!(graph(r#"{"value":[]}"#), Err(VerifyError::Missing));
}

/// Computed in the reference (RFC 8032 test 1 key pair).
#[test]
fn discord_ed25519() {
    let public = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
    let sig = "1695961a47c91a1ec033b819b7e87e3dbc583dd0cee6d1fd0216f58ac87b6228ae531ddbf91fb7bc28d7edf7f08604da16f54624f38a6bc0614e4dc13cd47f0f";
    let at_time = |sig: &str, ts: &str, body: &[u8], now: i64| {
        check(
            Provider::named("DISCORD"),
            public,
            &[("X-Signature-Ed25519", sig), ("X-Signature-Timestamp", ts)],
            body,
            now,
        )
    };
    let at = |sig: &str, ts: &str, body: &[u8]| at_time(sig, ts, body, 1_700_000_000);
    assert_eq!(at(sig, "1700000000", br#"{"type":1}"#), Ok(()));
    // Five minutes either way, checked after the signature (M4: no endless replays).
    assert_eq!(at_time(sig, "1700000000", br#"{"type":1}"#, 1_700_000_300), Ok(()));
    assert_eq!(at_time(sig, "1700000000", br#"{"type":1}"#, 1_700_000_301), Err(VerifyError::Stale));
    assert_eq!(at_time(sig, "1700000000", br#"{"type":1}"#, 1_699_999_699), Err(VerifyError::Stale));
    assert_eq!(at_time(sig, "1700000001", br#"{"type":1}"#, 0), Err(VerifyError::Mismatch));
    assert_eq!(at(sig, "1700000001", br#"{"type":1}"#), Err(VerifyError::Mismatch), "timestamp is signed");
    assert_eq!(at(sig, "1700000000", br#"{"type":2}"#), Err(VerifyError::Mismatch));
    assert_eq!(at(&sig[..126], "1700000000", br#"{"type":1}"#), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(at("", "1700000000", br#"{"type":1}"#), Err(VerifyError::Mismatch), "empty");
    assert_eq!(
        check(Provider::named("DISCORD"), public, &[("X-Signature-Ed25519", sig)], br#"{"type":1}"#, 0),
        Err(VerifyError::Missing)
    );
    assert_eq!(
        check(
            Provider::named("DISCORD"),
            "not-hex",
            &[("X-Signature-Ed25519", sig), ("X-Signature-Timestamp", "1700000000")],
            br#"{"type":1}"#,
            0
        ),
        Err(VerifyError::Mismatch)
    );
}

#[test]
fn generic_hmac_configured_scheme() {
    let cfg: ProviderSecret = serde_json::from_value(serde_json::json!({
        "secret": "g-secret", "header": "X-Signature", "algorithm": "SHA512", "encoding": "BASE64",
        "prefix": "sig=", "template": "{timestamp}|{id}|{body}", "timestampHeader": "X-Ts", "idHeader": "X-Id",
        "toleranceSeconds": 60
    }))
    .unwrap();
    let ProviderSecret::GenericHmac(g) = &cfg else { panic!("parsed as {cfg:?}") };
    assert!(g.validate().is_ok());
    let mut m = hmac::Hmac::<sha2::Sha512>::new_from_slice(b"g-secret").unwrap();
    hmac::Mac::update(&mut m, b"1700000000|abc|");
    hmac::Mac::update(&mut m, BODY);
    use base64::Engine;
    let sig = base64::engine::general_purpose::STANDARD.encode(hmac::Mac::finalize(m).into_bytes());
    let h = headers(&[("x-signature", &format!("sig={sig}")), ("x-ts", "1700000000"), ("x-id", "abc")]);
    assert_eq!(verify_configured(&[&cfg], &h, BODY, 1700000000), Ok(()));
    assert_eq!(verify_configured(&[&cfg], &h, BODY, 1700000061), Err(VerifyError::Stale));
    assert_eq!(verify_configured(&[&cfg], &h, b"{}", 1700000000), Err(VerifyError::Mismatch));
    let no_id = headers(&[("x-signature", &format!("sig={sig}")), ("x-ts", "1700000000")]);
    assert_eq!(verify_configured(&[&cfg], &no_id, BODY, 1700000000), Err(VerifyError::Missing));
    // Plain secrets and Meta pairs still parse as before.
    assert!(matches!(
        serde_json::from_value::<ProviderSecret>(serde_json::json!("s")).unwrap(),
        ProviderSecret::Plain(_)
    ));
    assert!(matches!(
        serde_json::from_value::<ProviderSecret>(serde_json::json!({"verifyToken": "v", "appSecret": "a"})).unwrap(),
        ProviderSecret::Meta { .. }
    ));
    let bad: ProviderSecret =
        serde_json::from_value(serde_json::json!({"secret": "s", "header": "X-S", "template": "{timestamp}"})).unwrap();
    let ProviderSecret::GenericHmac(bad) = bad else { panic!() };
    assert!(bad.validate().is_err());
}

fn at_url(
    p: Provider,
    secret: &str,
    h: &[(&str, &str)],
    body: &[u8],
    now: i64,
    method: &str,
    urls: &[&str],
) -> Result<(), VerifyError> {
    let s = SecretString::new(secret);
    let urls: Vec<String> = urls.iter().map(|u| (*u).to_owned()).collect();
    verify_at(p, &[&s], &headers(h), body, now, Target { method, urls: &urls })
}

/// Official (square-nodejs-sdk tests/integration/webhooks.test.ts).
#[test]
fn square_signs_the_notification_url() {
    let body = br#"{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}"#;
    let url = "https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9";
    let key = "Ibxx_5AKakO-3qeNVR61Dw";
    let sig = "GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=";
    let sq = |key: &str, sig: &str, body: &[u8], urls: &[&str]| {
        at_url(Provider::named("SQUARE"), key, &[("X-Square-HmacSha256-Signature", sig)], body, 0, "POST", urls)
    };
    assert_eq!(sq(key, sig, body, &[url]), Ok(()));
    // Any candidate URL may be the one the provider called.
    assert_eq!(sq(key, sig, body, &["https://proxy.internal/x", url]), Ok(()));
    assert_eq!(
        sq(
            "signature-key",
            "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=",
            br#"{"data":{"type":"webhooks","id":">id<"}}"#,
            &["https://webhook.site/webhooks"]
        ),
        Ok(())
    );
    assert_eq!(sq(key, sig, body, &["https://webhook.site/other"]), Err(VerifyError::Mismatch), "other URL");
    assert_eq!(sq(key, sig, b"{}", &[url]), Err(VerifyError::Mismatch), "tampered");
    assert_eq!(sq("wrong", sig, body, &[url]), Err(VerifyError::Mismatch), "wrong key");
    assert_eq!(sq(key, &sig[..20], body, &[url]), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(sq(key, "", body, &[url]), Err(VerifyError::Mismatch), "empty");
    assert_eq!(sq(key, sig, body, &[]), Err(VerifyError::Missing), "no URL known");
    assert_eq!(check(Provider::named("SQUARE"), key, &[], body, 0), Err(VerifyError::Missing));
    assert_eq!(
        delivery_id(Provider::named("SQUARE"), &HeaderMap::new(), body).as_deref(),
        Some("ac3ac95b-f97d-458c-a6e6-18981597e05f")
    );
}

/// Official (hubspot-api-python tests/spec/utils/test_signature.py, v3).
#[test]
fn hubspot_v3() {
    let secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy";
    let body = b"{'example_field':'example_value'}";
    let url = "https://www.example.com/webhook_uri";
    let sig = "K36dawei4A+QBNolUOqo7s91KQDWQ5MXZ/QufNYuk/Y=";
    let ts = "1693657560000";
    let hs = |secret: &str, h: &[(&str, &str)], body: &[u8], now: i64, method: &str| {
        at_url(Provider::named("HUBSPOT"), secret, h, body, now, method, &[url])
    };
    let good = [("X-HubSpot-Signature-v3", sig), ("X-HubSpot-Request-Timestamp", ts)];
    assert_eq!(hs(secret, &good, body, 1693657560, "POST"), Ok(()));
    assert_eq!(hs(secret, &good, body, 1693657560 + 299, "POST"), Ok(()));
    assert_eq!(hs(secret, &good, body, 1693657560 + 301, "POST"), Err(VerifyError::Stale), "stale");
    // Past only, like HubSpot's SDK: a clock ahead of ours is not refused.
    assert_eq!(hs(secret, &good, body, 1693657560 - 600, "POST"), Ok(()));
    assert_eq!(hs(secret, &good, body, 1693657560, "PUT"), Err(VerifyError::Mismatch), "method is signed");
    assert_eq!(hs(secret, &good, b"{}", 1693657560, "POST"), Err(VerifyError::Mismatch), "tampered");
    assert_eq!(hs("wrong", &good, body, 1693657560, "POST"), Err(VerifyError::Mismatch), "wrong secret");
    let other_ts = [("X-HubSpot-Signature-v3", sig), ("X-HubSpot-Request-Timestamp", "1693657561000")];
    assert_eq!(hs(secret, &other_ts, body, 1693657560, "POST"), Err(VerifyError::Mismatch), "timestamp is signed");
    let upper = [("X-HUBSPOT-SIGNATURE-V3", sig), ("x-hubspot-request-timestamp", ts)];
    assert_eq!(hs(secret, &upper, body, 1693657560, "POST"), Ok(()), "header case");
    assert_eq!(hs(secret, &good[..1], body, 1693657560, "POST"), Err(VerifyError::Missing), "no timestamp");
}

/// Official (twilio-python tests/unit/test_request_validator.py, token 12345).
#[test]
fn twilio_form_json_and_ports() {
    let token = "12345";
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let form = b"CallSid=CA1234567890ABCDE&Caller=%2B14158675309&Digits=1234&From=%2B14158675309&To=%2B18005551212";
    let tw = |token: &str, sig: &str, ct: &str, body: &[u8], urls: &[&str]| {
        at_url(
            Provider::named("TWILIO"),
            token,
            &[("X-Twilio-Signature", sig), ("Content-Type", ct)],
            body,
            0,
            "POST",
            urls,
        )
    };
    let form_ct = "application/x-www-form-urlencoded; charset=utf-8";
    assert_eq!(tw(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, form, &[url]), Ok(()));
    // Parameter order on the wire does not matter: they are sorted.
    let shuffled = b"To=%2B18005551212&From=%2B14158675309&Digits=1234&Caller=%2B14158675309&CallSid=CA1234567890ABCDE";
    assert_eq!(tw(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, shuffled, &[url]), Ok(()));
    // Signed with the default port, called without it, and the other way round.
    assert_eq!(tw(token, "kvajT1Ptam85bY51eRf/AJRuM3w=", form_ct, form, &[url]), Ok(()));
    assert_eq!(
        tw(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, form, &["https://mycompany.com:443/myapp.php?foo=1&bar=2"]),
        Ok(())
    );
    // Repeated names: values de-duplicated and sorted.
    let dup = b"Sid=CA123&SidAccount=AC123&Digits=5678&Digits=1234&Digits=1234";
    assert_eq!(tw(token, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", form_ct, dup, &[url]), Ok(()));
    // JSON: the body is signed through the URL's bodySHA256.
    let json_url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let json = br#"{"property": "value", "boolean": true}"#;
    assert_eq!(tw(token, "a9nBmqA0ju/hNViExpshrM61xv4=", "application/json", json, &[json_url]), Ok(()));
    assert_eq!(
        tw(token, "a9nBmqA0ju/hNViExpshrM61xv4=", "application/json", br#"{"property": "other"}"#, &[json_url]),
        Err(VerifyError::Mismatch),
        "a body that is not the one hashed in the URL"
    );
    assert_eq!(
        tw(
            token,
            "a9nBmqA0ju/hNViExpshrM61xv4=",
            "application/json",
            json,
            &["https://mycompany.com/myapp.php?foo=1&bar=2"]
        ),
        Err(VerifyError::Mismatch),
        "JSON without bodySHA256"
    );
    // Negatives.
    assert_eq!(tw(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, b"CallSid=CA1", &[url]), Err(VerifyError::Mismatch));
    assert_eq!(tw("54321", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, form, &[url]), Err(VerifyError::Mismatch));
    assert_eq!(tw(token, "RSOYDt4T1cUTdK1PDd93", form_ct, form, &[url]), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(tw(token, "", form_ct, form, &[url]), Err(VerifyError::Mismatch), "empty");
    assert_eq!(
        tw(token, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", form_ct, form, &["https://mycompany.com/myapp.php?foo=1"]),
        Err(VerifyError::Mismatch),
        "other URL"
    );
    assert_eq!(
        check(Provider::named("TWILIO"), token, &[("Content-Type", form_ct)], form, 0),
        Err(VerifyError::Missing)
    );
}

#[test]
fn twilio_port_variants_keep_everything_else() {
    assert_eq!(
        twilio_port_variants("https://a.example/p?q=1"),
        ["https://a.example/p?q=1", "https://a.example:443/p?q=1"]
    );
    assert_eq!(twilio_port_variants("http://a.example:8080/p"), ["http://a.example:8080/p", "http://a.example/p"]);
    assert_eq!(twilio_port_variants("http://[::1]:3000/p"), ["http://[::1]:3000/p", "http://[::1]/p"]);
    assert_eq!(twilio_port_variants("http://[::1]/p"), ["http://[::1]/p", "http://[::1]:80/p"]);
}

/// Official (sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js).
#[test]
fn sendgrid_ecdsa() {
    let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    let sig = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    let ts = "1600112502";
    let body = b"[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";
    let sg = |key: &str, sig: &str, ts: &str, body: &[u8]| {
        check(
            Provider::named("SENDGRID"),
            key,
            &[("X-Twilio-Email-Event-Webhook-Signature", sig), ("X-Twilio-Email-Event-Webhook-Timestamp", ts)],
            body,
            0,
        )
    };
    assert_eq!(sg(key, sig, ts, body), Ok(()));
    assert!(is_p256_public_key(&SecretString::new(key)));
    assert_eq!(sg(key, sig, ts, &body[..body.len() - 2]), Err(VerifyError::Mismatch), "the trailing CRLF is signed");
    assert_eq!(sg(key, sig, "1600112503", body), Err(VerifyError::Mismatch), "timestamp is signed");
    assert_eq!(sg(key, &sig[..40], ts, body), Err(VerifyError::Mismatch), "truncated");
    assert_eq!(sg(key, "", ts, body), Err(VerifyError::Mismatch), "empty");
    // Another key (a valid P-256 point that did not sign this).
    let other = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
    let other_pub = {
        use p256::pkcs8::EncodePublicKey;
        STANDARD.encode(p256::PublicKey::from(*other.verifying_key()).to_public_key_der().unwrap().as_bytes())
    };
    assert_eq!(sg(&other_pub, sig, ts, body), Err(VerifyError::Mismatch), "wrong key");
    assert!(!is_p256_public_key(&SecretString::new("not-a-key")));
    assert_eq!(
        check(Provider::named("SENDGRID"), key, &[("X-Twilio-Email-Event-Webhook-Signature", sig)], body, 0),
        Err(VerifyError::Missing)
    );
}

#[test]
fn delivery_ids_tell_deliveries_apart() {
    // Linear: the body's webhookId is the subscription's, the same on every event.
    let a = br#"{"action":"create","webhookId":"wh-1","data":{"id":"1"}}"#;
    let b = br#"{"action":"create","webhookId":"wh-1","data":{"id":"2"}}"#;
    let lin = |body: &[u8]| {
        let sig = hex::encode(Hmac::<Sha256>::new_from_slice(b"k").unwrap().chain_update(body).finalize().into_bytes());
        delivery_id(Provider::named("LINEAR"), &headers(&[("Linear-Signature", &sig)]), body)
    };
    assert_ne!(lin(a), lin(b));
    assert_eq!(lin(a), lin(a), "a retry is the same delivery");
    assert_eq!(
        delivery_id(Provider::named("LINEAR"), &headers(&[("Linear-Delivery", "d-1"), ("Linear-Signature", "x")]), a)
            .as_deref(),
        Some("d-1")
    );
    // Signature-keyed providers: bounded keys over what is signed; an unsigned
    // Idempotency-Key or another spelling of the same signature changes nothing (M4).
    let long = "A".repeat(400);
    let id =
        delivery_id(Provider::named("SENDGRID"), &headers(&[("X-Twilio-Email-Event-Webhook-Signature", &long)]), a)
            .unwrap();
    assert!(id.starts_with("signed-") && id.len() == 71, "{id}");
    let meta = |extra: &[(&str, &str)]| {
        let mut h = vec![("X-Hub-Signature-256", "sha256=ab")];
        h.extend_from_slice(extra);
        delivery_id(Provider::named("META"), &headers(&h), a)
    };
    assert_eq!(meta(&[("Idempotency-Key", "k-1")]), meta(&[]));
    assert_eq!(meta(&[("Idempotency-Key", "k-2")]), meta(&[]));
    let upper = delivery_id(Provider::named("META"), &headers(&[("X-Hub-Signature-256", "sha256=AB")]), a);
    assert_eq!(upper, meta(&[]));
    assert_ne!(delivery_id(Provider::named("META"), &headers(&[("X-Hub-Signature-256", "sha256=ab")]), b), meta(&[]));
    // Timestamped schemes: a new timestamp is a new delivery (each is signed afresh).
    let zoom = |ts: &str| {
        delivery_id(Provider::named("ZOOM"), &headers(&[("x-zm-signature", "v0=1"), ("x-zm-request-timestamp", ts)]), a)
    };
    assert_eq!(zoom("100"), zoom("100"));
    assert_ne!(zoom("100"), zoom("101"));
    // A constant credential identifies nothing.
    assert_eq!(delivery_id(Provider::named("OKTA"), &headers(&[("Authorization", "Basic x")]), a), None);
    assert_eq!(delivery_id(Provider::named("GITLAB"), &headers(&[("X-Gitlab-Token", "t")]), a), None);
}

/// Found by `fuzz/provider_signatures`: a correctly signed timestamp far from the clock
/// (Stripe's `t=-9223372036854775808`) overflowed the freshness arithmetic: a panic in
/// debug builds, and in release a wrap-around that passed Stripe's past-only check. The
/// same arithmetic in the other schemes (public keys, Mailgun, Linear, GENERIC_HMAC) too.
#[test]
fn extreme_timestamps_are_stale_not_an_overflow() {
    use ed25519_dalek::Signer;
    let mac = |key: &[u8], parts: &[&[u8]]| {
        let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
        parts.iter().for_each(|p| m.update(p));
        m.finalize().into_bytes()
    };
    for now in [1_700_000_000, i64::MIN, i64::MAX] {
        // A real clock, or one at an extreme, with a timestamp at either extreme.
        for ts in [i64::MIN, i64::MAX].into_iter().filter(|ts| *ts != now) {
            let t = ts.to_string();
            let sig = hex::encode(mac(b"whsec_x", &[t.as_bytes(), b".", BODY]));
            let stripe = check(
                Provider::named("STRIPE"),
                "whsec_x",
                &[("Stripe-Signature", &format!("t={t},v1={sig}"))],
                BODY,
                now,
            );
            // Stripe checks the past only: a timestamp ahead of the clock passes.
            assert_eq!(stripe, if ts > now { Ok(()) } else { Err(VerifyError::Stale) }, "stripe t={t} now={now}");

            let sig = format!("v0={}", hex::encode(mac(b"k", &[b"v0:", t.as_bytes(), b":", BODY])));
            let slack = [("X-Slack-Signature", sig.as_str()), ("X-Slack-Request-Timestamp", t.as_str())];
            assert_eq!(
                check(Provider::named("SLACK"), "k", &slack, BODY, now),
                Err(VerifyError::Stale),
                "slack t={t} now={now}"
            );

            let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
            let public = hex::encode(key.verifying_key().to_bytes());
            let sig = hex::encode(key.sign(&[t.as_bytes(), BODY].concat()).to_bytes());
            let discord = [("X-Signature-Ed25519", sig.as_str()), ("X-Signature-Timestamp", t.as_str())];
            assert_eq!(check(Provider::named("DISCORD"), &public, &discord, BODY, now), Err(VerifyError::Stale));

            let sig = hex::encode(mac(b"mg", &[t.as_bytes(), b"tok"]));
            let body = format!(r#"{{"signature":{{"timestamp":"{t}","token":"tok","signature":"{sig}"}}}}"#);
            assert_eq!(check(Provider::named("MAILGUN"), "mg", &[], body.as_bytes(), now), Err(VerifyError::Stale));

            let body = format!(r#"{{"webhookTimestamp":{ts}}}"#);
            let sig = hex::encode(mac(b"lin", &[body.as_bytes()]));
            let linear = check(Provider::named("LINEAR"), "lin", &[("Linear-Signature", &sig)], body.as_bytes(), now);
            assert_eq!(linear, Err(VerifyError::Stale));

            let cfg: ProviderSecret = serde_json::from_value(serde_json::json!({
                "secret": "g", "header": "X-Sig", "template": "{timestamp}.{body}", "timestampHeader": "X-Ts",
                "toleranceSeconds": 60
            }))
            .unwrap();
            let sig = hex::encode(mac(b"g", &[t.as_bytes(), b".", BODY]));
            let h = headers(&[("X-Sig", &sig), ("X-Ts", &t)]);
            assert_eq!(verify_configured(&[&cfg], &h, BODY, now), Err(VerifyError::Stale));
        }
    }
    // Linear's clock in milliseconds, at the end of the range.
    let body = br#"{"webhookTimestamp":1700000000000}"#;
    let sig = hex::encode(mac(b"lin", &[body]));
    assert_eq!(
        check(Provider::named("LINEAR"), "lin", &[("Linear-Signature", &sig)], body, i64::MAX),
        Err(VerifyError::Stale)
    );
}
