//! The outbound HTTP client: SSRF guard in its resolver, no redirects, explicit timeouts,
//! bounded response reads. One client verifies certificates; a second, used only by
//! connectors flagged `trustAnyCertificate`, does not.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Client, Method, Url, redirect};

use super::guard::{AllowList, GuardedResolver, check};
use crate::cache::TtlCache;

/// Response bodies are kept (and read) up to this size.
pub const MAX_RESPONSE: usize = 4096;

#[derive(Clone)]
pub struct OutboundClient {
    verified: Client,
    insecure: Client,
    allow: Arc<AllowList>,
    /// Clients for connectors with their own TLS (a private CA, a client certificate), by
    /// connector and version.
    custom: Arc<TtlCache<String, Client>>,
}

/// A connector's own TLS: a private CA to trust besides the public roots, and a client
/// identity (certificate and key, PEM) for mutual TLS.
pub struct ClientTls {
    /// Which connector (and version) this is, for the client cache.
    pub key: String,
    pub ca_certificate: Option<String>,
    pub identity: Option<crate::secret::SecretString>,
}

/// A request ready to send. It carries credentials (auth headers, a query-string key, a
/// `clientSecret` in the body): its `Debug` shows the host, path and header names only.
pub struct OutboundRequest {
    pub method: Method,
    pub url: Url,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub timeout: Duration,
    pub trust_any_certificate: bool,
    /// How much of the answer's body is read (deliveries keep an excerpt; flow calls use
    /// the answer).
    pub max_response: usize,
    /// The connector's own TLS, if it has any.
    pub tls: Option<Arc<ClientTls>>,
}

impl std::fmt::Debug for OutboundRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutboundRequest")
            .field("method", &self.method)
            .field("host", &self.url.host_str())
            .field("path", &self.url.path())
            .field("headers", &self.headers.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>())
            .field("body_bytes", &self.body.len())
            .field("timeout", &self.timeout)
            .finish()
    }
}

#[cfg(test)]
mod debug_tests {
    /// Review I3: no credential in `Debug` output.
    #[test]
    fn debug_shows_no_credential() {
        let req = super::OutboundRequest {
            method: reqwest::Method::POST,
            url: reqwest::Url::parse("https://example.com/hook?api_key=q-secret").unwrap(),
            headers: vec![("authorization".into(), "Bearer h-secret".into())],
            body: br#"{"clientSecret":"b-secret"}"#.to_vec(),
            timeout: std::time::Duration::from_secs(1),
            trust_any_certificate: false,
            max_response: super::MAX_RESPONSE,
            tls: None,
        };
        let shown = format!("{req:?}");
        for secret in ["q-secret", "h-secret", "b-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("example.com") && shown.contains("authorization"));
    }
}

/// What came back, or why nothing did.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: Option<u16>,
    pub headers: Vec<(String, String)>,
    /// Up to the request's `max_response` bytes, lossily decoded.
    pub body: String,
    pub latency: Duration,
    pub error: Option<String>,
    /// The target was refused by the guard (never retried).
    pub blocked: bool,
}

impl OutboundResponse {
    /// No answer: why, after how long, and whether the guard refused the target.
    pub fn failed(error: String, latency: Duration, blocked: bool) -> Self {
        Self { status: None, headers: Vec::new(), body: String::new(), latency, error: Some(error), blocked }
    }
}

impl OutboundClient {
    /// The builder every client starts from: the SSRF guard in the resolver, no redirects,
    /// no proxies, bounded connects.
    fn builder(allow: &Arc<AllowList>, insecure: bool) -> reqwest::ClientBuilder {
        Client::builder()
            .dns_resolver(Arc::new(GuardedResolver { allow: allow.clone() }))
            .redirect(redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("hookbridge/", env!("CARGO_PKG_VERSION")))
            .tls_danger_accept_invalid_certs(insecure)
    }

    pub fn new(allow: AllowList) -> Result<Self, reqwest::Error> {
        let allow = Arc::new(allow);
        Ok(Self {
            verified: Self::builder(&allow, false).build()?,
            insecure: Self::builder(&allow, true).build()?,
            allow,
            custom: Arc::new(TtlCache::new(Duration::from_secs(3600), 1000)),
        })
    }

