//! Connector requests as callers write them (secrets included), and how a PATCH applies.

use super::*;

/// Auth as given by the caller, secrets included.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum AuthInput {
    /// A struct variant, so that unknown fields are refused here too.
    None {},
    Bearer {
        token: SecretString,
    },
    ApiKey {
        key: String,
        value: SecretString,
        #[serde(rename = "in", default)]
        placement: KeyPlacement,
    },
    Basic {
        username: String,
        password: SecretString,
    },
    ClientSecret {
        secret: SecretString,
    },
    /// OAuth 2.0 client credentials: hookbridge fetches and caches the token.
    #[serde(rename = "OAUTH2_CLIENT_CREDENTIALS", rename_all = "camelCase")]
    OAuth2ClientCredentials {
        token_url: EndpointUrl,
        client_id: String,
        client_secret: SecretString,
        #[serde(default)]
        scopes: Vec<String>,
        audience: Option<String>,
        client_auth: Option<ClientAuth>,
    },
    /// AWS Signature Version 4 with the dispatch function's credentials or an assumed role.
    #[serde(rename = "AWS_SIGV4", rename_all = "camelCase")]
    AwsSigv4 {
        service: String,
        region: String,
        role_arn: Option<String>,
        external_id: Option<String>,
    },
}

impl AuthInput {
    /// The public half and the credential, validated; `at` is where the auth object is
    /// (`auth`, `registration.auth`).
    pub fn split(self, at: &str) -> Result<(ConnectorAuth, Option<SecretString>), ApiError> {
        let bad = |field: &str, m: &str| ApiError::invalid(format!("{at}.{field}"), m);
        Ok(match self {
            AuthInput::None {} => (ConnectorAuth::None, None),
            AuthInput::Bearer { token } => {
                if token.expose().is_empty() {
                    return Err(bad("token", "must not be empty"));
                }
                (ConnectorAuth::Bearer, Some(token))
            }
            AuthInput::ApiKey { key, value, placement } => {
                if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
                    return Err(bad("key", "must be a valid header or parameter name"));
                }
                (ConnectorAuth::ApiKey { key, placement }, Some(value))
            }
            AuthInput::Basic { username, password } => {
                if username.is_empty() || username.chars().count() > 100 || username.contains(':') {
                    return Err(bad("username", "must be 1 to 100 characters without ':'"));
                }
                if password.expose().is_empty() || password.expose().chars().count() > 100 {
                    return Err(bad("password", "must be 1 to 100 characters"));
                }
                (ConnectorAuth::Basic { username }, Some(password))
            }
            AuthInput::ClientSecret { secret } => {
                if secret.expose().is_empty() || secret.expose().chars().count() > 250 {
                    return Err(bad("secret", "must be 1 to 250 characters"));
                }
                (ConnectorAuth::ClientSecret, Some(secret))
            }
            AuthInput::OAuth2ClientCredentials {
                token_url,
                client_id,
                client_secret,
                scopes,
                audience,
                client_auth,
            } => {
                let visible = |s: &str| !s.is_empty() && s.chars().count() <= 256 && s.chars().all(|c| !c.is_control());
                if !visible(&client_id) {
                    return Err(bad("clientId", "1 to 256 characters, no control characters"));
                }
                if client_secret.expose().is_empty() || client_secret.expose().chars().count() > 1024 {
                    return Err(bad("clientSecret", "must be 1 to 1024 characters"));
                }
                // RFC 6749 scope tokens: visible ASCII without spaces, quotes or backslashes.
                let token = |s: &String| {
                    !s.is_empty()
                        && s.len() <= 256
                        && s.bytes().all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
                };
                if scopes.len() > 50 || !scopes.iter().all(token) {
                    return Err(bad("scopes", "at most 50 scopes of visible ASCII, without spaces, '\"' or '\\'"));
                }
                if audience.as_deref().is_some_and(|a| !visible(a)) {
                    return Err(bad("audience", "1 to 256 characters, no control characters"));
                }
                let auth = ConnectorAuth::OAuth2ClientCredentials {
                    token_url,
                    client_id,
                    scopes,
                    audience,
                    client_auth: client_auth.unwrap_or_default(),
                };
                (auth, Some(client_secret))
            }
            AuthInput::AwsSigv4 { service, region, role_arn, external_id } => {
                let name = |s: &str| {
                    (1..=64).contains(&s.len())
                        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                };
                if !name(&service) {
                    return Err(bad("service", "1 to 64 lower-case letters, digits or '-' (execute-api, lambda, ...)"));
                }
                if !name(&region) {
                    return Err(bad("region", "1 to 64 lower-case letters, digits or '-' (us-east-1, ...)"));
                }
                if role_arn.as_deref().is_some_and(|r| !valid_role_arn(r)) {
                    return Err(bad("roleArn", "an IAM role ARN (arn:aws:iam::123456789012:role/name)"));
                }
                let id_ok = |s: &str| {
                    (2..=1224).contains(&s.len())
                        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@:/-_".contains(&b))
                };
                if external_id.as_deref().is_some_and(|e| !id_ok(e)) {
                    return Err(bad("externalId", "2 to 1224 characters of letters, digits and +=,.@:/-_"));
                }
                if external_id.is_some() && role_arn.is_none() {
                    return Err(bad("externalId", "only with roleArn"));
                }
                (ConnectorAuth::AwsSigv4 { service, region, role_arn, external_id }, None)
            }
        })
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SigningInput {
    pub scheme: SigningScheme,
    /// HMAC_SHA256 (default) or ED25519 (STANDARD_WEBHOOKS `v1a`, HTTP_MESSAGE_SIGNATURES).
    pub algorithm: Option<SigningAlgorithm>,
    /// HTTP_MESSAGE_SIGNATURES' `keyid` (required there, refused elsewhere).
    pub key_id: Option<String>,
    /// Given, or generated when omitted (Ed25519: the private key, `whsk_` + base64 of its
    /// 32-byte seed; only its public half is ever shown).
    pub secret: Option<SecretString>,
}

/// `tls` as the caller gives it: a private CA (PEM) and a client certificate with its key
/// (PEM, mutual TLS; stored in the secret store and never shown again).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TlsInput {
    pub ca_certificate: Option<String>,
    pub client_certificate: Option<String>,
    pub client_key: Option<SecretString>,
}

