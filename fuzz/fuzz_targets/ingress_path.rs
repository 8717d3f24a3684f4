//! The ingress URL `/webhooks/{provider}/{org}/{workspace}/{app}/{webhookId}?apiKey=`: its
//! path segments (`Provider::from_path_segment`, `WebhookId::parse`, `LocationId::parse`), the
//! `apiKey` query extraction (`check_api_key`), the candidate public URLs, the headers handed
//! on, the signed handshakes, and the body as a payload (with the envelope's round trip).

#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Once;

use arbitrary::{Arbitrary, Unstructured};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use chrono::{TimeZone, Utc};
use hookbridge::domain::{
    ApiKey, EventEnvelope, EventId, Helpers, Location, LocationId, Provider, Webhook, WebhookId, WebhookMessage,
    WebhookName, WebhookSecrets, WebhookState, payload_from_body,
};
use hookbridge::fuzzing::{check_api_key, forwarded_headers, handshake, public_urls};
use hookbridge::ingress::ClientAddr;
use hookbridge::providers;
use hookbridge::registration::Registration;
use hookbridge::secret::SecretString;
use http::{HeaderMap, HeaderName, HeaderValue, Uri};
use libfuzzer_sys::fuzz_target;

/// Header names the ingress reads or drops, besides arbitrary ones.
const NAMES: &[&str] = &[
    "host",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-for",
    "x-request-id",
    "authorization",
    "proxy-authorization",
    "cookie",
    "content-type",
    "content-length",
    "x-gitlab-token",
    "twitch-eventsub-message-type",
];

#[derive(Arbitrary, Debug)]
enum Name {
    Known(u8),
    Any(String),
}

#[derive(Arbitrary, Debug)]
enum Client {
    None,
    V4([u8; 4]),
    V6([u8; 16]),
}

#[derive(Arbitrary, Debug)]
struct Input {
    provider_segment: String,
    /// Pick a real provider's segment instead of the arbitrary one.
    known_provider: Option<u8>,
    org: String,
    workspace: String,
    app: String,
    webhook_id: String,
    use_real_id: bool,
    id_bytes: [u8; 16],
    key_bytes: [u8; 32],
    /// The rest of the query string, around the `apiKey`.
    extra_query: String,
    /// A whole request target as received.
    raw_uri: String,
    public_base: Option<String>,
    headers: Vec<(Name, Vec<u8>)>,
    client: Client,
    content_type: Option<String>,
    body: Vec<u8>,
    secret: Option<String>,
}

/// The seeds' form: a request as sent (`POST /webhooks/... HTTP/1.1`, headers, blank line,
/// body), so real requests can seed the corpus. Anything else is read with `Arbitrary`.
fn from_http(data: &[u8]) -> Option<Input> {
    if !data.starts_with(b"POST ") && !data.starts_with(b"GET ") {
        return None;
    }
    let crlf = data.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4));
    let (head, body) = match crlf.or_else(|| data.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2))) {
        Some((i, n)) => (&data[..i], data[i + n..].to_vec()),
        None => (data, Vec::new()),
    };
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let target = lines.next()?.split(' ').nth(1)?.to_owned();
    let (path, query) = target.split_once('?').unwrap_or((target.as_str(), ""));
    let segs: Vec<&str> = path.split('/').collect();
    let seg = |i: usize| segs.get(i).copied().unwrap_or_default().to_owned();
    let mut key_bytes = [0u8; 32];
    let mut extra = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.strip_prefix("apiKey=") {
            Some(k) => {
                if let Ok(k) = URL_SAFE_NO_PAD.decode(k)
                    && k.len() == 32
                {
                    key_bytes.copy_from_slice(&k);
                }
            }
            None => extra.push(pair),
        }
    }
    let mut headers = Vec::new();
    let mut content_type = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-type") {
            content_type = Some(value.to_owned());
        }
        headers.push((Name::Any(name.to_owned()), value.as_bytes().to_vec()));
    }
    Some(Input {
        provider_segment: seg(2),
        known_provider: None,
        org: seg(3),
        workspace: seg(4),
        app: seg(5),
        webhook_id: seg(6),
        use_real_id: false,
        id_bytes: [0; 16],
        key_bytes,
        extra_query: extra.join("&"),
        raw_uri: target.clone(),
        public_base: None,
        headers,
        client: Client::None,
        content_type,
        body,
        secret: None,
    })
}

fn check_segments_once() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for p in Provider::all() {
            let seg = p.path_segment();
            let url_safe = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-';
            assert!(!seg.is_empty() && seg.bytes().all(url_safe), "{seg:?}");
            assert_eq!(Provider::from_path_segment(&seg), Some(p));
            assert!(!p.name().is_empty());
        }
    });
}

