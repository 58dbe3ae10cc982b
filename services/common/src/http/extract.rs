//! One extractor per kind of input — [`ApiPath`], [`ApiQuery`], [`ApiJson`] — each rejecting
//! with an [`ApiError`], so a bad request gets the shared shape instead of axum's text/plain:
//!
//! | input | cannot be parsed | a string holds NUL |
//! |---|---|---|
//! | path | 400 `invalid_path` | 422 `validation_failed`, the parameter named |
//! | query | 400 `invalid_query` | 422 `validation_failed`, the key named |
//! | JSON body | 400 `malformed_json` (400 `unsupported_media_type` without the JSON type), 422 `invalid_body` when mistyped | 422 `validation_failed`, the JSON path named |
//!
//! NUL is refused here because PostgreSQL cannot store it in text: without this a NUL in an
//! email or a hotel id would reach a query and answer 500. Body read failures (408, 413, 400)
//! come from [`super::limits::read_body`].

use super::limits::read_body;
use crate::error::{ApiError, FieldError};
use axum::{
    Json,
    extract::{FromRequest, FromRequestParts, Path, Query, RawPathParams, Request, rejection::JsonRejection, rejection::PathRejection},
    http::{HeaderMap, header, request::Parts},
    response::{IntoResponse, Response},
};
use serde::{Serialize, de::DeserializeOwned};
use serde_json::Value;

const NUL_REFUSED: &str = "must not contain the NUL character";

/// `Json<T>` whose rejections are [`ApiError`]s, so malformed bodies get the shared shape.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        if !has_json_content_type(req.headers()) {
            return Err(ApiError::bad_request("unsupported_media_type", "expected a body with Content-Type: application/json"));
        }
        let bytes = read_body(req.into_body()).await?;
        refuse_nul_in_json(&bytes)?;
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

fn has_json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::JsonDataError(e) => ApiError::unprocessable("invalid_body", e.body_text()),
        JsonRejection::JsonSyntaxError(e) => ApiError::bad_request("malformed_json", e.body_text()),
        other => ApiError::bad_request("bad_body", other.body_text()),
    }
}

/// A JSON string can only hold NUL as the escape `\u0000`, so bodies without that text (all
/// but hostile ones) are not parsed twice; the others are walked to name the field.
fn refuse_nul_in_json(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == br"\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else { return Ok(()) };
    match nul_field(&value, String::new()) {
        Some(field) => Err(ApiError::Validation(vec![FieldError::new(field, NUL_REFUSED)])),
        None => Ok(()),
    }
}

/// The path (`roomTypes[0].name`) of the first string, key or value, holding NUL.
fn nul_field(value: &Value, at: String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(if at.is_empty() { "body".to_owned() } else { at }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| nul_field(v, format!("{at}[{i}]"))),
        Value::Object(fields) => fields.iter().find_map(|(k, v)| {
            let here = if at.is_empty() { k.clone() } else { format!("{at}.{k}") };
            if k.contains('\0') { Some(here) } else { nul_field(v, here) }
        }),
        _ => None,
    }
}

/// `Path<T>` whose rejections are [`ApiError`]s: 400 `invalid_path` when a segment does not
/// parse (`/bookings/not-a-uuid`), 422 naming the parameter when it holds NUL.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = raw.iter().find(|(_, value)| value.contains('\0'))
        {
            return Err(ApiError::invalid_field(name, NUL_REFUSED));
        }
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::bad_request("invalid_path", e.body_text())),
            Err(other) => Err(ApiError::Internal(anyhow::anyhow!("path extraction: {}", other.body_text()))),
        }
    }
}

/// `Query<T>` whose rejections are [`ApiError`]s: 400 `invalid_query` when the query string
/// does not parse into `T` (`?page=abc`, `?page=-1` for an unsigned page), 422 naming the key
/// when a key or value holds NUL.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.query().is_some_and(|q| q.contains("%00"))
            && let Ok(Query(pairs)) = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            && let Some((key, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0'))
        {
            return Err(ApiError::invalid_field(key.replace('\0', "\\0"), NUL_REFUSED));
        }
        match Query::<T>::try_from_uri(&parts.uri) {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::bad_request("invalid_query", rejection.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nul_is_found_in_values_keys_and_nested_items() {
        assert_eq!(nul_field(&json!({"email": "a\u{0}b"}), String::new()).as_deref(), Some("email"));
        assert_eq!(
            nul_field(&json!({"roomTypes": [{"name": "ok"}, {"name": "x\u{0}"}]}), String::new()).as_deref(),
            Some("roomTypes[1].name")
        );
        assert_eq!(nul_field(&json!({"a\u{0}": 1}), String::new()).as_deref(), Some("a\u{0}"));
        assert_eq!(nul_field(&json!("\u{0}"), String::new()).as_deref(), Some("body"));
        assert_eq!(nul_field(&json!({"email": "a@b.c", "n": [1, null]}), String::new()), None);
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_not_nul() {
        assert!(refuse_nul_in_json(br#"{"name": "\\u0000"}"#).is_ok());
        let err = refuse_nul_in_json(br#"{"name": "a\u0000"}"#).expect_err("NUL refused");
        assert_eq!((err.status().as_u16(), err.code()), (422, "validation_failed"));
    }

    #[test]
    fn json_content_types_include_suffixes_and_parameters() {
        let with = |v: &'static str| HeaderMap::from_iter([(header::CONTENT_TYPE, v.parse().expect("value"))]);
        assert!(has_json_content_type(&with("application/json")));
        assert!(has_json_content_type(&with("Application/JSON; charset=utf-8")));
        assert!(has_json_content_type(&with("application/merge-patch+json")));
        assert!(!has_json_content_type(&with("text/plain")));
        assert!(!has_json_content_type(&HeaderMap::new()));
    }
}