/// PEM inputs are bounded like every stored value.
const MAX_PEM_BYTES: usize = 16 * 1024;

impl TlsInput {
    /// The connector's settings and the client identity, checked (the certificate and key
    /// come together, and each parses).
    pub fn resolve(self) -> Result<(TlsSettings, Option<(SecretString, SecretString)>), ApiError> {
        let too_long = |s: &str| s.len() > MAX_PEM_BYTES;
        if self.ca_certificate.as_deref().is_some_and(too_long) {
            return Err(ApiError::invalid("tls.caCertificate", "at most 16 KiB of PEM"));
        }
        let identity = match (self.client_certificate, self.client_key) {
            (None, None) => None,
            (Some(cert), Some(key)) => {
                if too_long(&cert) || too_long(key.expose()) {
                    return Err(ApiError::invalid("tls.clientCertificate", "at most 16 KiB of PEM each"));
                }
                Some((SecretString::new(cert), key))
            }
            (Some(_), None) => return Err(ApiError::invalid("tls.clientKey", "required with clientCertificate")),
            (None, Some(_)) => return Err(ApiError::invalid("tls.clientCertificate", "required with clientKey")),
        };
        let pem = identity.as_ref().map(|(c, k)| format!("{}\n{}", c.expose(), k.expose()));
        crate::dispatch::OutboundClient::check_tls(self.ca_certificate.as_deref(), pem.as_deref())
            .map_err(|field| ApiError::invalid(format!("tls.{field}"), "not a usable PEM certificate (and key)"))?;
        let settings = TlsSettings { ca_certificate: self.ca_certificate, client_certificate: identity.is_some() };
        Ok((settings, identity))
    }
}

/// A connector's signing as it is stored: the scheme, algorithm, key id and the secret.
pub struct Signing {
    pub scheme: SigningScheme,
    pub algorithm: SigningAlgorithm,
    pub key_id: Option<String>,
    pub secret: SecretString,
}

