//! Providers' handshakes, decided from the catalog: what a request is (a check of the
//! endpoint, not an event) and what it must be answered. Pure: the ingress turns an
//! [`Answer`] into HTTP and stores a captured secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, Method, StatusCode};
use serde_json::{Value, json};

use super::{header, mac};
use crate::domain::provider_spec::{Handshake, MacAlgorithm};
use crate::domain::{Provider, ProviderSecret};
use crate::secret::SecretString;

/// What a handshake is answered.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// 200 `text/plain` (echoed challenges).
    Text(String),
    /// 200 JSON.
    Json(Value),
    /// A status without a body.
    Status(StatusCode),
    /// 200 with a header echoed (Asana's `X-Hook-Secret`).
    EchoHeader { name: &'static str, value: String },
}

/// A handshake request, and what follows from it.
#[derive(Debug, PartialEq)]
pub enum Outcome {
    Answer(Answer),
    /// The request delivers the secret (Asana, Notion): keep it when the webhook has none,
    /// then answer.
    Capture {
        secret: SecretString,
        answer: Answer,
    },
}

/// Why a handshake is refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The provider has no handshake for this method.
    NotAllowed,
    /// The handshake is malformed.
    Invalid(&'static str),
    /// The token does not match.
    Mismatch,
}

fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// The verify token a subscription check compares: Meta's and Fitbit's `verifyToken`,
/// or the whole secret (Strava).
fn verify_token(secret: Option<&ProviderSecret>) -> Option<&SecretString> {
    match secret? {
        ProviderSecret::Meta { verify_token, .. } => verify_token.as_ref(),
        ProviderSecret::Plain(s) => Some(s),
        ProviderSecret::GenericHmac(_) => None,
    }
}

/// A `GET` (or `HEAD`) to the ingress URL: the provider's check of the endpoint.
pub fn on_get(
    provider: Provider,
    method: &Method,
    query: &str,
    headers: &HeaderMap,
    secret: Option<&ProviderSecret>,
) -> Result<Answer, Refused> {
    match provider.spec().handshake {
        Handshake::HubChallenge { json } => {
            let (mode, challenge, token) = (
                query_value(query, "hub.mode"),
                query_value(query, "hub.challenge"),
                query_value(query, "hub.verify_token"),
            );
            let (Some(mode), Some(challenge), Some(token)) = (mode, challenge, token) else {
                return Err(Refused::Mismatch);
            };
            let expected = verify_token(secret).ok_or(Refused::Mismatch)?;
            if mode != "subscribe" || !expected.ct_eq(token.as_bytes()) {
                return Err(Refused::Mismatch);
            }
            Ok(if json { Answer::Json(json!({ "hub.challenge": challenge })) } else { Answer::Text(challenge) })
        }
        Handshake::OktaChallenge => {
            let challenge = header(headers, &["x-okta-verification-challenge"])
                .ok_or(Refused::Invalid("missing X-Okta-Verification-Challenge"))?;
            Ok(Answer::Json(json!({ "verification": challenge })))
        }
        Handshake::TwitterCrc => {
            let token = query_value(query, "crc_token").ok_or(Refused::Invalid("missing crc_token"))?;
            let key = secret.and_then(ProviderSecret::signing_key).ok_or(Refused::Mismatch)?;
            let digest = mac::mac(MacAlgorithm::Sha256, key.expose().as_bytes(), &[token.as_bytes()]);
            Ok(Answer::Json(json!({ "response_token": format!("sha256={}", STANDARD.encode(digest)) })))
        }
        Handshake::EchoChallengeQuery => {
            query_value(query, "challenge").map(Answer::Text).ok_or(Refused::Invalid("missing challenge"))
        }
        // Fitbit checks that a wrong code is refused, so a mismatch is a 404, not an error.
        Handshake::FitbitVerify => {
            let code = query_value(query, "verify").ok_or(Refused::Invalid("missing verify"))?;
            let right = verify_token(secret).is_some_and(|t| t.ct_eq(code.as_bytes()));
            Ok(Answer::Status(if right { StatusCode::NO_CONTENT } else { StatusCode::NOT_FOUND }))
        }
        Handshake::HeadOk if method == Method::HEAD => Ok(Answer::Status(StatusCode::OK)),
        _ => Err(Refused::NotAllowed),
    }
}

