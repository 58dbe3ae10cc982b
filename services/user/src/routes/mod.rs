//! HTTP routes. The gateway maps `/api/auth/*` and `/api/me` onto these paths.

mod auth;
mod internal;
mod me;

use crate::AppState;
use axum::Router;
use tripnest_common::auth::InternalToken;

/// Public routes, plus `/internal/*` when an internal token is configured.
pub(crate) fn router(state: AppState, internal_token: Option<InternalToken>) -> Router {
    let public = auth::router().merge(me::router()).with_state(state.clone());
    match internal_token {
        Some(token) => public.merge(internal::router(state, token)),
        None => public,
    }
}
