//! Browser hardening on every answer a service gives (for the gateway, its own and the ones it
//! forwards): `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//! `X-Frame-Options: DENY` and a `Content-Security-Policy`. [`crate::http::app`] adds it
//! outermost, so 404s, probes and rejections carry it too.
//!
//! The API answers JSON, which a browser never needs to run, style or frame, so its policy
//! is [`API_POLICY`]: nothing may load, nothing may frame it. An HTML page (the gateway's
//! `/api/docs`) gets a policy that allows exactly its own inline `<style>` blocks by SHA-256
//! hash and still no script, so the policy follows the page however it is rendered, with no
//! `unsafe-inline`.

use crate::ApiError;
use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use base64::{Engine, engine::general_purpose::STANDARD};
use sha2::{Digest, Sha256};

/// The policy of every non-HTML answer: load nothing, be framed by no one.
pub const API_POLICY: &str = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Largest HTML body the gateway reads to hash its styles (the docs page is far smaller).
const MAX_HTML_BYTES: usize = 4 * 1024 * 1024;

/// The policy of an HTML page: its inline styles by hash, same-origin links and images, no
/// script, no framing.
pub fn html_policy(page: &str) -> String {
    let mut styles = String::new();
    let mut rest = page;
    while let Some(start) = rest.find("<style>") {
        let after = &rest[start + "<style>".len()..];
        let Some(end) = after.find("</style>") else { break };
        styles.push_str(&format!(" 'sha256-{}'", STANDARD.encode(Sha256::digest(&after.as_bytes()[..end]))));
        rest = &after[end..];
    }
    let style_src = if styles.is_empty() { " 'none'".to_owned() } else { styles };
    format!("default-src 'none'; style-src{style_src}; img-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
}

/// Middleware: the hardening headers on every response, replacing any an upstream sent.
pub async fn add(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let is_html = response.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"));
    let (mut response, policy) = if is_html {
        let (parts, body) = response.into_parts();
        let Ok(bytes) = to_bytes(body, MAX_HTML_BYTES).await else {
            let mut refused = ApiError::BadGateway.into_response();
            harden(refused.headers_mut(), API_POLICY.to_owned());
            return refused;
        };
        let policy = html_policy(&String::from_utf8_lossy(&bytes));
        (Response::from_parts(parts, Body::from(bytes)), policy)
    } else {
        (response, API_POLICY.to_owned())
    };
    harden(response.headers_mut(), policy);
    response
}

fn harden(headers: &mut HeaderMap, policy: String) {
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        headers.insert(HeaderName::from_static("content-security-policy"), value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_html_policy_allows_exactly_its_inline_styles_and_no_script() {
        let policy = html_policy("<html><head><style>body{color:red}</style><style>h1{margin:0}</style></head></html>");
        let hash = |css: &str| format!("'sha256-{}'", STANDARD.encode(Sha256::digest(css.as_bytes())));
        assert!(policy.contains(&format!("style-src {} {};", hash("body{color:red}"), hash("h1{margin:0}"))), "{policy}");
        assert!(policy.starts_with("default-src 'none';") && policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(!policy.contains("script-src") && !policy.contains("unsafe-inline"), "scripts fall back to 'none': {policy}");
        assert!(html_policy("<p>no styles</p>").contains("style-src 'none';"));
    }
}
