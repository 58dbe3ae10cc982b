//! What happens to every public request, in order:
//!
//! 1. refuse paths with dot segments (400);
//! 2. verify the bearer token, if any;
//! 3. spend one request of the caller's budget — the user's when the token is valid, the
//!    client IP's otherwise, so bad tokens are rate limited too (429). Sign-in routes
//!    (`RouteClass::Auth`) always spend the client IP's budget: a token from any account must
//!    not buy more password guesses (the user service also throttles failures per account);
//! 4. refuse an invalid token, or a missing one where the route needs it (401);
//! 5. forward to the service with `x-user-id` / `x-user-roles` set from the verified token.
//!
//! Every answer, forwarded or refused, carries the caller's `RateLimit-*` headers.

use crate::{
    AppState, identity,
    rate_limit::{Caller, Verdict},
    routes::{PUBLIC_ROUTES, PublicRoute, RouteClass, has_dot_segment},
};
use axum::{
    Router,
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    response::{IntoResponse, Response},
    routing::any,
};
use std::net::{IpAddr, SocketAddr};
use tripnest_common::ApiError;

/// One `any` route per entry of [`PUBLIC_ROUTES`], each carrying its table entry.
pub fn public_routes() -> Router<AppState> {
    PUBLIC_ROUTES.iter().fold(Router::new(), |router, route| {
        router.route(route.path, any(move |State(app): State<AppState>, req: Request| admit_and_forward(app, route, req)))
    })
}

async fn admit_and_forward(app: AppState, route: &'static PublicRoute, req: Request) -> Response {
    if has_dot_segment(req.uri().path()) {
        return ApiError::bad_request("invalid_path", "paths may not contain `.` or `..` segments").into_response();
    }
    let client_ip = client_ip(&req, app.cfg.trusted_proxy_hops);
    let identity = identity::identify(&app.verifier, req.headers()).await;
    let caller = match &identity {
        Ok(Some(claims)) if route.class != RouteClass::Auth => Caller::User(claims.sub),
        _ => Caller::Ip(client_ip),
    };
    let verdict = app.limiter.check(route.class, &caller).await;
    let mut response = match (verdict, identity) {
        (Verdict::Limited { retry_after, .. }, _) => {
            ApiError::RateLimited { retry_after_secs: crate::rate_limit::retry_after_secs(retry_after) }.into_response()
        }
        (_, Err(refused)) => reject("invalid_token", refused),
        (_, Ok(None)) if route.access.requires_token(req.method()) => {
            reject("missing_token", ApiError::Unauthorized("sign in: this needs a bearer access token".to_owned()))
        }
        (_, Ok(None)) => app.upstreams.forward(route.service, req, client_ip, &[]).await,
        (_, Ok(Some(claims))) => {
            let token = identity::bearer_token(req.headers()).ok().flatten().unwrap_or_default();
            match identity::identity_headers(&claims, token) {
                Ok(extra) => app.upstreams.forward(route.service, req, client_ip, &extra).await,
                Err(e) => ApiError::Internal(e.into()).into_response(),
            }
        }
    };
    verdict.write_headers(response.headers_mut());
    response
}

fn reject(reason: &'static str, error: ApiError) -> Response {
    metrics::counter!("gateway_unauthorized_total", "reason" => reason).increment(1);
    error.into_response()
}

/// The client's address: the TCP peer, or — behind `trusted_hops` reverse proxies that each
/// append the address they saw — the entry that many places from the end of `X-Forwarded-For`.
pub fn client_ip(req: &Request, trusted_hops: usize) -> Option<IpAddr> {
    let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
    forwarded_client(req.headers(), trusted_hops).or(peer)
}

fn forwarded_client(headers: &HeaderMap, trusted_hops: usize) -> Option<IpAddr> {
    if trusted_hops == 0 {
        return None;
    }
    let chain: Vec<&str> =
        headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).map(str::trim).collect();
    chain.len().checked_sub(trusted_hops).and_then(|i| chain[i].parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn forwarded(chain: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in chain {
            h.append("x-forwarded-for", HeaderValue::from_str(v).expect("header"));
        }
        h
    }

    #[test]
    fn forwarded_for_is_ignored_unless_proxies_are_trusted() {
        assert_eq!(forwarded_client(&forwarded(&["6.6.6.6"]), 0), None);
    }

    #[test]
    fn the_client_is_the_entry_the_trusted_proxies_appended_last() {
        // The client forged the first entry; the one proxy we trust appended the real peer.
        let h = forwarded(&["6.6.6.6, 203.0.113.9"]);
        assert_eq!(forwarded_client(&h, 1), Some("203.0.113.9".parse().expect("ip")));
        let h = forwarded(&["6.6.6.6", "203.0.113.9, 10.0.0.2"]);
        assert_eq!(forwarded_client(&h, 2), Some("203.0.113.9".parse().expect("ip")));
        assert_eq!(forwarded_client(&forwarded(&["10.0.0.2"]), 2), None, "a chain shorter than the hops proves nothing");
    }
}