/// A `POST` that is a handshake the provider does not sign (answered before verification):
/// Microsoft Graph's `validationToken`, Event Grid's subscription validation, Asana's
/// `X-Hook-Secret`, Notion's `verification_token`, WooCommerce's ping. `None`: an event.
pub fn before_verification(
    provider: Provider,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    has_secret: bool,
) -> Option<Outcome> {
    let answer = |a| Some(Outcome::Answer(a));
    match provider.spec().handshake {
        Handshake::GraphValidationToken => query_value(query, "validationToken").and_then(|t| answer(Answer::Text(t))),
        Handshake::EventGridValidation => {
            if header(headers, &["aeg-event-type"]) != Some("SubscriptionValidation") {
                return None;
            }
            let v: Value = serde_json::from_slice(body).ok()?;
            let event = v.as_array().and_then(|a| a.first()).unwrap_or(&v);
            let code = event.pointer("/data/validationCode")?.as_str()?;
            answer(Answer::Json(json!({ "validationResponse": code })))
        }
        // Only the first one counts: a webhook that has its secret verifies signatures, and
        // a second X-Hook-Secret would let the URL's holder replace it.
        Handshake::AsanaHookSecret if !has_secret => {
            let secret = header(headers, &["x-hook-secret"])?.trim();
            (!secret.is_empty()).then(|| Outcome::Capture {
                secret: SecretString::new(secret.to_owned()),
                answer: Answer::EchoHeader { name: "x-hook-secret", value: secret.to_owned() },
            })
        }
        Handshake::NotionVerificationToken if !has_secret && header(headers, &["x-notion-signature"]).is_none() => {
            let v: Value = serde_json::from_slice(body).ok()?;
            let token = v.as_object().filter(|o| o.len() == 1)?.get("verification_token")?.as_str()?;
            Some(Outcome::Capture {
                secret: SecretString::new(token.to_owned()),
                answer: Answer::Status(StatusCode::OK),
            })
        }
        Handshake::WooCommercePing if header(headers, &["x-wc-webhook-signature"]).is_none() => {
            let mut pairs = form_urlencoded::parse(body);
            let only = (pairs.next(), pairs.next());
            match only {
                (Some((k, v)), None) if k == "webhook_id" && !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) => {
                    answer(Answer::Status(StatusCode::OK))
                }
                _ => None,
            }
        }
        _ => None,
    }
}

/// A handshake the provider signs (its signature already verified): Slack's
/// `url_verification`, Zoom's `endpoint.url_validation`, Discord's PING, Twitch's callback
/// verification. `None`: an event.
pub fn after_verification(
    provider: Provider,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&SecretString>,
) -> Option<Answer> {
    let json = || serde_json::from_slice::<Value>(body).ok();
    match provider.spec().handshake {
        // FlowX documents the JSON form; Slack accepts it as well as text.
        Handshake::SlackChallenge => {
            let v = json()?;
            (v.get("type")?.as_str()? == "url_verification")
                .then(|| Some(Answer::Json(json!({ "challenge": v.get("challenge")?.as_str()? }))))?
        }
        Handshake::ZoomValidation => {
            let v = json()?;
            if v.get("event")?.as_str()? != "endpoint.url_validation" {
                return None;
            }
            let plain = v.pointer("/payload/plainToken")?.as_str()?;
            let encrypted = super::zoom_encrypted_token(secret?, plain);
            Some(Answer::Json(json!({ "plainToken": plain, "encryptedToken": encrypted })))
        }
        Handshake::DiscordPing => match json()?.get("type")?.as_i64()? {
            // Interactions endpoint PING: answer PONG.
            1 if json()?.get("event").is_none() => Some(Answer::Json(json!({ "type": 1 }))),
            // Webhook events PING: 204, no body.
            0 => Some(Answer::Status(StatusCode::NO_CONTENT)),
            _ => None,
        },
        Handshake::TwitchChallenge => {
            if header(headers, &["twitch-eventsub-message-type"])? != "webhook_callback_verification" {
                return None;
            }
            Some(Answer::Text(json()?.get("challenge")?.as_str()?.to_owned()))
        }
        _ => None,
    }
}