impl SigningInput {
    /// Checks the combination and the secret, generating one when none is given; `at` is
    /// where the object is (`signing`).
    pub fn resolve(self, at: &str) -> Result<Signing, ApiError> {
        let algorithm = self.algorithm.unwrap_or_default();
        let ed25519_ok = matches!(self.scheme, SigningScheme::StandardWebhooks | SigningScheme::HttpMessageSignatures);
        if algorithm == SigningAlgorithm::Ed25519 && !ed25519_ok {
            return Err(ApiError::invalid(
                format!("{at}.algorithm"),
                "ED25519 is for STANDARD_WEBHOOKS and HTTP_MESSAGE_SIGNATURES",
            ));
        }
        match (self.scheme, &self.key_id) {
            (SigningScheme::HttpMessageSignatures, None) => {
                return Err(ApiError::invalid(format!("{at}.keyId"), "required by HTTP_MESSAGE_SIGNATURES"));
            }
            (SigningScheme::HttpMessageSignatures, Some(k)) if !valid_key_id(k) => {
                return Err(ApiError::invalid(
                    format!("{at}.keyId"),
                    "1 to 256 visible ASCII characters, without '\"' or '\\'",
                ));
            }
            (SigningScheme::HttpMessageSignatures, _) | (_, None) => {}
            (_, Some(_)) => return Err(ApiError::invalid(format!("{at}.keyId"), "only for HTTP_MESSAGE_SIGNATURES")),
        }
        let secret = match self.secret {
            Some(secret) => {
                check_signing_secret(self.scheme, algorithm, &secret, &format!("{at}.secret"))?;
                secret
            }
            None => signing::generate_secret(self.scheme, algorithm),
        };
        Ok(Signing { scheme: self.scheme, algorithm, key_id: self.key_id, secret })
    }
}

/// `arn:<partition>:iam::<12 digits>:role/<path and name>`.
fn valid_role_arn(r: &str) -> bool {
    let Some(rest) = r.strip_prefix("arn:") else { return false };
    let mut parts = rest.splitn(5, ':');
    let (Some(partition), Some("iam"), Some(""), Some(account), Some(resource)) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let name = resource.strip_prefix("role/").unwrap_or_default();
    partition.starts_with("aws")
        && account.len() == 12
        && account.bytes().all(|b| b.is_ascii_digit())
        && (1..=512).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"+=,.@/-_".contains(&b))
}

