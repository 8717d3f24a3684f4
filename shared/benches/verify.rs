//! Ingress cost per request: provider verification plus the event envelope (payload
//! validation, header arrays, serialization as queued), against the floor of one
//! HMAC-SHA256 pass plus JSON validation of the same body. 1 KiB, 64 KiB and 1 MiB JSON
//! bodies; Slack, Stripe and Standard Webhooks.

use std::hint::black_box;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use hmac::{Hmac, Mac};
use hookbridge::domain::{EventEnvelope, EventId, Headers, Provider, WebhookId, WebhookMessage, payload_from_body};
use hookbridge::providers::verify;
use hookbridge::secret::SecretString;
use http::{HeaderMap, HeaderName, HeaderValue};
use sha2::Sha256;

const NOW: i64 = 1_700_000_000;

fn body(size: usize) -> Vec<u8> {
    // A JSON document of about `size` bytes: an array of small objects.
    let item = r#"{"id":"evt_0000","type":"message","text":"the quick brown fox jumps over the lazy dog"},"#;
    let mut s = String::with_capacity(size + item.len());
    s.push_str(r#"{"items":["#);
    while s.len() + item.len() + 2 < size {
        s.push_str(item);
    }
    s.pop();
    s.push_str("]}");
    s.into_bytes()
}

fn hmac_hex(key: &[u8], parts: &[&[u8]]) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(key).unwrap();
    for p in parts {
        m.update(p);
    }
    hex::encode(m.finalize().into_bytes())
}

/// Headers a real request of each provider carries, signed over `body`.
fn signed(provider: Provider, body: &[u8]) -> (SecretString, HeaderMap) {
    let ts = NOW.to_string();
    let (secret, pairs): (&str, Vec<(&str, String)>) = match provider.name() {
        "SLACK" => {
            let s = "8f742231b10e8888abcd99yyyzzz85a5";
            let sig = format!("v0={}", hmac_hex(s.as_bytes(), &[b"v0:", ts.as_bytes(), b":", body]));
            (s, vec![("x-slack-signature", sig), ("x-slack-request-timestamp", ts)])
        }
        "STRIPE" => {
            let s = "whsec_test_secret";
            let sig = hmac_hex(s.as_bytes(), &[ts.as_bytes(), b".", body]);
            (s, vec![("stripe-signature", format!("t={ts},v1={sig}"))])
        }
        _ => {
            let s = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
            let key = STANDARD.decode(&s[6..]).unwrap();
            let mut m = Hmac::<Sha256>::new_from_slice(&key).unwrap();
            m.update(b"msg_1.");
            m.update(ts.as_bytes());
            m.update(b".");
            m.update(body);
            let sig = STANDARD.encode(m.finalize().into_bytes());
            (
                s,
                vec![
                    ("webhook-id", "msg_1".into()),
                    ("webhook-timestamp", ts),
                    ("webhook-signature", format!("v1,{sig}")),
                ],
            )
        }
    };
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        h.insert(HeaderName::from_static(k), HeaderValue::from_str(&v).unwrap());
    }
    h.insert("content-type", HeaderValue::from_static("application/json"));
    (SecretString::new(secret), h)
}

/// What the ingress does for an accepted request after reading the body.
fn verify_and_envelope(provider: Provider, secret: &SecretString, headers: &HeaderMap, body: &Bytes) -> Vec<u8> {
    verify(provider, &[secret], headers, body, NOW).expect("verifies");
    let payload = payload_from_body(Some("application/json"), body).expect("valid JSON");
    let mut arrays = Headers::new();
    for (k, v) in headers {
        arrays.entry(k.as_str().to_owned()).or_default().push(String::from_utf8_lossy(v.as_bytes()).into_owned());
    }
    let envelope = EventEnvelope {
        event_id: EventId::generate(),
        webhook_id: WebhookId::generate(),
        provider,
        webhook_message: WebhookMessage { date_time: chrono::Utc::now(), payload, headers: arrays },
        raw_body: body.clone(),
    };
    // As the ingress does: one buffer sized for the body.
    let mut buf = Vec::with_capacity(body.len() + 4096);
    serde_json::to_writer(&mut buf, &envelope).expect("serializes");
    buf
}

