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
use std::collections::HashSet;

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
        refuse_nul_in_json::<T>(&bytes)?;
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(value)) => Ok(Self(value)),
            Err(JsonRejection::JsonDataError(_)) if may_hold_integral_float(&bytes) => from_integral_floats(&bytes),
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

/// JSON Schema counts `3.0` as an integer, so a document that says `integer` must accept it,
/// while serde refuses a float for an integer field. Bodies serde refused that may spell an
/// integer that way are read again with every integral float turned into an integer.
fn may_hold_integral_float(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w[0].is_ascii_digit() && matches!(w[1], b'.' | b'e' | b'E'))
}

fn from_integral_floats<T: DeserializeOwned>(bytes: &[u8]) -> Result<ApiJson<T>, ApiError> {
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request("malformed_json", e.to_string()))?;
    integral_floats_to_integers(&mut value);
    serde_path_to_error::deserialize(value).map(ApiJson).map_err(|e| {
        ApiError::unprocessable(
            "invalid_body",
            format!("Failed to deserialize the JSON body into the target type: {}: {}", e.path(), e.inner()),
        )
    })
}

/// Largest integer an `f64` holds exactly.
const EXACT_F64_INTEGER: f64 = 9_007_199_254_740_992.0;

fn integral_floats_to_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= EXACT_F64_INTEGER) {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_to_integers),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats_to_integers),
        _ => {}
    }
}

/// A JSON string can only hold NUL as the escape `\u0000`, so bodies without that text (all
/// but hostile ones) are not parsed twice; the others are walked to name the field. Members
/// `T` does not read are skipped: serde ignores them, so they never reach a store, and an API
/// that accepts unknown members must accept them whatever they hold.
fn refuse_nul_in_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<(), ApiError> {
    if !bytes.windows(6).any(|w| w == br"\u0000") {
        return Ok(());
    }
    let Ok(value) = serde_json::from_slice::<Value>(bytes) else { return Ok(()) };
    let mut ignored = HashSet::new();
    let _ = serde_ignored::deserialize::<_, _, T>(&value, |path| {
        ignored.insert(segments(&path));
    });
    match nul_field(&value, &mut Vec::new(), &ignored) {
        Some(field) => Err(ApiError::Validation(vec![FieldError::new(field, NUL_REFUSED)])),
        None => Ok(()),
    }
}

/// One step into a JSON value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Segment {
    Key(String),
    Index(usize),
}

/// The steps of a path serde ignored, without its `Option`/newtype wrappers (not in the JSON).
fn segments(path: &serde_ignored::Path<'_>) -> Vec<Segment> {
    let mut steps = Vec::new();
    let mut at = path;
    loop {
        match at {
            serde_ignored::Path::Root => break,
            serde_ignored::Path::Seq { parent, index } => {
                steps.push(Segment::Index(*index));
                at = parent;
            }
            serde_ignored::Path::Map { parent, key } => {
                steps.push(Segment::Key(key.clone()));
                at = parent;
            }
            serde_ignored::Path::Some { parent }
            | serde_ignored::Path::NewtypeStruct { parent }
            | serde_ignored::Path::NewtypeVariant { parent } => at = parent,
        }
    }
    steps.reverse();
    steps
}

/// The path (`roomTypes[0].name`) of the first string, key or value, holding NUL, outside
/// the `ignored` members.
fn nul_field(value: &Value, at: &mut Vec<Segment>, ignored: &HashSet<Vec<Segment>>) -> Option<String> {
    if ignored.contains(at) {
        return None;
    }
    let found = match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => {
            return items.iter().enumerate().find_map(|(i, v)| {
                at.push(Segment::Index(i));
                let found = nul_field(v, at, ignored);
                at.pop();
                found
            });
        }
        Value::Object(fields) => {
            return fields.iter().find_map(|(k, v)| {
                at.push(Segment::Key(k.clone()));
                let found = if k.contains('\0') && !ignored.contains(at) { Some(display(at)) } else { nul_field(v, at, ignored) };
                at.pop();
                found
            });
        }
        _ => false,
    };
    found.then(|| display(at))
}