fn location_id(field: &'static str, s: &str) -> Option<LocationId> {
    match LocationId::parse(field, s) {
        Ok(id) => {
            assert_eq!(id.as_str(), s);
            assert!((1..=128).contains(&s.len()));
            assert!(s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)));
            // Stored ids come back through serde the same.
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<LocationId>(&json).unwrap(), id);
            Some(id)
        }
        Err(e) => {
            assert_eq!(e.field, field);
            None
        }
    }
}

/// The API key the handler sees in a query: the one `apiKey` parameter decoded, or nothing
/// (absent, or given twice: serde refuses a duplicate field).
fn presented_key(query: Option<&str>) -> String {
    let values: Vec<String> = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "apiKey")
        .map(|(_, v)| v.into_owned())
        .collect();
    match values.as_slice() {
        [one] => one.clone(),
        _ => String::new(),
    }
}

fn registration(key: &str, provider: Provider, location: Location, id: WebhookId) -> Registration {
    let api_key: ApiKey = serde_json::from_value(serde_json::Value::String(key.to_owned())).unwrap();
    let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
    Registration {
        webhook: Webhook {
            id,
            name: WebhookName::parse("fuzz").unwrap(),
            description: String::new(),
            provider,
            state: WebhookState::Active,
            location,
            created_at: at,
            updated_at: at,
            version: 1,
            helpers: Helpers::default(),
        },
        secrets: WebhookSecrets::new(api_key),
        bindings: Vec::new(),
    }
}