/// The floor: one HMAC-SHA256 pass and JSON validation of the same bytes.
fn floor(body: &[u8]) {
    let mut m = Hmac::<Sha256>::new_from_slice(b"8f742231b10e8888abcd99yyyzzz85a5").unwrap();
    m.update(body);
    black_box(m.finalize());
    serde_json::from_slice::<serde::de::IgnoredAny>(body).expect("valid JSON");
}

fn bench(c: &mut Criterion) {
    for (label, size) in [("1KiB", 1024), ("64KiB", 64 * 1024), ("1MiB", 1024 * 1024)] {
        let raw = Bytes::from(body(size));
        let mut group = c.benchmark_group(format!("ingress/{label}"));
        group.throughput(Throughput::Bytes(raw.len() as u64));
        if size >= 1024 * 1024 {
            group.sample_size(30);
        }
        group.bench_function("floor_hmac_plus_json_validation", |b| b.iter(|| floor(black_box(&raw))));
        for provider in [Provider::named("SLACK"), Provider::named("STRIPE"), Provider::named("STANDARD_WEBHOOKS")] {
            let (secret, headers) = signed(provider, &raw);
            group.bench_with_input(BenchmarkId::new("verify_and_envelope", provider.path_segment()), &raw, |b, raw| {
                b.iter(|| black_box(verify_and_envelope(provider, &secret, &headers, raw)))
            });
        }
        group.finish();
    }
}