    /// A connector's own client (built once per connector version).
    fn client_for(&self, tls: &ClientTls, insecure: bool) -> Result<Client, String> {
        let key = format!("{}/{insecure}", tls.key);
        if let Some(c) = self.custom.get(&key) {
            return Ok(c);
        }
        let mut b = Self::builder(&self.allow, insecure);
        if let Some(ca) = &tls.ca_certificate {
            b = b.add_root_certificate(
                reqwest::Certificate::from_pem(ca.as_bytes())
                    .map_err(|_| "tls.caCertificate is not a PEM certificate")?,
            );
        }
        if let Some(identity) = &tls.identity {
            b = b.identity(
                reqwest::Identity::from_pem(identity.expose().as_bytes())
                    .map_err(|_| "tls: the client certificate or key is not usable")?,
            );
        }
        let client = b.build().map_err(|e| format!("tls: {e}"))?;
        self.custom.insert(key, client.clone());
        Ok(client)
    }

    /// Whether a PEM CA certificate and a PEM identity (certificate and key) are usable.
    /// (A client is built with each: the TLS stack parses them only then.)
    pub fn check_tls(ca: Option<&str>, identity: Option<&str>) -> Result<(), &'static str> {
        if let Some(ca) = ca {
            // A bundle parses leniently: at least one certificate must come out of it.
            let certs = reqwest::Certificate::from_pem_bundle(ca.as_bytes()).map_err(|_| "caCertificate")?;
            if certs.is_empty() || !ca.contains("-----BEGIN CERTIFICATE-----") {
                return Err("caCertificate");
            }
            let mut b = Client::builder();
            for c in certs {
                b = b.add_root_certificate(c);
            }
            b.build().map_err(|_| "caCertificate")?;
        }
        if let Some(identity) = identity {
            let id = reqwest::Identity::from_pem(identity.as_bytes()).map_err(|_| "clientCertificate")?;
            Client::builder().identity(id).build().map_err(|_| "clientCertificate")?;
        }
        Ok(())
    }

    pub async fn send(&self, req: OutboundRequest) -> OutboundResponse {
        let started = Instant::now();
        let fail = |error: String, blocked: bool| OutboundResponse::failed(error, started.elapsed(), blocked);
        // Literal addresses never reach the resolver: check them here.
        if let Some(host) = req.url.host_str() {
            let literal = host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().ok();
            if let Some(ip) = literal
                && let Err(e) = check(ip, &self.allow)
            {
                return fail(e.to_string(), true);
            }
        }
        let limit = req.max_response;
        let custom = match &req.tls {
            Some(tls) => match self.client_for(tls, req.trust_any_certificate) {
                Ok(c) => Some(c),
                Err(e) => return fail(e, false),
            },
            None => None,
        };
        let client = match &custom {
            Some(c) => c,
            None if req.trust_any_certificate => &self.insecure,
            None => &self.verified,
        };
        let mut builder = client.request(req.method, req.url).timeout(req.timeout).body(req.body);
        for (k, v) in &req.headers {
            builder = builder.header(k, v);
        }
        let mut resp = match builder.send().await {
            Ok(r) => r,
            Err(e) => {
                let blocked = std::error::Error::source(&e).is_some_and(error_chain_has_blocked);
                return fail(describe(&e), blocked);
            }
        };
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut body = Vec::new();
        while body.len() < limit {
            match resp.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
                Ok(None) | Err(_) => break,
            }
        }
        OutboundResponse {
            status: Some(status),
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
            latency: started.elapsed(),
            error: None,
            blocked: false,
        }
    }
}

fn error_chain_has_blocked(mut e: &(dyn std::error::Error + 'static)) -> bool {
    loop {
        if e.is::<super::guard::Blocked>() {
            return true;
        }
        match e.source() {
            Some(s) => e = s,
            None => return false,
        }
    }
}

/// A short, secret-free description of a transport error.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connect error"
    } else if e.is_request() {
        "request error"
    } else {
        "transport error"
    };
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() { kind.to_owned() } else { format!("{kind}: {detail}") }
}
