//! HTTP routes. The gateway maps `/api/auth/*` and `/api/me` onto these paths.

mod auth;
mod internal;
mod me;

use crate::AppState;
use axum::Router;
use tripnest_common::auth::InternalToken;
use utoipa_axum::router::OpenApiRouter;

fn public_routes() -> OpenApiRouter<AppState> {
    auth::router().merge(me::router())
}

/// The public part of the API, as the handlers declare it.
pub(crate) fn openapi() -> utoipa::openapi::OpenApi {
    public_routes().split_for_parts().1
}

/// Public routes, plus `/internal/*` when an internal token is configured.
pub(crate) fn router(state: AppState, internal_token: Option<InternalToken>) -> Router {
    let public = Router::from(public_routes()).with_state(state.clone());
    match internal_token {
        Some(token) => public.merge(internal::router(state, token)),
        None => public,
    }
}
