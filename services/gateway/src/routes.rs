//! The public route table: every `/api/*` path the gateway exposes, which service answers it,
//! whether it needs a signed-in user, and which rate-limit budget it spends. Anything not in
//! this table (notably `/internal/*`) is a 404 that never reaches a service.

use axum::http::Method;

/// A service behind the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    /// Accounts and tokens.
    User,
    /// Bookings and availability.
    Booking,
    /// Notification history (`/api/notifications`).
    Notification,
    /// Hotel search and detail.
    Search,
    /// Personal recommendations (`/api/recommendations`).
    Recommendation,
    /// Hotel reviews (`/api/hotels/{id}/reviews`, `/api/reviews`).
    Review,
}

impl Service {
    /// Every public service.
    pub const ALL: [Self; 6] = [Self::User, Self::Booking, Self::Notification, Self::Search, Self::Recommendation, Self::Review];

    /// The name used in config, logs and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Booking => "booking",
            Self::Notification => "notification",
            Self::Search => "search",
            Self::Recommendation => "recommendation",
            Self::Review => "review",
        }
    }
}

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone; a token is optional, but an invalid one is still refused.
    Public,
    /// Reads (GET/HEAD) are public; anything else needs a signed-in user.
    PublicReads,
    /// A signed-in user only.
    SignedIn,
}

impl Access {
    /// Whether a request with `method` must carry a valid token.
    pub fn requires_token(self, method: &Method) -> bool {
        match self {
            Self::Public => false,
            Self::PublicReads => !(method == Method::GET || method == Method::HEAD),
            Self::SignedIn => true,
        }
    }
}

/// Which rate-limit budget a route spends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    /// `rate_limits.default`.
    Default,
    /// `rate_limits.auth`.
    Auth,
    /// `rate_limits.bookings`.
    Bookings,
}

impl RouteClass {
    /// The name used in Redis keys and metric labels.
    pub fn name(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Auth => "auth",
            Self::Bookings => "bookings",
        }
    }
}

/// One public path: the upstream path is the same path without the `/api` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublicRoute {
    /// The axum path template under `/api`.
    pub path: &'static str,
    /// The service that answers it.
    pub service: Service,
    /// Who may call it.
    pub access: Access,
    /// The budget it spends.
    pub class: RouteClass,
}

const fn route(path: &'static str, service: Service, access: Access, class: RouteClass) -> PublicRoute {
    PublicRoute { path, service, access, class }
}

/// The whole public API. Wildcards cover a service's subtree (all of `/auth/*`, `/bookings/*`).
pub const PUBLIC_ROUTES: &[PublicRoute] = &[
    route("/api/auth/{*action}", Service::User, Access::Public, RouteClass::Auth),
    route("/api/me", Service::User, Access::SignedIn, RouteClass::Default),
    route("/api/bookings", Service::Booking, Access::SignedIn, RouteClass::Bookings),
    route("/api/bookings/{*rest}", Service::Booking, Access::SignedIn, RouteClass::Bookings),
    route("/api/hotels", Service::Search, Access::PublicReads, RouteClass::Default),
    route("/api/hotels/{id}", Service::Search, Access::PublicReads, RouteClass::Default),
    route("/api/hotels/{id}/availability", Service::Booking, Access::PublicReads, RouteClass::Default),
    route("/api/hotels/{id}/reviews", Service::Review, Access::PublicReads, RouteClass::Default),
    route("/api/recommendations", Service::Recommendation, Access::PublicReads, RouteClass::Default),
    route("/api/notifications", Service::Notification, Access::SignedIn, RouteClass::Default),
    route("/api/manager/occupancy", Service::Booking, Access::SignedIn, RouteClass::Default),
];

/// The path and query to request from the upstream: the public one without `/api`.
pub fn upstream_path_and_query(public: &str) -> &str {
    public.strip_prefix("/api").unwrap_or(public)
}

/// Whether a path contains a `.` or `..` segment, literally or percent-encoded. Such paths are
/// refused so that no upstream can resolve them outside the subtree this table exposes.
pub fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|segment| {
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        decoded == "." || decoded == ".."
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_of_public_reads_routes_need_no_token_but_writes_do() {
        assert!(!Access::PublicReads.requires_token(&Method::GET));
        assert!(!Access::PublicReads.requires_token(&Method::HEAD));
        assert!(Access::PublicReads.requires_token(&Method::POST));
        assert!(Access::SignedIn.requires_token(&Method::GET));
        assert!(!Access::Public.requires_token(&Method::POST));
    }

    #[test]
    fn the_upstream_path_drops_only_the_api_prefix() {
        assert_eq!(upstream_path_and_query("/api/hotels?city=Lisbon&page=2"), "/hotels?city=Lisbon&page=2");
        assert_eq!(upstream_path_and_query("/api/auth/login"), "/auth/login");
    }

    #[test]
    fn dot_segments_are_spotted_even_when_encoded() {
        assert!(has_dot_segment("/api/bookings/../internal/bookings/1"));
        assert!(has_dot_segment("/api/bookings/%2E%2e/internal"));
        assert!(has_dot_segment("/api/hotels/./x"));
        assert!(!has_dot_segment("/api/hotels/hotel.lisbon-1/reviews"));
        assert!(!has_dot_segment("/api/hotels/..a"));
    }

    #[test]
    fn every_service_is_reachable_and_payment_is_not() {
        for service in Service::ALL {
            assert!(PUBLIC_ROUTES.iter().any(|r| r.service == service), "{service:?} has no route");
        }
        assert!(PUBLIC_ROUTES.iter().all(|r| r.path.starts_with("/api/") && !r.path.contains("internal")));
    }
}