fuzz_target!(|data: &[u8]| {
    let input = match from_http(data) {
        Some(input) => input,
        None => match Input::arbitrary_take_rest(Unstructured::new(data)) {
            Ok(input) => input,
            Err(_) => return,
        },
    };
    check_segments_once();

    // The provider segment.
    let segment = match input.known_provider {
        Some(i) => Provider::all().nth(i as usize % Provider::all().count()).unwrap().path_segment(),
        None => input.provider_segment.clone(),
    };
    let provider = Provider::from_path_segment(&segment);
    if let Some(p) = provider {
        assert_eq!(p.path_segment(), segment);
    }
    let provider = provider.unwrap_or(Provider::GENERIC);

    // The webhook id segment.
    let id_text = if input.use_real_id {
        WebhookId::from(uuid_from(input.id_bytes)).to_string()
    } else {
        input.webhook_id.clone()
    };
    let id = match WebhookId::parse(&id_text) {
        Ok(id) => {
            let shown = id.to_string();
            assert_eq!(shown.len(), 36);
            assert_eq!(WebhookId::parse(&shown).unwrap(), id);
            let json = serde_json::to_string(&id).unwrap();
            assert_eq!(serde_json::from_str::<WebhookId>(&json).unwrap(), id);
            id
        }
        Err(e) => {
            assert_eq!(e.field, "webhookId");
            WebhookId::from(uuid_from(input.id_bytes))
        }
    };

    // The location segments.
    let org = location_id("orgId", &input.org);
    let workspace = location_id("workspaceId", &input.workspace);
    let app = location_id("appId", &input.app);
    let fallback = || LocationId::parse("x", "x").unwrap();
    let location =
        Location::new(org.unwrap_or_else(fallback), workspace.unwrap_or_else(fallback), app.unwrap_or_else(fallback));

    // The API key, as management hands it out (32 bytes, base64url): the URL it builds must
    // pass, whatever else is in the query, unless the query names `apiKey` itself.
    let key = URL_SAFE_NO_PAD.encode(input.key_bytes);
    let reg = registration(&key, provider, location.clone(), id);
    let path = format!(
        "/webhooks/{}/{}/{}/{}/{}",
        provider.path_segment(),
        location.org_id,
        location.workspace_id,
        location.app_id,
        id
    );
    let names_key = form_urlencoded::parse(input.extra_query.as_bytes()).any(|(k, _)| k == "apiKey");
    let query = if input.extra_query.is_empty() {
        format!("apiKey={key}")
    } else {
        format!("{}&apiKey={key}", input.extra_query)
    };
    if let Ok(uri) = Uri::try_from(format!("{path}?{query}")) {
        let ok = check_api_key(&reg, &uri).is_ok();
        assert_eq!(ok, presented_key(uri.query()) == key, "{uri}");
        if !names_key && uri.query() == Some(query.as_str()) {
            assert!(ok, "the handed-out URL was refused: {uri}");
        }
    }

    // Any request target: accepted exactly when its one `apiKey` is the key.
    let uri = Uri::try_from(input.raw_uri.as_str()).ok();
    if let Some(uri) = &uri {
        let ok = check_api_key(&reg, uri).is_ok();
        assert_eq!(ok, presented_key(uri.query()) == key, "{uri}");
        // A stored key that is empty or short (hand-written) opens nothing.
        for short in ["", "x", "0123456789abcde"] {
            assert!(check_api_key(&registration(short, provider, location.clone(), id), uri).is_err(), "{uri}");
        }
    }

    // Headers.
    let mut headers = HeaderMap::new();
    for (name, value) in &input.headers {
        let name = match name {
            Name::Known(i) => HeaderName::from_static(NAMES[*i as usize % NAMES.len()]),
            Name::Any(s) => match HeaderName::from_bytes(s.as_bytes()) {
                Ok(n) => n,
                Err(_) => continue,
            },
        };
        if let Ok(v) = HeaderValue::from_bytes(value) {
            headers.append(name, v);
        }
    }

    // Candidate public URLs (what URL-bound signatures are checked against).
    let uri = uri.unwrap_or_else(|| Uri::from_static("/"));
    let urls = public_urls(input.public_base.as_deref(), &headers, &uri);
    assert!(urls.len() <= 2);
    if urls.len() == 2 {
        assert_ne!(urls[0], urls[1]);
    }
    let pq = uri.path_and_query().map_or("/", |pq| pq.as_str());
    for u in &urls {
        assert!(u.ends_with(pq), "{u:?} does not end with {pq:?}");
    }
    if let Some(base) = &input.public_base {
        assert_eq!(urls[0], format!("{}{pq}", base.trim_end_matches('/')));
    }

    // What is handed on: never a credential, always a request id.
    let client = match input.client {
        Client::None => None,
        Client::V4(b) => Some(ClientAddr(IpAddr::V4(Ipv4Addr::from(b)))),
        Client::V6(b) => Some(ClientAddr(IpAddr::V6(Ipv6Addr::from(b)))),
    };
    let event_id = EventId::from(uuid_from(input.id_bytes));
    let forwarded = forwarded_headers(provider, &headers, client, event_id);
    for banned in
        ["authorization", "proxy-authorization", "cookie"].into_iter().chain(providers::credential_header(provider))
    {
        assert!(!forwarded.contains_key(banned), "{banned} was handed on");
    }
    assert!(!forwarded["x-request-id"].is_empty());
    if let Some(ClientAddr(ip)) = client {
        assert_eq!(forwarded["x-forwarded-for"].last(), Some(&ip.to_string()));
    }
    for name in headers.keys() {
        let n = name.as_str();
        let dropped = ["authorization", "proxy-authorization", "cookie"].contains(&n)
            || providers::credential_header(provider) == Some(n);
        assert_eq!(forwarded.contains_key(n), !dropped, "{n}");
    }

    // Handshakes (answered after the signature passed).
    let secret = input.secret.clone().map(SecretString::new);
    let _ = handshake::after_verification(provider, &headers, &input.body, secret.as_ref());
    let _ = handshake::before_verification(
        provider,
        "validationToken=x&challenge=y",
        &headers,
        &input.body,
        secret.is_some(),
    );
    let as_secret = secret.clone().map(hookbridge::domain::ProviderSecret::Plain);
    let _ = handshake::on_get(
        provider,
        &http::Method::GET,
        "hub.mode=subscribe&hub.challenge=c&hub.verify_token=t&crc_token=x&challenge=y&verify=z",
        &headers,
        as_secret.as_ref(),
    );

    // The body as the event's payload, and the envelope's round trip through the queue.
    if let Ok(payload) = payload_from_body(input.content_type.as_deref(), &input.body) {
        let raw_body = Bytes::copy_from_slice(&input.body);
        let envelope = EventEnvelope {
            event_id,
            webhook_id: id,
            provider,
            webhook_message: WebhookMessage {
                date_time: Utc.timestamp_opt(1_700_000_000, 0).unwrap(),
                payload,
                headers: forwarded,
            },
            raw_body: raw_body.clone(),
        };
        let json = serde_json::to_string(&envelope).expect("an envelope serializes");
        let back: EventEnvelope = serde_json::from_str(&json).expect("an envelope reads back");
        assert_eq!(back.raw_body, raw_body, "raw body not restored byte-exact");
        assert_eq!(back.webhook_message.payload.get(), envelope.webhook_message.payload.get());
        assert_eq!(back.webhook_message.headers, envelope.webhook_message.headers);
        assert_eq!(back.event_id, event_id);
    }
});

fn uuid_from(bytes: [u8; 16]) -> uuid::Uuid {
    uuid::Uuid::from_bytes(bytes)
}