/// Verification alone at 1 KiB, one provider of each scheme family: body HMACs (hex, base64;
/// SHA-1, SHA-256, SHA-512, MD5), timestamped ones (Slack, Stripe, Standard Webhooks),
/// tokens and Basic, a JWT carrying the body hash, a keyed digest, URL-bound ones (the URL is
/// signed too) and the asymmetric ones (SendGrid ECDSA P-256, Discord Ed25519), next to the
/// floors: one HMAC-SHA256 pass alone, and with JSON validation.
fn bench_other_schemes(c: &mut Criterion) {
    use hookbridge::providers::{Target, verify_at};
    let raw = Bytes::from(body(1024));
    let url =
        "https://hooks.example.com/webhooks/x/acme/main/shop/0191f3a2-0000-7000-8000-000000000000?apiKey=k".to_owned();
    let urls = [url.clone()];
    let target = Target { method: "POST", urls: &urls };
    let header_map = |pairs: Vec<(&'static str, String)>| {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(HeaderName::from_static(k), HeaderValue::from_str(&v).unwrap());
        }
        h.insert("content-type", HeaderValue::from_static("application/json"));
        h
    };
    let b64_hmac = |key: &str, parts: &[&[u8]]| {
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        parts.iter().for_each(|p| m.update(p));
        STANDARD.encode(m.finalize().into_bytes())
    };
    let ts_ms = (NOW * 1000).to_string();
    let twilio_url = {
        use sha2::Digest;
        format!("{url}&bodySHA256={}", hex::encode(Sha256::digest(&raw)))
    };
    let twilio_sig = {
        let mut m = Hmac::<sha1::Sha1>::new_from_slice(b"twilio-token").unwrap();
        m.update(twilio_url.as_bytes());
        STANDARD.encode(m.finalize().into_bytes())
    };
    let twilio_urls = [twilio_url];
    let p256_key = p256::ecdsa::SigningKey::from_slice(&[42u8; 32]).unwrap();
    let p256_public = {
        use p256::pkcs8::EncodePublicKey;
        STANDARD.encode(p256::PublicKey::from(*p256_key.verifying_key()).to_public_key_der().unwrap().as_bytes())
    };
    let p256_sig: p256::ecdsa::Signature = {
        use p256::ecdsa::signature::Signer;
        p256_key.sign(&[NOW.to_string().as_bytes(), &raw[..]].concat())
    };
    let ed_key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let ed_sig = {
        use ed25519_dalek::Signer;
        hex::encode(ed_key.sign(&[NOW.to_string().as_bytes(), &raw[..]].concat()).to_bytes())
    };
    let hex_hmac_of = |key: &str, parts: &[&[u8]]| {
        let mut m = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
        parts.iter().for_each(|p| m.update(p));
        hex::encode(m.finalize().into_bytes())
    };
    let other_mac = |alg: &str, key: &str, parts: &[&[u8]]| -> String {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], parts: &[&[u8]]) -> String {
            let mut m = <M as hmac::digest::KeyInit>::new_from_slice(key).unwrap();
            parts.iter().for_each(|p| m.update(p));
            hex::encode(m.finalize().into_bytes())
        }
        match alg {
            "sha1" => run::<Hmac<sha1::Sha1>>(key.as_bytes(), parts),
            "sha512" => run::<Hmac<sha2::Sha512>>(key.as_bytes(), parts),
            _ => run::<Hmac<md5::Md5>>(key.as_bytes(), parts),
        }
    };
    let ts = NOW.to_string();
    let jwt = {
        use base64::engine::general_purpose::URL_SAFE_NO_PAD;
        use sha2::Digest;
        let head = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let claims = URL_SAFE_NO_PAD
            .encode(serde_json::json!({"iss": "netlify", "sha256": hex::encode(Sha256::digest(&raw))}).to_string());
        let mut m = Hmac::<Sha256>::new_from_slice(b"netlify-jws").unwrap();
        m.update(format!("{head}.{claims}").as_bytes());
        format!("{head}.{claims}.{}", URL_SAFE_NO_PAD.encode(m.finalize().into_bytes()))
    };
    let cloudinary = {
        use sha2::Digest;
        hex::encode(sha1::Sha1::digest([&raw[..], ts.as_bytes(), b"cld-secret"].concat()))
    };
    let svix_key = STANDARD.encode(b"a 24-byte signing secret");
    let cases: Vec<(Provider, String, HeaderMap, Target)> = vec![
        (
            Provider::named("GITHUB"),
            "gh-secret".into(),
            header_map(vec![("x-hub-signature-256", format!("sha256={}", hex_hmac_of("gh-secret", &[&raw])))]),
            target,
        ),
        (
            Provider::named("SHOPIFY"),
            "shop-secret".into(),
            header_map(vec![("x-shopify-hmac-sha256", b64_hmac("shop-secret", &[&raw]))]),
            target,
        ),
        (
            Provider::named("SLACK"),
            "slack-secret".into(),
            header_map(vec![
                (
                    "x-slack-signature",
                    format!("v0={}", hex_hmac_of("slack-secret", &[b"v0:", ts.as_bytes(), b":", &raw])),
                ),
                ("x-slack-request-timestamp", ts.clone()),
            ]),
            target,
        ),
        (
            Provider::named("STRIPE"),
            "whsec_stripe".into(),
            header_map(vec![(
                "stripe-signature",
                format!("t={ts},v1={}", hex_hmac_of("whsec_stripe", &[ts.as_bytes(), b".", &raw])),
            )]),
            target,
        ),
        (
            Provider::named("STANDARD_WEBHOOKS"),
            format!("whsec_{svix_key}"),
            header_map(vec![
                ("webhook-id", "msg_1".into()),
                ("webhook-timestamp", ts.clone()),
                ("webhook-signature", {
                    let mut m = Hmac::<Sha256>::new_from_slice(b"a 24-byte signing secret").unwrap();
                    [b"msg_1.".as_slice(), ts.as_bytes(), b".", &raw].iter().for_each(|p| m.update(p));
                    format!("v1,{}", STANDARD.encode(m.finalize().into_bytes()))
                }),
            ]),
            target,
        ),
        (
            Provider::named("INTERCOM"),
            "ic-secret".into(),
            header_map(vec![("x-hub-signature", format!("sha1={}", other_mac("sha1", "ic-secret", &[&raw])))]),
            target,
        ),
        (
            Provider::named("PAYSTACK"),
            "sk_test_1".into(),
            header_map(vec![("x-paystack-signature", other_mac("sha512", "sk_test_1", &[&raw]))]),
            target,
        ),
        (
            Provider::named("PATREON"),
            "patreon".into(),
            header_map(vec![("x-patreon-signature", other_mac("md5", "patreon", &[&raw]))]),
            target,
        ),
        (Provider::named("GITLAB"), "gl-token".into(), header_map(vec![("x-gitlab-token", "gl-token".into())]), target),
        (
            Provider::named("POSTMARK"),
            "hooks:pw".into(),
            header_map(vec![("authorization", format!("Basic {}", STANDARD.encode("hooks:pw")))]),
            target,
        ),
        (Provider::named("NETLIFY"), "netlify-jws".into(), header_map(vec![("x-webhook-signature", jwt)]), target),
        (
            Provider::named("CLOUDINARY"),
            "cld-secret".into(),
            header_map(vec![("x-cld-signature", cloudinary), ("x-cld-timestamp", ts.clone())]),
            target,
        ),
        (
            Provider::named("SQUARE"),
            "square-key".into(),
            header_map(vec![("x-square-hmacsha256-signature", b64_hmac("square-key", &[url.as_bytes(), &raw]))]),
            target,
        ),
        (
            Provider::named("HUBSPOT"),
            "hubspot-secret".into(),
            header_map(vec![
                (
                    "x-hubspot-signature-v3",
                    b64_hmac("hubspot-secret", &[b"POST", url.as_bytes(), &raw, ts_ms.as_bytes()]),
                ),
                ("x-hubspot-request-timestamp", ts_ms.clone()),
            ]),
            target,
        ),
        (
            Provider::named("TWILIO"),
            "twilio-token".into(),
            header_map(vec![("x-twilio-signature", twilio_sig)]),
            Target { method: "POST", urls: &twilio_urls },
        ),
        (
            Provider::named("SENDGRID"),
            p256_public,
            header_map(vec![
                ("x-twilio-email-event-webhook-signature", STANDARD.encode(p256_sig.to_der().as_bytes())),
                ("x-twilio-email-event-webhook-timestamp", NOW.to_string()),
            ]),
            target,
        ),
        (
            Provider::named("DISCORD"),
            hex::encode(ed_key.verifying_key().to_bytes()),
            header_map(vec![("x-signature-ed25519", ed_sig), ("x-signature-timestamp", NOW.to_string())]),
            target,
        ),
    ];
    let mut group = c.benchmark_group("verify_only/1KiB");
    group.throughput(Throughput::Bytes(raw.len() as u64));
    group.bench_function("floor_hmac_plus_json_validation", |b| b.iter(|| floor(black_box(&raw))));
    // One pass of each MAC alone: a scheme's overhead is measured against its own algorithm.
    fn one_pass<M: Mac + hmac::digest::KeyInit>(raw: &[u8]) {
        let mut m = <M as hmac::digest::KeyInit>::new_from_slice(b"8f742231b10e8888abcd99yyyzzz85a5").unwrap();
        m.update(black_box(raw));
        black_box(m.finalize());
    }
    group.bench_function("floor_hmac_sha256", |b| b.iter(|| one_pass::<Hmac<Sha256>>(&raw)));
    group.bench_function("floor_hmac_sha1", |b| b.iter(|| one_pass::<Hmac<sha1::Sha1>>(&raw)));
    group.bench_function("floor_hmac_sha512", |b| b.iter(|| one_pass::<Hmac<sha2::Sha512>>(&raw)));
    group.bench_function("floor_hmac_md5", |b| b.iter(|| one_pass::<Hmac<md5::Md5>>(&raw)));
    for (provider, secret, headers, target) in &cases {
        let secret = SecretString::new(secret.clone());
        group.bench_function(BenchmarkId::new("verify", provider.path_segment()), |b| {
            b.iter(|| verify_at(*provider, &[&secret], headers, black_box(&raw), NOW, *target).expect("verifies"))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, bench_other_schemes);
criterion_main!(benches);
