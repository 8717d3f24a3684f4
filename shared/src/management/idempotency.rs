//! `Idempotency-Key` on management POSTs: a retried request with the same key (and path)
//! gets the first request's answer for 24 hours instead of doing the work again.
//!
//! Answers that reveal a secret (a new API key, a rotated signing secret, a receiver's
//! answer to an invoke) are never kept: a replay gets 409 `IDEMPOTENCY_REPLAY_WITHHELD`
//! and reads the secret where it is shown. A claim whose request died stays pending for
//! [`PENDING_TTL`] only, not for the whole window.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};

use super::ManagementState;
use crate::error::{ApiError, ErrorCode};
use crate::ports::Claim;

/// How long an answer is kept for replay.
const WINDOW: Duration = Duration::from_secs(24 * 3600);
const PENDING: &str = "pending";
/// How long a claim stays pending: longer than a management call can last (the Lambda
/// timeout is 90 s), short enough that a request that died blocks its retries briefly.
pub const PENDING_TTL: Duration = Duration::from_secs(120);
/// Kept in place of an answer that revealed a secret.
const WITHHELD: &str = "withheld";

/// Routes whose successful answer shows a secret (or a receiver's answer, which may).
fn reveals_secret(path: &str) -> bool {
    ["/api-key", "/signing-secret/rotate", "/invoke"].iter().any(|s| path.ends_with(s))
}
/// Answers larger than this are not kept (the key is then released).
const MAX_KEPT: usize = 256 * 1024;

#[derive(Serialize, Deserialize)]
struct Kept {
    status: u16,
    body: String,
    /// The request's fingerprint ([`fingerprint`]); absent in answers kept before it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    request: Option<String>,
}

/// Requests larger than this are refused when they carry an `Idempotency-Key` (they must
/// be read whole to be fingerprinted; axum's own limit for any body is the same).
const MAX_REQUEST: usize = 2 * 1024 * 1024;

/// What identifies a request beyond its key and path: its query and body (SHA-256, hex).
/// A key reused with another request is refused rather than answered with the first one's
/// outcome (as the IETF Idempotency-Key draft asks).
fn fingerprint(query: Option<&str>, body: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(query.unwrap_or_default().as_bytes());
    h.update([0]);
    h.update(body);
    hex::encode(h.finalize())
}

fn reused() -> ApiError {
    ApiError::invalid("Idempotency-Key", "was used with another request (query or body) on this path")
}

pub(super) async fn replay(
    State(st): State<Arc<ManagementState>>,
    req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let key = match req.headers().get("idempotency-key") {
        Some(k) if req.method() == Method::POST => k.as_bytes(),
        _ => return Ok(next.run(req).await),
    };
    // Visible ASCII (inner spaces allowed): a key that is not is refused, not ignored.
    if key.is_empty() || key.len() > 255 || !key.iter().all(|b| (0x20..0x7f).contains(b)) {
        return Err(ApiError::invalid("Idempotency-Key", "1 to 255 visible ASCII characters"));
    }
    let key = String::from_utf8_lossy(key).into_owned();
    let claim_key = format!("idempotency/{}/{key}", req.uri().path());
    let withhold = reveals_secret(req.uri().path());
    let (parts, body) = req.into_parts();
    let body = to_bytes(body, MAX_REQUEST)
        .await
        .map_err(|_| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, "the request body could not be read"))?;
    let request = fingerprint(parts.uri.query(), &body);
    let req = Request::from_parts(parts, Body::from(body));
    let withheld = format!("{WITHHELD}:{request}");
    match st.backend.dedup.claim(&claim_key, PENDING, st.config.idempotency_pending).await? {
        Claim::Existing(v) if v == PENDING => {
            return Err(ApiError::new(
                ErrorCode::IDEMPOTENCY_IN_PROGRESS,
                "a request with this Idempotency-Key is in progress",
            ));
        }
        Claim::Existing(v) if v == WITHHELD || v.starts_with(&format!("{WITHHELD}:")) => {
            if v != WITHHELD && v != withheld {
                return Err(reused());
            }
            return Err(ApiError::new(
                ErrorCode::IDEMPOTENCY_REPLAY_WITHHELD,
                "the request with this Idempotency-Key succeeded; its answer showed a secret and is not kept",
            ));
        }
        Claim::Existing(v) => {
            let kept: Kept = serde_json::from_str(&v).map_err(|e| ApiError::Internal(Box::new(e)))?;
            if kept.request.as_ref().is_some_and(|r| *r != request) {
                return Err(reused());
            }
            let status = StatusCode::from_u16(kept.status).unwrap_or(StatusCode::OK);
            let mut resp = (status, kept.body).into_response();
            resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
            resp.headers_mut().insert("idempotent-replayed", http::HeaderValue::from_static("true"));
            return Ok(resp);
        }
        Claim::New => {}
    }
    let resp = next.run(req).await;
    let status = resp.status();
    if !status.is_success() {
        // Failed work is not remembered: the client may retry with the same key.
        st.backend.dedup.release(&claim_key).await?;
        return Ok(resp);
    }
    if withhold {
        st.backend.dedup.put(&claim_key, &withheld, WINDOW).await?;
        return Ok(resp);
    }
    let (parts, body) = resp.into_parts();
    let bytes = to_bytes(body, MAX_KEPT).await;
    match bytes {
        Ok(bytes) => {
            let kept = Kept {
                status: status.as_u16(),
                body: String::from_utf8_lossy(&bytes).into_owned(),
                request: Some(request),
            };
            let value = serde_json::to_string(&kept).map_err(|e| ApiError::Internal(Box::new(e)))?;
            st.backend.dedup.put(&claim_key, &value, WINDOW).await?;
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
        Err(_) => {
            st.backend.dedup.release(&claim_key).await?;
            Err(ApiError::Internal("answer too large to keep for Idempotency-Key".into()))
        }
    }
}
