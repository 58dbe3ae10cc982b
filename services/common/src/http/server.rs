//! The server loop: accept, serve HTTP/1.1 with hyper, and drain on shutdown.
//!
//! hyper answers a head it cannot take (too slow, too long, too many fields) itself, at the
//! connection level, with an empty body or none at all. So each connection's first request head
//! is read here before hyper sees it: too slow → 408, request target too long → 414, header
//! fields too large or too many → 431, each in the shared error shape, then the connection is
//! closed. A head within the limits is replayed to hyper unchanged. hyper's own limits are set
//! above ours, so later heads on a kept-alive connection reach [`super::limits::enforce_limits`]
//! and get the same JSON answers; only a keep-alive head that outgrows even hyper's buffer, or
//! stalls, still meets hyper's answer (an empty 431, or the connection closed).

use super::limits::MAX_HEADER_FIELDS;
use crate::{config::HttpLimits, error::ApiError};
use axum::{Router, body::Body, extract::ConnectInfo};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::{
    io,
    net::SocketAddr,
    pin::{Pin, pin},
    task::{Context, Poll},
    time::Duration,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf},
    net::{TcpListener, TcpStream},
    task::JoinSet,
    time::Instant,
};
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

/// Room for the method, spaces and version around the request target.
const REQUEST_LINE_SLACK: usize = 32;

/// Serve `app` on `listener` until `shutdown` fires, then stop accepting and let in-flight
/// requests finish for up to `grace`.
pub async fn serve(listener: TcpListener, app: Router, limits: HttpLimits, shutdown: CancellationToken, grace: Duration) -> io::Result<()> {
    let mut connections = JoinSet::new();
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = shutdown.cancelled() => break,
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve_connection(stream, peer, app.clone(), limits, shutdown.clone()));
    }
    drop(listener);
    let drained = async { while connections.join_next().await.is_some() {} };
    if tokio::time::timeout(grace, drained).await.is_err() {
        tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish within the grace period");
    }
    Ok(())
}

/// How long a client may keep an idle connection to a TripNest server before reusing it.
///
/// Our servers close a keep-alive connection that sends no new request head within the
/// head deadline (`http.limits.header_timeout_ms`, 10 s by default; hyper's
/// `header_read_timeout` covers the wait between requests too). A pooled client that reused
/// such a connection just as the server closed it would see the request fail with no answer,
/// so every client of our servers (the gateway's upstream pool, the test harness) drops idle
/// connections well before that.
pub const CLIENT_POOL_IDLE: std::time::Duration = std::time::Duration::from_secs(4);

async fn serve_connection(mut stream: TcpStream, peer: SocketAddr, app: Router, limits: HttpLimits, shutdown: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let head = tokio::select! {
        head = read_first_head(&mut stream, &limits) => head,
        () = shutdown.cancelled() => return,
    };
    let prefix = match head {
        FirstHead::Ready(prefix) => prefix,
        FirstHead::Gone => return,
        FirstHead::Refused(error) => return refuse(stream, &error).await,
    };
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(req.map(Body::new))
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout())
        .max_buf_size(hyper_buffer(&limits))
        .serve_connection(TokioIo::new(Rewound { prefix, read: 0, stream }), service);
    let mut conn = pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        () = shutdown.cancelled() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, error = %e, "connection ended with an error");
    }
}

/// hyper's read buffer: large enough that heads past our limits still parse and reach
/// [`super::limits::enforce_limits`].
fn hyper_buffer(limits: &HttpLimits) -> usize {
    (4 * (limits.max_uri_bytes + limits.max_header_bytes)).max(64 * 1024)
}

enum FirstHead {
    /// A complete head within the limits, possibly followed by some of the body.
    Ready(Vec<u8>),
    /// The client left (or never sent anything) before completing a head.
    Gone,
    /// The head broke a limit; answer this and close.
    Refused(ApiError),
}

async fn read_first_head(stream: &mut TcpStream, limits: &HttpLimits) -> FirstHead {
    let deadline = Instant::now() + limits.header_timeout();
    // Past this size some limit is broken, whatever the bytes are.
    let most = limits.max_uri_bytes + REQUEST_LINE_SLACK + limits.max_header_bytes + 4;
    let mut buf = Vec::with_capacity(4096);
    loop {
        let before = buf.len();
        match tokio::time::timeout_at(deadline, stream.read_buf(&mut buf)).await {
            Ok(Ok(0) | Err(_)) => return FirstHead::Gone,
            Ok(Ok(_)) => {}
            // An idle connection that never started a request is closed quietly.
            Err(_) if buf.iter().all(u8::is_ascii_whitespace) => return FirstHead::Gone,
            Err(_) => return FirstHead::Refused(ApiError::RequestTimeout),
        }
        // The head only changes shape at a line end, so a head trickled in byte by byte is
        // not rescanned for every byte.
        if buf[before..].contains(&b'\n') || buf.len() > most {
            match inspect_head(&buf, limits) {
                HeadState::Complete => return FirstHead::Ready(buf),
                HeadState::Refused(error) => return FirstHead::Refused(error),
                HeadState::Partial if buf.len() > most => {
                    return FirstHead::Refused(ApiError::HeadersTooLarge { limit_bytes: limits.max_header_bytes });
                }
                HeadState::Partial => {}
            }
        }
    }
}

#[derive(Debug)]
enum HeadState {
    Complete,
    Partial,
    Refused(ApiError),
}