/// `roomTypes[0].name`, or `body` for the whole body.
fn display(path: &[Segment]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Segment::Key(k) if text.is_empty() => text.push_str(k),
            Segment::Key(k) => {
                text.push('.');
                text.push_str(k);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    if text.is_empty() { "body".to_owned() } else { text }
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

    /// Where `refuse_nul_in_json::<T>` finds a NUL in `value`, if anywhere.
    fn nul_at<T: DeserializeOwned>(value: &Value) -> Option<String> {
        match refuse_nul_in_json::<T>(&serde_json::to_vec(value).expect("json")) {
            Ok(()) => None,
            Err(ApiError::Validation(fields)) => Some(fields[0].field.clone()),
            Err(other) => panic!("unexpected {other:?}"),
        }
    }

    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Hotel {
        name: String,
        room_types: Vec<Room>,
        note: Option<Note>,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Room {
        name: String,
    }
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Note {
        text: String,
    }

    #[test]
    fn nul_is_found_in_values_keys_and_nested_items() {
        assert_eq!(nul_at::<Value>(&json!({"email": "a\u{0}b"})).as_deref(), Some("email"));
        let rooms = json!({"name": "h", "roomTypes": [{"name": "ok"}, {"name": "x\u{0}"}]});
        assert_eq!(nul_at::<Hotel>(&rooms).as_deref(), Some("roomTypes[1].name"));
        assert_eq!(nul_at::<Value>(&json!({"a\u{0}": 1})).as_deref(), Some("a\u{0}"));
        assert_eq!(nul_at::<Value>(&json!("\u{0}")).as_deref(), Some("body"));
        assert_eq!(nul_at::<Hotel>(&json!({"name": "h", "roomTypes": [], "note": {"text": "\u{0}"}})).as_deref(), Some("note.text"));
        assert_eq!(nul_at::<Value>(&json!({"email": "a@b.c", "n": [1, null]})), None);
    }

    #[test]
    fn members_the_type_does_not_read_may_hold_nul() {
        let extra = json!({"name": "h", "roomTypes": [{"name": "ok", "x\u{0}": "y\u{0}"}], "\u{0}": {"deep": "\u{0}"}});
        assert_eq!(nul_at::<Hotel>(&extra), None);
        assert_eq!(nul_at::<Hotel>(&json!({"name": "h\u{0}", "roomTypes": [], "other": "\u{0}"})).as_deref(), Some("name"));
    }

    #[test]
    fn an_escaped_backslash_before_u0000_is_not_nul() {
        assert!(refuse_nul_in_json::<Value>(br#"{"name": "\\u0000"}"#).is_ok());
        let err = refuse_nul_in_json::<Value>(br#"{"name": "a\u0000"}"#).expect_err("NUL refused");
        assert_eq!((err.status().as_u16(), err.code()), (422, "validation_failed"));
    }

    #[test]
    fn integral_floats_read_as_integers_and_others_still_fail() {
        #[derive(serde::Deserialize, Debug)]
        struct Stay {
            rooms: i32,
            rate: f64,
        }
        let stay = from_integral_floats::<Stay>(br#"{"rooms": 3.0, "rate": 2.0}"#).expect("3.0 is an integer");
        assert_eq!((stay.0.rooms, stay.0.rate), (3, 2.0));
        assert_eq!(from_integral_floats::<Stay>(br#"{"rooms": 3e0, "rate": 2.5}"#).expect("3e0 too").0.rooms, 3);
        let err = from_integral_floats::<Stay>(br#"{"rooms": 3.5, "rate": 1}"#).expect_err("3.5 is not");
        assert_eq!((err.status().as_u16(), err.code()), (422, "invalid_body"));
        assert!(!may_hold_integral_float(br#"{"checkIn": "2027-01-01", "rooms": 3}"#));
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
