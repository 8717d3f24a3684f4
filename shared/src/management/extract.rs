//! Request extraction whose failures answer in the API's `{code, message, field}` shape:
//! the path of the offending field (`location.orgId`, `headers.x-a`) is named, from
//! `serde_path_to_error`.

use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

use crate::error::{ApiError, ErrorCode};

/// Like `axum::Json`, but a bad body is a 400 `INVALID_REQUEST_BODY` naming the field.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, "the request body could not be read"))?;
        let mut de = serde_json::Deserializer::from_slice(&bytes);
        let value = serde_path_to_error::deserialize(&mut de)
            .map_err(|e| located(ErrorCode::INVALID_REQUEST_BODY, e.path().to_string(), e.inner()))?;
        de.end().map_err(|e| ApiError::new(ErrorCode::INVALID_REQUEST_BODY, e.to_string()))?;
        Ok(ApiJson(value))
    }
}

/// Like `axum::extract::Query`, but a bad query is a 400 `INVALID_QUERY` naming the parameter.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> axum::extract::FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
        serde_path_to_error::deserialize(de)
            .map(ApiQuery)
            .map_err(|e| located(ErrorCode::INVALID_QUERY, e.path().to_string(), e.inner()))
    }
}

/// The one paging query every list takes: `cursor` (from the previous page's `nextCursor`)
/// and `limit` (1 to 1000, default 100).
#[derive(Debug, Default, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PageQuery {
    pub cursor: Option<String>,
    /// 1 to 1000, default 100.
    pub limit: Option<u32>,
}

impl PageQuery {
    pub fn request(self) -> crate::ports::PageRequest {
        crate::ports::PageRequest { cursor: self.cursor, limit: self.limit.unwrap_or(100).clamp(1, 1000) }
    }
}

/// A list's query: the [`PageQuery`] and the list's own filters `F` (a struct that denies
/// unknown fields, or [`NoFilter`]); anything neither knows is a 400 `INVALID_QUERY`.
pub struct Paged<F>(pub PageQuery, pub F);

/// A list without filters.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoFilter {}

impl<S: Send + Sync, F: DeserializeOwned> axum::extract::FromRequestParts<S> for Paged<F> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut http::request::Parts, _: &S) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let (page, rest): (Vec<_>, Vec<_>) =
            form_urlencoded::parse(query.as_bytes()).partition(|(k, _)| k == "cursor" || k == "limit");
        fn de<T: DeserializeOwned>(
            pairs: Vec<(std::borrow::Cow<'_, str>, std::borrow::Cow<'_, str>)>,
        ) -> Result<T, ApiError> {
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
            let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
            serde_path_to_error::deserialize(de)
                .map_err(|e| located(ErrorCode::INVALID_QUERY, e.path().to_string(), e.inner()))
        }
        Ok(Paged(de(page)?, de(rest)?))
    }
}

fn located(code: ErrorCode, path: String, inner: &impl std::fmt::Display) -> ApiError {
    let message = inner.to_string();
    let mut field = path;
    if field == "." {
        field.clear();
    }
    // A missing field is reported at its parent: name the field itself.
    let missing = message.strip_prefix("missing field `").and_then(|rest| rest.split_once('`')).map(|(name, _)| name);
    if let Some(name) = missing {
        field = if field.is_empty() { name.to_owned() } else { format!("{field}.{name}") };
    }
    // Our value checks say `field: what is wrong`; inside a tagged enum (buffered by serde)
    // that is the only place the field is named.
    let (named, reason) = match message.split_once(": ") {
        Some((p, rest)) if crate::error::is_field_path(p) => (Some(p), rest),
        _ => (None, message.as_str()),
    };
    if field.is_empty()
        && let Some(p) = named
    {
        field = p.to_owned();
    }
    if field.is_empty() {
        ApiError::new(code, message)
    } else {
        ApiError::new(code, format!("{field}: {reason}")).at(field)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        name: String,
        location: Inner,
        #[serde(default)]
        tags: Vec<u32>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase", deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        org_id: String,
    }

    fn field_of(json: &str) -> Option<String> {
        let mut de = serde_json::Deserializer::from_str(json);
        let e = serde_path_to_error::deserialize::<_, Outer>(&mut de).unwrap_err();
        located(ErrorCode::INVALID_REQUEST_BODY, e.path().to_string(), e.inner()).field().map(str::to_owned)
    }

    #[test]
    fn errors_name_the_field_path() {
        assert_eq!(field_of(r#"{"name":"a","location":{"orgId":1}}"#).as_deref(), Some("location.orgId"));
        assert_eq!(field_of(r#"{"name":"a","location":{}}"#).as_deref(), Some("location.orgId"));
        assert_eq!(field_of(r#"{"name":"a","location":{"orgId":"o","x":1}}"#).as_deref(), Some("location.x"));
        assert_eq!(field_of(r#"{"name":"a","location":{"orgId":"o"},"tags":[1,"x"]}"#).as_deref(), Some("tags[1]"));
        assert_eq!(field_of(r#"{"location":{"orgId":"o"}}"#).as_deref(), Some("name"));
        assert_eq!(field_of(r#"[]"#), None);
        // A value check's own field name counts when serde lost the path.
        let e = located(ErrorCode::INVALID_REQUEST_BODY, ".".into(), &"queue: must be a name");
        assert_eq!((e.field(), e.to_string().as_str()), (Some("queue"), "queue: must be a name"));
    }
}