/// Where `buf` stands as an HTTP/1 request head, judged against `limits`.
fn inspect_head(buf: &[u8], limits: &HttpLimits) -> HeadState {
    let start = buf.iter().position(|b| !matches!(b, b'\r' | b'\n')).unwrap_or(buf.len());
    let buf = &buf[start..];
    let Some(line_end) = buf.iter().position(|&b| b == b'\n') else {
        return if buf.len() > limits.max_uri_bytes + REQUEST_LINE_SLACK { uri_too_long(limits) } else { HeadState::Partial };
    };
    let line = &buf[..line_end];
    let target = line.iter().position(|&b| b == b' ').zip(line.iter().rposition(|&b| b == b' '));
    if target.is_some_and(|(first, last)| last.saturating_sub(first + 1) > limits.max_uri_bytes) {
        return uri_too_long(limits);
    }
    let rest = &buf[line_end + 1..];
    let end = if rest.starts_with(b"\n") || rest.starts_with(b"\r\n") {
        Some(0)
    } else {
        let crlf = rest.windows(3).position(|w| w == b"\n\r\n");
        let lf = rest.windows(2).position(|w| w == b"\n\n");
        crlf.into_iter().chain(lf).min().map(|i| i + 1)
    };
    let fields = end.map_or(rest, |e| &rest[..e]);
    let count = fields.iter().filter(|&&b| b == b'\n').count();
    if fields.len() > limits.max_header_bytes || count > MAX_HEADER_FIELDS {
        return HeadState::Refused(ApiError::HeadersTooLarge { limit_bytes: limits.max_header_bytes });
    }
    if end.is_some() { HeadState::Complete } else { HeadState::Partial }
}

fn uri_too_long(limits: &HttpLimits) -> HeadState {
    HeadState::Refused(ApiError::UriTooLong { limit_bytes: limits.max_uri_bytes })
}

/// Answer `error` on a connection hyper never saw, then close it gently: stop writing, and
/// read what the client still sends for a moment so it gets the answer instead of a reset.
async fn refuse(mut stream: TcpStream, error: &ApiError) {
    let status = error.status();
    metrics::counter!("http_connection_refusals_total", "code" => error.code().to_owned()).increment(1);
    tracing::info!(status = status.as_u16(), code = error.code(), "request head refused before routing");
    let body = error.body().to_string();
    let head = format!(
        "HTTP/1.1 {} {}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or_default(),
        body.len()
    );
    if stream.write_all(head.as_bytes()).await.is_err() || stream.write_all(body.as_bytes()).await.is_err() {
        return;
    }
    let _ = stream.shutdown().await;
    let drain = async {
        let mut sink = [0u8; 8192];
        let mut left: usize = 1024 * 1024;
        while let Ok(n @ 1..) = stream.read(&mut sink).await {
            left = left.saturating_sub(n);
            if left == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), drain).await;
}

/// A stream whose first bytes were already read: they are replayed before the rest.
struct Rewound {
    prefix: Vec<u8>,
    read: usize,
    stream: TcpStream,
}

impl AsyncRead for Rewound {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.read < this.prefix.len() {
            let n = buf.remaining().min(this.prefix.len() - this.read);
            buf.put_slice(&this.prefix[this.read..this.read + n]);
            this.read += n;
            if this.read == this.prefix.len() {
                this.prefix = Vec::new();
                this.read = 0;
            }
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Rewound {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(cx, buf)
    }
    fn poll_write_vectored(self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(head: &str) -> HeadState {
        inspect_head(head.as_bytes(), &HttpLimits { max_uri_bytes: 16, max_header_bytes: 64, ..HttpLimits::default() })
    }

    fn code(head: &str) -> Option<String> {
        match state(head) {
            HeadState::Refused(e) => Some(e.code().to_owned()),
            _ => None,
        }
    }

    #[test]
    fn a_head_is_complete_at_its_empty_line_with_crlf_or_bare_lf() {
        assert!(matches!(state("GET /a HTTP/1.1\r\nhost: x\r\n\r\n"), HeadState::Complete));
        assert!(matches!(state("\r\nGET /a HTTP/1.1\nhost: x\n\n{\"body\":1}"), HeadState::Complete));
        assert!(matches!(state("GET /a HTTP/1.1\r\n\r\n"), HeadState::Complete));
        assert!(matches!(state("GET /a HTTP/1.1\r\nhost: x\r\n"), HeadState::Partial));
        assert!(matches!(state("GET /a HT"), HeadState::Partial));
    }

    #[test]
    fn long_targets_are_414_and_large_or_many_fields_431() {
        assert_eq!(code("GET /0123456789abcdefg HTTP/1.1\r\n").as_deref(), Some("uri_too_long"));
        assert_eq!(code(&format!("GET /{}", "a".repeat(64))).as_deref(), Some("uri_too_long"), "before the line ends");
        assert_eq!(code(&format!("GET / HTTP/1.1\r\nx: {}\r\n", "b".repeat(64))).as_deref(), Some("headers_too_large"));
        let many: String = (0..=MAX_HEADER_FIELDS).map(|_| "a:\n").collect();
        let limits = HttpLimits::default();
        assert!(matches!(inspect_head(format!("GET / HTTP/1.1\n{many}").as_bytes(), &limits), HeadState::Refused(_)));
        assert_eq!(code("GET /0123456789abcde HTTP/1.1\r\n\r\n"), None, "exactly at the limit is fine");
    }
}