/// An RFC 9421 `keyid` written as a structured-field string without escapes.
fn valid_key_id(k: &str) -> bool {
    (1..=256).contains(&k.len()) && k.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateConnector {
    pub name: ConnectorName,
    #[serde(default)]
    pub description: String,
    pub base_url: EndpointUrl,
    #[serde(default)]
    pub method: HttpMethod,
    #[serde(default)]
    pub path: String,
    pub auth: Option<AuthInput>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    pub signing: Option<SigningInput>,
    #[serde(default)]
    pub trust_any_certificate: bool,
    /// A private CA and a client certificate (mutual TLS).
    pub tls: Option<TlsInput>,
    #[serde(default)]
    pub event_types: Vec<String>,
    /// Audit filters (Descope's): every one must pass.
    #[serde(default)]
    pub filters: Vec<EventFilter>,
    pub body_template: Option<serde_json::Value>,
    pub batch: Option<BatchInput>,
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub timeout_ms: Option<u64>,
    pub retry: Option<RetryPolicy>,
    pub enabled: Option<bool>,
}

/// `{"maxEvents": n}`: deliver an audit batch's events together, up to n per request.
#[derive(Deserialize, Serialize, Clone, Copy, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BatchInput {
    #[serde(deserialize_with = "crate::domain::limits::whole::u32")]
    pub max_events: u32,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateConnector {
    pub name: Option<ConnectorName>,
    pub description: Option<String>,
    pub base_url: Option<EndpointUrl>,
    pub method: Option<HttpMethod>,
    pub path: Option<String>,
    pub auth: Option<AuthInput>,
    pub headers: Option<BTreeMap<String, String>>,
    /// `null` removes signing.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub signing: Option<Option<SigningInput>>,
    pub trust_any_certificate: Option<bool>,
    /// `null` removes the connector's own TLS.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub tls: Option<Option<TlsInput>>,
    pub event_types: Option<Vec<String>>,
    pub filters: Option<Vec<EventFilter>>,
    /// `null` removes the template.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub body_template: Option<Option<serde_json::Value>>,
    /// `null` turns batching off.
    #[serde(default, with = "serde_with::rust::double_option")]
    pub batch: Option<Option<BatchInput>>,
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub timeout_ms: Option<u64>,
    pub retry: Option<RetryPolicy>,
    pub enabled: Option<bool>,
}

impl CreateConnector {
    /// The new connector and its secrets, validated (no I/O): what the handler stores, and
    /// what the fuzz target checks.
    pub fn build(self, now: DateTime<Utc>) -> Result<(Connector, ConnectorSecrets), ApiError> {
        let (auth, credential) = self.auth.unwrap_or(AuthInput::None {}).split("auth")?;
        let signing = self.signing.map(|s| s.resolve("signing")).transpose()?;
        let tls = self.tls.map(TlsInput::resolve).transpose()?;
        let (client_certificate, client_key) = tls.as_ref().and_then(|(_, i)| i.clone()).unzip();
        let connector = Connector {
            id: ConnectorId::generate(),
            name: self.name,
            description: self.description,
            base_url: self.base_url,
            method: self.method,
            path: self.path,
            auth,
            headers: self.headers,
            signing: signing.as_ref().map(|s| s.scheme),
            signing_algorithm: signing.as_ref().map(|s| s.algorithm).unwrap_or_default(),
            signing_key_id: signing.as_ref().and_then(|s| s.key_id.clone()),
            trust_any_certificate: self.trust_any_certificate,
            tls: tls.map(|(settings, _)| settings),
            event_types: self.event_types,
            filters: self.filters,
            body_template: template_text(self.body_template)?,
            batch_max_events: self.batch.map(|b| b.max_events),
            timeout_ms: self.timeout_ms.unwrap_or(10_000),
            retry: self.retry.unwrap_or_default(),
            enabled: self.enabled.unwrap_or(true),
            disabled_reason: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        validate(&connector)?;
        let signing_secret = signing.map(|s| s.secret);
        let secrets = ConnectorSecrets {
            credential,
            signing_secret,
            client_certificate,
            client_key,
            ..ConnectorSecrets::default()
        };
        Ok((connector, secrets))
    }
}

impl UpdateConnector {
    /// The change applied to a connector and its secrets, validated (no I/O): what the
    /// handler stores, and what the fuzz target checks. `Ok(true)` when the secrets changed.
    pub fn apply(self, c: &mut Connector, secrets: &mut ConnectorSecrets) -> Result<bool, ApiError> {
        let mut secrets_changed = false;
        if let Some(v) = self.name {
            c.name = v;
        }
        if let Some(v) = self.description {
            c.description = v;
        }
        if let Some(v) = self.base_url {
            c.base_url = v;
        }
        if let Some(v) = self.method {
            c.method = v;
        }
        if let Some(v) = self.path {
            c.path = v;
        }
        if let Some(auth) = self.auth {
            let (auth, credential) = auth.split("auth")?;
            c.auth = auth;
            secrets.credential = credential;
            secrets_changed = true;
        }
        if let Some(v) = self.headers {
            c.headers = v;
        }
        if let Some(signing) = self.signing {
            let signing = signing.map(|s| s.resolve("signing")).transpose()?;
            c.signing = signing.as_ref().map(|s| s.scheme);
            c.signing_algorithm = signing.as_ref().map(|s| s.algorithm).unwrap_or_default();
            c.signing_key_id = signing.as_ref().and_then(|s| s.key_id.clone());
            secrets.signing_secret = signing.map(|s| s.secret);
            secrets.previous_signing_secret = None;
            secrets.previous_until = None;
            secrets_changed = true;
        }
        if let Some(v) = self.trust_any_certificate {
            c.trust_any_certificate = v;
        }
        if let Some(tls) = self.tls {
            let tls = tls.map(TlsInput::resolve).transpose()?;
            let identity = tls.as_ref().and_then(|(_, i)| i.clone());
            c.tls = tls.map(|(settings, _)| settings);
            (secrets.client_certificate, secrets.client_key) = identity.unzip();
            secrets_changed = true;
        }
        if let Some(v) = self.event_types {
            c.event_types = v;
        }
        if let Some(v) = self.filters {
            c.filters = v;
        }
        if let Some(v) = self.body_template {
            c.body_template = template_text(v)?;
        }
        if let Some(v) = self.batch {
            c.batch_max_events = v.map(|b| b.max_events);
        }
        if let Some(v) = self.timeout_ms {
            c.timeout_ms = v;
        }
        if let Some(v) = self.retry {
            c.retry = v;
        }
        if let Some(v) = self.enabled {
            c.enabled = v;
            if v {
                c.disabled_reason = None;
            }
        }
        validate(c)?;
        Ok(secrets_changed)
    }
}
