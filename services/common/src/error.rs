//! [`ApiError`]: the one HTTP error type. Every error body has the same shape,
//! `{"error": {"code": "...", "message": "...", "details": ...}}`, with a machine-readable
//! `code` and a human `message`. Internal errors become an opaque 500; their cause is
//! attached to the response extensions and logged by [`crate::http::observe`], never sent.

use axum::{
    Json,
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde::Serialize;
use serde_json::{Value, json};
use std::{borrow::Cow, sync::Arc};

/// Result alias for handlers.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// One invalid input field, reported in `details` of a 422.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    /// JSON path of the field (`checkIn`, `rooms`, `roomTypes[0].capacity`).
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

/// The body of every error answer, `{"error": {"code", "message", "details"}}`, as the OpenAPI
/// document describes it (named `Error` there); `ApiError::body` writes this shape.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = Error)]
pub struct ErrorBody {
    // No doc comment: one would wrap the inlined schema in `allOf`.
    #[schema(inline)]
    pub error: ErrorDetail,
}

/// What went wrong.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable code, e.g. `validation_failed`, `unauthorized`, `rate_limited`, `sold_out`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// For `validation_failed`, the invalid fields (`FieldError`s); for `rate_limited`,
    /// `{"retryAfterSeconds": n}`; otherwise null.
    #[schema(required = false)]
    pub details: Option<Value>,
}

