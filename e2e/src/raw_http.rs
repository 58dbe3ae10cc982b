//! HTTP written by hand over TCP, for the requests a client library will not send: a head that
//! stalls, a body shorter than its `Content-Length`, a 100 KiB request target. And one check
//! for every error answer, raw or not: status, `application/json`, and the error code.

use serde_json::Value;
use std::time::Duration;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// An answer read off the wire.
#[derive(Debug, Clone)]
pub struct RawAnswer {
    /// Status code.
    pub status: u16,
    /// Header fields, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// The body as JSON (`Value::String` when it is not JSON).
    pub body: Value,
}

impl RawAnswer {
    /// The first header field named `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Assert this is the shared error shape with `status` and `code`.
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_error(self.status, self.header("content-type"), &self.body, status, code);
    }
}

/// Assert an answer is the shared error shape `{"error":{code,message,details}}` with `status`,
/// `Content-Type: application/json` and `code`.
pub fn assert_error(got_status: u16, content_type: Option<&str>, body: &Value, status: u16, code: &str) {
    assert_eq!((got_status, body["error"]["code"].as_str()), (status, Some(code)), "{body}");
    assert_eq!(content_type, Some("application/json"), "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert!(body["error"].as_object().is_some_and(|e| e.contains_key("details")), "{body}");
}

/// A reqwest answer checked with [`assert_error`]; returns its body for further checks.
pub async fn expect_error(resp: reqwest::Response, status: u16, code: &str) -> Value {
    let got = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let text = resp.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    assert_error(got, content_type.as_deref(), &body, status, code);
    body
}

/// Write `request` to `base_url` (`http://host:port`) and keep the connection open, as a
/// stalled client would, until the server answers; `None` if it closed without a word.
/// Panics when nothing happens within `within`.
pub async fn exchange(base_url: &str, request: &[u8], within: Duration) -> Option<RawAnswer> {
    let addr = base_url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    // A server may refuse before reading everything; what it answers is what counts.
    let _ = stream.write_all(request).await;
    let mut received = Vec::new();
    let read = async {
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(answer) = parse(&received) {
                return Some(answer);
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return parse_until_close(&received),
                Ok(n) => received.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(within, read).await.unwrap_or_else(|_| panic!("no answer within {within:?}"))
}

/// A complete answer (head and `Content-Length` body) in `bytes`, if there is one yet.
fn parse(bytes: &[u8]) -> Option<RawAnswer> {
    let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned())).collect();
    let length: usize = headers.iter().find(|(n, _)| n == "content-length")?.1.parse().ok()?;
    let body = bytes.get(end + 4..end + 4 + length)?;
    let text = String::from_utf8_lossy(body).into_owned();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Some(RawAnswer { status, headers, body })
}

fn parse_until_close(bytes: &[u8]) -> Option<RawAnswer> {
    parse(bytes).or_else(|| {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n")?;
        let mut with_length = bytes[..end].to_vec();
        with_length.extend_from_slice(format!("\r\ncontent-length: {}\r\n\r\n", bytes.len() - end - 4).as_bytes());
        with_length.extend_from_slice(&bytes[end + 4..]);
        parse(&with_length)
    })
}

/// Check the connection-level refusals of any TripNest server at `base_url`, whose
/// `header_timeout_ms` must be short (a second or less): a head that stalls is 408, a request
/// target over `max_uri_bytes` is 414, header fields over `max_header_bytes` (or more than 100
/// of them) are 431 — each in the error shape, though hyper never routed the request.
pub async fn assert_head_limits(base_url: &str, path: &str, limits: &tripnest_common::config::HttpLimits) {
    let within = Duration::from_secs(10);
    let stalled = format!("GET {path} HTTP/1.1\r\nhost: x\r\naccept: application/json\r\n");
    exchange(base_url, stalled.as_bytes(), within).await.expect("408 answered").assert_error(408, "request_timeout");

    let long = format!("GET {path}?q={} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(limits.max_uri_bytes + 1));
    exchange(base_url, long.as_bytes(), within).await.expect("414 answered").assert_error(414, "uri_too_long");
    // Past hyper's own limit (64 KiB) too.
    let huge = format!("GET {path}?q={} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(100 * 1024));
    exchange(base_url, huge.as_bytes(), within).await.expect("414 answered").assert_error(414, "uri_too_long");

    let big = format!("GET {path} HTTP/1.1\r\nhost: x\r\nx-filler: {}\r\n\r\n", "b".repeat(limits.max_header_bytes));
    exchange(base_url, big.as_bytes(), within).await.expect("431 answered").assert_error(431, "headers_too_large");
    let many: String = (0..101).map(|i| format!("x-h{i}: v\r\n")).collect();
    let many = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{many}\r\n");
    exchange(base_url, many.as_bytes(), within).await.expect("431 answered").assert_error(431, "headers_too_large");
}
