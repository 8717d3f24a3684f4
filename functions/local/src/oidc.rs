//! The local runner's stand-in for API Gateway's JWT authorizer: with `HOOKBRIDGE_OIDC_*`
//! set, a bearer token that is a JWT signed by the issuer (keys from its JWKS), for the
//! configured audience, unexpired, authenticates the caller as `jwt:<sub>` in place of the
//! admin token. Anything else is left to the admin-token check (which refuses it).

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use hookbridge::config::OidcSettings;
use hookbridge::management::{Caller, EdgeAuthenticated};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use tokio::sync::RwLock;

pub struct JwtCheck {
    oidc: OidcSettings,
    http: reqwest::Client,
    /// The issuer's keys, read on first use and again when a token names an unknown key.
    keys: RwLock<Option<JwkSet>>,
}

#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    /// OAuth scopes, space-separated (`scope`) or as a list (`scp`, Okta and Azure).
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Vec<String>>,
}

#[derive(serde::Deserialize)]
struct Discovery {
    jwks_uri: String,
}

/// Algorithms an issuer may sign with: asymmetric only (a shared-secret HS256 token would
/// mean the verifier holds the signing key).
const ALGORITHMS: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl JwtCheck {
    pub fn new(oidc: OidcSettings) -> Self {
        Self { oidc, http: hookbridge::console::issuer_client(), keys: RwLock::new(None) }
    }

    async fn fetch_keys(&self) -> Result<JwkSet, String> {
        let url = format!("{}/.well-known/openid-configuration", self.oidc.issuer);
        let get = |u: String| async move {
            self.http.get(&u).send().await.and_then(|r| r.error_for_status()).map_err(|e| format!("{u}: {e}"))
        };
        let d: Discovery = get(url.clone()).await?.json().await.map_err(|e| format!("{url}: {e}"))?;
        get(d.jwks_uri.clone()).await?.json().await.map_err(|e| format!("{}: {e}", d.jwks_uri))
    }

    /// The token's subject, if the issuer signed it for this audience and it is current.
    pub async fn verify(&self, token: &str) -> Result<String, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        if !ALGORITHMS.contains(&header.alg) {
            return Err(format!("{:?} tokens are not accepted", header.alg));
        }
        let kid = header.kid.ok_or("the token names no key")?;
        let mut jwk = self.keys.read().await.as_ref().and_then(|set| set.find(&kid).cloned());
        if jwk.is_none() {
            let fresh = self.fetch_keys().await?;
            jwk = fresh.find(&kid).cloned();
            *self.keys.write().await = Some(fresh);
        }
        let jwk = jwk.ok_or("the issuer has no such key")?;
        let key = DecodingKey::from_jwk(&jwk).map_err(|e| e.to_string())?;
        let mut validation = Validation::new(header.alg);
        // Issuers differ on a trailing slash (Auth0 writes one); the setting has none.
        validation.set_issuer(&[self.oidc.issuer.clone(), format!("{}/", self.oidc.issuer)]);
        validation.set_audience(&[&self.oidc.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| e.to_string())?;
        if let Some(required) = &self.oidc.required_scope {
            let c = &data.claims;
            let granted = c.scope.as_deref().is_some_and(|s| s.split_whitespace().any(|x| x == required))
                || c.scp.as_ref().is_some_and(|l| l.iter().any(|x| x == required));
            if !granted {
                return Err(format!("the token lacks the scope {required}"));
            }
        }
        Ok(data.claims.sub)
    }
}

/// Marks a request whose bearer JWT verifies as authenticated by its subject.
pub async fn authenticate(State(check): State<Arc<JwtCheck>>, mut req: Request, next: Next) -> Response {
    let bearer = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .filter(|t| t.matches('.').count() == 2)
        .map(str::to_owned);
    if let Some(token) = bearer {
        match check.verify(&token).await {
            Ok(sub) => {
                req.extensions_mut().insert(Caller(format!("jwt:{sub}")));
                req.extensions_mut().insert(EdgeAuthenticated);
            }
            // The reason, never the token.
            Err(reason) => tracing::info!(%reason, "a bearer JWT was refused"),
        }
    }
    next.run(req).await
}
