//! The gateway's integration tests: one binary, one module per concern. Stand-in services
//! (loopback apps that record what reaches them) prove that refused requests reach nobody;
//! `platform` runs the real user and booking services behind the gateway.

mod auth;
mod cors_and_docs;
mod gcra;
mod helpers;
mod platform;
mod rate_limits;
mod rejections;
mod routing;
mod upstream_failures;
