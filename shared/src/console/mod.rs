//! The operator console at `/console`: a page, a script and a style sheet embedded in the
//! binary (nothing is fetched from elsewhere), served with a strict Content-Security-Policy,
//! and `/console/config.json`, which tells the page how to sign in: the admin token
//! (local), OpenID Connect with PKCE (a JWT authorizer), or not at all (IAM: a browser
//! cannot sign AWS requests). The page calls the management API like any client.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde::Serialize;
use tokio::sync::Mutex;

use crate::config::OidcSettings;

const INDEX: &str = include_str!("../../console/index.html");
const SCRIPT: &str = include_str!("../../console/app.js");
const STYLE: &str = include_str!("../../console/app.css");

/// How the console signs in.
#[derive(Clone, Debug)]
pub enum SignIn {
    /// A bearer admin token typed by the operator (kept in sessionStorage only).
    AdminToken,
    /// OpenID Connect authorization code with PKCE against this issuer.
    Oidc(OidcSettings),
    /// IAM-authorized management API: no browser sign-in.
    Iam,
}

/// What an issuer's discovery document says that the console and the local verifier need.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub end_session_endpoint: Option<String>,
}

/// The console's state: how it signs in, and the issuer's discovery document once read.
pub struct Console {
    sign_in: SignIn,
    discovery: Mutex<Option<Discovery>>,
    http: reqwest::Client,
}

impl Console {
    pub fn new(sign_in: SignIn) -> Self {
        Self { sign_in, discovery: Mutex::new(None), http: issuer_client() }
    }

    /// The issuer's discovery document, read once (again after a failure).
    pub async fn discovery(&self) -> Result<Option<Discovery>, String> {
        let SignIn::Oidc(oidc) = &self.sign_in else { return Ok(None) };
        let mut cached = self.discovery.lock().await;
        if let Some(d) = cached.as_ref() {
            return Ok(Some(d.clone()));
        }
        let url = format!("{}/.well-known/openid-configuration", oidc.issuer);
        let d: Discovery = async { self.http.get(&url).send().await?.error_for_status()?.json().await }
            .await
            .map_err(|e: reqwest::Error| format!("cannot read {url}: {e}"))?;
        if d.issuer.trim_end_matches('/') != oidc.issuer {
            return Err(format!("{url} names another issuer ({})", d.issuer));
        }
        *cached = Some(d.clone());
        Ok(Some(d))
    }

    /// The policy: everything from this origin only, but for the token endpoint the page
    /// posts the authorization code to.
    async fn policy(&self) -> String {
        let token_origin = match self.discovery().await {
            Ok(Some(d)) => origin_of(&d.token_endpoint),
            _ => None,
        };
        let connect = token_origin.map_or_else(|| "'self'".to_owned(), |o| format!("'self' {o}"));
        format!(
            "default-src 'self'; connect-src {connect}; img-src 'self' data:; style-src 'self'; script-src 'self'; \
             object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
        )
    }
}

/// The client for an OpenID issuer's documents (discovery, keys): bounded, so a slow issuer
/// cannot hold the console's pages or the local runner's token check.
pub fn issuer_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// `scheme://host[:port]` of a URL, if it is one a policy may name.
fn origin_of(url: &str) -> Option<String> {
    let u = reqwest::Url::parse(url).ok()?;
    matches!(u.scheme(), "https" | "http").then(|| u.origin().ascii_serialization())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase", tag = "signIn")]
enum ConfigView {
    #[serde(rename = "ADMIN_TOKEN")]
    AdminToken,
    #[serde(rename = "IAM")]
    Iam,
    #[serde(rename = "OIDC", rename_all = "camelCase")]
    Oidc {
        issuer: String,
        client_id: String,
        audience: String,
        scopes: String,
        authorization_endpoint: Option<String>,
        token_endpoint: Option<String>,
        end_session_endpoint: Option<String>,
        /// Why the issuer could not be read, if it could not.
        error: Option<String>,
    },
}

type St = State<Arc<Console>>;

pub fn router(console: Arc<Console>) -> Router {
    Router::new()
        // `/console` is the page (API Gateway routes it without a trailing slash; it is
        // also the OpenID redirect URI); `/console/` is kept for hand-typed URLs.
        .route("/console", get(index))
        .route("/console/", get(|| async { Redirect::permanent("/console") }))
        .route("/console/app.js", get(script))
        .route("/console/app.css", get(style))
        .route("/console/config.json", get(config))
        .with_state(console)
}

async fn respond(console: &Console, content_type: &'static str, body: impl IntoResponse) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(policy) = HeaderValue::from_str(&console.policy().await) {
        h.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn index(State(c): St) -> Response {
    respond(&c, "text/html; charset=utf-8", INDEX).await
}

async fn script(State(c): St) -> Response {
    respond(&c, "text/javascript; charset=utf-8", SCRIPT).await
}

async fn style(State(c): St) -> Response {
    respond(&c, "text/css; charset=utf-8", STYLE).await
}

async fn config(State(c): St) -> Response {
    let view = match &c.sign_in {
        SignIn::AdminToken => ConfigView::AdminToken,
        SignIn::Iam => ConfigView::Iam,
        SignIn::Oidc(o) => {
            let (d, error) = match c.discovery().await {
                Ok(d) => (d, None),
                Err(e) => {
                    tracing::warn!(error = %e, "the console's OpenID issuer could not be read");
                    (None, Some(e))
                }
            };
            ConfigView::Oidc {
                issuer: o.issuer.clone(),
                client_id: o.client_id.clone(),
                audience: o.audience.clone(),
                scopes: o.scopes.clone(),
                authorization_endpoint: d.as_ref().map(|d| d.authorization_endpoint.clone()),
                token_endpoint: d.as_ref().map(|d| d.token_endpoint.clone()),
                end_session_endpoint: d.and_then(|d| d.end_session_endpoint),
                error,
            }
        }
    };
    respond(&c, "application/json", axum::Json(view)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_for_the_policy() {
        assert_eq!(origin_of("https://idp.example.com/oauth2/token").as_deref(), Some("https://idp.example.com"));
        assert_eq!(origin_of("http://127.0.0.1:9000/token").as_deref(), Some("http://127.0.0.1:9000"));
        assert_eq!(origin_of("javascript:alert(1)"), None);
    }

    /// The page loads nothing from elsewhere and runs no inline script or style (the policy
    /// would block them, and the page must work under it).
    #[test]
    fn the_assets_reference_nothing_outside_the_origin() {
        for (name, text) in [("index.html", INDEX), ("app.js", SCRIPT), ("app.css", STYLE)] {
            for outside in ["src=\"http", "href=\"http", "url(http", "url(\"http", "@import", "//cdn"] {
                assert!(!text.contains(outside), "{name} loads from elsewhere: {outside}");
            }
        }
        assert!(!INDEX.contains("<script>") && !INDEX.contains("style=") && !INDEX.contains("<style"));
        let inline_handler = INDEX.split_whitespace().any(|w| w.starts_with("on") && w.contains("=\""));
        assert!(!inline_handler, "inline handlers are blocked by the policy");
    }
}
