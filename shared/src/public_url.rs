//! The base URL a caller used to reach hookbridge, when no `HOOKBRIDGE_PUBLIC_URL` says it:
//! rebuilt from `X-Forwarded-Proto` and `X-Forwarded-Host`/`Host` (API Gateway sets both).
//! The SAM template cannot hand a function its own API's URL without a circular reference,
//! so deployed functions rely on this unless a custom domain is configured.

use http::{HeaderMap, Uri};

fn first<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.split(',').next()).map(str::trim)
}

/// `scheme://host[:port]` as the caller addressed it, if the request says.
pub fn request_base(headers: &HeaderMap, uri: &Uri) -> Option<String> {
    let proto = first(headers, "x-forwarded-proto").or(uri.scheme_str()).unwrap_or("http");
    let host = first(headers, "x-forwarded-host")
        .or_else(|| first(headers, "host"))
        .or(uri.authority().map(|a| a.as_str()))
        .filter(|h| !h.is_empty())?;
    Some(format!("{proto}://{host}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(k, v)| (http::HeaderName::from_static(k), http::HeaderValue::from_static(v))).collect()
    }

    #[test]
    fn forwarded_headers_win_and_only_the_first_hop_counts() {
        let uri: Uri = "/webhooks/x".parse().unwrap();
        assert_eq!(request_base(&h(&[("host", "127.0.0.1:3000")]), &uri).as_deref(), Some("http://127.0.0.1:3000"));
        let proxied = h(&[
            ("host", "internal:80"),
            ("x-forwarded-proto", "https, http"),
            ("x-forwarded-host", "hooks.example.com"),
        ]);
        assert_eq!(request_base(&proxied, &uri).as_deref(), Some("https://hooks.example.com"));
        assert_eq!(request_base(&HeaderMap::new(), &uri), None);
        let absolute: Uri = "https://abc.execute-api.eu-west-1.amazonaws.com/webhooks/x".parse().unwrap();
        assert_eq!(
            request_base(&HeaderMap::new(), &absolute).as_deref(),
            Some("https://abc.execute-api.eu-west-1.amazonaws.com")
        );
    }
}
