//! Request limits ([`HttpLimits`]) enforced per request, answered in the shared error shape:
//! 414 `uri_too_long`, 431 `headers_too_large`, 413 `payload_too_large` (from `Content-Length`
//! at once, or while reading), 408 `request_timeout` when the body does not arrive within
//! `body_timeout_ms`, 400 `incomplete_body` when it ends before its declared length.
//!
//! [`enforce_limits`] checks the head and wraps the body in a [`GuardedBody`] that fails at
//! the limit or the deadline; [`read_body`] turns those failures into [`ApiError`]s. hyper's own
//! limits are set above ours ([`super::server`]) so that a too-large head reaches this code and
//! gets a JSON answer instead of hyper's empty one.

use crate::{config::HttpLimits, error::ApiError};
use axum::{
    body::{Body, Bytes},
    extract::{Request, State},
    http::{HeaderMap, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use http_body::{Frame, SizeHint};
use std::{
    pin::Pin,
    task::{Context, Poll, ready},
};
use tokio::time::{Instant, Sleep};

/// hyper refuses a head with more header fields than this (with an empty 431), so the
/// connection-level check refuses it first, in the error shape.
pub(crate) const MAX_HEADER_FIELDS: usize = 100;

/// The size a header field takes on the wire: `name: value\r\n`.
pub(crate) fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

/// The request target's length as sent (path and query).
fn uri_bytes(uri: &Uri) -> usize {
    uri.path_and_query().map_or(uri.path().len(), |pq| pq.as_str().len())
}

/// Middleware: refuse a head over the limits, a declared body over the limit, and guard the
/// body's size and arrival time.
pub async fn enforce_limits(State(limits): State<HttpLimits>, req: Request, next: Next) -> Response {
    if uri_bytes(req.uri()) > limits.max_uri_bytes {
        return ApiError::UriTooLong { limit_bytes: limits.max_uri_bytes }.into_response();
    }
    if header_bytes(req.headers()) > limits.max_header_bytes || req.headers().len() > MAX_HEADER_FIELDS {
        return ApiError::HeadersTooLarge { limit_bytes: limits.max_header_bytes }.into_response();
    }
    let declared = req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body_bytes as u64) {
        return ApiError::PayloadTooLarge { limit_bytes: limits.max_body_bytes }.into_response();
    }
    let req = req.map(|body| Body::new(GuardedBody::new(body, &limits)));
    next.run(req).await
}

/// Why a [`GuardedBody`] stopped.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// More than the limit arrived.
    #[error("the request body is larger than {0} bytes")]
    TooLarge(usize),
    /// The body did not arrive in time.
    #[error("the request body was not received in time")]
    TimedOut,
    /// The connection failed or ended before the body did.
    #[error("the request body could not be read: {0}")]
    Read(#[source] axum::Error),
}

/// A request body that fails once it passes `max_body_bytes` or `body_timeout_ms`.
pub struct GuardedBody {
    inner: Body,
    remaining: usize,
    limit: usize,
    deadline: Pin<Box<Sleep>>,
}

impl GuardedBody {
    /// Guard `inner` with `limits`; the deadline starts now.
    pub fn new(inner: Body, limits: &HttpLimits) -> Self {
        let deadline = Box::pin(tokio::time::sleep_until(Instant::now() + limits.body_timeout()));
        Self { inner, remaining: limits.max_body_bytes, limit: limits.max_body_bytes, deadline }
    }
}

impl http_body::Body for GuardedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let this = self.get_mut();
        let frame = match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Pending => {
                ready!(this.deadline.as_mut().poll(cx));
                return Poll::Ready(Some(Err(BodyError::TimedOut)));
            }
            Poll::Ready(frame) => frame,
        };
        Poll::Ready(match frame {
            Some(Ok(frame)) => {
                let len = frame.data_ref().map_or(0, Bytes::len);
                match this.remaining.checked_sub(len) {
                    Some(left) => {
                        this.remaining = left;
                        Some(Ok(frame))
                    }
                    None => Some(Err(BodyError::TooLarge(this.limit))),
                }
            }
            Some(Err(e)) => Some(Err(BodyError::Read(e))),
            None => None,
        })
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Read a whole request body, mapping a [`GuardedBody`] failure to its 4xx.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, usize::MAX).await.map_err(|e| body_error(e.into_inner()))
}

fn body_error(mut error: axum::BoxError) -> ApiError {
    // `Body::new` wraps the guard's error in an `axum::Error`, possibly more than once.
    loop {
        error = match error.downcast::<axum::Error>() {
            Ok(wrapped) => wrapped.into_inner(),
            Err(other) => break error = other,
        };
    }
    match error.downcast_ref::<BodyError>() {
        Some(BodyError::TooLarge(limit)) => ApiError::PayloadTooLarge { limit_bytes: *limit },
        Some(BodyError::TimedOut) => ApiError::RequestTimeout,
        _ => ApiError::bad_request("incomplete_body", "the request body ended before its declared length"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{StreamExt, stream};
    use std::time::Duration;

    fn limits(max_body_bytes: usize, body_timeout_ms: u64) -> HttpLimits {
        HttpLimits { max_body_bytes, body_timeout_ms, ..HttpLimits::default() }
    }

    #[tokio::test]
    async fn a_body_within_the_limits_is_read_whole() {
        let body = Body::new(GuardedBody::new(Body::from("hello"), &limits(5, 1_000)));
        assert_eq!(read_body(body).await.expect("read"), "hello");
    }

    #[tokio::test]
    async fn a_body_past_the_limit_is_413() {
        let chunks = stream::iter(["abc", "def"].map(|c| Ok::<_, std::io::Error>(Bytes::from(c))));
        let body = Body::new(GuardedBody::new(Body::from_stream(chunks), &limits(5, 1_000)));
        let err = read_body(body).await.expect_err("too large");
        assert_eq!((err.status().as_u16(), err.code()), (413, "payload_too_large"));
    }

    #[tokio::test]
    async fn a_stalled_body_is_408_at_the_deadline() {
        let stalled = stream::iter([Ok::<_, std::io::Error>(Bytes::from("ab"))]).chain(stream::pending());
        let body = Body::new(GuardedBody::new(Body::from_stream(stalled), &limits(100, 50)));
        let err = tokio::time::timeout(Duration::from_secs(5), read_body(body)).await.expect("deadline fires").expect_err("timed out");
        assert_eq!((err.status().as_u16(), err.code()), (408, "request_timeout"));
    }

    #[tokio::test]
    async fn a_broken_body_is_400() {
        let broken = stream::iter([Err::<Bytes, _>(std::io::Error::other("connection reset"))]);
        let body = Body::new(GuardedBody::new(Body::from_stream(broken), &limits(100, 1_000)));
        let err = read_body(body).await.expect_err("broken");
        assert_eq!((err.status().as_u16(), err.code()), (400, "incomplete_body"));
    }
}
