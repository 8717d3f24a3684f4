//! A connector's signing secret: shown, and rotated with an overlap.

use super::*;

/// What receivers verify with: the HMAC secret, or an Ed25519 key's public half.
#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct SecretView {
    /// The HMAC secret (HMAC_SHA256 signing).
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    /// `whpk_` + base64 of the Ed25519 public key (ED25519 signing; the private key is never
    /// shown).
    #[serde(skip_serializing_if = "Option::is_none")]
    public_key: Option<String>,
}

impl SecretView {
    fn of(algorithm: SigningAlgorithm, secret: &SecretString) -> Self {
        match signing::public_key(algorithm, secret) {
            Some(public_key) => Self { secret: None, public_key: Some(public_key) },
            None => Self { secret: Some(secret.expose().to_owned()), public_key: None },
        }
    }
}

/// Show a connector's signing secret
///
/// The one endpoint that exists to show the signing secret (for Ed25519, the public key).
#[utoipa::path(get, operation_id = "getSigningSecret", path = "/v1/connectors/{id}/signing-secret", tag = "connectors", params(ConnectorPath),
    responses(
        (status = 200, body = SecretView),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`, `SIGNING_NOT_CONFIGURED`", body = ErrorSchema),
    ))]
pub(super) async fn signing_secret(State(st): St, Path(id): Path<String>) -> Result<Json<SecretView>, ApiError> {
    let c = load(&st, &id).await?;
    let secrets = load_secrets(&st, &c.id).await?;
    let secret = secrets
        .signing_secret
        .ok_or_else(|| ApiError::new(ErrorCode::SIGNING_NOT_CONFIGURED, "the connector does not sign its requests"))?;
    Ok(Json(SecretView::of(c.signing_algorithm, &secret)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RotateRequest {
    /// The new secret; generated when omitted.
    pub secret: Option<SecretString>,
    /// How long the previous secret keeps signing (Standard Webhooks and HTTP Message
    /// Signatures send both), 0 to 7 days, default 24 hours.
    #[serde(default, deserialize_with = "crate::domain::limits::whole::option")]
    pub overlap_seconds: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(super) struct Rotated {
    #[serde(flatten)]
    new: SecretView,
    previous_valid_until: Option<DateTime<Utc>>,
}

/// Rotate a connector's signing secret
///
/// A new signing secret; the previous one keeps signing for the overlap window. The answer
/// shows the new secret (as the signing-secret endpoint does).
#[utoipa::path(post, operation_id = "rotateSigningSecret", path = "/v1/connectors/{id}/signing-secret/rotate", tag = "connectors", params(ConnectorPath),
    request_body(content = RotateRequest, description = "Optional: a secret to use and the overlap"),
    responses(
        (status = 200, body = Rotated),
        (status = 400, description = "`INVALID_REQUEST_BODY`, `VALIDATION_FAILED`", body = ErrorSchema),
        (status = 404, description = "`CONNECTOR_NOT_FOUND`, `SIGNING_NOT_CONFIGURED`", body = ErrorSchema),
        (status = 409, description = "`CONCURRENT_UPDATE`", body = ErrorSchema),
    ))]
pub(super) async fn rotate_signing_secret(
    State(st): St,
    Path(id): Path<String>,
    body: Result<axum::body::Bytes, axum::extract::rejection::BytesRejection>,
) -> Result<Json<Rotated>, ApiError> {
    let body =
        body.map_err(|_| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, "the request body could not be read"))?;
    let c = load(&st, &id).await?;
    let scheme = c
        .signing
        .ok_or_else(|| ApiError::new(ErrorCode::SIGNING_NOT_CONFIGURED, "the connector does not sign its requests"))?;
    // The body is optional: no body rotates to a generated secret with a 24-hour overlap.
    let req = if body.iter().all(u8::is_ascii_whitespace) {
        RotateRequest { secret: None, overlap_seconds: None }
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, e.to_string()))?
    };
    let overlap = req.overlap_seconds.unwrap_or(86_400);
    if let Some(secret) = &req.secret {
        check_signing_secret(scheme, c.signing_algorithm, secret, "secret")?;
    }
    let read = crate::management::secrets::read(&st, connector_secret_name(&c.id)).await?;
    let mut secrets = secrets_of(read.value.as_ref())?;
    let new = req.secret.unwrap_or_else(|| signing::generate_secret(scheme, c.signing_algorithm));
    let s = &mut secrets;
    crate::management::secrets::rotate(
        &mut s.signing_secret,
        &mut s.previous_signing_secret,
        &mut s.previous_until,
        Some(new.clone()),
        overlap,
        st.backend.clock.now(),
    )?;
    read.write(&st, &secrets.to_secret()).await?;
    st.dispatcher.invalidate();
    tracing::info!(connector_id = %c.id, overlap_seconds = overlap, "signing secret rotated");
    Ok(Json(Rotated { new: SecretView::of(c.signing_algorithm, &new), previous_valid_until: secrets.previous_until }))
}