/// Every way a request can fail, each with an explicit status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request cannot be understood (malformed JSON, bad query string).
    #[error("{message}")]
    BadRequest { code: Cow<'static, str>, message: String },
    /// 422: the request is well-formed but fields are invalid.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422: a semantic rule refused the request (e.g. idempotency key reused with another body).
    #[error("{message}")]
    Unprocessable { code: Cow<'static, str>, message: String },
    /// 401: missing or invalid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// 401 with a code more specific than `unauthorized` (e.g. `invalid_credentials`).
    #[error("{message}")]
    UnauthorizedAs { code: Cow<'static, str>, message: String },
    /// 403: authenticated, but not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// 404: the named resource does not exist (or is not the caller's).
    #[error("{resource} not found")]
    NotFound { resource: Cow<'static, str> },
    /// 405: the path exists but not for this method; the response carries `Allow`.
    #[error("this method is not allowed here")]
    MethodNotAllowed,
    /// 408: the client did not send its request head or body in time.
    #[error("the request was not received in time")]
    RequestTimeout,
    /// 413: the body is larger than the server accepts.
    #[error("the request body is larger than {limit_bytes} bytes")]
    PayloadTooLarge { limit_bytes: usize },
    /// 414: the request target is longer than the server accepts.
    #[error("the request URI is longer than {limit_bytes} bytes")]
    UriTooLong { limit_bytes: usize },
    /// 431: the header fields are larger than the server accepts.
    #[error("the request header fields are larger than {limit_bytes} bytes")]
    HeadersTooLarge { limit_bytes: usize },
    /// 409: conflicts with current state (sold out, duplicate, request in flight).
    #[error("{message}")]
    Conflict { code: Cow<'static, str>, message: String },
    /// 429: rate limited; retry after the given seconds.
    #[error("rate limited")]
    RateLimited { retry_after_secs: u64 },
    /// 502: an upstream answered badly or not at all.
    #[error("upstream failed")]
    BadGateway,
    /// 503: a dependency is unavailable or the process is draining.
    #[error("service unavailable")]
    Unavailable,
    /// 504: an upstream did not answer in time.
    #[error("upstream timed out")]
    GatewayTimeout,
    /// 500: anything unexpected. The cause is logged, never returned.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// A database error is an opaque 500 whose cause is logged. Constraint violations that mean
/// something to the client (409 duplicate, 422) are mapped by name where they can happen,
/// before this conversion, with [`crate::db::constraint_name`]. Waiting too long for a pooled
/// connection is overload, not a fault: a 503 with `Retry-After`, which a client may retry (a
/// booking under the same `Idempotency-Key`, so it is never made twice).
impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => {
                metrics::counter!("db_pool_timeouts_total").increment(1);
                Self::Unavailable
            }
            e => Self::Internal(e.into()),
        }
    }
}

/// The `Retry-After` of a 503: the overload or the restart it reports is usually over by then.
pub const UNAVAILABLE_RETRY_AFTER_SECS: u64 = 1;

/// The cause of a 500, carried in response extensions so middleware can log it.
#[derive(Debug, Clone)]
pub struct InternalErrorReport(pub Arc<anyhow::Error>);

impl ApiError {
    /// A 400 with a code and message.
    pub fn bad_request(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::BadRequest { code: code.into(), message: message.into() }
    }
    /// A 409 with a code and message.
    pub fn conflict(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Conflict { code: code.into(), message: message.into() }
    }
    /// A 422 with a code and message.
    pub fn unprocessable(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::Unprocessable { code: code.into(), message: message.into() }
    }
    /// A 404 for a resource kind.
    pub fn not_found(resource: impl Into<Cow<'static, str>>) -> Self {
        Self::NotFound { resource: resource.into() }
    }
    /// A 422 for a single field.
    pub fn invalid_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldError::new(field, message)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::Unauthorized(_) | Self::UnauthorizedAs { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_) => StatusCode::FORBIDDEN,
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            Self::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The machine-readable code.
    pub fn code(&self) -> &str {
        match self {
            Self::BadRequest { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Conflict { code, .. }
            | Self::UnauthorizedAs { code, .. } => code,
            Self::Validation(_) => "validation_failed",
            Self::Unauthorized(_) => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::NotFound { .. } => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::RequestTimeout => "request_timeout",
            Self::PayloadTooLarge { .. } => "payload_too_large",
            Self::UriTooLong { .. } => "uri_too_long",
            Self::HeadersTooLarge { .. } => "headers_too_large",
            Self::RateLimited { .. } => "rate_limited",
            Self::BadGateway => "bad_gateway",
            Self::Unavailable => "unavailable",
            Self::GatewayTimeout => "gateway_timeout",
            Self::Internal(_) => "internal",
        }
    }

    /// The body this error is sent as.
    pub fn body(&self) -> Value {
        let (message, details) = match self {
            Self::Validation(fields) => {
                let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
                (format!("invalid input: {}", names.join(", ")), json!(fields))
            }
            Self::RateLimited { retry_after_secs } => {
                (format!("too many requests; retry in {retry_after_secs}s"), json!({ "retryAfterSeconds": retry_after_secs }))
            }
            Self::PayloadTooLarge { limit_bytes } | Self::UriTooLong { limit_bytes } | Self::HeadersTooLarge { limit_bytes } => {
                (self.to_string(), json!({ "limitBytes": limit_bytes }))
            }
            Self::Internal(_) => ("an internal error occurred".to_owned(), Value::Null),
            other => (other.to_string(), Value::Null),
        };
        json!({ "error": { "code": self.code(), "message": message, "details": details } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status(), Json(self.body())).into_response();
        match self {
            Self::RateLimited { retry_after_secs } => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            Self::Unavailable => {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(UNAVAILABLE_RETRY_AFTER_SECS));
            }
            Self::Internal(cause) => {
                response.extensions_mut().insert(InternalErrorReport(Arc::new(cause)));
            }
            _ => {}
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    async fn render(err: ApiError) -> (StatusCode, axum::http::HeaderMap, Value, bool) {
        let resp = err.into_response();
        let status = resp.status();
        let headers = resp.headers().clone();
        let has_report = resp.extensions().get::<InternalErrorReport>().is_some();
        let bytes = resp.into_body().collect().await.expect("body").to_bytes();
        (status, headers, serde_json::from_slice(&bytes).expect("json body"), has_report)
    }

    #[tokio::test]
    async fn every_variant_has_the_shared_shape_and_its_status() {
        let cases = [
            (ApiError::bad_request("malformed_json", "bad"), 400, "malformed_json"),
            (ApiError::invalid_field("email", "not an email"), 422, "validation_failed"),
            (ApiError::unprocessable("idempotency_key_reused", "x"), 422, "idempotency_key_reused"),
            (ApiError::Unauthorized("no token".into()), 401, "unauthorized"),
            (
                ApiError::UnauthorizedAs { code: "invalid_credentials".into(), message: "invalid email or password".into() },
                401,
                "invalid_credentials",
            ),
            (ApiError::Forbidden("no".into()), 403, "forbidden"),
            (ApiError::not_found("hotel"), 404, "not_found"),
            (ApiError::conflict("sold_out", "no rooms left"), 409, "sold_out"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::RequestTimeout, 408, "request_timeout"),
            (ApiError::PayloadTooLarge { limit_bytes: 10 }, 413, "payload_too_large"),
            (ApiError::UriTooLong { limit_bytes: 10 }, 414, "uri_too_long"),
            (ApiError::HeadersTooLarge { limit_bytes: 10 }, 431, "headers_too_large"),
            (ApiError::RateLimited { retry_after_secs: 7 }, 429, "rate_limited"),
            (ApiError::BadGateway, 502, "bad_gateway"),
            (ApiError::Unavailable, 503, "unavailable"),
            (ApiError::GatewayTimeout, 504, "gateway_timeout"),
        ];
        for (err, status, code) in cases {
            let (s, _, body, _) = render(err).await;
            assert_eq!(s.as_u16(), status);
            assert_eq!(body["error"]["code"], code);
            assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
            assert!(body["error"].as_object().expect("object").contains_key("details"));
        }
    }

    #[tokio::test]
    async fn validation_names_the_failing_fields() {
        let (_, _, body, _) = render(ApiError::Validation(vec![
            FieldError::new("email", "must be an email address"),
            FieldError::new("password", "must be at least 12 characters"),
        ]))
        .await;
        assert_eq!(body["error"]["details"][1]["field"], "password");
        assert!(body["error"]["message"].as_str().expect("message").contains("email, password"));
    }

    #[tokio::test]
    async fn rate_limited_sets_retry_after() {
        let (_, headers, body, _) = render(ApiError::RateLimited { retry_after_secs: 7 }).await;
        assert_eq!(headers[header::RETRY_AFTER], "7");
        assert_eq!(body["error"]["details"]["retryAfterSeconds"], 7);
    }

    #[tokio::test]
    async fn database_errors_are_opaque_500s_with_their_cause_kept() {
        let (status, _, body, has_report) = render(ApiError::from(sqlx::Error::RowNotFound)).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (500, Some("internal")));
        assert!(has_report);
    }

    #[tokio::test]
    async fn an_exhausted_connection_pool_is_a_503_to_retry_not_a_500() {
        let (status, headers, body, has_report) = render(ApiError::from(sqlx::Error::PoolTimedOut)).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (503, Some("unavailable")));
        assert_eq!(headers[header::RETRY_AFTER], "1");
        assert!(!has_report, "overload is not an internal fault");
    }

    #[tokio::test]
    async fn internal_errors_never_leak_their_cause() {
        let cause = anyhow::anyhow!("connection to postgres://admin:hunter2@db failed");
        let (status, _, body, has_report) = render(ApiError::Internal(cause)).await;
        assert_eq!(status, 500);
        let text = body.to_string();
        assert!(!text.contains("hunter2") && !text.contains("postgres"), "{text}");
        assert_eq!(body["error"]["code"], "internal");
        assert!(has_report, "the cause travels to the logging middleware");
    }
}
