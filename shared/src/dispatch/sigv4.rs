//! AWS Signature Version 4 for endpoints behind API Gateway IAM auth or Lambda function
//! URLs: signed by the `aws-sigv4` crate with the function's own credentials (the Lambda
//! environment's) or a role assumed for the connector (STS `AssumeRole`, cached until
//! shortly before the credentials expire). The body's SHA-256 is signed
//! (`x-amz-content-sha256`).

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;

use super::client::OutboundRequest;
use crate::cache::TtlCache;

/// What an AWS_SIGV4 connector signs as.
pub(super) struct Sigv4<'a> {
    pub service: &'a str,
    pub region: &'a str,
    pub role_arn: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

/// Credentials of assumed roles, by role and external id, each until five minutes before
/// it expires (STS gives an hour by default).
pub(super) struct AssumedRoles {
    cached: TtlCache<String, (Credentials, SystemTime)>,
}

impl Default for AssumedRoles {
    fn default() -> Self {
        Self { cached: TtlCache::new(Duration::from_secs(3600), 1000) }
    }
}

/// The function's own credentials, as Lambda (and the AWS CLI) put them in the environment.
fn own_credentials() -> Result<Credentials, String> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) else {
        return Err("AWS_SIGV4: no AWS credentials in the environment".into());
    };
    Ok(Credentials::new(key, secret, var("AWS_SESSION_TOKEN"), None, "environment"))
}

impl AssumedRoles {
    /// The credentials to sign with: the function's own, or the role's (assumed with the
    /// function's own, and kept until five minutes before they expire).
    pub(super) async fn credentials(&self, cfg: &Sigv4<'_>) -> Result<Credentials, String> {
        let own = own_credentials()?;
        let Some(role) = cfg.role_arn else { return Ok(own) };
        let key = format!("{role}|{}", cfg.external_id.unwrap_or_default());
        if let Some((c, _)) = self.cached.get_if(&key, |(_, until)| *until > SystemTime::now()) {
            return Ok(c);
        }
        let (creds, expires) = assume_role(&own, cfg.region, role, cfg.external_id).await?;
        let until = expires.checked_sub(Duration::from_secs(300)).unwrap_or(expires);
        self.cached.insert(key, (creds.clone(), until));
        Ok(creds)
    }
}

/// STS `AssumeRole` (Query API), signed with `aws-sigv4`. The endpoint is
/// `AWS_ENDPOINT_URL_STS` when set (the SDKs' variable), else the region's.
async fn assume_role(
    own: &Credentials,
    region: &str,
    role: &str,
    external_id: Option<&str>,
) -> Result<(Credentials, SystemTime), String> {
    let endpoint = std::env::var("AWS_ENDPOINT_URL_STS")
        .or_else(|_| std::env::var("AWS_ENDPOINT_URL"))
        .unwrap_or_else(|_| format!("https://sts.{region}.amazonaws.com"));
    // Built apart: the serializer is not `Send` and must not live across the call.
    let body = {
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("Action", "AssumeRole");
        form.append_pair("Version", "2011-06-15");
        form.append_pair("RoleArn", role);
        form.append_pair("RoleSessionName", "hookbridge-dispatch");
        if let Some(id) = external_id {
            form.append_pair("ExternalId", id);
        }
        form.finish()
    };
    let headers = vec![("content-type".to_owned(), "application/x-www-form-urlencoded; charset=utf-8".to_owned())];
    let signed = signature_headers(own, "sts", region, "POST", &endpoint, &headers, body.as_bytes())?;
    let client =
        reqwest::Client::builder().timeout(Duration::from_secs(10)).build().map_err(|e| format!("AssumeRole: {e}"))?;
    let mut req = client.post(&endpoint).body(body);
    for (k, v) in headers.iter().chain(&signed) {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| format!("AssumeRole: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    if !status.is_success() {
        let code = xml_value(&text, "Code").unwrap_or("error");
        return Err(format!("AssumeRole {role}: {status} {code}"));
    }
    let field = |name: &str| xml_value(&text, name).ok_or_else(|| format!("AssumeRole: no {name} in the answer"));
    let expires = chrono::DateTime::parse_from_rfc3339(field("Expiration")?)
        .map(SystemTime::from)
        .unwrap_or_else(|_| SystemTime::now() + Duration::from_secs(900));
    let creds = Credentials::new(
        field("AccessKeyId")?,
        field("SecretAccessKey")?,
        Some(field("SessionToken")?.to_owned()),
        Some(expires),
        "assumed-role",
    );
    Ok((creds, expires))
}

/// The text of the first `<name>...</name>` (the STS answer's fields are plain text).
fn xml_value<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{name}>"))? + name.len() + 2;
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    Some(xml[start..end].trim())
}

/// The SigV4 headers (`authorization`, `x-amz-date`, `x-amz-content-sha256`, and
/// `x-amz-security-token` with temporary credentials) for a request.
pub(super) fn signature_headers(
    creds: &Credentials,
    service: &str,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Result<Vec<(String, String)>, String> {
    let identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::Headers;
    settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service)
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| format!("AWS_SIGV4: {e}"))?
        .into();
    let signable = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .map_err(|e| format!("AWS_SIGV4: {e}"))?;
    let (instructions, _) = sign(signable, &params).map_err(|e| format!("AWS_SIGV4: {e}"))?.into_parts();
    Ok(instructions.headers().map(|(k, v)| (k.to_owned(), v.to_owned())).collect())
}

/// Signs a prepared request in place.
pub(super) fn sign_request(req: &mut OutboundRequest, creds: &Credentials, cfg: &Sigv4<'_>) -> Result<(), String> {
    // The host is signed: the request carries it as reqwest will send it.
    let signed = signature_headers(
        creds,
        cfg.service,
        cfg.region,
        req.method.as_str(),
        req.url.as_str(),
        &req.headers,
        &req.body,
    )?;
    for (k, v) in signed {
        req.headers.retain(|(h, _)| !h.eq_ignore_ascii_case(&k));
        req.headers.push((k, v));
    }
    Ok(())
}
